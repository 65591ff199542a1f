/**
 * `npx tsx bench/profile-files.ts`: how long lxdkit takes to read hostile profile files (no daemon
 * needed). Prints the median of a few runs for each: 40,000 config keys in one map (the repeated-key
 * check is linear: one Set per map), the largest file accepted (`MAX_PROFILE_FILE_BYTES`), and
 * `/dev/zero` (refused at the cap, read no further).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfileFiles, MAX_PROFILE_FILE_BYTES, ProfileFileError } from '../lib/cli/profile-files.js';

function manyKeys(keys: number): string {
  const lines = ['name: many', 'config:'];
  for (let i = 0; i < keys; i++) lines.push(`  user.k${i}: "v${i}"`);
  return `${lines.join('\n')}\n`;
}

function largest(): string {
  const lines = ['name: largest', 'config:'];
  let size = lines.join('\n').length + 1;
  for (let i = 0; ; i++) {
    const line = `  user.k${i}: "v${i}"`;
    if (size + line.length + 1 > MAX_PROFILE_FILE_BYTES) break;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

async function time(label: string, runs: number, fn: () => Promise<unknown>): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  process.stdout.write(`${label.padEnd(48)} ${ms[Math.floor(ms.length / 2)]!.toFixed(0).padStart(6)} ms (median of ${runs})\n`);
}

const dir = await mkdtemp(join(tmpdir(), 'lxdkit-bench-profiles-'));
try {
  const many = join(dir, 'many.yaml');
  const big = join(dir, 'largest.yaml');
  await writeFile(many, manyKeys(40_000));
  await writeFile(big, largest());
  await time('40,000 keys in one map (about 750 KB)', 5, () => loadProfileFiles([many], dir));
  await time(`the largest file accepted (${MAX_PROFILE_FILE_BYTES} bytes)`, 3, () => loadProfileFiles([big], dir));
  await time('/dev/zero (refused at the cap)', 5, () =>
    loadProfileFiles(['/dev/zero'], dir).then(
      () => {
        throw new Error('/dev/zero was accepted');
      },
      (err: unknown) => {
        if (!(err instanceof ProfileFileError)) throw err;
      },
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
