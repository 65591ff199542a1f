/**
 * The errors of stacks (`STACK_ERR_*`, each explained in docs/errors.md). Every error found while
 * loading or planning a stack is thrown before anything is sent to the server; it names the file,
 * the line and the key when it comes from a file.
 */
import { errorCodes, LxdkitError, type CodeOf } from '../errors.js';

/** The stable codes of `StackError`, `STACK_ERR_*` (each explained in docs/errors.md). */
export const StackErrorCode = errorCodes('STACK_ERR', [
  /** A file that cannot be read, is not YAML, or does not match the stack schema. */
  'INVALID',
  /** A resource defined twice (both places are named). */
  'DUPLICATE',
  /** A reference to a profile, network, pool, volume, image or project that neither the stack nor the server has. */
  'REFERENCE',
  /** Resources that depend on each other in a circle. */
  'CYCLE',
  /** A key this version of lxdkit, or this server, cannot apply. */
  'UNSUPPORTED',
  /** A resource changed by someone else three times while apply was updating it. */
  'CONFLICT',
  /** A step of apply failed (the server refused it); the steps before it stay done. */
  'APPLY',
]);
export type StackErrorCode = CodeOf<typeof StackErrorCode>;

/** Where in the stack's files something is. */
export interface StackSource {
  file: string;
  /** 1-based. */
  line: number;
}

/** Every error of stacks (`STACK_ERR_*`): bad input with its file, line and key, a missing reference, a cycle, a kind not supported, a failed step. */
export class StackError extends LxdkitError<StackErrorCode> {
  override readonly name: string = 'StackError';
  /** The file and line, when the error comes from a stack file. */
  readonly source: StackSource | undefined;
  /** The key path in the file (`instances.2.profiles.0`), when there is one. */
  readonly key: string | undefined;

  constructor(code: StackErrorCode, message: string, options: { cause?: unknown; source?: StackSource | undefined; key?: string | undefined } = {}) {
    const where = options.source ? `${options.source.file}:${options.source.line}: ` : '';
    const key = options.key ? `${options.key}: ` : '';
    super(code, `${where}${key}${message}`, { cause: options.cause });
    this.source = options.source;
    this.key = options.key;
  }
}
