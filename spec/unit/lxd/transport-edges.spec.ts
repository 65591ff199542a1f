/**
 * The transport on its own: what it sends (headers, bodies, the base path of a remote), how it reads
 * an answer (interim responses, repeated headers, bodies that are not envelopes) and how it names a
 * failure (each system error, LXD and Incus sockets, TLS in each of its modes). Fake servers on
 * temporary unix sockets and undici's MockAgent; nothing reaches a daemon.
 */
import { expect } from 'chai';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, MockAgent } from 'undici';
import {
  LxdApiError,
  LxdConnectionError,
  LxdMemberUnreachableError,
  LxdNotFoundError,
  LxdResponseTooLargeError,
  LxdResponseValidationError,
  LxdValidationError,
} from '../../../lib/lxd/errors.js';
import { LOCAL_ORIGIN, Transport, type TlsOptions } from '../../../lib/lxd/transport.js';
import { ProxyError, ProxyErrorCode } from '../../../lib/proxy.js';
import { silentLogger, type Logger } from '../../../lib/logger.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { rejection } from '../../helpers/rejection.js';

const OK = JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: { name: 'x' } });

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP server on a temporary unix socket; `answer` writes each response by hand. */
async function startServer(answer: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ socketPath: string; seen: Seen[]; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-transport-edges-'));
  const socketPath = join(dir, 'unix.socket');
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A transport whose every request fails with `err`, as undici reports a failed connection. */
function failing(err: Error, opts: { socketPath?: string; server?: 'lxd' | 'incus'; url?: string; tls?: TlsOptions } = {}): { t: Transport; agent: MockAgent } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const origin = opts.url ? new URL(opts.url).origin : LOCAL_ORIGIN;
  agent.get(origin).intercept({ path: /.*/, method: /.*/ }).replyWithError(err).persist();
  const t = new Transport({ dispatcher: agent, logger: silentLogger, socketPath: opts.socketPath ?? '/var/lib/lxd/unix.socket', server: opts.server, url: opts.url, tls: opts.tls });
  return { t, agent };
}

const errno = (code: string, message = `connect ${code}`): Error => Object.assign(new Error(message), { code });

