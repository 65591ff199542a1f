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
