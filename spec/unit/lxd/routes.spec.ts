import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient } from '../../../lib/lxd/client.js';
import { COLLECTIONS, ROUTES } from '../../../lib/lxd/routes/table.js';
import { collectionRoutes, MERGE_PATCH_NOTE, templatePieces } from '../../../lib/lxd/routes/collection.js';
import { key, readPairs, renderApiDoc, ROOT } from '../../../scripts/api-doc.js';
import { serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

/** What a create body needs besides its name. */
const SAMPLE_POST: Record<string, Record<string, unknown>> = { 'client.storagePools': { driver: 'dir' }, 'client.networkIntegrations': { type: 'ovn' } };
/** Members not named by a plain name (forwards and load balancers: their listen address). */
const SAMPLE_NAME: Record<string, string> = { 'client.networkForwards': '192.0.2.10', 'client.networkLoadBalancers': '192.0.2.10' };

const lxd = readPairs('lxd-5.0.pairs.tsv');
const incus = readPairs('incus-6.0.pairs.tsv');

describe('lxd: the route table', () => {
  it('has exactly one route for every (method, path) of both specs, and none that neither has', () => {
    const pairs = new Set([...lxd, ...incus].map((p) => key(p.method, p.path)));
    const routes = ROUTES.map((r) => key(r.method, r.path));
    const dupes = routes.filter((k, i) => routes.indexOf(k) !== i);
    expect(dupes, 'routes declared twice').to.deep.equal([]);
    expect([...pairs].filter((k) => !routes.includes(k)), 'pairs without a route').to.deep.equal([]);
    expect(routes.filter((k) => !pairs.has(k)), 'routes in neither spec').to.deep.equal([]);
    expect(pairs.size).to.equal(276);
  });

  it('says which servers have each route as their specs do', () => {
    const inLxd = new Set(lxd.map((p) => key(p.method, p.path)));
    const inIncus = new Set(incus.map((p) => key(p.method, p.path)));
    const wrong = ROUTES.filter((r) => r.servers.lxd !== inLxd.has(key(r.method, r.path)) || r.servers.incus !== inIncus.has(key(r.method, r.path)));
    expect(wrong.map((r) => `${key(r.method, r.path)} lxd=${r.servers.lxd} incus=${r.servers.incus}`)).to.deep.equal([]);
  });

  it('names a method of the client for every typed route, and says why for every other', async () => {
    const client = new LxdClient({ socketPath: '/nonexistent/lxdkit-routes.sock' });
    try {
      for (const r of ROUTES) {
        if (r.name === undefined) {
          expect(r.why, `${key(r.method, r.path)} has no method and no reason`).to.be.a('string').and.not.equal('');
          continue;
        }
        const parts = r.name.split('.');
        expect(parts[0]).to.equal('client');
        let owner: unknown = client;
        for (const part of parts.slice(1, -1)) owner = (owner as Record<string, unknown>)[part];
        expect(typeof (owner as Record<string, unknown>)[parts.at(-1)!], `${r.name} (${key(r.method, r.path)})`).to.equal('function');
      }
    } finally {
      await client.close();
    }
  });

  it('docs/api.md is what the table gives (npm run docs:api)', () => {
    const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    expect(doc === renderApiDoc(), 'docs/api.md is out of date: run npm run docs:api').to.equal(true);
    const rows = doc.split('\n').filter((l) => /^\| (GET|POST|PUT|PATCH|DELETE|HEAD) /.test(l));
    expect(rows).to.have.length(276);
  });

  describe('each declared collection sends what its routes say', () => {
    let fake: FakeLxd;
    let client: LxdClient;
    before(async () => {
      fake = await startFakeLxd();
      fake.on('GET', /.*/, (q) => (/\/(item1|s|state|192\.0\.2\.10)$/.test(q.path) ? sync({ name: 'item1', driver: 'dir', type: 'bridge', listen_address: '192.0.2.10' }, { etag: '"e"' }) : sync([])));
      // a server with every extension the table names
      const extensions = [...new Set(ROUTES.map((r) => r.extension).filter((e): e is string => e !== undefined))];
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions })));
      for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) fake.on(m, /.*/, () => sync(null));
      client = fake.client();
    });
    after(async () => {
      await client.close();
      await fake.close();
    });

    it('client.storageVolumes and its snapshots (type in the options, custom by default)', async () => {
      const v = client.storageVolumes;
      const calls: [() => Promise<unknown>, string][] = [
        [() => v.list('p', { type: 'custom', recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}'],
        [() => v.list('p', { type: 'custom' }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}?recursion=1'],
        [() => v.list('p', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/volumes'],
        [() => v.list('p'), 'GET /1.0/storage-pools/{poolName}/volumes?recursion=1'],
        [() => v.create('p', { name: 'item1' }), 'POST /1.0/storage-pools/{poolName}/volumes'],
        [() => v.get('p', 'item1'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}'],
        [() => v.update('p', 'item1', {}), 'PUT /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}'],
        [() => v.patch('p', 'item1', {}), 'PATCH /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}'],
        [() => v.rename('p', 'item1', 'item2'), 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}'],
        [() => v.delete('p', 'item1'), 'DELETE /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}'],
        [() => v.state('p', 'item1'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/state'],
        [() => v.snapshots.list('p', 'item1', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots'],
        [() => v.snapshots.list('p', 'item1'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots?recursion=1'],
        [() => v.snapshots.create('p', 'item1', { name: 's' }), 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots'],
        [() => v.snapshots.get('p', 'item1', 's'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}'],
        [() => v.snapshots.update('p', 'item1', 's', { description: 'd' }), 'PUT /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}'],
        [() => v.snapshots.rename('p', 'item1', 's', 't'), 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}'],
        [() => v.snapshots.delete('p', 'item1', 's'), 'DELETE /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}'],
      ];
      const values: Record<string, string> = { poolName: 'p', type: 'custom', volumeName: 'item1', snapshotName: 's' };
      for (const [call, pair] of calls) {
        const route = ROUTES.find((r) => key(r.method, r.path) === pair);
        expect(route?.name, pair).to.match(/^client\.storageVolumes\./);
        fake.requests.length = 0;
        await call();
        const [method, path] = pair.split(' ') as [string, string];
        const sent = fake.requests.filter((q) => q.path !== '/1.0');
        expect(sent.map((q) => `${q.method} ${q.path}`), pair).to.deep.equal([`${method} ${path.split('?')[0]!.replace(/\{(\w+)\}/g, (_, k: string) => values[k]!)}`]);
        expect(sent[0]!.query.get('recursion'), pair).to.equal(path.includes('?recursion=1') ? '1' : null);
      }
      fake.requests.length = 0;
      for (const bad of [() => v.get('p', 'item1', { type: 'nope' as never }), () => v.get('p', 'a/b'), () => v.create('p', { name: 'x', type: 'container' as never })]) {
        expect(await bad().catch((e: unknown) => e)).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
      }
      expect(fake.requests.filter((q) => q.path !== '/1.0')).to.deep.equal([]);
    });

    for (const decl of COLLECTIONS) {
      it(decl.name, async () => {
        const owner = decl.name.split('.').slice(1).reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], client) as Record<string, (...a: unknown[]) => Promise<unknown>>;
        const parents = templatePieces(decl.path).length - 1;
        const args = Array.from({ length: parents }, (_, i) => `p${i}`);
        const fill = (template: string, name?: string) => {
          let i = 0;
          return template.replace(/\{[^}]+\}/g, () => (i < parents ? args[i++]! : name!)).split('?')[0]!;
        };
        const item = SAMPLE_NAME[decl.name] ?? 'item1';
        const nameKey = decl.nameKey === undefined ? 'name' : decl.nameKey;
        for (const route of collectionRoutes(decl)) {
          const verb = route.name!.split('.').at(-1)!;
          fake.requests.length = 0;
          const call: Record<string, () => Promise<unknown>> = {
            list: () => owner['list']!(...args, route.path.includes('?recursion=1') ? {} : { recursion: 0 }),
            get: () => owner['get']!(...args, item),
            create: () => owner['create']!(...args, { ...(nameKey === false ? {} : { [nameKey]: item }), ...SAMPLE_POST[decl.name] }),
            update: () => owner['update']!(...args, item, {}),
            patch: () => owner['patch']!(...args, item, {}),
            rename: () => owner['rename']!(...args, item, 'item2'),
            delete: () => owner['delete']!(...args, item),
          };
          await call[verb]!();
          const sent = fake.requests.filter((q) => q.path !== '/1.0');
          // a patch that merges itself reads the member, then PUTs it
          const expected = route.method === 'PATCH' && route.why?.includes(MERGE_PATCH_NOTE) ? ['GET', 'PUT'] : [route.method];
          expect(sent.map((q) => `${q.method} ${q.path}`), `${route.name} → ${key(route.method, route.path)}`).to.deep.equal(expected.map((m) => `${m} ${fill(route.path, item)}`));
          if (route.path.includes('?recursion=1')) expect(sent[0]!.query.get('recursion')).to.equal('1');
        }
      });
    }
  });
});
