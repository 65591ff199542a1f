/**
 * What the image, network and storage commands share: list formats (`--format table|json|yaml|csv`,
 * as `lxc` has them), `show` as YAML, `KEY=VALUE` arguments, and `edit` (the object as YAML in
 * `$EDITOR`, or read from a piped stdin, then written back with the ETag it was read with).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { CliContext } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { terminalSafe } from './log-pretty.js';
import { renderTable, type Column } from './output.js';
import { MAX_ALIAS_COUNT } from './profile-files.js';

/** The list formats `lxc … list --format` knows. */
export const LIST_FORMATS = ['table', 'json', 'yaml', 'csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

/** The largest YAML `edit` accepts (from the editor or stdin). */
export const MAX_EDIT_BYTES = 1024 * 1024;

/** The format to print a list in: `--format`, else JSON with the global `--json`, else a table. */
export function listFormat(ctx: { json: boolean }, format: string | undefined): ListFormat {
  if (format === undefined) return ctx.json ? 'json' : 'table';
  if (!(LIST_FORMATS as readonly string[]).includes(format)) throw new CliError(ExitCode.USAGE, `--format ${format}: give table, json, yaml or csv`);
  return format as ListFormat;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvCell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '';
  return csvField(terminalSafe(String(v)));
}

/**
 * A list in `format`: a table (or CSV without a header, as `lxc` prints it) of `columns`, or the
 * server's objects (`raw`) as JSON or YAML.
 */
export function renderList<T>(rows: readonly T[], columns: readonly Column<T>[], format: ListFormat, raw: (row: T) => unknown = (r) => r): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map(raw), null, 2)}\n`;
    case 'yaml':
      return rows.length === 0 ? '[]\n' : stringify(rows.map(raw), { lineWidth: 0 });
    case 'csv':
      return rows.map((r) => columns.map((c) => csvCell(c.value(r))).join(',') + '\n').join('');
    default:
      return renderTable(rows, columns);
  }
}

/** An object as `lxc … show` prints it: YAML, long lines kept whole. */
export function showYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/**
 * `KEY=VALUE` arguments (`create`, `set`) as a map. A missing `=` or an empty key is a usage error,
 * found before any I/O; the same key given twice too.
 */
export function parseKeyValues(args: readonly string[], what = 'config'): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new CliError(ExitCode.USAGE, `${what} "${terminalSafe(arg)}": give KEY=VALUE`);
    const key = arg.slice(0, eq);
    if (key === '__proto__' || /\s/.test(key)) throw new CliError(ExitCode.USAGE, `${what} key "${terminalSafe(key)}" is not a valid key`);
    if (key in out) throw new CliError(ExitCode.USAGE, `${what} key "${terminalSafe(key)}" is given twice`);
    out[key] = arg.slice(eq + 1);
  }
  return { ...out };
}

/** `set KEY VALUE` or `set KEY=VALUE…`, as `lxc … set` takes them. */
export function parseSetArgs(args: readonly string[]): Record<string, string> {
  if (args.length === 0) throw new CliError(ExitCode.USAGE, 'give KEY VALUE, or KEY=VALUE…');
  if (args.length === 2 && !args[0]!.includes('=')) return parseKeyValues([`${args[0]}=${args[1]}`]);
  return parseKeyValues(args);
}

/** Parses the YAML of an edit (at most 1 MiB, no `__proto__`, aliases bounded) into a map. */
export function parseEditYaml(text: string, what: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_EDIT_BYTES) throw new CliError(ExitCode.INVALID_INPUT, `${what}: the YAML is over ${MAX_EDIT_BYTES} bytes`);
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad) throw new CliError(ExitCode.INVALID_INPUT, `${what}: YAML syntax: ${bad.message.split('\n')[0]}`);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${what}: YAML aliases expand too much (${(err as Error).message})`);
  }
  if (data === null || data === undefined) throw new CliError(ExitCode.INVALID_INPUT, `${what}: the YAML is empty; nothing changed`);
  if (typeof data !== 'object' || Array.isArray(data)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: the YAML must be a map (as show prints it)`);
  const walk = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null) return;
    for (const k of Object.keys(v)) {
      if (k === '__proto__') throw new CliError(ExitCode.INVALID_INPUT, `${what}: the key "${path}${k}" is not allowed`);
      walk((v as Record<string, unknown>)[k], `${path}${k}.`);
    }
  };
  walk(data, '');
  if (Object.prototype.hasOwnProperty.call(data, '__proto__')) throw new CliError(ExitCode.INVALID_INPUT, `${what}: the key "__proto__" is not allowed`);
  return data as Record<string, unknown>;
}

/** A map of strings from edited YAML (`config`): every value must be a string, as the server stores it. */
export function stringMap(v: unknown, field: string, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${field} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${field}.${k} must be a string: quote it ("${String(val)}")`);
    out[k] = val;
  }
  return out;
}

async function readStdin(ctx: CliContext, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.io.stdin!) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > MAX_EDIT_BYTES) {
      ctx.io.stdin!.destroy?.();
      throw new CliError(ExitCode.INVALID_INPUT, `${what}: stdin is over ${MAX_EDIT_BYTES} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `$VISUAL` or `$EDITOR` (default `vi`) on `file` through `sh`, as `lxc` does; resolves when it exits. */
export function runEditor(env: Readonly<Record<string, string | undefined>>, file: string, signal: AbortSignal): Promise<void> {
  const editor = env['VISUAL'] || env['EDITOR'] || 'vi';
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env: { ...env }, signal });
    child.once('error', (err) => reject(err.name === 'AbortError' ? err : new CliError(ExitCode.FAILURE, `cannot run the editor (${editor}): ${err.message}`)));
    child.once('exit', (code, sig) => {
      if (code === 0) resolve();
      else reject(new CliError(ExitCode.INVALID_INPUT, `the editor (${editor}) exited with ${sig ?? code}; nothing changed`));
    });
  });
}

/**
 * The new YAML of an `edit`: from stdin when it is not a terminal (`lxdkit network edit N < file.yaml`),
 * else from `$EDITOR` on a temporary file holding `current` (removed afterwards). An unchanged file
 * changes nothing (`null`).
 */
export async function editedYaml(ctx: CliContext, current: string, what: string): Promise<string | null> {
  const stdin = ctx.io.stdin;
  if (stdin && stdin.isTTY !== true) return readStdin(ctx, what);
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-edit-'));
  const file = join(dir, 'edit.yaml');
  try {
    await writeFile(file, current, { mode: 0o600 });
    await runEditor(ctx.io.env, file, ctx.signal);
    const text = await readFile(file, 'utf8');
    return text === current ? null : text;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Column helpers: a comma-joined list, the count of a list. */
export const joined = (v: readonly string[] | undefined): string => (v ?? []).join(',');
export type { Column };
