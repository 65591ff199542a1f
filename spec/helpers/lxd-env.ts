/**
 * Integration-spec helpers: the real LXD daemon, unique names, leftover clean-up.
 * Outside CI a missing daemon skips the suite with a message; in CI (CI=true) it fails.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LxdClient, resolveSocketPath } from '../../lib/lxd/index.js';

export const TEST_IMAGE_ALIAS = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
export const TEST_BRIDGE = process.env['LXDKIT_TEST_BRIDGE'] ?? 'lxdkitbr0';
export const IMAGE_DIR = process.env['LXDKIT_IMAGE_DIR'] ?? '/var/cache/lxdkit/images';

/** A short random suffix for unique names. */
export function uniqueSuffix(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Call in a `before` hook: skips the suite outside CI when there is no LXD socket; in CI a missing
 * daemon throws (integration specs never skip there).
 */
export async function requireLxd(ctx: Mocha.Context): Promise<LxdClient> {
  const socket = resolveSocketPath();
  const inCi = Boolean(process.env['CI']);
  if (!existsSync(socket)) {
    if (inCi) throw new Error(`CI: the LXD socket ${socket} is missing; .ci/run must start the daemon`);
    console.warn(`    (skipped: no LXD socket at ${socket}; run scripts/provision-host.sh)`);
    ctx.skip();
  }
  const client = new LxdClient();
  try {
    await client.server.get();
  } catch (err) {
    if (inCi) throw err;
    console.warn(`    (skipped: LXD at ${socket} does not answer: ${(err as Error).message})`);
    ctx.skip();
  }
  return client;
}

/** Deletes instances and profiles whose names start with `prefix` (leftovers of a killed run). */
export async function removeLeftovers(client: LxdClient, prefix: string): Promise<void> {
  for (const inst of await client.instances.list()) {
    if (!inst.name.startsWith(prefix)) continue;
    if (inst.status_code !== 102) await (await client.instances.setState(inst.name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
    await (await client.instances.delete(inst.name)).wait({ timeoutMs: 60_000 });
  }
  for (const name of await client.profiles.list({ recursion: 0 })) {
    if (name.startsWith(prefix)) await client.profiles.delete(name);
  }
  // images a spec imported: an alias or the description carries the prefix
  for (const image of await client.images.list()) {
    if (!image.aliases.some((a) => a.name.startsWith(prefix)) && !(image.properties['description'] ?? '').startsWith(prefix)) continue;
    await (await client.images.delete(image.fingerprint)).wait({ timeoutMs: 60_000 });
  }
}

/**
 * Deletes what a manager spec may have left: containers named with `prefix`, containers of any model
 * whose UUID starts with `modelMark` (a spec's own mark), and image aliases whose description starts
 * with `prefix`.
 */
export async function removeModelLeftovers(client: LxdClient, modelMark: string, prefix: string): Promise<void> {
  for (const inst of await client.instances.list()) {
    const mine = inst.name.startsWith(prefix) || (inst.name.startsWith('juju-') && (inst.config['user.juju-model'] ?? '').startsWith(modelMark));
    if (!mine) continue;
    if (inst.status_code !== 102) await (await client.instances.setState(inst.name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
    await (await client.instances.delete(inst.name)).wait({ timeoutMs: 60_000 }).catch(() => {});
  }
  for (const a of await client.images.listAliases()) {
    if (a.description.startsWith(prefix)) await client.images.deleteAlias(a.name).catch(() => {});
  }
}
