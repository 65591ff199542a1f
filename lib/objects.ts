/**
 * A copy of `value` without the keys whose value is `undefined`: for plain data that callers compare with
 * deep equality, print or save, where an absent field and an `undefined` one must not differ.
 */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
