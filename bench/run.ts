/**
 * `npm run bench`: lxdkit side by side with raw undici, pylxd and LXD's own tools on the local LXD.
 *
 *   npm run bench                      full run, writes bench/RESULTS.md
 *   npm run bench -- --quick           small counts, prints the report (what the test suite runs)
 *   npm run bench -- --only launch     one case (request-overhead, listing, launch, operation-wait, memory,
 *                                      exec, transfer, startup)
 *   npm run bench -- --out FILE        write the report elsewhere
 *   npm run bench -- --render          re-render bench/RESULTS.md from the last full run's numbers
 *                                      (bench/.work/last-result.json) and the current bench/analysis.md
 *   npm run bench -- --cluster         the launch over the test cluster (scripts/cluster.sh up first):
 *                                      its section of bench/RESULTS.md (with --quick: printed)
 *   npm run bench -- --scale           the simulated large cluster (no daemon needed): its section
 *   npm run bench -- --metrics         parsing a /1.0/metrics answer of 10,000 samples (no daemon needed)
 *   npm run bench -- --migration       a 1 GiB volume from the host's LXD to the test cluster (relay, pull,
 *                                      lxc storage volume copy): its section (with --quick: 64 MiB, printed)
 *   npm run bench -- --bulk-state      start 100 containers with setStateAll, 100 setState calls and
 *                                      `lxc start` (`--bulk-count N` for another count): its section
 *
 * The --cluster, --scale, --metrics, --migration and --bulk-state sections are kept when the main report is written again.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, runBench, type BenchResult, type CaseId } from './bench.js';
import { renderBulkState, runBulkState } from './bulk-state.js';
import { renderClusterLaunch, runClusterLaunch } from './cluster-launch.js';
import { BENCH_DIR, removeWorkerBundle } from './harness.js';
import { renderReport } from './report.js';
import { renderMigration, runMigrationBench } from './migration.js';
import { renderScale, runScale } from './scale.js';
import { renderMetricsParse, runMetricsParse } from './metrics-parse.js';
import { markedSections, spliceSection, type SectionId } from './sections.js';

/** The report with the sections of --cluster and --scale that `previous` had. */
function withSections(report: string, previous: string): string {
  const kept = markedSections(previous);
  return kept ? `${report.trimEnd()}\n\n${kept}\n` : report;
}

/** Runs a case of its own and writes its section into the report (or prints it in quick mode). */
async function section(id: SectionId, quick: boolean, out: string | undefined, render: () => Promise<string>): Promise<number> {
  try {
    const text = await render();
    if (quick && !out) {
      process.stdout.write(`${text}\n`);
      return 0;
    }
    const file = out ?? join(BENCH_DIR, 'RESULTS.md');
    await writeFile(file, spliceSection(await readFile(file, 'utf8').catch(() => ''), id, text));
    process.stderr.write(`[bench] wrote the ${id} section of ${file}\n`);
    return 0;
  } finally {
    await removeWorkerBundle();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      out: { type: 'string' },
      socket: { type: 'string' },
      render: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      metrics: { type: 'boolean', default: false },
      migration: { type: 'boolean', default: false },
      'bulk-state': { type: 'boolean', default: false },
      'bulk-count': { type: 'string' },
    },
  });
  if (values.cluster) return section('cluster-launch', values.quick, values.out, async () => renderClusterLaunch(await runClusterLaunch({ mode: values.quick ? 'quick' : 'full', ...(values.socket ? { socketPath: values.socket } : {}) })));
  if (values.metrics) return section('metrics-parse', values.quick, values.out, async () => renderMetricsParse(runMetricsParse(values.quick ? { runs: 5 } : {})));
  if (values.migration) return section('migration', values.quick, values.out, async () => renderMigration(await runMigrationBench({ mode: values.quick ? 'quick' : 'full' })));
  if (values['bulk-state']) {
    const count = values['bulk-count'] !== undefined ? Number(values['bulk-count']) : values.quick ? 5 : 100;
    if (!Number.isInteger(count) || count < 1) throw new Error(`--bulk-count ${values['bulk-count']}: give a whole number of containers`);
    return section('bulk-state', values.quick, values.out, async () => renderBulkState(await runBulkState({ count, ...(values.socket ? { socketPath: values.socket } : {}) })));
  }
  if (values.scale) return section('scale', values.quick, values.out, async () => renderScale(await runScale(values.quick ? { sizes: [200, 1_000], listings: 2 } : {})));
  const last = join(BENCH_DIR, '.work', 'last-result.json');
  const analysis = await readFile(join(BENCH_DIR, 'analysis.md'), 'utf8').catch(() => '');
  if (values.render) {
    const saved = JSON.parse(await readFile(last, 'utf8')) as BenchResult;
    const out = values.out ?? join(BENCH_DIR, 'RESULTS.md');
    await writeFile(out, withSections(renderReport(saved, analysis), await readFile(out, 'utf8').catch(() => '')));
    process.stderr.write(`[bench] wrote ${out}\n`);
    return 0;
  }
  const only = values.only?.flatMap((o) => o.split(','));
  for (const id of only ?? []) {
    if (!(id in CASES)) throw new Error(`unknown case ${id}; one of ${Object.keys(CASES).join(', ')}`);
  }
  const mode = values.quick ? 'quick' : 'full';
  const result = await runBench({ mode, ...(only ? { only: only as CaseId[] } : {}), ...(values.socket ? { socketPath: values.socket } : {}) });
  if (mode === 'full' && !only) {
    await mkdir(join(BENCH_DIR, '.work'), { recursive: true });
    await writeFile(last, JSON.stringify(result));
  }
  const report = renderReport(result, mode === 'full' && !only ? analysis : '');
  const out = values.out ?? (mode === 'full' && !only ? join(BENCH_DIR, 'RESULTS.md') : undefined);
  if (out) {
    await writeFile(out, withSections(report, await readFile(out, 'utf8').catch(() => '')));
    process.stderr.write(`[bench] wrote ${out}\n`);
  } else {
    process.stdout.write(report);
  }
  const failed = result.cases.filter((c) => c.error);
  for (const c of failed) process.stderr.write(`[bench] case ${c.id} failed: ${c.error}\n`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
