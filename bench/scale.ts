/**
 * Simulated scale: a cluster of 50 members and up to 10,000 instances served by lxdkit's replay server
 * (lib/testing/server.ts), with every object shaped after one recorded on the real test cluster
 * (fixtures/cluster/members.json, instances.json, events.json). A fresh worker process per size
 * measures what the client costs: listing every instance (`instances.list()`, recursion 1: wall,
 * client CPU, peak RSS) and following one lifecycle event per instance on one subscription.
 *
 *   npm run bench -- --scale            writes the "Simulated scale" section of bench/RESULTS.md
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Fixture, Json } from '../lib/testing/fixture.js';
import { startReplayServer } from '../lib/testing/server.js';
import { REPO_DIR, median, worker } from './harness.js';

export interface ScaleOptions {
  /** Instance counts to measure (default 1,000, 5,000, 10,000). */
  sizes?: number[];
  /** Cluster members the instances are spread over (default 50). */
  members?: number;
  /** Timed listings per size, after one untimed (default 7). */
  listings?: number;
  log?: (msg: string) => void;
}

/** Workers that follow the event stream, per size. */
const EVENT_RUNS = 5;

/** What a worker measured at one size. */
export interface ScaleRun {
  instances: number;
  members: number;
  /** Timed listings; `bodyBytes` is the size of one listing's answer. */
  list: { wallMs: number[]; cpuMs: number[]; bodyBytes: number };
  /** One listing in a worker of its own: RSS before and at the peak, heap kept by the listed instances. */
  peak: { baseRssKiB: number; maxRssKiB: number; retainedKiB: number };
  /** One worker per run (`EVENT_RUNS`): medians are taken over them. */
  events: { wallMs: number; cpuMs: number; baseRssKiB: number; maxRssKiB: number; locations: number }[];
}

export interface ScaleResult {
  runs: ScaleRun[];
  date: string;
  node: string;
  /** 1-minute load average when the run started and when it ended. */
  load: [number, number];
}

type JsonObject = { [key: string]: Json };

async function recorded(name: string): Promise<Fixture> {
  return JSON.parse(await readFile(join(REPO_DIR, 'fixtures', 'cluster', `${name}.json`), 'utf8')) as Fixture;
}

function metadataOf(fx: Fixture, method: string, path: string, query: Record<string, string> = {}): Json {
  const i = fx.interactions.find((x) => x.request.method === method && x.request.path === path && JSON.stringify(x.request.query) === JSON.stringify(query));
  if (!i) throw new Error(`the recording ${fx.description ?? ''} has no ${method} ${path}`);
  return (i.response.body as JsonObject)['metadata']!;
}

