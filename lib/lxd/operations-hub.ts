/**
 * One shared `type=operation` events websocket per client and project, as LXD's Go client keeps one
 * listener per project. Requests that may return an operation take a lease first, so no event of theirs
 * can be missed; the socket closes shortly after the last lease ends, so it never keeps a process alive
 * on its own.
 */
import { abortable } from '../deadline.js';
import type { Logger } from '../logger.js';
import { EventSubscription } from './events.js';
import type { OperationData } from './schemas.js';
import type { Transport } from './transport.js';

/** Status codes at or above 200 are final (200 Success, 400 Failure, 401 Cancelled). */
export function isFinal(op: Pick<OperationData, 'status_code'>): boolean {
  return op.status_code >= 200;
}

/**
 * What a listener hears: a newer state of its operation, or `null` when events may have been missed
 * (the socket dropped, reconnected, or failed for good): then it must ask LXD.
 */
export type HubListener = (op: OperationData | null) => void;

interface Tracked {
  latest: OperationData | undefined;
  listeners: Set<HubListener>;
  finishedAt: number | undefined;
}

const IDLE_CLOSE_MS = 250;
const MAX_TRACKED = 1_000;

export class OperationsHub {
  #sub: EventSubscription | undefined;
  /** The first connection of `#sub`, while it is being made. */
  #connecting: Promise<boolean> | undefined;
  readonly #ops = new Map<string, Tracked>();
  #leases = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  /** After the events socket was refused, waits use `/wait` for a while instead of retrying it. */
  #disabledUntil = 0;
  #closed = false;
  /** Bumped whenever events may have been lost: an operation leased before must ask LXD. */
  generation = 0;

  constructor(
    private readonly transport: Transport,
    private readonly project: string | undefined,
    private readonly logger: Logger,
    private readonly useEvents: boolean,
  ) {}

  /**
   * Takes a lease on the events socket. False when events are unavailable (waits then use `/wait`).
   * A subscription that is reconnecting is reused: a client never holds two.
   */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (!this.useEvents || this.#closed || Date.now() < this.#disabledUntil) return false;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#leases += 1;
    let ok = false;
    try {
      ok = this.#sub !== undefined && this.#connecting === undefined ? true : await abortable((this.#connecting ??= this.#connect()), signal);
    } finally {
      if (!ok) this.release();
    }
    return ok;
  }

  release(): void {
    if (this.#leases === 0) return;
    this.#leases -= 1;
    this.#closeWhenIdle();
  }

  #closeWhenIdle(): void {
    if (this.#leases === 0 && this.#sub && !this.#idleTimer) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = undefined;
        if (this.#leases === 0) this.#closeSocket();
      }, IDLE_CLOSE_MS);
    }
  }

  async #connect(): Promise<boolean> {
    const sub = new EventSubscription(
      this.transport,
      // No limit on reconnect attempts: leases end with their waits' deadlines, and the last one closes it.
      { types: ['operation'], project: this.project, reconnect: { initialDelayMs: 200, maxDelayMs: 2_000 }, connectTimeoutMs: 5_000 },
      this.logger,
    );
    this.#sub = sub;
    sub.on('event', (e) => {
      if (e.type === 'operation') this.update(e.metadata);
    });
    const missed = (): void => {
      this.generation += 1;
      this.#notifyAll(null);
    };
    sub.on('disconnect', missed);
    sub.on('gap', missed);
    sub.on('error', (err) => {
      this.logger.warn({ err: err.message }, 'lxd operations: events socket failed; waiting falls back to /wait');
      if (this.#sub === sub) this.#sub = undefined;
      missed();
    });
    try {
      await sub.ready;
      if (this.#closed) sub.close();
      // Every caller may have given up (aborted) while it connected.
      this.#closeWhenIdle();
      return !this.#closed;
    } catch (err) {
      sub.close();
      if (this.#sub === sub) this.#sub = undefined;
      this.#disabledUntil = Date.now() + 5_000;
      this.logger.debug({ err: (err as Error).message }, 'lxd operations: events unavailable; using /wait');
      return false;
    } finally {
      this.#connecting = undefined;
    }
  }

  #closeSocket(): void {
    this.#sub?.close();
    this.#sub = undefined;
    const cutoff = Date.now() - 60_000;
    for (const [id, t] of this.#ops) if (t.listeners.size === 0 && (t.finishedAt ?? 0) < cutoff) this.#ops.delete(id);
  }

  /** True while a subscription exists, connected or reconnecting: its events (or its gap) will come. */
  get listening(): boolean {
    return this.#sub !== undefined && !this.#sub.isClosed;
  }

  #tracked(id: string): Tracked {
    let t = this.#ops.get(id);
    if (!t) {
      t = { latest: undefined, listeners: new Set(), finishedAt: undefined };
      this.#ops.set(id, t);
    }
    return t;
  }

  /** Records a newer view of an operation (events arrive out of order: never go back from a final state). */
  update(op: OperationData): void {
    const t = this.#tracked(op.id);
    if (t.latest && isFinal(t.latest) && !isFinal(op)) return;
    t.latest = op;
    if (isFinal(op)) t.finishedAt ??= Date.now();
    for (const l of t.listeners) l(op);
    if (this.#ops.size > MAX_TRACKED) {
      for (const [id, x] of this.#ops) {
        if (this.#ops.size <= MAX_TRACKED / 2) break;
        if (x.listeners.size === 0 && x.finishedAt !== undefined) this.#ops.delete(id);
      }
    }
  }

  latest(id: string): OperationData | undefined {
    return this.#ops.get(id)?.latest;
  }

  /** Registers a listener for one operation; returns the function that removes it. */
  listen(id: string, fn: HubListener): () => void {
    const t = this.#tracked(id);
    t.listeners.add(fn);
    return () => t.listeners.delete(fn);
  }

  #notifyAll(op: null): void {
    for (const t of this.#ops.values()) {
      if (t.latest && isFinal(t.latest)) continue;
      for (const l of t.listeners) l(op);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the socket for good; listeners hear `null` and find the client closed. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#closeSocket();
    this.#notifyAll(null);
  }
}
