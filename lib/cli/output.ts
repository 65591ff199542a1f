/**
 * Human output (aligned tables, key/value blocks) and machine output (`--json`).
 */
import type { OutStream } from './io.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined | null;
  /** Right-align (numbers). */
  right?: boolean;
}

/** An aligned, space-separated table with an upper-case header; `(none)` when there are no rows. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => cellText(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

function cellText(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null || v === '') return '-';
  return String(v).replace(/\s*\n\s*/g, ' ');
}

/** `key: value` lines with the keys aligned. */
export function renderFields(fields: readonly (readonly [string, string | number | boolean | undefined])[]): string {
  const w = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v === undefined || v === '' ? '-' : String(v)}`).join('\n') + '\n';
}

/** Pretty JSON and a newline. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `value` as JSON when `json` is set, else the human text `human()` builds. */
export function emit(out: OutStream, json: boolean, value: unknown, human: () => string): void {
  out.write(json ? renderJson(value) : human());
}
