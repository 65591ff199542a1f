/**
 * The lxdkit command's exit codes (documented in docs/cli.md). Scripts may rely on them.
 */
import { ContainerError } from '../container/errors.js';
import { KvmError } from '../container/kvm/errors.js';
import { LxdManagerError } from '../container/lxd/errors.js';
import { LxdError, LxdErrorCodes } from '../lxd/errors.js';

export const ExitCode = {
  /** Everything asked for was done. */
  OK: 0,
  /** An unexpected failure (a bug, or an error lxdkit does not classify). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** Bad input, refused before anything changed: YAML syntax, profile schema, charm rules, names, UUIDs. */
  INVALID_INPUT: 3,
  /** Something named does not exist (container, profile, image, operation). */
  NOT_FOUND: 4,
  /** It already exists, or it changed under us (ETag mismatch): re-read and retry. */
  CONFLICT: 5,
  /** LXD (or libvirt) cannot be reached: socket missing, permission denied, TLS refused. */
  UNAVAILABLE: 6,
  /** LXD refused the request or an operation failed. */
  LXD_FAILED: 7,
  /** A deadline passed (`--timeout`, operation waits). */
  TIMEOUT: 8,
  /** Interrupted (SIGINT / SIGTERM). */
  INTERRUPTED: 130,
  /** `profile diff --exit-code` found differences. */
  DIFFERENCES: 10,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports with its own exit code and message (no stack trace). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function* causes(err: unknown): Generator<unknown> {
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    yield e;
    e = typeof e === 'object' && 'cause' in e ? (e as { cause?: unknown }).cause : undefined;
  }
}

function lxdExit(err: LxdError): ExitCode {
  switch (err.code) {
    case LxdErrorCodes.CONNECTION:
    case LxdErrorCodes.FORBIDDEN:
    case LxdErrorCodes.EVENTS:
      return ExitCode.UNAVAILABLE;
    case LxdErrorCodes.TIMEOUT:
      return ExitCode.TIMEOUT;
    case LxdErrorCodes.NOT_FOUND:
      return ExitCode.NOT_FOUND;
    case LxdErrorCodes.CONFLICT:
    case LxdErrorCodes.ETAG_MISMATCH:
      return ExitCode.CONFLICT;
    case LxdErrorCodes.INVALID_ARGUMENT:
      return ExitCode.INVALID_INPUT;
    default:
      return ExitCode.LXD_FAILED;
  }
}

/** The exit code for an error: the most specific one found along its `cause` chain. */
export function exitCodeFor(err: unknown): ExitCode {
  let fallback: ExitCode | undefined;
  for (const e of causes(err)) {
    if (e instanceof CliError) return e.exitCode;
    if (LxdError.is(e)) {
      const code = lxdExit(e);
      if (code !== ExitCode.LXD_FAILED) return code;
      fallback ??= code;
      continue;
    }
    if (e instanceof ContainerError) {
      return e.code === 'CONTAINER_ERR_DIRECTORY' ? ExitCode.FAILURE : ExitCode.INVALID_INPUT;
    }
    if (LxdManagerError.is(e)) {
      if (e.code === 'LXD_MANAGER_ERR_IMAGE_NOT_FOUND') return ExitCode.NOT_FOUND;
      if (e.code === 'LXD_MANAGER_ERR_NOT_SUPPORTED') return ExitCode.INVALID_INPUT;
      fallback ??= ExitCode.LXD_FAILED;
      continue;
    }
    if (KvmError.is(e)) {
      if (e.code === 'KVM_ERR_CONFIG' || e.code === 'KVM_ERR_INVALID_ARGUMENT') return ExitCode.INVALID_INPUT;
      if (e.code === 'KVM_ERR_COMMAND_NOT_FOUND') return ExitCode.UNAVAILABLE;
      if (e.code === 'KVM_ERR_TIMEOUT') return ExitCode.TIMEOUT;
      fallback ??= ExitCode.LXD_FAILED;
      continue;
    }
    if (e instanceof Error && e.name === 'AbortError') return ExitCode.INTERRUPTED;
  }
  return fallback ?? ExitCode.FAILURE;
}
