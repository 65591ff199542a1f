/**
 * The one deadline-and-abort mechanism every I/O path uses: a caller's `AbortSignal` and a timer,
 * combined into one signal that says which of the two fired.
 */

/** Per-call options every I/O method of lxdkit accepts. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** A deadline for this call, in milliseconds (each call has a default; 0 and Infinity are refused). */
  timeoutMs?: number | undefined;
}

/** Why a deadline's signal aborted because time ran out (the caller's own abort keeps its reason). */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

export interface Deadline {
  /** Aborts when the caller's signal aborts (with its reason) or the time is up (with a DeadlineExceeded). */
  readonly signal: AbortSignal;
  /** True once the timer fired first. */
  readonly timedOut: boolean;
  /** Stops the timer and forgets the caller's signal; call it when the guarded work is over. */
  clear(): void;
}

/** The longest delay a Node timer takes (about 24.8 days); longer deadlines wait this long. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** True for a usable deadline: a positive, finite number of milliseconds. */
export function isValidTimeout(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0;
}

/**
 * A deadline of `timeoutMs` tied to the caller's `signal`. `onAbort`, when given, runs once with the
 * reason as soon as either fires (callers use it to tear down a socket without waiting for a promise).
 */
export function deadline(signal: AbortSignal | undefined, timeoutMs: number, onAbort?: (reason: unknown) => void): Deadline {
  // The signal is made when it is first asked for: a request's deadline (transport.ts) only needs
  // `onAbort`, and an AbortController per request is a measurable part of what a request costs.
  let controller: AbortController | undefined;
  let fired = false;
  let firedReason: unknown;
  let timedOut = false;
  const fire = (reason: unknown): void => {
    if (fired) return;
    fired = true;
    firedReason = reason;
    controller?.abort(reason);
    clear();
    onAbort?.(reason);
  };
  // Node's timers hold at most 2^31 - 1 ms (24.8 days); a longer one would fire at once
  const timer = setTimeout(() => {
    timedOut = true;
    fire(new DeadlineExceeded(timeoutMs));
  }, Math.min(timeoutMs, MAX_TIMER_MS));
  const onCallerAbort = (): void => fire(signal?.reason);
  function clear(): void {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
  if (signal?.aborted) fire(signal.reason);
  else signal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (fired) controller.abort(firedReason);
      }
      return controller.signal;
    },
    get timedOut() {
      return timedOut;
    },
    clear,
  };
}

/**
 * `promise`, or a rejection with the signal's reason as soon as `signal` aborts (the work behind the
 * promise goes on; the caller stops waiting for it).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` under `opts.timeoutMs` (when given) and `opts.signal`: it gets the combined signal, and the
 * call rejects as soon as either fires (`timedOut(ms)` makes the error for the deadline).
 */
export async function withDeadline<T>(opts: CallOptions, fn: (signal: AbortSignal | undefined) => Promise<T>, timedOut: (timeoutMs: number) => Error): Promise<T> {
  if (opts.timeoutMs === undefined) return fn(opts.signal);
  const dl = deadline(opts.signal, opts.timeoutMs);
  try {
    return await abortable(fn(dl.signal), dl.signal);
  } catch (err) {
    if (dl.timedOut) throw timedOut(opts.timeoutMs);
    throw err;
  } finally {
    dl.clear();
  }
}
