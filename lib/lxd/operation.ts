/**
 * Operations: waiting driven by events (subscribed before the request, as LXD's Go client does), or by
 * `/wait` long-polls with the body handling every LXD version needs; a deadline that is always honoured;
 * and a daemon that goes away mid-wait is waited for, with back-off, until the deadline.
 */
import { deadline, isValidTimeout, sleep } from '../deadline.js';
import type { Logger } from '../logger.js';
import {
  LxdApiError,
  LxdConnectionError,
  LxdOperationError,
  LxdOperationLostError,
  LxdResponseValidationError,
  LxdTimeoutError,
  LxdValidationError,
  isMemberUnreachable,
  isNotFound,
} from './errors.js';
import { isFinal, type OperationsHub } from './operations-hub.js';
import { lxdPath } from './path.js';
import { OperationSchema, type OperationData } from './schemas.js';
import type { Transport } from './transport.js';

export { isFinal } from './operations-hub.js';

/** The default deadline of an operation's wait and of a transfer: 10 minutes, in milliseconds. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10 * 60_000;

/**
 * One progress report of an operation, read from its metadata (`percent` 0 to 100 when LXD's text has one).
 */
export interface OperationProgress {
  /** The metadata key, e.g. `download_progress`, `create_instance_from_image_unpack_progress`. */
  stage: string;
  /** LXD's text, e.g. `rootfs: 45% (12.30MB/s)`. */
  text: string;
  percent?: number;
  metadata: Record<string, unknown>;
}

/** Options of `Operation.wait()`: a deadline, a signal, a progress callback. */
export interface WaitOptions {
  /** Deadline for the whole wait (default: the client's operationTimeoutMs, 10 minutes). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called with each progress update LXD reports (download, unpack, ...). */
  onProgress?: ((progress: OperationProgress) => void) | undefined;
}

/** Extracts progress entries from an operation's metadata. */
export function progressOf(metadata: Record<string, unknown> | null | undefined): OperationProgress[] {
  if (!metadata) return [];
  const out: OperationProgress[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.endsWith('progress')) continue;
    if (typeof value === 'string') {
      const m = /(\d+(?:\.\d+)?)%/.exec(value);
      out.push({ stage: key, text: value, percent: m ? Number(m[1]) : undefined, metadata });
    } else if (value && typeof value === 'object') {
      const v = value as { stage?: unknown; percent?: unknown; speed?: unknown };
      const percent = typeof v.percent === 'string' || typeof v.percent === 'number' ? Number(v.percent) : undefined;
      const stage = typeof v.stage === 'string' ? v.stage : key;
      // a percent that is not a number (`'lots'`) is none; an undefined one stays undefined
      out.push({ stage, text: `${stage}: ${percent ?? '?'}%${v.speed ? ` (${String(v.speed)})` : ''}`, percent: Number.isNaN(percent) ? undefined : percent, metadata });
    }
  }
  return out;
}

/** A function that reports each new progress text of an operation once. */
function progressReporter(onProgress: WaitOptions['onProgress']): (op: OperationData) => void {
  if (!onProgress) return () => {};
  const reported = new Map<string, string>();
  return (op) => {
    for (const p of progressOf(op.metadata)) {
      if (reported.get(p.stage) === p.text) continue;
      reported.set(p.stage, p.text);
      try {
        onProgress(p);
      } catch {
        // a progress callback must not break the wait
      }
    }
  };
}

/** LXD could not be reached (a daemon restart, a dropped connection): worth trying again later. */
function isUnreachable(err: unknown): boolean {
  return err instanceof LxdConnectionError;
}

const RETRY_INITIAL_MS = 200;
const RETRY_MAX_MS = 2_000;
/** How long one `/wait` long-poll asks LXD to hold the request. */
const LONG_POLL_S = 5;
/**
 * How often an event-driven wait asks LXD about an operation that runs on a cluster member: when that
 * member dies, the events of the member the client talks to just stop carrying the operation.
 */
const MEMBER_CHECK_MS = 5_000;

