/**
 * Launch over the cluster: N containers created and started through LxdManager on the real test
 * cluster (scripts/cluster.sh), spread over its three members (one manager per availability zone,
 * container i in zone m1, m2, m3, m1, ...), against the same N all on one member (zone m1). Both go
 * through member m1's socket, in batches of the same size, in fresh worker processes, alternating
 * which goes first. Every run is checked to leave N running containers where they were asked to go,
 * which are then removed (untimed).
 *
 *   npm run bench -- --cluster          writes the "Launch over the cluster" section of bench/RESULTS.md
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { hostArch } from '../lib/container/arch.js';
import { LxdClient } from '../lib/index.js';
import { median, randomId, worker, type Mode } from './harness.js';

/** Every model of the benchmark ends in this: its containers are `juju-be4c11-<n>`, found again after a killed run. */
const MODEL_TAIL = 'be4c11';
const MEMBERS = ['m1', 'm2', 'm3'];

export interface ClusterLaunchOptions {
  mode: Mode;
  /** Member m1's socket (default: $LXDKIT_CLUSTER_M1_SOCKET, else the test cluster's). */
  socketPath?: string;
  log?: (msg: string) => void;
}

export interface ClusterLaunchRun {
  variant: 'spread' | 'one';
  wallMs: number;
  cpuMs: number;
  /** Containers per member after the run. */
  perMember: Record<string, number>;
}

export interface ClusterLaunchResult {
  mode: Mode;
  count: number;
  parallel: number;
  repeats: number;
  runs: ClusterLaunchRun[];
  server: { version: string; members: number; storage: string };
  date: string;
  /** 1-minute load average when the run started and when it ended (other work on the host skews timings). */
  load: [number, number];
}

export function clusterSocket(): string {
  return process.env['LXDKIT_CLUSTER_M1_SOCKET'] ?? '/var/lib/lxdkit-cluster/m1/unix.socket';
}

/** Removes the benchmark's containers (any model ending in MODEL_TAIL), a few at a time. */
async function removeBenchContainers(client: LxdClient): Promise<number> {
  const mine = (await client.instances.list()).filter((i) => i.name.startsWith(`juju-${MODEL_TAIL}-`));
  const queue = [...mine];
  const one = async (): Promise<void> => {
    for (let i = queue.shift(); i; i = queue.shift()) {
      if (i.status_code !== 102) await (await client.instances.setState(i.name, { action: 'stop', force: true })).wait({ timeoutMs: 120_000 }).catch(() => undefined);
      await (await client.instances.delete(i.name)).wait({ timeoutMs: 120_000 });
    }
  };
  await Promise.all(Array.from({ length: 6 }, one));
  return mine.length;
}

