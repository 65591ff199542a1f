/**
 * The lxdkit command's exit codes (documented in docs/cli.md). Scripts may rely on them.
 */
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { KvmError, KvmErrorCode } from '../container/kvm/errors.js';
import { LxdManagerError, LxdManagerErrorCode } from '../container/lxd/errors.js';
import { LxdError, LxdErrorCode } from '../lxd/errors.js';
import { StackError, StackErrorCode } from '../stacks/errors.js';
import { ExitCode } from './exit-code-numbers.js';

export { ExitCode } from './exit-code-numbers.js';

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
  // Stryker disable next-line ConditionalExpression: going on past undefined only yields more undefineds, which match nothing
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    yield e;
    // Stryker disable next-line ConditionalExpression: a primitive's .cause is undefined too; only null would throw, and the loop ends before it
    e = typeof e === 'object' && 'cause' in e ? (e as { cause?: unknown }).cause : undefined;
  }
}

function lxdExit(err: LxdError): ExitCode {
  switch (err.code) {
    case LxdErrorCode.CONNECTION:
    case LxdErrorCode.FORBIDDEN:
    case LxdErrorCode.EVENTS:
    case LxdErrorCode.MEMBER_UNREACHABLE:
      return ExitCode.UNAVAILABLE;
    case LxdErrorCode.TIMEOUT:
      return ExitCode.TIMEOUT;
    case LxdErrorCode.NOT_FOUND:
      return ExitCode.NOT_FOUND;
    case LxdErrorCode.CONFLICT:
    case LxdErrorCode.ETAG_MISMATCH:
      return ExitCode.CONFLICT;
    case LxdErrorCode.INVALID_ARGUMENT:
    case LxdErrorCode.LOCAL_FILE:
      return ExitCode.INVALID_INPUT;
    default:
      return ExitCode.LXD_FAILED;
  }
}

// Exit codes by error code for the other families; a code not listed looks further down the cause chain.
const CONTAINER_EXITS: Partial<Record<ContainerErrorCode, ExitCode>> = { [ContainerErrorCode.DIRECTORY]: ExitCode.FAILURE };
const LXD_MANAGER_EXITS: Partial<Record<LxdManagerErrorCode, ExitCode>> = {
  [LxdManagerErrorCode.IMAGE_NOT_FOUND]: ExitCode.NOT_FOUND,
  [LxdManagerErrorCode.NOT_SUPPORTED]: ExitCode.INVALID_INPUT,
  [LxdManagerErrorCode.ALREADY_EXISTS]: ExitCode.CONFLICT,
  [LxdManagerErrorCode.MEMBER_UNREACHABLE]: ExitCode.UNAVAILABLE,
};
const STACK_EXITS: Partial<Record<StackErrorCode, ExitCode>> = {
  [StackErrorCode.INVALID]: ExitCode.INVALID_INPUT,
  [StackErrorCode.DUPLICATE]: ExitCode.INVALID_INPUT,
  [StackErrorCode.REFERENCE]: ExitCode.INVALID_INPUT,
  [StackErrorCode.CYCLE]: ExitCode.INVALID_INPUT,
  [StackErrorCode.UNSUPPORTED]: ExitCode.INVALID_INPUT,
  [StackErrorCode.CONFLICT]: ExitCode.CONFLICT,
  [StackErrorCode.APPLY]: ExitCode.LXD_FAILED,
};
const KVM_EXITS: Partial<Record<KvmErrorCode, ExitCode>> = {
  [KvmErrorCode.INVALID_ARGUMENT]: ExitCode.INVALID_INPUT,
  [KvmErrorCode.COMMAND_NOT_FOUND]: ExitCode.UNAVAILABLE,
  [KvmErrorCode.TIMEOUT]: ExitCode.TIMEOUT,
  [KvmErrorCode.ALREADY_EXISTS]: ExitCode.CONFLICT,
};

/** The exit code for an error: the most specific one found along its `cause` chain. */
export function exitCodeFor(err: unknown): ExitCode {
  let fallback: ExitCode | undefined;
  for (const e of causes(err)) {
    if (e instanceof CliError) return e.exitCode;
    let code: ExitCode | undefined;
    if (LxdError.is(e)) code = lxdExit(e);
    // Bad input to the container package is always the caller's.
    else if (ContainerError.is(e)) return CONTAINER_EXITS[e.code] ?? ExitCode.INVALID_INPUT;
    else if (LxdManagerError.is(e)) code = LXD_MANAGER_EXITS[e.code] ?? ExitCode.LXD_FAILED;
    else if (KvmError.is(e)) code = KVM_EXITS[e.code] ?? ExitCode.LXD_FAILED;
    // a failed apply step: the code of what the server said (its cause), else 7
    else if (StackError.is(e)) code = STACK_EXITS[e.code];
    else if (e instanceof Error && e.name === 'AbortError') return ExitCode.INTERRUPTED;
    // a local path the system refuses as too long, wherever it comes from
    else if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') return ExitCode.INVALID_INPUT;
    if (code === undefined) continue;
    if (code !== ExitCode.LXD_FAILED) return code;
    fallback ??= code;
  }
  return fallback ?? ExitCode.FAILURE;
}
