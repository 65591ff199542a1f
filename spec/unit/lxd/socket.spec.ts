import { expect } from 'chai';
import { DEBIAN_SOCKET, LxdClient, LxdValidationError, resolveSocketPath } from '../../../lib/lxd/index.js';

describe('socket discovery', function () {
  const table: [string, string | undefined, NodeJS.ProcessEnv, string][] = [
    ['an explicit path wins', '/x/s', { LXD_SOCKET: '/e/s', LXD_DIR: '/d' }, '/x/s'],
    ['then LXD_SOCKET', undefined, { LXD_SOCKET: '/e/s', LXD_DIR: '/d' }, '/e/s'],
    ['then $LXD_DIR/unix.socket', undefined, { LXD_DIR: '/d' }, '/d/unix.socket'],
    ['then the Debian path (no snap socket here)', undefined, {}, DEBIAN_SOCKET],
  ];
  for (const [label, explicit, env, want] of table) {
    it(label, function () {
      expect(resolveSocketPath(explicit, env)).to.equal(want);
    });
  }

  it('does no I/O in the constructor and checks options first', function () {
    expect(() => new LxdClient({ url: 'not a url' })).to.throw(LxdValidationError, /not a URL/);
    expect(() => new LxdClient({ url: 'ftp://host' })).to.throw(LxdValidationError, /https/);
    expect(() => new LxdClient({ timeoutMs: 0 })).to.throw(LxdValidationError, /timeoutMs/);
    expect(() => new LxdClient({ project: 'a/b' })).to.throw(LxdValidationError, /project/);
    expect(new LxdClient({ socketPath: '/nonexistent' }).endpoint).to.equal('/nonexistent');
  });
});

describe('LxdkitError', function () {
  it('is the base of every error family, each keeping its own code', async function () {
    const { LxdkitError, LxdError, LxdValidationError, ContainerError, ContainerErrorCode, KvmError, KvmErrorCode, LxdManagerError, LxdManagerErrorCode, SimplestreamsError, SimplestreamsErrorCode, Namespace } = await import('../../../lib/index.js');
    const errors = [
      new LxdValidationError('name', 'bad'),
      new ContainerError(ContainerErrorCode.NOT_VALID, 'x'),
      new KvmError(KvmErrorCode.COMMAND_FAILED, 'x'),
      new LxdManagerError(LxdManagerErrorCode.CREATE, 'x'),
      new SimplestreamsError(SimplestreamsErrorCode.TIMEOUT, 'x'),
    ];
    expect(errors.map((e) => [e instanceof LxdkitError, LxdkitError.is(e)])).to.deep.equal(errors.map(() => [true, true]));
    expect(errors.map((e) => [LxdError.is(e), ContainerError.is(e), KvmError.is(e), LxdManagerError.is(e), SimplestreamsError.is(e)])).to.deep.equal([
      [true, false, false, false, false],
      [false, true, false, false, false],
      [false, false, true, false, false],
      [false, false, false, true, false],
      [false, false, false, false, true],
    ]);
    expect(errors.map((e) => e.code)).to.deep.equal(['LXD_ERR_INVALID_ARGUMENT', 'CONTAINER_ERR_NOT_VALID', 'KVM_ERR_COMMAND_FAILED', 'LXD_MANAGER_ERR_CREATE', 'SIMPLESTREAMS_ERR_TIMEOUT']);
    let thrown: unknown;
    try {
      new Namespace('not-a-uuid');
    } catch (e) {
      thrown = e;
    }
    expect(LxdkitError.is(thrown)).to.equal(true);
    expect(LxdkitError.is(new Error('plain'))).to.equal(false);
  });
});
