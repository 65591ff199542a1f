/**
 * The `/1.0/events` websocket: type and project filters, listeners and an async iterator, pongs to LXD's
 * pings (ws answers them), a liveness watchdog, and reconnection with jittered backoff that tells
 * subscribers a gap occurred (LXD has no replay: re-list what you track when you see one).
 */
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import type { Logger } from '../logger.js';
import { LxdError, LxdEventsError, LxdTimeoutError } from './errors.js';
import {
  EventSchema,
  LifecycleMetadataSchema,
  LoggingMetadataSchema,
  OperationSchema,
  type LxdEvent,
} from './schemas.js';
import type { Transport } from './transport.js';

/**
 * The `type` of an event of `/1.0/events`: `operation`, `logging`, `lifecycle`, or one lxdkit does not model.
 */
export type EventType = 'operation' | 'logging' | 'lifecycle' | (string & {});

/** Sent to subscribers after a reconnect: events between `since` and `until` were lost. */
export interface EventGap {
  type: 'gap';
  since: Date;
  until: Date;
  reason: string;
}

/**
 * How a subscription reconnects after its websocket drops: delays double, with jitter, from `initialDelayMs` (default 100 ms) up to `maxDelayMs` (default 5000 ms).
 */
export interface ReconnectOptions {
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Options of `client.events.subscribe()`: the event types, the project (or every one), reconnects, a signal.
 */
export interface SubscribeOptions {
  /** Event types to receive; all types when omitted. */
  types?: EventType[];
  /** Project to watch (defaults to the client's project). */
  project?: string;
  /** Watch every project (`all-projects=true`). */
  allProjects?: boolean;
  signal?: AbortSignal;
  /** Reconnect after the connection drops (default true). */
  reconnect?: boolean | ReconnectOptions;
  /** Deadline for each websocket handshake (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect when nothing (not even a ping) arrived for this long (default 35 s; LXD pings every 10 s). */
  livenessTimeoutMs?: number;
  /** Most events buffered for the async iterator before older ones are dropped (a gap is reported). */
  maxBuffered?: number;
}

type Item = LxdEvent | EventGap;

/** The events an {@link EventSubscription} emits, for typed `on()` listeners. */
export interface EventSubscriptionEvents {
  /** One parsed event. */
  event: [event: LxdEvent];
  /** The connection was re-established; events between `since` and `until` were lost. */
  gap: [gap: EventGap];
  /** The connection dropped; a reconnect is scheduled. */
  disconnect: [err: Error];
  /** The subscription failed for good (never connected, or reconnecting gave up). */
  error: [err: Error];
  open: [];
  close: [];
}

/** Parses one websocket message into a typed event; undefined when it is not an event. */
export function parseEvent(raw: string): LxdEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  }
  // Stryker disable next-line BlockStatement: without the return, json stays undefined, which EventSchema.safeParse refuses, so parseEvent still returns undefined
  catch {
    return undefined;
  }
  const base = EventSchema.safeParse(json);
  if (!base.success) return undefined;
  const e = base.data;
  const common = {
    timestamp: e.timestamp,
    location: e.location,
    project: e.project,
  };
  if (e.type === 'operation') {
    const m = OperationSchema.safeParse(e.metadata);
    if (m.success) return { type: 'operation', metadata: m.data, ...common };
  } else if (e.type === 'lifecycle') {
    const m = LifecycleMetadataSchema.safeParse(e.metadata);
    if (m.success) return { type: 'lifecycle', metadata: m.data, ...common };
  } else if (e.type === 'logging') {
    const m = LoggingMetadataSchema.safeParse(e.metadata);
    if (m.success) return { type: 'logging', metadata: m.data, ...common };
  }
  if (e.type === 'ovn' || e.type === 'security' || e.type === 'network-acl') return { type: e.type, metadata: e.metadata, ...common };
  return { type: 'unknown', eventType: e.type, metadata: e.metadata, ...common };
}

/**
 * One events websocket. Listen with `on('event' | 'gap' | 'error' | 'open' | 'close')` or iterate
 * with `for await`. Call `close()` (or abort the signal) when done: an open subscription keeps the
 * process alive.
 */
