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
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, runBench, type BenchResult, type CaseId } from './bench.js';
import { BENCH_DIR } from './harness.js';
import { renderReport } from './report.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      out: { type: 'string' },
      socket: { type: 'string' },
      render: { type: 'boolean', default: false },
    },
  });
  const last = join(BENCH_DIR, '.work', 'last-result.json');
  const analysis = await readFile(join(BENCH_DIR, 'analysis.md'), 'utf8').catch(() => '');
  if (values.render) {
    const saved = JSON.parse(await readFile(last, 'utf8')) as BenchResult;
    const out = values.out ?? join(BENCH_DIR, 'RESULTS.md');
    await writeFile(out, renderReport(saved, analysis));
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
    await writeFile(out, report);
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
