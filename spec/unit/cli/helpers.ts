import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/logger.js';
import { StringStream } from '../../../lib/cli/io.js';
import { runCli } from '../../../lib/cli/program.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with string streams (no terminal) and a silent logger. */
export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const stdout = new StringStream();
  const stderr = new StringStream();
  const code = await runCli(args, { stdout, stderr, env: opts.env ?? {}, cwd: opts.cwd ?? process.cwd() }, { logger: silentLogger });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const made: string[] = [];

/** A temp directory with the given files; `removeTempFiles()` removes every one made so far. */
export function tempFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxdkit-cli-unit-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Removes the directories `tempFiles()` made (call it from an `after` hook). */
export function removeTempFiles(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A "billion laughs" profile: 9 strings, then 10 levels of 9 aliases of the level below: 9^11 (about 3e10) strings once expanded. */
export function aliasBomb(): string {
  let text = 'name: bomb\nconfig:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= 10; i++) text += `  l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
  return text;
}
