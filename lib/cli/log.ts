/**
 * The CLI's pino logger: always on stderr (stdout is for results), pretty on a terminal (when
 * pino-pretty is installed), JSON lines otherwise.
 */
import type { Level } from 'pino';
import type { Logger } from '../logger.js';
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
  /** Where JSON lines go (default: fd 2). Specs pass a stream. */
  stream?: { write(s: string): unknown };
}

/** A pino logger for the CLI. */
export async function createCliLogger(opts: LoggerOptions): Promise<Logger> {
  const { default: pino } = await import('pino');
  const base = { level: opts.level === 'silent' ? 'silent' : (opts.level satisfies Level | 'silent'), base: { name: 'lxdkit' } };
  if (opts.stream) return asLogger(pino(base, opts.stream));
  if (opts.pretty && opts.level !== 'silent') {
    try {
      const mod = (await import('pino-pretty')) as unknown as { default: (o: Record<string, unknown>) => NodeJS.WritableStream };
      return asLogger(pino(base, mod.default({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' })));
    } catch {
      // pino-pretty is a development dependency: without it, JSON lines
    }
  }
  return asLogger(pino(base, pino.destination({ fd: 2, sync: true })));
}

/** pino's logger type has an index signature (custom levels); lxdkit only needs the Logger subset. */
function asLogger(l: { child: unknown; info: unknown }): Logger {
  return l as unknown as Logger;
}
