/** Runs a piece of code in a fresh Node process, as an ES module that may import TypeScript (tsx). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

/** Runs `code` in a fresh process (cwd: the checkout) and resolves to its stdout, trimmed; a failure rejects with its stderr. */
export function runProbe(code: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', TSX, '--input-type=module', '-e', code], { cwd: ROOT, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}
