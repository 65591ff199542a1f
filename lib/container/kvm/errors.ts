/**
 * Typed errors of the KVM manager. Messages keep Juju's texts (e.g. `kvm container creation failed:
 * failed to start domain "juju-06f00d-0": …`); branch on the stable `code`.
 */
import { LxdkitError, hasBrand } from '../../errors.js';

/** Stable codes of {@link KvmError}. */
export const KvmErrorCodes = {
  /** Bad input (machine id, series, MAC, network type, missing bridge, …), refused before any I/O. */
  INVALID_ARGUMENT: 'KVM_ERR_INVALID_ARGUMENT',
  /** The manager config lacks something it needs (`model UUID is required`). */
  CONFIG: 'KVM_ERR_CONFIG',
  /** A program (`virsh`, `qemu-img`, `genisoimage`, …) exited non-zero. `stderr` says why. */
  COMMAND_FAILED: 'KVM_ERR_COMMAND_FAILED',
  /** A program is not installed (not in PATH). Run `KvmInitialiser.initialise()` or install it. */
  COMMAND_NOT_FOUND: 'KVM_ERR_COMMAND_NOT_FOUND',
  /** A program did not finish within its timeout and was killed. */
  TIMEOUT: 'KVM_ERR_TIMEOUT',
  /** The guest image could not be found, downloaded, verified or converted. */
  IMAGE: 'KVM_ERR_IMAGE',
  /** A file of the guest (user-data, meta-data, domain XML) could not be written or removed. */
  FILESYSTEM: 'KVM_ERR_FILESYSTEM',
} as const;

export type KvmErrorCode = (typeof KvmErrorCodes)[keyof typeof KvmErrorCodes];

const BRAND = Symbol.for('lxdkit.KvmError');

/** Base class of the KVM manager's errors. */
export class KvmError extends LxdkitError<KvmErrorCode> {
  override readonly name: string = 'KvmError';

  constructor(code: KvmErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any KvmError (optionally with `code`), even one from another copy of lxdkit. */
  static is(value: unknown, code?: KvmErrorCode): value is KvmError {
    return hasBrand(value, BRAND, code);
  }
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

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Juju's `errors.Annotate(err, prefix)`: a new error `<prefix>: <err>` that keeps the code of a
 * KvmError (else uses `fallback`) and has the original as `cause`.
 */
export function annotate(err: unknown, prefix: string, fallback: KvmErrorCode): KvmError {
  const code = KvmError.is(err) ? err.code : fallback;
  return new KvmError(code, `${prefix}: ${errorMessage(err)}`, { cause: err });
}
