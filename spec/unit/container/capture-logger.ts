import type { Logger, LogFn } from '../../../lib/logger.js';

export interface LogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  bindings: Record<string, unknown>;
}

/** A Logger that records every line, with the bindings of the child it was logged on. */
export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogEntry['level']): LogFn =>
      (a: string | Record<string, unknown>, b?: string) => {
        entries.push({ level, msg: typeof a === 'string' ? a : (b ?? ''), bindings });
      };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), entries };
}