export class EventSubscription extends EventEmitter<EventSubscriptionEvents> implements AsyncIterable<Item> {
  /** Resolves once the first connection is upgraded (events flow from then on); rejects if it fails. */
  readonly ready: Promise<void>;
  private ws: WebSocket | undefined;
  private closed = false;
  private everOpened = false;
  private attempts = 0;
  private lostAt: Date | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private queue: Item[] | undefined;
  /** How many events each overflow gap in the queue stands for (a later overflow that drops it carries them on). */
  private readonly gapDropped = new WeakMap<EventGap, number>();
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private readonly onAbort = (): void => this.close();

  /**
   * @internal made by `client.events.subscribe()`
   * @param opts.before runs before the first connection (the client checks that the project exists); a
   *   failure fails the subscription
   */
  constructor(
    private readonly transport: Transport,
    private readonly opts: SubscribeOptions & { project?: string | undefined; before?: (() => Promise<void>) | undefined },
    private readonly logger: Logger,
  ) {
    super();
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    if (opts.signal?.aborted) {
      this.closed = true;
      this.rejectReady(new LxdEventsError('subscription aborted before it connected'));
      return;
    }
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal fires 'abort' only once, and shutdown() removes the listener anyway
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (!opts.before) {
      this.connect();
      return;
    }
    opts.before().then(
      () => {
        if (!this.closed) this.connect();
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new LxdEventsError(String(err))),
    );
  }

  get connected(): boolean {
    return this.ws?.readyState === 1;
  }

  /** True once `close()` ran or the subscription failed for good. */
  get isClosed(): boolean {
    return this.closed;
  }

  private reconnectOptions(): ReconnectOptions | undefined {
    const r = this.opts.reconnect ?? true;
    if (r === false) return undefined;
    return r === true ? {} : r;
  }

  private query(): Record<string, string | undefined> {
    return {
      type: this.opts.types?.length ? this.opts.types.join(',') : undefined,
      ...(this.opts.allProjects ? { 'all-projects': 'true' } : { project: this.opts.project }),
    };
  }

  private armWatchdog(): void {
    // Stryker disable next-line ConditionalExpression: clearing an undefined timer does nothing, so `true` is the same (`false` leaves old watchdogs running, which events-subscription.spec.ts catches)
    if (this.watchdog) clearTimeout(this.watchdog);
    const ms = this.opts.livenessTimeoutMs ?? 35_000;
    this.watchdog = setTimeout(() => {
      this.logger.warn({ livenessTimeoutMs: ms }, 'lxd events: no ping from the server; reconnecting');
      this.ws?.terminate();
    }, ms);
    this.watchdog.unref();
  }

  private connect(): void {
    this.transport.websocket('/1.0/events', this.query(), this.opts.connectTimeoutMs ?? 10_000).then(
      (ws) => {
        if (!this.closed) {
          this.attach(ws);
          return;
        }
        // Closed while it connected: ws reports terminating a connecting socket as an 'error', which
        // would be thrown (uncaught) without a listener.
        ws.on('error', () => {});
        ws.terminate();
      },
      (err: unknown) => this.onDown(this.transport.websocketError(err)),
    );
  }

