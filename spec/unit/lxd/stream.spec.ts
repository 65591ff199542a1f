/**
 * Streamed response bodies (transport.requestStream, through files.pull): backpressure, the deadline
 * and an abort in the middle of a body, error envelopes, and the file headers of LXD and Incus.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdConnectionError, LxdNotFoundError, LxdResponseValidationError, LxdTimeoutError } from '../../../lib/lxd/index.js';
import { serverInfo } from '../../helpers/fake-lxd.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';

const MiB = 1024 * 1024;

describe('streamed response bodies (files.pull)', function () {
  let server: Server;
  let dir: string;
  let socketPath: string;
  let kind: 'lxd' | 'incus';
  let written: number;
  let closed: number;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  let resumeNock: () => void = () => undefined;

  before(() => {
    resumeNock = pauseNock();
  });
  after(() => resumeNock());

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-stream-'));
    socketPath = join(dir, 'unix.socket');
    kind = 'lxd';
    written = 0;
    closed = 0;
    server = createServer((req, res) => {
      if (req.url === '/1.0') {
        const info = serverInfo() as { environment: Record<string, unknown> };
        info.environment['server'] = kind;
        const body = JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata: info });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      req.socket.once('close', () => closed++);
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterEach(async function () {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const fileHeaders = (prefix: string): Record<string, string> => ({
    'content-type': 'application/octet-stream',
    [`${prefix}-uid`]: '1000',
    [`${prefix}-gid`]: '1001',
    [`${prefix}-mode`]: '0640',
    [`${prefix}-type`]: 'file',
  });

  /** Writes `total` bytes as fast as the socket takes them; `stallAfter` stops writing there. */
  const firehose = (total: number, stallAfter = Infinity) => (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { ...fileHeaders('x-lxd'), 'content-length': String(total) });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = (): void => {
      while (written < total && written < stallAfter) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (written >= total) res.end();
    };
    pump();
  };

  it('reads the body only as fast as it is consumed', async function () {
    handler = firehose(64 * MiB);
    const c = new LxdClient({ socketPath, useEvents: false });
    const file = await c.instances.files.pull('c1', '/big');
    expect(file).to.deep.include({ type: 'file', uid: 1000, gid: 1001, mode: 0o640, size: 64 * MiB });
    await new Promise((r) => setTimeout(r, 300));
    expect(written, 'the server was held back while nobody read').to.be.lessThan(16 * MiB);
    let got = 0;
    for await (const chunk of file.body) got += (chunk as Buffer).length;
    expect(got).to.equal(64 * MiB);
    await c.close();
  });

  it('ends the body with LxdTimeoutError at the deadline, and drops the connection', async function () {
    handler = firehose(64 * MiB, 1 * MiB);
    const c = new LxdClient({ socketPath, useEvents: false });
    const file = await c.instances.files.pull('c1', '/stalls', { timeoutMs: 300 });
    const err = await (async () => {
      for await (const _ of file.body) void _;
    })().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdTimeoutError);
    for (let i = 0; i < 50 && closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).to.equal(1);
    await c.close();
  });

  it('ends the body with the caller\'s abort reason', async function () {
    handler = firehose(64 * MiB, 1 * MiB);
    const c = new LxdClient({ socketPath, useEvents: false });
    const ac = new AbortController();
    const reason = new Error('cancelled');
    const file = await c.instances.files.pull('c1', '/stalls', { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 50);
    const err = await (async () => {
      for await (const _ of file.body) void _;
    })().catch((e: unknown) => e);
    expect(err).to.equal(reason);
    await c.close();
  });

  it('drops the connection when the consumer destroys the body early', async function () {
    handler = firehose(64 * MiB);
    const c = new LxdClient({ socketPath, useEvents: false });
    const file = await c.instances.files.pull('c1', '/big');
    file.body.destroy();
    for (let i = 0; i < 50 && closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).to.equal(1);
    await c.close();
  });

  it('throws the typed error of an error envelope', async function () {
    handler = (_req, res) => {
      const body = JSON.stringify({ type: 'error', status: '', status_code: 0, error_code: 404, error: 'Not Found', metadata: null });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const c = new LxdClient({ socketPath, useEvents: false });
    const err = await c.instances.files.pull('c1', '/missing').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdNotFoundError);
    expect((err as LxdNotFoundError).lxdMessage).to.equal('Not Found');
    await c.close();
  });

  it('reads Incus\'s X-Incus-* headers from Incus, and refuses a file without them', async function () {
    kind = 'incus';
    handler = (_req, res) => {
      res.writeHead(200, fileHeaders('x-incus'));
      res.end('hi');
    };
    const c = new LxdClient({ socketPath, useEvents: false });
    const file = await c.instances.files.pull('c1', '/f');
    expect(file).to.deep.include({ type: 'file', uid: 1000, gid: 1001, mode: 0o640 });
    file.body.resume();
    await c.close();
    kind = 'lxd';
    const d = new LxdClient({ socketPath, useEvents: false });
    // an LXD server whose answer carries only X-Incus-* headers
    expect(await d.instances.files.pull('c1', '/f').catch((e: unknown) => e)).to.be.instanceOf(LxdResponseValidationError);
    await d.close();
  });

  describe('files.pullFile: straight from the socket into a file', function () {
    let out: string;
    beforeEach(async () => {
      out = await mkdtemp(join(tmpdir(), 'lxdkit-pullfile-'));
    });
    afterEach(async () => {
      await rm(out, { recursive: true, force: true });
    });

    /** Bytes 0..n-1 of a repeating pattern. */
    const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 251));

    it('writes a body of known length, with the remote mode', async function () {
      const data = pattern(3 * MiB + 17);
      handler = (_req, res) => {
        res.writeHead(200, { ...fileHeaders('x-lxd'), 'content-length': String(data.length) });
        // in pieces, with the head in the same write as the first bytes
        res.write(data.subarray(0, 5));
        setTimeout(() => res.end(data.subarray(5)), 10);
      };
      const c = new LxdClient({ socketPath, useEvents: false });
      const info = await c.instances.files.pullFile('c1', '/f', join(out, 'f'));
      expect(info).to.deep.equal({ type: 'file', uid: 1000, gid: 1001, mode: 0o640, size: data.length });
      expect((await readFile(join(out, 'f'))).equals(data)).to.equal(true);
      expect((await stat(join(out, 'f'))).mode & 0o777).to.equal(0o640);
      await c.close();
    });

    it('decodes a chunked body', async function () {
      const data = pattern(1 * MiB + 3);
      handler = (_req, res) => {
        res.writeHead(200, fileHeaders('x-lxd'));
        for (let at = 0; at < data.length; at += 100_000) res.write(data.subarray(at, at + 100_000));
        res.end();
      };
      const c = new LxdClient({ socketPath, useEvents: false });
      const info = await c.instances.files.pullFile('c1', '/f', join(out, 'f'));
      expect(info.size).to.equal(data.length);
      expect(createHash('sha256').update(await readFile(join(out, 'f'))).digest('hex')).to.equal(createHash('sha256').update(data).digest('hex'));
      await c.close();
    });

    it('fails a body cut short, at the deadline, or with an error envelope, and leaves no file behind', async function () {
      const c = new LxdClient({ socketPath, useEvents: false });
      handler = (_req, res) => {
        res.writeHead(200, { ...fileHeaders('x-lxd'), 'content-length': String(10 * MiB) });
        res.write(pattern(1000), () => res.socket?.destroy());
      };
      expect(await c.instances.files.pullFile('c1', '/f', join(out, 'f')).catch((e: unknown) => e)).to.be.instanceOf(LxdConnectionError);
      handler = firehose(64 * MiB, 1 * MiB);
      expect(await c.instances.files.pullFile('c1', '/f', join(out, 'f'), { timeoutMs: 300 }).catch((e: unknown) => e)).to.be.instanceOf(LxdTimeoutError);
      handler = (_req, res) => {
        const body = JSON.stringify({ type: 'error', error_code: 404, error: 'Not Found', metadata: null });
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      const missing = await c.instances.files.pullFile('c1', '/f', join(out, 'f')).catch((e: unknown) => e);
      expect(missing).to.be.instanceOf(LxdNotFoundError);
      expect((missing as LxdNotFoundError).path).to.equal('/1.0/instances/c1/files?path=/f');
      expect(await readdir(out)).to.deep.equal([]);
      await c.close();
    });
  });
});
