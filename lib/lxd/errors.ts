/**
 * Every error lxdkit's LXD client throws is an `LxdError` with a stable `code`.
 * `docs/errors.md` lists the codes and what to do about each.
 */
import { errorCodes, LxdkitError, type CodeOf } from '../errors.js';
import type { OperationData } from './schemas.js';

/** The stable codes of the family, `LXD_ERR_*` (each is explained in docs/errors.md). */
export const LxdErrorCode = errorCodes('LXD_ERR', [
  'CONNECTION', 'TIMEOUT', 'API', 'NOT_FOUND', 'CONFLICT', 'ETAG_MISMATCH', 'FORBIDDEN', 'OPERATION_FAILED',
  'INVALID_RESPONSE', 'RESPONSE_TOO_LARGE', 'OPERATION_LOST', 'EXTENSION_MISSING', 'INVALID_ARGUMENT',
  'EVENTS', 'MEMBER_UNREACHABLE', 'INSTANCE_NOT_RUNNING', 'COMMAND_NOT_FOUND', 'STREAM_LOST', 'OUTPUT_TOO_LARGE',
  'LOCAL_FILE',
]);
export type LxdErrorCode = CodeOf<typeof LxdErrorCode>;

/** The family of every error the client throws. */
export class LxdError extends LxdkitError<LxdErrorCode> {
  override readonly name: string = 'LxdError';
}

/** The socket (or remote URL) cannot be reached: missing, refused, or permission denied. */
export class LxdConnectionError extends LxdError {
  override readonly name = 'LxdConnectionError';
  /** The unix socket path or URL that was tried. */
  readonly endpoint: string;
  /** The system error code, e.g. ENOENT, ECONNREFUSED, EACCES. */
  readonly syscallCode: string | undefined;

  constructor(endpoint: string, syscallCode: string | undefined, message: string, options?: { cause?: unknown }) {
    super(LxdErrorCode.CONNECTION, message, options);
    this.endpoint = endpoint;
    this.syscallCode = syscallCode;
  }
}

/** A client-side deadline passed before LXD answered (or before an operation finished). */
export class LxdTimeoutError extends LxdError {
  override readonly name = 'LxdTimeoutError';
  readonly timeoutMs: number;
  readonly method: string | undefined;
  readonly path: string | undefined;

  constructor(message: string, details: { timeoutMs: number; method?: string; path?: string }, options?: { cause?: unknown }) {
    super(LxdErrorCode.TIMEOUT, message, options);
    this.timeoutMs = details.timeoutMs;
    this.method = details.method;
    this.path = details.path;
  }
}

/**
 * What an error answer of the server says: HTTP status, LXD's error code and message, the request's method and path.
 */
export interface ApiErrorDetails {
  /** HTTP status of the response. */
  status: number;
  /** LXD's `error_code` from the envelope (0 when the body was not an envelope). */
  errorCode: number;
  method: string;
  path: string;
  project?: string | undefined;
  /** The cluster member the request was sent to (`?target=`), if any. */
  target?: string | undefined;
  /** LXD's `error` text, as sent. */
  lxdMessage: string;
}

/** LXD answered with an error envelope (or a non-JSON error body). */
export class LxdApiError extends LxdError {
  override readonly name: string = 'LxdApiError';
  readonly status: number;
  readonly errorCode: number;
  readonly method: string;
  readonly path: string;
  readonly project: string | undefined;
  readonly lxdMessage: string;

  constructor(details: ApiErrorDetails, code: LxdErrorCode = LxdErrorCode.API, options?: { cause?: unknown }) {
    super(code, `${details.method} ${details.path}: ${details.lxdMessage} (HTTP ${details.status})`, options);
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.method = details.method;
    this.path = details.path;
    this.project = details.project;
    this.lxdMessage = details.lxdMessage;
  }

  /** LXD's own text, as LXD's Go client (and so Juju) shows it. */
  override get text(): string {
    return this.lxdMessage;
  }
}

