/**
 * The maps and lists LXD sends in nearly every object (`config`, `devices`, `profiles`, `used_by`),
 * as response schemas checked in one pass.
 *
 * zod checks a `z.record` key by key, and makes a parse result and an issues array for each: for an
 * instance that is most of what validating it allocates (measured on a 1.8 kB instance: 10.6 kB of
 * garbage per parse with records, against 13.9 kB for the whole HTTP exchange). Here a valid value is
 * checked by one loop and handed on as it came (`null` and absent as the empty map or list, as
 * before); anything else is parsed again by the plain zod schema, so that the issues are zod's own,
 * key by key. The output is what the plain schema gives, except that a valid map is the object
 * `JSON.parse` made rather than a copy of it.
 *
 * Only for responses: what lxdkit sends is still copied by zod (a caller's object is never handed on).
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';

/** `value` is a plain object (not an array) whose own values all pass `each`. */
function isMapOf(value: unknown, each: (v: unknown) => boolean): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // zod drops a `__proto__` key (JSON.parse makes it an own property): such a map takes the plain path
  for (const key of Object.keys(value)) if (key === '__proto__' || !each((value as Record<string, unknown>)[key])) return false;
  return true;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringMap = (v: unknown): v is Record<string, string> => isMapOf(v, isString);
const isDeviceMap = (v: unknown): v is Record<string, Record<string, string>> => isMapOf(v, isStringMap);
function isStringList(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const s of v as unknown[]) if (typeof s !== 'string') return false;
  return true;
}

/**
 * `plain`, checked first by `valid` (which must accept nothing `plain` refuses) and given as
 * `output(value)` when it passes; anything `valid` refuses goes through `plain`.
 */
function checkedInOnePass<S extends z.ZodType>(plain: S, valid: (v: unknown) => boolean, output: (v: unknown) => z.output<S>): S {
  // nullish, as the plain schemas are: an absent key is parsed (as undefined) the same way
  const schema = z.unknown().nullish().transform((value, ctx): z.output<S> => {
    if (valid(value)) return output(value);
    const parsed = plain.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: value } as (typeof ctx.issues)[number]);
    return z.NEVER;
  });
  // the same input and output as `plain`: the types stay those of the plain schema
  return schema as unknown as S;
}

/** The plain schemas, as lxdkit wrote them before (and as specs compare the one-pass ones with); built when first needed. */
export const plainNullableStringMap = lazySchema(() => z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}));
export const plainNullableDeviceMap = lazySchema(() => z.record(z.string(), z.record(z.string(), z.string())).nullish().transform((v) => v ?? {}));
export const plainNullableStringList = lazySchema(() => z.array(z.string()).nullish().transform((v) => v ?? []));

/** A map of strings (`config`); `null` or absent: `{}`. */
export const NullableStringMap = lazySchema(() => checkedInOnePass(plainNullableStringMap, (v) => v == null || isStringMap(v), (v) => (v ?? {}) as Record<string, string>));
/** A map of maps of strings (`devices`); `null` or absent: `{}`. */
export const NullableDeviceMap = lazySchema(() => checkedInOnePass(plainNullableDeviceMap, (v) => v == null || isDeviceMap(v), (v) => (v ?? {}) as Record<string, Record<string, string>>));
/** A list of strings (`profiles`, `used_by`); `null` or absent: `[]`. */
export const NullableStringList = lazySchema(() => checkedInOnePass(plainNullableStringList, (v) => v == null || isStringList(v), (v) => (v ?? []) as string[]));
