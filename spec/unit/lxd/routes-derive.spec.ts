/**
 * How a plain collection's declaration becomes its routes (the rows of the route table) and its
 * calls: `collectionRoutes` over a declaration that uses every option, and `CollectionCore` over a
 * stand-in for the request plumbing (`Api`) that records what each call asks of it.
 */
import { expect } from 'chai';
import { z } from 'zod';
import type { Api } from '../../../lib/lxd/resources/base.js';
import { LxdApiError, LxdExtensionMissingError, LxdPreconditionFailedError, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/errors.js';
import { BOTH, INCUS_ONLY, type Route } from '../../../lib/lxd/routes/route.js';
import {
  Collection,
  CollectionCore,
  collectionRoutes,
  MERGE_PATCH_NOTE,
  NestedCollection,
  RenamableCollection,
  RenamableNestedCollection,
  templatePieces,
  type CollectionDecl,
} from '../../../lib/lxd/routes/collection.js';

const Member = z.object({ name: z.string(), description: z.string().optional(), config: z.record(z.string(), z.string()).optional() }).loose();
const Post = z.strictObject({ name: z.string(), description: z.string().optional() });
const Put = z.strictObject({ description: z.string().optional(), config: z.record(z.string(), z.string()).optional() });
const Patch = z.strictObject({ description: z.string().optional() });

/** A declaration with every option set. */
const FULL: CollectionDecl = {
  name: 'client.widgets.parts',
  path: '/1.0/widgets/{widget}/parts',
  itemPath: '/1.0/widgets/{widget}/parts/{name}',
  writeItemPath: '/1.0/widgets/{widgetName}/parts/{partName}',
  what: 'widget part',
  parents: ['widget name'],
  schema: Member,
  post: Post,
  put: Put,
  patch: Patch,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'operation',
  project: false,
  target: ['list', 'create', 'get', 'update', 'patch', 'rename', 'delete'],
  extension: 'widget_parts',
  servers: BOTH,
  listVariants: ['?recursion=1', '?recursion=2'],
  variantServers: { '?recursion=2': INCUS_ONLY },
  note: 'runs on a fake server',
};

/** The routes without their schemas (compared on their own). */
const plain = (routes: Route[]) => routes.map(({ request, response, ...rest }) => ({ ...rest, request: request !== undefined, response: response !== undefined }));

describe('lxd: a route table row from a collection declaration', () => {
  it('BOTH and INCUS_ONLY are the two server sets, frozen', () => {
    expect(BOTH).to.deep.equal({ lxd: true, incus: true });
    expect(INCUS_ONLY).to.deep.equal({ lxd: false, incus: true });
    expect(Object.isFrozen(BOTH)).to.equal(true);
    expect(Object.isFrozen(INCUS_ONLY)).to.equal(true);
  });

  it('templatePieces splits a template around its placeholders, whatever their names', () => {
    expect(templatePieces('/1.0/profiles')).to.deep.equal(['/1.0/profiles']);
    expect(templatePieces('/1.0/network-zones/{zone}/records')).to.deep.equal(['/1.0/network-zones/', '/records']);
    expect(templatePieces('/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots')).to.deep.equal(['/1.0/storage-pools/', '/volumes/', '/', '/snapshots']);
    expect(templatePieces('/1.0/a/{x}')).to.deep.equal(['/1.0/a/', '']);
    // a brace without a placeholder name is not one
    expect(templatePieces('/1.0/a/{}/b')).to.deep.equal(['/1.0/a/{}/b']);
  });

  it('every verb gives its row, in order, with the write paths, targets, note and extension of the declaration', () => {
    const routes = collectionRoutes(FULL);
    const base = { extension: 'widget_parts', servers: BOTH, project: false, why: 'runs on a fake server' };
    expect(plain(routes)).to.deep.equal([
      { ...base, method: 'GET', path: '/1.0/widgets/{widget}/parts', name: 'client.widgets.parts.list', answer: 'sync', target: true, request: false, response: true },
      { ...base, method: 'GET', path: '/1.0/widgets/{widget}/parts?recursion=1', name: 'client.widgets.parts.list', answer: 'sync', target: true, request: false, response: true },
      { ...base, servers: INCUS_ONLY, method: 'GET', path: '/1.0/widgets/{widget}/parts?recursion=2', name: 'client.widgets.parts.list', answer: 'sync', target: true, request: false, response: true },
      { ...base, method: 'POST', path: '/1.0/widgets/{widget}/parts', name: 'client.widgets.parts.create', answer: 'operation', target: true, request: true, response: false },
      { ...base, method: 'GET', path: '/1.0/widgets/{widget}/parts/{name}', name: 'client.widgets.parts.get', answer: 'sync', target: true, request: false, response: true },
      { ...base, method: 'PUT', path: '/1.0/widgets/{widgetName}/parts/{partName}', name: 'client.widgets.parts.update', answer: 'operation', target: true, request: true, response: false },
      { ...base, method: 'PATCH', path: '/1.0/widgets/{widgetName}/parts/{partName}', name: 'client.widgets.parts.patch', answer: 'operation', target: true, request: true, response: false },
      // a rename never takes ?target=
      { ...base, method: 'POST', path: '/1.0/widgets/{widget}/parts/{name}', name: 'client.widgets.parts.rename', answer: 'operation', target: false, request: false, response: false },
      { ...base, method: 'DELETE', path: '/1.0/widgets/{widgetName}/parts/{partName}', name: 'client.widgets.parts.delete', answer: 'operation', target: true, request: false, response: false },
    ]);
  });

  it('the schemas of the rows: names or members for the lists, the member for get, the bodies for the writes', () => {
    const [list, variant, , create, get, update, patch] = collectionRoutes(FULL);
    expect(list!.response!.safeParse(['/1.0/widgets/w/parts/a']).success).to.equal(true);
    expect(list!.response!.safeParse([{ name: 'a' }]).success, 'the bare list is of names').to.equal(false);
    expect(variant!.response!.safeParse([{ name: 'a' }]).success).to.equal(true);
    expect(variant!.response!.safeParse([{ description: 'no name' }]).success, 'the variant is of members').to.equal(false);
    expect(get!.response).to.equal(Member);
    expect(create!.request).to.equal(Post);
    expect(update!.request).to.equal(Put);
    expect(patch!.request).to.equal(Patch);
    // without a PATCH schema, the PUT one
    const noPatch = collectionRoutes({ ...FULL, patch: undefined });
    expect(noPatch.find((r) => r.method === 'PATCH')!.request).to.equal(Put);
  });

  it('a declaration with few verbs, no targets, no variants, no note and one path for all writes', () => {
    const decl: CollectionDecl = { name: 'client.things', path: '/1.0/things', itemPath: '/1.0/things/{name}', what: 'thing', schema: Member, verbs: ['get', 'update', 'delete'], writes: 'sync-or-operation', project: true, servers: INCUS_ONLY };
    const routes = collectionRoutes(decl);
    expect(plain(routes)).to.deep.equal([
      { extension: undefined, servers: INCUS_ONLY, project: true, method: 'GET', path: '/1.0/things/{name}', name: 'client.things.get', answer: 'sync', target: false, request: false, response: true },
      { extension: undefined, servers: INCUS_ONLY, project: true, method: 'PUT', path: '/1.0/things/{name}', name: 'client.things.update', answer: 'sync-or-operation', target: false, request: false, response: false },
      { extension: undefined, servers: INCUS_ONLY, project: true, method: 'DELETE', path: '/1.0/things/{name}', name: 'client.things.delete', answer: 'sync-or-operation', target: false, request: false, response: false },
    ]);
    for (const r of routes) expect(r, `${r.method} ${r.path}`).not.to.have.property('why');
    // each verb alone gives its one row
    for (const verb of ['list', 'create', 'get', 'update', 'patch', 'rename', 'delete'] as const) {
      const one = collectionRoutes({ ...decl, verbs: [verb], target: [verb] });
      expect(one.map((r) => r.name), verb).to.deep.equal([`client.things.${verb}`]);
      expect(one[0]!.target, verb).to.equal(verb !== 'rename');
    }
    // only the verbs named take ?target=
    const some = collectionRoutes({ ...decl, verbs: ['list', 'get', 'delete'], target: ['get'] });
    expect(some.map((r) => `${r.method} ${r.target}`)).to.deep.equal(['GET false', 'GET true', 'DELETE false']);
  });

  it('a variant without servers of its own has the declaration\'s', () => {
    const routes = collectionRoutes({ ...FULL, servers: INCUS_ONLY, variantServers: undefined });
    expect(routes.filter((r) => r.path.includes('?')).map((r) => r.servers)).to.deep.equal([INCUS_ONLY, INCUS_ONLY]);
  });

  it('the PATCH row of a collection that merges itself says so, after the note when there is one', () => {
    const patchWhy = (decl: CollectionDecl) => collectionRoutes(decl).find((r) => r.method === 'PATCH')!;
    expect(patchWhy({ ...FULL, mergePatch: true }).why).to.equal(`runs on a fake server; ${MERGE_PATCH_NOTE}`);
    expect(patchWhy({ ...FULL, mergePatch: true, note: undefined }).why).to.equal(MERGE_PATCH_NOTE);
    expect(patchWhy({ ...FULL, mergePatch: false }).why).to.equal('runs on a fake server');
    expect(patchWhy({ ...FULL, note: undefined })).not.to.have.property('why');
    // the other rows keep the plain note
    expect(collectionRoutes({ ...FULL, mergePatch: true }).filter((r) => r.method !== 'PATCH').map((r) => r.why)).to.satisfy((w: unknown[]) => w.every((x) => x === 'runs on a fake server'));
    expect(MERGE_PATCH_NOTE).to.equal("a GET, then a PUT of the merged fields with its ETag: the server's own PATCH drops the fields left out");
  });
});

/** One call the collection made of the request plumbing. */
interface Asked {
  fn: 'sync' | 'call' | 'operation' | 'hasExtension';
  method?: string;
  path?: string;
  schema?: unknown;
  opts: Record<string, unknown>;
}

/** A stand-in for `Api` that records each call and answers with `answer` (or throws what it gives). */
function fakeApi(answer: (a: Asked) => unknown = () => ({ value: {}, etag: '"e"' }), extensions: readonly string[] = ['widget_parts']) {
  const asked: Asked[] = [];
  const run = (a: Asked) => {
    asked.push(a);
    const out = answer(a);
    if (out instanceof Error) throw out;
    return out;
  };
  const api = {
    ctx: {
      hasExtension: async (ext: string, opts: Record<string, unknown>) => {
        asked.push({ fn: 'hasExtension', path: ext, opts });
        return extensions.includes(ext);
      },
    },
    sync: async (method: string, path: string, schema: unknown, opts: Record<string, unknown>) => run({ fn: 'sync', method, path, schema, opts }),
    call: async (method: string, path: string, opts: Record<string, unknown>) => void run({ fn: 'call', method, path, opts }),
    operation: async (method: string, path: string, opts: Record<string, unknown>) => run({ fn: 'operation', method, path, opts }),
  };
  return { api: api as unknown as Api, asked };
}

const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(
  () => expect.fail('resolved'),
  (e: unknown) => e,
);

const THREE: CollectionDecl = { name: 'client.a.b.c', path: '/1.0/a/{a}/b/{b}/c/{c}/d', itemPath: '/1.0/a/{a}/b/{b}/c/{c}/d/{name}', what: 'd', parents: ['a name', 'b name', 'c name'], schema: Member, verbs: ['list'], writes: 'sync-or-operation', project: true, servers: BOTH };

describe('lxd: a collection\'s calls, worked out from its declaration', () => {
  it('the collection path under zero to three parents, each escaped and checked under its own name', () => {
    const { api } = fakeApi();
    const core = (path: string, parents?: string[]) => new CollectionCore(api, { ...THREE, path, parents });
    expect(core('/1.0/d').collection()).to.equal('/1.0/d');
    expect(core('/1.0/a/{a}/d', ['a name']).collection('x y')).to.equal('/1.0/a/x%20y/d');
    expect(core('/1.0/a/{a}/b/{b}/d', ['a name', 'b name']).collection('x', 'y/z')).to.equal('/1.0/a/x/b/y%2Fz/d');
    expect(core('/1.0/a/{a}/b/{b}/c/{c}/d', ['a name', 'b name', 'c name']).collection('x', 'y', '?')).to.equal('/1.0/a/x/b/y/c/%3F/d');
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).to.be.instanceOf(LxdValidationError);
        return (e as LxdValidationError).field;
      }
      return expect.fail('no error');
    };
    expect(field(() => core('/1.0/a/{a}/d', ['a name']).collection(''))).to.equal('a name');
    expect(field(() => core('/1.0/a/{a}/b/{b}/d', ['a name', 'b name']).collection('x', '..'))).to.equal('b name');
    expect(field(() => core('/1.0/a/{a}/b/{b}/d', ['a name', 'b name']).collection('.', 'x'))).to.equal('a name');
    expect(field(() => core('/1.0/a/{a}/b/{b}/c/{c}/d', ['a name', 'b name', 'c name']).collection('x', 'y', ''))).to.equal('c name');
    expect(field(() => core('/1.0/a/{a}/b/{b}/c/{c}/d', ['a name', 'b name', 'c name']).collection('x', '', 'z'))).to.equal('b name');
    expect(field(() => core('/1.0/a/{a}/b/{b}/c/{c}/d', ['a name', 'b name', 'c name']).collection('', 'y', 'z'))).to.equal('a name');
    // a declaration that names no parents: the segment's own word
    expect(field(() => core('/1.0/a/{a}/d', undefined).collection(''))).to.equal('name');
  });

  it('a member\'s path: checked with the declaration\'s words, escaped', () => {
    const { api } = fakeApi();
    const core = new CollectionCore(api, FULL);
    expect(core.item('/1.0/widgets/w/parts', 'a b')).to.equal('/1.0/widgets/w/parts/a%20b');
    expect(() => core.item('/1.0/widgets/w/parts', '..')).to.throw(LxdValidationError).with.property('field', 'widget part name');
    expect(() => core.validateName('', undefined)).to.throw(LxdValidationError).with.property('field', 'widget part name');
    expect(() => core.validateName('', 'other')).to.throw(LxdValidationError).with.property('field', 'other');
    expect(core.newNameField).to.equal('new widget part name');
    // a declaration's own check replaces the default
    const own = new CollectionCore(api, { ...FULL, validateName: (v: unknown) => { if (v !== 'ok') throw new LxdValidationError('own', 'no'); return 'ok'; } });
    expect(() => own.item('/c', 'other')).to.throw(LxdValidationError).with.property('field', 'own');
    expect(own.item('/c', 'ok')).to.equal('/c/ok');
  });

  it('what the declaration works out once: project, extension, operation, name key, parents, patch schema', () => {
    const { api } = fakeApi();
    const full = new CollectionCore(api, FULL);
    expect([full.noProject, full.extension, full.operation, full.nameKey, full.parentFields, full.patchSchema]).to.deep.equal([true, 'widget_parts', true, 'name', ['widget name'], Patch]);
    const bare = new CollectionCore(api, { ...THREE, parents: undefined, nameKey: false });
    expect([bare.noProject, bare.extension, bare.operation, bare.nameKey, bare.parentFields, bare.patchSchema]).to.deep.equal([false, undefined, false, false, [], undefined]);
    expect(new CollectionCore(api, { ...FULL, patch: undefined }).patchSchema).to.equal(Put);
    expect(new CollectionCore(api, { ...FULL, nameKey: 'listen_address' }).nameKey).to.equal('listen_address');
    expect(full.routes()).to.deep.equal(collectionRoutes(FULL));
  });

  it('list: names (recursion 0) or members (default), the extension checked first, the project as declared', async () => {
    const { api, asked } = fakeApi((a) => ({ value: a.opts['query'] && (a.opts['query'] as Record<string, unknown>)['recursion'] === 1 ? [{ name: 'a' }] : ['/1.0/widgets/w/parts/a%20b'], etag: undefined }));
    const core = new CollectionCore(api, FULL);
    const signal = new AbortController().signal;
    expect(await core.list('/1.0/widgets/w/parts', { recursion: 0, signal })).to.deep.equal(['a b']);
    expect(asked.map((a) => a.fn)).to.deep.equal(['hasExtension', 'sync']);
    expect(asked[0]!.path).to.equal('widget_parts');
    expect(asked[0]!.opts['signal']).to.equal(signal);
    expect(asked[1]).to.include({ method: 'GET', path: '/1.0/widgets/w/parts' });
    expect(asked[1]!.opts).to.deep.equal({ signal, noProject: true });
    expect((asked[1]!.schema as z.ZodType).safeParse(['x']).success).to.equal(true);
    expect((asked[1]!.schema as z.ZodType).safeParse([1]).success).to.equal(false);
    asked.length = 0;
    expect(await core.list('/1.0/widgets/w/parts', { query: { filter: 'x' }, timeoutMs: 5 })).to.deep.equal([{ name: 'a' }]);
    expect(asked.map((a) => a.fn)).to.deep.equal(['hasExtension', 'sync']);
    expect(asked[1]!.opts).to.deep.equal({ timeoutMs: 5, noProject: true, query: { filter: 'x', recursion: 1 } });
    expect(asked[1]!.schema).to.equal(core.items);
    expect(core.items.safeParse([{ name: 'a' }]).success).to.equal(true);
    expect(core.items.safeParse([{}]).success).to.equal(false);
    // without an extension, no question about one
    const { api: api2, asked: asked2 } = fakeApi(() => ({ value: [], etag: undefined }));
    await new CollectionCore(api2, THREE).list('/1.0/d', {});
    expect(asked2.map((a) => a.fn)).to.deep.equal(['sync']);
    expect(asked2[0]!.opts).to.deep.equal({ noProject: false, query: { recursion: 1 } });
  });

  it('list of names: a URL the server sent with a malformed escape is its fault, named with the request that listed it', async () => {
    const { api } = fakeApi(() => ({ value: ['/1.0/d/ok', '/1.0/d/%zz'], etag: undefined }));
    const err = await rejection(new CollectionCore(api, THREE).list('/1.0/d', { recursion: 0 }));
    expect(err).to.be.instanceOf(LxdResponseValidationError);
    expect(err).to.include({ method: 'GET', path: '/1.0/d' });
    expect((err as LxdResponseValidationError).issues[0]!.path).to.deep.equal([1]);
  });

  it('a server without the extension is refused before any request, naming the collection', async () => {
    const { api, asked } = fakeApi(undefined, []);
    const core = new CollectionCore(api, FULL);
    for (const call of [() => core.list('/c', {}), () => core.get('/c/a', {}), () => core.write('PUT', '/c/a', {}, {})]) {
      const err = await rejection(call());
      expect(err).to.be.instanceOf(LxdExtensionMissingError);
      expect(err).to.have.property('extension', 'widget_parts');
      expect((err as Error).message).to.match(/^client\.widgets\.parts needs the API extension "widget_parts"/);
    }
    expect(asked.map((a) => a.fn)).to.deep.equal(['hasExtension', 'hasExtension', 'hasExtension']);
  });

  it('get: the member with its ETag, parsed with the member schema', async () => {
    const { api, asked } = fakeApi(() => ({ value: { name: 'a' }, etag: '"e1"' }));
    const core = new CollectionCore(api, FULL);
    expect(await core.get('/c/a', { target: 'm1' })).to.deep.equal({ value: { name: 'a' }, etag: '"e1"' });
    expect(asked[1]).to.deep.include({ fn: 'sync', method: 'GET', path: '/c/a', schema: Member, opts: { target: 'm1', noProject: true } });
    const { api: api2, asked: asked2 } = fakeApi(() => ({ value: { name: 'a' }, etag: '"e1"' }));
    await new CollectionCore(api2, THREE).get('/d/a', {});
    expect(asked2.map((a) => a.fn)).to.deep.equal(['sync']);
    expect(asked2[0]!.opts).to.deep.equal({ noProject: false });
  });

  it('write: an Operation for a collection whose writes are operations; resolved once applied for the others', async () => {
    const op = { id: 'op1' };
    const { api, asked } = fakeApi(() => op);
    expect(await new CollectionCore(api, FULL).write('POST', '/c', { name: 'a' }, { etag: '"e"' })).to.equal(op);
    expect(asked[1]).to.deep.include({ fn: 'operation', method: 'POST', path: '/c', opts: { etag: '"e"', noProject: true, body: { name: 'a' } } });
    const { api: api2, asked: asked2 } = fakeApi(() => op);
    expect(await new CollectionCore(api2, THREE).write('DELETE', '/d/a', undefined, {})).to.equal(undefined);
    expect(asked2).to.deep.equal([{ fn: 'call', method: 'DELETE', path: '/d/a', opts: { noProject: false, body: undefined } }]);
  });

  it('created: the body checked, and its new member\'s name under the declaration\'s key', () => {
    const { api } = fakeApi();
    const core = new CollectionCore(api, FULL);
    expect(core.created({ name: 'a' })).to.deep.equal({ name: 'a' });
    expect(() => core.created({ name: 'a', extra: 1 })).to.throw(LxdValidationError);
    expect(() => core.created({ name: '..' })).to.throw(LxdValidationError).with.property('field', 'widget part name');
    const keyed = new CollectionCore(api, { ...FULL, post: undefined, nameKey: 'listen_address' });
    expect(() => keyed.created({ name: 'a' })).to.throw(LxdValidationError).with.property('field', 'widget part name');
    expect(keyed.created({ listen_address: '192.0.2.1' })).to.deep.equal({ listen_address: '192.0.2.1' });
    // no name key: no name to check; no schema: the body as given
    const nameless = new CollectionCore(api, { ...FULL, post: undefined, nameKey: false });
    const body = { whatever: true };
    expect(nameless.created(body)).to.equal(body);
    expect(core.body(undefined, body)).to.equal(body);
    expect(() => core.body(Put, { nope: 1 })).to.throw(LxdValidationError);
  });

  it('patch: the server\'s own PATCH, with the body checked against the PATCH schema', async () => {
    const { api, asked } = fakeApi(() => undefined);
    const core = new CollectionCore(api, THREE);
    await new CollectionCore(api, { ...THREE, patch: Patch, put: Put }).patch('/d/a', { description: 'x' }, { etag: '"e"' });
    expect(asked).to.deep.equal([{ fn: 'call', method: 'PATCH', path: '/d/a', opts: { etag: '"e"', noProject: false, body: { description: 'x' } } }]);
    await rejection(new CollectionCore(api, { ...THREE, patch: Patch, put: Put }).patch('/d/a', { config: {} }, {}));
    expect(asked).to.have.length(1);
    // no schema at all: sent as given
    await core.patch('/d/a', { anything: 1 }, {});
    expect(asked[1]!.opts['body']).to.deep.equal({ anything: 1 });
  });

  describe('patch of a collection that merges itself', () => {
    const MERGE: CollectionDecl = { ...THREE, put: Put, mergePatch: true };

    it('reads the member, then PUTs the writable fields it has merged with the body (config key by key) and the ETag it read', async () => {
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a', description: 'old', config: { a: '1', b: '2' }, status: 'ro' }, etag: '"e1"' } : undefined));
      const signal = new AbortController().signal;
      await new CollectionCore(api, MERGE).patch('/d/a', { config: { b: '3', c: '4' } }, { signal, target: 'm1' });
      expect(asked.map((a) => `${a.fn} ${a.method} ${a.path}`)).to.deep.equal(['sync GET /d/a', 'call PUT /d/a']);
      expect(asked[0]!.opts).to.deep.equal({ signal, target: 'm1', noProject: false });
      expect(asked[1]!.opts).to.deep.equal({ signal, target: 'm1', etag: '"e1"', noProject: false, body: { description: 'old', config: { a: '1', b: '3', c: '4' } } });
    });

    it('leaves config alone when the body has none, and takes the body\'s fields over the member\'s', async () => {
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a', description: 'old', config: { a: '1' } }, etag: '"e1"' } : undefined));
      await new CollectionCore(api, MERGE).patch('/d/a', { description: 'new' }, {});
      expect(asked[1]!.opts['body']).to.deep.equal({ description: 'new', config: { a: '1' } });
    });

    it('a member without config gets the body\'s', async () => {
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a' }, etag: '"e1"' } : undefined));
      await new CollectionCore(api, MERGE).patch('/d/a', { config: { x: '1' } }, {});
      expect(asked[1]!.opts['body']).to.deep.equal({ config: { x: '1' } });
    });

    it('without a PUT schema, the writable fields are the body\'s own', async () => {
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a', description: 'old', other: 'kept?' }, etag: '"e1"' } : undefined));
      await new CollectionCore(api, { ...THREE, mergePatch: true }).patch('/d/a', { description: 'new' }, {});
      expect(asked[1]!.opts['body']).to.deep.equal({ description: 'new' });
    });

    it('with an ETag given: sent with the PUT, and a changed member (412) refused', async () => {
      const refused = new LxdPreconditionFailedError({ status: 412, errorCode: 412, method: 'PUT', path: '/d/a', project: undefined, lxdMessage: 'ETag does not match' });
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a' }, etag: '"new"' } : refused));
      expect(await rejection(new CollectionCore(api, MERGE).patch('/d/a', { description: 'x' }, { etag: '"old"' }))).to.equal(refused);
      expect(asked.map((a) => `${a.method} ${a.opts['etag']}`)).to.deep.equal(['GET undefined', 'PUT "old"']);
    });

    it('without an ETag: merged again after a change in between, up to three tries', async () => {
      const refused = () => new LxdPreconditionFailedError({ status: 412, errorCode: 412, method: 'PUT', path: '/d/a', project: undefined, lxdMessage: 'ETag does not match' });
      let gets = 0;
      let puts = 0;
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a', description: `v${++gets}` }, etag: `"e${gets}"` } : ++puts < 3 ? refused() : undefined));
      await new CollectionCore(api, MERGE).patch('/d/a', {}, {});
      expect(asked.map((a) => `${a.method} ${a.opts['etag'] ?? ''}`)).to.deep.equal(['GET ', 'PUT "e1"', 'GET ', 'PUT "e2"', 'GET ', 'PUT "e3"']);
      expect(asked[5]!.opts['body']).to.deep.equal({ description: 'v3' });
      // a fourth refusal is the caller's
      gets = 0;
      puts = -10;
      asked.length = 0;
      expect(await rejection(new CollectionCore(api, MERGE).patch('/d/a', {}, {}))).to.be.instanceOf(LxdPreconditionFailedError);
      expect(asked.filter((a) => a.method === 'PUT')).to.have.length(3);
    });

    it('any other error of the PUT is not tried again', async () => {
      const boom = new LxdApiError({ status: 500, errorCode: 500, method: 'PUT', path: '/d/a', project: undefined, lxdMessage: 'boom' });
      const { api, asked } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a' }, etag: '"e1"' } : boom));
      expect(await rejection(new CollectionCore(api, MERGE).patch('/d/a', {}, {}))).to.equal(boom);
      expect(asked.map((a) => a.method)).to.deep.equal(['GET', 'PUT']);
    });

    it('an Operation of a collection whose writes are operations is returned', async () => {
      const op = { id: 'op1' };
      const { api } = fakeApi((a) => (a.method === 'GET' ? { value: { name: 'a' }, etag: '"e1"' } : op));
      expect(await new CollectionCore(api, { ...MERGE, writes: 'operation' }).patch('/d/a', {}, {})).to.equal(op);
    });
  });

  describe('the collection classes', () => {
    const TOP: CollectionDecl = { name: 'client.things', path: '/1.0/things', itemPath: '/1.0/things/{name}', what: 'thing', schema: Member, post: Post, put: Put, verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'], writes: 'operation', project: true, servers: BOTH };
    const NESTED: CollectionDecl = { ...TOP, path: '/1.0/boxes/{box}/things', itemPath: '/1.0/boxes/{box}/things/{name}', parents: ['box name'] };
    const op = { id: 'op1' };
    const answer = (a: Asked) => (a.fn === 'sync' ? { value: a.path!.endsWith('things') ? [] : { name: 'x' }, etag: '"e"' } : op);

    it('top-level: each verb, its path and its body; renames check the new name', async () => {
      const { api, asked } = fakeApi(answer);
      const c = new RenamableCollection(api, TOP);
      await c.list();
      await c.list({ recursion: 0 });
      expect(await c.get('a')).to.deep.equal({ value: { name: 'x' }, etag: '"e"' });
      expect(await c.create({ name: 'a' })).to.equal(op);
      expect(await c.update('a', { description: 'd' }, { etag: '"e"' })).to.equal(op);
      expect(await c.patch('a', { description: 'd' })).to.equal(op);
      expect(await c.rename('a', 'b')).to.equal(op);
      expect(await c.delete('a')).to.equal(op);
      expect(asked.map((a) => `${a.fn} ${a.method} ${a.path} ${JSON.stringify(a.opts['body'])}`)).to.deep.equal([
        'sync GET /1.0/things undefined',
        'sync GET /1.0/things undefined',
        'sync GET /1.0/things/a undefined',
        'operation POST /1.0/things {"name":"a"}',
        'operation PUT /1.0/things/a {"description":"d"}',
        'operation PATCH /1.0/things/a {"description":"d"}',
        'operation POST /1.0/things/a {"name":"b"}',
        'operation DELETE /1.0/things/a undefined',
      ]);
      expect(asked[4]!.opts['etag']).to.equal('"e"');
      expect(await rejection(c.rename('a', '..'))).to.have.property('field', 'new thing name');
      expect(await rejection(c.update('a', { nope: 1 } as never))).to.be.instanceOf(LxdValidationError);
      expect(await rejection(c.create({ name: '' }))).to.have.property('field', 'thing name');
      expect(c).to.be.instanceOf(Collection);
    });

    it('nested: the parent first, checked and escaped', async () => {
      const { api, asked } = fakeApi(answer);
      const c = new RenamableNestedCollection(api, NESTED);
      await c.list('b 1');
      await c.list('b 1', { recursion: 0 });
      await c.get('b 1', 'a');
      expect(await c.create('b 1', { name: 'a' })).to.equal(op);
      expect(await c.update('b 1', 'a', { description: 'd' })).to.equal(op);
      expect(await c.patch('b 1', 'a', { description: 'd' })).to.equal(op);
      expect(await c.rename('b 1', 'a', 'b')).to.equal(op);
      expect(await c.delete('b 1', 'a')).to.equal(op);
      expect(asked.map((a) => `${a.fn} ${a.method} ${a.path} ${JSON.stringify(a.opts['body'])}`)).to.deep.equal([
        'sync GET /1.0/boxes/b%201/things undefined',
        'sync GET /1.0/boxes/b%201/things undefined',
        'sync GET /1.0/boxes/b%201/things/a undefined',
        'operation POST /1.0/boxes/b%201/things {"name":"a"}',
        'operation PUT /1.0/boxes/b%201/things/a {"description":"d"}',
        'operation PATCH /1.0/boxes/b%201/things/a {"description":"d"}',
        'operation POST /1.0/boxes/b%201/things/a {"name":"b"}',
        'operation DELETE /1.0/boxes/b%201/things/a undefined',
      ]);
      expect(await rejection(c.rename('b', 'a', ''))).to.have.property('field', 'new thing name');
      expect(await rejection(c.get('', 'a'))).to.have.property('field', 'box name');
      expect(await rejection(c.update('b', 'a', { nope: 1 } as never))).to.be.instanceOf(LxdValidationError);
      expect(c).to.be.instanceOf(NestedCollection);
    });
  });
});
