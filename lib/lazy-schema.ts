import { z } from 'zod';

/**
 * A zod schema built on first use. lxdkit declares a few hundred schemas; a command uses a handful,
 * and building the rest is most of what loading the client costs. The proxy forwards everything to
 * the schema, built once the first time any property of it is read.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const real = (): T => (built ??= build());
  return new Proxy({} as T, {
    get: (_t, key) => {
      const r = real();
      const v: unknown = Reflect.get(r, key, r);
      return v;
    },
    has: (_t, key) => Reflect.has(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key);
      return d ? { ...d, configurable: true } : undefined;
    },
    set: (_t, key, value) => Reflect.set(real(), key, value),
  });
}

const arrays = new WeakMap<object, object>();
/**
 * `z.array(item)`, made once per item schema and built on first use: a call that checks a list
 * passes this, and neither builds a schema per call nor loads zod before its request is sent.
 */
export function arrayOf<T extends z.ZodType>(item: T): z.ZodArray<T> {
  let a = arrays.get(item) as z.ZodArray<T> | undefined;
  if (a === undefined) {
    a = lazySchema(() => z.array(item));
    arrays.set(item, a);
  }
  return a;
}

/** `z.array(z.string())`, built on first use. */
export const StringListSchema = lazySchema(() => z.array(z.string()));
