/**
 * The CLI's pino logger: always on stderr (stdout is for results), pretty on a terminal (./log-pretty.ts:
 * time, level, message, fields, control characters escaped), JSON lines otherwise. Every line goes through the library's redaction
 * rule (`redact()` in lib/logger.ts) before it is written.
 */
import { writeSync } from 'node:fs';
import type pino from 'pino';
import type { Level, LoggerOptions as PinoOptions } from 'pino';
import { redact, redactText, type Logger } from '../logger.js';
import { CliError, ExitCode } from './exit-codes.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new CliError(ExitCode.USAGE, `--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${value}")`);
}

export interface LoggerOptions {
  level: LogLevel;
  /** Pretty lines (stderr is a terminal). */
  pretty: boolean;
  /** Where the lines go (default: fd 2). Specs pass a stream. */
  stream?: { write(s: string): unknown };
  /** Pretty lines in colour (default: unless NO_COLOR is set). */
  color?: boolean;
}

/**
 * pino options that apply the library's redaction rule to every line. pino's own `redact` option
 * takes fixed paths and cannot say "every key starting with `user.`", so the logged object and the
 * base bindings go through `redact()`, and message strings lose any PEM private key they hold. pino
 * does not run `formatters.bindings` for children: see {@link redactingChildren}.
 */
export function redactingPinoOptions(): Pick<PinoOptions, 'formatters' | 'hooks'> {
  return {
    formatters: {
      log: (obj) => redact(obj) as Record<string, unknown>,
      bindings: (bindings) => redact(bindings) as pino.Bindings,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a: unknown) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
}

/**
 * Makes `logger.child(bindings)` pass the bindings through `redact()`, for the logger and every
 * descendant (pino children inherit `child` from their parent object). Returns the same logger.
 */
export function redactingChildren<L extends pino.Logger>(logger: L): L {
  type Child = (this: unknown, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => unknown;
  const child = logger.child as Child;
  // `this`, not `logger`: a grandchild is made by calling `child` on a child
  logger.child = function (this: unknown, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) {
    return child.call(this, redact(bindings) as pino.Bindings, options);
  } as L['child'];
  return logger;
}

/** A pino logger for the CLI (loaded at once; `lazyCliLogger` loads it only when something is logged). */
export async function createCliLogger(opts: LoggerOptions): Promise<Logger> {
  const { default: pino } = await import('pino');
  const base: PinoOptions = { level: opts.level satisfies Level | 'silent', base: { name: 'lxdkit' }, ...redactingPinoOptions() };
  if (opts.pretty && opts.level !== 'silent') {
    const { prettyDestination } = await import('./log-pretty.js');
    const out = opts.stream;
    const write = out ? (line: string): unknown => out.write(line) : writeSync.bind(null, 2);
    return asLogger(redactingChildren(pino(base, prettyDestination(write, opts.color ?? !('NO_COLOR' in process.env)))));
  }
  if (opts.stream) return asLogger(redactingChildren(pino(base, opts.stream)));
  return asLogger(redactingChildren(pino(base, pino.destination({ fd: 2, sync: true }))));
}

/** pino's level numbers. */
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type Method = 'trace' | 'debug' | 'info' | 'warn' | 'error';

interface LazyRoot {
  threshold: number;
  real: Logger | undefined;
  loading: Promise<void> | undefined;
  queue: { chain: Record<string, unknown>[]; method: Method; args: unknown[] }[];
  load: () => Promise<Logger>;
}

/**
 * The CLI's logger: the same pino logger as `createCliLogger`, but pino is loaded only when a line at
 * an enabled level is written (most commands log nothing at the default level `warn`, so they never
 * load it). Lines written while it loads are written, in order, once it has.
 */
export function lazyCliLogger(opts: LoggerOptions): Logger {
  const root: LazyRoot = { threshold: LEVEL_VALUES[opts.level] ?? 40, real: undefined, loading: undefined, queue: [], load: () => createCliLogger(opts) };
  return lazyNode(root, []);
}

function lazyNode(root: LazyRoot, chain: Record<string, unknown>[]): Logger {
  const write = (method: Method) => (...args: unknown[]): void => {
    if ((LEVEL_VALUES[method] ?? 0) < root.threshold) return;
    if (root.real) {
      emit(root.real, chain, method, args);
      return;
    }
    root.queue.push({ chain, method, args });
    root.loading ??= root.load().then(
      (real) => {
        root.real = real;
        for (const q of root.queue.splice(0)) emit(real, q.chain, q.method, q.args);
      },
      () => {
        root.queue.length = 0;
      },
    );
  };
  return {
    trace: write('trace') as Logger['trace'],
    debug: write('debug') as Logger['debug'],
    info: write('info') as Logger['info'],
    warn: write('warn') as Logger['warn'],
    error: write('error') as Logger['error'],
    child: (bindings) => lazyNode(root, [...chain, bindings]),
    isLevelEnabled: (level) => (LEVEL_VALUES[level] ?? 0) >= root.threshold,
  };
}

function emit(real: Logger, chain: Record<string, unknown>[], method: Method, args: unknown[]): void {
  const l = chain.reduce<Logger>((acc, b) => acc.child(b), real);
  (l[method] as (...a: unknown[]) => void)(...args);
}

/** pino's logger type has an index signature (custom levels); lxdkit only needs the Logger subset. */
function asLogger(l: { child: unknown; info: unknown }): Logger {
  return l as unknown as Logger;
}