export async function runClusterLaunch(opts: ClusterLaunchOptions): Promise<ClusterLaunchResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const socketPath = opts.socketPath ?? clusterSocket();
  const quick = opts.mode === 'quick';
  const count = quick ? 6 : 30;
  const parallel = quick ? 3 : 6;
  const repeats = quick ? 1 : 3;
  const client = new LxdClient({ socketPath });
  const series = `bench${randomId()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const runs: ClusterLaunchRun[] = [];
  const load0 = loadavg()[0] ?? 0;
  try {
    const info = await client.server.info();
    if (info.environment?.server_clustered !== true) throw new Error(`${socketPath} is not a cluster member: bring the test cluster up (scripts/cluster.sh up)`);
    const online = (await client.cluster.members.list()).filter((m) => m.status === 'Online').map((m) => m.server_name);
    for (const m of MEMBERS) if (!online.includes(m)) throw new Error(`cluster member ${m} is not online`);
    const left = await removeBenchContainers(client);
    if (left) log(`removed ${left} leftover benchmark container(s)`);
    for (const a of await client.images.listAliases()) if (a.description.startsWith('lxdkit-bench')) await client.images.deleteAlias(a.name);
    const busybox = (await client.images.getAlias(process.env['LXDKIT_BENCH_IMAGE'] ?? 'lxdkit/busybox')).value.target;
    await client.images.createAlias({ name: alias, target: busybox, description: 'lxdkit-bench (cluster launch; removed at the end)' });
    for (let r = 0; r < repeats; r++) {
      for (const variant of r % 2 === 0 ? (['spread', 'one'] as const) : (['one', 'spread'] as const)) {
        const zones = variant === 'spread' ? MEMBERS : ['m1'];
        const uuid = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
        const out = await worker<{ wallMs: number; cpuMs: number; placed: { name: string; location: string | undefined }[] }>('cluster-launch', { socketPath, uuid, count, parallel, series, zones });
        const listed = (await client.instances.list()).filter((i) => i.name.startsWith(`juju-${MODEL_TAIL}-`));
        const running = listed.filter((i) => i.status_code === 103);
        if (running.length !== count) throw new Error(`${variant}: ${running.length} running containers instead of ${count}`);
        const perMember: Record<string, number> = {};
        for (const i of running) perMember[i.location ?? '?'] = (perMember[i.location ?? '?'] ?? 0) + 1;
        const want = variant === 'spread' ? Object.fromEntries(MEMBERS.map((m) => [m, count / 3])) : { m1: count };
        if (JSON.stringify(Object.entries(perMember).sort()) !== JSON.stringify(Object.entries(want).sort())) throw new Error(`${variant}: containers per member ${JSON.stringify(perMember)}, wanted ${JSON.stringify(want)}`);
        for (const p of out.placed) if (!zones.includes(p.location ?? '')) throw new Error(`${p.name} reported ${p.location}, not one of ${zones.join(', ')}`);
        runs.push({ variant, wallMs: out.wallMs, cpuMs: out.cpuMs, perMember });
        log(`cluster launch run ${r + 1}/${repeats}: ${variant} ${out.wallMs.toFixed(0)} ms`);
        await removeBenchContainers(client);
      }
    }
    return {
      mode: opts.mode,
      count,
      parallel,
      repeats,
      runs,
      server: { version: info.environment?.server_version ?? '?', members: online.length, storage: info.environment?.storage ?? '?' },
      date: new Date().toISOString(),
      load: [load0, loadavg()[0] ?? 0],
    };
  } finally {
    await removeBenchContainers(client).catch((err: unknown) => log(`cleanup failed: ${(err as Error).message}`));
    await client.images.deleteAlias(alias).catch(() => undefined);
    await client.close();
  }
}

/** The "Launch over the cluster" section of bench/RESULTS.md. */
export function renderClusterLaunch(r: ClusterLaunchResult): string {
  const of = (v: 'spread' | 'one') => r.runs.filter((x) => x.variant === v);
  const wall = (v: 'spread' | 'one') => median(of(v).map((x) => x.wallMs));
  const cpu = (v: 'spread' | 'one') => median(of(v).map((x) => x.cpuMs));
  const f = (v: number) => `${v.toFixed(0)} ms`;
  const range = (v: 'spread' | 'one') => {
    const xs = of(v).map((x) => x.wallMs);
    return xs.length > 1 ? `, ${f(Math.min(...xs))}–${f(Math.max(...xs))}` : '';
  };
  const ratio = wall('spread') / wall('one');
  // the medians' difference against the spread of the runs of each variant
  const spreadOf = (v: 'spread' | 'one') => Math.max(...of(v).map((x) => x.wallMs)) - Math.min(...of(v).map((x) => x.wallMs));
  const withinNoise = r.runs.length > 2 && Math.abs(wall('spread') - wall('one')) < Math.max(spreadOf('spread'), spreadOf('one'));
  return [
    `## Launch over the cluster: ${r.count} containers, three members against one`,
    '',
    `Generated by \`npm run bench -- --cluster\` (${r.mode} mode) on ${r.date.slice(0, 10)} against the test cluster of \`scripts/cluster.sh\`: ${r.server.members} LXD ${r.server.version} members (storage: ${r.server.storage}) on this one 2-core host, beside its own LXD. Load average (1 min): ${r.load[0].toFixed(2)} at the start, ${r.load[1].toFixed(2)} at the end.`,
    '',
    '| variant | where | wall (median, range) | client CPU (median) | spread ÷ one member (wall) |',
    '|---|---|---|---|---|',
    `| spread over 3 members | ${r.count / 3} on each of m1, m2, m3 (zones) | ${f(wall('spread'))} (n=${of('spread').length}${range('spread')}) | ${f(cpu('spread'))} | ×${ratio.toFixed(2)} |`,
    `| one member | all ${r.count} on m1 (zone m1) | ${f(wall('one'))} (n=${of('one').length}${range('one')}) | ${f(cpu('one'))} | 1 |`,
    '',
    `- \`LxdManager.createContainer\` (create and start, Juju's config), ${r.parallel} at a time in batches, through member m1's socket in both variants; one manager per availability zone, as Juju maps zones to members. ${r.repeats} runs each, alternating which goes first; each run starts with no benchmark container on the cluster and is checked to leave ${r.count} running containers, on the members asked for, which are then removed (untimed).`,
    `- The three members share this host's two cores and disk: spreading buys no hardware here. ${withinNoise ? "The two variants differ by less than the runs of one variant differ from each other (the range column; the host's load moves them)." : `Spreading was ${Math.abs(1 - ratio) * 100 < 0.5 ? 'as fast' : `${(Math.abs(1 - ratio) * 100).toFixed(0)} % ${ratio < 1 ? 'faster' : 'slower'}`} in this run.`} What spreading changes is which daemon does the work: each member unpacks and starts only its own containers, while m1 also forwards the requests for m2 and m3 and relays their operations' events. On separate machines the members' work would run in parallel; here it competes for the same two cores.`,
  ].join('\n');
}
