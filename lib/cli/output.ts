/**
 * Human output (aligned tables, key/value blocks) and machine output (`--json`).
 */
import type { OutStream } from './io.js';
import { terminalSafe } from './log-pretty.js';
import { displayWidth, padEndColumns, padStartColumns } from './text-width.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined | null;
  /** Right-align (numbers). */
  right?: boolean;
}

/**
 * An aligned, space-separated table with an upper-case header; `(none)` when there are no rows. Columns
 * are measured in terminal columns (CJK characters and emoji take two), and control characters in a
 * value (a name from a server, a container or a file) are shown escaped.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => cellText(c.value(r))));
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...cells.map((row) => displayWidth(row[i]!))));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (columns[i]!.right ? padStartColumns(v, widths[i]!) : i === values.length - 1 ? v : padEndColumns(v, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

function cellText(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null || v === '') return '-';
  return terminalSafe(String(v).replace(/\s*\n\s*/g, ' '));
}

/** `key: value` lines with the keys aligned. */
export function renderFields(fields: readonly (readonly [string, string | number | boolean | undefined])[]): string {
  const w = Math.max(0, ...fields.map(([k]) => displayWidth(k)));
  return fields.map(([k, v]) => `${padEndColumns(`${k}:`, w + 1)} ${v === undefined || v === '' ? '-' : String(v)}`).join('\n') + '\n';
}

/** Pretty JSON and a newline. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `value` as JSON when `json` is set, else the human text `human()` builds. */
export function emit(out: OutStream, json: boolean, value: unknown, human: () => string): void {
  out.write(json ? renderJson(value) : human());
}
