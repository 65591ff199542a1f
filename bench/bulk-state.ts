/**
 * Bulk state: start N stopped busybox containers on the local LXD three ways, side by side in one run:
 * one `instances.setStateAll({ action: 'start' })` (`PUT /1.0/instances`, one operation), N
 * `instances.setState()` calls sent at once, and one `lxc start` of the same N names. The containers
 * live in a project of their own (the bulk change touches every instance of its project); between
 * variants they are stopped again (untimed) and each variant is checked to leave all N running. The
 * order of the variants rotates from round to round. Everything is removed at the end.
 *
 *   npm run bench -- --bulk-state [--bulk-count N]   writes the "Bulk state" section of bench/RESULTS.md
 */
import { loadavg } from 'node:os';
import { LxdClient } from '../lib/index.js';
import { BENCH_PREFIX, median, randomId, run } from './harness.js';

export type BulkVariant = 'setStateAll' | 'setState × N' | 'lxc start';
const VARIANTS: readonly BulkVariant[] = ['setStateAll', 'setState × N', 'lxc start'];

export interface BulkStateOptions {
  count?: number;
  rounds?: number;
  socketPath?: string;
  log?: (msg: string) => void;
}

export interface BulkStateResult {
  count: number;
  rounds: number;
  runs: { variant: BulkVariant; round: number; wallMs: number; requests: number | undefined }[];
  loadStart: number;
  loadEnd: number;
  createMs: number;
  server: string;
}

const IMAGE = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';

async function removeBenchProjects(lxd: LxdClient, prefix: string): Promise<void> {
  for (const name of await lxd.projects.list({ recursion: 0 })) {
    if (!name.startsWith(prefix)) continue;
    const inside = lxd.withProject(name);
    try {
      await (await inside.instances.setStateAll({ action: 'stop', force: true })).wait({ timeoutMs: 600_000 }).catch(() => {});
      const names = await inside.instances.list({ recursion: 0 });
      for (let i = 0; i < names.length; i += 8) await Promise.all(names.slice(i, i + 8).map(async (n) => (await inside.instances.delete(n)).wait({ timeoutMs: 120_000 })));
      await lxd.projects.delete(name);
    } finally {
      await inside.close();
    }
  }
}

export async function runBulkState(opts: BulkStateOptions = {}): Promise<BulkStateResult> {
  const count = opts.count ?? 100;
  const rounds = opts.rounds ?? 1;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const lxd = new LxdClient(opts.socketPath ? { socketPath: opts.socketPath } : {});
  const prefix = `${BENCH_PREFIX}bulk-`;
  const project = `${prefix}${randomId()}`;
  await removeBenchProjects(lxd, prefix);
  await lxd.projects.create({ name: project, config: { 'features.images': 'false', 'features.profiles': 'false' } });
  const client = lxd.withProject(project);
  const names = Array.from({ length: count }, (_, i) => `c${i}`);
  const loadStart = loadavg()[0]!;
  try {
    log(`creating ${count} containers in project ${project}`);
    const t0 = performance.now();
    for (let i = 0; i < names.length; i += 4) {
      await Promise.all(names.slice(i, i + 4).map(async (name) => (await client.instances.create({ name, source: { type: 'image', alias: IMAGE } })).wait({ timeoutMs: 300_000 })));
    }
    const createMs = performance.now() - t0;
    const running = async (): Promise<number> => (await client.instances.list()).filter((i) => i.status === 'Running').length;
    const stopAll = async (): Promise<void> => {
      await (await client.instances.setStateAll({ action: 'stop', force: true })).wait({ timeoutMs: 600_000 });
      const left = await running();
      if (left !== 0) throw new Error(`${left} containers still running after the stop`);
    };
    const runs: BulkStateResult['runs'] = [];
    for (let round = 0; round < rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const variant of order) {
        await stopAll();
        log(`round ${round + 1}: ${variant}`);
        const start = performance.now();
        let requests: number | undefined;
        if (variant === 'setStateAll') {
          await (await client.instances.setStateAll({ action: 'start' })).wait({ timeoutMs: 600_000 });
          requests = 1;
        } else if (variant === 'setState × N') {
          await Promise.all(names.map(async (name) => (await client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 600_000 })));
          requests = count;
        } else {
          const res = await run('lxc', ['start', '--project', project, ...names], { timeoutMs: 900_000 });
          if (res.code !== 0) throw new Error(`lxc start failed: ${res.stderr}`);
        }
        const wallMs = performance.now() - start;
        const up = await running();
        if (up !== count) throw new Error(`${variant}: ${up} of ${count} containers running`);
        runs.push({ variant, round, wallMs, requests });
        log(`  ${Math.round(wallMs)} ms`);
      }
    }
    const server = (await lxd.server.info()).environment?.server_version ?? '?';
    return { count, rounds, runs, loadStart, loadEnd: loadavg()[0]!, createMs, server };
  } finally {
    await client.close();
    await removeBenchProjects(lxd, project);
    await lxd.close();
  }
}

export function renderBulkState(r: BulkStateResult): string {
  const lines = [
    `## Bulk state: start ${r.count} containers (busybox, created and stopped)`,
    '',
    `LXD ${r.server}, ${r.rounds} round(s), the order of the variants rotating; load average (1 min) ${r.loadStart.toFixed(2)} at the start, ${r.loadEnd.toFixed(2)} at the end. Creating the ${r.count} containers (4 at a time, untimed) took ${(r.createMs / 1000).toFixed(1)} s. Between variants every container is stopped again with one forced \`setStateAll\` (untimed); each variant is checked to leave all ${r.count} running.`,
    '',
    '| variant | requests | wall (median) | ÷ setStateAll |',
    '|---|---|---|---|',
  ];
  const med = (v: BulkVariant): number => median(r.runs.filter((x) => x.variant === v).map((x) => x.wallMs));
  const base = med('setStateAll');
  for (const v of VARIANTS) {
    const req = v === 'setStateAll' ? '1 `PUT /1.0/instances`' : v === 'setState × N' ? `${r.count} \`PUT …/state\`, all at once` : `one \`lxc\` process (${r.count} names)`;
    lines.push(`| ${v === 'setStateAll' ? '**setStateAll**' : v} | ${req} | ${Math.round(med(v))} ms (n=${r.rounds}) | ×${(med(v) / base).toFixed(2)} |`);
  }
  lines.push('', `Starting a container is the daemon's work, which all three variants wait for; what differs is the traffic around it: one request and one operation for \`setStateAll\`, ${r.count} requests and ${r.count} operations for the separate calls, and for \`lxc start\` a Go process that starts the names one after the other. A single run on a shared 2-core host: read the ratios, not the milliseconds.`);
  return lines.join('\n');
}
