/**
 * The cluster resource, `target` (per call and `withTarget`) and the errors of a member that cannot be
 * reached, against the fake LXD. The texts of LXD's answers are those LXD 5.0.2 gives on the test
 * cluster (fixtures/cluster/member-down.json has them as recorded).
 */
import { expect } from 'chai';
import {
  LxdClient,
  LxdError,
  LxdErrorCode,
  LxdExtensionMissingError,
  LxdMemberUnreachableError,
  isMemberUnreachable,
  isNotFound,
  errorText,
} from '../../../lib/index.js';
import { asyncAnswer, lxdError, operationObject, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';

/** The extensions of LXD 5.0.2 that matter here (no `cluster_member_state`). */
const LXD_502 = ['clustering', 'clustering_join', 'clustering_join_token', 'clustering_evacuation', 'clustering_groups', 'cluster_join_token_expiry', 'network', 'storage'];

function member(name: string, n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architecture: 'x86_64',
    config: {},
    database: true,
    description: '',
    failure_domain: 'default',
    groups: ['default'],
    message: 'Fully operational',
    roles: n === 1 ? ['database-leader', 'database'] : ['database'],
    server_name: name,
    status: 'Online',
    url: `https://127.0.1.${n}:8443`,
    ...overrides,
  };
}

describe('cluster (fake LXD)', () => {
  let fake: FakeLxd;
  let client: LxdClient;

  beforeEach(async () => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(serverInfo({ clustered: true, extensions: LXD_502 })));
    client = fake.client();
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('client.cluster', () => {
    it('get: the cluster as LXD describes it, with its ETag', async () => {
      fake.on('GET', '/1.0/cluster', () => sync({ enabled: true, server_name: 'm1', member_config: [{ entity: 'storage-pool', name: 'local', key: 'source', value: '', description: '"source" property for storage pool "local"' }] }, { etag: '"c1"' }));
      const { value, etag } = await client.cluster.get();
      expect(value.enabled).to.equal(true);
      expect(value.server_name).to.equal('m1');
      expect(value.member_config[0]?.key).to.equal('source');
      expect(etag).to.equal('"c1"');
      expect(fake.requestsTo('GET', '/1.0/cluster')[0]?.query.has('project')).to.equal(false);
    });

    it('update: PUT /1.0/cluster is an operation; the body is checked strictly before any I/O', async () => {
      fake.on('PUT', '/1.0/cluster', () => fake.operation());
      const op = await client.cluster.update({ enabled: false });
      await op.wait();
      expect(fake.requestsTo('PUT', '/1.0/cluster')[0]?.body).to.deep.equal({ enabled: false });
      expect(() => client.cluster.update({ enabled: true, bogus: 1 } as never)).to.throw(/cluster: Unrecognized key: "bogus"/);
      expect(fake.requestsTo('PUT', '/1.0/cluster')).to.have.length(1);
    });
  });

  describe('members', () => {
    it('list (names or objects), get with its ETag', async () => {
      fake.on('GET', '/1.0/cluster/members', (r) =>
        sync(r.query.get('recursion') === '1' ? [member('m1', 1), member('m2', 2, { status: 'Offline', message: 'No heartbeat for 21s' })] : ['/1.0/cluster/members/m1', '/1.0/cluster/members/m2']),
      );
      fake.on('GET', '/1.0/cluster/members/:name', (r) => sync(member(r.params['name']!, 2), { etag: '"m-etag"' }));
      expect(await client.cluster.members.list({ recursion: 0 })).to.deep.equal(['m1', 'm2']);
      const all = await client.cluster.members.list();
      expect(all.map((m) => [m.server_name, m.status, m.url])).to.deep.equal([
        ['m1', 'Online', 'https://127.0.1.1:8443'],
        ['m2', 'Offline', 'https://127.0.1.2:8443'],
      ]);
      expect(all[0]?.roles).to.deep.equal(['database-leader', 'database']);
      const one = await client.cluster.members.get('m2');
      expect(one.etag).to.equal('"m-etag"');
      expect(one.value.groups).to.deep.equal(['default']);
    });

    it('patch merges into what LXD has (GET, then PUT with its ETag), so roles and groups are kept', async () => {
      fake.on('GET', '/1.0/cluster/members/:name', (r) => sync(member(r.params['name']!, 2, { description: 'old' }), { etag: '"m-etag"' }));
      fake.on('PUT', '/1.0/cluster/members/:name', () => sync({}));
      await client.cluster.members.patch('m2', { description: 'the second member' });
      const put = fake.requestsTo('PUT', '/1.0/cluster/members/m2')[0]!;
      expect(put.headers['if-match']).to.equal('"m-etag"');
      expect(put.body).to.deep.equal({ roles: ['database'], failure_domain: 'default', description: 'the second member', config: {}, groups: ['default'] });
    });

    it('rename, delete (force), evacuate and restore send what LXD expects', async () => {
      fake.on('POST', '/1.0/cluster/members/:name', () => sync({}));
      fake.on('DELETE', '/1.0/cluster/members/:name', () => sync({}));
      fake.on('POST', '/1.0/cluster/members/:name/state', () => fake.operation({ description: 'Evacuating cluster member' }));
      await client.cluster.members.rename('m3', 'm4');
      expect(fake.requestsTo('POST', '/1.0/cluster/members/m3')[0]?.body).to.deep.equal({ server_name: 'm4' });
      await client.cluster.members.delete('m4', { force: true });
      expect(fake.requestsTo('DELETE', '/1.0/cluster/members/m4')[0]?.query.get('force')).to.equal('1');
      await (await client.cluster.members.evacuate('m2')).wait();
      await (await client.cluster.members.restore('m2')).wait();
      expect(fake.requestsTo('POST', '/1.0/cluster/members/m2/state').map((r) => r.body)).to.deep.equal([{ action: 'evacuate' }, { action: 'restore' }]);
    });

    it('state needs the cluster_member_state extension, which LXD 5.0 lacks: a typed error, no request', async () => {
      const err = await rejection(client.cluster.members.state('m1'));
      expect(err).to.be.instanceOf(LxdExtensionMissingError);
      expect((err as LxdExtensionMissingError).extension).to.equal('cluster_member_state');
      expect(fake.requestsTo('GET', '/1.0/cluster/members/m1/state')).to.have.length(0);
    });

    it('state on a server that has the extension', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ clustered: true, extensions: [...LXD_502, 'cluster_member_state'] })));
      fake.on('GET', '/1.0/cluster/members/:name/state', () => sync({ sysinfo: { uptime: 10, load_averages: [0.1, 0.2, 0.3], total_ram: 100, free_ram: 50, processes: 3 }, storage_pools: {} }));
      expect((await client.cluster.members.state('m1')).sysinfo?.load_averages).to.deep.equal([0.1, 0.2, 0.3]);
    });
  });

  describe('groups', () => {
    it('the collection verbs on /1.0/cluster/groups', async () => {
      fake.on('GET', '/1.0/cluster/groups', () => sync([{ name: 'default', description: 'Default cluster group', members: ['m1', 'm2'] }]));
      fake.on('POST', '/1.0/cluster/groups', () => sync({}));
      fake.on('PUT', '/1.0/cluster/groups/:name', () => sync({}));
      fake.on('POST', '/1.0/cluster/groups/:name', () => sync({}));
      fake.on('DELETE', '/1.0/cluster/groups/:name', () => sync({}));
      expect((await client.cluster.groups.list())[0]?.members).to.deep.equal(['m1', 'm2']);
      await client.cluster.groups.create({ name: 'fast', members: ['m2'] });
      await client.cluster.groups.update('fast', { description: 'quick ones', members: ['m1'] }, { etag: '"g"' });
      await client.cluster.groups.rename('fast', 'faster');
      await client.cluster.groups.delete('faster');
      expect(fake.calls().filter((c) => c.includes('/cluster/groups'))).to.deep.equal([
        'GET /1.0/cluster/groups',
        'POST /1.0/cluster/groups',
        'PUT /1.0/cluster/groups/fast',
        'POST /1.0/cluster/groups/fast',
        'DELETE /1.0/cluster/groups/faster',
      ]);
      expect(fake.requestsTo('POST', '/1.0/cluster/groups/fast')[0]?.body).to.deep.equal({ name: 'faster' });
    });

    it('need the clustering_groups extension', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ clustered: true, extensions: ['clustering'] })));
      const err = await rejection(client.cluster.groups.list());
      expect(LxdError.is(err, LxdErrorCode.EXTENSION_MISSING)).to.equal(true);
    });
  });

  describe('join tokens', () => {
    const tokenOp = (name: string) =>
      operationObject({
        class: 'token',
        description: 'Executing operation',
        location: 'm1',
        may_cancel: true,
        resources: { cluster: null },
        metadata: { serverName: name, secret: 's3cr3t', fingerprint: 'f1ng', addresses: ['127.0.1.1:8443', '127.0.1.2:8443'], expiresAt: '2030-01-01T00:00:00Z' },
      });

    it('create: the token as lxc cluster add prints it, without waiting on its operation', async () => {
      const op = tokenOp('m4');
      fake.on('POST', '/1.0/cluster/members', () => asyncAnswer(op));
      const t = await client.cluster.joinTokens.create('m4');
      expect(t.serverName).to.equal('m4');
      expect(t.operationId).to.equal(op['id']);
      expect(t.expiresAt).to.equal('2030-01-01T00:00:00Z');
      expect(JSON.parse(Buffer.from(t.token, 'base64').toString('utf8'))).to.deep.equal({
        server_name: 'm4',
        fingerprint: 'f1ng',
        addresses: ['127.0.1.1:8443', '127.0.1.2:8443'],
        secret: 's3cr3t',
        expires_at: '2030-01-01T00:00:00Z',
      });
      expect(fake.requestsTo('POST', '/1.0/cluster/members')[0]?.body).to.deep.equal({ server_name: 'm4' });
      expect(fake.requests.some((r) => r.path.startsWith('/1.0/operations/'))).to.equal(false);
    });

    it('list keeps only join tokens still usable; revoke deletes the token operation, and a name without one is not found', async () => {
      const mine = tokenOp('m5');
      const image = operationObject({ class: 'token', description: 'Image download token', resources: { images: ['/1.0/images/abc'] }, metadata: { secret: 'x' } });
      const revoked = { ...tokenOp('m6'), status: 'Cancelled', status_code: 401 };
      fake.on('GET', '/1.0/operations', () => sync({ running: [image, mine], cancelled: [revoked] }));
      fake.on('DELETE', '/1.0/operations/:id', () => sync({}));
      expect((await client.cluster.joinTokens.list()).map((t) => t.serverName)).to.deep.equal(['m5']);
      await client.cluster.joinTokens.revoke('m5');
      expect(fake.requestsTo('DELETE', `/1.0/operations/${String(mine['id'])}`)).to.have.length(1);
      expect(isNotFound(await rejection(client.cluster.joinTokens.revoke('m9')))).to.equal(true);
    });
  });

  describe('target', () => {
    it('per call: instances.create places on a member; server.get reads that member (and is not cached as this server)', async () => {
      fake.on('POST', '/1.0/instances', () => fake.operation());
      fake.on('GET', '/1.0', (r) => sync({ ...(serverInfo({ clustered: true, extensions: LXD_502 }) as object), environment: { server_name: r.query.get('target') ?? 'm1', server_clustered: true } }));
      await (await client.instances.create({ name: 'c1', source: { type: 'image', alias: 'busybox' } }, { target: 'm3' })).wait();
      expect(fake.requestsTo('POST', '/1.0/instances')[0]?.query.get('target')).to.equal('m3');
      expect((await client.server.get({ target: 'm2' })).value.environment?.server_name).to.equal('m2');
      expect((await client.server.info()).environment?.server_name).to.equal('m1');
    });

    it('withTarget: every call of the view carries ?target=, operations and the parent client do not', async () => {
      fake.on('POST', '/1.0/instances', () => fake.operation());
      fake.on('GET', '/1.0/storage-pools/:name', () => sync({ name: 'local', driver: 'dir', config: { source: '/m2' } }));
      const m2 = client.withTarget('m2');
      expect(m2.target).to.equal('m2');
      await (await m2.instances.create({ name: 'c2', source: { type: 'image', alias: 'busybox' } })).wait();
      await m2.storagePools.get('local');
      await (await m2.instances.create({ name: 'c3', source: { type: 'image', alias: 'busybox' } }, { target: 'm3' })).wait();
      await client.storagePools.get('local');
      const creates = fake.requestsTo('POST', '/1.0/instances');
      expect(creates.map((r) => r.query.get('target'))).to.deep.equal(['m2', 'm3']);
      expect(fake.requestsTo('GET', '/1.0/storage-pools/local').map((r) => r.query.get('target'))).to.deep.equal(['m2', null]);
      for (const r of fake.requests.filter((x) => x.path.startsWith('/1.0/operations/'))) expect(r.query.has('target'), r.path).to.equal(false);
    });

    it('a bad member name is refused before any I/O', () => {
      for (const bad of ['', 'a/b', 'two words']) expect(() => client.withTarget(bad), JSON.stringify(bad)).to.throw(/target/);
      expect(() => new LxdClient({ socketPath: fake.socketPath, target: '' })).to.throw(/not a cluster member name/);
    });
  });

  describe('a member that cannot be reached', () => {
    it("a create targeted at it: LXD's 500 becomes LxdMemberUnreachableError naming the member and its address", async () => {
      fake.on('POST', '/1.0/instances', () =>
        lxdError(500, 'Post "https://127.0.1.3:8443/1.0/instances?project=default&target=m3": Unable to connect to: 127.0.1.3:8443 ([dial tcp 127.0.1.3:8443: connect: connection refused])'),
      );
      const err = await rejection(client.instances.create({ name: 'c1', source: { type: 'image', alias: 'busybox' } }, { target: 'm3' }));
      expect(err).to.be.instanceOf(LxdMemberUnreachableError);
      expect(isMemberUnreachable(err)).to.equal(true);
      const e = err as LxdMemberUnreachableError;
      expect(e.member).to.equal('m3');
      expect(e.address).to.equal('127.0.1.3:8443');
      expect(e.status).to.equal(500);
      expect(errorText(e)).to.match(/^cluster member "m3" \(127\.0\.1\.3:8443\) is unreachable: Post /);
      expect(e.message).to.contain('POST /1.0/instances: cluster member "m3"');
    });

    it('"Missing event connection" (a member down, or not yet reconnected) is the same error; without a target it names no member', async () => {
      fake.on('GET', '/1.0/instances/:name', () => lxdError(500, 'Missing event connection with target cluster member'));
      const err = await rejection(client.instances.get('c1'));
      expect(isMemberUnreachable(err)).to.equal(true);
      expect((err as LxdMemberUnreachableError).member).to.equal(undefined);
      expect(errorText(err)).to.equal('cluster member (unknown) is unreachable: Missing event connection with target cluster member');
    });

    it('other 500s stay plain API errors', async () => {
      fake.on('GET', '/1.0/instances/:name', () => lxdError(500, 'Failed to fetch instance "c1": Get "https://images.example/streams": EOF'));
      const err = await rejection(client.instances.get('c1'));
      expect(LxdError.is(err, LxdErrorCode.API)).to.equal(true);
    });
  });
});
