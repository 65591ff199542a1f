/**
 * Migration between the host's LXD 5.0.2 and the 3-member test cluster (scripts/cluster.sh), in all
 * three modes (pull, push, relay), for a stopped container and a custom volume, copy and move; an abort
 * mid-transfer leaves nothing on the target; a failure (the name taken on the target) leaves the source
 * and the target's own instance as they were. The host's pool is `default`, the cluster's `local`: every
 * copy lands in the pool of the cluster's default profile (the fallback `lxc copy` makes).
 *
 * The cluster reaches the host's LXD over its HTTPS listener: a `core.https_address` already on
 * 127.0.0.1 is used as it is; otherwise it is set to 127.0.0.1:<free port> and emptied afterwards. Each
 * side trusts the other's certificate for the run (added here, removed afterwards). Everything is named
 * `lxdkit-spec-mig-<run>-…` and removed; leftovers of the prefix are removed first.
 */
import { expect } from 'chai';
import { LxdClient, LxdValidationError, isNotFound, type MigrationMode, type MigrationProgress } from '../../lib/lxd/index.js';
import { requireLxd, uniqueSuffix, TEST_IMAGE_ALIAS } from '../helpers/lxd-env.js';
import { closeAll, removeClusterLeftovers, requireCluster, type Members } from '../helpers/cluster-env.js';
import { freePort } from '../helpers/tls-test.js';

const PREFIX = 'lxdkit-spec-mig-';
const HOST_POOL = 'default';
const CLUSTER_POOL = 'local';


async function removeVolumes(c: LxdClient, prefix: string): Promise<void> {
  for (const pool of await c.storagePools.list({ recursion: 0 })) {
    for (const v of await c.storageVolumes.list(pool, { type: 'custom' })) {
      if (v.name.startsWith(prefix)) await (await c.storageVolumes.delete(pool, v.name, v.location && v.location !== 'none' ? { target: v.location } : {})).wait({ timeoutMs: 60_000 }).catch(() => {});
    }
  }
}

