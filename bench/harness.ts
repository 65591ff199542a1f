/**
 * Shared plumbing for the benchmark: statistics, child processes (one per measured run, so CPU and
 * RSS belong to one client only), the raw LXD calls the setup needs, and the bench project.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { LOCAL_ORIGIN, LxdClient, resolveSocketPath } from '../lib/index.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(BENCH_DIR);
export const WORKER = join(BENCH_DIR, 'worker.ts');
export const PYLXD_PEER = join(BENCH_DIR, 'peers', 'pylxd_peer.py');
export const MEASURE = join(BENCH_DIR, 'peers', 'measure.py');
/** Debian's python3-pylxd is installed for the system interpreter. */
export const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';

/** Every name the benchmark creates starts with this (projects, instances, images aliases, temp dirs). */
export const BENCH_PREFIX = 'lxdkit-bench-';

export type Mode = 'full' | 'quick';

export interface BenchContext {
  mode: Mode;
  socketPath: string;
  /** The project every case runs in (created for the run, deleted afterwards). */
  project: string;
  /** The prefix of this mode's projects: leftovers carrying it are removed before a run. */
  modePrefix: string;
  /** A client on the bench project (setup and cleanup only, never measured). */
  client: LxdClient;
  /** The busybox image alias in the default project. */
  imageAlias: string;
  log: (msg: string) => void;
  /** Extra diagnostics for the notes. */
  notes: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function randomId(): string {
  return randomBytes(3).toString('hex');
}

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to completion (no shell), with a deadline. */
export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO_DIR, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lastJson(cmd: string, r: ProcResult): unknown {
  if (r.code !== 0) throw new Error(`${cmd} exited with ${r.code}: ${r.stderr.trim().slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${cmd} printed no JSON result: ${r.stdout.slice(-500)} ${r.stderr.slice(-1500)}`);
  }
}

let bundle: Promise<string> | undefined;

/**
 * bench/worker.ts bundled to plain JavaScript (lxdkit included, npm packages left external), so a
 * worker runs the way a user's compiled program does: no TypeScript loader in its CPU time or RSS.
 */
export function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    const { build } = await import('esbuild');
    const outfile = join(BENCH_DIR, '.work', `worker-${process.pid}.mjs`);
    await build({ entryPoints: [WORKER], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' });
    return outfile;
  })();
  return bundle;
}

export async function removeWorkerBundle(): Promise<void> {
  if (!bundle) return;
  const file = await bundle.catch(() => undefined);
  bundle = undefined;
  if (file) await rm(file, { force: true });
}

/** Runs one task of bench/worker.ts in a fresh Node process and returns its JSON answer. */
export async function worker<T>(task: string, args: Record<string, unknown>, extraNodeArgs: string[] = []): Promise<T> {
  const r = await run(process.execPath, [...extraNodeArgs, await workerBundle(), task, JSON.stringify(args)]);
  return lastJson(`worker ${task}`, r) as T;
}

/** Runs one task of the pylxd peer script and returns its JSON answer. */
export async function pylxd<T>(task: string, args: Record<string, unknown>): Promise<T> {
  const r = await run(PYTHON, [PYLXD_PEER, task, JSON.stringify(args)]);
  return lastJson(`pylxd ${task}`, r) as T;
}

