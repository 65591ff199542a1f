/**
 * One measured run in its own process, so that CPU time and peak RSS belong to one client only.
 *
 *   node --import tsx bench/worker.ts TASK JSON_ARGS
 *
 * Prints one JSON line. The runner (bench/run.ts) starts it; it is not meant to be run by hand.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { LxdManager } from '../lib/container/lxd/index.js';
import { LOCAL_ORIGIN, LxdClient, isFinal, type Operation } from '../lib/index.js';
import { clusterLaunch, scaleEvents, scaleList, scaleListPeak } from './scale-tasks.js';

type Args = Record<string, unknown>;

const str = (a: Args, k: string): string => {
  const v = a[k];
  if (typeof v !== 'string') throw new Error(`argument ${k} must be a string`);
  return v;
};
const num = (a: Args, k: string, dflt?: number): number => {
  const v = a[k] ?? dflt;
  if (typeof v !== 'number') throw new Error(`argument ${k} must be a number`);
  return v;
};
const optStr = (a: Args, k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** Runs `fn` `count` times, `concurrency` at a time. */
async function repeat(count: number, concurrency: number, fn: () => Promise<unknown>): Promise<void> {
  let left = count;
  const lane = async (): Promise<void> => {
    while (left > 0) {
      left -= 1;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
}

function projectQuery(project: string | undefined): string {
  return project ? `project=${encodeURIComponent(project)}` : '';
}

/** The floor: undici over the same socket, one JSON.parse, nothing else. */
function rawClient(socketPath: string): { agent: Agent; getJson: (path: string) => Promise<unknown> } {
  const agent = new Agent({ connect: { socketPath }, keepAliveTimeout: 20_000 });
  return {
    agent,
    getJson: async (path) => {
      const res = await request(`${LOCAL_ORIGIN}${path}`, { dispatcher: agent });
      const body = (await res.body.json()) as { type: string; metadata: unknown; error?: string };
      if (res.statusCode !== 200 || body.type !== 'sync') throw new Error(`GET ${path}: ${res.statusCode} ${body.error ?? ''}`);
      return body.metadata;
    },
  };
}

/** Counts requests passing through a dispatcher (to check how many requests a call makes). */
function counting(socketPath: string): { dispatcher: Dispatcher; count: () => number } {
  let n = 0;
  const dispatcher = new Agent({ connect: { socketPath } }).compose((dispatch) => (opts, handler) => {
    n += 1;
    return dispatch(opts, handler);
  });
  return { dispatcher, count: () => n };
}

// ------------------------------------------------------------------------------------ tasks

/** Case 1: GET /1.0/instances/NAME `count` times, `concurrency` at a time. */
async function get(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = optStr(a, 'project');
  const name = str(a, 'name');
  const count = num(a, 'count');
  const concurrency = num(a, 'concurrency');
  const warmup = num(a, 'warmup', 20);
  if (str(a, 'contender') === 'lxdkit') {
    const client = new LxdClient({ socketPath, ...(project ? { project } : {}) });
    await repeat(warmup, concurrency, () => client.instances.get(name));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await repeat(count, concurrency, () => client.instances.get(name));
    const out = { wallMs: performance.now() - t0, cpuMs: cpuMs(cpu0) };
    await client.close();
    return out;
  }
  const raw = rawClient(socketPath);
  const path = `/1.0/instances/${encodeURIComponent(name)}${project ? `?${projectQuery(project)}` : ''}`;
  await repeat(warmup, concurrency, () => raw.getJson(path));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await repeat(count, concurrency, () => raw.getJson(path));
  const out = { wallMs: performance.now() - t0, cpuMs: cpuMs(cpu0) };
  await raw.agent.close();
  return out;
}

/** Case 2: list the model's containers `iterations` times (one process, warm connection). */
async function list(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = str(a, 'project');
  const uuid = str(a, 'uuid');
  const iterations = num(a, 'iterations');
  const walls: number[] = [];
  const cpus: number[] = [];
  const found: number[] = [];
  if (str(a, 'contender') === 'lxdkit') {
    // how many requests one listContainers() makes (a separate client, so the measured one is the
    // default): the first call of a fresh client in a project also checks, once, that the project
    // exists; the count is the call after it, the steady state
    const c = counting(socketPath);
    const countingClient = new LxdClient({ socketPath, project, dispatcher: c.dispatcher });
    const countingManager = new LxdManager({ 'model-uuid': uuid }, { client: countingClient });
    await countingManager.listContainers();
    const firstRequests = c.count();
    await countingManager.listContainers();
    const requests = c.count() - firstRequests;
    await countingClient.close();
    await c.dispatcher.close();

    const client = new LxdClient({ socketPath, project });
    const mgr = new LxdManager({ 'model-uuid': uuid }, { client });
    await mgr.listContainers();
    for (let i = 0; i < iterations; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const got = await mgr.listContainers();
      walls.push(performance.now() - t0);
      cpus.push(cpuMs(cpu0));
      found.push(got.length);
    }
    await client.close();
    return { wallMs: walls, cpuMs: cpus, found, requests, firstRequests };
  }
  const prefix = str(a, 'prefix');
  const raw = rawClient(socketPath);
  const path = `/1.0/instances?recursion=1&${projectQuery(project)}`;
  await raw.getJson(path);
  for (let i = 0; i < iterations; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const got = (await raw.getJson(path)) as { name: string; type: string }[];
    const names = got.filter((x) => x.type === 'container' && x.name.startsWith(prefix)).map((x) => x.name);
    walls.push(performance.now() - t0);
    cpus.push(cpuMs(cpu0));
    found.push(names.length);
  }
  await raw.agent.close();
  return { wallMs: walls, cpuMs: cpus, found, requests: 1 };
}

/** Case 3: `count` containers through LxdManager.createContainer, in batches of `parallel` (as lxd-benchmark does). */
async function launch(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = str(a, 'project');
  const uuid = str(a, 'uuid');
  const count = num(a, 'count');
  const parallel = num(a, 'parallel');
  const series = str(a, 'series');
  const c = counting(socketPath);
  const client = new LxdClient({ socketPath, project, dispatcher: c.dispatcher });
  const mgr = new LxdManager({ 'model-uuid': uuid }, { client });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const names = await inBatches(count, parallel, async (i) => (await mgr.createContainer({ machineId: String(i) }, {}, series)).instance.id);
  const out = { wallMs: performance.now() - t0, cpuMs: cpuMs(cpu0), names, requests: c.count() };
  await client.close();
  await c.dispatcher.close();
  return out;
}

/** Runs `fn(0..count-1)` in batches of `parallel` (a batch starts when the previous one is done), as lxd-benchmark does. */
async function inBatches<T>(count: number, parallel: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) => start + i);
    out.push(...(await Promise.all(batch.map(fn))));
  }
  return out;
}

