/**
 * The events stream beyond its happy path: parseEvent on whatever a server sends, messages that are not
 * events, liveness kept by pings, what a reconnect tells listeners and iterators, a consumer that falls
 * behind, and every way a subscription ends before or after it connected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  LxdClient,
  LxdConnectionError,
  LxdEventsError,
  LxdNotFoundError,
  LxdTimeoutError,
  parseEvent,
  type EventGap,
  type LxdEvent,
} from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { lxdError, operationObject, startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';

const raw = (type: string, metadata: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type, timestamp: '2026-12-05T10:00:00Z', metadata, location: 'm1', project: 'p1', ...extra });

/** A logger that keeps what it was told, by level. */
function recording(): { logger: Logger; lines: { level: string; msg: string | undefined; obj: unknown }[] } {
  const lines: { level: string; msg: string | undefined; obj: unknown }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => {
    lines.push(typeof obj === 'string' ? { level, msg: obj, obj: undefined } : { level, msg, obj });
  };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return { logger, lines };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

describe('parseEvent', function () {
  it('is undefined for what is not JSON or not an event', function () {
    expect(parseEvent('not json')).to.equal(undefined);
    expect(parseEvent('{"type":"lifecycle"}')).to.equal(undefined);
    expect(parseEvent('null')).to.equal(undefined);
  });

  it('types operation, lifecycle and logging events, keeping timestamp, location and project', function () {
    const op = operationObject({ id: 'op1' });
    expect(parseEvent(raw('operation', op))).to.deep.include({ type: 'operation', timestamp: '2026-12-05T10:00:00Z', location: 'm1', project: 'p1' });
    expect((parseEvent(raw('operation', op)) as Extract<LxdEvent, { type: 'operation' }>).metadata.id).to.equal('op1');
    expect(parseEvent(raw('lifecycle', { action: 'instance-started', source: '/1.0/instances/c1' }))).to.deep.include({ type: 'lifecycle', project: 'p1' });
    expect(parseEvent(raw('logging', { message: 'hi', level: 'info' }))).to.deep.include({ type: 'logging', location: 'm1' });
  });

  it('an event whose metadata does not fit its type is an unknown event, not a typed one', function () {
    for (const type of ['operation', 'lifecycle', 'logging']) {
      const e = parseEvent(raw(type, { action: 7 }));
      expect(e, type).to.deep.equal({ type: 'unknown', eventType: type, metadata: { action: 7 }, timestamp: '2026-12-05T10:00:00Z', location: 'm1', project: 'p1' });
    }
  });

  it('passes ovn, security and network-acl events through with their metadata', function () {
    for (const type of ['ovn', 'security', 'network-acl']) {
      expect(parseEvent(raw(type, { x: 1 })), type).to.deep.equal({ type, metadata: { x: 1 }, timestamp: '2026-12-05T10:00:00Z', location: 'm1', project: 'p1' });
    }
  });
});

describe('events subscription', function () {
  this.timeout(20_000);
  let fake: FakeLxd;
  let lxd: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1' });
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
  });

  const sendRaw = (data: string | Buffer, binary = false): void => {
    for (const ws of fake.eventClients) ws.send(data, { binary });
  };

  it('skips a message that is not an event and reads an event sent as a binary frame', async function () {
    const { logger, lines } = recording();
    await lxd.close();
    lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1', logger });
    const sub = lxd.events.subscribe();
    await sub.ready;
    const got: LxdEvent[] = [];
    sub.on('event', (e) => got.push(e));
    sendRaw('this is not an event');
    sendRaw(Buffer.from(raw('logging', { message: 'binary', level: 'info' })), true);
    expect(await until(() => got.length === 1, 3_000)).to.equal(true);
    expect(got[0]).to.deep.include({ type: 'logging' });
    expect((got[0] as Extract<LxdEvent, { type: 'logging' }>).metadata.message).to.equal('binary');
    expect(lines.filter((l) => l.level === 'debug').map((l) => l.msg)).to.include('lxd events: ignored a message that is not an event');
    sub.close();
  });

  it('sends no type filter for an empty list, and watches the project it is given', async function () {
    const sub = lxd.events.subscribe({ types: [], project: 'p2' });
    await sub.ready;
    sub.close();
    expect(Object.fromEntries(fake.eventQueries[0]!)).to.deep.equal({ project: 'p2' });
  });

  it('is connected while open, and not once closed', async function () {
    const sub = lxd.events.subscribe();
    expect(sub.connected).to.equal(false);
    await sub.ready;
    expect(sub.connected).to.equal(true);
    expect(sub.isClosed).to.equal(false);
    sub.close();
    expect(sub.connected).to.equal(false);
    expect(sub.isClosed).to.equal(true);
  });

  it('pings and events keep a quiet connection alive; silence is logged and reconnected', async function () {
    const { logger, lines } = recording();
    await lxd.close();
    lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1', logger });
    const sub = lxd.events.subscribe({ livenessTimeoutMs: 400, reconnect: { initialDelayMs: 10 } });
    await sub.ready;
    let n = 0;
    const timer = setInterval(() => {
      n += 1;
      if (n % 2) for (const ws of fake.eventClients) ws.ping();
      else sendRaw(raw('logging', { message: 'tick', level: 'info' }));
    }, 100);
    await new Promise((r) => setTimeout(r, 1_200));
    clearInterval(timer);
    expect(fake.eventQueries, 'no reconnect while pings and events came').to.have.length(1);
    await new Promise<EventGap>((resolve) => sub.once('gap', resolve));
    expect(fake.eventQueries).to.have.length(2);
    const warned = lines.find((l) => l.level === 'warn' && l.msg === 'lxd events: no ping from the server; reconnecting');
    expect(warned?.obj).to.deep.equal({ livenessTimeoutMs: 400 });
    sub.close();
  });

  it('a reconnect is told to listeners (disconnect, open, gap) and to iterators (a gap item)', async function () {
    const sub = lxd.events.subscribe({ reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    const opens: number[] = [];
    sub.on('open', () => opens.push(Date.now()));
    await sub.ready;
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    const disconnected = new Promise<Error>((resolve) => sub.once('disconnect', resolve));
    const gapHeard = new Promise<EventGap>((resolve) => sub.once('gap', resolve));
    const before = Date.now();
    fake.dropEvents();
    const err = await disconnected;
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.equal('events connection closed by the server');
    const gap = await gapHeard;
    expect(gap.reason).to.equal('events connection was re-established');
    expect(gap.since.getTime()).to.be.at.least(before);
    expect(gap.until.getTime()).to.be.at.least(gap.since.getTime());
    expect(opens).to.have.length(2);
    expect((await first).value).to.deep.equal(gap);
    sub.close();
    expect((await it.next()).done).to.equal(true);
  });

  it('a consumer that falls behind gets a gap in place of the oldest events', async function () {
    const sub = lxd.events.subscribe({ maxBuffered: 15 });
    await sub.ready;
    const it = sub[Symbol.asyncIterator]();
    const firstNext = it.next();
    sendRaw(raw('logging', { message: 'e0', level: 'info' }));
    expect(((await firstNext).value as Extract<LxdEvent, { type: 'logging' }>).metadata.message).to.equal('e0');
    let heard = 0;
    sub.on('event', () => (heard += 1));
    for (let i = 1; i <= 16; i++) sendRaw(raw('logging', { message: `e${i}`, level: 'info' }, { timestamp: `2026-12-05T10:00:${String(i).padStart(2, '0')}Z` }));
    expect(await until(() => heard === 16, 3_000)).to.equal(true);
    const gap = (await it.next()).value as EventGap;
    expect(gap.type).to.equal('gap');
    expect(gap.reason).to.equal('the consumer fell behind; 2 events dropped');
    expect(gap.since.toISOString()).to.equal('2026-12-05T10:00:01.000Z');
    const rest: string[] = [];
    for (let i = 3; i <= 16; i++) rest.push(((await it.next()).value as Extract<LxdEvent, { type: 'logging' }>).metadata.message);
    expect(rest).to.deep.equal(Array.from({ length: 14 }, (_, k) => `e${k + 3}`));
    sub.close();
  });

  it('an iterator that stops early closes the subscription', async function () {
    const sub = lxd.events.subscribe();
    await sub.ready;
    sendRaw(raw('logging', { message: 'one', level: 'info' }));
    for await (const e of sub) {
      expect(e.type).to.equal('logging');
      break;
    }
    expect(sub.isClosed).to.equal(true);
    expect(await until(() => fake.eventClients.size === 0, 3_000)).to.equal(true);
  });

  it('an iterator throws the error that ended the subscription', async function () {
    const sub = lxd.events.subscribe({ reconnect: false });
    await sub.ready;
    setTimeout(() => fake.dropEvents(), 20);
    const err = await rejection((async () => {
      for await (const _ of sub) void _;
    })());
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.equal('events connection lost: events connection closed by the server');
  });

  it('a subscription that fails with no error listener ends quietly (close is still emitted)', async function () {
    const sub = lxd.events.subscribe({ reconnect: false });
    await sub.ready;
    const closed = new Promise<void>((resolve) => sub.once('close', resolve));
    fake.dropEvents();
    await closed;
    expect(sub.isClosed).to.equal(true);
  });

  it('reconnects by default, logging that events were lost', async function () {
    const { logger, lines } = recording();
    await lxd.close();
    lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1', logger });
    const sub = lxd.events.subscribe();
    await sub.ready;
    const gap = new Promise<EventGap>((resolve) => sub.once('gap', resolve));
    fake.dropEvents();
    const g = await gap;
    expect(fake.eventQueries).to.have.length(2);
    const info = lines.find((l) => l.level === 'info' && l.msg === 'lxd events: reconnected; events in between were lost');
    expect(info?.obj).to.deep.equal({ since: g.since.toISOString() });
    sub.close();
  });

  it('waits between half and all of the reconnect delay (capped by maxDelayMs) before reconnecting', async function () {
    const sub = lxd.events.subscribe({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 400 } });
    await sub.ready;
    const gap = new Promise<number>((resolve) => sub.once('gap', () => resolve(Date.now())));
    const dropped = new Promise<number>((resolve) => sub.once('disconnect', () => resolve(Date.now())));
    fake.dropEvents();
    const took = (await gap) - (await dropped);
    expect(took).to.be.at.least(190);
    // far below the uncapped delay (30 s and more)
    expect(took).to.be.below(10_000);
    sub.close();
  });

  it('close() never reconnects, and ends an iterator that is waiting', async function () {
    const sub = lxd.events.subscribe({ reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    await sub.ready;
    const iterating = (async () => {
      const got: unknown[] = [];
      for await (const e of sub) got.push(e);
      return got;
    })();
    await new Promise((r) => setTimeout(r, 50));
    sub.close();
    expect(await iterating).to.deep.equal([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.eventQueries).to.have.length(1);
    expect(fake.eventClients.size).to.equal(0);
  });

  it('closed while its first connection is being made: that connection is let go', async function () {
    const sub = lxd.events.subscribe({ allProjects: true });
    sub.close();
    expect(await rejection(sub.ready)).to.be.instanceOf(LxdEventsError);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.eventClients.size).to.equal(0);
  });

  it('a project check that fails after close() reports nothing more: no error, one close', async function () {
    fake.on('GET', '/1.0/projects/nope', () => ({ ...lxdError(404, 'Project not found'), delayMs: 100 }));
    const sub = lxd.events.subscribe({ project: 'nope' });
    const errors: Error[] = [];
    let closes = 0;
    sub.on('error', (e) => errors.push(e));
    sub.on('close', () => (closes += 1));
    sub.close();
    await new Promise((r) => setTimeout(r, 400));
    expect(errors).to.deep.equal([]);
    expect(closes).to.equal(1);
    expect((await rejection(sub.ready)).message).to.equal('subscription closed before it connected');
  });

  it('an aborted signal ends it before any connection', async function () {
    const ac = new AbortController();
    ac.abort();
    const sub = lxd.events.subscribe({ signal: ac.signal, allProjects: true });
    expect(sub.isClosed).to.equal(true);
    const err = await rejection(sub.ready);
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.equal('subscription aborted before it connected');
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.eventQueries).to.have.length(0);
  });

  it('closed before it connected: `ready` says so and no connection is made', async function () {
    const sub = lxd.events.subscribe();
    sub.close();
    const err = await rejection(sub.ready);
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.equal('subscription closed before it connected');
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.eventQueries).to.have.length(0);
    expect(fake.eventClients.size).to.equal(0);
  });

  it('a project that does not exist fails `ready` with the not-found error, before any connection', async function () {
    fake.on('GET', '/1.0/projects/nope', () => lxdError(404, 'Project not found'));
    const sub = lxd.events.subscribe({ project: 'nope' });
    const errors: Error[] = [];
    sub.on('error', (e) => errors.push(e));
    const err = await rejection(sub.ready);
    expect(err).to.be.instanceOf(LxdNotFoundError);
    expect(errors).to.deep.equal([err]);
    expect(sub.isClosed).to.equal(true);
    expect(fake.eventQueries).to.have.length(0);
  });

  it('a daemon that is not there fails `ready` with a connection error, and does not retry', async function () {
    await lxd.close();
    await fake.close();
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: join(tmpdir(), `lxdkit-no-such-${process.pid}.socket`) });
    const sub = lxd.events.subscribe({ allProjects: true });
    const err = await rejection(sub.ready);
    expect(err).to.be.instanceOf(LxdConnectionError);
    expect(sub.isClosed).to.equal(true);
  });
});

describe('events subscription handshake', function () {
  this.timeout(20_000);
  let dir: string;
  let server: http.Server;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-events-hs-'));
  });
  const held: { destroy(): void }[] = [];
  afterEach(async function () {
    for (const s of held.splice(0)) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('a server that never answers the upgrade fails `ready` with a timeout of connectTimeoutMs', async function () {
    const socketPath = join(dir, 'unix.socket');
    server = http.createServer(() => {});
    server.on('upgrade', (_req, socket) => held.push(socket)); // never answered
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const lxd = new LxdClient({ socketPath });
    try {
      const sub = lxd.events.subscribe({ allProjects: true, connectTimeoutMs: 300 });
      const err = await rejection(sub.ready);
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err).to.have.property('timeoutMs', 300);
      expect(err.message).to.match(/^events websocket: opening handshake has timed out/i);
    } finally {
      await lxd.close();
    }
  });
});
