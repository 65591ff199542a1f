/**
 * The transport's finer points over the local socket: the defaults, how each kind of request names a
 * deadline, an abort, a malformed answer and a broken connection, a capped error body of a streamed
 * exchange, the debug log line, connection reuse, and which dispatcher close() closes. A raw server on
 * a temporary unix socket writes the bytes of each answer by hand; nothing reaches a daemon.
 */
import { expect } from 'chai';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import {
  LxdApiError,
  LxdConnectionError,
  LxdNotFoundError,
  LxdResponseValidationError,
  LxdTimeoutError,
} from '../../../lib/lxd/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, Transport } from '../../../lib/lxd/transport.js';
import { silentLogger, type Logger } from '../../../lib/logger.js';
import { rejection } from '../../helpers/rejection.js';

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
      await allClosed(srv!, 'the connection is dropped');
    });

    it('requestStream and requestToFile: LxdTimeoutError naming the transfer', async function () {
      const t = local({ timeoutMs: 150 });
      const err = await rejection(t.requestStream('GET', '/1.0/slow'));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err.message).to.equal('GET /1.0/slow: the transfer did not finish within 150 ms; raise timeoutMs or check the daemon');
      expect((err as LxdTimeoutError).timeoutMs).to.equal(150);
      await allClosed(srv!, 'the streamed connection is dropped');
      const fh = await open(join(dir, 'out'), 'w');
      try {
        const ferr = await rejection(t.requestToFile('GET', '/1.0/slow', fh, { timeoutMs: 120 }));
        expect(ferr).to.be.instanceOf(LxdTimeoutError);
        expect(ferr.message).to.equal('GET /1.0/slow: the transfer did not finish within 120 ms; raise timeoutMs or check the daemon');
        expect([(ferr as LxdTimeoutError).timeoutMs, (ferr as LxdTimeoutError).method, (ferr as LxdTimeoutError).path]).to.deep.equal([120, 'GET', '/1.0/slow']);
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
      } finally {
        await fh.close();
      }
    });
  });

  it('a malformed answer is LXD_ERR_INVALID_RESPONSE in request and requestStream', async function () {
    srv = await startRaw(dir, (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n{}'));
    const t = local();
    for (const call of [() => t.request('GET', '/1.0/x'), () => t.requestStream('GET', '/1.0/x')]) {
      const err = await rejection(call());
      expect(err, String(err)).to.be.instanceOf(LxdResponseValidationError);
      expect(err.message).to.match(/^GET \/1\.0\/x: unexpected response from LXD at \(root\): malformed HTTP response: /);
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
    const lines: [Record<string, unknown>, string][] = [];
    const logger = { ...silentLogger, debug: (o: unknown, m?: unknown) => void lines.push([o as Record<string, unknown>, m as string]), child: () => logger } as Logger;
    delete (logger as { isLevelEnabled?: unknown }).isLevelEnabled;
    const t = local({ logger });
    await t.request('GET', '/1.0/x');
    const s = await t.requestStream('GET', '/1.0/y');
    s.body.resume();
    const fh = await open(join(dir, 'out'), 'w');
    try {
      await t.requestToFile('GET', '/1.0/z', fh);
    } finally {
      await fh.close();
    }
    expect(lines.map(([o, m]) => [o['path'], m])).to.deep.equal([['/1.0/x', 'lxd request'], ['/1.0/y', 'lxd request'], ['/1.0/z', 'lxd request']]);
    for (const [o] of lines) {
      const ms = o['durationMs'] as number;
      expect(ms, String(ms)).to.be.within(40, 10_000);
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
});
