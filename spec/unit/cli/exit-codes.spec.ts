import { expect } from 'chai';
import { ContainerError, ContainerErrorCode } from '../../../lib/errors.js';
import { KvmError, KvmErrorCode } from '../../../lib/container/kvm/errors.js';
import { LxdManagerError, LxdManagerErrorCode } from '../../../lib/container/lxd/errors.js';
import { CliError, ExitCode, exitCodeFor } from '../../../lib/cli/exit-codes.js';
import { StackError, StackErrorCode } from '../../../lib/stacks/errors.js';
import {
  LxdConnectionError,
  LxdMemberUnreachableError,
  LxdNotFoundError,
  LxdOperationError,
  LxdPreconditionFailedError,
  LxdTimeoutError,
  LxdValidationError,
  LxdError,
  LxdErrorCode,
} from '../../../lib/lxd/errors.js';

const api = (status: number) => ({ status, method: 'GET', path: '/1.0/x', lxdMessage: 'm', errorCode: status });

describe('cli exit codes', () => {
  it('maps each kind of error to its documented code', () => {
    expect(exitCodeFor(new LxdConnectionError('/x.sock', 'ENOENT', 'no socket'))).to.equal(ExitCode.UNAVAILABLE);
    const memberDown = new LxdMemberUnreachableError({ ...api(500), lxdMessage: 'Missing event connection with target cluster member', member: 'm3' });
    expect(exitCodeFor(memberDown)).to.equal(ExitCode.UNAVAILABLE);
    expect(exitCodeFor(new LxdManagerError(LxdManagerErrorCode.MEMBER_UNREACHABLE, memberDown.text, { cause: memberDown }))).to.equal(ExitCode.UNAVAILABLE);
    expect(exitCodeFor(new LxdTimeoutError('timed out', { timeoutMs: 10 }))).to.equal(ExitCode.TIMEOUT);
    expect(exitCodeFor(new LxdNotFoundError(api(404)))).to.equal(ExitCode.NOT_FOUND);
    expect(exitCodeFor(new LxdPreconditionFailedError(api(412)))).to.equal(ExitCode.CONFLICT);
    expect(exitCodeFor(new LxdValidationError('name', 'bad'))).to.equal(ExitCode.INVALID_INPUT);
    expect(exitCodeFor(new ContainerError(ContainerErrorCode.NOT_VALID, 'model ID "x" is not a valid model'))).to.equal(ExitCode.INVALID_INPUT);
    expect(exitCodeFor(new KvmError(KvmErrorCode.COMMAND_NOT_FOUND, 'virsh'))).to.equal(ExitCode.UNAVAILABLE);
    expect(exitCodeFor(new CliError(ExitCode.USAGE, 'x'))).to.equal(ExitCode.USAGE);
    expect(exitCodeFor(new Error('boom'))).to.equal(ExitCode.FAILURE);
  });

  it('looks through a manager error to the LXD error that caused it', () => {
    const notFound = new LxdNotFoundError(api(404));
    expect(exitCodeFor(new LxdManagerError(LxdManagerErrorCode.REMOVE, 'Instance not found', { cause: notFound }))).to.equal(ExitCode.NOT_FOUND);
    const failed = new LxdOperationError({ id: 'x', class: 'task', description: 'd', status: 'Failure', status_code: 400, err: 'no', may_cancel: false } as never);
    expect(exitCodeFor(new LxdManagerError(LxdManagerErrorCode.START, 'no', { cause: failed }))).to.equal(ExitCode.LXD_FAILED);
  });
});

/**
 * Every code of every error family the CLI maps, with its exit code as docs/cli.md documents it. A
 * code added to a family fails the "lists every code" test until it has its row here.
 */
