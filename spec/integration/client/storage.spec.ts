/**
 * Storage beyond volumes' CRUD on the host's real LXD 5.0.2 and Incus 6.0.4: custom volume backups
 * (made, listed, exported to a file, renamed, deleted, imported as a new volume), snapshot PATCH,
 * pool resources, and what these servers lack (the full-volume answers, buckets on LXD 5.0.2; a
 * bucket on a `dir` pool without MinIO on Incus), each as its typed error. Everything made here is
 * named `lxdkit-spec-storx-…` on the `dir` pool `default`, removed first if left over and at the end.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdApiError, LxdExtensionMissingError, LxdOperationError, type LxdClient } from '../../../lib/lxd/index.js';
import { uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-storx-';
const POOL = 'default';

async function removeStorageLeftovers(lxd: LxdClient, prefix: string): Promise<void> {
  for (const vol of await lxd.storageVolumes.list(POOL, { type: 'custom', recursion: 0 })) {
    if (!vol.startsWith(prefix)) continue;
    for (const b of await lxd.storageVolumes.backups.list(POOL, vol, { recursion: 0 })) await (await lxd.storageVolumes.backups.delete(POOL, vol, b)).wait();
    await (await lxd.storageVolumes.delete(POOL, vol)).wait();
  }
}

describeEachServer('storage: volume backups and import, snapshot PATCH, pool resources, buckets', (server) => {
  let lxd: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    this.timeout(120_000);
    lxd = await requireServer(this, server);
    await removeStorageLeftovers(lxd, PREFIX);
    dir = await mkdtemp(join(tmpdir(), PREFIX));
  });

  after(async function () {
    this.timeout(120_000);
    if (dir) await rm(dir, { recursive: true, force: true });
    if (lxd) {
      await removeStorageLeftovers(lxd, run);
      await lxd.close();
    }
  });

  it('volume backups: create, list, get, export to a file, rename, delete; importBackup makes a new volume with its snapshot', async function () {
    this.timeout(120_000);
    const name = `${run}-vol`;
    const imported = `${run}-imp`;
    await (await lxd.storageVolumes.create(POOL, { name, description: 'backed up', config: { 'user.spec': 'storx' } })).wait();
    await (await lxd.storageVolumes.snapshots.create(POOL, name, { name: 's0' })).wait();
    const expiry = new Date(Date.now() + 3_600_000);
    await (await lxd.storageVolumes.backups.create(POOL, name, { name: 'b0', expiresAt: expiry })).wait({ timeoutMs: 60_000 });
    expect(await lxd.storageVolumes.backups.list(POOL, name, { recursion: 0 })).to.deep.equal(['b0']);
    const [listed] = await lxd.storageVolumes.backups.list(POOL, name);
    expect([listed?.name, listed?.volume_only, listed?.optimized_storage]).to.deep.equal(['b0', false, false]);
    const { value } = await lxd.storageVolumes.backups.get(POOL, name, 'b0');
    expect(Math.abs(new Date(value.expires_at!).getTime() - expiry.getTime())).to.be.below(1000);

    const file = join(dir, 'vol.tar.gz');
    const { size } = await lxd.storageVolumes.backups.export(POOL, name, 'b0', file);
    expect((await stat(file)).size).to.equal(size);
    expect((await readFile(file)).subarray(0, 2)).to.deep.equal(Buffer.from([0x1f, 0x8b])); // gzip

    await (await lxd.storageVolumes.backups.rename(POOL, name, 'b0', 'b1')).wait();
    expect(await lxd.storageVolumes.backups.list(POOL, name, { recursion: 0 })).to.deep.equal(['b1']);
    await (await lxd.storageVolumes.backups.delete(POOL, name, 'b1')).wait();
    expect(await lxd.storageVolumes.backups.list(POOL, name, { recursion: 0 })).to.deep.equal([]);

    await (await lxd.storageVolumes.importBackup(POOL, file, { name: imported })).wait({ timeoutMs: 60_000 });
    const vol = (await lxd.storageVolumes.get(POOL, imported)).value;
    expect([vol.name, vol.description, vol.config['user.spec']]).to.deep.equal([imported, 'backed up', 'storx']);
    expect(await lxd.storageVolumes.snapshots.list(POOL, imported, { recursion: 0 })).to.deep.equal(['s0']);
    // a name that is taken fails the import's operation, and leaves the volume as it was
    const again = await lxd.storageVolumes.importBackup(POOL, file, { name: imported }).then((op) => op.wait({ timeoutMs: 60_000 })).catch((e: unknown) => e);
    expect(again).to.be.instanceOf(LxdOperationError);
    expect((await lxd.storageVolumes.get(POOL, imported)).value.description).to.equal('backed up');
  });

  it('export refuses a target that cannot be written before any request, and a missing backup leaves no file', async function () {
    this.timeout(60_000);
    const name = `${run}-exp`;
    await (await lxd.storageVolumes.create(POOL, { name })).wait();
    expect(await lxd.storageVolumes.backups.export(POOL, name, 'b0', dir).catch((e: unknown) => e)).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
    const missing = await lxd.storageVolumes.backups.export(POOL, name, 'nope', join(dir, 'nope.tar.gz')).catch((e: unknown) => e);
    expect(missing).to.have.property('code', 'LXD_ERR_NOT_FOUND');
    await stat(join(dir, 'nope.tar.gz')).then(
      () => expect.fail('a failed export left its file'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
  });

  it('volume snapshots: PATCH changes the description and keeps the expiry', async () => {
    const name = `${run}-snap`;
    await (await lxd.storageVolumes.create(POOL, { name })).wait();
    const expiry = new Date(Date.now() + 86_400_000);
    await (await lxd.storageVolumes.snapshots.create(POOL, name, { name: 's0', expiresAt: expiry })).wait();
    await (await lxd.storageVolumes.snapshots.patch(POOL, name, 's0', { description: 'patched' })).wait();
    const snap = (await lxd.storageVolumes.snapshots.get(POOL, name, 's0')).value;
    expect(snap.description).to.equal('patched');
    expect(Math.abs(new Date(snap.expires_at!).getTime() - expiry.getTime())).to.be.below(1000);
  });

  it('storagePools.resources: the space and inodes of the pool', async () => {
    const res = await lxd.storagePools.resources(POOL);
    expect(res.space.total).to.be.above(0);
    expect(res.space.used).to.be.at.most(res.space.total);
    expect(res.inodes?.total ?? 1).to.be.above(0);
    // both servers answer a missing pool's resources with a 500 "Storage pool not found"
    expect(await lxd.storagePools.resources(`${run}-no-pool`).catch((e: unknown) => e)).to.be.instanceOf(LxdApiError).and.have.property('lxdMessage').that.matches(/not found/i);
  });

  it('what this server lacks is its typed error: the full-volume answers, a volume\'s files, buckets (LXD 5.0.2), a bucket without MinIO (Incus)', async () => {
    const volumes = lxd.storageVolumes;
    for (const call of [() => volumes.get(POOL, 'any', { recursion: 1 }), () => volumes.list(POOL, { type: 'custom', recursion: 2 })]) {
      expect(await call().catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'storage_volume_full');
    }
    // the files of a custom volume are Incus ≥ 6.0.5's (custom_volume_sftp): neither server here has them
    const files = lxd.storageVolumes.files;
    expect(await files.list(POOL, 'any', '/').catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'custom_volume_sftp');
    const buckets = lxd.storageBuckets;
    if (server.kind === 'lxd') {
      expect(await buckets.list(POOL).catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'storage_buckets');
      expect(await buckets.backups.list(POOL, 'lxdkit-spec-storx-b').catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'storage_bucket_backup');
      return;
    }
    expect((await lxd.storageBuckets.list(POOL, { recursion: 0 })).filter((b) => b.startsWith(PREFIX))).to.deep.equal([]);
    const bucket = `${run}-b`.toLowerCase();
    const refused = await buckets.create(POOL, { name: bucket }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(LxdApiError).and.have.property('lxdMessage').that.matches(/MinIO/);
    expect(await buckets.get(POOL, bucket).catch((e: unknown) => e)).to.have.property('code', 'LXD_ERR_NOT_FOUND');
    expect(await buckets.get(POOL, bucket, { recursion: 1 }).catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'storage_bucket_full');
  });
});