  private attach(ws: WebSocket): void {
    this.ws = ws;
    let errored: Error | undefined;
    ws.on('open', () => {
      this.attempts = 0;
      this.armWatchdog();
      if (!this.everOpened) {
        this.everOpened = true;
        this.resolveReady();
      } else if (this.lostAt) {
        const gap: EventGap = { type: 'gap', since: this.lostAt, until: new Date(), reason: 'events connection was re-established' };
        this.lostAt = undefined;
        this.logger.info({ since: gap.since.toISOString() }, 'lxd events: reconnected; events in between were lost');
        this.push(gap);
        this.emit('gap', gap);
      }
      this.emit('open');
    });
    ws.on('ping', () => this.armWatchdog());
    ws.on('message', (data, isBinary) => {
      this.armWatchdog();
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      const event = parseEvent(text);
      if (!event) {
        this.logger.debug('lxd events: ignored a message that is not an event');
        return;
      }
      this.push(event);
      this.emit('event', event);
    });
    ws.on('unexpected-response', (_req, res) => {
      errored = new LxdEventsError(`events websocket refused: HTTP ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', (err) => {
      errored ??= this.transport.websocketError(err);
    });
    ws.on('close', () => {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: the held socket is the one closing (no other is attached before it closed, and shutdown() already let it go), and a CLOSED socket held or not reads the same to `connected` and to shutdown()'s readyState check
      if (this.ws === ws) this.ws = undefined;
      // Stryker disable next-line ConditionalExpression: clearing an undefined timer does nothing, so `true` is the same (`false` is caught by events-subscription.spec.ts)
      if (this.watchdog) clearTimeout(this.watchdog);
      this.onDown(errored ?? new LxdEventsError('events connection closed by the server'));
    });
  }

  private onDown(err: Error): void {
    if (this.closed) return;
    if (!this.everOpened) {
      // ws says "Opening handshake has timed out" when its handshakeTimeout fires; a TLS refusal
      // ("… handshake failure", a certificate error) is a connection error, mapped by the transport.
      this.fail(
        LxdError.is(err) ? err
          : /opening handshake has timed out/i.test(err.message)
            ? new LxdTimeoutError(`events websocket: ${err.message}`, { timeoutMs: this.opts.connectTimeoutMs ?? 10_000 }, { cause: err })
            : new LxdEventsError(`events websocket: ${err.message}`, { cause: err }),
      );
      return;
    }
    const r = this.reconnectOptions();
    if (!r) {
      this.fail(new LxdEventsError(`events connection lost: ${err.message}`, { cause: err }));
      return;
    }
    this.lostAt ??= new Date();
    this.attempts += 1;
    if (r.maxAttempts !== undefined && this.attempts > r.maxAttempts) {
      this.fail(new LxdEventsError(`events connection lost and ${r.maxAttempts} reconnect attempts failed: ${err.message}`, { cause: err }));
      return;
    }
    const base = Math.min((r.initialDelayMs ?? 100) * 2 ** (this.attempts - 1), r.maxDelayMs ?? 5_000);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.logger.warn({ attempt: this.attempts, delayMs: delay, err: err.message }, 'lxd events: connection lost; reconnecting');
    this.emit('disconnect', err);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.rejectReady(err);
    this.shutdown();
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private push(item: Item): void {
    if (!this.queue) return;
    const max = this.opts.maxBuffered ?? 10_000;
    if (this.queue.length >= max) {
      // The oldest tenth of the events goes (at least one), with any gap among them: an earlier
      // overflow's, or a reconnect's. The new gap starts where the first item dropped did and carries
      // on what a dropped gap had lost; so the queue never holds more than `max` events and one gap.
      const tenth = Math.ceil(max / 10);
      let cut = 0;
      for (let taken = 0; cut < this.queue.length && taken < tenth; cut++) {
        if (this.queue[cut]!.type !== 'gap') taken++;
      }
      const dropped = this.queue.splice(0, cut);
      let since: Date | undefined;
      let events = 0;
      for (const item of dropped) {
        if (item.type === 'gap') {
          since ??= (item as EventGap).since;
          events += this.gapDropped.get(item as EventGap) ?? 0;
        } else {
          since ??= new Date((item as LxdEvent).timestamp);
          events++;
        }
      }
      const gap: EventGap = { type: 'gap', since: since ?? new Date(), until: new Date(), reason: `the consumer fell behind; ${events} events dropped` };
      this.gapDropped.set(gap, events);
      this.queue.unshift(gap);
    }
    this.queue.push(item);
    this.wake?.();
  }

  private shutdown(): void {
    this.closed = true;
    // Stryker disable next-line ConditionalExpression: clearing an undefined timer does nothing, so `true` is the same (`false` is caught by events-subscription.spec.ts)
    if (this.watchdog) clearTimeout(this.watchdog);
    // Stryker disable next-line ConditionalExpression: clearing an undefined (or already fired) timer does nothing, so `true` is the same (`false` is caught by events-subscription.spec.ts)
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    const ws = this.ws;
    this.ws = undefined;
    // Stryker disable next-line ConditionalExpression: the held socket is CLOSING or CLOSED only after terminate(), and ws's close() does nothing then (no close frame was sent), so `true` for the readyState check is the same (the other variants are caught by events-subscription.spec.ts)
    if (ws && ws.readyState <= 1) ws.close();
    this.wake?.();
    this.emit('close');
  }

  /** Closes the websocket; iterators end. */
  close(): void {
    if (this.closed) return;
    // Stryker disable next-line ConditionalExpression: once opened, `ready` has resolved and rejecting it does nothing, so `true` is the same
    if (!this.everOpened) this.rejectReady(new LxdEventsError('subscription closed before it connected'));
    this.shutdown();
  }

  /**
   * `for await`: each event and gap, in order, from the moment of the first call (earlier ones are not
   * queued). Ends when the subscription closes, throws what failed it; leaving the loop closes it.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Item> {
    this.queue ??= [];
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}