/** @internal what an operation needs from the client that made it */
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
  #last: OperationData;
  #leased: boolean;
  readonly #generation: number | undefined;
  /** Events were missed at some point (a dropped or re-established socket). */
  #gapSeen = false;

  /**
   * @internal made by the client's resources
   * @param leased the events socket was subscribed before the request was sent
   * @param generation the hub's generation when it was subscribed (every event since then was seen
   *   unless it changed)
   */
  constructor(
    private readonly ctx: OperationContext,
    initial: OperationData,
    leased: boolean,
    generation?: number,
  ) {
    this.#generation = leased ? generation : undefined;
    this.id = initial.id;
    this.#last = initial;
    this.#leased = leased;
    if (!leased) return;
    const seen = ctx.hub.latest(initial.id);
    if (seen && (isFinal(seen) || !isFinal(initial))) this.#last = seen;
    ctx.hub.update(this.#last);
    if (isFinal(this.#last)) {
      this.#releaseLease();
      return;
    }
    // Keep the state current even before wait() is called: LXD forgets finished operations after 5 s.
    const stop = ctx.hub.listen(this.id, (op) => {
      if (!op) return;
      this.#observe(op);
      if (isFinal(op)) {
        stop();
        this.#releaseLease();
      }
    });
  }

  /** @internal An already-finished operation (used when an endpoint that may be async answered synchronously). */
  static completed(ctx: OperationContext, description: string, metadata: Record<string, unknown> | null): Operation {
    const now = new Date().toISOString();
    return new Operation(ctx, { id: '', class: 'task', description, created_at: now, updated_at: now, status: 'Success', status_code: 200, resources: null, metadata, may_cancel: false, err: '' }, false);
  }

  /** The last state seen (from the create response, events, or a GET). */
  get current(): OperationData {
    return this.#last;
  }

  get url(): string {
    return `/1.0/operations/${this.id}`;
  }

  /** The cluster member the operation runs on (`location`); undefined on a server that is not clustered. */
  get member(): string | undefined {
    const where = this.#last.location;
    return !where || where === 'none' ? undefined : where;
  }

  #releaseLease(): void {
    if (this.#leased) {
      this.#leased = false;
      this.ctx.hub.release();
    }
  }

  /** GET /1.0/operations/{id}. */
  async refresh(opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {}): Promise<OperationData> {
    const res = await this.ctx.transport.request('GET', lxdPath`/1.0/operations/${this.id}`, { query: { project: this.ctx.project }, signal: opts.signal, timeoutMs: opts.timeoutMs });
    const op = parseOperation('GET', this.url, res.envelope.metadata);
    this.#observe(op);
    return op;
  }

  /** Cancels the operation (LXD allows it only when `may_cancel` is true). */
  async cancel(opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {}): Promise<void> {
    await this.ctx.transport.request('DELETE', lxdPath`/1.0/operations/${this.id}`, { query: { project: this.ctx.project }, signal: opts.signal, timeoutMs: opts.timeoutMs });
  }

  #observe(op: OperationData): void {
    if (isFinal(this.#last) && !isFinal(op)) return;
    this.#last = op;
  }

  #settle(): OperationData {
    if (this.#last.status_code === 200) return this.#last;
    throw new LxdOperationError(this.#last);
  }

  /**
   * Waits until the operation finishes. Resolves to the final operation on Success; throws
   * `LxdOperationError` (LXD's `err` text) on Failure or Cancelled, `LxdTimeoutError` at the deadline,
   * `LxdOperationLostError` when LXD no longer knows the operation (a daemon restart, or it finished
   * long before anyone asked). While LXD cannot be reached it keeps trying, with back-off, until the deadline.
   * In a cluster, an operation that runs on a member which cannot be reached (killed, say) ends the wait
   * with `LxdMemberUnreachableError` naming that member.
   */
  async wait(opts: WaitOptions = {}): Promise<OperationData> {
    try {
      if (isFinal(this.#last) || this.id === '') return this.#settle();
      const timeoutMs = opts.timeoutMs ?? this.ctx.operationTimeoutMs;
      if (!isValidTimeout(timeoutMs)) throw new LxdValidationError('timeoutMs', `${timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
      const dl = deadline(opts.signal, timeoutMs);
      const report = progressReporter(opts.onProgress);
      report(this.#last);
      let unreachableSince: number | undefined;
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            if (this.#leased && this.ctx.hub.listening) {
              if (await this.#waitEvents(dl.signal, report)) return this.#settle();
              this.#releaseLease(); // the events socket failed for good: long-poll from here on
            }
            await this.#waitLongPoll(dl.signal, report);
            return this.#settle();
          } catch (err) {
            if (dl.signal.aborted) throw err;
            if (isMemberUnreachable(err)) throw err.naming(this.member);
            if (isNotFound(err)) throw new LxdOperationLostError(this.#last, unreachableSince !== undefined || this.#gapSeen, { cause: err });
            if (!isUnreachable(err) || this.ctx.hub.closed) throw err;
            if (unreachableSince === undefined) {
              unreachableSince = Date.now();
              this.ctx.logger.warn({ operation: this.id, err: (err as Error).message }, 'lxd operation: LXD is unreachable; waiting for it to come back');
            }
            const backoff = Math.min(RETRY_INITIAL_MS * 2 ** attempt, RETRY_MAX_MS);
            await sleep(backoff / 2 + Math.random() * (backoff / 2), dl.signal);
          }
        }
      } catch (err) {
        if (dl.timedOut) {
          const down = unreachableSince === undefined ? '' : `; LXD has been unreachable for the last ${Math.round((Date.now() - unreachableSince) / 1000)} s`;
          throw new LxdTimeoutError(
            `operation ${this.id} (${this.#last.description || 'no description'}) did not finish within ${timeoutMs} ms${down}; it may still be running on the server (cancel it with client.operations.cancel("${this.id}"))`,
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
      this.#releaseLease();
    }
  }

  /** GET the operation (the one confirming read of both ways of waiting) and report its progress. */
  async #confirm(signal: AbortSignal, report: (op: OperationData) => void): Promise<OperationData> {
    const op = await this.refresh({ signal });
    report(op);
    return op;
  }

  /**
   * Event-driven: true when a final state arrived; false when the events socket failed for good (fall
   * back to `/wait`). When events may have been missed it asks LXD; that read's errors end the wait
   * attempt (the caller retries an unreachable LXD and reports a forgotten operation at once).
   */
  #waitEvents(signal: AbortSignal, report: (op: OperationData) => void): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let settled = false;
      let asking = false;
      let askAgain = false;
      let memberCheck: NodeJS.Timeout | undefined;
      const finish = (outcome: boolean | { error: unknown }): void => {
        // Stryker disable next-line ConditionalExpression: every step of a second finish is a no-op (clearInterval, stop(), removing a removed listener; a settled promise ignores resolve and reject)
        if (settled) return;
        settled = true;
        clearInterval(memberCheck);
        stop();
        signal.removeEventListener('abort', onAbort);
        if (typeof outcome === 'boolean') resolve(outcome);
        else reject(outcome.error);
      };
      const onAbort = (): void => finish({ error: signal.reason });
      const ask = (): void => {
        if (asking) {
          askAgain = true;
          return;
        }
        asking = true;
        this.#confirm(signal, report).then(
          (fresh) => {
            if (isFinal(fresh)) finish(true);
          },
          (error: unknown) => finish({ error }),
        ).finally(() => {
          asking = false;
          if (askAgain && !settled) {
            askAgain = false;
            ask();
          }
        });
      };
      const onState = (op: OperationData | null): void => {
        if (op) {
          this.#observe(op);
          report(this.#last);
          if (isFinal(this.#last)) finish(true);
          return;
        }
        if (this.ctx.hub.closed) return finish({ error: new LxdConnectionError(this.ctx.transport.endpoint, undefined, `the client was closed while operation ${this.id} was waited on`) });
        if (!this.ctx.hub.listening) return finish(false);
        this.#gapSeen = true;
        ask();
      };
      const stop = this.ctx.hub.listen(this.id, onState);
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: finish() removes this listener itself, before or when the signal's only abort fires
      signal.addEventListener('abort', onAbort, { once: true });
      // Every event since the lease is in the hub, so nothing was missed before this listener; ask
      // LXD only when events may have been lost since (the generation moved on).
      const seen = this.ctx.hub.latest(this.id);
      if (seen) onState(seen);
      if (!settled && this.#generation !== this.ctx.hub.generation) {
        this.#gapSeen = true;
        ask();
      }
      if (!settled && this.member !== undefined) memberCheck = setInterval(ask, MEMBER_CHECK_MS);
    });
  }

  /**
   * `/wait` long-polling. LXD 5.0.2 answers 200 with the operation (still Running when the wait timed
   * out); LXD 5.0.3 … 6.9 answer HTTP 200 with an *error envelope* on failure or timeout, so the body
   * decides and a GET confirms. A final GET confirms the outcome.
   */
  async #waitLongPoll(signal: AbortSignal, report: (op: OperationData) => void): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      try {
        const res = await this.ctx.transport.request('GET', lxdPath`/1.0/operations/${this.id}/wait`, {
          query: { project: this.ctx.project, timeout: LONG_POLL_S },
          signal,
          timeoutMs: LONG_POLL_S * 1000 + 30_000,
        });
        this.#observe(parseOperation('GET', `${this.url}/wait`, res.envelope.metadata));
        report(this.#last);
      } catch (err) {
        // an error envelope on a 200: failed or timed out; the operation itself says which
        if (!(err instanceof LxdApiError && err.status === 200)) throw err;
        await this.#confirm(signal, report);
      }
      if (isFinal(this.#last)) {
        try {
          await this.#confirm(signal, report);
        } catch (err) {
          // the outcome is known: LXD may already have forgotten the operation
          if (!isNotFound(err)) throw err;
        }
        return;
      }
    }
  }
}

export function parseOperation(method: string, path: string, metadata: unknown): OperationData {
  const parsed = OperationSchema.safeParse(metadata);
  if (!parsed.success) throw new LxdResponseValidationError(method, path, parsed.error.issues);
  return parsed.data;
}
