/**
 * Storage volumes (docs/client.md, "Storage volumes"): a custom volume in the `default` pool, read
 * with its ETag, updated, copied, snapshotted and restored, then removed; the same code on LXD and
 * on Incus. Needs a running LXD and a running Incus (scripts/provision-host.sh starts both, each with
 * a `dir` pool `default`); everything it makes is removed.
 * Run: npx tsx docs/examples/storage-volumes.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient } from 'lxdkit';

const run = randomBytes(3).toString('hex');

for (const client of [new LxdClient({ server: 'lxd' }), new LxdClient({ server: 'incus' })]) {
  const name = `lxdkit-example-vol-${run}`;
  try {
    await (await client.storageVolumes.create('default', { name, description: 'data' })).wait();
    const { value, etag } = await client.storageVolumes.get('default', name);     // type: 'custom' by default
    await (await client.storageVolumes.update('default', name, { description: 'app data', config: { ...value.config, 'user.owner': 'web' } }, { etag })).wait();
    await (await client.storageVolumes.create('default', { name: `${name}-copy`, source: { type: 'copy', pool: 'default', name } })).wait();
    console.log(`${await client.serverKind()}: ${(await client.storageVolumes.list('default', { type: 'custom', recursion: 0 })).filter((v) => v.startsWith(name)).join(', ')}`);

    await (await client.storageVolumes.snapshots.create('default', name, { name: 'before', expiresAt: new Date(Date.now() + 3_600_000) })).wait();
    console.log(`snapshots: ${(await client.storageVolumes.snapshots.list('default', name)).map((s) => s.name).join(', ')}`);
    await (await client.storageVolumes.snapshots.restore('default', name, 'before')).wait();
  } finally {
    for (const v of [`${name}-copy`, name]) await (await client.storageVolumes.delete('default', v)).wait().catch(() => {});
    await client.close();
  }
}