describe('lxd transport: requests, answers and failures in detail', function () {
  describe('what a request sends', function () {
    let srv: Awaited<ReturnType<typeof startServer>>;
    beforeEach(async function () {
      srv = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(OK);
      });
    });
    afterEach(async function () {
      await srv.close();
    });

    it('a user agent (lxdkit unless given), a JSON body with its content type, If-Match only with an ETag', async function () {
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      await t.request('PUT', '/1.0/profiles/p', { body: { config: { a: '1' } }, etag: '"e1"', headers: { 'x-extra': 'yes' } });
      await t.request('GET', '/1.0/profiles/p', { etag: '' });
      const named = new Transport({ socketPath: srv.socketPath, logger: silentLogger, userAgent: 'juju/3.5' });
      await named.request('GET', '/1.0');
      const [put, get, other] = srv.seen;
      expect([put!.method, put!.headers['user-agent'], put!.headers['content-type'], put!.headers['if-match'], put!.headers['x-extra'], put!.body]).to.deep.equal([
        'PUT', 'lxdkit', 'application/json', '"e1"', 'yes', '{"config":{"a":"1"}}',
      ]);
      expect([get!.headers['content-type'], get!.headers['if-match'], get!.body]).to.deep.equal([undefined, undefined, '']);
      expect(other!.headers['user-agent']).to.equal('juju/3.5');
      await Promise.all([t.close(), named.close()]);
    });

    it('a streamed body goes with its content type and length, and wins over a JSON body', async function () {
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      await t.request('POST', '/1.0/images', { body: { ignored: true }, rawBody: { stream: Buffer.from('tarball'), contentType: 'application/octet-stream', contentLength: 7 } });
      await t.request('POST', '/1.0/images', { rawBody: { stream: (async function* () { yield Buffer.from('chunk'); })(), contentType: 'application/x-tar' } });
      const [sized, unsized] = srv.seen;
      expect([sized!.headers['content-type'], sized!.headers['content-length'], sized!.body]).to.deep.equal(['application/octet-stream', '7', 'tarball']);
      expect([unsized!.headers['content-type'], unsized!.headers['content-length'], unsized!.body]).to.deep.equal(['application/x-tar', undefined, 'chunk']);
      await t.close();
    });

    it('requestStream and requestToFile send the same headers', async function () {
      const dir = await mkdtemp(join(tmpdir(), 'lxdkit-transport-edges-file-'));
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger, userAgent: 'ua' });
      const s = await t.requestStream('POST', '/1.0/x', { body: { a: 1 }, etag: '"s"', query: { project: 'p' } });
      s.body.resume();
      await new Promise((resolve) => s.body.on('end', resolve));
      const file = await open(join(dir, 'out'), 'w');
      try {
        await t.requestToFile('GET', '/1.0/y', file, { etag: '"f"', headers: { 'x-h': '1' } });
        await t.requestToFile('GET', '/1.0/z', file);
      } finally {
        await file.close();
        await rm(dir, { recursive: true, force: true });
      }
      const [stream, toFile, plain] = srv.seen;
      expect([stream!.url, stream!.headers['user-agent'], stream!.headers['content-type'], stream!.headers['if-match'], stream!.body]).to.deep.equal(['/1.0/x?project=p', 'ua', 'application/json', '"s"', '{"a":1}']);
      expect([toFile!.headers['user-agent'], toFile!.headers['if-match'], toFile!.headers['x-h']]).to.deep.equal(['ua', '"f"', '1']);
      expect([plain!.headers['user-agent'], plain!.headers['if-match'], plain!.headers['content-type']]).to.deep.equal(['ua', undefined, undefined]);
      const bare = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const r = await bare.requestStream('GET', '/1.0/w', { etag: '' });
      r.body.resume();
      expect([srv.seen[3]!.headers['user-agent'], srv.seen[3]!.headers['if-match'], srv.seen[3]!.headers['content-type']]).to.deep.equal(['lxdkit', undefined, undefined]);
      await Promise.all([t.close(), bare.close()]);
    });

    it('refuses a deadline that is not a positive finite number before any I/O, in each kind of request', async function () {
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const file = { createWriteStream: () => { throw new Error('no I/O expected'); } } as never;
      for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        for (const call of [t.request('GET', '/1.0', { timeoutMs }), t.requestStream('GET', '/1.0', { timeoutMs }), t.requestToFile('GET', '/1.0', file, { timeoutMs })]) {
          const err = await rejection(call);
          expect(err).to.be.instanceOf(LxdValidationError);
          expect([(err as LxdValidationError).field, err.message]).to.deep.equal(['timeoutMs', `timeoutMs: ${timeoutMs} is not a deadline: give a positive, finite number of milliseconds`]);
        }
      }
      expect(srv.seen).to.have.length(0);
      await t.close();
    });

    it('a closed transport refuses every kind of request and websocket, naming the socket', async function () {
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      await t.request('GET', '/1.0');
      await t.close();
      const file = { createWriteStream: () => { throw new Error('no I/O expected'); } } as never;
      for (const call of [t.request('GET', '/1.0'), t.requestStream('GET', '/1.0'), t.requestToFile('GET', '/1.0', file), t.websocket('/1.0/events')]) {
        const err = await rejection(call);
        expect(err).to.be.instanceOf(LxdConnectionError);
        expect(err.message).to.equal(`${srv.socketPath}: the client was closed; make a new LxdClient`);
      }
      expect(srv.seen).to.have.length(1);
    });

    it('a request whose signal is already aborted sends nothing and rejects with its reason', async function () {
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const reason = new Error('stop');
      const signal = AbortSignal.abort(reason);
      expect(await rejection(t.request('GET', '/1.0', { signal }))).to.equal(reason);
      expect(await rejection(t.requestStream('GET', '/1.0', { signal }))).to.equal(reason);
      expect(srv.seen).to.have.length(0);
      await t.close();
    });
  });

  describe('what an answer gives back', function () {
    let srv: Awaited<ReturnType<typeof startServer>> | undefined;
    afterEach(async function () {
      await srv?.close();
      srv = undefined;
    });

    it('skips an interim 103 Early Hints and reads the final answer: the first ETag and Location, whatever their case', async function () {
      srv = await startServer((_req, res) => {
        res.writeEarlyHints({ link: '</x>; rel=preload' });
        res.writeHead(201, [['Content-Type', 'application/json'], ['ETag', '"first"'], ['ETag', '"second"'], ['X-ETag', '"not"'], ['LOCATION', '/1.0/operations/1'], ['Location', '/1.0/operations/2']]);
        res.end(OK);
      });
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const r = await t.request('POST', '/1.0/x');
      expect([r.status, r.etag, r.location]).to.deep.equal([201, '"first"', '/1.0/operations/1']);
      const s = await t.requestStream('GET', '/1.0/x');
      s.body.resume();
      expect([s.status, s.headers['etag'], s.headers['location'], s.headers['x-etag']]).to.deep.equal([201, '"first"', '/1.0/operations/1', '"not"']);
      await t.close();
    });

    it('no ETag or Location: both undefined', async function () {
      srv = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-location': '/nope', etags: '"nope"' });
        res.end(OK);
      });
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const r = await t.request('GET', '/1.0/x');
      expect([r.status, r.etag, r.location, r.envelope.metadata]).to.deep.equal([200, undefined, undefined, { name: 'x' }]);
      await t.close();
    });

    it('an error status with an empty body, a long text body, or an envelope without text: LXD_ERR_API naming the status', async function () {
      const long = `  ${'e'.repeat(300)}  `;
      srv = await startServer((req, res) => {
        if (req.url?.startsWith('/1.0/empty')) res.writeHead(502).end();
        else if (req.url?.startsWith('/1.0/long')) res.writeHead(500, { 'content-type': 'text/plain' }).end(long);
        else if (req.url?.startsWith('/1.0/spaces')) res.writeHead(503, { 'content-type': 'text/plain' }).end('   \n');
        else res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: '' }));
      });
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const empty = (await rejection(t.request('GET', '/1.0/empty'))) as LxdApiError;
      expect([empty.constructor, empty.status, empty.errorCode, empty.lxdMessage]).to.deep.equal([LxdApiError, 502, 0, 'HTTP 502']);
      const longErr = (await rejection(t.request('GET', '/1.0/long'))) as LxdApiError;
      expect(longErr.lxdMessage).to.equal('e'.repeat(200));
      expect(((await rejection(t.request('GET', '/1.0/spaces'))) as LxdApiError).lxdMessage).to.equal('HTTP 503');
      const bare = (await rejection(t.request('GET', '/1.0/bare'))) as LxdApiError;
      expect([bare.status, bare.errorCode, bare.lxdMessage]).to.deep.equal([500, 0, 'HTTP 500']);
      await t.close();
    });

    it('an error envelope on HTTP 200 is thrown; the project and target of the query name it', async function () {
      srv = await startServer((req, res) => {
        res.writeHead(req.url?.startsWith('/1.0/member') ? 500 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url?.startsWith('/1.0/member') ? { type: 'error', error_code: 500, error: 'Unable to connect to: 10.0.0.3:8443' } : { type: 'error', error_code: 404, error: 'Instance not found' }));
      });
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      const nf = (await rejection(t.request('GET', '/1.0/instances/c1', { query: { project: 'blue' } }))) as LxdNotFoundError;
      expect([nf.constructor, nf.status, nf.errorCode, nf.project, nf.path]).to.deep.equal([LxdNotFoundError, 200, 404, 'blue', '/1.0/instances/c1']);
      const mu = (await rejection(t.request('GET', '/1.0/member', { query: { target: 'm3', project: 'p' } }))) as LxdMemberUnreachableError;
      expect([mu.constructor, mu.member, mu.address, mu.project]).to.deep.equal([LxdMemberUnreachableError, 'm3', '10.0.0.3:8443', 'p']);
      const plain = (await rejection(t.request('GET', '/1.0/member', { query: { target: 1 as never } }))) as LxdMemberUnreachableError;
      expect([plain.member, plain.project]).to.deep.equal([undefined, undefined]);
      await t.close();
    });

    it('a success that is empty, not JSON or not an envelope is an invalid response', async function () {
      srv = await startServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(req.url === '/1.0/empty' ? '' : req.url === '/1.0/text' ? 'hello' : '{"metadata":{}}');
      });
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      for (const path of ['/1.0/empty', '/1.0/text', '/1.0/shape']) {
        const err = await rejection(t.request('GET', path));
        expect(err, path).to.be.instanceOf(LxdResponseValidationError);
        expect(err.message, path).to.match(new RegExp(`^GET ${path}: unexpected response from LXD at `));
      }
      await t.close();
    });

    it('logs each exchange at debug level (with its operation when async), and builds nothing when debug is off', async function () {
      srv = await startServer((req, res) => {
        res.writeHead(req.url === '/1.0/async' ? 202 : 200, { 'content-type': 'application/json' });
        res.end(req.url === '/1.0/async' ? JSON.stringify({ type: 'async', status: 'Operation created', status_code: 100, operation: '/1.0/operations/op1', metadata: {} }) : OK);
      });
      const lines: string[] = [];
      const t = new Transport({ socketPath: srv.socketPath, logger: captureLogger(lines) });
      await t.request('GET', '/1.0/x');
      await t.request('POST', '/1.0/async');
      const s = await t.requestStream('GET', '/1.0/x');
      s.body.resume();
      const logged = lines.map((l) => JSON.parse(l) as [Record<string, unknown>, string]);
      expect(logged.map(([o, msg]) => [o['method'], o['path'], o['status'], o['operation'], o['streamed'], typeof o['durationMs'], msg])).to.deep.equal([
        ['GET', '/1.0/x', 200, undefined, undefined, 'number', 'lxd request'],
        ['POST', '/1.0/async', 202, '/1.0/operations/op1', undefined, 'number', 'lxd request'],
        ['GET', '/1.0/x', 200, undefined, true, 'number', 'lxd request'],
      ]);
      let debugCalls = 0;
      const quiet: Logger = { ...silentLogger, debug: () => void debugCalls++, child: () => quiet, isLevelEnabled: () => false };
      const q = new Transport({ socketPath: srv.socketPath, logger: quiet });
      await q.request('GET', '/1.0/x');
      const qs = await q.requestStream('GET', '/1.0/x');
      qs.body.resume();
      expect(debugCalls).to.equal(0);
      await Promise.all([t.close(), q.close()]);
    });
    it('accepts a body of exactly maxResponseBytes and cuts off one byte more', async function () {
      srv = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(OK);
      });
      const size = Buffer.byteLength(OK);
      const fits = new Transport({ socketPath: srv.socketPath, logger: silentLogger, maxResponseBytes: size });
      expect((await fits.request('GET', '/1.0/x')).status).to.equal(200);
      const over = new Transport({ socketPath: srv.socketPath, logger: silentLogger, maxResponseBytes: size - 1 });
      const err = await rejection(over.request('GET', '/1.0/x'));
      expect(err).to.be.instanceOf(LxdResponseTooLargeError);
      expect((err as LxdResponseTooLargeError).maxBytes).to.equal(size - 1);
      await Promise.all([fits.close(), over.close()]);
    });

    it('requestToFile: a 3xx answer with a success envelope is no file and no error envelope', async function () {
      srv = await startServer((_req, res) => {
        res.writeHead(302, { 'content-type': 'application/json', location: '/elsewhere' });
        res.end(OK);
      });
      const dir = await mkdtemp(join(tmpdir(), 'lxdkit-transport-edges-file-'));
      const file = await open(join(dir, 'out'), 'w');
      const t = new Transport({ socketPath: srv.socketPath, logger: silentLogger });
      try {
        const err = await rejection(t.requestToFile('GET', '/1.0/f', file));
        expect([err.constructor, err.message]).to.deep.equal([LxdResponseValidationError, 'GET /1.0/f: unexpected response from LXD at (root): HTTP 302 without an error envelope']);
      } finally {
        await file.close();
        await rm(dir, { recursive: true, force: true });
        await t.close();
      }
    });

    it('requestToFile through a dispatcher of the caller\'s: the body in the file, progress against Content-Length when it is a number, and the file can be closed after', async function () {
      srv = await startServer((req, res) => {
        if (req.url === '/1.0/sized') res.writeHead(200, { 'content-length': '11' }).end('hello world');
        else res.writeHead(200, { 'x-length': '3' }).end('abc');
      });
      const agent = new Agent({ connect: { socketPath: srv.socketPath } });
      const t = new Transport({ socketPath: '/run/none.socket', dispatcher: agent, logger: silentLogger });
      const dir = await mkdtemp(join(tmpdir(), 'lxdkit-transport-edges-file-'));
      try {
        for (const [path, text, total] of [['/1.0/sized', 'hello world', 11], ['/1.0/chunked', 'abc', undefined]] as const) {
          const name = join(dir, path.slice(5));
          const file = await open(name, 'w');
          const progress: [number, number | undefined][] = [];
          try {
            const r = await t.requestToFile('GET', path, file, { onBytes: (b, tot) => progress.push([b, tot]) });
            expect([r.status, r.bytes], path).to.deep.equal([200, text.length]);
          } finally {
            await file.close();
          }
          expect((await readFile(name)).toString('utf8'), path).to.equal(text);
          expect(progress.at(-1), path).to.deep.equal([text.length, total]);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
        await agent.close();
      }
    });

    it('opens websockets on the socket, or on the remote (wss for https) under its path, with the query', async function () {
      const local = new Transport({ socketPath: '/run/lxdkit-none/unix.socket', logger: silentLogger });
      const ws = await local.websocket('/1.0/events', { type: 'operation' });
      ws.on('error', () => undefined);
      expect(ws.url).to.equal('ws+unix:///run/lxdkit-none/unix.socket:/1.0/events?type=operation');
      ws.terminate();
      const remote = new Transport({ url: 'https://127.0.0.1:1/base/', logger: silentLogger, proxy: false });
      const rws = await remote.websocket('/1.0/events');
      rws.on('error', () => undefined);
      expect(rws.url).to.equal('wss://127.0.0.1:1/base/1.0/events');
      rws.terminate();
      await Promise.all([local.close(), remote.close()]);
    });
  });

  describe('a remote', function () {
    it('its endpoint is the URL, its origin the URL\'s, and the URL\'s path leads every request', async function () {
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get('https://lxd.example:8443').intercept({ path: '/lxd/1.0/x?project=p', method: 'GET' }).reply(200, OK);
      const t = new Transport({ url: 'https://lxd.example:8443/lxd/', dispatcher: agent, logger: silentLogger });
      expect([t.remote, t.endpoint, t.origin]).to.deep.equal([true, 'https://lxd.example:8443/lxd/', 'https://lxd.example:8443']);
      expect((await t.request('GET', '/1.0/x', { query: { project: 'p' } })).status).to.equal(200);
      const local = new Transport({ socketPath: '/run/x.socket', logger: silentLogger });
      expect([local.remote, local.endpoint, local.origin]).to.deep.equal([false, '/run/x.socket', 'http://unix.socket']);
      await agent.close();
    });
  });

  describe('how a failure is named', function () {
    const LXD = '/var/lib/lxd/unix.socket';
    const INCUS = '/var/lib/incus/unix.socket';
    const cases: [string, Error, Parameters<typeof failing>[1], string | undefined, string][] = [
      ['ENOENT, LXD', errno('ENOENT'), {}, 'ENOENT', `LXD socket ${LXD}: no such socket; is LXD installed and running? Start the daemon, or point LXD_SOCKET / LXD_DIR / the socketPath option at its socket`],
      ['ENOENT, an Incus socket path', errno('ENOENT'), { socketPath: INCUS }, 'ENOENT', `Incus socket ${INCUS}: no such socket; is Incus installed and running? Start the daemon, or point INCUS_SOCKET / INCUS_DIR / the socketPath option at its socket`],
      ['ENOENT, server: incus', errno('ENOENT'), { socketPath: '/run/x.socket', server: 'incus' }, 'ENOENT', 'Incus socket /run/x.socket: no such socket; is Incus installed and running? Start the daemon, or point INCUS_SOCKET / INCUS_DIR / the socketPath option at its socket'],
      ['EACCES, LXD', errno('EACCES'), {}, 'EACCES', `LXD socket ${LXD}: permission denied; run as root or join the lxd group`],
      ['EPERM, Incus', errno('EPERM'), { socketPath: INCUS }, 'EPERM', `Incus socket ${INCUS}: permission denied; run as root or join the incus-admin group`],
      ['ECONNREFUSED, LXD', errno('ECONNREFUSED'), {}, 'ECONNREFUSED', `LXD socket ${LXD}: connection refused; the LXD daemon is not running (start it, then run "lxd waitready")`],
      ['ECONNREFUSED, Incus', errno('ECONNREFUSED'), { socketPath: INCUS }, 'ECONNREFUSED', `Incus socket ${INCUS}: connection refused; the Incus daemon is not running (start it, then run "incus admin waitready")`],
      ...(['ECONNRESET', 'EPIPE', 'ENOTSOCK', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND'].map((code) => [code, errno(code, `boom ${code}`), {}, code, `LXD socket ${LXD}: boom ${code}`]) as [string, Error, Parameters<typeof failing>[1], string, string][]),
      ['an errno further down the cause chain', Object.assign(new Error('fetch failed'), { code: 'UND_ERR_X', cause: Object.assign(new Error('inner'), { cause: errno('ECONNRESET') }) }), {}, 'ECONNRESET', `LXD socket ${LXD}: fetch failed`],
      ["undici's socket error", Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' }), {}, undefined, `LXD socket ${LXD}: other side closed`],
      ["undici's socket error code alone", Object.assign(new Error('closed'), { code: 'UND_ERR_SOCKET' }), {}, undefined, `LXD socket ${LXD}: closed`],
      ['a proxy that refused', new ProxyError(ProxyErrorCode.CONNECT, 'proxy:3128', 'the proxy refused the tunnel (HTTP 403)', { status: 403 }), {}, undefined, `LXD socket ${LXD}: the proxy refused the tunnel (HTTP 403)`],
      ['a remote with a pinned certificate', errno('ERR_TLS_CERT_ALTNAME_INVALID', 'bad cert'), { url: 'https://10.0.0.1:8443', tls: { cert: 'c', key: 'k', serverCert: 's' } }, undefined, "LXD server https://10.0.0.1:8443: TLS handshake failed: bad cert; check that the pinned server certificate is the one the server presents, and that your client certificate is trusted"],
      ['a remote with a CA', errno('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify'), { url: 'https://10.0.0.1:8443', tls: { cert: 'c', key: 'k', ca: 'ca' } }, undefined, "LXD server https://10.0.0.1:8443: TLS handshake failed: unable to verify; check that the server's certificate chains to the given CA and names the URL's host, and that your client certificate is trusted"],
      ['a remote with the system CAs, the failure told by its text', new Error('self-signed certificate in certificate chain'), { url: 'https://10.0.0.1:8443', tls: { cert: 'c', key: 'k' } }, undefined, "LXD server https://10.0.0.1:8443: TLS handshake failed: self-signed certificate in certificate chain; the server's certificate must chain to a system CA and name the URL's host: give its certificate to pin (serverCert, --server-cert) or its CA (ca, --ca), and that your client certificate is trusted"],
      ['a remote refusing the connection', errno('ECONNREFUSED'), { url: 'https://10.0.0.1:8443' }, 'ECONNREFUSED', 'LXD server https://10.0.0.1:8443: connection refused; the LXD daemon is not running (start it, then run "lxd waitready")'],
    ];
    for (const [what, err, opts, syscallCode, message] of cases) {
      it(`${what}: LXD_ERR_CONNECTION saying what to do`, async function () {
        const { t, agent } = failing(err, opts);
        const got = await rejection(t.request('GET', '/1.0'));
        expect(got).to.be.instanceOf(LxdConnectionError);
        const c = got as LxdConnectionError;
        expect([c.message, c.syscallCode, c.endpoint]).to.deep.equal([message, syscallCode, opts?.url ?? opts?.socketPath ?? LXD]);
        const ws = t.websocketError(err);
        expect([ws.constructor, ws.message]).to.deep.equal([LxdConnectionError, message]);
        await agent.close();
      });
    }

    it('anything else is passed on as it is: an unknown failure, a TLS-looking one on the local socket, an errno-like code that is not one', async function () {
      const unknown = new Error('weird');
      const tlsLocal = errno('ERR_TLS_CERT_ALTNAME_INVALID', 'certificate mismatch');
      const notErrno = errno('EAI_AGAIN', 'getaddrinfo EAI_AGAIN');
      for (const err of [unknown, tlsLocal, notErrno]) {
        const { t, agent } = failing(err);
        expect(await rejection(t.request('GET', '/1.0'))).to.equal(err);
        expect(t.websocketError(err)).to.equal(err);
        await agent.close();
      }
      const { t, agent } = failing(new Error('remote said no'), { url: 'https://10.0.0.1:8443' });
      expect((await rejection(t.request('GET', '/1.0'))).message).to.equal('remote said no');
      const wrapped = t.websocketError('a string');
      expect([wrapped.constructor, wrapped.message]).to.deep.equal([Error, 'a string']);
      await agent.close();
    });

    it('requestStream names failures the same way', async function () {
      const { t, agent } = failing(errno('ECONNREFUSED'), { socketPath: INCUS });
      const err = await rejection(t.requestStream('GET', '/1.0'));
      expect([err.constructor, err.message]).to.deep.equal([LxdConnectionError, `Incus socket ${INCUS}: connection refused; the Incus daemon is not running (start it, then run "incus admin waitready")`]);
      await agent.close();
    });
  });
});
