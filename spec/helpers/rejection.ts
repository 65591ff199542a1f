/**
 * What `p` rejects with; fails the spec if it resolves. Typed as Error for the assertions that read
 * `.message` or `.code`; the value is returned as it was thrown.
 */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** How a promise ended, and when (`Date.now()`): for specs that compare when waits ended. */
export interface Settled<T> {
  at: number;
  value?: T;
  error?: unknown;
}

/** `p`'s outcome with the time it came, never rejecting. */
export function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ at: Date.now(), value }),
    (error: unknown) => ({ at: Date.now(), error }),
  );
}
