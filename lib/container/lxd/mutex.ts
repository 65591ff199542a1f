/** A small FIFO async mutex. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier caller has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
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
