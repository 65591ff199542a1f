import type { Logger } from '../../lib/logger.js';

/** A pino-compatible logger that appends every call, at every level, as a JSON line to `lines`. */
export function captureLogger(lines: string[]): Logger {
  const push = (...a: unknown[]): void => void lines.push(JSON.stringify(a));
  const logger: Logger = { trace: push, debug: push, info: push, warn: push, error: push, child: () => logger, isLevelEnabled: () => true };
  return logger;
}
