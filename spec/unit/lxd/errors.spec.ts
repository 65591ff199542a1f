import { expect } from 'chai';
import {
  apiErrorFor,
  isConflict,
  isMemberUnreachable,
  isMemberUnreachableText,
  isNotFound,
  isPreconditionFailed,
  LxdApiError,
  LxdCommandNotFoundError,
  LxdConflictError,
  LxdConnectionError,
  LxdError,
  LxdErrorCode,
  LxdEventsError,
  LxdExtensionMissingError,
  LxdForbiddenError,
  LxdInstanceNotRunningError,
  LxdLocalFileError,
  LxdMemberUnreachableError,
  LxdNotFoundError,
  LxdOperationError,
  LxdOperationLostError,
  LxdOutputTooLargeError,
  LxdPreconditionFailedError,
  LxdResponseTooLargeError,
  LxdResponseValidationError,
  LxdStreamLostError,
  LxdTimeoutError,
  LxdValidationError,
  type ApiErrorDetails,
} from '../../../lib/lxd/errors.js';
import type { OperationData } from '../../../lib/lxd/schemas.js';

const details = (status: number, lxdMessage = 'm', more: Partial<ApiErrorDetails> = {}): ApiErrorDetails => ({ status, errorCode: status, method: 'GET', path: '/1.0/x', lxdMessage, ...more });
const op = (over: Partial<OperationData> = {}): OperationData =>
  ({ id: 'op1', class: 'task', description: 'Starting instance', created_at: '', updated_at: '', status: 'Failure', status_code: 400, resources: null, metadata: null, may_cancel: false, err: '', ...over }) as OperationData;

