/** A small FIFO async mutex whose waiters may give up. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /**
   * Runs `fn` once every earlier caller has finished. Aborting `signal` while waiting rejects with its
   * reason at once, and `fn` never runs (the callers behind keep their turn).
   */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const before = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    if (!signal) return before.then(fn).finally(release);
    return new Promise<T>((resolve, reject) => {
      let gaveUp = false;
      const onAbort = (): void => {
        gaveUp = true;
        reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void before.then(async () => {
        signal.removeEventListener('abort', onAbort);
        if (gaveUp) return release();
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        } finally {
          release();
        }
      });
    });
  }
}

const shared = new Map<string, Mutex>();

/** One mutex per key for the whole process (e.g. per LXD endpoint and project). */
export function sharedMutex(key: string): Mutex {
  let m = shared.get(key);
  if (!m) {
    m = new Mutex();
    shared.set(key, m);
  }
  return m;
}
