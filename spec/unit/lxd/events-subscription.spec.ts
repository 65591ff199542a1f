/**
 * EventSubscription driven step by step: a fake transport whose websockets the spec opens, drops and
 * feeds by hand, and a clock the spec advances, so the watchdog, the reconnect backoff and every way a
 * subscription ends are checked without waiting on real time.
 */
import { EventEmitter, getEventListeners } from 'node:events';
import { expect } from 'chai';
import { EventSubscription, type SubscribeOptions } from '../../../lib/lxd/events.js';
import { LxdClient, LxdConnectionError, LxdEventsError, LxdTimeoutError, LxdValidationError, parseEvent, type EventGap, type LxdEvent } from '../../../lib/lxd/index.js';
import type { Transport } from '../../../lib/lxd/transport.js';
import type { Logger } from '../../../lib/logger.js';
import { rejection } from '../../helpers/rejection.js';

const realSetTimeout = globalThis.setTimeout;

/** Lets promise callbacks (and the microtasks they queue) run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A websocket of the ws library as far as EventSubscription uses it; the spec moves it from state to state. */
class FakeWs extends EventEmitter {
  readyState = 0;
  closeCalls = 0;
  terminateCalls = 0;
  /** How many 'error' listeners it had when terminate() was called. */
  errorListenersAtTerminate = -1;

  open(): void {
    this.readyState = 1;
    this.emit('open');
  }

  /** The server (or the network) ends the connection. */
  drop(): void {
    this.readyState = 3;
    this.emit('close', 1006, Buffer.alloc(0));
  }

  send(data: string, binary = false): void {
    this.emit('message', Buffer.from(data), binary);
  }

  terminate(): void {
    this.terminateCalls += 1;
    this.errorListenersAtTerminate = this.listenerCount('error');
    if (this.readyState === 3) return;
    const connecting = this.readyState === 0;
    this.readyState = 2;
    queueMicrotask(() => {
      // as ws does: terminating a connecting socket reports an error first
      if (connecting) this.emit('error', new Error('WebSocket was closed before the connection was established'));
      this.readyState = 3;
      this.emit('close', 1006, Buffer.alloc(0));
    });
  }

  close(): void {
    this.closeCalls += 1;
    if (this.readyState >= 2) return;
    this.readyState = 2;
    queueMicrotask(() => {
      this.readyState = 3;
      this.emit('close', 1000, Buffer.alloc(0));
    });
  }
}

interface Call {
  path: string;
  query: Record<string, string | undefined>;
  timeoutMs: number;
  resolve(): FakeWs;
  reject(err: unknown): void;
}

/** The two methods of Transport that EventSubscription calls; each websocket() waits for the spec. */
class FakeTransport {
  readonly calls: Call[] = [];

  websocket(path: string, query: Record<string, string | undefined>, timeoutMs: number): Promise<FakeWs> {
    return new Promise<FakeWs>((resolve, reject) => {
      this.calls.push({
        path,
        query,
        timeoutMs,
        resolve: () => {
          const ws = new FakeWs();
          resolve(ws);
          return ws;
        },
        reject,
      });
    });
  }