/** 404: the object does not exist (`LXD_ERR_NOT_FOUND`); create it, or treat it as gone. */
export class LxdNotFoundError extends LxdApiError {
  override readonly name = 'LxdNotFoundError';
  constructor(details: ApiErrorDetails, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.NOT_FOUND, options);
  }
}

/** 409, or LXD's 500 "already exists". */
export class LxdConflictError extends LxdApiError {
  override readonly name = 'LxdConflictError';
  constructor(details: ApiErrorDetails, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.CONFLICT, options);
  }
}

/** 412: the ETag sent in If-Match is stale. Re-read the object and try again. */
export class LxdPreconditionFailedError extends LxdApiError {
  override readonly name = 'LxdPreconditionFailedError';
  constructor(details: ApiErrorDetails, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.ETAG_MISMATCH, options);
  }
}

/** 403: not allowed, e.g. an untrusted remote client (`LXD_ERR_FORBIDDEN`); trust the client certificate. */
export class LxdForbiddenError extends LxdApiError {
  override readonly name = 'LxdForbiddenError';
  constructor(details: ApiErrorDetails, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.FORBIDDEN, options);
  }
}

/** An async operation ended in Failure (400) or Cancelled (401). `message` is LXD's `err` text. */
export class LxdOperationError extends LxdError {
  override readonly name = 'LxdOperationError';
  readonly operation: OperationData;

  constructor(operation: OperationData) {
    super(LxdErrorCode.OPERATION_FAILED, operation.err || `operation ${operation.id} ended with status ${operation.status}`);
    this.operation = operation;
  }
}

/** A response did not match lxdkit's schema for it. */
export class LxdResponseValidationError extends LxdError {
  override readonly name = 'LxdResponseValidationError';
  readonly method: string;
  readonly path: string;
  readonly issues: readonly { path: readonly PropertyKey[]; message: string }[];

  constructor(method: string, path: string, issues: readonly { path: readonly PropertyKey[]; message: string }[], options?: { cause?: unknown }) {
    const first = issues[0];
    const where = first ? ` at ${first.path.map(String).join('.') || '(root)'}: ${first.message}` : '';
    super(LxdErrorCode.INVALID_RESPONSE, `${method} ${path}: unexpected response from LXD${where}`, options);
    this.method = method;
    this.path = path;
    this.issues = issues;
  }
}