describe('cli exit codes: each family table, walked', () => {
  const { CONFLICT, FAILURE, INVALID_INPUT, LXD_FAILED, NOT_FOUND, TIMEOUT, UNAVAILABLE } = ExitCode;
  const TABLES = {
    LxdError: {
      codes: LxdErrorCode,
      make: (code: string) => new LxdError(code as LxdErrorCode, 'm'),
      exits: {
        CONNECTION: UNAVAILABLE, TIMEOUT, API: LXD_FAILED, NOT_FOUND, CONFLICT, ETAG_MISMATCH: CONFLICT,
        FORBIDDEN: UNAVAILABLE, OPERATION_FAILED: LXD_FAILED, INVALID_RESPONSE: LXD_FAILED,
        RESPONSE_TOO_LARGE: LXD_FAILED, OPERATION_LOST: LXD_FAILED, EXTENSION_MISSING: LXD_FAILED,
        INVALID_ARGUMENT: INVALID_INPUT, EVENTS: UNAVAILABLE, MEMBER_UNREACHABLE: UNAVAILABLE,
        INSTANCE_NOT_RUNNING: LXD_FAILED, COMMAND_NOT_FOUND: LXD_FAILED, STREAM_LOST: LXD_FAILED,
        OUTPUT_TOO_LARGE: LXD_FAILED, LOCAL_FILE: INVALID_INPUT,
      },
    },
    ContainerError: {
      codes: ContainerErrorCode,
      make: (code: string) => new ContainerError(code as ContainerErrorCode, 'm'),
      exits: {
        INVALID_NAME: INVALID_INPUT, NOT_VALID: INVALID_INPUT, BAD_REQUEST: INVALID_INPUT, NOT_SUPPORTED: INVALID_INPUT,
        DIRECTORY: FAILURE, INVALID_PROFILE: INVALID_INPUT, PARSE: INVALID_INPUT,
      },
    },
    LxdManagerError: {
      codes: LxdManagerErrorCode,
      make: (code: string) => new LxdManagerError(code as LxdManagerErrorCode, 'm'),
      exits: {
        IMAGE_NOT_FOUND: NOT_FOUND, IMAGE: LXD_FAILED, NOT_SUPPORTED: INVALID_INPUT, IMAGE_SOURCE: LXD_FAILED,
        NETWORK: LXD_FAILED, ALREADY_EXISTS: CONFLICT, CREATE: LXD_FAILED, MEMBER_UNREACHABLE: UNAVAILABLE,
        START: LXD_FAILED, REMOVE: LXD_FAILED, PROFILE: LXD_FAILED, INITIALISE: LXD_FAILED,
      },
    },
    StackError: {
      codes: StackErrorCode,
      make: (code: string) => new StackError(code as StackErrorCode, 'm'),
      exits: {
        INVALID: INVALID_INPUT, DUPLICATE: INVALID_INPUT, REFERENCE: INVALID_INPUT, CYCLE: INVALID_INPUT, UNSUPPORTED: INVALID_INPUT,
        CONFLICT, APPLY: LXD_FAILED,
      },
    },
    KvmError: {
      codes: KvmErrorCode,
      make: (code: string) => new KvmError(code as KvmErrorCode, 'm'),
      exits: {
        INVALID_ARGUMENT: INVALID_INPUT, COMMAND_FAILED: LXD_FAILED, COMMAND_NOT_FOUND: UNAVAILABLE, TIMEOUT,
        IMAGE: LXD_FAILED, FILESYSTEM: LXD_FAILED, ALREADY_EXISTS: CONFLICT,
      },
    },
  } as const;

  for (const [family, table] of Object.entries(TABLES)) {
    it(`${family}: lists every code of the family`, () => {
      expect(Object.keys(table.exits).sort()).to.deep.equal(Object.keys(table.codes).sort());
    });
    for (const [key, exit] of Object.entries(table.exits)) {
      const code = (table.codes as Record<string, string>)[key]!;
      it(`${family} ${code} exits ${exit}, alone and as the cause of an unclassified error`, () => {
        expect(exitCodeFor(table.make(code)), code).to.equal(exit);
        expect(exitCodeFor(new Error('wrapped', { cause: table.make(code) })), `${code} as a cause`).to.equal(exit);
      });
    }
  }

  it('the exit codes are the documented numbers', () => {
    expect(ExitCode).to.deep.equal({
      OK: 0, FAILURE: 1, USAGE: 2, INVALID_INPUT: 3, NOT_FOUND: 4, CONFLICT: 5, UNAVAILABLE: 6, LXD_FAILED: 7,
      TIMEOUT: 8, INTERRUPTED: 130, PIPE_CLOSED: 141, TERMINATED: 143, DIFFERENCES: 10, PLAN_CHANGES: 2,
    });
  });
});