export interface Measured {
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under bench/peers/measure.py: wall time, CPU and peak RSS of the command alone. */
export async function measured(cmd: string, args: readonly string[]): Promise<Measured> {
  const r = await run(PYTHON, [MEASURE, cmd, ...args]);
  const tail = r.stderr.trim().split('\n').pop() ?? '';
  let m: Omit<Measured, 'stdout' | 'stderr'>;
  try {
    m = JSON.parse(tail) as Omit<Measured, 'stdout' | 'stderr'>;
  } catch {
    throw new Error(`measure ${cmd} failed: ${r.stderr.slice(-1500)}`);
  }
  const stderr = r.stderr.trim().split('\n').slice(0, -1).join('\n');
  if (m.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${m.code}: ${stderr.slice(-1500)}`);
  return { ...m, stdout: r.stdout, stderr };
}

// ---------------------------------------------------------------------------------- raw LXD

const agents = new Map<string, Agent>();

/** A raw request to LXD (setup only: projects, which the client has no resource for). */
export async function lxdRaw(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: { type?: string; metadata?: unknown; error?: string; operation?: string } }> {
  let agent = agents.get(socketPath);
  if (!agent) {
    agent = new Agent({ connect: { socketPath } });
    agents.set(socketPath, agent);
  }
  const res = await request(`${LOCAL_ORIGIN}${path}`, {
    method: method as 'GET',
    dispatcher: agent,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const json = (await res.body.json()) as { type?: string; metadata?: unknown; error?: string; operation?: string };
  if (res.statusCode >= 400 || json.type === 'error') throw new Error(`${method} ${path}: ${res.statusCode} ${json.error ?? ''}`);
  if (json.type === 'async' && json.operation) {
    const w = await request(`${LOCAL_ORIGIN}${json.operation}/wait?timeout=600`, { dispatcher: agent });
    const wj = (await w.body.json()) as { metadata?: { status_code?: number; err?: string } };
    if (wj.metadata?.status_code !== 200) throw new Error(`${method} ${path}: operation failed: ${wj.metadata?.err ?? JSON.stringify(wj)}`);
  }
  return { status: res.statusCode, json };
}

export async function closeRaw(): Promise<void> {
  for (const a of agents.values()) await a.close();
  agents.clear();
}

export async function serverInfo(socketPath: string): Promise<{ version: string; storage: string; kernel: string }> {
  const { json } = await lxdRaw(socketPath, 'GET', '/1.0');
  const env = (json.metadata as { environment?: Record<string, string> }).environment ?? {};
  return { version: env['server_version'] ?? '?', storage: env['storage'] ?? '?', kernel: env['kernel_version'] ?? '?' };
}

// ---------------------------------------------------------------------------------- project

/** Names of projects whose names start with `prefix`. */
async function projectsWithPrefix(socketPath: string, prefix: string): Promise<string[]> {
  const { json } = await lxdRaw(socketPath, 'GET', '/1.0/projects');
  return (json.metadata as string[]).map((u) => decodeURIComponent(u.split('/').pop() ?? '')).filter((n) => n.startsWith(prefix));
}

/** Stops and deletes every instance of `project` (a few at a time). */
export async function emptyProject(socketPath: string, project: string, log: (m: string) => void = () => {}): Promise<number> {
  const client = new LxdClient({ socketPath, project, useEvents: false });
  try {
    const all = await client.instances.list({ recursion: 1 });
    const queue = [...all];
    if (queue.length) log(`removing ${queue.length} instance(s) from project ${project}`);
    const workerFn = async (): Promise<void> => {
      for (let i = queue.shift(); i; i = queue.shift()) {
        if (i.status_code !== 102) {
          try {
            await (await client.instances.setState(i.name, { action: 'stop', force: true, timeout: -1 })).wait({ timeoutMs: 120_000 });
          } catch {
            // it may have stopped meanwhile; the delete says whether it matters
          }
        }
        await (await client.instances.delete(i.name)).wait({ timeoutMs: 120_000 });
      }
    };
    await Promise.all(Array.from({ length: 4 }, workerFn));
    return all.length;
  } finally {
    await client.close();
  }
}

/** Removes the projects (and their instances) that earlier runs of this mode left behind. */
export async function removeLeftoverProjects(socketPath: string, modePrefix: string, log: (m: string) => void): Promise<void> {
  for (const p of await projectsWithPrefix(socketPath, modePrefix)) {
    log(`removing leftover project ${p}`);
    await emptyProject(socketPath, p, log);
    await lxdRaw(socketPath, 'DELETE', `/1.0/projects/${encodeURIComponent(p)}`);
  }
}

/** A project that shares the default project's images and profiles (so the busybox image is usable). */
export async function createProject(socketPath: string, name: string): Promise<void> {
  await lxdRaw(socketPath, 'POST', '/1.0/projects', {
    name,
    description: 'lxdkit benchmark (temporary)',
    config: { 'features.images': 'false', 'features.profiles': 'false' },
  });
}

export async function deleteProject(socketPath: string, name: string, log: (m: string) => void): Promise<void> {
  await emptyProject(socketPath, name, log);
  await lxdRaw(socketPath, 'DELETE', `/1.0/projects/${encodeURIComponent(name)}`);
}

export function defaultSocket(): string {
  return resolveSocketPath();
}

/** Creates `names` as stopped containers from the image, `parallel` at a time (setup, not measured). */
export async function createStopped(client: LxdClient, names: readonly string[], imageAlias: string, parallel = 4): Promise<void> {
  const queue = [...names];
  const one = async (): Promise<void> => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      await (await client.instances.create({ name: n, type: 'container', source: { type: 'image', alias: imageAlias } })).wait({ timeoutMs: 300_000 });
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

// ---------------------------------------------------------------------------------- the built CLI

export const CLI_MAIN = join(REPO_DIR, 'dist', 'cli', 'main.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The command's bundle, which main.cjs compiles (`tsc -p tsconfig.build.json` alone writes neither). */
const CLI_BUNDLE = join(REPO_DIR, 'dist', 'cli', 'lxdkit.cjs');

/** Builds dist/ (what `lxdkit` runs) when it is missing or older than lib/. */
export async function ensureBuilt(): Promise<void> {
  const newest = newestMtime(join(REPO_DIR, 'lib'));
  if ([CLI_MAIN, CLI_BUNDLE].every((f) => existsSync(f) && statSync(f).mtimeMs >= newest)) return;
  const r = await run('npm', ['run', '--silent', 'build']);
  if (r.code !== 0) throw new Error(`npm run build failed: ${r.stderr.slice(-1500)}`);
}
