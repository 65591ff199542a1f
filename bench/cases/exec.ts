/**
 * Case 6, exec round trip: run `true` in a running busybox container, one call after another, through
 * lxdkit's `execOutput()`, pylxd's `execute()` (each in its own process, timed per call after a
 * warm-up) and `lxc exec` (a process per call, as a shell user runs it).
 */
import { measured, median, pylxd, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Calls {
  wallMs: number[];
  cpuMs: number[];
}

export async function execRoundTrip(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const count = quick ? 3 : 50;
  const pylxdCount = quick ? 2 : 20;
  const lxcRuns = quick ? 2 : 30;
  const name = 'bench-exec';
  await (await ctx.client.instances.create({ name, type: 'container', source: { type: 'image', alias: ctx.imageAlias } })).wait({ timeoutMs: 120_000 });
  await (await ctx.client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 120_000 });
  const args = { socketPath: ctx.socketPath, project: ctx.project, name, count };
  const lx = await worker<Calls>('exec', args);
  const py = await pylxd<Calls>('exec', { ...args, count: pylxdCount });
  const lxc: Calls = { wallMs: [], cpuMs: [] };
  for (let i = 0; i < lxcRuns; i++) {
    const m = await measured('lxc', ['exec', '--project', ctx.project, name, '--', 'true']);
    lxc.wallMs.push(m.wallMs);
    lxc.cpuMs.push(m.cpuMs);
  }
  ctx.log(`case 6: lxdkit ${median(lx.wallMs).toFixed(1)} ms, pylxd ${median(py.wallMs).toFixed(1)} ms, lxc ${median(lxc.wallMs).toFixed(1)} ms per call`);
  const samples: Sample[] = [];
  const variant = '`true`, one call after another';
  for (const [who, runs, how] of [
    [LXDKIT, lx, `instances.execOutput(name, { command: ['true'] }), ${count} calls in one process`],
    ['pylxd', py, `container.execute(['true']), ${pylxdCount} calls in one process`],
    ['lxc', lxc, `\`lxc exec NAME -- true\`, ${lxcRuns} runs (process start included)`],
  ] as const) {
    samples.push({ variant, contender: who, metric: 'wall', unit: 'ms', values: runs.wallMs, how });
    samples.push({ variant, contender: who, metric: 'cpu', unit: 'ms', values: runs.cpuMs, how });
  }
  const vsPy = median(lx.wallMs) / median(py.wallMs);
  const vsLxc = median(lx.wallMs) / median(lxc.wallMs);
  return {
    id: 'exec',
    title: '6. Exec round trip: `true` in a running container',
    samples,
    checks: [
      { target: "faster than pylxd's execute()", met: vsPy < 1, detail: `×${vsPy.toFixed(2)}` },
      { target: 'faster than `lxc exec` (a process per call)', met: vsLxc < 1, detail: `×${vsLxc.toFixed(2)}` },
    ],
    notes: [
      'One round trip is the exec POST, four websockets connected at once (stdin, stdout, stderr, control), the command, both output barriers and the operation\'s end (through the events websocket for lxdkit, `/wait` for pylxd).',
      "lxc's time includes starting its process (about 10 ms of a Go binary); lxdkit's and pylxd's are calls in a warm process. The start-up case compares `lxdkit exec` as a command with `lxc exec`.",
    ],
  };
}
