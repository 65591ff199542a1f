/**
 * Operations: event-driven waiting (subscribe before the request, as LXD's Go client does), falling back
 * to `/wait` with the body handling every LXD version needs, plus a final GET; progress metadata; a
 * deadline that is always honoured.
 */
import type { Logger } from '../logger.js';
import {
  LxdApiError,
  LxdNotFoundError,
  LxdOperationError,
  LxdResponseValidationError,
  LxdTimeoutError,
  isNotFound,
} from './errors.js';
import { EventSubscription } from './events.js';
import { lxdPath } from './path.js';
import { OperationSchema, type OperationData } from './schemas.js';
import { deadline, type Transport } from './transport.js';

export const DEFAULT_OPERATION_TIMEOUT_MS = 10 * 60_000;

/** Status codes at or above 200 are final (200 Success, 400 Failure, 401 Cancelled). */
export function isFinal(op: Pick<OperationData, 'status_code'>): boolean {
  return op.status_code >= 200;
}

export interface OperationProgress {
  /** The metadata key, e.g. `download_progress`, `create_instance_from_image_unpack_progress`. */
  stage: string;
  /** LXD's text, e.g. `rootfs: 45% (12.30MB/s)`. */
  text: string;
  percent?: number;
  metadata: Record<string, unknown>;
}

export interface WaitOptions {
  /** Deadline for the whole wait (default: the client's operationTimeoutMs, 10 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each progress update LXD reports (download, unpack, ...). */
  onProgress?: (progress: OperationProgress) => void;
}

/** Extracts progress entries from an operation's metadata. */
export function progressOf(metadata: Record<string, unknown> | null | undefined): OperationProgress[] {
  if (!metadata) return [];
  const out: OperationProgress[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.endsWith('progress')) continue;
    if (typeof value === 'string') {
      const m = /(\d+(?:\.\d+)?)%/.exec(value);
      out.push({ stage: key, text: value, ...(m ? { percent: Number(m[1]) } : {}), metadata });
    } else if (value && typeof value === 'object') {
      const v = value as { stage?: unknown; percent?: unknown; speed?: unknown };
      const percent = typeof v.percent === 'string' || typeof v.percent === 'number' ? Number(v.percent) : undefined;
      const stage = typeof v.stage === 'string' ? v.stage : key;
      out.push({ stage, text: `${stage}: ${percent ?? '?'}%${v.speed ? ` (${String(v.speed)})` : ''}`, ...(percent !== undefined && !Number.isNaN(percent) ? { percent } : {}), metadata });
    }
  }
  return out;
}

interface Tracked {
  latest: OperationData | undefined;
  listeners: Set<(op: OperationData | null) => void>;
  finishedAt: number | undefined;
}

/**
 * One shared `type=operation` events socket per client and project. Requests that may return an
 * operation take a lease first, so no event can be missed; the socket closes shortly after the last
 * tracked operation finishes, so it never keeps a process alive on its own.
 */
export class OperationsHub {
  private sub: EventSubscription | undefined;
  private connecting: Promise<EventSubscription | undefined> | undefined;
  private readonly ops = new Map<string, Tracked>();
  private leases = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private disabledUntil = 0;
  /** Bumped whenever events may have been lost (a reconnect): an operation started before must ask LXD. */
  generation = 0;

  constructor(
    private readonly transport: Transport,
    private readonly project: string | undefined,
    private readonly logger: Logger,
    private readonly useEvents: boolean,
  ) {}

