/**
 * Case 8, start-up as a shell user feels it: the built `lxdkit` command (`--help`, `status`,
 * `exec NAME -- true`) beside `lxc`, and `import('lxdkit')` beside a bare `node`: wall time and peak
 * RSS of the whole process, median of several runs.
 */
import { CLI_MAIN, REPO_DIR, ensureBuilt, measured, median, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';
import { join } from 'node:path';

export async function startup(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const runs = quick ? 2 : 15;
  await ensureBuilt();
  const name = 'bench-startup';
  await (await ctx.client.instances.create({ name, type: 'container', source: { type: 'image', alias: ctx.imageAlias } })).wait({ timeoutMs: 120_000 });
  await (await ctx.client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 120_000 });
  const node = process.execPath;
  const lxdkit = (...args: string[]): [string, string[]] => [node, [CLI_MAIN, ...args]];
  const index = join(REPO_DIR, 'dist', 'index.js');
  const pairs: { variant: string; mine: [string, string[]]; mineHow: string; peer: string; theirs: [string, string[]]; theirsHow: string }[] = [
    { variant: '--help', mine: lxdkit('--help'), mineHow: '`lxdkit --help`', peer: 'lxc', theirs: ['lxc', ['--help']], theirsHow: '`lxc --help`' },
    { variant: 'status', mine: lxdkit('status'), mineHow: '`lxdkit status` (server, pools, networks, instances)', peer: 'lxc', theirs: ['lxc', ['info']], theirsHow: '`lxc info` (server)' },
    { variant: 'exec true', mine: lxdkit('--project', ctx.project, 'exec', name, '--', 'true'), mineHow: '`lxdkit exec NAME -- true`', peer: 'lxc', theirs: ['lxc', ['exec', '--project', ctx.project, name, '--', 'true']], theirsHow: '`lxc exec NAME -- true`' },
    { variant: 'load the library', mine: [node, ['--input-type=module', '-e', `await import(${JSON.stringify(index)})`]], mineHow: "`node -e \"await import('lxdkit')\"`", peer: 'bare node', theirs: [node, ['-e', '0']], theirsHow: '`node -e 0`' },
  ];
  const samples: Sample[] = [];
  const medians: Record<string, { wall: number; rss: number }> = {};
  for (const p of pairs) {
    const mine = { wall: [] as number[], rss: [] as number[] };
    const theirs = { wall: [] as number[], rss: [] as number[] };
    for (let i = 0; i < runs; i++) {
      // alternate, so that drift on the host does not favour one side
      for (const [side, cmd] of i % 2 === 0 ? ([[mine, p.mine], [theirs, p.theirs]] as const) : ([[theirs, p.theirs], [mine, p.mine]] as const)) {
        const m = await measured(cmd[0], cmd[1]);
        side.wall.push(m.wallMs);
        side.rss.push(m.maxRssKiB / 1024);
      }
    }
    samples.push({ variant: p.variant, contender: LXDKIT, metric: 'wall', unit: 'ms', values: mine.wall, how: p.mineHow });
    samples.push({ variant: p.variant, contender: LXDKIT, metric: 'rss', unit: 'MiB', values: mine.rss, how: p.mineHow });
    samples.push({ variant: p.variant, contender: p.peer, metric: 'wall', unit: 'ms', values: theirs.wall, how: p.theirsHow });
    samples.push({ variant: p.variant, contender: p.peer, metric: 'rss', unit: 'MiB', values: theirs.rss, how: p.theirsHow });
    medians[p.variant] = { wall: median(mine.wall), rss: median(mine.rss) };
    ctx.log(`case 8 ${p.variant}: lxdkit ${median(mine.wall).toFixed(0)} ms ${median(mine.rss).toFixed(0)} MiB, ${p.peer} ${median(theirs.wall).toFixed(0)} ms ${median(theirs.rss).toFixed(0)} MiB`);
  }
  const help = medians['--help']!;
  return {
    id: 'startup',
    title: '8. Start-up: the lxdkit command and the library, as a shell user runs them',
    samples,
    checks: [{ target: '`lxdkit --help` under 0.25 s', met: help.wall < 250, detail: `${help.wall.toFixed(0)} ms` }],
    notes: [
      `${runs} runs of each command, alternating with its peer; wall time and peak RSS of the whole process (bench/peers/measure.py), medians. \`lxdkit\` is the built dist/cli/main.js run by Node ${process.version}; \`lxc\` is a Go binary.`,
      '`lxdkit status` makes four requests (server, storage pools, networks, instances) and prints a summary; `lxc info` makes one. The library row loads the package root (every export) and makes no request.',
    ],
  };
}