  /** Marks what it mapped, so a spec sees that errors went through it. */
  websocketError(err: unknown): Error {
    if (err instanceof LxdConnectionError) return err;
    return new Error(`mapped: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  last(): Call {
    const c = this.calls.at(-1);
    if (!c) throw new Error('no websocket was asked for');
    return c;
  }
}

interface Timer {
  id: number;
  at: number;
  ms: number;
  fn: () => void;
  refed: boolean;
}

/** setTimeout/clearTimeout on a clock the spec advances (mocha keeps its own timer functions). */
class FakeClock {
  now = 0;
  private seq = 0;
  readonly timers = new Map<number, Timer>();
  private saved: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } | undefined;

  install(): void {
    this.saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
    const set = (fn: () => void, ms = 0): unknown => {
      const t: Timer = { id: ++this.seq, at: this.now + ms, ms, fn, refed: true };
      this.timers.set(t.id, t);
      const handle = {
        id: t.id,
        unref: () => {
          t.refed = false;
          return handle;
        },
        ref: () => {
          t.refed = true;
          return handle;
        },
        hasRef: () => t.refed,
      };
      return handle;
    };
    globalThis.setTimeout = set as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((h: { id: number } | undefined) => {
      if (h) this.timers.delete(h.id);
    }) as typeof clearTimeout;
  }

  uninstall(): void {
    if (!this.saved) return;
    globalThis.setTimeout = this.saved.setTimeout;
    globalThis.clearTimeout = this.saved.clearTimeout;
    this.saved = undefined;
  }

  /** Delays of the timers still pending, in the order they were set. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.ms);
  }

  /** Runs every timer due within `ms`, in time order, letting promises settle after each. */
  async tick(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers.delete(due.id);
      this.now = due.at;
      due.fn();
      await flush();
    }
    this.now = end;
  }
}

interface Line {
  level: string;
  msg: string | undefined;
  obj: unknown;
}

function recording(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => {
    lines.push(typeof obj === 'string' ? { level, msg: obj, obj: undefined } : { level, msg, obj });
  };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return { logger, lines };
}

const logging = (message: string, timestamp = '2000-01-01T00:00:00Z'): string =>
  JSON.stringify({ type: 'logging', timestamp, metadata: { message, level: 'info', context: {} }, location: 'm1', project: 'p1' });

const messageOf = (item: LxdEvent | EventGap | undefined): string => (item as Extract<LxdEvent, { type: 'logging' }>).metadata.message;

describe('events subscription, step by step', function () {
  this.timeout(10_000);
  let transport: FakeTransport;
  let clock: FakeClock;
  let log: ReturnType<typeof recording>;
  let realRandom: () => number;
  const subs: EventSubscription[] = [];

  beforeEach(function () {
    transport = new FakeTransport();
    clock = new FakeClock();
    clock.install();
    log = recording();
    realRandom = Math.random;
  });
  afterEach(function () {
    for (const s of subs.splice(0)) s.close();
    clock.uninstall();
    Math.random = realRandom;
  });

  type Opts = SubscribeOptions & { before?: () => Promise<void> };
  const subscribe = (opts: Opts = {}): EventSubscription => {
    const sub = new EventSubscription(transport as unknown as Transport, { project: 'p1', ...opts }, log.logger);
    subs.push(sub);
    return sub;
  };

  /** Answers the pending websocket() call and opens the socket it gave. */
  async function accept(): Promise<FakeWs> {
    await flush();
    const ws = transport.last().resolve();
    await flush();
    ws.open();
    await flush();
    return ws;
  }

  /** A subscription whose first connection is open. */
  async function opened(opts: Opts = {}): Promise<{ sub: EventSubscription; ws: FakeWs }> {
    const sub = subscribe(opts);
    const ws = await accept();
    await sub.ready;
    return { sub, ws };
  }

  /**
   * A subscription whose first connection is open, and an iterator of it that has taken a first event
   * (`e0`): from then on it holds a queue, and what the socket sends waits in it.
   */
  async function iterating(opts: Opts = {}): Promise<{ sub: EventSubscription; ws: FakeWs; it: AsyncIterator<LxdEvent | EventGap> }> {
    const { sub, ws } = await opened(opts);
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    await flush();
    ws.send(logging('e0'));
    expect(messageOf((await first).value)).to.equal('e0');
    return { sub, ws, it };
  }

  const warnings = (msg: string): Line[] => log.lines.filter((l) => l.level === 'warn' && l.msg === msg);
  const RECONNECTING = 'lxd events: connection lost; reconnecting';
  const SILENT = 'lxd events: no ping from the server; reconnecting';

  describe('what it asks the server for', function () {
    it('the client project and no type filter when no types are given, with a 10 s handshake deadline', async function () {
      subscribe();
      await flush();
      expect(transport.calls).to.have.length(1);
      const c = transport.last();
      expect(c.path).to.equal('/1.0/events');
      expect(c.query).to.deep.equal({ type: undefined, project: 'p1' });
      expect(c.timeoutMs).to.equal(10_000);
    });

    it('the listed types joined by commas, and the handshake deadline it is given', async function () {
      subscribe({ types: ['operation', 'lifecycle'], connectTimeoutMs: 1234 });
      await flush();
      expect(transport.last().query).to.deep.equal({ type: 'operation,lifecycle', project: 'p1' });
      expect(transport.last().timeoutMs).to.equal(1234);
    });

    it('every project instead of one with allProjects', async function () {
      subscribe({ allProjects: true, types: ['logging'] });
      await flush();
      expect(transport.last().query).to.deep.equal({ type: 'logging', 'all-projects': 'true' });
    });
  });

  describe('before the first connection', function () {
    it('an already aborted signal: closed at once, no connection, no abort listener left', async function () {
      const ac = new AbortController();
      ac.abort();
      const sub = subscribe({ signal: ac.signal });
      expect(sub.isClosed).to.equal(true);
      expect((await rejection(sub.ready)).message).to.equal('subscription aborted before it connected');
      await flush();
      expect(transport.calls).to.have.length(0);
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
    });

    it('nobody awaiting `ready` of a subscription that failed is not an unhandled rejection', async function () {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const ac = new AbortController();
        ac.abort();
        subscribe({ signal: ac.signal });
        subscribe().close();
        await flush();
        await flush();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
    });

    it('connects after `before` resolves', async function () {
      let release!: () => void;
      const sub = subscribe({ before: () => new Promise<void>((resolve) => (release = resolve)) });
      await flush();
      expect(transport.calls).to.have.length(0);
      release();
      await accept();
      await sub.ready;
      expect(transport.calls).to.have.length(1);
    });

    it('closed while `before` runs: no connection is made once it resolves', async function () {
      let release!: () => void;
      const sub = subscribe({ before: () => new Promise<void>((resolve) => (release = resolve)) });
      sub.close();
      release();
      await flush();
      await flush();
      expect(transport.calls).to.have.length(0);
      expect((await rejection(sub.ready)).message).to.equal('subscription closed before it connected');
    });

    it('`before` rejecting with something not an Error fails it with an events error saying what', async function () {
      const sub = subscribe({ before: () => Promise.reject('project check went wrong') });
      const errors: Error[] = [];
      sub.on('error', (e) => errors.push(e));
      const err = await rejection(sub.ready);
      expect(err).to.be.instanceOf(LxdEventsError);
      expect(err.message).to.equal('project check went wrong');
      expect(errors).to.deep.equal([err]);
      expect(transport.calls).to.have.length(0);
    });

    it('closed while its websocket connects: that socket is terminated with an error listener on it', async function () {
      const sub = subscribe();
      await flush();
      sub.close();
      const ws = transport.last().resolve();
      await flush();
      expect(ws.terminateCalls).to.equal(1);
      expect(ws.errorListenersAtTerminate).to.be.at.least(1);
      expect(ws.listenerCount('open')).to.equal(0);
      expect((await rejection(sub.ready)).message).to.equal('subscription closed before it connected');
    });

    it('closed while its websocket connects, which then fails: nothing more happens', async function () {
      const sub = subscribe();
      const errors: Error[] = [];
      let closes = 0;
      sub.on('error', (e) => errors.push(e));
      sub.on('close', () => (closes += 1));
      await flush();
      sub.close();
      transport.last().reject(new Error('ECONNREFUSED'));
      await flush();
      expect(errors).to.deep.equal([]);
      expect(closes).to.equal(1);
      expect(transport.calls).to.have.length(1);
    });

    it('is connected only while its socket is open', async function () {
      const sub = subscribe();
      expect(sub.connected).to.equal(false);
      await flush();
      const ws = transport.last().resolve();
      await flush();
      expect(ws.readyState).to.equal(0);
      expect(sub.connected).to.equal(false);
      ws.open();
      expect(sub.connected).to.equal(true);
    });
  });

  describe('a first connection that fails', function () {
    it('a transport error that is an LxdError is `ready`’s rejection as it is', async function () {
      const sub = subscribe();
      await flush();
      const refused = new LxdConnectionError('/x.socket', 'ECONNREFUSED', 'refused');
      transport.last().reject(refused);
      expect(await rejection(sub.ready)).to.equal(refused);
      expect(sub.isClosed).to.equal(true);
    });

    it('any other failure becomes an events error naming it, with the mapped error as cause', async function () {
      const sub = subscribe();
      await flush();
      transport.last().reject(new Error('socket hang up'));
      const err = await rejection(sub.ready);
      expect(err).to.be.instanceOf(LxdEventsError);
      expect(err.message).to.equal('events websocket: mapped: socket hang up');
      expect((err.cause as Error).message).to.equal('mapped: socket hang up');
    });

    it('a handshake that timed out is a timeout error of the default 10 s', async function () {
      const sub = subscribe();
      await flush();
      const ws = transport.last().resolve();
      await flush();
      ws.emit('error', new Error('Opening handshake has timed out'));
      ws.drop();
      const err = await rejection(sub.ready);
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err).to.have.property('timeoutMs', 10_000);
      expect(err.message).to.equal('events websocket: mapped: Opening handshake has timed out');
      expect((err.cause as Error).message).to.equal('mapped: Opening handshake has timed out');
    });

    it('an upgrade answered with an HTTP error: the socket is terminated and `ready` names the status', async function () {
      const sub = subscribe();
      await flush();
      const ws = transport.last().resolve();
      await flush();
      ws.emit('unexpected-response', {}, { statusCode: 403 });
      expect(ws.terminateCalls).to.equal(1);
      const err = await rejection(sub.ready);
      expect(err).to.be.instanceOf(LxdEventsError);
      expect(err.message).to.equal('events websocket refused: HTTP 403');
      expect(transport.calls).to.have.length(1);
    });

    it('the first error a socket reports is the one told, not a later one', async function () {
      const sub = subscribe();
      await flush();
      const ws = transport.last().resolve();
      await flush();
      ws.emit('error', new Error('first'));
      ws.emit('error', new Error('second'));
      ws.drop();
      expect((await rejection(sub.ready)).message).to.equal('events websocket: mapped: first');
    });

    it('a failure with no error listener ends it quietly, closing once', async function () {
      const sub = subscribe();
      let closes = 0;
      sub.on('close', () => (closes += 1));
      await flush();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        transport.last().reject(new Error('nope'));
        await flush();
        await flush();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
      expect(sub.isClosed).to.equal(true);
      sub.close();
      expect(closes).to.equal(1);
    });
  });

  describe('events', function () {
    it('a text or binary message that is an event is emitted; anything else is logged and skipped', async function () {
      const { sub, ws } = await opened();
      const got: LxdEvent[] = [];
      sub.on('event', (e) => got.push(e));
      ws.send('not an event');
      ws.send(logging('text'));
      ws.send(logging('binary'), true);
      expect(got.map(messageOf)).to.deep.equal(['text', 'binary']);
      expect(log.lines.filter((l) => l.level === 'debug').map((l) => l.msg)).to.deep.equal(['lxd events: ignored a message that is not an event']);
    });

    it('two iterators share one queue: what one took the other does not get', async function () {
      const { sub, ws } = await opened();
      const a = sub[Symbol.asyncIterator]();
      const b = sub[Symbol.asyncIterator]();
      const first = a.next();
      await flush();
      ws.send(logging('e1'));
      ws.send(logging('e2'));
      expect(messageOf((await first).value)).to.equal('e1');
      const second = await Promise.race([b.next(), flush().then(() => 'still waiting' as const)]);
      expect(second).not.to.equal('still waiting');
      expect(messageOf((second as IteratorResult<LxdEvent | EventGap>).value)).to.equal('e2');
    });

    it('events before the first iteration are not queued', async function () {
      const { sub, ws } = await opened();
      ws.send(logging('early'));
      const it = sub[Symbol.asyncIterator]();
      const next = it.next();
      await flush();
      ws.send(logging('late'));
      expect(messageOf((await next).value)).to.equal('late');
    });

    it('holds 10 000 events by default for a slow iterator, then drops the oldest tenth for a gap', async function () {
      const { ws, it } = await iterating();
      for (let i = 1; i <= 10_001; i++) ws.send(logging(`e${i}`));
      const gap = (await it.next()).value as EventGap;
      expect(gap.type).to.equal('gap');
      expect(gap.reason).to.equal('the consumer fell behind; 1000 events dropped');
      expect(messageOf((await it.next()).value)).to.equal('e1001');
    });

    it('an overflow that drops an earlier gap keeps that gap\'s start and count: the loss began at the first event dropped', async function () {
      const { ws, it } = await iterating({ maxBuffered: 4 });
      for (let i = 1; i <= 5; i++) ws.send(logging(`e${i}`, `2000-01-01T00:00:0${i}Z`));
      // e1 was dropped for a gap; the next overflow drops that gap and e2 (a gap is not an event)
      ws.send(logging('e6'));
      const gap = (await it.next()).value as EventGap;
      expect(gap.type).to.equal('gap');
      expect(gap.reason).to.equal('the consumer fell behind; 2 events dropped');
      expect(gap.since.toISOString()).to.equal('2000-01-01T00:00:01.000Z');
      expect(messageOf((await it.next()).value)).to.equal('e3');
    });

    it('a small maxBuffered still bounds the queue: at most maxBuffered events and one gap, whatever arrives', async function () {
      const { ws, it } = await iterating({ maxBuffered: 3 });
      for (let i = 1; i <= 200; i++) ws.send(logging(`e${i}`, `2000-01-01T00:00:00.${String(i).padStart(3, '0')}Z`));
      const gap = (await it.next()).value as EventGap;
      expect(gap.type).to.equal('gap');
      expect(gap.reason).to.equal('the consumer fell behind; 197 events dropped');
      expect(gap.since.toISOString()).to.equal('2000-01-01T00:00:00.001Z');
      const rest: string[] = [];
      for (let i = 0; i < 3; i++) rest.push(messageOf((await it.next()).value));
      expect(rest).to.deep.equal(['e198', 'e199', 'e200']);
    });

    it('maxBuffered 1 with a reconnect gap queued: the next event overflows past the gap, which passes its start on', async function () {
      Math.random = () => 0;
      const { sub, ws, it } = await iterating({ maxBuffered: 1, reconnect: { initialDelayMs: 10 } });
      ws.drop();
      await flush();
      await clock.tick(10);
      const ws2 = await accept();
      // the queue holds the reconnect gap alone; an event makes it overflow with no event before its end
      ws2.send(logging('e1'));
      await flush();
      const gap = (await it.next()).value as EventGap;
      expect(gap.type).to.equal('gap');
      expect(gap.reason).to.equal('the consumer fell behind; 0 events dropped');
      expect(messageOf((await it.next()).value)).to.equal('e1');
      expect(sub.isClosed).to.equal(false);
    });

    it('maxBuffered must be a whole number of at least 1, refused before any connection', async function () {
      const lxd = new LxdClient({ socketPath: '/nonexistent/lxdkit-spec.socket', useEvents: false });
      try {
        for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          expect(() => lxd.events.subscribe({ maxBuffered: bad }), String(bad)).to.throw(LxdValidationError, /maxBuffered/);
        }
      } finally {
        await lxd.close();
      }
    });
  });

  describe('liveness', function () {
    it('the watchdog is 35 s by default and does not keep the process alive', async function () {
      await opened();
      const watchdog = [...clock.timers.values()];
      expect(watchdog.map((t) => t.ms)).to.deep.equal([35_000]);
      expect(watchdog[0]!.refed).to.equal(false);
    });

    it('pings and messages re-arm the watchdog; silence terminates the socket, with a warning', async function () {
      const { ws } = await opened({ livenessTimeoutMs: 1_000 });
      for (let i = 0; i < 5; i++) {
        await clock.tick(600);
        if (i % 2) ws.send(logging(`e${i}`));
        else ws.emit('ping', Buffer.alloc(0));
      }
      expect(clock.pending()).to.deep.equal([1_000]);
      expect(ws.terminateCalls).to.equal(0);
      expect(warnings(SILENT)).to.deep.equal([]);
      await clock.tick(1_000);
      expect(ws.terminateCalls).to.equal(1);
      expect(warnings(SILENT).map((l) => l.obj)).to.deep.equal([{ livenessTimeoutMs: 1_000 }]);
    });

    it('a dropped connection stops its watchdog while the reconnect waits', async function () {
      Math.random = () => 0;
      const { ws } = await opened({ livenessTimeoutMs: 100, reconnect: { initialDelayMs: 10_000 } });
      ws.drop();
      await flush();
      expect(clock.pending()).to.deep.equal([2_500]);
      await clock.tick(1_000);
      expect(warnings(SILENT)).to.deep.equal([]);
    });

    it('close() stops the watchdog', async function () {
      const { sub } = await opened({ livenessTimeoutMs: 100 });
      sub.close();
      await clock.tick(1_000);
      expect(warnings(SILENT)).to.deep.equal([]);
      expect(clock.pending()).to.deep.equal([]);
    });
  });

  describe('reconnecting', function () {
    it('backs off from 100 ms, doubling up to 5 s, waiting half the delay plus a random part of the other half', async function () {
      Math.random = () => 0;
      const { sub, ws } = await opened();
      const disconnects: Error[] = [];
      sub.on('disconnect', (e) => disconnects.push(e));
      ws.drop();
      await flush();
      expect(clock.pending()).to.deep.equal([50]);
      for (let i = 0; i < 7; i++) {
        await clock.tick(10_000);
        transport.last().reject(new Error(`attempt ${i + 2} refused`));
        await flush();
      }
      expect(warnings(RECONNECTING).map((l) => l.obj)).to.deep.equal([
        { attempt: 1, delayMs: 50, err: 'events connection closed by the server' },
        { attempt: 2, delayMs: 100, err: 'mapped: attempt 2 refused' },
        { attempt: 3, delayMs: 200, err: 'mapped: attempt 3 refused' },
        { attempt: 4, delayMs: 400, err: 'mapped: attempt 4 refused' },
        { attempt: 5, delayMs: 800, err: 'mapped: attempt 5 refused' },
        { attempt: 6, delayMs: 1_600, err: 'mapped: attempt 6 refused' },
        { attempt: 7, delayMs: 2_500, err: 'mapped: attempt 7 refused' },
        { attempt: 8, delayMs: 2_500, err: 'mapped: attempt 8 refused' },
      ]);
      expect(disconnects.map((e) => e.message)).to.deep.equal(warnings(RECONNECTING).map((l) => (l.obj as { err: string }).err));
      expect(transport.calls).to.have.length(8);
    });

    it('the random part spreads over the second half of the delay, capped by maxDelayMs', async function () {
      Math.random = () => 0.5;
      const { sub, ws } = await opened({ reconnect: { initialDelayMs: 40, maxDelayMs: 100 } });
      ws.drop();
      await flush();
      for (let i = 0; i < 2; i++) {
        await clock.tick(1_000);
        transport.last().reject(new Error('refused'));
        await flush();
      }
      expect(warnings(RECONNECTING).map((l) => (l.obj as { delayMs: number }).delayMs)).to.deep.equal([30, 60, 75]);
      Math.random = () => 0.999;
      await clock.tick(1_000);
      transport.last().reject(new Error('refused'));
      await flush();
      expect(warnings(RECONNECTING).at(-1)!.obj).to.deep.include({ attempt: 4, delayMs: 100 });
      sub.close();
    });

    it('a successful reconnect starts the count again, with the shortest delay, and tells of one gap since the first drop', async function () {
      Math.random = () => 0;
      const { sub, ws } = await opened({ reconnect: { maxAttempts: 2, initialDelayMs: 100 } });
      const gaps: EventGap[] = [];
      const errors: Error[] = [];
      let opens = 0;
      sub.on('gap', (g) => gaps.push(g));
      sub.on('error', (e) => errors.push(e));
      sub.on('open', () => (opens += 1));
      const dropped = Date.now();
      ws.drop();
      const afterDrop = Date.now();
      await flush();
      const it = sub[Symbol.asyncIterator]();
      const firstItem = it.next();
      await flush();
      await clock.tick(50);
      // the first attempt fails later than the drop: the gap still starts at the drop
      while (Date.now() < afterDrop + 20) await new Promise((resolve) => realSetTimeout(resolve, 5));
      transport.last().reject(new Error('refused'));
      await flush();
      await clock.tick(100);
      const ws2 = await accept();
      expect(gaps).to.have.length(1);
      expect(gaps[0]!.since.getTime()).to.be.within(dropped, afterDrop);
      expect(gaps[0]!.until.getTime()).to.be.at.least(afterDrop + 20);
      expect(gaps[0]!.reason).to.equal('events connection was re-established');
      expect((await firstItem).value).to.equal(gaps[0]);
      const info = log.lines.filter((l) => l.level === 'info');
      expect(info).to.deep.equal([{ level: 'info', msg: 'lxd events: reconnected; events in between were lost', obj: { since: gaps[0]!.since.toISOString() } }]);
      expect(opens, 'the reconnect opened').to.equal(1);
      // dropped again: attempt 1 again, with the first delay, and two more attempts are allowed
      ws2.drop();
      await flush();
      expect(warnings(RECONNECTING).map((l) => (l.obj as { attempt: number; delayMs: number })).map((o) => [o.attempt, o.delayMs])).to.deep.equal([
        [1, 50],
        [2, 100],
        [1, 50],
      ]);
      await clock.tick(50);
      transport.last().reject(new Error('refused'));
      await flush();
      await clock.tick(100);
      const ws3 = await accept();
      expect(errors).to.deep.equal([]);
      expect(gaps).to.have.length(2);
      expect(gaps[1]!.since.getTime()).to.be.at.least(gaps[0]!.until.getTime());
      expect(sub.connected).to.equal(true);
      ws3.send(logging('after'));
      expect((await it.next()).value).to.equal(gaps[1]);
      expect(messageOf((await it.next()).value)).to.equal('after');
    });

    it('gives up after maxAttempts failed attempts in a row, saying how many, with the last error as cause', async function () {
      Math.random = () => 0;
      const { sub, ws } = await opened({ reconnect: { maxAttempts: 2, initialDelayMs: 10 } });
      const errors: Error[] = [];
      let disconnects = 0;
      sub.on('error', (e) => errors.push(e));
      sub.on('disconnect', () => (disconnects += 1));
      ws.drop();
      await flush();
      await clock.tick(1_000);
      transport.last().reject(new Error('refused 1'));
      await flush();
      expect(errors).to.deep.equal([]);
      await clock.tick(1_000);
      transport.last().reject(new Error('refused 2'));
      await flush();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(LxdEventsError);
      expect(errors[0]!.message).to.equal('events connection lost and 2 reconnect attempts failed: mapped: refused 2');
      expect((errors[0]!.cause as Error).message).to.equal('mapped: refused 2');
      expect(disconnects).to.equal(2);
      expect(transport.calls).to.have.length(3);
      expect(sub.isClosed).to.equal(true);
    });

    it('maxAttempts 0 ends it at the first drop', async function () {
      const { sub, ws } = await opened({ reconnect: { maxAttempts: 0 } });
      const errors: Error[] = [];
      sub.on('error', (e) => errors.push(e));
      ws.drop();
      await flush();
      expect(errors.map((e) => e.message)).to.deep.equal(['events connection lost and 0 reconnect attempts failed: events connection closed by the server']);
      expect(clock.pending()).to.deep.equal([]);
    });

    it('with reconnect off, a drop ends it with the error that dropped it as cause, and iterators throw it', async function () {
      const { sub, ws } = await opened({ reconnect: false });
      const errors: Error[] = [];
      sub.on('error', (e) => errors.push(e));
      const it = sub[Symbol.asyncIterator]();
      const thrown = rejection(it.next());
      await flush();
      ws.emit('error', new Error('ECONNRESET'));
      ws.drop();
      await flush();
      expect(errors).to.have.length(1);
      expect(errors[0]!.message).to.equal('events connection lost: mapped: ECONNRESET');
      expect((errors[0]!.cause as Error).message).to.equal('mapped: ECONNRESET');
      expect(await thrown).to.equal(errors[0]);
      expect(transport.calls).to.have.length(1);
    });

    it('close() while a reconnect waits: no new connection', async function () {
      const { sub, ws } = await opened({ reconnect: { initialDelayMs: 100 } });
      ws.drop();
      await flush();
      expect(clock.pending()).to.have.length(1);
      sub.close();
      expect(clock.pending()).to.deep.equal([]);
      await clock.tick(10_000);
      expect(transport.calls).to.have.length(1);
    });
  });

  describe('closing', function () {
    it('close() closes an open socket, and its close event starts no reconnect', async function () {
      const { sub, ws } = await opened();
      let disconnects = 0;
      sub.on('disconnect', () => (disconnects += 1));
      sub.close();
      expect(ws.closeCalls).to.equal(1);
      expect(sub.connected).to.equal(false);
      await flush();
      expect(ws.readyState).to.equal(3);
      await clock.tick(60_000);
      expect(disconnects).to.equal(0);
      expect(transport.calls).to.have.length(1);
    });

    it('close() closes a socket still connecting', async function () {
      const sub = subscribe();
      await flush();
      const ws = transport.last().resolve();
      await flush();
      sub.close();
      expect(ws.closeCalls).to.equal(1);
    });

    it('a second close(), or one after it failed, changes nothing: one close event', async function () {
      const { sub } = await opened();
      let closes = 0;
      sub.on('close', () => (closes += 1));
      sub.close();
      sub.close();
      expect(closes).to.equal(1);
      const other = subscribe({ reconnect: false });
      let otherCloses = 0;
      other.on('close', () => (otherCloses += 1));
      await flush();
      transport.last().reject(new Error('nope'));
      await flush();
      other.close();
      expect(otherCloses).to.equal(1);
    });

    it('aborting the signal closes it; close() removes its abort listener', async function () {
      const ac = new AbortController();
      const { sub } = await opened({ signal: ac.signal });
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(1);
      const ac2 = new AbortController();
      const { sub: sub2 } = await opened({ signal: ac2.signal });
      sub2.close();
      expect(getEventListeners(ac2.signal, 'abort')).to.have.length(0);
      ac.abort();
      expect(sub.isClosed).to.equal(true);
    });
  });

  it('a maxBuffered of 0 still delivers events to listeners and iterators', async function () {
    const { sub, ws } = await opened({ maxBuffered: 0 });
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    await flush();
    const heard: LxdEvent[] = [];
    sub.on('event', (e) => heard.push(e));
    ws.send(logging('e1'));
    ws.send(logging('e2'));
    expect(heard.map(messageOf)).to.deep.equal(['e1', 'e2']);
    const items = [(await first).value];
    for (let i = 0; i < 3; i++) items.push((await it.next()).value);
    expect(items.filter((e) => e?.type !== 'gap').map(messageOf)).to.deep.equal(['e1', 'e2']);
  });

  it('parseEvent keeps an unmodelled type unknown even when its metadata fits a modelled one', function () {
    const metadata = { message: 'm', level: 'info', context: {} };
    for (const type of ['ovn', 'brand-new']) {
      const e = parseEvent(JSON.stringify({ type, timestamp: '2000-01-01T00:00:00Z', metadata }));
      expect(e?.type, type).to.equal(type === 'ovn' ? 'ovn' : 'unknown');
    }
  });
});

