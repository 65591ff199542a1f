/**
 * The network routes beyond the plain network, on the host's real LXD 5.0.2 and Incus 6.0.4: ACLs,
 * zones and their records, network state and leases, allocations, integrations (Incus), and what
 * an address-less bridge answers for forwards, load balancers and peers. Nothing here gives any
 * network an address: ACLs, zones, records and integrations are the server's own records until a
 * network uses them, and the state and leases are read from the provisioned bridge. Everything made
 * here is named `lxdkit-spec-netx-…` and removed.
 */
import { expect } from 'chai';
import { LxdApiError, LxdExtensionMissingError, LxdNotFoundError, LxdPreconditionFailedError, type LxdClient, type NetworkAclRule } from '../../../lib/lxd/index.js';
import { uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-netx-';

async function removeNetxLeftovers(lxd: LxdClient, prefix: string): Promise<void> {
  for (const acl of await lxd.networkAcls.list({ recursion: 0 })) if (acl.startsWith(prefix)) await lxd.networkAcls.delete(acl);
  for (const zone of await lxd.networkZones.list({ recursion: 0 })) {
    if (!zone.startsWith(prefix)) continue;
    for (const record of await lxd.networkZones.records.list(zone, { recursion: 0 })) await lxd.networkZones.records.delete(zone, record);
    await lxd.networkZones.delete(zone);
  }
  if (await lxd.server.hasExtension('network_integrations')) {
    for (const name of await lxd.networkIntegrations.list({ recursion: 0 })) if (name.startsWith(prefix)) await lxd.networkIntegrations.delete(name);
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

describeEachServer('network ACLs, zones, state, leases, allocations, integrations', (server) => {
  let lxd: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeNetxLeftovers(lxd, PREFIX);
  });

  after(async function () {
    if (lxd) {
      await removeNetxLeftovers(lxd, run);
      await lxd.close();
    }
  });

  it('networkAcls: create with rules, get with its ETag, update (a stale ETag is refused), patch, rename, list, log, delete', async () => {
    const name = `${run}-acl`;
    const ssh: NetworkAclRule = { action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '22', description: 'ssh' };
    await lxd.networkAcls.create({ name, description: 'made by a spec', ingress: [ssh], egress: [{ action: 'reject', state: 'disabled' }] });
    const { value, etag } = await lxd.networkAcls.get(name);
    expect([value.name, value.description, value.ingress.length, value.egress.length]).to.deep.equal([name, 'made by a spec', 1, 1]);
    expect(value.ingress[0]).to.include({ action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '22', description: 'ssh' });
    expect(etag).to.be.a('string');
    // PUT replaces the rules
    await lxd.networkAcls.update(name, { description: 'updated', ingress: [ssh, { action: 'drop', state: 'logged', protocol: 'udp', destination_port: '53' }], egress: [], config: { 'user.spec': 'one' } }, { etag });
    expect(await rejection(lxd.networkAcls.update(name, { description: 'stale', ingress: [], egress: [] }, { etag }))).to.be.instanceOf(LxdPreconditionFailedError);
    const updated = (await lxd.networkAcls.get(name)).value;
    expect([updated.description, updated.ingress.map((r) => r.action), updated.egress, updated.config['user.spec']]).to.deep.equal(['updated', ['allow', 'drop'], [], 'one']);
    // patch merges: the rules and the description left out stay (the servers' own PATCH would empty them)
    await lxd.networkAcls.patch(name, { config: { 'user.spec': 'two' } });
    const patched = (await lxd.networkAcls.get(name)).value;
    expect([patched.description, patched.ingress.map((r) => r.action), patched.config['user.spec']]).to.deep.equal(['updated', ['allow', 'drop'], 'two']);
    const raw = await lxd.query('PATCH', `/1.0/network-acls/${name}`, { body: { config: { 'user.spec': 'three' } } });
    expect(raw.status).to.equal(200);
    const afterRaw = (await lxd.networkAcls.get(name)).value;
    expect([afterRaw.description, afterRaw.ingress, afterRaw.config['user.spec']], 'the server\'s own PATCH').to.deep.equal(['', [], 'three']);
    await lxd.networkAcls.patch(name, { description: 'patched', ingress: [ssh] }, { etag: (await lxd.networkAcls.get(name)).etag });
    expect((await lxd.networkAcls.get(name)).value.ingress).to.have.length(1);
    await lxd.networkAcls.rename(name, `${name}b`);
    expect(await lxd.networkAcls.list({ recursion: 0 })).to.include(`${name}b`).and.not.include(name);
    expect((await lxd.networkAcls.list()).find((a) => a.name === `${name}b`)?.description).to.equal('patched');
    // only OVN networks log; on this host the server says so
    const log = await rejection(lxd.networkAcls.log(`${name}b`));
    expect(log).to.be.instanceOf(LxdApiError);
    expect((log as LxdApiError).lxdMessage).to.match(/OVN/);
    await lxd.networkAcls.delete(`${name}b`);
    expect(await rejection(lxd.networkAcls.get(`${name}b`))).to.be.instanceOf(LxdNotFoundError);
  });

  it('networkZones and records: create, get with its ETag, update, patch, list, delete', async () => {
    const zone = `${run}.example.net`;
    await lxd.networkZones.create({ name: zone, description: 'made by a spec', config: { 'dns.nameservers': 'ns1.example.net' } });
    try {
      const { value, etag } = await lxd.networkZones.get(zone);
      expect([value.name, value.description, value.config['dns.nameservers']]).to.deep.equal([zone, 'made by a spec', 'ns1.example.net']);
      await lxd.networkZones.update(zone, { description: 'updated', config: { ...value.config } }, { etag });
      expect(await rejection(lxd.networkZones.update(zone, { description: 'stale', config: {} }, { etag: etag ?? '"stale"' }))).to.be.instanceOf(LxdPreconditionFailedError);
      await lxd.networkZones.patch(zone, { config: { 'user.spec': 'z' } });
      const patched = (await lxd.networkZones.get(zone)).value;
      expect([patched.description, patched.config['user.spec'], patched.config['dns.nameservers']]).to.deep.equal(['updated', 'z', 'ns1.example.net']);
      await lxd.networkZones.patch(zone, { description: 'patched' });
      expect(await lxd.networkZones.list({ recursion: 0 })).to.include(zone);
      expect((await lxd.networkZones.list()).find((z) => z.name === zone)?.description).to.equal('patched');

      await lxd.networkZones.records.create(zone, { name: 'www', description: 'web', entries: [{ type: 'A', value: '192.0.2.1', ttl: 300 }] });
      const rec = await lxd.networkZones.records.get(zone, 'www');
      expect([rec.value.name, rec.value.description, rec.value.entries]).to.deep.equal(['www', 'web', [{ type: 'A', value: '192.0.2.1', ttl: 300 }]]);
      await lxd.networkZones.records.update(zone, 'www', { description: 'web2', entries: [{ type: 'AAAA', value: '2001:db8::1' }], config: {} }, { etag: rec.etag });
      // the servers' own PATCH merges the zone's config (dns.nameservers) into the record, and refuses it
      const raw = await rejection(lxd.query('PATCH', `/1.0/network-zones/${zone}/records/www`, { body: { config: { 'user.spec': 'r' } } }));
      expect((raw as LxdApiError).lxdMessage).to.match(/dns\.nameservers/);
      await lxd.networkZones.records.patch(zone, 'www', { config: { 'user.spec': 'r' } });
      await lxd.networkZones.records.patch(zone, 'www', { config: { 'user.other': 's' } });
      const after = (await lxd.networkZones.records.get(zone, 'www')).value;
      expect([after.description, after.entries, after.config]).to.deep.equal(['web2', [{ type: 'AAAA', value: '2001:db8::1' }], { 'user.spec': 'r', 'user.other': 's' }]);
      expect(await lxd.networkZones.records.list(zone, { recursion: 0 })).to.deep.equal(['www']);
      expect((await lxd.networkZones.records.list(zone)).map((r) => r.name)).to.deep.equal(['www']);
      await lxd.networkZones.records.delete(zone, 'www');
      expect(await lxd.networkZones.records.list(zone, { recursion: 0 })).to.deep.equal([]);
      expect(await rejection(lxd.networkZones.records.get(zone, 'www'))).to.be.instanceOf(LxdNotFoundError);
    } finally {
      await lxd.networkZones.delete(zone);
    }
    expect(await lxd.networkZones.list({ recursion: 0 })).to.not.include(zone);
  });

  it('networks.state and leases of the address-less bridge; an unknown network is not found', async () => {
    const state = await lxd.networks.state(server.bridge);
    expect([state.state, state.type, state.addresses]).to.deep.equal(['up', 'broadcast', []]);
    expect(state.mtu).to.be.a('number').and.be.greaterThan(0);
    expect(state.bridge).to.be.an('object');
    expect(await lxd.networks.leases(server.bridge)).to.deep.equal([]);
    expect(await rejection(lxd.networks.state(`${PREFIX}none`.slice(0, 15)))).to.be.instanceOf(LxdNotFoundError);
  });

  it('networkAllocations.list: Incus lists them; LXD 5.0.2 lacks network_allocations', async () => {
    if (server.kind === 'lxd') {
      expect(await rejection(lxd.networkAllocations.list())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_allocations');
      return;
    }
    const mine = await lxd.networkAllocations.list();
    const all = await lxd.networkAllocations.list({ allProjects: true });
    expect(mine).to.be.an('array');
    expect(all.length).to.be.at.least(mine.length);
    for (const a of all) expect(a.type).to.be.a('string');
  });

  it('networkForwards, networkLoadBalancers and networkPeers on a bridge without addresses', async () => {
    // forwards: none, and an unknown one is not found
    expect(await lxd.networkForwards.list(server.bridge)).to.deep.equal([]);
    expect(await lxd.networkForwards.list(server.bridge, { recursion: 0 })).to.deep.equal([]);
    expect(await rejection(lxd.networkForwards.get(server.bridge, '192.0.2.10'))).to.be.instanceOf(LxdNotFoundError);
    // peers: a bridge cannot peer (only OVN networks can)
    const peers = await rejection(lxd.networkPeers.list(server.bridge));
    expect(peers).to.be.instanceOf(LxdApiError);
    expect((peers as LxdApiError).lxdMessage).to.match(/does not support peering/);
    // load balancers: Incus's bridge has none; LXD 5.0.2 lacks the extension
    const lbs = await rejection(lxd.networkLoadBalancers.list(server.bridge));
    if (server.kind === 'lxd') expect(lbs).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_load_balancer');
    else expect((lbs as LxdApiError).lxdMessage).to.match(/does not support load balancers/);
  });

  it('networkIntegrations (Incus): create, get, update, patch, rename, list, delete; LXD 5.0.2 lacks network_integrations', async () => {
    const name = `${run}-ic`;
    if (server.kind === 'lxd') {
      expect(await rejection(lxd.networkIntegrations.list())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'network_integrations');
      expect(await rejection(lxd.networkIntegrations.create({ name, type: 'ovn' }))).to.be.instanceOf(LxdExtensionMissingError);
      return;
    }
    // stored without contacting OVN (no connection is configured)
    await lxd.networkIntegrations.create({ name, type: 'ovn', description: 'made by a spec' });
    const { value, etag } = await lxd.networkIntegrations.get(name);
    expect([value.name, value.type, value.description, value.used_by]).to.deep.equal([name, 'ovn', 'made by a spec', []]);
    await lxd.networkIntegrations.update(name, { description: 'updated', config: {} }, { etag });
    await lxd.networkIntegrations.patch(name, { config: { 'user.spec': 'i' } });
    expect((await lxd.networkIntegrations.get(name)).value).to.deep.include({ description: 'updated', config: { 'user.spec': 'i' } });
    await lxd.networkIntegrations.rename(name, `${name}b`);
    expect(await lxd.networkIntegrations.list({ recursion: 0 })).to.include(`${name}b`).and.not.include(name);
    expect((await lxd.networkIntegrations.list()).find((i) => i.name === `${name}b`)?.type).to.equal('ovn');
    await lxd.networkIntegrations.delete(`${name}b`);
    expect(await lxd.networkIntegrations.list({ recursion: 0 })).to.not.include(`${name}b`);
  });
});
