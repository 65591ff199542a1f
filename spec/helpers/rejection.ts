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
