/**
 * Typed errors of the KVM manager. Messages keep Juju's texts (e.g. `kvm container creation failed:
 * failed to start domain "juju-06f00d-0": …`); branch on the stable `code`.
 */
import { errorCodes, LxdkitError, type CodeOf } from '../../errors.js';

/** The stable codes of the family, `KVM_ERR_*` (each is explained in docs/errors.md). */
export const KvmErrorCode = errorCodes('KVM_ERR', [
  'INVALID_ARGUMENT', 'COMMAND_FAILED', 'COMMAND_NOT_FOUND', 'TIMEOUT', 'IMAGE', 'FILESYSTEM',
  'ALREADY_EXISTS',
]);
export type KvmErrorCode = CodeOf<typeof KvmErrorCode>;

/** Base class of the KVM manager's errors. */
export class KvmError extends LxdkitError<KvmErrorCode> {
  override readonly name: string = 'KvmError';
}

/** A program failed; carries the command line, exit code and standard error. */
export class KvmCommandError extends KvmError {
  override readonly name = 'KvmCommandError';
  readonly command: string;
  readonly args: readonly string[];
  /** Exit code, or `null` when the program was killed by a signal. */
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    code: KvmErrorCode,
    message: string,
    details: { command: string; args: readonly string[]; exitCode: number | null; stderr: string; stdout: string },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.command = details.command;
    this.args = details.args;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.stdout = details.stdout;
  }
}
