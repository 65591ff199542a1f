import { expect } from 'chai';
import { apply, exportStack, plan, stackFromObject, parseStackText, mergeStacks, StackError, StackErrorCode, STACK_MARKER, type Plan } from '../../../lib/stacks/index.js';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { rejection } from '../../helpers/rejection.js';
import { emptyWorld, etagOf, startFakeStackServer, type FakeStackServer } from '../../helpers/fake-stack-server.js';

const stackOf = (text: string) => mergeStacks([parseStackText(text, 'stack.yaml')]);
const actions = (p: Plan) => p.steps.map((s) => `${s.action} ${s.id}`);

describe('stacks: plan and apply against a simulated server', () => {
  let server: FakeStackServer;
  let client: LxdClient;
  beforeEach(async () => {
    server = await startFakeStackServer(emptyWorld());
    client = server.fake.client();
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  const base = 'name: s1\nprofiles:\n  - name: small\n    config:\n      limits.cpu: "1"\ninstances:\n  - name: c1\n    image: lxdkit/busybox\n    profiles: [default, small]\n';

  it('plans creations, applies them with the marker, and then plans nothing', async () => {
    const p = await plan(stackOf(base), client);
    expect(p.changed).to.equal(true);
    expect(actions(p)).to.deep.equal(['create profiles:default/small', 'create instances:default/c1']);
    await apply(p, client);
    const c1 = server.world.instances.get('default')!.get('c1')!;
    expect(c1['config']).to.deep.equal({ [STACK_MARKER]: 's1' });
    expect(c1['status']).to.equal('Running');
    expect(server.world.profiles.get('default')!.get('small')!['config']).to.deep.equal({ 'limits.cpu': '1', [STACK_MARKER]: 's1' });
    const again = await plan(stackOf(base), client);
    expect(again.changed).to.equal(false);
    expect(actions(again)).to.deep.equal(['unchanged profiles:default/small', 'unchanged instances:default/c1']);
  });

  it('makes one listing per kind, not one GET per resource', async () => {
    await apply(await plan(stackOf(base), client), client);
    const before = server.fake.requests.length;
    const p = await plan(stackOf(base), client);
    const made = server.fake.requests.slice(before).filter((r) => r.path !== '/1.0');
    expect(made.every((r) => r.method === 'GET' && r.query.get('recursion') === '1'), made.map((r) => r.path).join(' ')).to.equal(true);
    // projects, pools, networks, volumes (one pool), profiles, image aliases, instances
    expect(made.map((r) => r.path).sort()).to.deep.equal(['/1.0/images/aliases', '/1.0/instances', '/1.0/networks', '/1.0/profiles', '/1.0/projects', '/1.0/storage-pools', '/1.0/storage-pools/default/volumes/custom']);
    expect(p.listings).to.equal(7);
  });

  it('shows a change made by hand as an update per key, and apply repairs it with the ETag it read', async () => {
    await apply(await plan(stackOf(base), client), client);
    const small = server.world.profiles.get('default')!.get('small')!;
    small['config'] = { 'limits.cpu': '4', 'limits.memory': '1GiB', [STACK_MARKER]: 's1' };
    const p = await plan(stackOf(base), client);
    expect(p.steps[0]!.action).to.equal('update');
    expect(p.steps[0]!.changes).to.deep.equal([{ path: 'config.limits.cpu', from: '4', to: '1' }, { path: 'config.limits.memory', from: '1GiB' }]);
    const etag = etagOf(small);
    await apply(p, client);
    const put = server.fake.requests.find((r) => r.method === 'PUT' && r.path === '/1.0/profiles/small')!;
    expect(put.headers['if-match']).to.equal(etag);
    expect(small['config']).to.deep.equal({ 'limits.cpu': '1', [STACK_MARKER]: 's1' });
  });

  it('reads a resource changed between plan and apply again and recomputes, never overwriting blindly', async () => {
    await apply(await plan(stackOf(base), client), client);
    const small = server.world.profiles.get('default')!.get('small')!;
    small['config'] = { 'limits.cpu': '4', [STACK_MARKER]: 's1' };
    const p = await plan(stackOf(base), client);
    // someone changes it after the plan, before the PUT: the first PUT carries a stale ETag
    let first = true;
    server.fake.on('PUT', '/1.0/profiles/small', (req) => {
      if (first) {
        first = false;
        small['description'] = 'changed meanwhile';
        return { status: 412, body: { type: 'error', error: 'ETag doesn\'t match', error_code: 412 } };
      }
      Object.assign(small, req.body as object);
      return { body: { type: 'sync', status: 'Success', status_code: 200, metadata: null } };
    });
    await apply(p, client);
    const puts = server.fake.requests.filter((r) => r.method === 'PUT' && r.path === '/1.0/profiles/small');
    expect(puts).to.have.length(2);
    expect(puts[1]!.headers['if-match']).to.equal(etagOf({ ...small, description: 'changed meanwhile', config: { 'limits.cpu': '4', [STACK_MARKER]: 's1' } }));
    expect(small['description']).to.equal('');
  });

  it('refuses a reference to a profile neither the stack nor the server has, before any request that changes something', async () => {
    const err = await rejection(plan(stackOf('name: s1\ninstances:\n  - name: c1\n    image: lxdkit/busybox\n    profiles: [default, nope]\n'), client));
    expect(StackError.is(err, StackErrorCode.REFERENCE)).to.equal(true);
    expect(err.message).to.equal('stack.yaml:3: instances.0.profiles.1: profile "nope" is neither in the stack nor on the server');
    expect(server.writes()).to.deep.equal([]);
  });

  it('refuses references to a pool, a volume, a network, an image and a project that are nowhere', async () => {
    const cases: [string, RegExp][] = [
      ['storage_volumes:\n  - pool: nopool\n    name: v\n', /storage_volumes\.0\.pool: storage pool "nopool"/],
      ['profiles:\n  - name: p\n    devices:\n      d: { type: disk, pool: default, source: novol, path: /d }\n', /profiles\.0\.devices\.d\.source: storage volume "default\/novol"/],
      ['profiles:\n  - name: p\n    devices:\n      eth0: { type: nic, network: nonet }\n', /profiles\.0\.devices\.eth0\.network: network "nonet"/],
      ['instances:\n  - name: c\n    image: no/such\n', /instances\.0\.image: image alias "no\/such"/],
      ['profiles:\n  - name: p\n    project: noproject\n', /profiles\.0\.project: project "noproject" is neither in the stack nor on the server/],
    ];
    for (const [text, re] of cases) expect((await rejection(plan(stackOf(`name: s1\n${text}`), client))).message).to.match(re);
    expect(server.writes()).to.deep.equal([]);
  });

  it('accepts references to what the stack itself declares', async () => {
    const p = await plan(stackOf('name: s1\nstorage_pools:\n  - name: fast\n    driver: dir\nstorage_volumes:\n  - pool: fast\n    name: v\nprofiles:\n  - name: p\n    devices:\n      d: { type: disk, pool: fast, source: v, path: /d }\n'), client);
    expect(actions(p)).to.deep.equal(['create storage_pools:fast', 'create storage_volumes:default/fast/v', 'create profiles:default/p']);
    expect(p.steps[2]!.deps).to.deep.equal(['storage_pools:fast', 'storage_volumes:default/fast/v']);
  });

  it('refuses a dependency cycle, naming each resource', async () => {
    const text = 'name: s1\nnetworks:\n  - name: a\n    type: ovn\n    config: { network: b }\n  - name: b\n    type: ovn\n    config: { network: a }\n';
    const err = await rejection(plan(stackOf(text), client));
    expect(StackError.is(err, StackErrorCode.CYCLE)).to.equal(true);
    expect(err.message).to.match(/a dependency cycle: networks:default\/a \(stack\.yaml:3\) → networks:default\/b \(stack\.yaml:6\) → networks:default\/a/);
  });

  it('plans a replace where a field cannot change in place', async () => {
    await apply(await plan(stackOf(base), client), client);
    const p = await plan(stackOf(base.replace('image: lxdkit/busybox', 'image: lxdkit/busybox\n    type: virtual-machine')), client);
    const step = p.steps.find((s) => s.kind === 'instances')!;
    expect(step.action).to.equal('replace');
    expect(step.changes[0]).to.deep.equal({ path: 'type', from: 'container', to: 'virtual-machine' });
  });

  it('prunes only what the same stack created, and keeps what is in use', async () => {
    await apply(await plan(stackOf(base), client), client);
    // made by hand, and by another stack
    server.world.profiles.get('default')!.set('hand', { name: 'hand', description: '', config: {}, devices: {}, used_by: [] });
    server.world.profiles.get('default')!.set('other', { name: 'other', description: '', config: { [STACK_MARKER]: 's2' }, devices: {}, used_by: [] });
    server.world.profiles.get('default')!.get('small')!['used_by'] = ['/1.0/instances/c1', '/1.0/instances/hand-made'];
    const p = await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(actions(p)).to.deep.equal(['keep profiles:default/small', 'delete instances:default/c1']);
    expect(p.steps[0]!.reason).to.equal('in use by 1 (/1.0/instances/hand-made)');
    await apply(p, client);
    expect([...server.world.profiles.get('default')!.keys()].sort()).to.deep.equal(['default', 'hand', 'other', 'small']);
    expect(server.world.instances.get('default')!.has('c1')).to.equal(false);
  });

  it('keeps a project the stack made while it holds what the stack did not make, and says why', async () => {
    const text = 'name: s1\nprojects:\n  - name: lxdkit-spec-stk-p\nprofiles:\n  - name: mine\n    project: lxdkit-spec-stk-p\n';
    await apply(await plan(stackOf(text), client), client);
    server.world.profiles.get('lxdkit-spec-stk-p')!.set('hand', { name: 'hand', description: '', config: {}, devices: {}, used_by: [] });
    const p = await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(actions(p)).to.deep.equal(['keep projects:lxdkit-spec-stk-p', 'delete profiles:lxdkit-spec-stk-p/mine']);
    expect(p.steps[0]!.reason).to.match(/still holds 1 resource the stack did not create or keeps: profile "hand" \(project lxdkit-spec-stk-p\)/);
    server.world.profiles.get('lxdkit-spec-stk-p')!.delete('hand');
    const p2 = await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(actions(p2)).to.deep.equal(['delete projects:lxdkit-spec-stk-p', 'delete profiles:lxdkit-spec-stk-p/mine']);
  });

  it('exports a stack that plans to no changes', async () => {
    await apply(await plan(stackOf(base), client), client);
    server.world.profiles.get('default')!.set('hand', { name: 'hand', description: 'by hand', config: { 'user.x': 'y' }, devices: {}, used_by: [] });
    const exported = await exportStack(client, { name: 'again' });
    const p = await plan(stackFromObject(exported), client);
    expect(p.steps.filter((s) => s.action !== 'unchanged').map((s) => `${s.action} ${s.id} ${JSON.stringify(s.changes)}`)).to.deep.equal([]);
    expect(p.steps.length).to.be.greaterThan(5);
  });

  it('stops at an abort, and the next plan and apply go on from where it got to', async () => {
    const many = `name: s1\ninstances:\n${Array.from({ length: 6 }, (_, i) => `  - name: c${i}\n    image: lxdkit/busybox\n`).join('')}`;
    const ac = new AbortController();
    server.fake.on('POST', '/1.0/instances', (req) => {
      const body = req.body as { name: string; config: Record<string, string> };
      server.world.instances.get('default')?.set(body.name, { name: body.name, type: 'container', description: '', status: 'Stopped', status_code: 102, profiles: ['default'], config: body.config, devices: {} }) ??
        server.world.instances.set('default', new Map([[body.name, { name: body.name, type: 'container', description: '', status: 'Stopped', status_code: 102, profiles: ['default'], config: body.config, devices: {} }]]));
      if (server.world.instances.get('default')!.size === 2) ac.abort();
      return server.fake.operation();
    });
    const lines: string[] = [];
    const err = await rejection(apply(await plan(stackOf(many), client), client, { signal: ac.signal, concurrency: 1, onProgress: (e) => lines.push(`${e.phase} ${e.what} ${e.step.key}`) }));
    expect(err.name).to.equal('AbortError');
    // every step that began has a line
    expect(lines.filter((l) => l.startsWith('start'))).to.have.length.greaterThan(0);
    expect(server.world.instances.get('default')!.size).to.be.lessThan(6);
    const next = await plan(stackOf(many), client);
    expect(next.changed).to.equal(true);
    await apply(next, client);
    expect((await plan(stackOf(many), client)).changed).to.equal(false);
  });

  it('copies an image from a simplestreams source and points the alias, with the marker in its description', async () => {
    server.fake.on('POST', '/1.0/images', () => server.fake.operation({ metadata: { fingerprint: 'b'.repeat(64) } }));
    server.fake.on('POST', '/1.0/images/aliases', (req) => {
      const body = req.body as { name: string; target: string; description: string };
      server.world.aliases.get('default')!.set(body.name, { ...body, type: 'container' });
      return { body: { type: 'sync', status: 'Success', status_code: 200, metadata: null } };
    });
    const text = 'name: s1\nimages:\n  - alias: jammy\n    source:\n      server: https://127.0.0.1:8443/streams\n      alias: ubuntu/22.04\ninstances:\n  - name: c1\n    image: jammy\n';
    const p = await plan(stackOf(text), client);
    expect(actions(p)).to.deep.equal(['create images:default/jammy', 'create instances:default/c1']);
    expect(p.steps[1]!.deps).to.deep.equal(['images:default/jammy']);
    await apply(p, client);
    const copy = server.fake.requests.find((r) => r.method === 'POST' && r.path === '/1.0/images')!;
    expect((copy.body as { source: Record<string, unknown> }).source).to.include({ type: 'image', mode: 'pull', server: 'https://127.0.0.1:8443/streams', protocol: 'simplestreams', alias: 'ubuntu/22.04' });
    expect(server.world.aliases.get('default')!.get('jammy')).to.deep.include({ target: 'b'.repeat(64), description: '(lxdkit.stack=s1)' });
    // the instance was created after the alias, from it
    const create = server.fake.requests.find((r) => r.method === 'POST' && r.path === '/1.0/instances')!;
    expect(server.fake.requests.indexOf(create)).to.be.greaterThan(server.fake.requests.indexOf(copy));
    expect((await plan(stackOf(text), client)).changed).to.equal(false);
  });
});