function sync(metadata: Json): JsonObject {
  return { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata };
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * A fixture of a simulated cluster: `members` members and `instances` instances, each a copy of the
 * recorded member or instance with its own name, location, status and volatile keys; `listings`
 * answers to `GET /1.0/instances?recursion=1`; and a `type=lifecycle` event stream of one
 * `instance-started` per instance, each from its member, sent as soon as a client subscribes.
 */
export async function simulatedCluster(instances: number, members: number, listings: number): Promise<Fixture> {
  const [mfx, ifx, efx] = await Promise.all([recorded('members'), recorded('instances'), recorded('events')]);
  const memberTpl = (metadataOf(mfx, 'GET', '/1.0/cluster/members', { recursion: '1' }) as JsonObject[])[1]!;
  const instTpl = (metadataOf(ifx, 'GET', '/1.0/instances', { recursion: '1' }) as JsonObject[])[0]!;
  const eventTpl = efx.events![0]!.messages.find((m) => (m.message as JsonObject)['location'] !== undefined)!.message as JsonObject;
  const memberName = (i: number): string => `m${(i % members) + 1}`;

  const memberList: Json = Array.from({ length: members }, (_, i) => ({
    ...memberTpl,
    server_name: `m${i + 1}`,
    url: `https://127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}:8443`,
    roles: i < 3 ? ['database'] : [],
    database: i < 3,
  }));
  const tplConfig = instTpl['config'] as JsonObject;
  const list: Json = Array.from({ length: instances }, (_, i) => {
    const running = i % 3 !== 0;
    const config: JsonObject = {
      ...tplConfig,
      'volatile.uuid': `00000000-0000-4000-8000-${hex(i, 12)}`,
      'volatile.cloud-init.instance-id': `00000000-0000-4000-9000-${hex(i, 12)}`,
      'volatile.eth0.hwaddr': `00:16:3e:${hex((i >> 16) & 255, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`,
    };
    return { ...instTpl, name: `sim-${i}`, location: memberName(i), status: running ? 'Running' : 'Stopped', status_code: running ? 103 : 102, config, expanded_config: config };
  });
  const eventMeta = eventTpl['metadata'] as JsonObject;
  const messages = Array.from({ length: instances }, (_, i) => ({
    after: 0,
    message: { ...eventTpl, location: memberName(i), timestamp: '2000-01-01T00:00:01Z', metadata: { ...eventMeta, action: 'instance-started', source: `/1.0/instances/sim-${i}` } },
  }));
  const membersAnswer = { request: { method: 'GET', path: '/1.0/cluster/members', query: { recursion: '1' } }, response: { status: 200, headers: { 'content-type': 'application/json' }, body: sync(memberList) } };
  const listing = { request: { method: 'GET', path: '/1.0/instances', query: { recursion: '1' } }, response: { status: 200, headers: { 'content-type': 'application/json' }, body: sync(list) } };
  return {
    format: 1,
    description: `simulated cluster: ${members} members, ${instances} instances (shapes from fixtures/cluster)`,
    lxd: mfx.lxd,
    recordedAt: mfx.recordedAt,
    // for each worker in turn: the members, then its listings
    interactions: [membersAnswer, ...Array.from({ length: listings + 1 }, () => listing), membersAnswer, listing, ...Array.from({ length: EVENT_RUNS }, () => membersAnswer)],
    events: [{ path: '/1.0/events', query: { type: 'lifecycle' }, messages }],
  };
}

/** Measures each size in fresh worker processes against a replay server of the simulated cluster. */
export async function runScale(opts: ScaleOptions = {}): Promise<ScaleResult> {
  const sizes = opts.sizes ?? [1_000, 5_000, 10_000];
  const members = opts.members ?? 50;
  const listings = opts.listings ?? 7;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const runs: ScaleRun[] = [];
  const load0 = loadavg()[0] ?? 0;
  for (const n of sizes) {
    const fx = await simulatedCluster(n, members, listings);
    const bodyBytes = Buffer.byteLength(JSON.stringify(fx.interactions[1]!.response.body));
    const server = await startReplayServer(fx);
    try {
      const list = { ...(await worker<Omit<ScaleRun['list'], 'bodyBytes'>>('scale-list', { socketPath: server.socketPath, instances: n, members, listings })), bodyBytes };
      const peak = await worker<ScaleRun['peak']>('scale-list-peak', { socketPath: server.socketPath, instances: n }, ['--expose-gc']);
      const events: ScaleRun['events'] = [];
      for (let i = 0; i < EVENT_RUNS; i++) events.push(await worker<ScaleRun['events'][number]>('scale-events', { socketPath: server.socketPath, instances: n }));
      for (const e of events) if (e.locations !== members) throw new Error(`the events came from ${e.locations} members, not ${members}`);
      runs.push({ instances: n, members, list, peak, events });
      log(`scale ${n} instances: list ${median(list.wallMs).toFixed(0)} ms, events ${median(events.map((e) => e.wallMs)).toFixed(0)} ms`);
      const missed = server.replayer.unmatched();
      if (missed.length) throw new Error(`the simulated cluster got requests it has no answer for: ${missed.map((m) => `${m.method} ${m.path}`).join(', ')}`);
    } finally {
      await server.close();
    }
  }
  return { runs, date: new Date().toISOString(), node: process.version, load: [load0, loadavg()[0] ?? 0] };
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** The "Simulated scale" section of bench/RESULTS.md. */
export function renderScale(r: ScaleResult): string {
  const first = r.runs[0];
  const lines = [
    `## Simulated scale: ${first?.members ?? 50} members, ${r.runs.map((x) => x.instances.toLocaleString('en')).join(' / ')} instances`,
    '',
    `Generated by \`npm run bench -- --scale\` on ${r.date.slice(0, 10)} (Node.js ${r.node}; load average ${r.load[0].toFixed(2)} at the start, ${r.load[1].toFixed(2)} at the end, on 2 cores). lxdkit's replay server (\`lxdkit/testing\`) serves a cluster of ${first?.members ?? 50} members whose members, instances and events are copies of those recorded on the real test cluster (\`fixtures/cluster/\`), each with its own name, member and status. Each size runs in fresh worker processes; the server runs in the bench process. See [docs/scale.md](../docs/scale.md) for what bounds the numbers.`,
    '',
    '| instances | response | `instances.list()` wall (median) | client CPU (median) | one listing: RSS before → peak | heap kept by the list | events, one per instance: wall | client CPU | RSS before → peak |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const x of r.runs) {
    lines.push(
      `| ${x.instances.toLocaleString('en')} | ${(x.list.bodyBytes / 1024 / 1024).toFixed(1)} MiB | ${ms(median(x.list.wallMs))} ms (n=${x.list.wallMs.length}) | ${ms(median(x.list.cpuMs))} ms | ${mib(x.peak.baseRssKiB)} → ${mib(x.peak.maxRssKiB)} | ${mib(x.peak.retainedKiB)} | ${ms(median(x.events.map((e) => e.wallMs)))} ms (n=${x.events.length}) | ${ms(median(x.events.map((e) => e.cpuMs)))} ms | ${mib(median(x.events.map((e) => e.baseRssKiB)))} → ${mib(median(x.events.map((e) => e.maxRssKiB)))} |`,
    );
  }
  lines.push('');
  lines.push('- Listing: one `GET /1.0/instances?recursion=1` per call, what `LxdManager.listContainers()` makes; wall time includes the replay server serialising the answer in the bench process (on the same two cores), client CPU is the worker alone. Each worker checks that every instance came back, spread over every member.');
  lines.push('- Memory of one listing: a worker of its own lists once; RSS before (Node.js and lxdkit loaded, connected) and its peak, and the heap still used by the listed instances after a garbage collection (what a caller holding the list pays).');
  lines.push('- Events: one `type=lifecycle` subscription, one `instance-started` per instance from its member, all sent as soon as the subscription opens; measured from `subscribe()` to the last event handled, each parsed and typed. "before" is the worker after loading lxdkit and connecting, the floor under the peak.');
  return lines.join('\n');
}
