import { expect } from 'chai';
import { LxdInitialiser, LxdManagerError } from '../../../lib/container/lxd/index.js';
import { serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { installWorld, type World } from './world.js';
import { rejection } from '../../helpers/rejection.js';

describe('LxdInitialiser (fake LXD)', () => {
  let fake: FakeLxd;
  let world: World;

  beforeEach(async () => {
    fake = await startFakeLxd();
    world = installWorld(fake);
  });
  afterEach(async () => {
    await fake.close();
  });

  const init = (opts: ConstructorParameters<typeof LxdInitialiser>[0] = {}) => new LxdInitialiser({ client: fake.client(), ...opts });
  const defaultProfile = () => world.profiles.get('default')!;

  it("creates Juju's lxdbr0 (ipv4 auto, no IPv6) and adds eth0 to a default profile without a NIC", async () => {
    const i = init();
    await i.initialise();
    const create = fake.requests.find((r) => r.method === 'POST' && r.path === '/1.0/networks');
    expect(create?.body).to.deep.equal({ name: 'lxdbr0', type: 'bridge', config: { 'ipv4.address': 'auto', 'ipv4.nat': 'true', 'ipv6.address': 'none', 'ipv6.nat': 'false' } });
    expect(defaultProfile().devices).to.deep.equal({ root: { type: 'disk', path: '/', pool: 'default' }, eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0' } });
    expect(fake.requests.find((r) => r.method === 'PUT' && r.path === '/1.0/profiles/default')?.headers['if-match']).to.equal('"etag-1"');
    expect(i.localBridgeName).to.equal('lxdbr0');
  });

  it('uses the configured bridge name and config, and the first free ethN', async () => {
    defaultProfile().devices['eth0'] = { type: 'disk', path: '/mnt', source: '/srv' };
    await init({ bridgeName: 'br-test', bridgeConfig: { 'ipv4.address': 'none', 'ipv6.address': 'none' } }).initialise();
    expect(world.networks.get('br-test')?.config).to.deep.equal({ 'ipv4.address': 'none', 'ipv6.address': 'none' });
    expect(defaultProfile().devices['eth1']).to.deep.equal({ type: 'nic', nictype: 'bridged', parent: 'br-test' });
  });

  it('adds a root disk on the default pool, else the first pool, else a new dir pool', async () => {
    defaultProfile().devices = { eth0: { type: 'nic', nictype: 'bridged', parent: 'br0' } };
    world.networks.set('br0', { name: 'br0', type: 'bridge', managed: true, config: { 'ipv6.address': 'none' }, etag: 1 });
    await init().initialise();
    expect(defaultProfile().devices['root']).to.deep.equal({ type: 'disk', path: '/', pool: 'default' });

    delete defaultProfile().devices['root'];
    world.pools = ['fast', 'slow'];
    await init().initialise();
    expect(defaultProfile().devices['root']).to.deep.equal({ type: 'disk', path: '/', pool: 'fast' });

    delete defaultProfile().devices['root'];
    world.pools = [];
    await init().initialise();
    expect(fake.requests.find((r) => r.method === 'POST' && r.path === '/1.0/storage-pools')?.body).to.deep.equal({ name: 'default', driver: 'dir' });
    expect(defaultProfile().devices['root']).to.deep.equal({ type: 'disk', path: '/', pool: 'default' });
    expect(fake.calls().filter((c) => c.startsWith('POST /1.0/networks'))).to.deep.equal([]);
  });

  it('refuses an existing lxdbr0 with IPv6, as Juju does', async () => {
    world.networks.set('lxdbr0', { name: 'lxdbr0', type: 'bridge', managed: true, config: { 'ipv6.address': 'fd42::1/64' }, etag: 1 });
    const err = await rejection(init().initialise());
    expect(err.message).to.equal('ensuring default bridge config: juju does not support IPv6. Disable IPv6 in LXD via:\n\tlxc network set lxdbr0 ipv6.address none\nand run the command again');
    expect(LxdManagerError.is(err)).to.equal(true);
    expect(defaultProfile().devices['eth0']).to.equal(undefined);
  });

  it('accepts a profile NIC on a bridge without IPv6 and reports its bridge', async () => {
    defaultProfile().devices['eth0'] = { type: 'nic', network: 'br0' };
    world.networks.set('br0', { name: 'br0', type: 'bridge', managed: true, config: { 'ipv6.address': 'none' }, etag: 1 });
    const i = init();
    await i.initialise();
    expect(i.localBridgeName).to.equal('br0');
    expect(fake.calls().filter((c) => c.startsWith('PUT'))).to.deep.equal([]);
  });

  it('refuses profile NICs whose networks have IPv6, or that are neither bridged nor macvlan', async () => {
    defaultProfile().devices['eth0'] = { type: 'nic', nictype: 'bridged', parent: 'lxdbr0' };
    world.networks.set('lxdbr0', { name: 'lxdbr0', type: 'bridge', managed: true, config: { 'ipv6.address': 'fd42::1/64' }, etag: 1 });
    expect((await rejection(init().initialise())).message).to.equal(
      'profile "default": juju does not support IPv6. Disable IPv6 in LXD via:\n\tlxc network set lxdbr0 ipv6.address none\nand run the command again',
    );
    defaultProfile().devices['eth0'] = { type: 'nic', nictype: 'p2p', parent: 'veth' };
    world.networks.set('veth', { name: 'veth', type: 'physical', managed: false, config: {}, etag: 1 });
    expect((await rejection(init().initialise())).message).to.equal(
      'profile "default": no network device found with nictype "bridged" or "macvlan"\n\tthe following devices were checked: eth0\nNote: juju does not support IPv6.\nReconfigure lxd to use a network of type "bridged" or "macvlan", disabling IPv6.',
    );
    defaultProfile().devices['eth0'] = { type: 'nic', nictype: 'bridged', parent: 'gone' };
    expect((await rejection(init().initialise())).message).to.equal('profile "default": retrieving network "gone": Network not found');
  });

  it('does not create networking on a cluster member or without the network API', async () => {
    fake.on('GET', '/1.0', () => sync(serverInfo({ clustered: true })));
    expect((await rejection(init().initialise())).message).to.equal('profile "default" does not have any devices configured with type "nic"');
    expect(fake.calls().some((c) => c.includes('/1.0/networks'))).to.equal(false);
  });
});
