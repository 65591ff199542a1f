/**
 * Helpers of the toolbox specs (exec, files, snapshots, backups, console): busybox containers with no
 * NIC on either server, started, and removed with everything named after a spec's prefix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LxdClient } from '../../lib/lxd/index.js';
import { removeLeftovers, TEST_IMAGE_ALIAS, uniqueSuffix } from './lxd-env.js';
import { requireServer, type TestServer } from './servers.js';

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

/** What `useContainer` made: read them in hooks or specs, once its `before` has run. */
export interface SpecContainer {
  /** The client of the server (closed after the suite). */
  readonly lxd: LxdClient;
  /** A temporary directory of the suite (only with `tempDir`; removed after). */
  readonly dir: string;
  /** This run's prefix: `<prefix><unique suffix>`. */
  readonly run: string;
  /** The started busybox container: `<run>-a`. */
  readonly name: string;
}

/**
 * Registers the hooks of a toolbox suite: before it, the client of `server`, leftovers of `prefix`
 * removed, a started busybox container `<run>-a` and (with `tempDir`) a temporary directory; after
 * it, all of them removed and the client closed.
 */
export function useContainer(server: TestServer, prefix: string, opts: { tempDir?: boolean } = {}): SpecContainer {
  const run = `${prefix}${uniqueSuffix()}`;
  const made: { lxd?: LxdClient; dir?: string } = {};
  before(async function () {
    made.lxd = await requireServer(this, server);
    await removeLeftovers(made.lxd, prefix);
    await launch(made.lxd, `${run}-a`);
    if (opts.tempDir) made.dir = await mkdtemp(join(tmpdir(), `${run}-`));
  });
  after(async function () {
    if (made.dir) await rm(made.dir, { recursive: true, force: true });
    if (!made.lxd) return;
    await removeLeftovers(made.lxd, run);
    await made.lxd.close();
  });
  return {
    get lxd(): LxdClient {
      if (!made.lxd) throw new Error('useContainer: the suite has not started');
      return made.lxd;
    },
    get dir(): string {
      if (made.dir === undefined) throw new Error('useContainer: no tempDir asked for, or the suite has not started');
      return made.dir;
    },
    run,
    name: `${run}-a`,
  };
}
