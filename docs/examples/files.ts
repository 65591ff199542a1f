/**
 * Files in an instance (docs/files.md): push and pull streamed, metadata, directories, symlinks,
 * trees, and NOT_FOUND.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/files.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isNotFound, LxdClient } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const name = `lxdkit-example-files-${randomBytes(3).toString('hex')}`;
const lxd = new LxdClient();
const dir = await mkdtemp(join(tmpdir(), 'lxdkit-example-files-'));

try {
  await (await lxd.instances.create({ name, source: { type: 'image', alias: image } })).wait({ timeoutMs: 120_000 });
  const files = lxd.instances.files;

  // Push: a local file streamed from disk (its mode unless given), or data: a string, bytes, a stream.
  await writeFile(join(dir, 'app.conf'), 'listen 8080\n');
  await files.pushFile(name, join(dir, 'app.conf'), '/etc/app.conf', { mode: 0o640, uid: 0, gid: 0, onProgress: (p) => console.log(`${p.bytes}/${p.totalBytes}`) });
  await files.push(name, '/etc/motd', 'welcome\n');
  await files.push(name, '/tmp/app.log', Readable.from(['line 1\n', 'line 2\n']));
  await files.push(name, '/tmp/app.log', 'line 3\n', { write: 'append' });

  // Pull: into a local file (renamed into place when complete), or as a stream with the metadata.
  const info = await files.pullFile(name, '/etc/app.conf', join(dir, 'app.back'));
  console.log(info, await readFile(join(dir, 'app.back'), 'utf8')); // { type: 'file', uid: 0, gid: 0, mode: 416, size: 12 }
  const motd = await files.pull(name, '/etc/motd');
  for await (const chunk of motd.body) process.stdout.write(chunk as Buffer);

  // Metadata, directories, symlinks.
  console.log(await files.stat(name, '/etc/app.conf'));          // { type: 'file', uid: 0, gid: 0, mode: 416 }
  await files.mkdir(name, '/srv/app/data', { parents: true, mode: 0o750 });
  await files.symlink(name, '/srv/app/current', '/srv/app/data');
  console.log((await files.list(name, '/srv/app')).sort());       // [ 'current', 'data' ]

  // Trees: a local directory pushed, pulled back, deleted.
  await mkdir(join(dir, 'site', 'css'), { recursive: true });
  await writeFile(join(dir, 'site', 'index.html'), '<h1>hi</h1>\n');
  await writeFile(join(dir, 'site', 'css', 'main.css'), 'h1 { color: red }\n');
  console.log(await files.pushRecursive(name, join(dir, 'site'), '/srv/site'));     // { files: 2, directories: 2, symlinks: 0, bytes: 30 }
  console.log(await files.pullRecursive(name, '/srv/site', join(dir, 'site-back')));
  await files.delete(name, '/srv/site', { recursive: true });

  // A missing path is LxdNotFoundError (LXD_ERR_NOT_FOUND); a bad one is refused before any request.
  await files.pull(name, '/no/such/file').catch((err: unknown) => console.log(isNotFound(err) ? `not found: ${(err as Error).message}` : err));
  await files.pull(name, 'relative/path').catch((err: unknown) => console.log((err as Error).message));
} finally {
  await rm(dir, { recursive: true, force: true });
  await lxd.instances.delete(name).then((op) => op.wait()).catch(() => {});
  await lxd.close();
}
