/**
 * The transport's finer points over the local socket: the defaults, how each kind of request names a
 * deadline, an abort, a malformed answer and a broken connection, a capped error body of a streamed
 * exchange, the debug log line, connection reuse, and which dispatcher close() closes. A raw server on
 * a temporary unix socket writes the bytes of each answer by hand; nothing reaches a daemon.
 */
import { expect } from 'chai';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEventListeners } from 'node:events';
import { cachedDataVersionTag, setFlagsFromString } from 'node:v8';
import { Agent, MockAgent } from 'undici';
import {
  LxdApiError,
  LxdConnectionError,
  LxdForbiddenError,
  LxdNotFoundError,
  LxdResponseValidationError,
  LxdTimeoutError,
} from '../../../lib/lxd/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, LOCAL_ORIGIN, Transport } from '../../../lib/lxd/transport.js';
import { LxdClient } from '../../../lib/lxd/index.js';
import { silentLogger, type Logger } from '../../../lib/logger.js';
import { serverInfo } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { runProbe } from '../../helpers/probe.js';
import { DeadlineExceeded } from '../../../lib/deadline.js';

const OK = JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: { name: 'x' } });

interface RawServer {
  socketPath: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections closed so far. */
  closed(): number;
  close(): Promise<void>;
}

/**
 * A server on a temporary unix socket: `answer` gets each request's head (request line and headers)
 * and its socket, and writes whatever bytes it likes (or nothing).
 */
