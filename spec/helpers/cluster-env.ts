/**
 * The test cluster (scripts/cluster.sh): three LXD 5.0.2 members m1..m3 on this host, each with its own
 * socket. scripts/test.sh brings it up before spec/cluster runs and down afterwards. Outside CI a
 * cluster that is not up skips the suite with a message; in CI (CI=true) it fails.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LxdClient, isNotFound } from '../../lib/lxd/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const MEMBERS = ['m1', 'm2', 'm3'] as const;
export type Member = (typeof MEMBERS)[number];
/** The image and the address-less bridge scripts/cluster.sh gives the cluster. */
export const CLUSTER_IMAGE = process.env['LXDKIT_CLUSTER_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
export const CLUSTER_BRIDGE = process.env['LXDKIT_CLUSTER_BRIDGE'] ?? 'lxdkitcbr0';

/** A member's unix socket, as `scripts/cluster.sh env` says. */
export function memberSocket(m: Member): string {
  return process.env[`LXDKIT_CLUSTER_${m.toUpperCase()}_SOCKET`] ?? `/var/lib/lxdkit-cluster/${m}/unix.socket`;
}

export type Members = Record<Member, LxdClient>;

/**
 * Call in a `before` hook: a client per member, each checked to answer as a member of the cluster.
 * Skips outside CI when the cluster is not up (run `scripts/cluster.sh up`); throws in CI.
 */
export async function requireCluster(ctx: Mocha.Context): Promise<Members> {
  const inCi = Boolean(process.env['CI']);
  const clients: Partial<Members> = {};
  try {
    for (const m of MEMBERS) {
      const socket = memberSocket(m);
      if (!existsSync(socket)) throw new Error(`no socket at ${socket}`);
      const c = new LxdClient({ socketPath: socket });
      clients[m] = c;
      const env = (await c.server.get({ timeoutMs: 15_000 })).value.environment;
      if (env?.server_clustered !== true || env.server_name !== m) throw new Error(`${socket} is not cluster member ${m} (server_name ${env?.server_name}, clustered ${env?.server_clustered})`);
    }
  } catch (err) {
    for (const c of Object.values(clients)) await c.close();
    const why = `the test cluster is not up: ${(err as Error).message}`;
    if (inCi) throw new Error(`CI: ${why}; scripts/test.sh brings it up with scripts/cluster.sh up`);
    console.warn(`    (skipped: ${why}; run scripts/cluster.sh up)`);
    ctx.skip();
  }
  return clients as Members;
}

export async function closeAll(members: Partial<Members> | undefined): Promise<void> {
  for (const c of Object.values(members ?? {})) await c?.close();
}

/** `scripts/cluster.sh <verb>`; rejects with its output when it fails. */
export function clusterScript(verb: 'up' | 'down' | 'status', timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(ROOT, 'scripts', 'cluster.sh'), verb], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/cluster.sh ${verb} failed (${err.message}):\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs one member's daemon: its pid from its own `GET /1.0` (`environment.server_pid`; never by
 * process name, which would find the host's LXD as well), then waits until the process is gone.
 */
export async function killMember(m: Member): Promise<number> {
  const c = new LxdClient({ socketPath: memberSocket(m) });
  let pid: number | undefined;
  try {
    pid = (await c.server.get()).value.environment?.server_pid;
  } finally {
    await c.close();
  }
  if (typeof pid !== 'number' || pid <= 1) throw new Error(`${m}: GET /1.0 gave no server_pid`);
  process.kill(pid, 'SIGKILL');
  for (const until = Date.now() + 10_000; alive(pid); ) {
    if (Date.now() > until) throw new Error(`${m}: pid ${pid} still alive 10 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pid;
}

/** Force-deletes the cluster's instances whose names start with `prefix` (leftovers of a killed run). */
export async function removeClusterLeftovers(client: LxdClient, prefix: string): Promise<void> {
  for (const inst of await client.instances.list()) {
    if (!inst.name.startsWith(prefix)) continue;
    if (inst.status_code !== 102) await (await client.instances.setState(inst.name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
    await (await client.instances.delete(inst.name)).wait({ timeoutMs: 60_000 }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
  for (const a of await client.images.listAliases()) {
    if (a.name.startsWith(prefix) || a.description.startsWith(prefix)) await client.images.deleteAlias(a.name).catch(() => {});
  }
}