describe('cli exit codes: the cause chain', () => {
  const lxd = (code: LxdErrorCode, cause?: unknown) => new LxdError(code, 'm', { cause });

  it('a failed apply step exits with the code of what the server said', () => {
    expect(exitCodeFor(new StackError(StackErrorCode.APPLY, 'step', { cause: lxd(LxdErrorCode.NOT_FOUND) }))).to.equal(ExitCode.NOT_FOUND);
    expect(exitCodeFor(new StackError(StackErrorCode.APPLY, 'step', { cause: lxd(LxdErrorCode.API) }))).to.equal(ExitCode.LXD_FAILED);
  });

  it('a specific code deeper down wins over a generic "LXD failed" above it', () => {
    const err = new LxdManagerError(LxdManagerErrorCode.CREATE, 'creating', { cause: lxd(LxdErrorCode.API, lxd(LxdErrorCode.NOT_FOUND)) });
    expect(exitCodeFor(err)).to.equal(ExitCode.NOT_FOUND);
  });

  it('the first specific code wins: the outermost one', () => {
    expect(exitCodeFor(lxd(LxdErrorCode.CONFLICT, lxd(LxdErrorCode.NOT_FOUND)))).to.equal(ExitCode.CONFLICT);
    expect(exitCodeFor(new KvmError(KvmErrorCode.TIMEOUT, 't', { cause: lxd(LxdErrorCode.NOT_FOUND) }))).to.equal(ExitCode.TIMEOUT);
  });

  it('only generic failures along the chain: LXD failed, not an unexpected failure', () => {
    expect(exitCodeFor(new Error('top', { cause: lxd(LxdErrorCode.API, new Error('bottom')) }))).to.equal(ExitCode.LXD_FAILED);
    expect(exitCodeFor(new LxdManagerError(LxdManagerErrorCode.START, 's', { cause: new Error('x') }))).to.equal(ExitCode.LXD_FAILED);
  });

  it('a CliError or a ContainerError decides at once, whatever lies below it', () => {
    expect(exitCodeFor(lxd(LxdErrorCode.API, new CliError(ExitCode.USAGE, 'u', { cause: lxd(LxdErrorCode.NOT_FOUND) })))).to.equal(ExitCode.USAGE);
    const bad = new ContainerError(ContainerErrorCode.NOT_VALID, 'bad', { cause: lxd(LxdErrorCode.NOT_FOUND) });
    expect(exitCodeFor(lxd(LxdErrorCode.API, bad))).to.equal(ExitCode.INVALID_INPUT);
    const dir = new ContainerError(ContainerErrorCode.DIRECTORY, 'dir', { cause: lxd(LxdErrorCode.NOT_FOUND) });
    expect(exitCodeFor(dir)).to.equal(ExitCode.FAILURE);
  });

  it('an AbortError anywhere along the chain is an interruption', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(exitCodeFor(abort)).to.equal(ExitCode.INTERRUPTED);
    expect(exitCodeFor(lxd(LxdErrorCode.API, abort))).to.equal(ExitCode.INTERRUPTED);
    expect(exitCodeFor(new Error('aborted'))).to.equal(ExitCode.FAILURE);
  });

  it('follows eight causes, no further (a cycle ends)', () => {
    let deep: unknown = lxd(LxdErrorCode.NOT_FOUND);
    for (let i = 0; i < 7; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(exitCodeFor(deep), 'the eighth').to.equal(ExitCode.NOT_FOUND);
    expect(exitCodeFor(new Error('one more', { cause: deep })), 'the ninth').to.equal(ExitCode.FAILURE);
    const cycle = new Error('a') as Error & { cause?: unknown };
    cycle.cause = new Error('b', { cause: cycle });
    expect(exitCodeFor(cycle)).to.equal(ExitCode.FAILURE);
  });

  it('values that are not errors: unexpected failures', () => {
    for (const v of [undefined, null, 'text', 42, {}, { cause: lxd(LxdErrorCode.NOT_FOUND) }]) {
      expect(exitCodeFor(v), String(v)).to.equal(v !== null && typeof v === 'object' && 'cause' in v ? ExitCode.NOT_FOUND : ExitCode.FAILURE);
    }
  });

  it('a CliError keeps its exit code, message and cause', () => {
    const cause = new Error('c');
    const e = new CliError(ExitCode.NOT_FOUND, 'no such thing', { cause });
    expect([e.name, e.exitCode, e.message, e.cause]).to.deep.equal(['CliError', 4, 'no such thing', cause]);
  });
});
