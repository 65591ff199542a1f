/**
 * The exec protocol against a fake daemon that scripts each websocket: what a real daemon cannot be
 * made to do on demand (drop a websocket mid-stream, fail before the command runs, refuse a socket).
 */
import { expect } from 'chai';
import {
  LxdClient,
  LxdOperationError,
  LxdResponseValidationError,
  LxdStreamLostError,
} from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { EXEC_END_GRACE_MS } from '../../../lib/lxd/resources/instance-exec.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { done, fakeExec, type Session } from '../../helpers/fake-exec.js';
import { operationObject, startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';

/** A fake exec whose command ends (exit 128 + n) when the client sends signal n on the control socket. */
function endsOnSignal(fake: FakeLxd): () => Session {
  let session: Session | undefined;
  fakeExec(fake, {}, (s) => {
    session = s;
    s.sockets['control']!.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { command: string; signal: number };
      if (msg.command !== 'signal') return;
      s.sockets['1']!.send('');
      s.sockets['2']!.send('');
      s.finish(done(128 + msg.signal));
    });
  });
  return () => session!;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('instances.exec (protocol)', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;
  const lines: string[] = [];
  const capture: Logger = captureLogger(lines);

  // nock (loaded by other specs of the suite) wraps every node:http socket, websocket upgrades
  // included, and its wrapper ignores pause(): backpressure is measured on real sockets
  let resumeNock: () => void = () => undefined;
  before(() => {
    resumeNock = pauseNock();
  });
  after(() => resumeNock());

  beforeEach(async function () {
    lines.length = 0;
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false, logger: capture });
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
  });

  it('sends stdin then a barrier, reads stdout and stderr to their barriers, and takes the exit status from metadata.return', async function () {
    let session!: Session;
    const { secrets } = fakeExec(fake, {}, (s) => {
      session = s;
      s.sockets['0']!.on('message', (_d, isBinary) => {
        if (isBinary) return;
        // stdin's barrier: answer like `cat; echo err >&2; exit 3`
        const input = Buffer.concat(s.received['0']!.filter((f): f is Buffer => Buffer.isBuffer(f)));
        s.sockets['1']!.send(input, { binary: true });
        s.sockets['1']!.send('');
        s.sockets['2']!.send(Buffer.from('err\n'), { binary: true });
        s.sockets['2']!.send('');
        setTimeout(() => s.finish(done(3)), 20);
      });
    });
    const r = await lxd.instances.execOutput('c1', { command: ['sh', '-c', 'cat'], stdin: 'hello' });
    expect(r.stdout.toString()).to.equal('hello');
    expect(r.stderr.toString()).to.equal('err\n');
    expect(r.exitCode).to.equal(3);
    expect(session.received['0']).to.deep.equal([Buffer.from('hello'), '']);
    expect(session.received['1'], 'nothing is ever sent on stdout').to.deep.equal([]);
    // the websocket secrets never reach a log line
    for (const secret of Object.values(secrets)) expect(lines.join('\n')).not.to.include(secret);
    expect(fake.requestsTo('POST', '/1.0/instances/c1/exec')[0]?.body).to.deep.include({ command: ['sh', '-c', 'cat'], 'wait-for-websocket': true, interactive: false });
  });

  it('rejects with LxdStreamLostError when stdout closes before its barrier, even if the operation succeeds', async function () {
    fakeExec(fake, {}, (s) => {
      s.sockets['1']!.send(Buffer.from('part'), { binary: true });
      setTimeout(() => {
        s.sockets['1']!.terminate();
        s.sockets['2']!.send('');
        s.finish(done(0));
      }, 20);
    });
    const proc = await lxd.instances.exec('c1', { command: ['x'] });
    proc.stderr.resume();
    const out = readAll(proc.stdout).catch((e: unknown) => e);
    const err = await proc.wait().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdStreamLostError);
    expect((err as LxdStreamLostError).stream).to.equal('stdout');
    expect((err as LxdStreamLostError).code).to.equal('LXD_ERR_STREAM_LOST');
    expect(await out, 'the stream ends with the error too').to.be.instanceOf(LxdStreamLostError);
  });

  it('reports why LXD could not run the command when the websockets close without barriers', async function () {
    fakeExec(fake, {}, (s) => {
      s.finish(operationObject({ status: 'Failure', status_code: 400, err: 'Timed out waiting for websockets to connect', metadata: {} }));
      setTimeout(() => {
        for (const ws of Object.values(s.sockets)) ws.terminate();
      }, 20);
    });
    const proc = await lxd.instances.exec('c1', { command: ['x'] });
    proc.stdout.resume();
    proc.stderr.resume();
    const err = await proc.wait().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdOperationError);
    expect((err as Error).message).to.equal('Timed out waiting for websockets to connect');
  });

  it('rejects a finished operation that carries no exit status', async function () {
    fakeExec(fake, {}, (s) => {
      s.sockets['1']!.send('');
      s.sockets['2']!.send('');
      s.finish(done(0, { metadata: {} }));
    });
    const err = await lxd.instances.execOutput('c1', { command: ['x'] }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdResponseValidationError);
  });

  it('refuses an exit status outside 0-255 (256, 300, -1) with LxdResponseValidationError, never a status', async function () {
    for (const status of [256, 300, -1]) {
      fakeExec(fake, {}, (s) => {
        s.sockets['1']!.send('');
        s.sockets['2']!.send('');
        s.finish(done(status));
      });
      const err = await lxd.instances.execOutput('c1', { command: ['x'] }).catch((e: unknown) => e);
      expect(err, String(status)).to.be.instanceOf(LxdResponseValidationError);
      expect((err as Error).message).to.include(`the exit status ${status} is outside 0-255`);
    }
  });

  it(`ends the session with LxdStreamLostError when the operation ended but a stream gets no barrier within ${EXEC_END_GRACE_MS} ms`, async function () {
    this.timeout(EXEC_END_GRACE_MS * 5);
    fakeExec(fake, {}, (s) => {
      s.sockets['1']!.send(Buffer.from('partial'), { binary: true });
      s.sockets['2']!.send('');
      // the operation ends; stdout's barrier never comes and its socket stays open
      s.finish(done(0));
    });
    const proc = await lxd.instances.exec('c1', { command: ['x'] });
    proc.stderr.resume();
    const out = readAll(proc.stdout).catch((e: unknown) => e);
    const err = await proc.wait().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdStreamLostError);
    expect((err as LxdStreamLostError).stream).to.equal('stdout');
    expect((err as Error).message).to.match(/no end-of-stream barrier/);
    expect(await out, 'the stream ends with the error too').to.be.instanceOf(LxdStreamLostError);
  });

  it('does not count the time a slow reader takes: a stream read late after the operation ended still completes', async function () {
    this.timeout(EXEC_END_GRACE_MS * 5);
    const size = 4 * 1024 * 1024;
    fakeExec(fake, {}, (s) => {
      s.finish(done(0));
      const frame = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const push = (): void => {
        while (sent < size && s.sockets['1']!.bufferedAmount < 1024 * 1024) {
          s.sockets['1']!.send(frame, { binary: true });
          sent += frame.length;
        }
        if (sent < size) setTimeout(push, 5);
        else {
          s.sockets['1']!.send('');
          s.sockets['2']!.send('');
        }
      };
      push();
    });
    const proc = await lxd.instances.exec('c1', { command: ['x'] });
    proc.stderr.resume();
    // nobody reads stdout for longer than the grace
    await new Promise((r) => setTimeout(r, EXEC_END_GRACE_MS * 1.5));
    const [all, result] = await Promise.all([readAll(proc.stdout), proc.wait()]);
    expect(all.length).to.equal(size);
    expect(result.exitCode).to.equal(0);
  });

  it('a command that ends at once: the control websocket is connected first, so the session is whole (LXD runs the command once stdin, stdout and stderr are there)', async function () {
    // as LXD 5.0.2: the command runs as soon as the data sockets are up, and a socket that connects
    // after the operation ended is refused ("Only running operations can be connected")
    fakeExec(fake, { asLxd: true }, (s) => {
      s.sockets['1']!.send(Buffer.from('quick\n'), { binary: true });
      s.sockets['1']!.send('');
      s.sockets['2']!.send('');
      s.finish(done(0));
    });
    const r = await lxd.instances.execOutput('c1', { command: ['echo', 'quick'] });
    expect(r.stdout.toString()).to.equal('quick\n');
    expect(r.exitCode).to.equal(0);
  });

  it('fails to start when a websocket is refused, and closes the ones it opened', async function () {
    let opened: Session | undefined;
    fakeExec(fake, { refuse: '2' }, (s) => {
      opened = s;
    });
    const err = await lxd.instances.exec('c1', { command: ['x'] }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdStreamLostError);
    // the server's own reason is in the message: a refusal says why
    expect((err as Error).message).to.equal('exec websocket refused: HTTP 403: permission denied');
    expect(opened, 'the script never ran: not every websocket connected').to.equal(undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.requests.length).to.be.greaterThan(0);
  });

  it('on abort, sends the kill signal through the control websocket, then closes it last', async function () {
    const session = endsOnSignal(fake);
    const ac = new AbortController();
    const proc = await lxd.instances.exec('c1', { command: ['sleep', '60'], signal: ac.signal, killSignal: 'SIGTERM' });
    proc.stdout.resume();
    proc.stderr.resume();
    const reason = new Error('enough');
    setTimeout(() => ac.abort(reason), 20);
    const err = await proc.wait().catch((e: unknown) => e);
    expect(err).to.equal(reason);
    expect(session().received['control']).to.deep.equal([JSON.stringify({ command: 'signal', signal: 15 })]);
    await new Promise((r) => setTimeout(r, 100));
    expect(session().closedByClient.at(-1), 'the control socket is closed last').to.equal('control');
  });

  it('ends the session with the error of a stdin source that fails, instead of an end of file', async function () {
    const session = endsOnSignal(fake);
    const broken = new Error('disk read failed');
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part one');
      await new Promise((r) => setTimeout(r, 20));
      throw broken;
    }
    const err = await lxd.instances.execOutput('c1', { command: ['cat'], stdin: source() }).catch((e: unknown) => e);
    expect(err).to.equal(broken);
    expect(session().received['0'], 'no end-of-stream barrier after the failure').to.deep.equal([Buffer.from('part one')]);
    expect(session().received['control']).to.deep.equal([JSON.stringify({ command: 'signal', signal: 9 })]);
  });

  it('in interactive mode, uses one pty websocket, answers its barrier, and sends no barrier at the end of stdin', async function () {
    let session!: Session;
    fakeExec(fake, { interactive: true }, (s) => {
      session = s;
      s.sockets['0']!.send(Buffer.from('$ '), { binary: true });
      s.sockets['0']!.on('message', (data, isBinary) => {
        if (isBinary && data.toString() === 'exit\r') {
          s.sockets['0']!.send(Buffer.from('bye\r\n'), { binary: true });
          s.sockets['0']!.send('');
        } else if (!isBinary) {
          s.finish(done(0));
        }
      });
    });
    const r = await lxd.instances.execOutput('c1', { command: ['sh'], interactive: true, stdin: 'exit\r', width: 90, height: 30 });
    expect(r.stdout.toString()).to.equal('$ bye\r\n');
    expect(r.stderr.length).to.equal(0);
    expect(session.received['0']).to.deep.equal([Buffer.from('exit\r'), '']);
    expect(fake.requestsTo('POST', '/1.0/instances/c1/exec')[0]?.body).to.deep.include({ interactive: true, width: 90, height: 30 });
  });

  it('pauses the websocket while stdout is not read: memory stays bounded whatever the daemon sends', async function () {
    let sent = 0;
    let session!: Session;
    fakeExec(fake, {}, (s) => {
      session = s;
      const frame = Buffer.alloc(64 * 1024, 7);
      const push = (): void => {
        // the daemon writes as fast as its socket lets it: 32 MiB in all
        while (sent < 32 * 1024 * 1024 && s.sockets['1']!.bufferedAmount < 4 * 1024 * 1024) {
          s.sockets['1']!.send(frame, { binary: true });
          sent += frame.length;
        }
        if (sent < 32 * 1024 * 1024) setTimeout(push, 5);
        else {
          s.sockets['1']!.send('');
          s.sockets['2']!.send('');
          s.finish(done(0));
        }
      };
      push();
    });
    const proc = await lxd.instances.exec('c1', { command: ['x'] });
    proc.stderr.resume();
    await new Promise((r) => setTimeout(r, 300));
    expect(proc.stdout.readableLength, 'what waits in the unread stream').to.be.lessThan(2 * 1024 * 1024);
    expect(sent, 'the daemon was held back').to.be.lessThan(32 * 1024 * 1024);
    const all = await readAll(proc.stdout);
    expect(all.length).to.equal(32 * 1024 * 1024);
    expect((await proc.wait()).exitCode).to.equal(0);
    void session;
  });
});
