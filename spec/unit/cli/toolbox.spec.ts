/**
 * The toolbox commands in-process: help, usage errors before any request, exec's exit status and
 * streams against the fake daemon.
 */
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { StringStream } from '../../../lib/cli/io.js';
import { runCli } from '../../../lib/cli/program.js';
import { parseExpiry } from '../../../lib/cli/commands/snapshot.js';
import { splitTarget } from '../../../lib/cli/commands/file.js';
import { silentLogger } from '../../../lib/logger.js';
import { EXEC_END_GRACE_MS } from '../../../lib/lxd/resources/instance-exec.js';
import { done, fakeExec } from '../../helpers/fake-exec.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { cli } from './helpers.js';

const COMMANDS = [['exec'], ['file'], ['file', 'push'], ['file', 'pull'], ['file', 'delete'], ['file', 'list'], ['snapshot'], ['snapshot', 'create'], ['snapshot', 'list'], ['snapshot', 'restore'], ['snapshot', 'delete'], ['backup'], ['backup', 'export'], ['backup', 'import']];

describe('cli toolbox commands (in-process)', function () {
  it('has --help on every toolbox command', async function () {
    for (const c of COMMANDS) {
      const r = await cli([...c, '--help']);
      expect(r.code, c.join(' ')).to.equal(0);
      expect(r.stdout, c.join(' ')).to.contain(`Usage: lxdkit ${c.join(' ')}`);
    }
    const top = (await cli(['--help'])).stdout;
    for (const c of ['exec', 'file', 'snapshot', 'backup']) expect(top).to.match(new RegExp(`^  ${c} `, 'm'));
  });

  it('refuses bad command lines with exit 2 (usage) or 3 (input) before contacting LXD', async function () {
    // a socket that does not exist: any request would exit 6
    const g = ['--socket', '/nonexistent/lxdkit.socket'];
    expect((await cli([...g, 'exec', 'c1'])).code).to.equal(2);
    expect((await cli([...g, 'exec', '--env', 'NOEQUALS', 'c1', '--', 'true'])).code).to.equal(2);
    expect((await cli([...g, 'exec', '-t', '-T', 'c1', '--', 'true'])).code).to.equal(2);
    expect((await cli([...g, 'file', 'push', 'only-one'])).code).to.equal(2);
    expect((await cli([...g, 'file', 'pull', 'no-slash', '/tmp/x'])).code).to.equal(2);
    expect((await cli([...g, 'file', 'pull', '-r', 'c1/a', '-'])).code).to.equal(2);
    expect((await cli([...g, 'file', 'delete', 'Bad_Name/x'])).code).to.equal(3);
    expect((await cli([...g, 'snapshot', 'restore', 'c1'])).code).to.equal(2);
    expect((await cli([...g, 'snapshot', 'create', 'c1', '--expiry', 'soonish'])).code).to.equal(3);
    expect((await cli([...g, 'file', 'push', '--mode', '999', '/etc/hostname', 'c1/tmp/'])).code).to.equal(3);
  });

  it('splits <instance>/<path> and reads expiries', function () {
    expect(splitTarget('c1/etc/hosts')).to.deep.equal({ instance: 'c1', path: '/etc/hosts' });
    expect(splitTarget('c1/')).to.deep.equal({ instance: 'c1', path: '/' });
    expect(splitTarget('r1:c1/etc/a:b')).to.deep.equal({ remote: 'r1', instance: 'c1', path: '/etc/a:b' });
    expect(() => splitTarget('r 1:c1/etc')).to.throw(/"r 1" is not valid/);
    const now = Date.UTC(2030, 0, 1);
    expect(parseExpiry('30m', now).getTime()).to.equal(now + 30 * 60_000);
    expect(parseExpiry('2w', now).getTime()).to.equal(now + 14 * 86_400_000);
    expect(parseExpiry('2031-02-03T04:05:06Z').toISOString()).to.equal('2031-02-03T04:05:06.000Z');
  });

  describe('exec against the fake daemon', function () {
    let fake: FakeLxd;
    beforeEach(async () => {
      fake = await startFakeLxd();
      // the fake sends no operation events: the command's client waits with /wait
      fake.eventsEnabled = false;
    });
    afterEach(async () => {
      await fake.close();
    });

    it("exits with the command's status, with stdin, stdout and stderr wired through", async function () {
      fakeExec(fake, {}, (s) => {
        s.sockets['0']!.on('message', (_d, isBinary) => {
          if (isBinary) return;
          const input = Buffer.concat(s.received['0']!.filter((f): f is Buffer => Buffer.isBuffer(f)));
          s.sockets['1']!.send(Buffer.concat([Buffer.from('got: '), input]), { binary: true });
          s.sockets['1']!.send('');
          s.sockets['2']!.send(Buffer.from('warning\n'), { binary: true });
          s.sockets['2']!.send('');
          setTimeout(() => s.finish(done(42)), 10);
        });
      });
      const stdout = new StringStream();
      const stderr = new StringStream();
      const code = await runCli(['--socket', fake.socketPath, 'exec', 'c1', '--env', 'A=b=c', '--', 'cat'], { stdout, stderr, env: {}, cwd: '/', stdin: Readable.from([Buffer.from('hello')]) }, { logger: silentLogger });
      expect(code).to.equal(42);
      expect(stdout.text).to.equal('got: hello');
      expect(stderr.text).to.equal('warning\n');
      expect(fake.requestsTo('POST', '/1.0/instances/c1/exec')[0]?.body).to.deep.include({ command: ['cat'], environment: { A: 'b=c' }, interactive: false });
    });

    it('exits 7 (LXD_ERR_INVALID_RESPONSE) for an exit status outside 0-255, never 0', async function () {
      for (const status of [256, 512, -1]) {
        fakeExec(fake, {}, (s) => {
          s.sockets['1']!.send('');
          s.sockets['2']!.send('');
          s.finish(done(status));
        });
        const stdout = new StringStream();
        const stderr = new StringStream();
        const code = await runCli(['--socket', fake.socketPath, 'exec', 'c1', '--', 'x'], { stdout, stderr, env: {}, cwd: '/' }, { logger: silentLogger });
        expect(code, String(status)).to.equal(7);
        expect(stderr.text).to.include(`unexpected response from LXD at metadata.return: the exit status ${status} is outside 0-255`);
      }
    });

    it(`exits 7 a short time (${EXEC_END_GRACE_MS} ms) after the command ended when an output never gets its end-of-stream barrier`, async function () {
      this.timeout(EXEC_END_GRACE_MS * 5);
      fakeExec(fake, {}, (s) => {
        s.sockets['1']!.send(Buffer.from('partial'), { binary: true });
        s.sockets['2']!.send('');
        s.finish(done(0));
      });
      const stdout = new StringStream();
      const stderr = new StringStream();
      const code = await runCli(['--socket', fake.socketPath, 'exec', 'c1', '--', 'x'], { stdout, stderr, env: {}, cwd: '/' }, { logger: silentLogger });
      expect(code).to.equal(7);
      expect(stdout.text).to.equal('partial');
      expect(stderr.text).to.match(/^lxdkit: exec: the command ended, but the stdout stream got no end-of-stream barrier within \d+ ms/);
    });
  });
});
