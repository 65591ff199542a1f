/**
 * Case 2, listing at scale: `LxdManager.listContainers()` over N stopped containers of one model,
 * against a raw `GET /1.0/instances?recursion=1`, pylxd's `client.containers.all()` and
 * `lxc list --format json`.
 */
import { randomUUID } from 'node:crypto';
import { createStopped, emptyProject, measured, median, pylxd, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Runs {
  wallMs: number[];
  cpuMs: number[];
  found: number[];
  requests?: number;
  /** Requests of a fresh client's first call (the once-per-client project check included). */
  firstRequests?: number;
}

export async function listing(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const n = quick ? 3 : 200;
  const procs = quick ? 1 : 3;
  const iterations = quick ? 2 : 10;
  const lxcRuns = quick ? 1 : 10;
  const uuid = randomUUID();
  const prefix = `juju-${uuid.slice(-6)}-`;
  const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const t0 = performance.now();
  await createStopped(ctx.client, names, ctx.imageAlias, 4);
  ctx.log(`case 2: created ${n} stopped containers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const samples: Sample[] = [];
  const add = (who: string, runs: Runs[], how: string): void => {
    samples.push({ variant: `${n} containers`, contender: who, metric: 'wall', unit: 'ms', values: runs.flatMap((r) => r.wallMs), how });
    samples.push({ variant: `${n} containers`, contender: who, metric: 'cpu', unit: 'ms', values: runs.flatMap((r) => r.cpuMs), how });
  };
  const args = { socketPath: ctx.socketPath, project: ctx.project, uuid, prefix, iterations };
  const lx: Runs[] = [];
  const raw: Runs[] = [];
  const py: Runs[] = [];
  for (let p = 0; p < procs; p++) {
    raw.push(await worker<Runs>('list', { ...args, contender: 'undici' }));
    lx.push(await worker<Runs>('list', { ...args, contender: 'lxdkit' }));
    py.push(await pylxd<Runs>('list', args));
  }
  // equal work: names and status (pylxd must fetch each container to tell its status)
  const eqVariant = `${n} containers, names and status`;
  const lxEq: Runs[] = [];
  const pyEq: Runs[] = [];
  for (let p = 0; p < procs; p++) {
    lxEq.push(await worker<Runs>('list-status', args));
    pyEq.push(await pylxd<Runs>('list-status', args));
  }
  const lxc: Runs = { wallMs: [], cpuMs: [], found: [] };
  for (let i = 0; i < lxcRuns; i++) {
    const m = await measured('lxc', ['list', '--project', ctx.project, '--format', 'json']);
    const listed = JSON.parse(m.stdout) as { name: string }[];
    lxc.wallMs.push(m.wallMs);
    lxc.cpuMs.push(m.cpuMs);
    lxc.found.push(listed.filter((x) => x.name.startsWith(prefix)).length);
  }
  for (const [who, runs] of [['lxdkit', lx], ['raw undici', raw], ['pylxd', py], ['lxc', [lxc]], ['lxdkit (names and status)', lxEq], ['pylxd (names and status)', pyEq]] as const) {
    const wrong = runs.flatMap((r) => r.found).filter((f) => f !== n);
    if (wrong.length) throw new Error(`${who} listed ${wrong[0]} containers instead of ${n}`);
  }
  add(LXDKIT, lx, 'manager.listContainers()');
  add('raw undici', raw, 'GET ?recursion=1 + JSON.parse + name filter');
  add('pylxd', py, 'client.containers.all() (names only)');
  add('lxc', [lxc], '`lxc list --format json` (whole process)');
  for (const [who, runs, how] of [
    [LXDKIT, lxEq, 'instances.list({ recursion: 1 }): name and status of each'],
    ['pylxd', pyEq, '[(c.name, c.status) for c in containers.all()]: one GET per container'],
  ] as const) {
    samples.push({ variant: eqVariant, contender: who, metric: 'wall', unit: 'ms', values: runs.flatMap((r) => r.wallMs), how });
    samples.push({ variant: eqVariant, contender: who, metric: 'cpu', unit: 'ms', values: runs.flatMap((r) => r.cpuMs), how });
  }

  const requests = lx[0]?.requests ?? Number.NaN;
  const firstRequests = lx[0]?.firstRequests ?? Number.NaN;
  const med = (who: string, metric: 'wall' | 'cpu', variant = `${n} containers`): number => median(samples.find((s) => s.contender === who && s.metric === metric && s.variant === variant)?.values ?? []);
  const eqVsPy = med(LXDKIT, 'wall', eqVariant) / med('pylxd', 'wall', eqVariant);
  const vsRaw = med(LXDKIT, 'wall') / med('raw undici', 'wall');
  const vsPy = med(LXDKIT, 'wall') / med('pylxd', 'wall');
  const vsLxc = med(LXDKIT, 'wall') / med('lxc', 'wall');
  const t1 = performance.now();
  await emptyProject(ctx.socketPath, ctx.project);
  ctx.log(`case 2: removed them in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  return {
    id: 'listing',
    title: `2. Listing at scale: listContainers over ${n} containers (created, not started)`,
    samples,
    checks: [
      { target: 'one request per listContainers()', met: requests === 1, detail: `${requests} request(s)` },
      { target: 'within 20 % of a raw recursion=1 GET', met: vsRaw <= 1.2, detail: `×${vsRaw.toFixed(2)}` },
      { target: 'faster than pylxd', met: vsPy < 1, detail: `×${vsPy.toFixed(2)}` },
      { target: 'faster than `lxc list --format json`', met: vsLxc < 1, detail: `×${vsLxc.toFixed(2)}` },
      { target: 'names and status: faster than pylxd', met: eqVsPy < 1, detail: `×${eqVsPy.toFixed(2)}` },
    ],
    notes: [
      `lxdkit, raw undici and pylxd: ${procs} processes × ${iterations} timed calls each after one untimed call; the median is over all calls. lxc: ${lxcRuns} runs of the whole command (process start included, as a user sees it).`,
      `The request count is taken with a counting undici dispatcher on a separate client (the timed client is a default one), on its second call: the steady state. A fresh client's first call in a project made ${firstRequests}, as it checks once that the project exists (an unknown project's listing answers empty).`,
      "pylxd 2.2.10's `containers.all()` asks for names only (recursion=0) and returns objects with just the name; `lxc list --format json` asks for recursion=2 (state included) and prints every field.",
      'The names-and-status rows do equal work: what a caller needs to show the model\'s containers. lxdkit gets both from one recursive listing; a pylxd user reads `status` from each object of `containers.all()`, which fetches that container (one GET each).',
    ],
  };
}