/**
 * Case 3, the client alone: what lxd-benchmark does per container (create from the fingerprint with
 * one config key, wait, start, wait) through LxdClient, in the same batches. Separates the client's
 * cost from what LxdManager adds for Juju's behaviour.
 */
async function launchClient(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = str(a, 'project');
  const count = num(a, 'count');
  const parallel = num(a, 'parallel');
  const c = counting(socketPath);
  const client = new LxdClient({ socketPath, project, dispatcher: c.dispatcher });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fingerprint = (await client.images.getAlias(str(a, 'alias'))).value.target;
  const one = async (i: number): Promise<string> => {
    const name = `bench-${i}`;
    await (await client.instances.create({ name, source: { type: 'image', fingerprint }, config: { 'user.lxdkit-bench': 'true' } })).wait({ timeoutMs: 600_000 });
    await (await client.instances.setState(name, { action: 'start', timeout: -1 })).wait({ timeoutMs: 600_000 });
    return name;
  };
  const names = await inBatches(count, parallel, one);
  const out = { wallMs: performance.now() - t0, cpuMs: cpuMs(cpu0), names, requests: c.count() };
  await client.close();
  await c.dispatcher.close();
  return out;
}

/**
 * Case 4: stop / start a running container `count` times and note when each wait() resolved
 * (epoch ms, sub-ms precision). The runner pairs that with the time LXD sent the final event.
 */
