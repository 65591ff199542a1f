/**
 * Case 1, request overhead: GET /1.0/instances/NAME many times, one after another and 8 at a time,
 * through lxdkit, raw undici on the same socket (the floor) and pylxd. Each run is its own process;
 * wall time and the client's CPU time are taken inside it, after a warm-up long enough that V8 has
 * compiled the hot path: the timed loop measures what a request costs, not the compiler's start-up
 * (with 20 warm-up requests, V8's optimising compiler was still at work in background threads through
 * most of the 2,000, and its CPU counted as the requests').
 */
import { median, pylxd, run, worker, workerBundle, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/**
 * Instructions per request of one client, counted by valgrind (callgrind): the difference between a
 * run of `long` and one of `short` requests, divided by the difference. V8 runs single-threaded, so
 * that its garbage collection and its compilers run, and are counted, on the one thread. A count of
 * instructions does not vary with what else the host runs; CPU time on this VM varies by a fifth
 * from one run of the same client to the next.
 */
async function instructionsPerRequest(args: Record<string, unknown>, contender: 'lxdkit' | 'undici', short: number, long: number): Promise<number> {
  const count = async (n: number): Promise<number> => {
    const r = await run('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', await workerBundle(), 'get', JSON.stringify({ ...args, contender, count: n })]);
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (r.code !== 0 || !m) throw new Error(`callgrind of ${contender} failed (${r.code}): ${r.stderr.slice(-800)}`);
    return Number(m[1]);
  };
  return ((await count(long)) - (await count(short))) / (long - short);
}

export async function requestOverhead(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const count = quick ? 20 : 2_000;
  const repeats = quick ? 1 : 5;
  const pylxdRepeats = quick ? 1 : 2;
  const warmup = quick ? 20 : 1_000;
  const name = 'bench-get';
  await (await ctx.client.instances.create({ name, type: 'container', source: { type: 'image', alias: ctx.imageAlias } })).wait({ timeoutMs: 120_000 });

  const samples: Sample[] = [];
  const variants = [
    { label: 'sequential', concurrency: 1 },
    { label: '8 at a time', concurrency: 8 },
  ];
  for (const v of variants) {
    const runs: Record<string, Timing[]> = { 'raw undici': [], [LXDKIT]: [], pylxd: [] };
    const args = { socketPath: ctx.socketPath, project: ctx.project, name, count, concurrency: v.concurrency, warmup };
    for (let r = 0; r < repeats; r++) {
      // alternate the order so that drift in the daemon does not favour one side
      const order = r % 2 === 0 ? ['raw undici', LXDKIT] : [LXDKIT, 'raw undici'];
      for (const who of order) {
        runs[who]!.push(await worker<Timing>('get', { ...args, contender: who === LXDKIT ? 'lxdkit' : 'undici' }));
      }
      if (r < pylxdRepeats) runs['pylxd']!.push(await pylxd<Timing>('get', args));
      ctx.log(`case 1 ${v.label} run ${r + 1}/${repeats}: lxdkit ${runs[LXDKIT]!.at(-1)!.wallMs.toFixed(0)} ms, undici ${runs['raw undici']!.at(-1)!.wallMs.toFixed(0)} ms`);
    }
    for (const [who, list] of Object.entries(runs)) {
      const how = `${count} GETs`;
      samples.push({ variant: v.label, contender: who, metric: 'wall', unit: 'ms', values: list.map((x) => x.wallMs), how });
      samples.push({ variant: v.label, contender: who, metric: 'cpu', unit: 'ms', values: list.map((x) => x.cpuMs), how });
    }
  }

  // instructions per request (sequential): not in a quick run (valgrind makes a run ~50 times slower)
  const instr: Record<string, number> = {};
  if (!quick) {
    const args = { socketPath: ctx.socketPath, project: ctx.project, name, concurrency: 1, warmup: 300 };
    for (const who of ['raw undici', LXDKIT]) {
      instr[who] = await instructionsPerRequest(args, who === LXDKIT ? 'lxdkit' : 'undici', 100, 600);
      samples.push({ variant: 'sequential', contender: who, metric: 'instructions', unit: 'k', values: [instr[who]! / 1000], how: 'instructions per request (callgrind)' });
    }
    ctx.log(`case 1 instructions per request: lxdkit ${(instr[LXDKIT]! / 1000).toFixed(0)} k, undici ${(instr['raw undici']! / 1000).toFixed(0)} k`);
  }

  const med = (variant: string, who: string, metric: 'wall' | 'cpu'): number =>
    median(samples.find((s) => s.variant === variant && s.contender === who && s.metric === metric)?.values ?? []);
  const checks = variants.flatMap((v) => {
    const wall = med(v.label, LXDKIT, 'wall') / med(v.label, 'raw undici', 'wall');
    const cpu = med(v.label, LXDKIT, 'cpu') / med(v.label, 'raw undici', 'cpu');
    const py = med(v.label, LXDKIT, 'wall') / med(v.label, 'pylxd', 'wall');
    return [
      { target: `${v.label}: wall time within 10 % of raw undici`, met: wall <= 1.1, detail: `×${wall.toFixed(2)}` },
      { target: `${v.label}: client CPU within 10 % of raw undici`, met: cpu <= 1.1, detail: `×${cpu.toFixed(2)}` },
      { target: `${v.label}: faster than pylxd`, met: py < 1, detail: `×${py.toFixed(2)}` },
    ];
  });
  if (instr[LXDKIT] !== undefined && instr['raw undici'] !== undefined) {
    const ratio = instr[LXDKIT] / instr['raw undici'];
    checks.push({ target: 'sequential: client instructions per request within 10 % of raw undici (callgrind)', met: ratio <= 1.1, detail: `×${ratio.toFixed(2)} (${(instr[LXDKIT] / 1000).toFixed(0)} k ÷ ${(instr['raw undici'] / 1000).toFixed(0)} k)` });
  }
  await (await ctx.client.instances.delete(name)).wait({ timeoutMs: 120_000 });
  return {
    id: 'request-overhead',
    title: `1. Request overhead: ${count} × GET /1.0/instances/NAME`,
    samples,
    checks,
    notes: [
      `Each run is a fresh process: ${repeats} runs per client (pylxd ${pylxdRepeats}), after ${warmup} untimed warm-up requests each (so that V8 has compiled the hot path: with 20, the optimising compiler's background threads were still busy through most of the timed loop, and the client with more code to compile paid more for it); wall and CPU (user + system, every thread of the process) are measured inside the process around the timed loop only.`,
      'raw undici: `undici.request` on an `Agent` over the same socket, `body.json()`, nothing else (no validation). pylxd: `client.containers.get(name)`; 8 at a time = a thread pool of 8.',
      'Instructions per request: each client run under valgrind (callgrind) with 100 and with 600 timed requests after 300 untimed ones, V8 single-threaded (its garbage collection and compilers run on the one thread and are counted); the difference over 500. Unlike CPU time, which on this 2-vCPU VM differs by up to a fifth between two runs of the same client, it does not depend on what else the host is doing.',
    ],
  };
}
