/**
 * Prepares the local LXD daemon for lxdkit's specs and demo, through lxdkit's own client:
 * a `dir` storage pool `default`, the root disk in the `default` profile, an address-less bridge,
 * and the busybox test images imported (streamed) with their aliases. Idempotent.
 *
 * Env: LXDKIT_TEST_BRIDGE (lxdkitbr0), LXDKIT_TEST_IMAGE_ALIAS (lxdkit/busybox), LXDKIT_IMAGE_DIR
 * (/var/cache/lxdkit/images).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { LxdClient, isNotFound, type ImageFiles } from '../lib/lxd/index.js';

const bridge = process.env['LXDKIT_TEST_BRIDGE'] ?? 'lxdkitbr0';
const alias = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const imageDir = process.env['LXDKIT_IMAGE_DIR'] ?? '/var/cache/lxdkit/images';

const say = (msg: string): void => console.log(`prepare-lxd: ${msg}`);

async function sha256Of(files: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) for await (const chunk of createReadStream(f)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function ensurePool(lxd: LxdClient): Promise<string> {
  const pools = await lxd.storagePools.list({ recursion: 0 });
  if (pools.includes('default')) return 'default';
  say('creating dir storage pool "default"');
  await lxd.storagePools.create({ name: 'default', driver: 'dir' });
  return 'default';
}

async function ensureRootDisk(lxd: LxdClient, pool: string): Promise<void> {
  const { value: profile, etag } = await lxd.profiles.get('default');
  if (Object.values(profile.devices).some((d) => d['path'] === '/')) return;
  say(`adding the root disk (pool ${pool}) to the default profile`);
  await lxd.profiles.update(
    'default',
    { description: profile.description, config: profile.config, devices: { ...profile.devices, root: { type: 'disk', path: '/', pool } } },
    etag ? { etag } : {},
  );
}

async function ensureBridge(lxd: LxdClient): Promise<void> {
  try {
    const { value: net } = await lxd.networks.get(bridge);
    for (const key of ['ipv4.address', 'ipv6.address']) {
      const v = net.config[key];
      if (v !== undefined && v !== 'none') {
        throw new Error(`bridge ${bridge} has ${key}=${v}; lxdkit's test bridge must have no addresses (set it to none or delete the bridge)`);
      }
    }
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  say(`creating bridge ${bridge} without addresses`);
  await lxd.networks.create({ name: bridge, type: 'bridge', config: { 'ipv4.address': 'none', 'ipv6.address': 'none' } });
}

async function ensureImage(lxd: LxdClient, name: string, files: ImageFiles, fingerprint: string): Promise<void> {
  try {
    await lxd.images.get(fingerprint);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    say(`importing ${name} (${fingerprint.slice(0, 12)})`);
    await lxd.images.import(files, { timeoutMs: 5 * 60_000 });
  }
  await lxd.images.pointAlias(name, fingerprint, true);
  say(`alias ${name} -> ${fingerprint.slice(0, 12)}`);
}

const lxd = new LxdClient({ timeoutMs: 120_000 });
try {
  const pool = await ensurePool(lxd);
  await ensureRootDisk(lxd, pool);
  await ensureBridge(lxd);
  const split = { metadata: join(imageDir, 'busybox-metadata.tar.xz'), rootfs: join(imageDir, 'busybox-rootfs.tar.xz') };
  await ensureImage(lxd, alias, split, await sha256Of([split.metadata, split.rootfs]));
  const unified = join(imageDir, 'busybox-unified.tar.xz');
  await ensureImage(lxd, `${alias}-unified`, { unified }, await sha256Of([unified]));
} catch (err) {
  console.error(`prepare-lxd: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await lxd.close();
}