describe('lxd errors', () => {
  it('each class: its name, its stable code, its message and fields', () => {
    const cause = new Error('under');
    const rows: [LxdError, string, string, string][] = [
      [new LxdConnectionError('/s', 'ENOENT', 'no socket', { cause }), 'LxdConnectionError', LxdErrorCode.CONNECTION, 'no socket'],
      [new LxdTimeoutError('too slow', { timeoutMs: 5, method: 'GET', path: '/p' }), 'LxdTimeoutError', LxdErrorCode.TIMEOUT, 'too slow'],
      [new LxdApiError(details(500, 'broken')), 'LxdApiError', LxdErrorCode.API, 'GET /1.0/x: broken (HTTP 500)'],
      [new LxdNotFoundError(details(404, 'Not found')), 'LxdNotFoundError', LxdErrorCode.NOT_FOUND, 'GET /1.0/x: Not found (HTTP 404)'],
      [new LxdConflictError(details(409, 'exists')), 'LxdConflictError', LxdErrorCode.CONFLICT, 'GET /1.0/x: exists (HTTP 409)'],
      [new LxdPreconditionFailedError(details(412, 'stale')), 'LxdPreconditionFailedError', LxdErrorCode.ETAG_MISMATCH, 'GET /1.0/x: stale (HTTP 412)'],
      [new LxdForbiddenError(details(403, 'no')), 'LxdForbiddenError', LxdErrorCode.FORBIDDEN, 'GET /1.0/x: no (HTTP 403)'],
      [new LxdInstanceNotRunningError(details(400, 'Instance is not running')), 'LxdInstanceNotRunningError', LxdErrorCode.INSTANCE_NOT_RUNNING, 'GET /1.0/x: Instance is not running (HTTP 400)'],
      [new LxdOperationError(op({ err: 'it broke' })), 'LxdOperationError', LxdErrorCode.OPERATION_FAILED, 'it broke'],
      [new LxdOperationError(op({ status: 'Cancelled', status_code: 401 })), 'LxdOperationError', LxdErrorCode.OPERATION_FAILED, 'operation op1 ended with status Cancelled'],
      [new LxdResponseValidationError('GET', '/1.0/x', []), 'LxdResponseValidationError', LxdErrorCode.INVALID_RESPONSE, 'GET /1.0/x: unexpected response from LXD'],
      [new LxdResponseValidationError('GET', '/1.0/x', [{ path: ['metadata', 0, 'name'], message: 'Required' }, { path: [], message: 'second' }]), 'LxdResponseValidationError', LxdErrorCode.INVALID_RESPONSE, 'GET /1.0/x: unexpected response from LXD at metadata.0.name: Required'],
      [new LxdResponseTooLargeError('GET', '/1.0/x', 10), 'LxdResponseTooLargeError', LxdErrorCode.RESPONSE_TOO_LARGE, "GET /1.0/x: the response is larger than 10 bytes; raise the client's maxResponseBytes, or ask for less (no recursion, a filter)"],
      [new LxdOperationLostError(op(), false), 'LxdOperationLostError', LxdErrorCode.OPERATION_LOST, 'operation op1 (Starting instance) no longer exists on the server and its outcome was not seen (LXD forgets finished operations after 5 s)'],
      [new LxdOperationLostError(op({ description: '' }), true), 'LxdOperationLostError', LxdErrorCode.OPERATION_LOST, 'operation op1 (no description): its outcome was lost in a daemon restart (LXD does not keep operations across restarts); check the state of what it changed'],
      [new LxdExtensionMissingError('projects', 'Projects'), 'LxdExtensionMissingError', LxdErrorCode.EXTENSION_MISSING, 'Projects needs the API extension "projects", which this server does not have; upgrade the server (LXD or Incus)'],
      [new LxdValidationError('name', 'bad'), 'LxdValidationError', LxdErrorCode.INVALID_ARGUMENT, 'name: bad'],
      [new LxdEventsError('gone', { cause }), 'LxdEventsError', LxdErrorCode.EVENTS, 'gone'],
      [new LxdCommandNotFoundError('c1', ['nope', '-x'], ['/bin', '/usr/bin']), 'LxdCommandNotFoundError', LxdErrorCode.COMMAND_NOT_FOUND, 'c1: command not found: nope (looked in /bin, /usr/bin)'],
      [new LxdCommandNotFoundError('c1', [], []), 'LxdCommandNotFoundError', LxdErrorCode.COMMAND_NOT_FOUND, 'c1: command not found: '],
      [new LxdStreamLostError('stdout', 'cut', { cause }), 'LxdStreamLostError', LxdErrorCode.STREAM_LOST, 'cut'],
      [new LxdOutputTooLargeError('stderr', 7), 'LxdOutputTooLargeError', LxdErrorCode.OUTPUT_TOO_LARGE, 'the command wrote more than 7 bytes to stderr; raise maxOutputBytes, or read the output as a stream with exec()'],
      [new LxdError(LxdErrorCode.API, 'plain'), 'LxdError', LxdErrorCode.API, 'plain'],
      [new LxdMemberUnreachableError(details(500, 'gone', { target: 'm1' })), 'LxdMemberUnreachableError', LxdErrorCode.MEMBER_UNREACHABLE, 'GET /1.0/x: cluster member "m1" is unreachable: gone (HTTP 500)'],
      [new LxdLocalFileError('/tmp/out', 'ENAMETOOLONG', 'name too long', { cause }), 'LxdLocalFileError', LxdErrorCode.LOCAL_FILE, 'name too long'],
    ];
    for (const [err, name, code, message] of rows) {
      expect([err.name, err.code, err.message], name).to.deep.equal([name, code, message]);
      expect(err).to.be.instanceOf(LxdError);
      expect(LxdError.is(err, code as LxdErrorCode), name).to.equal(true);
    }
    const conn = rows[0]![0] as LxdConnectionError;
    expect([conn.endpoint, conn.syscallCode, conn.cause]).to.deep.equal(['/s', 'ENOENT', cause]);
    const t = rows[1]![0] as LxdTimeoutError;
    expect([t.timeoutMs, t.method, t.path]).to.deep.equal([5, 'GET', '/p']);
    expect(new LxdTimeoutError('x', { timeoutMs: 1 }).method).to.equal(undefined);
    expect(new LxdEventsError('x').cause).to.equal(undefined);
    const v = rows[11]![0] as LxdResponseValidationError;
    expect(v.issues).to.have.length(2);
    expect([v.method, v.path]).to.deep.equal(['GET', '/1.0/x']);
    expect((rows[16]![0] as LxdValidationError).field).to.equal('name');
    expect((rows[15]![0] as LxdExtensionMissingError).extension).to.equal('projects');
    expect((rows[13]![0] as LxdOperationLostError).daemonRestarted).to.equal(false);
    expect((rows[14]![0] as LxdOperationLostError).daemonRestarted).to.equal(true);
    const tooLarge = rows[12]![0] as LxdResponseTooLargeError;
    expect([tooLarge.method, tooLarge.path, tooLarge.maxBytes]).to.deep.equal(['GET', '/1.0/x', 10]);
    expect((rows[20]![0] as LxdStreamLostError).stream).to.equal('stdout');
    expect([(rows[21]![0] as LxdOutputTooLargeError).stream, (rows[21]![0] as LxdOutputTooLargeError).maxBytes]).to.deep.equal(['stderr', 7]);
    const local = rows[24]![0] as LxdLocalFileError;
    expect([local.localPath, local.syscallCode, local.cause]).to.deep.equal(['/tmp/out', 'ENAMETOOLONG', cause]);
    const cnf = rows[18]![0] as LxdCommandNotFoundError;
    expect([cnf.instance, cnf.command, cnf.searched]).to.deep.equal(['c1', ['nope', '-x'], ['/bin', '/usr/bin']]);
  });

  it("an API error keeps the request and LXD's text; its text is LXD's own", () => {
    const e = new LxdApiError(details(500, 'boom', { project: 'p1', errorCode: 0 }));
    expect([e.status, e.errorCode, e.method, e.path, e.project, e.lxdMessage, e.text]).to.deep.equal([500, 0, 'GET', '/1.0/x', 'p1', 'boom', 'boom']);
    expect(new LxdNotFoundError(details(404, 'Not found')).text).to.equal('Not found');
  });

  describe('apiErrorFor', () => {
    const cases: [string, ApiErrorDetails, new (...a: never[]) => LxdApiError, string][] = [
      ['404', details(404), LxdNotFoundError, LxdErrorCode.NOT_FOUND],
      ['409', details(409), LxdConflictError, LxdErrorCode.CONFLICT],
      ['500 "already exists"', details(500, 'Instance "c1" already exists'), LxdConflictError, LxdErrorCode.CONFLICT],
      ['500 "Already Exists" (any case)', details(500, 'Profile Already Exists'), LxdConflictError, LxdErrorCode.CONFLICT],
      ["Incus's UNIQUE constraint", details(500, 'Failed creating: UNIQUE constraint failed: instances.name'), LxdConflictError, LxdErrorCode.CONFLICT],
      ['412', details(412), LxdPreconditionFailedError, LxdErrorCode.ETAG_MISMATCH],
      ['403', details(403), LxdForbiddenError, LxdErrorCode.FORBIDDEN],
      ['400', details(400), LxdApiError, LxdErrorCode.API],
      ['500', details(500), LxdApiError, LxdErrorCode.API],
      ['an envelope on HTTP 200 with error_code 404', details(200, 'Not found', { errorCode: 404 }), LxdNotFoundError, LxdErrorCode.NOT_FOUND],
      ['an envelope on HTTP 200 with error_code 412', details(200, 'stale', { errorCode: 412 }), LxdPreconditionFailedError, LxdErrorCode.ETAG_MISMATCH],
      ['HTTP 404 wins over its error_code', details(404, 'Not found', { errorCode: 500 }), LxdNotFoundError, LxdErrorCode.NOT_FOUND],
      ['HTTP 400 wins over error_code 404', details(400, 'bad', { errorCode: 404 }), LxdApiError, LxdErrorCode.API],
      ['a member that cannot be reached', details(500, 'Failed to connect: Unable to connect to: 127.0.1.3:8443 (dial)'), LxdMemberUnreachableError, LxdErrorCode.MEMBER_UNREACHABLE],
      ['a member without an event connection', details(503, 'missing event connection with target cluster member'), LxdMemberUnreachableError, LxdErrorCode.MEMBER_UNREACHABLE],
      ['a forwarded request that failed', details(500, 'Get "https://127.0.1.3:8443/1.0/instances/c1": EOF'), LxdMemberUnreachableError, LxdErrorCode.MEMBER_UNREACHABLE],
      ['a forwarded internal request that failed', details(500, 'Post "https://10.0.0.2:8443/internal/cluster": EOF'), LxdMemberUnreachableError, LxdErrorCode.MEMBER_UNREACHABLE],
      ['member texts under 500 are not about members', details(404, 'Unable to connect to: 127.0.1.3:8443'), LxdNotFoundError, LxdErrorCode.NOT_FOUND],
    ];
    for (const [what, d, Class, code] of cases) {
      it(what, () => {
        const e = apiErrorFor(d);
        expect(e.constructor).to.equal(Class);
        expect(e.code).to.equal(code);
        expect(e.status).to.equal(d.status);
      });
    }

    it('the texts about other members, and only those', () => {
      expect(isMemberUnreachableText(500, 'Unable to connect to: 1.2.3.4:8443')).to.equal(true);
      expect(isMemberUnreachableText(499, 'Unable to connect to: 1.2.3.4:8443')).to.equal(false);
      expect(isMemberUnreachableText(500, 'x Get "https://1.2.3.4:8443/1.0/x": EOF')).to.equal(false);
      expect(isMemberUnreachableText(500, 'Get "https://1.2.3.4:8443/2.0/x": EOF')).to.equal(false);
      expect(isMemberUnreachableText(500, 'Get "https://1.2.3.4:8443/1.0x": EOF')).to.equal(false);
      expect(isMemberUnreachableText(500, 'Get "https://1.2.3.4:8443/1.0": EOF')).to.equal(true);
      expect(isMemberUnreachableText(500, 'Delete "https://h:8443/1.0/instances/c1?project=p": reset')).to.equal(true);
      expect(isMemberUnreachableText(500, 'Get "http://h:8443/1.0/x": EOF')).to.equal(false);
      expect(isMemberUnreachableText(500, 'Unable to connect to:1.2.3.4')).to.equal(false);
      expect(isMemberUnreachableText(500, 'Instance not running')).to.equal(false);
    });
  });

  describe('an unreachable cluster member', () => {
    it('names the member (the call target) and its address, in its message and text', () => {
      const e = new LxdMemberUnreachableError({ ...details(500, 'Failed: Unable to connect to: 127.0.1.3:8443 more'), target: 'm3' });
      expect([e.member, e.address]).to.deep.equal(['m3', '127.0.1.3:8443']);
      expect(e.message).to.equal('GET /1.0/x: cluster member "m3" (127.0.1.3:8443) is unreachable: Failed: Unable to connect to: 127.0.1.3:8443 more (HTTP 500)');
      expect(e.text).to.equal('cluster member "m3" (127.0.1.3:8443) is unreachable: Failed: Unable to connect to: 127.0.1.3:8443 more');
    });

    it('an explicit member wins over the target; the address of a forwarded request; an address at the end of the text', () => {
      expect(new LxdMemberUnreachableError({ ...details(500, 'x'), target: 't', member: 'm' }).member).to.equal('m');
      const fwd = new LxdMemberUnreachableError(details(500, 'Put "https://10.1.2.3:8443/1.0/x": EOF'));
      expect([fwd.member, fwd.address]).to.deep.equal([undefined, '10.1.2.3:8443']);
      expect(fwd.text).to.equal('cluster member (10.1.2.3:8443) is unreachable: Put "https://10.1.2.3:8443/1.0/x": EOF');
      expect(new LxdMemberUnreachableError(details(500, 'Unable to connect to: 10.9.9.9:8443')).address).to.equal('10.9.9.9:8443');
      // a forwarded request names the address only when LXD's text starts with it
      expect(new LxdMemberUnreachableError(details(500, 'Missing event connection with target cluster member; was: Get "https://10.0.0.9:8443/1.0": EOF')).address).to.equal(undefined);
    });

    it('an unknown member and address say so', () => {
      const e = new LxdMemberUnreachableError(details(500, 'Missing event connection with target cluster member'));
      expect([e.member, e.address]).to.deep.equal([undefined, undefined]);
      expect(e.message).to.equal('GET /1.0/x: cluster member (unknown) is unreachable: Missing event connection with target cluster member (HTTP 500)');
      expect(e.text).to.equal('cluster member (unknown) is unreachable: Missing event connection with target cluster member');
      const named = new LxdMemberUnreachableError({ ...details(500, 'gone'), member: 'm2' });
      expect(named.text).to.equal('cluster member "m2" is unreachable: gone');
    });

    it('naming() gives the same error about another member, and itself when nothing changes', () => {
      const cause = new Error('c');
      const e = new LxdMemberUnreachableError({ ...details(500, 'Unable to connect to: 1.1.1.1:8443', { project: 'p' }), target: 'm1' }, { cause });
      expect(e.naming(undefined)).to.equal(e);
      expect(e.naming('m1')).to.equal(e);
      const other = e.naming('m2');
      expect(other).to.not.equal(e);
      expect([other.member, other.address, other.project, other.status, other.errorCode, other.method, other.path, other.lxdMessage, other.cause]).to.deep.equal(['m2', '1.1.1.1:8443', 'p', 500, 500, 'GET', '/1.0/x', 'Unable to connect to: 1.1.1.1:8443', cause]);
    });
  });

  it('the is* helpers recognise their code only', () => {
    const nf = new LxdNotFoundError(details(404));
    const cf = new LxdConflictError(details(409));
    const pf = new LxdPreconditionFailedError(details(412));
    const mu = new LxdMemberUnreachableError(details(500, 'x'));
    expect([isNotFound(nf), isNotFound(cf), isNotFound(new Error('x')), isNotFound(undefined)]).to.deep.equal([true, false, false, false]);
    expect([isConflict(cf), isConflict(nf)]).to.deep.equal([true, false]);
    expect([isPreconditionFailed(pf), isPreconditionFailed(cf)]).to.deep.equal([true, false]);
    expect([isMemberUnreachable(mu), isMemberUnreachable(nf)]).to.deep.equal([true, false]);
  });
});