  /** Takes a lease on the events socket; undefined when events are unavailable (then `/wait` is used). */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (!this.useEvents || Date.now() < this.disabledUntil) return false;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    this.leases += 1;
    const sub = await this.connect(signal);
    if (!sub) {
      this.leases -= 1;
      return false;
    }
    return true;
  }

  release(): void {
    if (this.leases === 0) return;
    this.leases -= 1;
    if (this.leases === 0 && this.sub && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.leases === 0) this.closeSocket();
      }, 250);
    }
  }

  private async connect(signal?: AbortSignal): Promise<EventSubscription | undefined> {
    if (this.sub?.connected) return this.sub;
    this.connecting ??= (async () => {
      const sub = new EventSubscription(
        this.transport,
        { types: ['operation'], project: this.project, reconnect: { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 2_000 }, connectTimeoutMs: 5_000 },
        this.logger,
      );
      sub.on('event', (e) => {
        if (e.type === 'operation') this.update(e.metadata as OperationData);
      });
      sub.on('gap', () => {
        this.generation += 1;
        void this.refreshAll();
      });
      sub.on('error', (err: Error) => {
        this.logger.warn({ err: err.message }, 'lxd operations: events socket failed; waiting falls back to /wait');
        if (this.sub === sub) this.sub = undefined;
        this.generation += 1;
        for (const t of this.ops.values()) for (const l of t.listeners) l(null);
      });
      try {
        await raceAbort(sub.ready, signal);
        this.sub = sub;
        return sub;
      } catch (err) {
        sub.close();
        if (signal?.aborted) throw signal.reason;
        this.disabledUntil = Date.now() + 5_000;
        this.logger.debug({ err: (err as Error).message }, 'lxd operations: events unavailable; using /wait');
        return undefined;
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private closeSocket(): void {
    this.sub?.close();
    this.sub = undefined;
    const cutoff = Date.now() - 60_000;
    for (const [id, t] of this.ops) if (t.listeners.size === 0 && (t.finishedAt ?? 0) < cutoff) this.ops.delete(id);
  }

  get eventsConnected(): boolean {
    return this.sub?.connected === true;
  }

  private tracked(id: string): Tracked {
    let t = this.ops.get(id);
    if (!t) {
      t = { latest: undefined, listeners: new Set(), finishedAt: undefined };
      this.ops.set(id, t);
    }
    return t;
  }

  /** Records a newer view of an operation (events arrive out of order: never go back from a final state). */
  update(op: OperationData): void {
    const t = this.tracked(op.id);
    if (t.latest && isFinal(t.latest) && !isFinal(op)) return;
    t.latest = op;
    if (isFinal(op)) t.finishedAt ??= Date.now();
    for (const l of t.listeners) l(op);
    if (this.ops.size > 1_000) {
      for (const [id, x] of this.ops) {
        if (this.ops.size <= 500) break;
        if (x.listeners.size === 0 && x.finishedAt !== undefined) this.ops.delete(id);
      }
    }
  }

  latest(id: string): OperationData | undefined {
    return this.ops.get(id)?.latest;
  }

  /** Registers a listener; it gets `null` when the state may have been missed (gap or failed socket). */
  listen(id: string, fn: (op: OperationData | null) => void): () => void {
    const t = this.tracked(id);
    t.listeners.add(fn);
    return () => t.listeners.delete(fn);
  }

  private async refreshAll(): Promise<void> {
    for (const t of this.ops.values()) {
      if (t.latest && isFinal(t.latest)) continue;
      if (t.listeners.size === 0) continue;
      for (const l of t.listeners) l(null);
    }
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.closeSocket();
  }
}

function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export interface OperationContext {
  transport: Transport;
  hub: OperationsHub;
  project: string | undefined;
  logger: Logger;
  operationTimeoutMs: number;
}

/** An LXD background operation. `await op.wait()` resolves to the final operation or throws. */
export class Operation {
  readonly id: string;
  private last: OperationData;
  private leased: boolean;
  private readonly generation: number | undefined;

  /**
   * @param leased the events socket was subscribed before the request was sent
   * @param generation the hub's generation when it was subscribed (events since then are all seen
   *   unless it changed)
   */
  constructor(
    private readonly ctx: OperationContext,
    initial: OperationData,
    leased: boolean,
    generation?: number,
  ) {
    this.generation = leased ? generation : undefined;
    this.id = initial.id;
    this.last = initial;
    this.leased = leased;
    if (leased) {
      const seen = ctx.hub.latest(initial.id);
      if (seen && (isFinal(seen) || !isFinal(initial))) this.last = seen;
      ctx.hub.update(this.last);
      if (isFinal(this.last)) this.releaseLease();
      else {
        // keep the state current even before wait() is called: LXD forgets finished operations after 5 s
        const stop = ctx.hub.listen(this.id, (op) => {
          if (!op) return;
          this.observe(op);
          if (isFinal(op)) {
            stop();
            this.releaseLease();
          }
        });
      }
    }
  }

  /** An already-finished operation (used when an endpoint that may be async answered synchronously). */
  static completed(ctx: OperationContext, description: string, metadata: Record<string, unknown> | null): Operation {
    const now = new Date().toISOString();
    return new Operation(ctx, { id: '', class: 'task', description, created_at: now, updated_at: now, status: 'Success', status_code: 200, resources: null, metadata, may_cancel: false, err: '' }, false);
  }

  /** The last state seen (from the create response, events, or a GET). */
  get current(): OperationData {
    return this.last;
  }

  get url(): string {
    return `/1.0/operations/${this.id}`;
  }

  private releaseLease(): void {
    if (this.leased) {
      this.leased = false;
      this.ctx.hub.release();
    }
  }

  private query(): Record<string, string | undefined> {
    return { project: this.ctx.project };
  }

  /** GET /1.0/operations/{id}. */
  async refresh(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<OperationData> {
    const res = await this.ctx.transport.request('GET', lxdPath`/1.0/operations/${this.id}`, { query: this.query(), signal: opts.signal, timeoutMs: opts.timeoutMs });
    const op = parseOperation('GET', this.url, res.envelope.metadata);
    this.observe(op);
    return op;
  }

  /** Cancels the operation (LXD allows it only when `may_cancel` is true). */
  async cancel(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    await this.ctx.transport.request('DELETE', lxdPath`/1.0/operations/${this.id}`, { query: this.query(), signal: opts.signal, timeoutMs: opts.timeoutMs });
  }

  private observe(op: OperationData): void {
    if (isFinal(this.last) && !isFinal(op)) return;
    this.last = op;
  }

  private settle(): OperationData {
    if (this.last.status_code === 200) return this.last;
    throw new LxdOperationError(this.last);
  }

  /**
   * Waits until the operation finishes. Resolves to the final operation on Success; throws
   * `LxdOperationError` (with LXD's `err` text) on Failure or Cancelled, `LxdTimeoutError` at the deadline.
   */
  async wait(opts: WaitOptions = {}): Promise<OperationData> {
    try {
      if (isFinal(this.last) || this.id === '') return this.settle();
      const timeoutMs = opts.timeoutMs ?? this.ctx.operationTimeoutMs;
      const dl = deadline(opts.signal, timeoutMs);
      const reportedProgress = new Map<string, string>();
      const report = (op: OperationData): void => {
        if (!opts.onProgress) return;
        for (const p of progressOf(op.metadata)) {
          if (reportedProgress.get(p.stage) === p.text) continue;
          reportedProgress.set(p.stage, p.text);
          try {
            opts.onProgress(p);
          } catch {
            // a progress callback must not break the wait
          }
        }
      };
      report(this.last);
      try {
        if (this.leased && this.ctx.hub.eventsConnected) {
          const done = await this.waitEvents(dl.signal, report);
          if (done) return this.settle();
        }
        await this.waitLongPoll(dl.signal, report);
        return this.settle();
      } catch (err) {
        if (dl.timedOut()) {
          throw new LxdTimeoutError(
            `operation ${this.id} (${this.last.description || 'no description'}) did not finish within ${timeoutMs} ms; it may still be running on the server (cancel it with client.operations.cancel("${this.id}"))`,
            { timeoutMs, method: 'GET', path: this.url },
            { cause: err },
          );
        }
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw err;
      } finally {
        dl.clear();
      }
    } finally {
      this.releaseLease();
    }
  }

  /** Event-driven: true when a final state arrived; false when the events socket failed (fall back). */
  private waitEvents(signal: AbortSignal, report: (op: OperationData) => void): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let settled = false;
      const finish = (v: boolean | Error): void => {
        if (settled) return;
        settled = true;
        stop();
        signal.removeEventListener('abort', onAbort);
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      const check = (op: OperationData | null): void => {
        if (op) {
          this.observe(op);
          report(this.last);
          if (isFinal(this.last)) finish(true);
          return;
        }
        // a gap or a failed events socket: confirm with a GET
        if (!this.ctx.hub.eventsConnected) {
          void this.refresh({ signal })
            .then((fresh) => {
              report(fresh);
              finish(isFinal(fresh) ? true : false);
            })
            .catch((err: unknown) => finish(isNotFound(err) ? false : (err as Error)));
          return;
        }
        void this.refresh({ signal })
          .then((fresh) => {
            report(fresh);
            if (isFinal(fresh)) finish(true);
          })
          .catch(() => {});
      };
      const stop = this.ctx.hub.listen(this.id, check);
      signal.addEventListener('abort', onAbort, { once: true });
      // Every event since the subscription is in the hub, so nothing was missed before this listener;
      // ask LXD only when the subscription may have lost events since (a reconnect) or its age is unknown.
      const seen = this.ctx.hub.latest(this.id);
      if (seen) check(seen);
      if (!settled && this.generation !== this.ctx.hub.generation) {
        void this.refresh({ signal })
          .then((fresh) => {
            this.ctx.hub.update(fresh);
          })
          .catch(() => {});
      }
    });
  }

  /**
   * `/wait` long-polling. LXD 5.0.2 answers 200 with the operation (still Running when the wait timed
   * out); LXD 5.0.3 … 6.9 answer HTTP 200 with an *error envelope* on failure or timeout, so the body
   * decides and a GET confirms. A final GET confirms success.
   */
  private async waitLongPoll(signal: AbortSignal, report: (op: OperationData) => void): Promise<void> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      try {
        const res = await this.ctx.transport.request('GET', lxdPath`/1.0/operations/${this.id}/wait`, {
          query: { ...this.query(), timeout: 5 },
          signal,
          timeoutMs: 5_000 + 30_000,
        });
        const op = parseOperation('GET', `${this.url}/wait`, res.envelope.metadata);
        this.observe(op);
        report(this.last);
      } catch (err) {
        if (err instanceof LxdApiError && err.status === 200) {
          // an error envelope on a 200: failed or timed out; the operation itself says which
          await this.confirm(signal, report);
        } else if (isNotFound(err)) {
          await this.confirm(signal, report);
          if (!isFinal(this.last)) {
            throw new LxdNotFoundError({ status: 404, errorCode: 404, method: 'GET', path: this.url, project: this.ctx.project, lxdMessage: `operation ${this.id} no longer exists on the server and its outcome was not seen (LXD forgets finished operations after 5 s)` });
          }
        } else {
          throw err;
        }
      }
      if (isFinal(this.last)) {
        await this.confirm(signal, report);
        return;
      }
    }
  }

  private async confirm(signal: AbortSignal, report: (op: OperationData) => void): Promise<void> {
    try {
      const op = await this.refresh({ signal });
      report(op);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function parseOperation(method: string, path: string, metadata: unknown): OperationData {
  const parsed = OperationSchema.safeParse(metadata);
  if (!parsed.success) throw new LxdResponseValidationError(method, path, parsed.error.issues);
  return parsed.data;
}