async function removeHostLeftovers(c: LxdClient, prefix: string): Promise<void> {
  for (const inst of await c.instances.list()) {
    if (!inst.name.startsWith(prefix)) continue;
    if (inst.status_code !== 102) await (await c.instances.setState(inst.name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
    await (await c.instances.delete(inst.name)).wait({ timeoutMs: 60_000 });
  }
  await removeVolumes(c, prefix);
}

async function instanceExists(c: LxdClient, name: string): Promise<boolean> {
  try {
    await c.instances.get(name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function volumeExists(c: LxdClient, pool: string, name: string): Promise<boolean> {
  try {
    await c.storageVolumes.get(pool, name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

describe('cluster: migration between the host LXD and the test cluster', function () {
  this.timeout(300_000);
  let members: Members | undefined;
  let host: LxdClient | undefined;
  let cluster: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}-`;
  let restoreHttps = false;
  const trusted: { client: LxdClient; fingerprint: string }[] = [];

  before(async function () {
    members = await requireCluster(this);
    cluster = members.m1;
    host = await requireLxd(this);
    await removeHostLeftovers(host, PREFIX);
    await removeClusterLeftovers(cluster, PREFIX);
    await removeVolumes(cluster, PREFIX);
    for (const c of [host, cluster]) {
      for (const cert of await c.certificates.list()) if (cert.name.startsWith(PREFIX)) await c.certificates.delete(cert.fingerprint);
    }
    const addr = String((await host.server.get()).value.config['core.https_address'] ?? '');
    if (!/^127\.0\.0\.1:\d+$/.test(addr)) {
      if (addr !== '') throw new Error(`the host LXD listens on ${addr}, not on 127.0.0.1: leaving it alone`);
      await host.server.patch({ config: { 'core.https_address': `127.0.0.1:${await freePort()}` } });
      restoreHttps = true;
    }
    // each side trusts the other's server certificate
    const hostEnv = (await host.server.get()).value.environment;
    const clusterEnv = (await cluster.server.get()).value.environment;
    for (const [c, cert, fp] of [
      [cluster, hostEnv?.certificate, hostEnv?.certificate_fingerprint],
      [host, clusterEnv?.certificate, clusterEnv?.certificate_fingerprint],
    ] as const) {
      if (!cert || !fp) throw new Error('GET /1.0 gave no certificate');
      if ((await c.certificates.list()).some((x) => x.fingerprint === fp)) continue;
      await c.certificates.add({ certificate: cert, name: `${run}peer`, type: 'client' });
      trusted.push({ client: c, fingerprint: fp });
    }
  });

  after(async function () {
    if (host) {
      await removeHostLeftovers(host, run).catch(() => {});
      for (const t of trusted) await t.client.certificates.delete(t.fingerprint).catch(() => {});
      if (restoreHttps) await host.server.patch({ config: { 'core.https_address': '' } });
      await host.close();
    }
    if (members) {
      await removeClusterLeftovers(members.m1, run).catch(() => {});
      await removeVolumes(members.m1, run).catch(() => {});
    }
    await closeAll(members);
  });

  /** A stopped container on the host, with a local root disk on the host's pool and a file in it. */
  async function sourceContainer(name: string, content: string): Promise<void> {
    await (await host!.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, profiles: ['default'], devices: { root: { type: 'disk', path: '/', pool: HOST_POOL } } })).wait({ timeoutMs: 120_000 });
    await host!.instances.files.push(name, '/root/migrated.txt', Buffer.from(content));
  }

  async function readFile(c: LxdClient, name: string): Promise<string> {
    const chunks: Buffer[] = [];
    const { body: stream } = await c.instances.files.pull(name, '/root/migrated.txt');
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).toString();
  }

  for (const mode of ['pull', 'push', 'relay'] as MigrationMode[]) {
    describe(`mode ${mode}`, () => {
      it('copies a stopped container: the copy is in the cluster\'s pool with the same files, the source stays', async () => {
        const src = `${run}c-${mode}`;
        const dst = `${run}c-${mode}-copy`;
        await sourceContainer(src, `hello ${mode}`);
        const progress: MigrationProgress[] = [];
        const result = await host!.instances.migrate(src, { to: cluster, mode, newName: dst, onProgress: (p) => progress.push(p) });
        expect(result).to.include({ name: dst, pool: CLUSTER_POOL, mode, moved: false });
        const copy = (await cluster.instances.get(dst)).value;
        expect(copy.devices['root']).to.deep.include({ type: 'disk', path: '/', pool: CLUSTER_POOL });
        expect(copy.location).to.be.oneOf(['m1', 'm2', 'm3']);
        expect(await readFile(cluster, dst)).to.equal(`hello ${mode}`);
        expect(await instanceExists(host!, src)).to.equal(true);
        for (const p of progress) expect(Object.keys(p.metadata)).to.not.include.members(['control', 'fs']);
      });

      it('moves a stopped container: the source is gone once the copy is there', async () => {
        const src = `${run}m-${mode}`;
        await sourceContainer(src, `moved ${mode}`);
        const result = await host!.instances.migrate(src, { to: cluster, mode, move: true });
        expect(result).to.include({ name: src, moved: true });
        expect(await readFile(cluster, src)).to.equal(`moved ${mode}`);
        expect(await instanceExists(host!, src)).to.equal(false);
      });

      it('copies and moves a custom volume into the cluster\'s pool', async () => {
        const vol = `${run}v-${mode}`;
        await (await host!.storageVolumes.create(HOST_POOL, { name: vol, description: `${run} volume`, config: {} })).wait();
        const copied = await host!.storageVolumes.migrate(HOST_POOL, vol, { to: cluster, mode, newName: `${vol}-copy` });
        expect(copied).to.include({ name: `${vol}-copy`, pool: CLUSTER_POOL, moved: false });
        expect((await cluster.storageVolumes.get(CLUSTER_POOL, `${vol}-copy`)).value.description).to.equal(`${run} volume`);
        expect(await volumeExists(host!, HOST_POOL, vol)).to.equal(true);
        const moved = await host!.storageVolumes.migrate(HOST_POOL, vol, { to: cluster, mode, move: true });
        expect(moved).to.include({ name: vol, pool: CLUSTER_POOL, moved: true });
        expect(await volumeExists(cluster, CLUSTER_POOL, vol)).to.equal(true);
        expect(await volumeExists(host!, HOST_POOL, vol)).to.equal(false);
      });
    });
  }

  it('a name taken on the target: the migration fails, the target\'s own instance and the source stay as they were', async () => {
    const src = `${run}taken`;
    await sourceContainer(src, 'source');
    await (await cluster.instances.create({ name: src, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, description: 'the target\'s own' })).wait({ timeoutMs: 120_000 });
    for (const mode of ['pull', 'push', 'relay'] as MigrationMode[]) {
      const err = await host!.instances.migrate(src, { to: cluster, mode, move: true }).then(() => undefined, (e: unknown) => e);
      expect(err, mode).to.be.instanceOf(Error);
      expect((await cluster.instances.get(src)).value.description, mode).to.equal('the target\'s own');
      expect(await readFile(host!, src), mode).to.equal('source');
    }
  });

  for (const mode of ['relay', 'push', 'pull'] as MigrationMode[]) {
    it(`an abort mid-transfer (${mode}) leaves nothing on the target and the source volume as it was`, async () => {
      const vol = `${run}abort-${mode}`;
      await (await host!.storageVolumes.create(HOST_POOL, { name: vol, content_type: 'block', config: { size: '512MiB' } })).wait();
      const ac = new AbortController();
      let started = 0;
      const timer = setTimeout(() => ac.abort(new Error('aborted by the spec')), 1_500);
      const err = await host!.storageVolumes
        .migrate(HOST_POOL, vol, { to: cluster, mode, signal: ac.signal, onProgress: () => void started++ })
        .then(() => undefined, (e: unknown) => e)
        .finally(() => clearTimeout(timer));
      expect(err, 'the migration finished before the abort: make the volume bigger').to.be.instanceOf(Error);
      expect((err as Error).message).to.match(/aborted by the spec/);
      expect(await volumeExists(cluster, CLUSTER_POOL, vol)).to.equal(false);
      expect((await host!.storageVolumes.get(HOST_POOL, vol)).value.content_type).to.equal('block');
    });
  }

  it('live: LXD 5.0.2 refuses a live migration of a running container; nothing is left on the target, the source still runs', async () => {
    const src = `${run}live`;
    await sourceContainer(src, 'live');
    await (await host!.instances.setState(src, { action: 'start' })).wait({ timeoutMs: 60_000 });
    try {
      const err = await host!.instances.migrate(src, { to: cluster, mode: 'relay', live: true, move: true }).then(() => undefined, (e: unknown) => e as Error);
      expect(err).to.be.instanceOf(Error);
      expect(err!.message).to.match(/criu|live|migrat/i);
      expect(await instanceExists(cluster, src)).to.equal(false);
      expect((await host!.instances.state(src)).value.status).to.equal('Running');
    } finally {
      await (await host!.instances.setState(src, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
    }
  });

  it('refuses bad input before any request', async () => {
    for (const [opts, field] of [
      [{ to: {} }, 'to'],
      [{ to: cluster, mode: 'teleport' }, 'mode'],
      [{ to: cluster, newName: 'bad name' }, 'newName'],
      [{ to: cluster, move: 'yes' }, 'move'],
    ] as const) {
      const err = await host!.instances.migrate('c1', opts as never).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(LxdValidationError);
      expect((err as LxdValidationError).field).to.equal(field);
    }
  });
});
