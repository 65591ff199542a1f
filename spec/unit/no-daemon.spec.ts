/**
 * Unit specs never reach a daemon: spec/helpers/no-daemon.ts (a mocha root-hook plugin that
 * .mocharc.json loads) guards them. These specs check that the guard is on while a unit spec runs and
 * that it does what it says, so that removing it, or breaking it, fails the unit suite.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { expect } from 'chai';
import { LxdClient, LxdConnectionError, resolveSocketPath } from '../../lib/lxd/index.js';
import { guardActive, isDaemonSocket, NO_DAEMON_DIR, takeViolations } from '../helpers/no-daemon.js';

/** What a connection to `path` ends with: the error's code and message, or 'connected'. */
function tryConnect(path: string): Promise<{ code: string; message: string } | 'connected'> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? '', message: e.message }));
  });
}

describe('unit specs reach no daemon', function () {
  afterEach(() => {
    // the refusals provoked here are the point of these specs, not a unit spec reaching a daemon
    takeViolations();
  });

  it('the guard is on while a unit spec runs (.mocharc.json requires spec/helpers/no-daemon.ts)', () => {
    expect(guardActive()).to.equal(true);
  });

  it('the daemons are looked for where there are none: LXD, Incus, libvirt, a child process alike', async () => {
    expect(resolveSocketPath()).to.equal(`${NO_DAEMON_DIR}/lxd/unix.socket`);
    expect(resolveSocketPath(undefined, process.env, 'lxd')).to.equal(`${NO_DAEMON_DIR}/lxd/unix.socket`);
    expect(resolveSocketPath(undefined, process.env, 'incus')).to.equal(`${NO_DAEMON_DIR}/incus/unix.socket`);
    expect(process.env['LIBVIRT_DEFAULT_URI']).to.equal(`qemu+unix:///system?socket=${NO_DAEMON_DIR}/libvirt/libvirt-sock`);
    const childEnv = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', 'console.log([process.env.LXD_SOCKET, process.env.INCUS_SOCKET, process.env.LIBVIRT_DEFAULT_URI].join(" "))'], (err, out) => (err ? reject(err) : resolve(out.trim()))),
    );
    expect(childEnv).to.equal(`${process.env['LXD_SOCKET']} ${process.env['INCUS_SOCKET']} ${process.env['LIBVIRT_DEFAULT_URI']}`);
  });

  it('a default client fails as on a host without LXD, and never reaches the real one', async () => {
    const client = new LxdClient({ useEvents: false });
    try {
      const err = await client.server.get({ timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect(err).to.have.property('syscallCode', 'ENOENT');
    } finally {
      await client.close();
    }
    expect(takeViolations()).to.deep.equal([]);
  });

  for (const path of ['/var/lib/lxd/unix.socket', '/var/lib/incus/unix.socket', '/run/incus/unix.socket', '/var/snap/lxd/common/lxd/unix.socket', '/run/libvirt/libvirt-sock', '/var/run/libvirt/libvirt-sock-ro', '/var/lib/lxdkit-cluster/m1/unix.socket']) {
    it(`a connection to ${path} is refused and recorded (the spec that made it fails)`, async () => {
      expect(isDaemonSocket(path)).to.equal(true);
      const got = await tryConnect(path);
      expect(got).to.not.equal('connected');
      expect(got).to.deep.include({ code: 'ECONNREFUSED' });
      expect((got as { message: string }).message).to.contain('a unit spec must not reach a daemon');
      expect(takeViolations()).to.deep.equal([path]);
    });
  }

  it('a client given the real socket explicitly is refused too', async () => {
    const client = new LxdClient({ socketPath: '/var/lib/lxd/unix.socket', useEvents: false });
    try {
      const err = await client.server.get({ timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect(err).to.have.property('syscallCode', 'ECONNREFUSED');
    } finally {
      await client.close();
    }
    expect(takeViolations()).to.include('/var/lib/lxd/unix.socket');
  });

  it('other unix sockets and the loopback stay usable (fake servers)', async () => {
    expect(isDaemonSocket('/tmp/lxdkit-fake-1/unix.socket')).to.equal(false);
    expect(isDaemonSocket('/var/lib/lxd/unix.socket.bak')).to.equal(false);
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      expect(ok).to.equal(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(takeViolations()).to.deep.equal([]);
  });
});