/** A response body passed the client's `maxResponseBytes`; the exchange was cut off. */
export class LxdResponseTooLargeError extends LxdError {
  override readonly name = 'LxdResponseTooLargeError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super(LxdErrorCode.RESPONSE_TOO_LARGE, `${method} ${path}: the response is larger than ${maxBytes} bytes; raise the client's maxResponseBytes, or ask for less (no recursion, a filter)`);
  }
}

/**
 * The outcome of an operation cannot be known: LXD no longer has it. Either the daemon restarted while
 * it ran (`daemonRestarted`), or it finished more than 5 s before anyone asked and LXD forgot it.
 */
export class LxdOperationLostError extends LxdError {
  override readonly name = 'LxdOperationLostError';
  constructor(
    readonly operation: OperationData,
    readonly daemonRestarted: boolean,
    options?: { cause?: unknown },
  ) {
    const what = `operation ${operation.id} (${operation.description || 'no description'})`;
    super(
      LxdErrorCode.OPERATION_LOST,
      daemonRestarted
        ? `${what}: its outcome was lost in a daemon restart (LXD does not keep operations across restarts); check the state of what it changed`
        : `${what} no longer exists on the server and its outcome was not seen (LXD forgets finished operations after 5 s)`,
      options,
    );
  }
}

/** The server lacks an API extension the call needs. */
export class LxdExtensionMissingError extends LxdError {
  override readonly name = 'LxdExtensionMissingError';
  readonly extension: string;
  constructor(extension: string, what: string) {
    super(LxdErrorCode.EXTENSION_MISSING, `${what} needs the API extension "${extension}", which this server does not have; upgrade the server (LXD or Incus)`);
    this.extension = extension;
  }
}

/** Bad input, refused before any I/O. */
export class LxdValidationError extends LxdError {
  override readonly name = 'LxdValidationError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(LxdErrorCode.INVALID_ARGUMENT, `${field}: ${message}`);
    this.field = field;
  }
}

/** The events websocket failed (and could not be reconnected when reconnecting was asked for). */
export class LxdEventsError extends LxdError {
  override readonly name = 'LxdEventsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(LxdErrorCode.EVENTS, message, options);
  }
}

/**
 * A cluster member could not be reached through the member the client talks to: it is down (killed,
 * stopped, partitioned) or not yet reconnected after a restart. LXD answered for it with a 500 saying it
 * could not forward the request. `member` names it when lxdkit knows which (the call's `target`, or
 * the member an operation runs on); `address` is the member's cluster address when LXD's text gives it.
 */
export class LxdMemberUnreachableError extends LxdApiError {
  override readonly name = 'LxdMemberUnreachableError';
  readonly member: string | undefined;
  readonly address: string | undefined;

  constructor(details: ApiErrorDetails & { member?: string | undefined }, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.MEMBER_UNREACHABLE, options);
    this.member = details.member ?? details.target;
    this.address = memberAddressOf(details.lxdMessage);
    const who = [this.member && `"${this.member}"`, this.address && `(${this.address})`].filter(Boolean).join(' ');
    this.message = `${details.method} ${details.path}: cluster member ${who || '(unknown)'} is unreachable: ${details.lxdMessage} (HTTP ${details.status})`;
  }

  /** LXD's text, led by the member it is about (LXD's own text names only its address, if anything). */
  override get text(): string {
    const who = [this.member && `"${this.member}"`, this.address && `(${this.address})`].filter(Boolean).join(' ');
    return `cluster member ${who || '(unknown)'} is unreachable: ${this.lxdMessage}`;
  }

  /** The same error, naming `member` (e.g. the member an operation runs on). */
  naming(member: string | undefined): LxdMemberUnreachableError {
    if (member === undefined || member === this.member) return this;
    const { status, errorCode, method, path, project, lxdMessage } = this;
    return new LxdMemberUnreachableError({ status, errorCode, method, path, project, lxdMessage, member }, { cause: this.cause });
  }
}

/** LXD refused to run a command: the instance is stopped (or frozen). Start it first. */
export class LxdInstanceNotRunningError extends LxdApiError {
  override readonly name = 'LxdInstanceNotRunningError';
  constructor(details: ApiErrorDetails, options?: { cause?: unknown }) {
    super(details, LxdErrorCode.INSTANCE_NOT_RUNNING, options);
  }
}

/**
 * The command of an exec does not exist in the instance. LXD reports exit status 127 as "Command not
 * found" whether the program is missing or the command itself exited with 127; lxdkit tells the two
 * apart by looking for the program (see docs/exec.md), and only a missing program is this error.
 */
export class LxdCommandNotFoundError extends LxdError {
  override readonly name = 'LxdCommandNotFoundError';
  constructor(
    readonly instance: string,
    readonly command: readonly string[],
    /** Where lxdkit looked for the program. */
    readonly searched: readonly string[],
  ) {
    super(LxdErrorCode.COMMAND_NOT_FOUND, `${instance}: command not found: ${command[0] ?? ''}${searched.length ? ` (looked in ${searched.join(', ')})` : ''}`);
  }
}

/**
 * A websocket of an exec session closed (or failed) before its stream ended: the output is incomplete.
 * `stream` names it: `stdin`, `stdout`, `stderr`, `pty` or `control`.
 */
export class LxdStreamLostError extends LxdError {
  override readonly name = 'LxdStreamLostError';
  constructor(
    readonly stream: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(LxdErrorCode.STREAM_LOST, message, options);
  }
}

/** A command's output passed the size cap of `execOutput()`; the command was stopped. */
export class LxdOutputTooLargeError extends LxdError {
  override readonly name = 'LxdOutputTooLargeError';
  constructor(
    readonly stream: 'stdout' | 'stderr',
    readonly maxBytes: number,
  ) {
    super(LxdErrorCode.OUTPUT_TOO_LARGE, `the command wrote more than ${maxBytes} bytes to ${stream}; raise maxOutputBytes, or read the output as a stream with exec()`);
  }
}

/**
 * A pull could not write its local copy: a name too long for the local filesystem (`ENAMETOOLONG`), a
 * directory in the way of a file, no permission, no space. `localPath` names the local path,
 * `syscallCode` the system's error code when there was one. Nothing is written through a symlink.
 */
export class LxdLocalFileError extends LxdError {
  override readonly name = 'LxdLocalFileError';
  constructor(
    readonly localPath: string,
    readonly syscallCode: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(LxdErrorCode.LOCAL_FILE, message, options);
  }
}

/**
 * LXD's texts for a request it could not forward to another cluster member: it could not connect
 * (`… Unable to connect to: 127.0.1.3:8443 …`), it has no event connection to it yet (`Missing event
 * connection with target cluster member`, until it reconnects after a restart), or the forwarded
 * request failed on the way (Go's `Get "https://127.0.1.3:8443/1.0/…": EOF`).
 */
const MEMBER_UNREACHABLE = [/Unable to connect to: /, /Missing event connection with target cluster member/i, /^(?:Get|Post|Put|Patch|Delete|Head) "https:\/\/[^"/]+\/(?:1\.0|internal)\b[^"]*": /];

function memberAddressOf(text: string): string | undefined {
  return /Unable to connect to: (\S+?)(?: |$)/.exec(text)?.[1] ?? /^(?:Get|Post|Put|Patch|Delete|Head) "https:\/\/([^"/]+)\//.exec(text)?.[1];
}

/** LXD's 500 saying it could not reach another cluster member for this request. */
export function isMemberUnreachableText(status: number, text: string): boolean {
  return status >= 500 && MEMBER_UNREACHABLE.some((re) => re.test(text));
}

/** LXD's text for a duplicate (sent with 500 or 409), and Incus's for some (a 500 from its database). */
const ALREADY_EXISTS = /already exists|UNIQUE constraint failed/i;

/** Maps an LXD error response to the right subclass. */
export function apiErrorFor(details: ApiErrorDetails): LxdApiError {
  const code = details.status >= 400 ? details.status : details.errorCode;
  if (isMemberUnreachableText(code, details.lxdMessage)) return new LxdMemberUnreachableError(details);
  if (code === 404) return new LxdNotFoundError(details);
  if (code === 409 || ALREADY_EXISTS.test(details.lxdMessage)) return new LxdConflictError(details);
  if (code === 412) return new LxdPreconditionFailedError(details);
  if (code === 403) return new LxdForbiddenError(details);
  return new LxdApiError(details);
}

/** Whether `err` is an `LxdNotFoundError` (by its code, so across copies of lxdkit too). */
export function isNotFound(err: unknown): err is LxdNotFoundError {
  return LxdError.is(err, LxdErrorCode.NOT_FOUND);
}
/** Whether `err` is an `LxdConflictError` (409: it exists already). */
export function isConflict(err: unknown): err is LxdConflictError {
  return LxdError.is(err, LxdErrorCode.CONFLICT);
}
/**
 * Whether `err` is an `LxdPreconditionFailedError` (412: the ETag no longer matches; read again and retry).
 */
export function isPreconditionFailed(err: unknown): err is LxdPreconditionFailedError {
  return LxdError.is(err, LxdErrorCode.ETAG_MISMATCH);
}
/** Whether `err` is an `LxdMemberUnreachableError` (a cluster member cannot be reached). */
export function isMemberUnreachable(err: unknown): err is LxdMemberUnreachableError {
  return LxdError.is(err, LxdErrorCode.MEMBER_UNREACHABLE);
}
