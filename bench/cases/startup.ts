/**
 * Case 8, start-up as a shell user feels it: the built `lxdkit` command (`--help`, `status`,
 * `container list`) beside a bare `node -e 0` and beside `lxc` (`--help`, `info`, `list`), all in the
 * same run, alternating, and `import('lxdkit')` beside the bare `node`: wall time, CPU time and peak
 * RSS of the whole process, medians of several runs. The goals are ratios to the bare `node` of the
 * same run, so that how busy the host is weighs on both sides alike.
 */
import { CLI_MAIN, REPO_DIR, ensureBuilt, measured, median, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BARE = 'bare node';

export async function startup(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  // 41: on a 2-vCPU host the load drifts within a row, and a median of 21 moved a ratio by ±0.1 from one run to the next
  const runs = quick ? 3 : 41;
  await ensureBuilt();
  const node = process.execPath;
  const lxdkit = (...args: string[]): [string, string[]] => [node, [CLI_MAIN, ...args]];
  const bare: [string, string[]] = [node, ['-e', '0']];
  const index = join(REPO_DIR, 'dist', 'index.js');
  // a model with no containers: the listing is one request, as `lxc list` in the bench project
  const model = '00000000-0000-4000-8000-00000000b0b0';
  const variants: { variant: string; goal: number | undefined; mine: [string, string[]]; mineHow: string; peer: [string, string[]] | undefined; peerHow: string }[] = [
    { variant: '--help', goal: 1.3, mine: lxdkit('--help'), mineHow: '`lxdkit --help`', peer: ['lxc', ['--help']], peerHow: '`lxc --help`' },
    { variant: 'status', goal: 2, mine: lxdkit('status'), mineHow: '`lxdkit status` (server, pools, networks, instances)', peer: ['lxc', ['info']], peerHow: '`lxc info` (server)' },
    { variant: 'container list', goal: 2, mine: lxdkit('--project', ctx.project, 'container', 'list', '--model', model), mineHow: '`lxdkit container list --model UUID`', peer: ['lxc', ['list', '--project', ctx.project]], peerHow: '`lxc list`' },
    { variant: 'load the library', goal: undefined, mine: [node, ['--input-type=module', '-e', `await import(${JSON.stringify(index)})`]], mineHow: "`node -e \"await import('lxdkit')\"`", peer: undefined, peerHow: '' },
  ];
  const samples: Sample[] = [];
  const checks: CaseResult['checks'] = [];
  const summary: string[] = [];
  const cold: string[] = [];
  // the command's code cache and kept --help (docs/cli.md) in a directory of the bench's own: the
  // first run of each command finds none (its time is in the notes), the timed runs find it made
  const savedCacheHome = process.env['XDG_CACHE_HOME'];
  const cacheHome = await mkdtemp(join(tmpdir(), 'lxdkit-bench-cache-'));
  process.env['XDG_CACHE_HOME'] = cacheHome;
  try {
    for (const v of variants) {
      if (v.mine[1][0] === CLI_MAIN) cold.push(`${v.variant} ${(await measured(v.mine[0], v.mine[1])).wallMs.toFixed(0)} ms`);
      const sides = [
        { who: LXDKIT, cmd: v.mine, how: v.mineHow },
        { who: BARE, cmd: bare, how: '`node -e 0`' },
        ...(v.peer ? [{ who: 'lxc', cmd: v.peer, how: v.peerHow }] : []),
      ].map((s) => ({ ...s, wall: [] as number[], cpu: [] as number[], rss: [] as number[] }));
      for (let i = 0; i < runs; i++) {
        // rotate the order, so that drift on the host favours no side
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(i + k) % sides.length]!;
          const m = await measured(side.cmd[0], side.cmd[1]);
          side.wall.push(m.wallMs);
          side.cpu.push(m.cpuMs);
          side.rss.push(m.maxRssKiB / 1024);
        }
      }
      for (const s of sides) {
        samples.push({ variant: v.variant, contender: s.who, metric: 'wall', unit: 'ms', values: s.wall, how: s.how });
        samples.push({ variant: v.variant, contender: s.who, metric: 'cpu', unit: 'ms', values: s.cpu, how: s.how });
        samples.push({ variant: v.variant, contender: s.who, metric: 'rss', unit: 'MiB', values: s.rss, how: s.how });
      }
      const mine = median(sides[0]!.wall);
      const base = median(sides[1]!.wall);
      const ratio = mine / base;
      summary.push(`${v.variant} ×${ratio.toFixed(2)}`);
      ctx.log(`case 8 ${v.variant}: lxdkit ${mine.toFixed(0)} ms, bare node ${base.toFixed(0)} ms (×${ratio.toFixed(2)})${v.peer ? `, lxc ${median(sides[2]!.wall).toFixed(0)} ms` : ''}`);
      if (v.goal !== undefined) checks.push({ target: `${v.mineHow} within ×${v.goal} of a bare \`node -e 0\` (wall)`, met: ratio <= v.goal, detail: `×${ratio.toFixed(2)} (${mine.toFixed(0)} ms ÷ ${base.toFixed(0)} ms)` });
    }
  } finally {
    if (savedCacheHome === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = savedCacheHome;
    await rm(cacheHome, { recursive: true, force: true });
  }
  return {
    id: 'startup',
    title: '8. Start-up: the lxdkit command beside a bare node and lxc, and the library',
    samples,
    checks,
    notes: [
      `${runs} runs of each command, its bare \`node -e 0\` and its \`lxc\` peer taking turns in a rotating order; wall time, CPU time (user + system) and peak RSS of the whole process (bench/peers/measure.py), medians. \`lxdkit\` is the built dist/cli/main.cjs (package.json \`bin\`), which compiles the esbuild bundle dist/cli/lxdkit.cjs with V8's code cache of an earlier run, run by Node ${process.version}; \`lxc\` is a Go binary. The goals are ratios to the bare \`node\` of the same variant.`,
      `The cache (docs/cli.md, "Start-up and its cache") is in a directory of the bench's own, empty at the start: the first run of each command, untimed, makes it (${cold.join(', ')}), and the timed runs use it, as every run after a command's first does.`,
      '`lxdkit status` makes four requests (server, storage pools, networks, instances) and prints a summary; `lxc info` makes one. `container list` lists a model with no containers in the bench project (one request, as `lxc list`). The library row loads the package root (every export) and makes no request.',
      `Ratios to bare node: ${summary.join(', ')}.`,
    ],
  };
}
