/**
 * Runs the benchmark cases one after another in a project of their own on the local LXD, and always
 * cleans up (the project, its instances, the images and aliases it made), even when a case fails.
 */
import { readdir, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from '../lib/index.js';
import { launch } from './cases/launch.js';
import { listing } from './cases/listing.js';
import { memory, removeLeftoverImages } from './cases/memory.js';
import { operationWait } from './cases/operation-wait.js';
import { requestOverhead } from './cases/request-overhead.js';
import { execRoundTrip } from './cases/exec.js';
import { startup } from './cases/startup.js';
import { transfer } from './cases/transfer.js';
import {
  BENCH_PREFIX,
  closeRaw,
  createProject,
  defaultSocket,
  deleteProject,
  randomId,
  removeLeftoverProjects,
  removeWorkerBundle,
  run,
  serverInfo,
  PYTHON,
  type BenchContext,
  type Mode,
} from './harness.js';
import type { CaseResult } from './types.js';

export const CASES = {
  'request-overhead': requestOverhead,
  listing,
  launch,
  'operation-wait': operationWait,
  memory,
  exec: execRoundTrip,
  transfer,
  startup,
} as const satisfies Record<string, (ctx: BenchContext) => Promise<CaseResult>>;

export type CaseId = keyof typeof CASES;

export interface Environment {
  lxdVersion: string;
  storage: string;
  kernel: string;
  node: string;
  cores: number;
  cpuModel: string;
  pylxd: string;
  lxdBenchmark: string;
  date: string;
  /** 1-minute load average when the run started and when it ended (other work on the host skews timings). */
  load: [number, number];
}

export interface BenchResult {
  mode: Mode;
  env: Environment;
  cases: CaseResult[];
  durationMs: number;
}

export interface BenchOptions {
  mode: Mode;
  socketPath?: string;
  /** Run only these cases (default: all, in order). */
  only?: CaseId[];
  log?: (msg: string) => void;
}

async function removeLeftoverAliases(socketPath: string, modePrefix: string, log: (m: string) => void): Promise<void> {
  const client = new LxdClient({ socketPath });
  try {
    for (const a of await client.images.listAliases()) {
      if (!a.name.startsWith(`juju/${modePrefix}`)) continue;
      log(`removing leftover alias ${a.name}`);
      await client.images.deleteAlias(a.name);
    }
  } finally {
    await client.close();
  }
}

async function removeLeftoverDirs(modePrefix: string): Promise<void> {
  for (const d of await readdir(tmpdir())) {
    if (d.startsWith(modePrefix)) await rm(join(tmpdir(), d), { recursive: true, force: true });
  }
}

/** Everything a killed run of this mode may have left: projects (with instances), aliases, images, temp files. */
export async function cleanLeftovers(socketPath: string, modePrefix: string, log: (m: string) => void): Promise<void> {
  await removeLeftoverProjects(socketPath, modePrefix, log);
  await removeLeftoverAliases(socketPath, modePrefix, log);
  await removeLeftoverImages(socketPath, modePrefix, log);
  await removeLeftoverDirs(modePrefix);
}

async function environment(socketPath: string): Promise<Environment> {
  const info = await serverInfo(socketPath);
  const py = await run(PYTHON, ['-c', 'import pylxd; print(pylxd.__version__)']);
  const lb = await run('lxd-benchmark', ['--version']);
  return {
    lxdVersion: info.version,
    storage: info.storage,
    kernel: info.kernel,
    node: process.version,
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? '?',
    pylxd: py.code === 0 ? py.stdout.trim() : 'not installed',
    lxdBenchmark: lb.code === 0 ? lb.stdout.trim() : 'not installed',
    date: new Date().toISOString(),
    load: [loadavg()[0] ?? 0, Number.NaN],
  };
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const started = performance.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const socketPath = opts.socketPath ?? defaultSocket();
  const modePrefix = `${BENCH_PREFIX}${opts.mode}-`;
  const project = `${modePrefix}${randomId()}`;
  await cleanLeftovers(socketPath, modePrefix, log);
  const env = await environment(socketPath);
  const imageAlias = process.env['LXDKIT_BENCH_IMAGE'] ?? 'lxdkit/busybox';
  await createProject(socketPath, project);
  const client = new LxdClient({ socketPath, project });
  const ctx: BenchContext = { mode: opts.mode, socketPath, project, modePrefix, client, imageAlias, log, notes: [] };
  const results: CaseResult[] = [];
  try {
    await client.images.getAlias(imageAlias).catch((err: unknown) => {
      throw new Error(`the benchmark image alias ${imageAlias} is missing (run scripts/prepare-lxd.ts, or set LXDKIT_BENCH_IMAGE): ${(err as Error).message}`);
    });
    for (const id of opts.only ?? (Object.keys(CASES) as CaseId[])) {
      const t0 = performance.now();
      log(`case ${id}: start`);
      try {
        results.push(await CASES[id](ctx));
      } catch (err) {
        log(`case ${id} failed: ${(err as Error).stack ?? String(err)}`);
        results.push({ id, title: id, samples: [], checks: [], notes: [], error: (err as Error).message });
        // a failed case may leave instances behind: start the next one from an empty project
        await deleteProject(socketPath, project, log).catch(() => {});
        await createProject(socketPath, project).catch(() => {});
      }
      log(`case ${id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await client.close();
    await deleteProject(socketPath, project, log).catch((err: unknown) => log(`cleanup of project ${project} failed: ${(err as Error).message}`));
    await cleanLeftovers(socketPath, modePrefix, log).catch((err: unknown) => log(`cleanup failed: ${(err as Error).message}`));
    await closeRaw();
    await removeWorkerBundle();
  }
  env.load[1] = loadavg()[0] ?? 0;
  return { mode: opts.mode, env, cases: results, durationMs: performance.now() - started };
}
