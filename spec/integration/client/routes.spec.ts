/**
 * The declared collections and the endpoints that differ between servers, on the host's real LXD
 * 5.0.2 and Incus 6.0.4. Everything made here is named `lxdkit-rt-…` (networks: `lxdkitrt…`, an
 * interface name has 15 characters at most); bridges never get an address.
 */
import { expect } from 'chai';
import { LxdApiError, LxdClient, LxdPreconditionFailedError, type LxdStorageVolumeState } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-rt-';
const NET_PREFIX = 'lxdkitrt';
/** Bridges made here: no addresses, no DHCP, no NAT. */
const NO_ADDRESSES = { 'ipv4.address': 'none', 'ipv6.address': 'none' };

async function removeRouteLeftovers(lxd: LxdClient, prefix: string, netPrefix: string): Promise<void> {
  await removeLeftovers(lxd, prefix);
  for (const name of await lxd.networks.list({ recursion: 0 })) if (name.startsWith(netPrefix)) await lxd.networks.delete(name);
  for (const pool of await lxd.storagePools.list({ recursion: 0 })) {
    for (const vol of await lxd.storageVolumes.list(pool, { type: 'custom', recursion: 0 })) if (vol.startsWith(prefix)) await (await lxd.storageVolumes.delete(pool, vol)).wait();
  }
  for (const name of await lxd.storagePools.list({ recursion: 0 })) if (name.startsWith(prefix)) await lxd.storagePools.delete(name);
}

