/**
 * The route table costs nothing per request: once a client is warm (its one `GET /1.0` for the
 * server's extensions, its one project check), every typed call is exactly one request, whether it
 * is a declared collection, a hand-written method or a call that needs an API extension; and
 * `LxdManager.listContainers()` in a project is one listing.
 */
import { expect } from 'chai';
import { LxdManager } from '../../../lib/container/lxd/index.js';
import { LxdClient } from '../../../lib/lxd/index.js';
import { serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { installWorld } from '../lxd-manager/world.js';

const UUID = 'deadbeef-0bad-400d-8000-4b1d0d06f00d';

describe('lxd: one request per call once the client is warm (the route table costs nothing per request)', function () {
  let fake: FakeLxd;
  let client: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
    installWorld(fake);
    fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network', 'storage', 'projects', 'network_acl', 'network_dns', 'network_dns_records', 'warnings', 'resources'] })));
    fake.on('GET', '/1.0/projects/:name', (r) => sync({ name: r.params['name'], description: '', config: { 'features.profiles': 'true' }, used_by: [] }, { etag: 'p' }));
    fake.on('GET', '/1.0/profiles/:name', (r) => sync({ name: r.params['name'], description: '', config: {}, devices: {}, used_by: [] }, { etag: 'e' }));
    fake.on('GET', '/1.0/network-acls/:name', (r) => sync({ name: r.params['name'], description: '', ingress: [], egress: [], config: {}, used_by: [] }, { etag: 'a' }));
    fake.on('GET', '/1.0/network-zones/:zone/records/:name', (r) => sync({ name: r.params['name'], description: '', entries: [], config: {} }, { etag: 'r' }));
    fake.on('GET', '/1.0/warnings', () => sync([]));
    client = new LxdClient({ socketPath: fake.socketPath, project: 'p1', useEvents: false });
  });

  afterEach(async function () {
    await client.close();
    await fake.close();
  });

  /** The requests `fn` makes, as `METHOD /path`. */
  async function requestsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const before = fake.requests.length;
    await fn();
    return fake.requests.slice(before).map((r) => `${r.method} ${r.path}`);
  }

  it('declared collections, nested ones and calls that need an extension: one request each after the first', async function () {
    const calls: [string, () => Promise<unknown>][] = [
      ['GET /1.0/profiles/web', () => client.profiles.get('web')],
      ['GET /1.0/network-acls/acl1', () => client.networkAcls.get('acl1')],
      ['GET /1.0/network-zones/example.com/records/www', () => client.networkZones.records.get('example.com', 'www')],
      ['GET /1.0/warnings', () => client.warnings.list()],
    ];
    // warm: GET /1.0 at most once for the whole client, whatever comes first
    for (const [, call] of calls) await call();
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path === '/1.0').length).to.be.at.most(1);
    for (const [want, call] of calls) {
      for (let i = 0; i < 3; i++) expect(await requestsOf(call), want).to.deep.equal([want]);
    }
  });

  it('LxdManager.listContainers() in a project is one listing per call once warm', async function () {
    const manager = new LxdManager({ 'model-uuid': UUID }, { client, hostArch: 'amd64' });
    await manager.listContainers();
    for (let i = 0; i < 3; i++) {
      const made = await requestsOf(() => manager.listContainers());
      expect(made).to.have.length(1);
      expect(made[0]).to.match(/^GET \/1\.0\/instances$/);
    }
  });
});
