/**
 * Worker tasks (bench/worker.ts) of the cluster cases: listing and event following on the simulated
 * cluster (bench/scale.ts), and the launch over the real test cluster (bench/cluster-launch.ts).
 */
import { LxdManager } from '../lib/container/lxd/index.js';
import { LxdClient } from '../lib/index.js';

type Args = Record<string, unknown>;

const str = (a: Args, k: string): string => {
  const v = a[k];
  if (typeof v !== 'string') throw new Error(`argument ${k} must be a string`);
  return v;
};
const num = (a: Args, k: string): number => {
  const v = a[k];
  if (typeof v !== 'number') throw new Error(`argument ${k} must be a number`);
  return v;
};
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
const rssKiB = (): number => Math.round(process.memoryUsage.rss() / 1024);

/** Lists every instance of the simulated cluster `listings` times (one untimed first). */
export async function scaleList(a: Args): Promise<unknown> {
  const instances = num(a, 'instances');
  const members = num(a, 'members');
  const listings = num(a, 'listings');
  const client = new LxdClient({ socketPath: str(a, 'socketPath') });
  const memberCount = (await client.cluster.members.list()).length;
  if (memberCount !== members) throw new Error(`the simulated cluster has ${memberCount} members, not ${members}`);
  const wallMs: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i <= listings; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const list = await client.instances.list();
    const wall = performance.now() - t0;
    const cpu = cpuMs(cpu0);
    if (list.length !== instances) throw new Error(`listed ${list.length} instances, not ${instances}`);
    if (new Set(list.map((x) => x.location)).size !== members) throw new Error('the instances are not spread over every member');
    if (i > 0) {
      wallMs.push(wall);
      cpus.push(cpu);
    }
  }
  await client.close();
  return { wallMs, cpuMs: cpus };
}

/**
 * The memory of one listing, in a worker of its own (started with --expose-gc): RSS before and at the
 * peak, and the heap the listed instances keep while the caller holds them.
 */
export async function scaleListPeak(a: Args): Promise<unknown> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('scale-list-peak needs node --expose-gc');
  const client = new LxdClient({ socketPath: str(a, 'socketPath') });
  await client.cluster.members.list();
  gc();
  const baseRssKiB = rssKiB();
  const heap0 = process.memoryUsage().heapUsed;
  const list = await client.instances.list();
  const maxRssKiB = process.resourceUsage().maxRSS;
  gc();
  const retainedKiB = Math.round((process.memoryUsage().heapUsed - heap0) / 1024);
  if (list.length !== num(a, 'instances')) throw new Error(`listed ${list.length} instances`);
  await client.close();
  return { baseRssKiB, maxRssKiB, retainedKiB };
}

/** Follows one lifecycle event per instance on one subscription, until the last one. */
export async function scaleEvents(a: Args): Promise<unknown> {
  const instances = num(a, 'instances');
  const client = new LxdClient({ socketPath: str(a, 'socketPath') });
  await client.cluster.members.list();
  const baseRssKiB = rssKiB();
  const locations = new Set<string>();
  let seen = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sub = client.events.subscribe({ types: ['lifecycle'], reconnect: false });
  await new Promise<void>((resolve, reject) => {
    sub.on('event', (e) => {
      if (e.type !== 'lifecycle') return;
      seen += 1;
      if (e.location) locations.add(e.location);
      if (seen === instances) resolve();
    });
    sub.on('error', reject);
    sub.ready.catch(reject);
  });
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(cpu0);
  sub.close();
  await client.close();
  return { wallMs, cpuMs: cpu, baseRssKiB, maxRssKiB: process.resourceUsage().maxRSS, locations: locations.size };
}

/**
 * The cluster launch: `count` containers through LxdManager, in batches of `parallel`, container i in
 * zone `zones[i % zones.length]` (one manager per zone: Juju's zones are cluster members).
 */
export async function clusterLaunch(a: Args): Promise<unknown> {
  const count = num(a, 'count');
  const parallel = num(a, 'parallel');
  const zones = a['zones'];
  if (!Array.isArray(zones) || zones.length === 0 || zones.some((z) => typeof z !== 'string')) throw new Error('argument zones must be a list of member names');
  const client = new LxdClient({ socketPath: str(a, 'socketPath') });
  const managers = (zones as string[]).map((zone) => new LxdManager({ 'model-uuid': str(a, 'uuid'), 'availability-zone': zone }, { client }));
  const series = str(a, 'series');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const placed: { name: string; location: string | undefined }[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) => start + i);
    for (const r of await Promise.all(batch.map((i) => managers[i % managers.length]!.createContainer({ machineId: String(i) }, {}, series)))) {
      placed.push({ name: r.instance.id, location: r.instance.location });
    }
  }
  const out = { wallMs: performance.now() - t0, cpuMs: cpuMs(cpu0), placed };
  await client.close();
  return out;
}