async function wait(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = str(a, 'project');
  const name = str(a, 'name');
  const count = num(a, 'count');
  const mode = str(a, 'mode');
  const pollMs = num(a, 'pollMs', 50);
  const client = new LxdClient({ socketPath, project, useEvents: mode === 'events' });
  const now = (): number => performance.timeOrigin + performance.now();
  const ops: { id: string; resolvedAtMs: number }[] = [];
  for (let i = 0; i < count; i++) {
    const op: Operation = await client.instances.setState(name, i % 2 === 0 ? { action: 'stop', force: true } : { action: 'start' });
    if (mode === 'poll') {
      for (;;) {
        const cur = await op.refresh();
        if (isFinal(cur)) {
          if (cur.status_code !== 200) throw new Error(`operation ${op.id} failed: ${cur.err}`);
          break;
        }
        await sleep(pollMs);
      }
    } else {
      await op.wait({ timeoutMs: 60_000 });
    }
    ops.push({ id: op.id, resolvedAtMs: now() });
  }
  await client.close();
  return { ops };
}

/** Case 5: import a unified image tarball (streamed) and report this process's peak RSS. */
async function importImage(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const file = str(a, 'file');
  const t0 = performance.now();
  let fingerprint: string;
  if (str(a, 'contender') === 'lxdkit') {
    const client = new LxdClient({ socketPath });
    const image = await client.images.import({ unified: file }, { timeoutMs: 15 * 60_000 });
    fingerprint = image.fingerprint;
    await client.close();
  } else {
    const agent = new Agent({ connect: { socketPath }, headersTimeout: 0, bodyTimeout: 0 });
    const size = (await stat(file)).size;
    const res = await request(`${LOCAL_ORIGIN}/1.0/images`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: createReadStream(file, { highWaterMark: 1 << 20 }),
    });
    const body = (await res.body.json()) as { operation?: string; error?: string };
    if (!body.operation) throw new Error(`upload failed: ${res.statusCode} ${body.error ?? ''}`);
    const w = await request(`${LOCAL_ORIGIN}${body.operation}/wait?timeout=900`, { dispatcher: agent });
    const op = (await w.body.json()) as { metadata: { status_code: number; err: string; metadata: { fingerprint?: string } | null } };
    if (op.metadata.status_code !== 200) throw new Error(`import failed: ${op.metadata.err}`);
    fingerprint = op.metadata.metadata?.fingerprint ?? '';
    await agent.close();
  }
  return { wallMs: performance.now() - t0, fingerprint, maxRssKiB: process.resourceUsage().maxRSS };
}

/**
 * Case 2, equal work: the names and status of every container of the model, as a caller needs them
 * (one recursive listing carries both).
 */
async function listStatus(a: Args): Promise<unknown> {
  const socketPath = str(a, 'socketPath');
  const project = str(a, 'project');
  const prefix = str(a, 'prefix');
  const iterations = num(a, 'iterations');
  const walls: number[] = [];
  const cpus: number[] = [];
  const found: number[] = [];
  const client = new LxdClient({ socketPath, project });
  const once = async (): Promise<{ name: string; status: string }[]> =>
    (await client.instances.list({ recursion: 1 })).filter((i) => i.type === 'container' && i.name.startsWith(prefix)).map((i) => ({ name: i.name, status: i.status }));
  await once();
  for (let i = 0; i < iterations; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const got = await once();
    walls.push(performance.now() - t0);
    cpus.push(cpuMs(cpu0));
    found.push(got.filter((g) => g.status !== '').length);
  }
  await client.close();
  return { wallMs: walls, cpuMs: cpus, found };
}

