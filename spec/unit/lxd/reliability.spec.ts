/**
 * The client under failures a real daemon cannot be made to show on demand (the real-daemon proofs are
 * in spec/integration/reliability): a daemon whose socket goes away and comes back, events lost in a
 * reconnect, oversized and endless bodies, a TLS refusal of the events websocket, deadlines of 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  LxdClient,
  LxdConnectionError,
  LxdOperationLostError,
  LxdResponseTooLargeError,
  LxdValidationError,
} from '../../../lib/lxd/index.js';
import { asyncAnswer, lxdError, operationObject as operation, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { selfSignedCert } from '../../helpers/simplestreams-server.js';

const envelope = (metadata: unknown): string => JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata });

describe('the client under failure', function () {
  describe('with a fake daemon', function () {
    let fake: FakeLxd;
    beforeEach(async function () {
      fake = await startFakeLxd();
    });
    afterEach(async function () {
      await fake.close();
    });

    it('holds one events socket per client: a request made while it reconnects reuses it', async function () {
      const lxd = new LxdClient({ socketPath: fake.socketPath });
      try {
        const first = operation();
        const second = operation();
        let n = 0;
        fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(n++ === 0 ? first : second));
        fake.on('GET', '/1.0/operations/:id', (req) => sync(req.params['id'] === first['id'] ? first : second));
        const op1 = await lxd.instances.setState('c1', { action: 'start' });
        expect(fake.eventQueries).to.have.length(1);
        fake.dropEvents();
        // the socket is reconnecting now: a second operation must not open another one
        const op2 = await lxd.instances.setState('c1', { action: 'start' });
        for (let i = 0; i < 50 && fake.eventClients.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(fake.eventClients.size).to.equal(1);
        expect(fake.eventQueries).to.have.length(2);
        fake.emit('operation', { ...first, status: 'Success', status_code: 200 });
        fake.emit('operation', { ...second, status: 'Success', status_code: 200 });
        await Promise.all([op1.wait({ timeoutMs: 5_000 }), op2.wait({ timeoutMs: 5_000 })]);
        expect(fake.eventQueries).to.have.length(2);
      } finally {
        await lxd.close();
      }
    });

    it('says at once when LXD forgot an operation whose outcome a reconnect lost (events path)', async function () {
      const lxd = new LxdClient({ socketPath: fake.socketPath });
      try {
        const op = operation();
        fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
        fake.on('GET', '/1.0/operations/:id', () => lxdError(404, 'Operation not found'));
        const started = await lxd.instances.setState('c1', { action: 'start' });
        const waiting = started.wait({ timeoutMs: 20_000 });
        fake.dropEvents();
        const at = Date.now();
        const err = await rejection(waiting);
        expect(err).to.be.instanceOf(LxdOperationLostError);
        expect(Date.now() - at, 'not at the deadline').to.be.below(3_000);
      } finally {
        await lxd.close();
      }
    });

    it('cuts off a response over maxResponseBytes with a typed error', async function () {
      const lxd = new LxdClient({ socketPath: fake.socketPath, maxResponseBytes: 64 * 1024 });
      try {
        fake.on('GET', '/1.0/profiles', () => sync(Array.from({ length: 2_000 }, (_, i) => `/1.0/profiles/p-${i}-${'x'.repeat(40)}`)));
        const err = await rejection(lxd.profiles.list({ recursion: 0 }));
        expect(err).to.be.instanceOf(LxdResponseTooLargeError);
        expect(err).to.have.property('code', 'LXD_ERR_RESPONSE_TOO_LARGE');
        // under the limit, the same call works
        fake.on('GET', '/1.0/profiles', () => sync(['/1.0/profiles/default']));
        expect(await lxd.profiles.list({ recursion: 0 })).to.deep.equal(['default']);
      } finally {
        await lxd.close();
      }
    });

    it('refuses an http:// remote: it speaks only HTTPS to remotes', function () {
      for (const url of ['http://127.0.0.1:8443', 'HTTP://lxd.example', 'ws://127.0.0.1:8443']) {
        expect(() => new LxdClient({ url }), url).to.throw(LxdValidationError, /https:\/\/ URL/);
      }
    });

    it('refuses deadlines of 0, below 0, NaN and Infinity before any I/O', async function () {
      for (const bad of [0, -5, Number.NaN, Infinity]) {
        expect(() => new LxdClient({ socketPath: fake.socketPath, timeoutMs: bad })).to.throw(LxdValidationError, /timeoutMs/);
        expect(() => new LxdClient({ socketPath: fake.socketPath, operationTimeoutMs: bad })).to.throw(LxdValidationError, /operationTimeoutMs/);
      }
      const lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      try {
        const before = fake.requests.length;
        for (const bad of [0, Infinity]) expect(await rejection(lxd.instances.list({ timeoutMs: bad }))).to.be.instanceOf(LxdValidationError);
        expect(fake.requests.length).to.equal(before);
        const op = operation();
        fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
        const started = await lxd.instances.setState('c1', { action: 'start' });
        expect(await rejection(started.wait({ timeoutMs: 0 }))).to.be.instanceOf(LxdValidationError);
      } finally {
        await lxd.close();
      }
    });

    it('closes every subscription it made and makes a pending wait reject on close()', async function () {
      const lxd = new LxdClient({ socketPath: fake.socketPath });
      const sub = lxd.events.subscribe({ types: ['lifecycle'] });
      await sub.ready;
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', '/1.0/operations/:id', () => sync(op));
      const waiting = (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 20_000 });
      waiting.catch(() => {});
      await lxd.close();
      expect(await rejection(waiting)).to.be.instanceOf(LxdConnectionError);
      expect(sub.isClosed).to.equal(true);
      for (let i = 0; i < 50 && fake.eventClients.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(fake.eventClients.size).to.equal(0);
    });
  });

  describe('with a daemon that goes away and comes back', function () {
    let dir: string;
    let socketPath: string;
    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-restart-'));
      socketPath = join(dir, 'unix.socket');
    });
    afterEach(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    /** A daemon that answers `GET /1.0/operations/<id>[/wait]` with `answer()` (null: not found). */
    async function daemon(op: Record<string, unknown>, answer: () => Record<string, unknown> | null): Promise<http.Server> {
      const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (req.method === 'PUT' && url.pathname === '/1.0/instances/c1/state') {
          res.writeHead(202, { 'content-type': 'application/json' });
          res.end(JSON.stringify(asyncAnswer(op).body));
          return;
        }
        if (url.pathname === '/1.0') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(envelope(serverInfo()));
          return;
        }
        const state = answer();
        res.writeHead(state ? 200 : 404, { 'content-type': 'application/json' });
        // a /wait that is held for a while, as LXD holds it
        const delay = url.pathname.endsWith('/wait') ? 200 : 0;
        setTimeout(() => res.end(state ? envelope(state) : JSON.stringify(lxdError(404, 'Operation not found').body)), delay);
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      return server;
    }

    async function stop(server: http.Server): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    it('a wait keeps trying while the socket is gone, then reports the outcome lost in the restart', async function () {
      const op = operation();
      const first = await daemon(op, () => op);
      const lxd = new LxdClient({ socketPath, useEvents: false });
      try {
        const waiting = (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 20_000 }).then(
          () => ({ at: Date.now(), error: undefined as unknown }),
          (error: unknown) => ({ at: Date.now(), error }),
        );
        await new Promise((r) => setTimeout(r, 300));
        await stop(first);
        await new Promise((r) => setTimeout(r, 1_500));
        const backAt = Date.now();
        const second = await daemon(op, () => null); // a new daemon: it never heard of the operation
        try {
          const { at, error } = await waiting;
          expect(at).to.be.at.least(backAt);
          expect(error).to.be.instanceOf(LxdOperationLostError);
          expect(error).to.have.property('daemonRestarted', true);
        } finally {
          await stop(second);
        }
      } finally {
        await lxd.close();
      }
    });

    it('a wait across a dropped connection reports the real outcome when the daemon still knows it', async function () {
      const op = operation();
      const first = await daemon(op, () => op);
      const lxd = new LxdClient({ socketPath, useEvents: false });
      try {
        const waiting = (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 20_000 });
        await new Promise((r) => setTimeout(r, 300));
        await stop(first);
        await new Promise((r) => setTimeout(r, 1_000));
        const second = await daemon(op, () => ({ ...op, status: 'Success', status_code: 200 }));
        try {
          expect((await waiting).status_code).to.equal(200);
        } finally {
          await stop(second);
        }
      } finally {
        await lxd.close();
      }
    });

    it('a response body that never ends is cut off at the size limit, not left pending', async function () {
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const timer = setInterval(() => res.write(chunk), 1);
        res.on('close', () => clearInterval(timer));
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      const lxd = new LxdClient({ socketPath, useEvents: false, maxResponseBytes: 1024 * 1024, timeoutMs: 60_000 });
      try {
        const at = Date.now();
        expect(await rejection(lxd.server.get())).to.be.instanceOf(LxdResponseTooLargeError);
        expect(Date.now() - at).to.be.below(5_000);
      } finally {
        await lxd.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  it('a TLS refusal of the events websocket is a connection error, not a timeout', async function () {
    const serverCert = await selfSignedCert();
    const trusted = await selfSignedCert();
    const stranger = await selfSignedCert();
    // only `trusted` may connect: a client with another certificate is refused in the TLS handshake
    const server = https.createServer({ ...serverCert, requestCert: true, rejectUnauthorized: true, ca: [trusted.cert] }, (_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const lxd = new LxdClient({ url: `https://127.0.0.1:${port}`, tls: { cert: stranger.cert, key: stranger.key, serverCert: serverCert.cert } });
    try {
      const sub = lxd.events.subscribe({ connectTimeoutMs: 5_000 });
      const err = await rejection(sub.ready);
      expect(err, String(err)).to.be.instanceOf(LxdConnectionError);
      expect((err as Error).message).to.match(/TLS|certificate|socket/i);
    } finally {
      await lxd.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
