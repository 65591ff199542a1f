/**
 * Storage beyond volumes (docs/client.md, "Volume backups, pool resources, buckets"): a custom volume
 * of the `default` pool backed up, its tarball exported to a file and imported as a new volume, a
 * snapshot patched, the pool's free space read, and the buckets of the pool listed where the server
 * has them; the same code on LXD and on Incus. Needs a running LXD and a running Incus
 * (scripts/provision-host.sh starts both, each with a `dir` pool `default`); everything it makes is
 * removed.
 * Run: npx tsx docs/examples/storage-backups.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from 'lxdkit';

const run = randomBytes(3).toString('hex');
const dir = await mkdtemp(join(tmpdir(), 'lxdkit-example-'));

for (const client of [new LxdClient({ server: 'lxd' }), new LxdClient({ server: 'incus' })]) {
  const name = `lxdkit-example-bak-${run}`;
  try {
    await (await client.storageVolumes.create('default', { name, description: 'data' })).wait();
    await (await client.storageVolumes.snapshots.create('default', name, { name: 'before' })).wait();
    await (await client.storageVolumes.snapshots.patch('default', name, 'before', { description: 'first state' })).wait();

    await (await client.storageVolumes.backups.create('default', name, { name: 'nightly', expiresAt: new Date(Date.now() + 86_400_000) })).wait();
    const file = join(dir, `${name}.tar.gz`);
    const { size } = await client.storageVolumes.backups.export('default', name, 'nightly', file);   // streamed to disk
    await (await client.storageVolumes.backups.delete('default', name, 'nightly')).wait();
    await (await client.storageVolumes.importBackup('default', file, { name: `${name}-restored` })).wait();
    console.log(`${await client.serverKind()}: ${size} bytes, restored with snapshots ${await client.storageVolumes.snapshots.list('default', `${name}-restored`, { recursion: 0 })}`);

    const { space } = await client.storagePools.resources('default');
    console.log(`pool default: ${Math.round(space.used / 2 ** 30)} of ${Math.round(space.total / 2 ** 30)} GiB used`);
    if (await client.server.hasExtension('storage_buckets')) console.log(`buckets: ${(await client.storageBuckets.list('default', { recursion: 0 })).length}`);
  } finally {
    for (const v of [`${name}-restored`, name]) await (await client.storageVolumes.delete('default', v)).wait().catch(() => {});
    await client.close();
  }
}
await rm(dir, { recursive: true, force: true });
