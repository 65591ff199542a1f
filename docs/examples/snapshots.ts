/**
 * Snapshots (docs/snapshots.md): take one before a change, look at them, roll back, clean up.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/snapshots.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const name = `lxdkit-example-snap-${randomBytes(3).toString('hex')}`;
const lxd = new LxdClient();

try {
  await (await lxd.instances.create({ name, source: { type: 'image', alias: image } })).wait({ timeoutMs: 120_000 });
  await lxd.instances.files.push(name, '/etc/app.conf', 'version 1\n');

  // Before a change: a snapshot that LXD deletes by itself in a week.
  const week = new Date(Date.now() + 7 * 24 * 3600_000);
  await (await lxd.instances.snapshots.create(name, { name: 'before-upgrade', expiresAt: week })).wait();
  await lxd.instances.files.push(name, '/etc/app.conf', 'version 2, broken\n');

  for (const s of await lxd.instances.snapshots.list(name)) console.log(s.name, s.created_at, s.expires_at, s.stateful);
  const { value: snap, etag } = await lxd.instances.snapshots.get(name, 'before-upgrade');
  console.log(snap.name, etag !== undefined);

  // Roll back: the instance's files and config as they were.
  await (await lxd.instances.snapshots.restore(name, 'before-upgrade')).wait();
  const conf = await lxd.instances.files.pull(name, '/etc/app.conf');
  for await (const chunk of conf.body) process.stdout.write(chunk as Buffer); // version 1

  // Keep it longer under another name, then drop it.
  await (await lxd.instances.snapshots.rename(name, 'before-upgrade', 'known-good')).wait();
  await (await lxd.instances.snapshots.update(name, 'known-good', { expiresAt: null })).wait(); // never expires
  await (await lxd.instances.snapshots.delete(name, 'known-good')).wait();
  console.log(await lxd.instances.snapshots.names(name)); // []
} finally {
  await lxd.instances.delete(name).then((op) => op.wait()).catch(() => {});
  await lxd.close();
}
