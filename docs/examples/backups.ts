/**
 * Backups (docs/backups.md): export an instance to a tarball, import it as a new instance, and the
 * backup collection itself.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/backups.ts
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LxdClient } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const run = randomBytes(3).toString('hex');
const name = `lxdkit-example-bk-${run}`;
const copy = `lxdkit-example-bk-${run}-copy`;
const lxd = new LxdClient();
const dir = await mkdtemp(join(tmpdir(), 'lxdkit-example-backups-'));

try {
  await (await lxd.instances.create({ name, source: { type: 'image', alias: image } })).wait({ timeoutMs: 120_000 });
  await lxd.instances.files.push(name, '/root/data.txt', 'worth keeping\n');

  // `lxc export`: LXD makes the tarball, lxdkit streams it to the file, the backup is deleted from the server.
  const file = join(dir, `${name}.tar.gz`);
  const { size } = await lxd.instances.backups.export(name, file, {
    instanceOnly: true,
    onProgress: (p) => console.log(p.text),                       // LXD making it
    onDownloadProgress: (p) => console.log(`${p.bytes}/${p.totalBytes}`),
  });
  console.log(`exported ${size} bytes`);

  // `lxc import`: the tarball streamed from disk into a new instance.
  const op = await lxd.instances.createFromBackup(file, { name: copy, pool: 'default' });
  await op.wait({ timeoutMs: 300_000 });
  const restored = await lxd.instances.files.pull(copy, '/root/data.txt');
  for await (const chunk of restored.body) process.stdout.write(chunk as Buffer); // worth keeping

  // The collection: backups kept on the server, downloaded as a stream.
  await (await lxd.instances.backups.create(name, { name: 'nightly', instanceOnly: true, compressionAlgorithm: 'none' })).wait();
  console.log((await lxd.instances.backups.list(name)).map((b) => b.name)); // [ 'nightly' ]
  const { body } = await lxd.instances.backups.download(name, 'nightly');
  await pipeline(body, createWriteStream(join(dir, 'nightly.tar')));
  await (await lxd.instances.backups.delete(name, 'nightly')).wait();
} finally {
  await rm(dir, { recursive: true, force: true });
  for (const n of [copy, name]) await lxd.instances.delete(n).then((o) => o.wait()).catch(() => {});
  await lxd.close();
}
