/** Runs the built lxdkit command (dist/cli/main.cjs, package.json `bin`) as a subprocess, building it first when stale. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.cjs');

// The command keeps its code cache in $XDG_CACHE_HOME/lxdkit (docs/cli.md). The commands the specs
// run (each child inherits this process's environment) keep theirs in a directory of this run's own,
// removed when the process exits, so that the host's ~/.cache stays as it was; a killed run's is
// removed by a later run once it is an hour old.
const CACHE_PREFIX = 'lxdkit-spec-cache-';
for (const name of readdirSync(tmpdir())) {
  const path = join(tmpdir(), name);
  if (name.startsWith(CACHE_PREFIX) && Date.now() - statSync(path).mtimeMs > 3600_000) rmSync(path, { recursive: true, force: true });
}
const CACHE_HOME = mkdtempSync(join(tmpdir(), CACHE_PREFIX));
process.env['XDG_CACHE_HOME'] = CACHE_HOME;
process.once('exit', () => rmSync(CACHE_HOME, { recursive: true, force: true }));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The command's bundle (`tsc -p tsconfig.build.json` alone writes neither it nor main.cjs). */
const BUNDLE = join(ROOT, 'dist', 'cli', 'lxdkit.cjs');

/** Builds dist/ when it is missing or older than lib/ (the command's bundle included). */
export function ensureBuilt(): void {
  const newest = newestMtime(join(ROOT, 'lib'));
  if (existsSync(CLI) && existsSync(BUNDLE) && statSync(CLI).mtimeMs >= newest && statSync(BUNDLE).mtimeMs >= newest) return;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function lxdkit(args: string[], cwd = ROOT, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
