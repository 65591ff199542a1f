/**
 * Typed errors of the KVM manager. Messages keep Juju's texts (e.g. `kvm container creation failed:
 * failed to start domain "juju-06f00d-0": …`); branch on the stable `code`.
 */
import { LxdkitError } from '../../errors.js';

/** Stable codes of {@link KvmError}. */
export const KvmErrorCode = {
  /** Bad input (machine id, series, MAC, network type, missing bridge, …), refused before any I/O. */
  INVALID_ARGUMENT: 'KVM_ERR_INVALID_ARGUMENT',
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
  /**
   * A guest of that name exists already: libvirt has the domain, or its container directory, overlay
   * or seed ISO is there. Nothing was touched. Destroy the guest (or remove what an older failure left).
   */
  ALREADY_EXISTS: 'KVM_ERR_ALREADY_EXISTS',
} as const;

export type KvmErrorCode = (typeof KvmErrorCode)[keyof typeof KvmErrorCode];

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