describeEachServer('the declared collections and per-server endpoints', (server) => {
  let lxd: LxdClient;
  const run = uniqueSuffix();

  before(async function () {
    lxd = await requireServer(this, server);
    await removeRouteLeftovers(lxd, PREFIX, NET_PREFIX);
  });

  after(async function () {
    if (lxd) {
      await removeRouteLeftovers(lxd, `${PREFIX}${run}`, `${NET_PREFIX}${run}`);
      await lxd.close();
    }
  });

  it('networks: create (no addresses), get with its ETag, update (a stale ETag is refused), patch, rename, list, delete', async () => {
    const name = `${NET_PREFIX}${run}`;
    await lxd.networks.create({ name, type: 'bridge', description: 'made by a spec', config: NO_ADDRESSES });
    const { value, etag } = await lxd.networks.get(name);
    expect(value.config).to.include(NO_ADDRESSES);
    await lxd.networks.update(name, { description: 'updated', config: { ...value.config } }, { etag });
    expect(await lxd.networks.update(name, { description: 'stale', config: { ...value.config } }, { etag }).catch((e: unknown) => e)).to.be.instanceOf(LxdPreconditionFailedError);
    expect((await lxd.networks.get(name)).value.description).to.equal('updated');
    // PATCH merges the config keys given (both servers also reset a description left out)
    await lxd.networks.patch(name, { description: 'patched', config: { 'bridge.mtu': '1400' } });
    const patched = (await lxd.networks.get(name)).value;
    expect([patched.description, patched.config['bridge.mtu'], patched.config['ipv4.address'], patched.config['ipv6.address']]).to.deep.equal(['patched', '1400', 'none', 'none']);
    await lxd.networks.rename(name, `${name}b`);
    expect(await lxd.networks.list({ recursion: 0 })).to.include(`${name}b`).and.not.include(name);
    expect((await lxd.networks.list()).find((n) => n.name === `${name}b`)?.description).to.equal('patched');
    await lxd.networks.delete(`${name}b`);
    expect(await lxd.networks.list({ recursion: 0 })).to.not.include(`${name}b`);
  });

  it('storage pools: create a dir pool, get with its ETag, update, patch, list, delete', async () => {
    const name = `${PREFIX}${run}-pool`;
    await lxd.storagePools.create({ name, driver: 'dir', description: 'made by a spec' });
    try {
      const { value, etag } = await lxd.storagePools.get(name);
      expect([value.driver, value.description]).to.deep.equal(['dir', 'made by a spec']);
      await lxd.storagePools.update(name, { description: 'updated', config: { ...value.config, 'rsync.bwlimit': '10MB' } }, { etag });
      // LXD 5.0.2 sends no ETag for a storage pool (it checks an If-Match it is given); Incus does
      expect(etag === undefined).to.equal(server.kind === 'lxd');
      const stale = await lxd.storagePools.update(name, { description: 'stale', config: { ...value.config } }, { etag: etag ?? '"stale"' }).catch((e: unknown) => e);
      expect(stale).to.be.instanceOf(LxdPreconditionFailedError);
      expect((await lxd.storagePools.get(name)).value.config['rsync.bwlimit']).to.equal('10MB');
      await lxd.storagePools.patch(name, { description: 'patched' });
      expect((await lxd.storagePools.list()).find((p) => p.name === name)?.description).to.equal('patched');
    } finally {
      await lxd.storagePools.delete(name);
    }
    expect(await lxd.storagePools.list({ recursion: 0 })).to.not.include(name);
  });

  it('storage volumes: create, get with its ETag, update (a stale ETag is refused), patch, list, state, copy, rename, move to another pool, delete', async () => {
    const name = `${PREFIX}${run}-vol`;
    const pool2 = `${PREFIX}${run}-p2`;
    const created = await lxd.storageVolumes.create('default', { name, description: 'made by a spec' });
    expect((await created.wait()).status_code).to.equal(200);
    const { value, etag } = await lxd.storageVolumes.get('default', name);
    expect([value.name, value.type, value.description, value.content_type]).to.deep.equal([name, 'custom', 'made by a spec', 'filesystem']);
    expect(etag).to.be.a('string');
    // the volume's ETag covers its config (not its description)
    await (await lxd.storageVolumes.update('default', name, { description: 'updated', config: { ...value.config, 'user.spec': 'one' } }, { etag })).wait();
    expect(await lxd.storageVolumes.update('default', name, { description: 'stale', config: {} }, { etag }).catch((e: unknown) => e)).to.be.instanceOf(LxdPreconditionFailedError);
    await (await lxd.storageVolumes.patch('default', name, { description: 'patched' })).wait();
    expect((await lxd.storageVolumes.get('default', name, { type: 'custom' })).value.description).to.equal('patched');
    expect(await lxd.storageVolumes.list('default', { type: 'custom', recursion: 0 })).to.include(name);
    expect(await lxd.storageVolumes.list('default', { recursion: 0 })).to.include(`custom/${name}`);
    expect((await lxd.storageVolumes.list('default')).find((v) => v.name === name)?.description).to.equal('patched');
    // a dir pool cannot tell: Incus answers a null usage, LXD 5.0.2 an error
    const state = await lxd.storageVolumes.state('default', name).catch((e: unknown) => e);
    if (server.kind === 'lxd') expect(state).to.be.instanceOf(LxdApiError).and.have.property('lxdMessage', 'Not supported');
    else expect((state as LxdStorageVolumeState).usage ?? null).to.equal(null);
    // a copy within the pool, then the copy renamed, then moved to another pool of the server
    await (await lxd.storageVolumes.create('default', { name: `${name}-copy`, source: { type: 'copy', pool: 'default', name } })).wait({ timeoutMs: 60_000 });
    await (await lxd.storageVolumes.rename('default', `${name}-copy`, `${name}-b`)).wait();
    await lxd.storagePools.create({ name: pool2, driver: 'dir' });
    try {
      await (await lxd.storageVolumes.rename('default', `${name}-b`, `${name}-b`, { pool: pool2 })).wait({ timeoutMs: 60_000 });
      expect(await lxd.storageVolumes.list(pool2, { type: 'custom', recursion: 0 })).to.deep.equal([`${name}-b`]);
      expect(await lxd.storageVolumes.list('default', { type: 'custom', recursion: 0 })).to.not.include(`${name}-b`);
      await (await lxd.storageVolumes.delete(pool2, `${name}-b`)).wait();
    } finally {
      await lxd.storagePools.delete(pool2).catch(() => {});
    }
    await (await lxd.storageVolumes.delete('default', name)).wait();
    expect(await lxd.storageVolumes.list('default', { type: 'custom', recursion: 0 })).to.not.include(name);
  });

  it('storage volume snapshots: create with an expiry, list, get, update, rename, restore, delete', async () => {
    const name = `${PREFIX}${run}-snapvol`;
    await (await lxd.storageVolumes.create('default', { name, description: 'before' })).wait();
    try {
      const expiry = new Date(Date.now() + 86_400_000);
      await (await lxd.storageVolumes.snapshots.create('default', name, { name: 's0', expiresAt: expiry })).wait();
      expect(await lxd.storageVolumes.snapshots.list('default', name, { recursion: 0 })).to.deep.equal(['s0']);
      const { value } = await lxd.storageVolumes.snapshots.get('default', name, 's0');
      expect(Math.abs(new Date(value.expires_at!).getTime() - expiry.getTime())).to.be.below(1000);
      await (await lxd.storageVolumes.snapshots.update('default', name, 's0', { description: 'first', expiresAt: null })).wait();
      const updated = (await lxd.storageVolumes.snapshots.list('default', name))[0]!;
      expect([updated.name, updated.description, updated.expires_at ?? '0001-01-01']).to.deep.equal(['s0', 'first', '0001-01-01']);
      await (await lxd.storageVolumes.snapshots.rename('default', name, 's0', 's1')).wait();
      await (await lxd.storageVolumes.patch('default', name, { description: 'after' })).wait();
      await (await lxd.storageVolumes.snapshots.restore('default', name, 's1')).wait();
      await (await lxd.storageVolumes.snapshots.delete('default', name, 's1')).wait();
      expect(await lxd.storageVolumes.snapshots.list('default', name, { recursion: 0 })).to.deep.equal([]);
    } finally {
      await (await lxd.storageVolumes.delete('default', name)).wait();
    }
  });

  it('instances.logs finds the output files of exec where the server keeps them: listed, read and deleted', async () => {
    const name = `${PREFIX}${run}-logs`;
    await (await lxd.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
    await (await lxd.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });
    // before any recorded exec (Incus has no exec-output directory yet, and answers 404 for it)
    expect(await lxd.instances.logs.list(name)).to.include('lxc.log');
    // the raw request, so that nothing of lxdkit's exec deletes the files first
    const res = await lxd.query('POST', `/1.0/instances/${name}/exec`, { body: { command: ['echo', 'recorded'], 'record-output': true, 'wait-for-websocket': false, interactive: false } });
    const done = await res.operation!.wait({ timeoutMs: 60_000 });
    const url = String((done.metadata?.['output'] as Record<string, unknown>)['1']);
    // LXD 5.0 keeps them in logs/, Incus 6.0 in logs/exec-output/
    expect(url).to.match(server.kind === 'incus' ? /\/logs\/exec-output\/exec_[^/]+\.stdout$/ : /\/logs\/exec_[^/]+\.stdout$/);
    const file = url.slice(url.lastIndexOf('/') + 1);
    expect(await lxd.instances.logs.list(name)).to.include(file);
    expect(await lxd.instances.logs.read(name, file)).to.equal('recorded\n');
    await lxd.instances.logs.delete(name, file);
    await lxd.instances.logs.delete(name, file.replace(/stdout$/, 'stderr'));
    const left = await lxd.instances.logs.list(name);
    expect(left.filter((f) => f.startsWith('exec_'))).to.deep.equal([]);
    expect(left).to.include('lxc.log');
  });
});