/** Case 6: `count` round trips of `true` through execOutput(), one after another, after a warm-up. */
async function exec(a: Args): Promise<unknown> {
  const client = new LxdClient({ socketPath: str(a, 'socketPath'), project: str(a, 'project') });
  const name = str(a, 'name');
  for (let i = 0; i < num(a, 'warmup', 2); i++) await client.instances.execOutput(name, { command: ['true'] });
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < num(a, 'count'); i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await client.instances.execOutput(name, { command: ['true'] });
    walls.push(performance.now() - t0);
    cpus.push(cpuMs(cpu0));
    if (r.exitCode !== 0) throw new Error(`true exited with ${r.exitCode}`);
  }
  await client.close();
  return { wallMs: walls, cpuMs: cpus };
}

/** Case 7: push a local file into the instance (streamed) and report this process's peak RSS. */
async function push(a: Args): Promise<unknown> {
  const client = new LxdClient({ socketPath: str(a, 'socketPath'), project: str(a, 'project') });
  await client.server.info();
  const t0 = performance.now();
  await client.instances.files.pushFile(str(a, 'name'), str(a, 'file'), str(a, 'path'), { timeoutMs: 30 * 60_000 });
  const wallMs = performance.now() - t0;
  await client.close();
  return { wallMs, maxRssKiB: process.resourceUsage().maxRSS };
}

/** Case 7: pull a file from the instance into a local file (streamed) and report this process's peak RSS. */
async function pull(a: Args): Promise<unknown> {
  const client = new LxdClient({ socketPath: str(a, 'socketPath'), project: str(a, 'project') });
  await client.server.info();
  const t0 = performance.now();
  const info = await client.instances.files.pullFile(str(a, 'name'), str(a, 'path'), str(a, 'file'), { timeoutMs: 30 * 60_000 });
  const wallMs = performance.now() - t0;
  await client.close();
  return { wallMs, size: info.size, maxRssKiB: process.resourceUsage().maxRSS };
}

/** Migration bench: copy a custom volume to another server (`mode` relay or pull) and report this process's peak RSS. */
async function migrateVolume(a: Args): Promise<unknown> {
  const source = new LxdClient({ socketPath: str(a, 'source') });
  const target = new LxdClient({ socketPath: str(a, 'target') });
  await source.server.info();
  await target.server.info();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await source.storageVolumes.migrate(str(a, 'pool'), str(a, 'name'), { to: target, mode: str(a, 'mode') as 'relay' | 'pull', newName: str(a, 'newName'), timeoutMs: 30 * 60_000 });
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(cpu0);
  await source.close();
  await target.close();
  return { wallMs, cpuMs: cpu, maxRssKiB: process.resourceUsage().maxRSS };
}

/** The peak RSS of a worker that loads lxdkit and makes one request (the fixed cost under the import). */
async function baseline(a: Args): Promise<unknown> {
  const client = new LxdClient({ socketPath: str(a, 'socketPath') });
  await client.server.info();
  await client.close();
  return { maxRssKiB: process.resourceUsage().maxRSS };
}

const tasks: Record<string, (a: Args) => Promise<unknown>> = {
  get,
  list,
  'list-status': listStatus,
  launch,
  'launch-client': launchClient,
  wait,
  import: importImage,
  baseline,
  exec,
  push,
  pull,
  'scale-list': scaleList,
  'scale-list-peak': scaleListPeak,
  'scale-events': scaleEvents,
  'cluster-launch': clusterLaunch,
  'migrate-volume': migrateVolume,
};

async function main(): Promise<void> {
  const [task, json] = process.argv.slice(2);
  const fn = task ? tasks[task] : undefined;
  if (!fn) throw new Error(`unknown task ${task ?? '(none)'}; one of ${Object.keys(tasks).join(', ')}`);
  const out = await fn(JSON.parse(json ?? '{}') as Args);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
