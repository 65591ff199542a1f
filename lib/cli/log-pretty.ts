/**
 * pino's JSON lines made readable on a terminal: `12:04:05 WARN  message key=value …`, the level in
 * colour unless NO_COLOR is set. Log lines carry text from servers, containers and files, so every
 * control character (terminal escapes included) is shown escaped rather than written.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\u001b[90m' },
  20: { name: 'DEBUG', color: '\u001b[36m' },
  30: { name: 'INFO', color: '\u001b[32m' },
  40: { name: 'WARN', color: '\u001b[33m' },
  50: { name: 'ERROR', color: '\u001b[31m' },
  60: { name: 'FATAL', color: '\u001b[41m' },
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';

/** What pino writes on every line, and not repeated as a field. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

// C0 and C1 controls, DEL, and the bidirectional overrides that can reorder what a terminal shows
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control character written as `\n`, `\t` or `\u001b`, so that a terminal shows it and does not obey it. */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? terminalSafe(v) : terminalSafe(JSON.stringify(v));
  if (v !== null && typeof v === 'object') return terminalSafe(JSON.stringify(v));
  return String(v);
}

function clock(time: unknown): string {
  const d = typeof time === 'number' ? new Date(time) : new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * One pino JSON line as a terminal line (with its newline). A line that is not a JSON object is
 * shown as it is, made safe.
 */
export function prettyLine(line: string, color: boolean): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return `${terminalSafe(line.replace(/\n$/, ''))}\n`;
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return `${terminalSafe(line.replace(/\n$/, ''))}\n`;
  const r = rec as Record<string, unknown>;
  const level = typeof r['level'] === 'number' ? LEVELS[r['level']] : undefined;
  const name = (level?.name ?? String(r['level'] ?? '?')).padEnd(5);
  const tag = color && level ? `${level.color}${name}${RESET}` : name;
  const time = color ? `${DIM}${clock(r['time'])}${RESET}` : clock(r['time']);
  const msg = typeof r['msg'] === 'string' ? terminalSafe(r['msg']) : '';
  const fields = Object.entries(r)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${color ? DIM : ''}${terminalSafe(k)}=${color ? RESET : ''}${value(v)}`);
  return `${[time, tag, msg, ...fields].filter((s) => s !== '').join(' ')}\n`;
}

/** A pino destination that writes each line to `write`, made pretty. pino writes one whole line per call. */
export function prettyDestination(write: (s: string) => unknown, color: boolean): { write(s: string): void } {
  return {
    write(s: string): void {
      for (const line of s.split('\n')) if (line !== '') write(prettyLine(line, color));
    },
  };
}
