import { expect } from 'chai';
import { ContainerError, ContainerErrorCode } from '../../../lib/errors.js';
import { KvmError, KvmErrorCode } from '../../../lib/container/kvm/errors.js';
import { LxdManagerError, LxdManagerErrorCode } from '../../../lib/container/lxd/errors.js';
import { CliError, ExitCode, exitCodeFor } from '../../../lib/cli/exit-codes.js';
import {
  LxdConnectionError,
  LxdMemberUnreachableError,
  LxdNotFoundError,
  LxdOperationError,
  LxdPreconditionFailedError,
  LxdTimeoutError,
  LxdValidationError,
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
