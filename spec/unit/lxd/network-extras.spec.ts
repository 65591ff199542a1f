/**
 * The network routes beyond the plain network, on a fake server shaped by the servers' specs: what
 * the host cannot run (forwards and load balancers need an addressed network, peers and load balancers
 * OVN), the exact bodies sent, the answers parsed loosely (and refused when malformed), the extension
 * checks before any request, and bad input refused before any I/O. The real servers run the rest
 * (spec/integration/client/network-extras.spec.ts).
 */
import { expect } from 'chai';
import { LxdClient } from '../../../lib/lxd/client.js';
import { LxdApiError, LxdExtensionMissingError, LxdPreconditionFailedError, LxdResponseTooLargeError, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/errors.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const ALL = [
  'network_acl',
  'network_acl_log',
  'network_dns',
  'network_dns_records',
  'network_forward',
  'network_load_balancer',
  'network_load_balancer_state',
  'network_peer',
  'network_integrations',
  'network_state',
  'network_leases',
  'network_allocations',
];

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

describe('lxd: network ACLs, zones, forwards, load balancers, peers, integrations, state, leases, allocations (fake server)', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  /** A client of project `p1`. */
  let scoped: LxdClient;

  beforeEach(async () => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ALL })));
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) fake.on(m, /.*/, () => sync(null));
    client = fake.client();
    scoped = new LxdClient({ socketPath: fake.socketPath, project: 'p1', useEvents: false });
  });

  afterEach(async () => {
    await scoped.close();
    await fake.close();
  });

  /** The requests sent, without GET /1.0 and the one-time project check. */
  const sent = () => fake.requests.filter((q) => q.path !== '/1.0' && !q.path.startsWith('/1.0/projects/'));

  describe('client.networkForwards', () => {
    it('create sends the spec\'s body (listen_address, ports) in the client\'s project', async () => {
      await scoped.networkForwards.create('ovn1', {
        listen_address: '192.0.2.10',
        description: 'web',
        config: { target_address: '10.0.0.2' },
        ports: [{ protocol: 'tcp', listen_port: '80,443', target_address: '10.0.0.3', target_port: '8080,8443' }],
      });
      const [q] = sent();
      expect([q!.method, q!.path, q!.query.get('project')]).to.deep.equal(['POST', '/1.0/networks/ovn1/forwards', 'p1']);
      expect(q!.body).to.deep.equal({
        listen_address: '192.0.2.10',
        description: 'web',
        config: { target_address: '10.0.0.2' },
        ports: [{ protocol: 'tcp', listen_port: '80,443', target_address: '10.0.0.3', target_port: '8080,8443' }],
      });
    });

    it('get parses the forward loosely with its ETag; an IPv6 listen address is escaped in the path', async () => {
      fake.on('GET', /^\/1\.0\/networks\/ovn1\/forwards\/[^/]+$/, () =>
        sync({ listen_address: '2001:db8::10', description: '', config: null, ports: [{ protocol: 'udp', listen_port: '53', target_address: '10.0.0.5', target_port: '' }], location: '', future_field: 1 }, { etag: '"f1"' }),
      );
      const { value, etag } = await client.networkForwards.get('ovn1', '2001:db8::10');
      expect(etag).to.equal('"f1"');
      expect(value).to.include({ listen_address: '2001:db8::10', future_field: 1 });
      expect(value.config).to.deep.equal({});
      expect(value.ports[0]).to.include({ protocol: 'udp', listen_port: '53', description: '' });
      expect(sent()[0]!.path).to.equal('/1.0/networks/ovn1/forwards/2001%3Adb8%3A%3A10');
    });

    it('update and patch send If-Match and the writable fields; delete; list decodes the names', async () => {
      await client.networkForwards.update('ovn1', '192.0.2.10', { description: 'd', ports: [] }, { etag: '"f1"' });
      await client.networkForwards.patch('ovn1', '192.0.2.10', { config: { target_address: '10.0.0.9' } });
      await client.networkForwards.delete('ovn1', '192.0.2.10');
      fake.on('GET', '/1.0/networks/ovn1/forwards', () => sync(['/1.0/networks/ovn1/forwards/192.0.2.10', '/1.0/networks/ovn1/forwards/2001:db8::10']));
      expect(await client.networkForwards.list('ovn1', { recursion: 0 })).to.deep.equal(['192.0.2.10', '2001:db8::10']);
      const [put, patch, del] = sent();
      expect([put!.method, put!.headers['if-match'], put!.body]).to.deep.equal(['PUT', '"f1"', { description: 'd', ports: [] }]);
      expect([patch!.method, patch!.body]).to.deep.equal(['PATCH', { config: { target_address: '10.0.0.9' } }]);
      expect([del!.method, del!.path]).to.deep.equal(['DELETE', '/1.0/networks/ovn1/forwards/192.0.2.10']);
    });

    it('refuses, before any request, a listen address that is not an IP, a bad port and an unknown field', async () => {
      const bad = [
        () => client.networkForwards.get('ovn1', 'www.example.net'),
        () => client.networkForwards.get('ovn1', '../x'),
        () => client.networkForwards.create('ovn1', { listen_address: 'nope' }),
        () => client.networkForwards.create('ovn1', { listen_address: '192.0.2.10', ports: [{ protocol: 'sctp' as never, listen_port: '80', target_address: '10.0.0.3' }] }),
        () => client.networkForwards.create('ovn1', { listen_address: '192.0.2.10', ports: [{ protocol: 'tcp', listen_port: '80', target_address: 'host' }] }),
        () => client.networkForwards.update('ovn1', '192.0.2.10', { listen_address: '192.0.2.11' } as never),
        () => client.networkForwards.list('', {}),
      ];
      for (const call of bad) expect(await rejection(call())).to.be.instanceOf(LxdValidationError).and.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
      expect(sent()).to.deep.equal([]);
    });

    it('refuses a forward the server sends without its listen address', async () => {
      fake.on('GET', '/1.0/networks/ovn1/forwards', () => sync([{ description: 'no address' }]));
      expect(await rejection(client.networkForwards.list('ovn1'))).to.be.instanceOf(LxdResponseValidationError);
    });
  });

  describe('client.networkLoadBalancers', () => {
    it('create sends backends and ports as the spec says; state parses the backends\' health', async () => {
      await client.networkLoadBalancers.create('ovn1', {
        listen_address: '192.0.2.20',
        backends: [{ name: 'b1', target_address: '10.0.0.3', target_port: '80' }],
        ports: [{ protocol: 'tcp', listen_port: '80', target_backend: ['b1'] }],
      });
      expect(sent()[0]!.body).to.deep.equal({
        listen_address: '192.0.2.20',
        backends: [{ name: 'b1', target_address: '10.0.0.3', target_port: '80' }],
        ports: [{ protocol: 'tcp', listen_port: '80', target_backend: ['b1'] }],
      });
      fake.on('GET', '/1.0/networks/ovn1/load-balancers/192.0.2.20/state', () => sync({ backend_health: { b1: { address: '10.0.0.3', ports: [{ protocol: 'tcp', port: 80, status: 'online' }] } } }));
      const state = await client.networkLoadBalancers.state('ovn1', '192.0.2.20');
      expect(state.backend_health['b1']?.ports).to.deep.equal([{ protocol: 'tcp', port: 80, status: 'online' }]);
      fake.on('GET', '/1.0/networks/ovn1/load-balancers/192.0.2.20/state', () => sync({ backend_health: null }));
      expect((await client.networkLoadBalancers.state('ovn1', '192.0.2.20')).backend_health).to.deep.equal({});
    });

    it('update and patch send the writable fields with If-Match; list(network) objects', async () => {
      await client.networkLoadBalancers.update('ovn1', '192.0.2.20', { description: 'lb', backends: [], ports: [] }, { etag: '"l1"' });
      await client.networkLoadBalancers.patch('ovn1', '192.0.2.20', { config: { 'healthcheck': 'true' } });
      fake.on('GET', '/1.0/networks/ovn1/load-balancers', () => sync([{ listen_address: '192.0.2.20', backends: null, ports: null, config: {}, description: '', location: '' }]));
      const [lb] = await client.networkLoadBalancers.list('ovn1');
      expect([lb!.listen_address, lb!.backends, lb!.ports]).to.deep.equal(['192.0.2.20', [], []]);
      const calls = sent();
      expect(calls.slice(0, 2).map((q) => `${q.method} ${q.path} ${String(q.headers['if-match'])}`)).to.deep.equal(['PUT /1.0/networks/ovn1/load-balancers/192.0.2.20 "l1"', 'PATCH /1.0/networks/ovn1/load-balancers/192.0.2.20 undefined']);
      expect(calls.slice(0, 2).map((q) => q.body)).to.deep.equal([{ description: 'lb', backends: [], ports: [] }, { config: { healthcheck: 'true' } }]);
      expect(calls[2]!.query.get('recursion')).to.equal('1');
    });

    it('a port without a backend is refused before any request', async () => {
      const call = client.networkLoadBalancers.create('ovn1', { listen_address: '192.0.2.20', ports: [{ protocol: 'tcp', listen_port: '80', target_backend: [] }] });
      expect(await rejection(call)).to.be.instanceOf(LxdValidationError);
      expect(sent()).to.deep.equal([]);
    });

    it('a server without network_load_balancer (LXD 5.0) gets the missing-extension error and no request', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network_forward', 'network_peer'] })));
      for (const call of [() => client.networkLoadBalancers.list('br0'), () => client.networkLoadBalancers.get('br0', '192.0.2.20'), () => client.networkLoadBalancers.delete('br0', '192.0.2.20')]) {
        expect(await rejection(call())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_load_balancer');
      }
      expect(await rejection(client.networkLoadBalancers.state('br0', '192.0.2.20'))).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_load_balancer_state');
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('client.networkPeers', () => {
    it('create sends the target network and project; get, update, delete go to the peer', async () => {
      await scoped.networkPeers.create('ovn1', { name: 'to-ovn2', target_project: 'p2', target_network: 'ovn2', description: 'peer' });
      fake.on('GET', '/1.0/networks/ovn1/peers/to-ovn2', () => sync({ name: 'to-ovn2', description: 'peer', config: {}, target_project: 'p2', target_network: 'ovn2', status: 'Pending', used_by: null }, { etag: '"p"' }));
      const { value, etag } = await scoped.networkPeers.get('ovn1', 'to-ovn2');
      await scoped.networkPeers.update('ovn1', 'to-ovn2', { description: 'x', config: {} }, { etag });
      await scoped.networkPeers.patch('ovn1', 'to-ovn2', { config: { 'user.a': 'b' } });
      await scoped.networkPeers.delete('ovn1', 'to-ovn2');
      expect([value.status, value.used_by]).to.deep.equal(['Pending', []]);
      const calls = sent();
      expect(calls.map((q) => `${q.method} ${q.path}?project=${q.query.get('project')}`)).to.deep.equal([
        'POST /1.0/networks/ovn1/peers?project=p1',
        'GET /1.0/networks/ovn1/peers/to-ovn2?project=p1',
        'PUT /1.0/networks/ovn1/peers/to-ovn2?project=p1',
        'PATCH /1.0/networks/ovn1/peers/to-ovn2?project=p1',
        'DELETE /1.0/networks/ovn1/peers/to-ovn2?project=p1',
      ]);
      expect(calls[0]!.body).to.deep.equal({ name: 'to-ovn2', target_project: 'p2', target_network: 'ovn2', description: 'peer' });
      expect(calls[2]!.headers['if-match']).to.equal('"p"');
      expect(calls[3]!.body).to.deep.equal({ config: { 'user.a': 'b' } });
    });

    it('an Incus remote peering names its integration; a bad type or name is refused before any request', async () => {
      await client.networkPeers.create('ovn1', { name: 'remote1', type: 'remote', target_integration: 'ic1' });
      expect(sent()[0]!.body).to.deep.equal({ name: 'remote1', type: 'remote', target_integration: 'ic1' });
      fake.requests.length = 0;
      expect(await rejection(client.networkPeers.create('ovn1', { name: 'x', type: 'global' as never }))).to.be.instanceOf(LxdValidationError);
      expect(await rejection(client.networkPeers.create('ovn1', { name: '..' }))).to.be.instanceOf(LxdValidationError);
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('client.networkIntegrations', () => {
    it('is server-wide (no project), creates type ovn, renames', async () => {
      await scoped.networkIntegrations.create({ name: 'ic1', type: 'ovn', config: { 'ovn.northbound_connection': 'tcp:[192.0.2.1]:6645' } });
      await scoped.networkIntegrations.rename('ic1', 'ic2');
      const calls = sent();
      expect(calls.map((q) => `${q.method} ${q.path} ${String(q.query.get('project'))}`)).to.deep.equal(['POST /1.0/network-integrations null', 'POST /1.0/network-integrations/ic1 null']);
      expect(calls.map((q) => q.body)).to.deep.equal([{ name: 'ic1', type: 'ovn', config: { 'ovn.northbound_connection': 'tcp:[192.0.2.1]:6645' } }, { name: 'ic2' }]);
      expect(await rejection(client.networkIntegrations.create({ name: 'ic3', type: 'bgp' as never }))).to.be.instanceOf(LxdValidationError);
    });
  });

  describe('client.networkAcls', () => {
    it('create sends the rules as given; rules the server sends are parsed loosely', async () => {
      const rule = { action: 'allow' as const, state: 'enabled' as const, protocol: 'tcp' as const, destination_port: '22', source: '192.0.2.0/24' };
      await client.networkAcls.create({ name: 'acl1', ingress: [rule], egress: [] });
      expect(sent()[0]!.body).to.deep.equal({ name: 'acl1', ingress: [rule], egress: [] });
      fake.on('GET', '/1.0/network-acls/acl1', () => sync({ name: 'acl1', description: '', ingress: [{ action: 'allow', state: 'enabled', destination_port: '22', new_key: true }], egress: null, config: {}, used_by: [] }));
      const { value } = await client.networkAcls.get('acl1');
      expect(value.egress).to.deep.equal([]);
      expect(value.ingress[0]).to.include({ action: 'allow', new_key: true });
      expect(await rejection(client.networkAcls.create({ name: 'acl2', ingress: [{ action: 'permit' as never, state: 'enabled' }] }))).to.be.instanceOf(LxdValidationError);
    });

    it('patch merges: a GET, then a PUT of every writable field with the ETag read (config merged key by key)', async () => {
      const rule = { action: 'allow', state: 'enabled', destination_port: '22' };
      fake.on('GET', '/1.0/network-acls/acl1', () => sync({ name: 'acl1', description: 'keep', ingress: [rule], egress: [], config: { 'user.a': '1' }, used_by: ['/1.0/networks/br0'], project: 'default' }, { etag: '"a1"' }));
      await client.networkAcls.patch('acl1', { config: { 'user.b': '2' } });
      const calls = sent();
      expect(calls.map((q) => `${q.method} ${q.path}`)).to.deep.equal(['GET /1.0/network-acls/acl1', 'PUT /1.0/network-acls/acl1']);
      expect(calls[1]!.headers['if-match']).to.equal('"a1"');
      expect(calls[1]!.body).to.deep.equal({ description: 'keep', egress: [], ingress: [rule], config: { 'user.a': '1', 'user.b': '2' } });
    });

    it('patch: a change in between (412) is merged again; with an ETag given, it is refused', async () => {
      let puts = 0;
      fake.on('GET', '/1.0/network-acls/acl1', () => sync({ name: 'acl1', description: `v${puts}`, ingress: [], egress: [], config: {} }, { etag: `"v${puts}"` }));
      fake.on('PUT', '/1.0/network-acls/acl1', () => (++puts === 1 ? lxdError(412, 'ETag does not match') : sync(null)));
      await client.networkAcls.patch('acl1', { config: { 'user.b': '2' } });
      expect(sent().map((q) => `${q.method} ${String(q.headers['if-match'] ?? '')}`)).to.deep.equal(['GET ', 'PUT "v0"', 'GET ', 'PUT "v1"']);
      expect(sent()[3]!.body).to.deep.include({ description: 'v1' });
      fake.requests.length = 0;
      fake.on('PUT', '/1.0/network-acls/acl1', () => lxdError(412, 'ETag does not match'));
      expect(await rejection(client.networkAcls.patch('acl1', { description: 'x' }, { etag: '"old"' }))).to.be.instanceOf(LxdPreconditionFailedError);
      expect(sent().map((q) => `${q.method} ${String(q.headers['if-match'] ?? '')}`)).to.deep.equal(['GET ', 'PUT "old"']);
    });

    it('log returns the server\'s text as it is, and caps it at maxResponseBytes', async () => {
      const text = '2026-12-05T12:00:00Z lxd_acl1: allow in tcp 192.0.2.3:40000 -> 10.0.0.2:22\n';
      fake.on('GET', '/1.0/network-acls/acl1/log', () => ({ body: text }));
      expect(await scoped.networkAcls.log('acl1')).to.equal(text);
      expect(sent().at(-1)!.query.get('project')).to.equal('p1');
      const small = new LxdClient({ socketPath: fake.socketPath, useEvents: false, maxResponseBytes: 16 });
      try {
        expect(await rejection(small.networkAcls.log('acl1'))).to.be.instanceOf(LxdResponseTooLargeError);
      } finally {
        await small.close();
      }
    });

    it('log turns the server\'s error into a typed error; a server without network_acl_log gets no request', async () => {
      fake.on('GET', '/1.0/network-acls/acl1/log', () => lxdError(500, 'Only OVN log entries may be retrieved at this time'));
      expect(await rejection(client.networkAcls.log('acl1'))).to.be.instanceOf(LxdApiError).and.have.property('lxdMessage', 'Only OVN log entries may be retrieved at this time');
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network_acl'] })));
      const old = fake.client();
      fake.requests.length = 0;
      expect(await rejection(old.networkAcls.log('acl1'))).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_acl_log');
      expect(await rejection(old.networkAcls.log(''))).to.be.instanceOf(LxdValidationError);
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('client.networkZones and records', () => {
    it('records: create(zone, body) sends the entries; get(zone, name) parses them', async () => {
      await client.networkZones.records.create('lxd.example.net', { name: 'www', entries: [{ type: 'A', value: '192.0.2.1', ttl: 300 }] });
      expect([sent()[0]!.path, sent()[0]!.body]).to.deep.equal(['/1.0/network-zones/lxd.example.net/records', { name: 'www', entries: [{ type: 'A', value: '192.0.2.1', ttl: 300 }] }]);
      fake.on('GET', '/1.0/network-zones/lxd.example.net/records/www', () => sync({ name: 'www', description: '', entries: [{ type: 'A', value: '192.0.2.1' }], config: null }, { etag: '"r"' }));
      const { value, etag } = await client.networkZones.records.get('lxd.example.net', 'www');
      expect([value.entries, value.config, etag]).to.deep.equal([[{ type: 'A', value: '192.0.2.1' }], {}, '"r"']);
      expect(await rejection(client.networkZones.records.create('lxd.example.net', { name: 'x', entries: [{ type: 'A', value: '1.2.3.4', ttl: -1 }] }))).to.be.instanceOf(LxdValidationError);
    });

    it('a server without network_dns_records gets the missing-extension error for records, not for zones', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network_dns'] })));
      fake.on('GET', '/1.0/network-zones', () => sync([]));
      expect(await client.networkZones.list({ recursion: 0 })).to.deep.equal([]);
      expect(await rejection(client.networkZones.records.list('z1'))).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_dns_records');
      expect(sent().map((q) => q.path)).to.deep.equal(['/1.0/network-zones']);
    });
  });

  describe('client.networks.state / leases, client.networkAllocations', () => {
    it('state and leases pass target; leases parse a null list as empty', async () => {
      fake.on('GET', '/1.0/networks/br0/state', () => sync({ addresses: null, counters: null, hwaddr: '00:16:3e:00:00:01', mtu: 1500, state: 'up', type: 'broadcast', bond: null, bridge: { id: '8000.1', stp: false, upper_devices: null }, vlan: null, ovn: null }));
      fake.on('GET', '/1.0/networks/br0/leases', () => sync(null));
      const state = await client.networks.state('br0', { target: 'm1' });
      expect([state.addresses, state.mtu, state.bridge?.upper_devices]).to.deep.equal([[], 1500, []]);
      expect(await client.networks.leases('br0', { target: 'm1' })).to.deep.equal([]);
      expect(sent().map((q) => `${q.path}?target=${q.query.get('target')}`)).to.deep.equal(['/1.0/networks/br0/state?target=m1', '/1.0/networks/br0/leases?target=m1']);
      fake.on('GET', '/1.0/networks/br0/state', () => sync({ mtu: '1500', state: 'up', type: 'broadcast' }));
      expect(await rejection(client.networks.state('br0'))).to.be.instanceOf(LxdResponseValidationError);
      expect(await rejection(client.networks.leases('a/b'))).to.be.instanceOf(LxdValidationError);
    });

    it('allocations: the client\'s project, or every project with allProjects (and then no project)', async () => {
      const alloc = { addresses: '10.0.0.1/24', hwaddr: '', nat: true, type: 'network', used_by: '/1.0/networks/br0' };
      fake.on('GET', '/1.0/network-allocations', () => sync([alloc]));
      expect(await scoped.networkAllocations.list()).to.deep.equal([alloc]);
      expect(await scoped.networkAllocations.list({ allProjects: true })).to.deep.equal([alloc]);
      expect(sent().map((q) => `${String(q.query.get('project'))} ${String(q.query.get('all-projects'))}`)).to.deep.equal(['p1 null', 'null true']);
    });

    it('a server without network_allocations (LXD 5.0.2), network_state or network_leases gets no request', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network'] })));
      expect(await rejection(client.networkAllocations.list())).to.have.property('extension', 'network_allocations');
      expect(await rejection(client.networks.state('br0'))).to.have.property('extension', 'network_state');
      expect(await rejection(client.networks.leases('br0'))).to.have.property('extension', 'network_leases');
      expect(sent()).to.deep.equal([]);
    });
  });
});
