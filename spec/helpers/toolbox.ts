/**
 * Helpers of the toolbox specs (exec, files, snapshots, backups, console): busybox containers with no
 * NIC on either server, started, and removed with everything named after a spec's prefix.
 */
import type { LxdClient } from '../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS } from './lxd-env.js';

const OP = { timeoutMs: 120_000 };

/** Creates a busybox container (no NIC: the default profile has only the root disk) and starts it unless told not to. */
export async function launch(client: LxdClient, name: string, opts: { start?: boolean } = {}): Promise<void> {
  await (await client.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, profiles: ['default'] })).wait(OP);
  if (opts.start !== false) await (await client.instances.setState(name, { action: 'start' })).wait(OP);
}

/** Stops (forced) and deletes an instance if it exists. */
export async function destroy(client: LxdClient, name: string): Promise<void> {
  try {
    const { value } = await client.instances.get(name);
    if (value.status_code !== 102) await (await client.instances.setState(name, { action: 'stop', force: true })).wait(OP);
    await (await client.instances.delete(name)).wait(OP);
  } catch (err) {
    if ((err as { code?: string }).code !== 'LXD_ERR_NOT_FOUND') throw err;
  }
}

/** The processes of a container, as `ps` lines (busybox ps: PID USER TIME COMMAND). */
export async function processes(client: LxdClient, name: string): Promise<string[]> {
  const r = await client.instances.execOutput(name, { command: ['ps'] });
  return r.stdout.toString().split('\n').slice(1).filter(Boolean);
}
