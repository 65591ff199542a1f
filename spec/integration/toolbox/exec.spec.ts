/**
 * instances.exec() and execOutput() on the real daemons (LXD 5.0.2 and Incus), in busybox containers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { expect } from 'chai';
import {
  LxdCommandNotFoundError,
  LxdInstanceNotRunningError,
  LxdOutputTooLargeError,
  LxdStreamLostError,
  LxdTimeoutError,
  LxdValidationError,
  type LxdClient,
} from '../../../lib/lxd/index.js';
import { removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { destroy, launch, processes } from '../../helpers/toolbox.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';

const PREFIX = 'lxdkit-spec-ex-';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Reads a stream to its end. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describeEachServer('instances.exec', (server) => {
  let lxd: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const c1 = `${run}-a`;

  // ws opens its sockets through node:http: with nock's interceptor on (any spec file that imported
  // nock turns it on for the whole run), its socket wrapper can drop a stream read with backpressure
  let resumeNock: () => void = () => undefined;
  before(async function () {
    resumeNock = pauseNock();
    lxd = await requireServer(this, server);
    await removeLeftovers(lxd, PREFIX);
    await launch(lxd, c1);
  });

  after(async function () {
    resumeNock();
    if (!lxd) return;
    await removeLeftovers(lxd, run);
    await lxd.close();
  });

  it('pipes 1 MiB into `cat; echo err >&2; exit 3`: the same bytes on stdout, err on stderr, exit code 3', async function () {
    const input = randomBytes(1 << 20);
    const proc = await lxd.instances.exec(c1, { command: ['sh', '-c', 'cat; echo err >&2; exit 3'], stdin: Readable.from([input.subarray(0, 300_000), input.subarray(300_000)]) });
    const [stdout, stderr, result] = await Promise.all([readAll(proc.stdout), readAll(proc.stderr), proc.wait()]);
    expect(stdout.equals(input), 'stdout is stdin, byte for byte').to.equal(true);
    expect(stderr.toString()).to.equal('err\n');
    expect(result.exitCode).to.equal(3);
    expect(result.lxdError).to.equal(undefined);
  });

  it('runs 10 such commands at once, each with its own data (or a typed loss, never a wrong or short output)', async function () {
    // Under many concurrent sessions both servers now and then drop an output websocket before its
    // end (measured: about 1 session in 3 000); lxdkit must then say so with LxdStreamLostError. More
    // than one such loss in ten sessions is far beyond that rate and fails the spec.
    const inputs = Array.from({ length: 10 }, (_, i) => Buffer.concat([Buffer.from(`exec ${i}\n`), randomBytes(100_000 + i)]));
    const results = await Promise.allSettled(inputs.map((stdin, i) => lxd.instances.execOutput(c1, { command: ['sh', '-c', 'cat; echo err $N >&2; exit 3'], stdin, environment: { N: String(i) } })));
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const r of lost) expect(r.reason, String(r.reason)).to.be.instanceOf(LxdStreamLostError);
    expect(lost.length, 'sessions lost').to.be.at.most(1);
    results.forEach((r, i) => {
      if (r.status === 'rejected') return;
      expect(r.value.stdout.equals(inputs[i]!), `exec ${i} got its own stdout`).to.equal(true);
      expect(r.value.stderr.toString()).to.equal(`err ${i}\n`);
      expect(r.value.exitCode).to.equal(3);
    });
  });

  it('delivers 10 MiB of binary stdout byte-exact (SHA-256 against the instance\'s own)', async function () {
    const r = await lxd.instances.execOutput(c1, { command: ['sh', '-c', 'head -c 10485760 /dev/urandom | tee /tmp/big.bin'] });
    const sum = await lxd.instances.execOutput(c1, { command: ['sha256sum', '/tmp/big.bin'] });
    expect(r.stdout.length).to.equal(10 * 1024 * 1024);
    expect(sha256(r.stdout)).to.equal(sum.stdout.toString().split(' ')[0]);
  });

  it('reads stdout with backpressure: a slow consumer still gets every byte', async function () {
    const proc = await lxd.instances.exec(c1, { command: ['head', '-c', '3000000', '/dev/zero'] });
    proc.stderr.resume();
    let got = 0;
    let maxBuffered = 0;
    for await (const chunk of proc.stdout) {
      got += (chunk as Buffer).length;
      maxBuffered = Math.max(maxBuffered, proc.stdout.readableLength);
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(got).to.equal(3_000_000);
    // the websocket is paused when the stream is full: what waits in it stays near its high-water mark
    expect(maxBuffered).to.be.lessThan(2 * 1024 * 1024);
    expect((await proc.wait()).exitCode).to.equal(0);
  });

  it('aborts `sleep 60` within 2 s: the call rejects with the reason and the process is gone', async function () {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('stop it')), 300);
    const err = await lxd.instances.execOutput(c1, { command: ['sleep', '60'], signal: ac.signal }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect((err as Error).message).to.equal('stop it');
    expect(took).to.be.lessThan(2000);
    expect((await processes(lxd, c1)).filter((l) => /sleep 60/.test(l))).to.deep.equal([]);
  });

  it('stops a command at its deadline with LxdTimeoutError, and the process is gone', async function () {
    const err = await lxd.instances.execOutput(c1, { command: ['sleep', '61'], timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdTimeoutError);
    expect((await processes(lxd, c1)).filter((l) => /sleep 61/.test(l))).to.deep.equal([]);
  });

  describe('what an abort or a deadline stops, and what survives (ps in the container afterwards)', function () {
    // unique durations name this run's processes; whatever survives is killed at the end of each case
    let n = 700 + Math.floor(Math.random() * 200);
    const tag = (): string => String(n++);
    /** `ps` lines (pid, ppid, args) of the processes whose command line holds `sleep <s>`. */
    const left = async (s: string): Promise<{ pid: number; ppid: number; args: string }[]> => {
      const r = await lxd.instances.execOutput(c1, { command: ['ps', '-o', 'pid,ppid,args'] });
      return r.stdout
        .toString()
        .split('\n')
        .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && m[3]!.includes(`sleep ${s}`) && !m[3]!.startsWith('ps '))
        .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
    };
    const killLeft = async (s: string): Promise<void> => {
      for (const p of await left(s)) await lxd.instances.execOutput(c1, { command: ['kill', '-9', String(p.pid)] }).catch(() => {});
    };
    const abortAfter = (ms: number): AbortSignal => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('stop it')), ms);
      return ac.signal;
    };

    it('without a pty, an abort stops the command itself; its children survive, adopted by init', async function () {
      const s = tag();
      try {
        const err = await lxd.instances.execOutput(c1, { command: ['sh', '-c', `sleep ${s}; echo done`], signal: abortAfter(300) }).catch((e: unknown) => e);
        expect((err as Error).message).to.equal('stop it');
        const procs = await left(s);
        expect(procs.map((p) => p.args), 'the shell is gone, its child sleep is not').to.deep.equal([`sleep ${s}`]);
        expect(procs[0]!.ppid, 'adopted by the container\'s init').to.equal(1);
      } finally {
        await killLeft(s);
      }
    });

    it('a command that ignores killSignal (SIGTERM) gets SIGKILL a second later, at an abort and at the deadline', async function () {
      for (const how of ['abort', 'deadline'] as const) {
        const s = tag();
        try {
          const opts = how === 'abort' ? { signal: abortAfter(300) } : { timeoutMs: 300 };
          const err = await lxd.instances.execOutput(c1, { command: ['sh', '-c', `trap '' TERM; sleep ${s}; echo done`], killSignal: 'SIGTERM', ...opts }).catch((e: unknown) => e);
          if (how === 'deadline') expect(err).to.be.instanceOf(LxdTimeoutError);
          else expect((err as Error).message).to.equal('stop it');
          expect((await left(s)).map((p) => p.args), `${how}: the shell is gone, its child sleep is not`).to.deep.equal([`sleep ${s}`]);
        } finally {
          await killLeft(s);
        }
      }
    });

    it('with a pty, the hang-up stops the whole foreground process group, background children of the shell included', async function () {
      const a = tag();
      const b = tag();
      try {
        const err = await lxd.instances.execOutput(c1, { command: ['sh', '-c', `sleep ${a} & sleep ${b}; echo done`], interactive: true, signal: abortAfter(300) }).catch((e: unknown) => e);
        expect((err as Error).message).to.equal('stop it');
        await new Promise((r) => setTimeout(r, 200));
        expect([...(await left(a)), ...(await left(b))]).to.deep.equal([]);
      } finally {
        await killLeft(a);
        await killLeft(b);
      }
    });

    it('a command run under setsid that passes the signal on to its process group leaves nothing behind', async function () {
      const s = tag();
      try {
        const command = ['setsid', 'sh', '-c', `trap 'trap - TERM; kill -TERM -$$' TERM; sleep ${s} & wait`];
        const err = await lxd.instances.execOutput(c1, { command, killSignal: 'SIGTERM', signal: abortAfter(300) }).catch((e: unknown) => e);
        expect((err as Error).message).to.equal('stop it');
        await new Promise((r) => setTimeout(r, 200));
        expect(await left(s)).to.deep.equal([]);
      } finally {
        await killLeft(s);
      }
    });
  });

  it('sends a signal with kill(): SIGTERM ends `sleep` with 128 + 15', async function () {
    const proc = await lxd.instances.exec(c1, { command: ['sleep', '62'] });
    proc.stdout.resume();
    proc.stderr.resume();
    await proc.kill('SIGTERM');
    expect((await proc.wait()).exitCode).to.equal(143);
  });

  it('passes environment, cwd, user and group', async function () {
    const r = await lxd.instances.execOutput(c1, { command: ['sh', '-c', 'echo "$GREETING"; pwd; id -u; id -g'], environment: { GREETING: 'hello there' }, cwd: '/tmp', user: 1000, group: 1001 });
    expect(r.stdout.toString()).to.equal('hello there\n/tmp\n1000\n1001\n');
  });

  it('reports a missing program as LxdCommandNotFoundError, and a command\'s own exit 127 as a result', async function () {
    const err = await lxd.instances.execOutput(c1, { command: ['no-such-program'] }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdCommandNotFoundError);
    expect((err as LxdCommandNotFoundError).searched).to.include('/bin/no-such-program');
    const own = await lxd.instances.execOutput(c1, { command: ['sh', '-c', 'exit 127'] });
    expect(own.exitCode).to.equal(127);
    expect(own.lxdError).to.equal('Command not found');
    const notExec = await lxd.instances.execOutput(c1, { command: ['/etc/passwd'] });
    expect(notExec.exitCode).to.equal(126);
  });

  it('refuses a stopped instance with LxdInstanceNotRunningError', async function () {
    const stopped = `${run}-s`;
    await launch(lxd, stopped, { start: false });
    try {
      const err = await lxd.instances.exec(stopped, { command: ['true'] }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdInstanceNotRunningError);
      expect((err as LxdInstanceNotRunningError).code).to.equal('LXD_ERR_INSTANCE_NOT_RUNNING');
    } finally {
      await destroy(lxd, stopped);
    }
  });

  it('refuses bad input before any request', async function () {
    for (const opts of [{ command: [] }, { command: ['a\0b'] }, { command: ['true'], cwd: 'relative' }, { command: ['true'], user: -1 }, { command: ['true'], recordOutput: true, stdin: 'x' }]) {
      const err = await lxd.instances.exec(c1, opts).catch((e: unknown) => e);
      expect(err, JSON.stringify(opts)).to.be.instanceOf(LxdValidationError);
    }
  });

  it('runs an interactive command on a pty of the given size, and resizes it', async function () {
    const stdin = new PassThrough();
    // LXD 5.0.2 (not Incus) may drop a pty's last output when the command exits right after writing
    // it (its own `lxc exec -t` does too, about 1 run in 10): the command lingers a moment after it
    const proc = await lxd.instances.exec(c1, { command: ['sh', '-c', 'tty; stty size; read x; stty size; sleep 0.3'], interactive: true, width: 120, height: 40, stdin });
    expect(proc.interactive).to.equal(true);
    let text = '';
    const firstSize = new Promise<void>((resolve) => {
      proc.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('40 120')) resolve();
      });
    });
    const ended = new Promise((resolve) => proc.stdout.on('end', resolve));
    await firstSize;
    await proc.resize(100, 33);
    stdin.end('go\n');
    const [result] = await Promise.all([proc.wait(), ended]);
    const lines = text.split('\r\n');
    expect(lines[0]).to.match(/^\/dev\/pts\/\d+$/);
    expect(lines[1]).to.equal('40 120');
    expect(lines).to.include('33 100');
    expect(result.exitCode).to.equal(0);
  });

  it('with recordOutput, reads stdout and stderr back from the log files and deletes them', async function () {
    const r = await lxd.instances.execOutput(c1, { command: ['sh', '-c', 'echo out; echo err >&2; exit 5'], recordOutput: true });
    expect(r.stdout.toString()).to.equal('out\n');
    expect(r.stderr.toString()).to.equal('err\n');
    expect(r.exitCode).to.equal(5);
    const logs = await lxd.instances.logs.list(c1);
    expect(logs.filter((l) => l.startsWith('exec'))).to.deep.equal([]);
  });

  it('stops a command whose output passes the cap of execOutput()', async function () {
    const err = await lxd.instances.execOutput(c1, { command: ['head', '-c', '5000000', '/dev/zero'], maxOutputBytes: 100_000 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdOutputTooLargeError);
    expect((err as LxdOutputTooLargeError).stream).to.equal('stdout');
  });
});