async function startRaw(dir: string, answer: (head: string, socket: Socket) => void): Promise<RawServer> {
  const socketPath = join(dir, `raw-${Math.random().toString(36).slice(2)}.socket`);
  let connections = 0;
  let closed = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length) buf = buf.slice(Number(length[1]));
        answer(head, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    connections: () => connections,
    closed: () => closed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const response = (status: number, body: string, headers: Record<string, string> = {}): string =>
  `HTTP/1.1 ${status} X\r\n${Object.entries({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;

const errorEnvelope = (code: number, message: string): string => JSON.stringify({ type: 'error', status: '', status_code: 0, error_code: code, error: message, metadata: null });

/** Waits (5 s at most) until every connection the server accepted is closed. */
async function allClosed(srv: RawServer, what: string): Promise<void> {
  for (let i = 0; i < 250 && srv.closed() < srv.connections(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(srv.connections(), what).to.be.greaterThan(0);
  expect(srv.closed(), `${what}: ${srv.closed()} of ${srv.connections()} closed`).to.equal(srv.connections());
}

describe('lxd transport: the finer points', function () {
  this.timeout(30_000);
  let dir: string;
  let srv: RawServer | undefined;
  const open_: Transport[] = [];

  /** One request of each kind: request, requestStream (its body let flow), requestToFile (into `dir/out`). */
  async function oneOfEachKind(t: Transport, paths: readonly [string, string, string]): Promise<void> {
    await t.request('GET', paths[0]);
    const s = await t.requestStream('GET', paths[1]);
    s.body.resume();
    const fh = await open(join(dir, 'out'), 'w');
    try {
      await t.requestToFile('GET', paths[2], fh);
    } finally {
      await fh.close();
    }
  }

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-transport-details-'));
  });
  afterEach(async function () {
    await Promise.all(open_.splice(0).map((t) => t.close()));
    await srv?.close();
    srv = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const local = (extra: Partial<ConstructorParameters<typeof Transport>[0]> = {}): Transport => {
    const t = new Transport({ socketPath: srv?.socketPath ?? join(dir, 'none.socket'), logger: silentLogger, tuneWasmTiering: false, ...extra });
    open_.push(t);
    return t;
  };

  it('defaults: a 30 s deadline and a 256 MiB response cap', function () {
    const t = local();
    expect([t.timeoutMs, t.maxResponseBytes, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES]).to.deep.equal([30_000, 268_435_456, 30_000, 268_435_456]);
    const own = local({ timeoutMs: 5, maxResponseBytes: 7 });
    expect([own.timeoutMs, own.maxResponseBytes]).to.deep.equal([5, 7]);
  });

  describe('a deadline that passes before any answer', function () {
    beforeEach(async function () {
      srv = await startRaw(dir, () => undefined);
    });

    it('request: LxdTimeoutError naming the request and the deadline, the connection dropped', async function () {
      const t = local();
      const err = await rejection(t.request('GET', '/1.0/slow', { timeoutMs: 150 }));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err.message).to.equal('GET /1.0/slow: LXD did not answer within 150 ms; raise timeoutMs or check the daemon');
      expect([(err as LxdTimeoutError).timeoutMs, (err as LxdTimeoutError).method, (err as LxdTimeoutError).path]).to.deep.equal([150, 'GET', '/1.0/slow']);
      expect(err.cause).to.be.instanceOf(DeadlineExceeded);
      await allClosed(srv!, 'the connection is dropped');
    });

    it('requestStream and requestToFile: LxdTimeoutError naming the transfer', async function () {
      const t = local({ timeoutMs: 150 });
      const err = await rejection(t.requestStream('GET', '/1.0/slow'));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err.message).to.equal('GET /1.0/slow: the transfer did not finish within 150 ms; raise timeoutMs or check the daemon');
      expect((err as LxdTimeoutError).timeoutMs).to.equal(150);
      expect(err.cause).to.be.instanceOf(DeadlineExceeded);
      await allClosed(srv!, 'the streamed connection is dropped');
      const fh = await open(join(dir, 'out'), 'w');
      try {
        const ferr = await rejection(t.requestToFile('GET', '/1.0/slow', fh, { timeoutMs: 120 }));
        expect(ferr).to.be.instanceOf(LxdTimeoutError);
        expect(ferr.message).to.equal('GET /1.0/slow: the transfer did not finish within 120 ms; raise timeoutMs or check the daemon');
        expect([(ferr as LxdTimeoutError).timeoutMs, (ferr as LxdTimeoutError).method, (ferr as LxdTimeoutError).path]).to.deep.equal([120, 'GET', '/1.0/slow']);
        expect(ferr.cause).to.be.instanceOf(DeadlineExceeded);
      } finally {
        await fh.close();
      }
    });

    it("the caller's abort, whatever its reason, in each kind of request", async function () {
      const t = local();
      for (const reason of [new Error('stop'), 'just a string']) {
        const ac = new AbortController();
        setTimeout(() => ac.abort(reason), 50);
        expect(await rejection(t.request('GET', '/1.0/x', { signal: ac.signal }))).to.equal(reason);
        const bc = new AbortController();
        setTimeout(() => bc.abort(reason), 50);
        expect(await rejection(t.requestStream('GET', '/1.0/x', { signal: bc.signal }))).to.equal(reason);
        const fc = new AbortController();
        setTimeout(() => fc.abort(reason), 50);
        const fh = await open(join(dir, 'out'), 'w');
        try {
          expect(await rejection(t.requestToFile('GET', '/1.0/x', fh, { signal: fc.signal }))).to.equal(reason);
        } finally {
          await fh.close();
        }
      }
    });
  });

  describe('a body that stops half way', function () {
    let cut: boolean;
    beforeEach(async function () {
      cut = false;
      srv = await startRaw(dir, (_head, socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n');
        socket.write('x'.repeat(1000), () => {
          if (cut) socket.destroy();
        });
      });
    });

    it("a streamed body ends with the caller's abort reason (an Error for one that is not), or the deadline", async function () {
      const t = local();
      const ac = new AbortController();
      const s = await t.requestStream('GET', '/1.0/x', { signal: ac.signal });
      s.body.on('data', () => ac.abort('no more'));
      const err = await rejection((async () => {
        for await (const _ of s.body) void _;
      })());
      expect([err.constructor, err.message]).to.deep.equal([Error, 'no more']);
      const d = await t.requestStream('GET', '/1.0/x', { timeoutMs: 200 });
      const late = await rejection((async () => {
        for await (const _ of d.body) void _;
      })());
      expect(late).to.be.instanceOf(LxdTimeoutError);
      expect(late.message).to.equal('GET /1.0/x: the transfer did not finish within 200 ms; raise timeoutMs or check the daemon');
    });

    it('a connection cut mid-body: a streamed body ends with LxdConnectionError naming the socket', async function () {
      cut = true;
      const t = local();
      const s = await t.requestStream('GET', '/1.0/x');
      const err = await rejection((async () => {
        for await (const _ of s.body) void _;
      })());
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect(err.message.startsWith(`LXD socket ${srv!.socketPath}: `), err.message).to.equal(true);
      const fh = await open(join(dir, 'out'), 'w');
      try {
        const ferr = await rejection(t.requestToFile('GET', '/1.0/x', fh));
        expect(ferr).to.be.instanceOf(LxdConnectionError);
        expect(ferr.message).to.equal(`LXD socket ${srv!.socketPath}: the connection closed after 1000 of 100000 bytes of the body`);
        expect((ferr as LxdConnectionError).endpoint).to.equal(srv!.socketPath);
        expect((ferr.cause as Error).name).to.equal('RawDownloadError');
      } finally {
        await fh.close();
      }
    });
  });

  it('a malformed answer is LXD_ERR_INVALID_RESPONSE in each kind of request', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1x\r\na\r\n0\r\n\r\n'));
    const t = local();
    const fh = await open(join(dir, 'out'), 'w');
    try {
      for (const call of [() => t.request('GET', '/1.0/x'), () => t.requestStream('GET', '/1.0/x').then(async (s) => { for await (const _ of s.body) void _; }), () => t.requestToFile('GET', '/1.0/x', fh)]) {
        const err = await rejection(call());
        expect(err, String(err)).to.be.instanceOf(LxdResponseValidationError);
        expect(err.message).to.match(/^GET \/1\.0\/x: unexpected response from LXD at \(root\): malformed HTTP response: /);
      }
    } finally {
      await fh.close();
    }
  });

  it('requestToFile over the socket: a file it cannot write fails the call with that error as it is', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.write(response(200, 'file bytes', { 'content-type': 'application/octet-stream' })));
    const t = local();
    await (await open(join(dir, 'ro'), 'w')).close();
    const fh = await open(join(dir, 'ro'), 'r');
    try {
      const err = await rejection(t.requestToFile('GET', '/1.0/f', fh));
      expect([err.constructor, (err as { code?: string }).code]).to.deep.equal([Error, 'EBADF']);
    } finally {
      await fh.close();
    }
  });

  it('requestToFile on a socket that is not there says so, as request does', async function () {
    const t = local({ socketPath: join(dir, 'missing.socket') });
    const fh = await open(join(dir, 'out'), 'w');
    try {
      const err = await rejection(t.requestToFile('GET', '/1.0/x', fh));
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect([(err as LxdConnectionError).syscallCode, err.message]).to.deep.equal(['ENOENT', `LXD socket ${join(dir, 'missing.socket')}: no such socket; is LXD installed and running? Start the daemon, or point LXD_SOCKET / LXD_DIR / the socketPath option at its socket`]);
    } finally {
      await fh.close();
    }
  });

  it('requestToFile: an error envelope is thrown typed, its body not in the file; the exchange is logged with its bytes', async function () {
    srv = await startRaw(dir, (head, socket) => {
      if (head.startsWith('GET /1.0/missing')) socket.write(response(404, errorEnvelope(404, 'not here')));
      else socket.write(response(200, 'file bytes', { 'content-type': 'application/octet-stream' }));
    });
    const lines: [Record<string, unknown>, string][] = [];
    const logger: Logger = { ...silentLogger, debug: (o: unknown, m?: unknown) => void lines.push([o as Record<string, unknown>, m as string]), child: () => logger, isLevelEnabled: () => true };
    const t = local({ logger });
    const name = join(dir, 'out');
    const fh = await open(name, 'w');
    try {
      const err = await rejection(t.requestToFile('GET', '/1.0/missing', fh, { query: { project: 'p' } }));
      expect([err.constructor, (err as LxdNotFoundError).lxdMessage, (err as LxdNotFoundError).project]).to.deep.equal([LxdNotFoundError, 'not here', 'p']);
      const r = await t.requestToFile('GET', '/1.0/f', fh);
      expect([r.status, r.bytes]).to.deep.equal([200, 10]);
    } finally {
      await fh.close();
    }
    expect(await readFile(name, 'utf8')).to.equal('file bytes');
    expect(lines.map(([o, m]) => [o['method'], o['path'], o['status'], o['bytes'], m])).to.deep.equal([
      ['GET', '/1.0/missing', 404, 0, 'lxd request'],
      ['GET', '/1.0/f', 200, 10, 'lxd request'],
    ]);
  });

  it('a logger without isLevelEnabled logs every exchange; durations are in ms to a tenth', async function () {
    srv = await startRaw(dir, (_head, socket) => setTimeout(() => socket.write(response(200, OK)), 60));
    // a duration 100 times too long (a slip of the rounding) passes 5 s; a real one stays far below
    const lines: [Record<string, unknown>, string][] = [];
    const logger = { ...silentLogger, debug: (o: unknown, m?: unknown) => void lines.push([o as Record<string, unknown>, m as string]), child: () => logger } as Logger;
    delete (logger as { isLevelEnabled?: unknown }).isLevelEnabled;
    await oneOfEachKind(local({ logger }), ['/1.0/x', '/1.0/y', '/1.0/z']);
    expect(lines.map(([o, m]) => [o['path'], m])).to.deep.equal([['/1.0/x', 'lxd request'], ['/1.0/y', 'lxd request'], ['/1.0/z', 'lxd request']]);
    for (const [o] of lines) {
      const ms = o['durationMs'] as number;
      expect(ms, String(ms)).to.be.within(40, 5_000);
      expect(Math.abs(ms * 10 - Math.round(ms * 10)), String(ms)).to.be.lessThan(1e-6);
    }
  });

  it('a streamed error answer is decoded from its envelope; past 1 MiB the rest of it is dropped', async function () {
    const padded = (size: number): string => {
      const env = errorEnvelope(404, 'gone');
      return env.slice(0, -1) + ' '.repeat(size - Buffer.byteLength(env)) + '}';
    };
    srv = await startRaw(dir, (head, socket) => {
      if (head.startsWith('GET /1.0/big')) socket.write(response(404, padded(2 * 1024 * 1024)));
      else socket.write(response(404, padded(512 * 1024)));
    });
    const t = local();
    const small = await rejection(t.requestStream('GET', '/1.0/small'));
    expect([small.constructor, (small as LxdApiError).lxdMessage]).to.deep.equal([LxdNotFoundError, 'gone']);
    const big = await rejection(t.requestStream('GET', '/1.0/big'));
    // the envelope cut short no longer parses: the error is told by its status and the text's start
    expect(big.constructor).to.equal(LxdNotFoundError);
    expect((big as LxdApiError).lxdMessage.startsWith('{"type":"error"'), (big as LxdApiError).lxdMessage).to.equal(true);
  });

  it('keeps one connection alive across requests', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.write(response(200, OK)));
    const t = local();
    for (let i = 0; i < 3; i++) {
      await t.request('GET', '/1.0/x');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(srv.connections()).to.equal(1);
    await t.close();
    await allClosed(srv, 'close() closes its connection');
  });

  it("close() leaves a dispatcher of the caller's open", async function () {
    const server = createHttpServer((_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(OK);
    });
    const socketPath = join(dir, 'http.socket');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const agent = new Agent({ connect: { socketPath } });
    try {
      const t = new Transport({ socketPath: '/run/none.socket', dispatcher: agent, logger: silentLogger, tuneWasmTiering: false });
      expect((await t.request('GET', '/1.0/x')).status).to.equal(200);
      await t.close();
      expect(agent.closed).to.equal(false);
      const again = new Transport({ socketPath: '/run/none.socket', dispatcher: agent, logger: silentLogger, tuneWasmTiering: false });
      expect((await again.request('GET', '/1.0/x')).status).to.equal(200);
    } finally {
      await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  describe("requestToFile through a dispatcher of the caller's (as for a remote)", function () {
    let server: ReturnType<typeof createHttpServer>;
    let socketPath: string;
    let agent: Agent;
    let closedConnections: number;
    beforeEach(async function () {
      closedConnections = 0;
      server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
        req.socket.once('close', () => closedConnections++);
        if (req.url === '/1.0') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata: serverInfo() }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-lxd-uid': '0', 'x-lxd-gid': '0', 'x-lxd-mode': '0640', 'x-lxd-type': 'file' });
        // a body that takes its time: the client must hang up if it cannot write it
        res.write('hello');
        if (!req.url?.includes('slow')) res.end();
      });
      socketPath = join(dir, 'files.socket');
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      agent = new Agent({ connect: { socketPath } });
    });
    afterEach(async function () {
      await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('leaves the file handle open for the caller: files.pullFile sets the mode through it', async function () {
      const c = new LxdClient({ dispatcher: agent, useEvents: false });
      try {
        const info = await c.instances.files.pullFile('c1', '/f', join(dir, 'pulled'));
        expect(info).to.deep.include({ type: 'file', mode: 0o640, size: 5 });
      } finally {
        await c.close();
      }
      expect(await readFile(join(dir, 'pulled'), 'utf8')).to.equal('hello');
      expect((await stat(join(dir, 'pulled'))).mode & 0o777).to.equal(0o640);
    });

    it('a file it cannot write fails the call with that error and drops the exchange', async function () {
      const t = new Transport({ socketPath: '/run/none.socket', dispatcher: agent, logger: silentLogger, tuneWasmTiering: false });
      await rm(join(dir, 'ro'), { force: true });
      await (await open(join(dir, 'ro'), 'w')).close();
      const fh = await open(join(dir, 'ro'), 'r');
      try {
        const err = await rejection(t.requestToFile('GET', '/1.0/slow', fh));
        expect((err as { code?: string }).code).to.equal('EBADF');
      } finally {
        await fh.close();
      }
      for (let i = 0; i < 250 && closedConnections === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(closedConnections).to.equal(1);
    });
  });

  it('a request whose dispatch throws rejects with that error', async function () {
    const t = local();
    const err = await rejection(t.request('GET', '/1.0/x', { headers: { 'x-bad': 'a\r\nb' } }));
    expect(err).to.be.instanceOf(Error);
    expect(err).not.to.be.instanceOf(LxdConnectionError);
    const serr = await rejection(t.requestStream('GET', '/1.0/x', { headers: { 'x-bad': 'a\r\nb' } }));
    expect(serr).to.be.instanceOf(Error);
    expect(serr.message).to.equal(err.message);
  });

  it('websockets of an http:// remote are ws://', async function () {
    const t = local({ socketPath: undefined, url: 'http://127.0.0.1:1/p', proxy: false });
    const ws = await t.websocket('/1.0/events', { a: 'b' });
    ws.on('error', () => undefined);
    expect(ws.url).to.equal('ws://127.0.0.1:1/p/1.0/events?a=b');
    ws.terminate();
  });

  it('the first request of a fresh module loads undici itself, with or without a dispatcher of its own', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.write(response(200, OK)));
    // a module instance of its own: undici not loaded yet, as in a new process
    const fresh = (await import(`../../../lib/lxd/transport.js?fresh=${Date.now()}`)) as typeof import('../../../lib/lxd/transport.js');
    const t = new fresh.Transport({ socketPath: srv.socketPath, logger: silentLogger, tuneWasmTiering: false });
    open_.push(t);
    expect((await t.request('GET', '/1.0/x')).status).to.equal(200);
    const again = (await import(`../../../lib/lxd/transport.js?fresh=${Date.now()}-2`)) as typeof import('../../../lib/lxd/transport.js');
    const s = new again.Transport({ socketPath: srv.socketPath, logger: silentLogger, tuneWasmTiering: false });
    open_.push(s);
    const r = await s.requestStream('GET', '/1.0/x');
    r.body.resume();
    expect(r.status).to.equal(200);
  });

  it('leaves no deadline timer or abort listener behind once an exchange is over, however it ended', async function () {
    srv = await startRaw(dir, (head, socket) => {
      if (head.startsWith('GET /1.0/missing')) socket.write(response(404, errorEnvelope(404, 'not here')));
      else if (head.startsWith('GET /1.0/hangup')) socket.destroy();
      else socket.write(response(200, OK));
    });
    const t = local();
    await t.request('GET', '/1.0/warm');
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const ac = new AbortController();
    const opts = { timeoutMs: 3_600_000, signal: ac.signal };
    const before = timers();
    await t.request('GET', '/1.0/x', opts);
    await rejection(t.request('GET', '/1.0/missing', opts));
    const s = await t.requestStream('GET', '/1.0/x', opts);
    for await (const _ of s.body) void _;
    await rejection(t.requestStream('GET', '/1.0/missing', opts));
    const early = await t.requestStream('GET', '/1.0/x', opts);
    early.body.destroy();
    expect(await rejection(t.request('GET', '/1.0/hangup', opts))).to.be.instanceOf(LxdConnectionError);
    expect(await rejection(t.requestStream('GET', '/1.0/hangup', opts))).to.be.instanceOf(LxdConnectionError);
    const fh = await open(join(dir, 'out'), 'w');
    try {
      await t.requestToFile('GET', '/1.0/x', fh, opts);
      await rejection(t.requestToFile('GET', '/1.0/missing', fh, opts));
    } finally {
      await fh.close();
    }
    await new Promise((r) => setImmediate(r));
    expect(timers(), 'deadline timers still running').to.equal(before);
    expect(getEventListeners(ac.signal, 'abort'), 'abort listeners left on the signal').to.have.length(0);
  });

  it('an abort right after the call, before the connection is up, sends nothing', async function () {
    const heads: string[] = [];
    srv = await startRaw(dir, (head, socket) => {
      heads.push(head.split('\r\n')[0]!);
      socket.write(response(200, OK));
    });
    await local().request('GET', '/1.0/warm');
    heads.length = 0;
    for (const kind of ['request', 'stream'] as const) {
      // a transport of its own: no connection yet, so undici connects after the call returned
      const t = local();
      const ac = new AbortController();
      const call = kind === 'request' ? t.request('GET', `/1.0/${kind}`, { signal: ac.signal }) : t.requestStream('GET', `/1.0/${kind}`, { signal: ac.signal });
      ac.abort(new Error(`stop ${kind}`));
      expect((await rejection(call)).message).to.equal(`stop ${kind}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(heads).to.deep.equal([]);
  });

  it('a logger asked for its level: "debug" is the level asked about, in each kind of request', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.write(response(200, OK)));
    const asked: string[] = [];
    let lines = 0;
    const logger: Logger = { ...silentLogger, debug: () => void lines++, child: () => logger, isLevelEnabled: (level: string) => (asked.push(level), level === 'debug') };
    await oneOfEachKind(local({ logger }), ['/1.0/x', '/1.0/x', '/1.0/x']);
    expect([asked, lines]).to.deep.equal([['debug', 'debug', 'debug'], 3]);
  });

  it('requestToFile: a 300 answer is no file, whatever its body; the user agent is lxdkit unless given', async function () {
    const heads: string[] = [];
    srv = await startRaw(dir, (head, socket) => {
      heads.push(head);
      socket.write(response(300, OK));
    });
    const t = local();
    const fh = await open(join(dir, 'out'), 'w');
    try {
      const err = await rejection(t.requestToFile('GET', '/1.0/f', fh));
      expect([err.constructor, err.message]).to.deep.equal([LxdResponseValidationError, 'GET /1.0/f: unexpected response from LXD at (root): HTTP 300 without an error envelope']);
    } finally {
      await fh.close();
    }
    expect(heads[0]).to.match(/\r\nuser-agent: lxdkit(\r\n|$)/i);
  });

  it('requestStream: a 400 answer is an error, not a body', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.write(response(400, 'Bad Request\n', { 'content-type': 'text/plain' })));
    const t = local();
    const err = await rejection(t.requestStream('GET', '/1.0/events'));
    expect([err.constructor, (err as LxdApiError).status, (err as LxdApiError).lxdMessage]).to.deep.equal([LxdApiError, 400, 'Bad Request']);
  });

  it('a streamed Buffer body whose chunks "are reused" goes intact, through its own dispatcher or the caller\'s', async function () {
    const bodies: string[] = [];
    const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(OK);
      });
    });
    const socketPath = join(dir, 'body.socket');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const agent = new Agent({ connect: { socketPath } });
    try {
      const own = new Transport({ socketPath, logger: silentLogger, tuneWasmTiering: false });
      open_.push(own);
      const theirs = new Transport({ socketPath: '/run/none.socket', dispatcher: agent, logger: silentLogger, tuneWasmTiering: false });
      for (const t of [own, theirs]) {
        await t.request('POST', '/1.0/images', { rawBody: { stream: Buffer.from('tarball bytes'), contentType: 'application/octet-stream', reusesChunks: true } });
      }
      expect(bodies).to.deep.equal(['tarball bytes', 'tarball bytes']);
    } finally {
      await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a websocket asked for while the transport closes is refused', async function () {
    const t = local({ socketPath: '/run/lxdkit-none/unix.socket' });
    const pending = t.websocket('/1.0/events');
    await t.close();
    const err = await rejection(pending);
    expect([err.constructor, err.message]).to.deep.equal([LxdConnectionError, '/run/lxdkit-none/unix.socket: the client was closed; make a new LxdClient']);
  });

  it('a websocket gives up on a server that never answers its upgrade at the handshake deadline', async function () {
    srv = await startRaw(dir, () => undefined);
    const t = local();
    const ws = await t.websocket('/1.0/events', undefined, 200);
    const started = Date.now();
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).to.match(/handshake has timed out/);
    expect(Date.now() - started).to.be.lessThan(10_000);
  });

  describe('which failures are the connection\'s', function () {
    const remote = 'https://10.0.0.1:8443';
    /** What request() rejects with when the remote's (or the socket's) dispatcher fails with `err`. */
    async function failure(err: Error, url?: string, server?: 'lxd' | 'incus'): Promise<Error> {
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get(url ? new URL(url).origin : LOCAL_ORIGIN).intercept({ path: /.*/, method: /.*/ }).replyWithError(err).persist();
      const t = new Transport({ dispatcher: agent, logger: silentLogger, socketPath: '/var/lib/lxd/unix.socket', url, server, tuneWasmTiering: false });
      try {
        return await rejection(t.request('GET', '/1.0'));
      } finally {
        await agent.close();
      }
    }
    const errno = (code: string, message = 'boom'): Error => Object.assign(new Error(message), { code });
    const chain = (depth: number, inner: Error): Error => {
      let e = inner;
      for (let i = 1; i < depth; i++) e = Object.assign(new Error(`level ${depth - i}`), { cause: e });
      return e;
    };

    it('a system error code is looked for four causes deep, no deeper', async function () {
      const four = await failure(chain(4, errno('ECONNRESET')));
      expect([four.constructor, (four as LxdConnectionError).syscallCode]).to.deep.equal([LxdConnectionError, 'ECONNRESET']);
      const five = chain(5, errno('ECONNRESET'));
      expect(await failure(five)).to.equal(five);
    });

    it('a remote is an LXD server, whatever its path or the server kind asked for', async function () {
      const url = 'https://10.0.0.1:8443/incus/';
      const got = await failure(errno('ECONNREFUSED'), url, 'incus');
      expect([got.constructor, got.message]).to.deep.equal([LxdConnectionError, `LXD server ${url}: connection refused; the LXD daemon is not running (start it, then run "lxd waitready")`]);
    });

    it('each connection error keeps the failure it names as its cause; a name of SocketError alone is enough', async function () {
      const cases: [Error, string | undefined][] = [
        [errno('ENOENT'), undefined], [errno('EACCES'), undefined], [errno('ECONNREFUSED'), undefined], [errno('ECONNRESET'), undefined],
        [errno('CERT_HAS_EXPIRED', 'x'), remote], [Object.assign(new Error('other side closed'), { name: 'SocketError' }), undefined],
        [Object.assign(new Error('closed'), { code: 'UND_ERR_SOCKET' }), remote],
      ];
      for (const [err, url] of cases) {
        const got = await failure(err, url);
        expect(got, String(err)).to.be.instanceOf(LxdConnectionError);
        expect(got.cause, String(err)).to.equal(err);
      }
      // the proxy URL is refused before any connection is tried
      const t = new Transport({ url: remote, logger: silentLogger, proxyEnv: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' }, tuneWasmTiering: false });
      try {
        const ws = await rejection(t.websocket('/1.0/events'));
        expect(ws).to.be.instanceOf(LxdConnectionError);
        expect((ws.cause as Error).constructor.name).to.equal('ProxyError');
      } finally {
        await t.close();
      }
    });

    it('only objects are looked into along the cause chain; nothing at all is no connection error', async function () {
      const fn = Object.assign(() => undefined, { code: 'ECONNRESET', message: 'certificate' });
      const err = Object.assign(new Error('wrapped'), { cause: fn });
      expect(await failure(err)).to.equal(err);
      expect(await failure(err, remote)).to.equal(err);
      const t = new Transport({ socketPath: '/run/none.socket', logger: silentLogger, tuneWasmTiering: false });
      for (const nothing of [undefined, null]) {
        const got = t.websocketError(nothing);
        expect([got.constructor, got.message]).to.deep.equal([Error, String(nothing)]);
      }
    });

    it('a code that only starts like a system error does not hide the real one below it', async function () {
      const err = Object.assign(new Error('getaddrinfo'), { code: 'EAI_AGAIN', cause: errno('ECONNRESET') });
      const got = await failure(err);
      expect([got.constructor, (got as LxdConnectionError).syscallCode]).to.deep.equal([LxdConnectionError, 'ECONNRESET']);
    });

    it('a TLS failure of a remote is told by its code or its text, four causes deep', async function () {
      const tls = (e: Error): Promise<boolean> => failure(e, remote).then((got) => got instanceof LxdConnectionError && /TLS handshake failed/.test(got.message));
      const codes = ['ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'CERT_HAS_EXPIRED', 'UNABLE_TO_GET_ISSUER_CERT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'HOSTNAME_MISMATCH', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'ERR_OSSL_EVP_BAD_DECRYPT'];
      for (const code of codes) expect(await tls(errno(code, 'handshake')), code).to.equal(true);
      const notCodes = ['X_ERR_TLS_', 'XCERT_', 'NOT_UNABLE_TO_', 'DEPTH_ZERO_SELF_SIGNED_CERT_X', 'SELF_SIGNED_CERT_IN_CHAIN_X', 'HOSTNAME_MISMATCH_X', 'INVALID_CA_X', 'PATH_LENGTH_EXCEEDED_X', 'INVALID_PURPOSE_X', 'ERR_OSSLX', 'ERR_TLS', 'CERT'];
      for (const code of notCodes) expect(await tls(errno(code, 'handshake')), code).to.equal(false);
      for (const message of ['bad certificate', 'self signed', 'self-signed', 'SSL routines', 'TLS alert', 'not the pinned one', 'tls alert', 'CERTIFICATE']) {
        expect(await tls(new Error(message)), message).to.equal(true);
      }
      for (const message of ['selfsigned', 'self--signed', 'refused', 'pin']) expect(await tls(new Error(message)), message).to.equal(false);
      expect(await tls(chain(4, new Error('bad certificate')))).to.equal(true);
      expect(await tls(chain(4, errno('CERT_HAS_EXPIRED', 'x')))).to.equal(true);
      expect(await tls(chain(5, new Error('bad certificate')))).to.equal(false);
    });

    it("an undici parser refusal, by its name or its HPE_ code, is a malformed answer", async function () {
      for (const err of [Object.assign(new Error('bad'), { name: 'HTTPParserError' }), errno('HPE_INVALID_CONSTANT', 'bad'), Object.assign(new Error('bad'), { name: 'HTTPParserError', code: 'X' })]) {
        const got = await failure(err);
        expect([got.constructor, got.message, got.cause], String(err)).to.deep.equal([LxdResponseValidationError, 'GET /1.0: unexpected response from LXD at (root): malformed HTTP response: bad', err]);
      }
      const other = errno('X_HPE_X', 'not the parser');
      expect(await failure(other)).to.equal(other);
    });

    it("a remote's own refusal that speaks of certificates stays the API error it is", async function () {
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get(remote).intercept({ path: '/1.0/certificates', method: 'POST' }).reply(403, JSON.stringify({ type: 'error', error_code: 403, error: 'No matching certificate add operation found' }));
      const t = new Transport({ url: remote, dispatcher: agent, logger: silentLogger, tuneWasmTiering: false });
      try {
        const err = await rejection(t.request('POST', '/1.0/certificates', { body: {} }));
        expect([err.constructor, (err as LxdForbiddenError).lxdMessage]).to.deep.equal([LxdForbiddenError, 'No matching certificate add operation found']);
      } finally {
        await agent.close();
      }
    });
  });

  describe("V8's WebAssembly tier-up budget", function () {
    // V8 has no getter for a flag, but the version tag of its code cache is a hash of every flag's value
    const budget = (n: number): void => setFlagsFromString(`--wasm-tiering-budget=${n}`);
    let tuned: number;
    let low: number;
    type Tiering = typeof import('../../../lib/wasm-tiering.js');
    // a module of its own each time: "once per process" is the module's state
    const fresh = async (): Promise<Tiering> => (await import(`../../../lib/wasm-tiering.js?wasm=${Date.now()}-${Math.random()}`)) as Tiering;

    before(function () {
      if ([...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => a.includes('wasm'))) this.skip();
      budget(1);
      low = cachedDataVersionTag();
      budget(1_000_000_000);
      tuned = cachedDataVersionTag();
      expect(low).not.to.equal(tuned);
    });
    // as the first transport of the process left it
    after(() => budget(1_000_000_000));

    it('tuneWasmTiering raises it, once per process', async function () {
      const m = await fresh();
      budget(1);
      m.tuneWasmTiering();
      expect(cachedDataVersionTag(), 'the first call').to.equal(tuned);
      budget(1);
      m.tuneWasmTiering();
      expect(cachedDataVersionTag(), 'only once per process').to.equal(low);
    });

    it('a --wasm flag of your own, in NODE_OPTIONS or on the command line, wins', async function () {
      const saved = process.env['NODE_OPTIONS'];
      const argv = process.execArgv;
      try {
        process.env['NODE_OPTIONS'] = '--max-old-space-size=512 --wasm-tiering-budget=5';
        budget(1);
        (await fresh()).tuneWasmTiering();
        expect(cachedDataVersionTag(), 'NODE_OPTIONS').to.equal(low);
        if (saved === undefined) delete process.env['NODE_OPTIONS'];
        else process.env['NODE_OPTIONS'] = saved;
        process.execArgv = [...argv, '--no-wasm-tier-up'];
        (await fresh()).tuneWasmTiering();
        expect(cachedDataVersionTag(), 'the command line').to.equal(low);
        process.execArgv = argv;
        delete process.env['NODE_OPTIONS'];
        (await fresh()).tuneWasmTiering();
        expect(cachedDataVersionTag(), 'neither').to.equal(tuned);
      } finally {
        process.execArgv = argv;
        if (saved === undefined) delete process.env['NODE_OPTIONS'];
        else process.env['NODE_OPTIONS'] = saved;
      }
    });

    it('the first transport of a process raises it, unless told not to (each in a fresh process)', async function () {
      this.timeout(60_000);
      const transport = join(import.meta.dirname, '..', '..', '..', 'lib', 'lxd', 'transport.ts');
      const env = { ...process.env };
      delete env['NODE_OPTIONS'];
      const tag = (code: string): Promise<string> =>
        runProbe(`import { cachedDataVersionTag, setFlagsFromString } from 'node:v8';\nimport { Transport } from ${JSON.stringify(transport)};\n${code}\nconsole.log(cachedDataVersionTag());`, { env, timeoutMs: 30_000 });
      const [untouched, raised, off, on] = await Promise.all([
        tag('void Transport; void setFlagsFromString;'),
        tag("setFlagsFromString('--wasm-tiering-budget=1000000000'); void Transport;"),
        tag("new Transport({ socketPath: '/run/none.socket', tuneWasmTiering: false }); void setFlagsFromString;"),
        tag("new Transport({ socketPath: '/run/none.socket' }); void setFlagsFromString;"),
      ]);
      expect(untouched).not.to.equal(raised);
      expect({ off, on }).to.deep.equal({ off: untouched, on: raised });
    });
  });
});
