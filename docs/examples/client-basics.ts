/**
 * Connect, run an instance's lifecycle through operations, watch events, and handle errors.
 * Run: npx tsx docs/examples/client-basics.ts   (needs a running LXD with the `lxdkit/busybox` image)
 */
import { randomBytes } from 'node:crypto';
import {
  LxdClient,
  LxdConflictError,
  LxdError,
  LxdNotFoundError,
  LxdOperationError,
  LxdPreconditionFailedError,
  instanceWritable,
} from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const name = `lxdkit-example-${randomBytes(3).toString('hex')}`;

// No I/O happens here: the socket is found ($LXD_SOCKET, $LXD_DIR, the snap path, /var/lib/lxd) on first use.
const lxd = new LxdClient({ timeoutMs: 30_000 });

try {
  const { value: server } = await lxd.server.get();
  console.log(`LXD ${server.environment?.server_version}, ${server.api_extensions.length} API extensions`);

  // Subscribe before acting, so no event of ours is missed.
  const events = lxd.events.subscribe({ types: ['lifecycle'] });
  await events.ready;
  events.on('event', (e) => {
    if (e.type === 'lifecycle' && e.metadata.source === `/1.0/instances/${name}`) console.log(`event: ${e.metadata.action}`);
  });

  // Async endpoints return an Operation; wait() resolves on Success and throws LxdOperationError otherwise.
  const create = await lxd.instances.create({ name, source: { type: 'image', alias: image }, profiles: ['default'] });
  await create.wait({ timeoutMs: 120_000, onProgress: (p) => console.log(`progress: ${p.text}`) });
  await (await lxd.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });
  console.log(`state: ${(await lxd.instances.state(name)).value.status}`);

  // Safe read-modify-write: pass the ETag back; a concurrent change makes LXD answer 412.
  const { value: inst, etag } = await lxd.instances.get(name);
  const put = instanceWritable(inst);
  await (await lxd.instances.update(name, { ...put, config: { ...put.config, 'user.note': 'hello' } }, etag ? { etag } : {})).wait();
  try {
    await (await lxd.instances.update(name, { ...put, config: { ...put.config, 'user.note': 'stale' } }, etag ? { etag } : {})).wait();
  } catch (err) {
    if (err instanceof LxdPreconditionFailedError) console.log('stale ETag refused (412), as expected');
    else throw err;
  }

  // A failing operation carries LXD's own text.
  try {
    await (await lxd.instances.setState(name, { action: 'unfreeze' })).wait();
  } catch (err) {
    if (err instanceof LxdOperationError) console.log(`operation failed: ${err.message}`);
    else throw err;
  }

  await (await lxd.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
  await (await lxd.instances.delete(name)).wait();
  events.close();

  // Errors have stable codes.
  try {
    await lxd.instances.get(name);
  } catch (err) {
    if (err instanceof LxdNotFoundError) console.log(`gone: ${err.code} (${err.status})`);
  }
  try {
    await lxd.profiles.create({ name: 'default' });
  } catch (err) {
    if (err instanceof LxdConflictError) console.log(`conflict: ${err.lxdMessage}`);
  }
} catch (err) {
  console.error(LxdError.is(err) ? `${err.code}: ${err.message}` : err);
  process.exitCode = 1;
  // leave nothing behind
  await lxd.instances.setState(name, { action: 'stop', force: true }).then((op) => op.wait()).catch(() => {});
  await lxd.instances.delete(name).then((op) => op.wait()).catch(() => {});
} finally {
  await lxd.close();
}
