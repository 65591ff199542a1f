/**
 * A pino-compatible logger: the subset of pino's API that lxdkit calls.
 * Any pino logger satisfies it; the default is silent.
 */
export interface LogFn {
  (msg: string): void;
  (obj: Record<string, unknown>, msg?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** pino's level check; lets hot paths skip building log objects nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};

/** Keys whose values never reach a log line (cloud-init user-data, certificates, websocket secrets). */
export const REDACTED_KEYS: readonly string[] = [
  'user.user-data',
  'user-data',
  'userData',
  'certificate',
  'cert',
  'key',
  'password',
  'secret',
  'secrets',
  'fds',
  'trust_token',
];

/** Returns a deep copy of `value` with secret-bearing keys replaced by "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = REDACTED_KEYS.includes(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}
