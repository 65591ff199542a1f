/**
 * Case 1, request overhead: GET /1.0/instances/NAME many times, one after another and 8 at a time,
 * through lxdkit, raw undici on the same socket (the floor) and pylxd. Each run is its own process;
 * wall time and the client's CPU time are taken inside it, after a warm-up long enough that V8 has
 * compiled the hot path: the timed loop measures what a request costs, not the compiler's start-up
 * (with 20 warm-up requests, V8's optimising compiler was still at work in background threads through
 * most of the 2,000, and its CPU counted as the requests').
 */
import { median, pylxd, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Timing {
  wallMs: number;
  cpuMs: number;
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
  await (await ctx.client.instances.delete(name)).wait({ timeoutMs: 120_000 });
  return {
    id: 'request-overhead',
    title: `1. Request overhead: ${count} × GET /1.0/instances/NAME`,
    samples,
    checks,
    notes: [
      `Each run is a fresh process: ${repeats} runs per client (pylxd ${pylxdRepeats}), after ${warmup} untimed warm-up requests each (so that V8 has compiled the hot path: with 20, the optimising compiler's background threads were still busy through most of the timed loop, and the client with more code to compile paid more for it); wall and CPU (user + system, every thread of the process) are measured inside the process around the timed loop only.`,
      'raw undici: `undici.request` on an `Agent` over the same socket, `body.json()`, nothing else (no validation). pylxd: `client.containers.get(name)`; 8 at a time = a thread pool of 8.',
    ],
  };
}
