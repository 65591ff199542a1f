/**
 * The one-pass response schemas of lib/lxd/wire-maps.ts give what the plain zod schemas give: the
 * same success, the same output (same keys in the same order) and, on failure, the same issues, for
 * hand-picked values and for random ones; in an object (where zod treats an absent key by the schema's
 * optionality) as alone. A valid map is handed on as it came.
 */
import { expect } from 'chai';
import { z } from 'zod';
import { NullableDeviceMap, NullableStringList, NullableStringMap, plainNullableDeviceMap, plainNullableStringList, plainNullableStringMap } from '../../../lib/lxd/wire-maps.js';

const pairs = [
  { name: 'NullableStringMap', fast: NullableStringMap, plain: plainNullableStringMap },
  { name: 'NullableDeviceMap', fast: NullableDeviceMap, plain: plainNullableDeviceMap },
  { name: 'NullableStringList', fast: NullableStringList, plain: plainNullableStringList },
] as const;

/** What a parse gives, as text that shows key order (JSON.stringify keeps it). */
function outcome(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  return JSON.stringify(r.success ? { ok: r.data } : { issues: r.error.issues });
}

const picked: unknown[] = [
  undefined,
  null,
  {},
  [],
  '',
  'text',
  0,
  true,
  { a: '1', b: '' },
  { b: '2', a: '1' },
  { a: 1 },
  { a: null },
  { a: '1', b: 2, c: [] },
  { root: { path: '/', pool: 'default' } },
  { root: { path: 1 } },
  { root: 'x' },
  { root: null },
  { root: [] },
  ['default', 'x'],
  ['a', 1],
  [null],
  JSON.parse('{"__proto__":"x","a":"1"}'),
  JSON.parse('{"root":{"__proto__":"x"}}'),
  Object.create({ inherited: 'x' }) as unknown,
  Object.assign(Object.create(null) as object, { a: '1' }),
  new Map([['a', '1']]),
];

/** A random JSON-ish value: strings most of the time, sometimes numbers, null, lists and maps. */
function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth <= 0 || r < 0.45) return r < 0.35 ? `s${Math.floor(rand() * 10)}` : r < 0.4 ? Math.floor(rand() * 10) : null;
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) o[`k${Math.floor(rand() * 6)}`] = randomValue(rand, depth - 1);
  return o;
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('lxd: one-pass schemas of config maps, device maps and string lists', () => {
  for (const { name, fast, plain } of pairs) {
    it(`${name}: the plain schema's outcome for each hand-picked value, alone and in an object`, () => {
      const inFast = z.looseObject({ name: z.string(), v: fast, w: fast.optional() });
      const inPlain = z.looseObject({ name: z.string(), v: plain, w: plain.optional() });
      for (const value of picked) {
        expect(outcome(fast, value), `alone: ${String(JSON.stringify(value))}`).to.equal(outcome(plain, value));
        for (const obj of [{ name: 'n', v: value }, { name: 'n', w: value }, { name: 'n', v: value, w: value, extra: 1 }, { name: 'n' }]) {
          expect(outcome(inFast, obj), `in an object: ${String(JSON.stringify(obj))}`).to.equal(outcome(inPlain, obj));
        }
      }
    });

    it(`${name}: the plain schema's outcome for 3,000 random values`, () => {
      const rand = seeded(name.length * 7919);
      for (let i = 0; i < 3000; i++) {
        const value = randomValue(rand, 3);
        expect(outcome(fast, value), String(JSON.stringify(value))).to.equal(outcome(plain, value));
      }
    });
  }

  it('a valid map or list is handed on as it came; null and absent are a new empty one', () => {
    const config = { a: '1' };
    const devices = { root: { path: '/' } };
    const profiles = ['default'];
    expect(NullableStringMap.parse(config)).to.equal(config);
    expect(NullableDeviceMap.parse(devices)).to.equal(devices);
    expect(NullableStringList.parse(profiles)).to.equal(profiles);
    expect(NullableStringMap.parse(null)).to.deep.equal({});
    expect(NullableStringList.parse(undefined)).to.deep.equal([]);
    // an invalid one is refused with zod's own issue, naming the key
    const r = NullableStringMap.safeParse({ a: '1', b: 2 });
    expect(r.success).to.equal(false);
    expect(r.error?.issues.map((i) => [i.code, i.path])).to.deep.equal([['invalid_type', ['b']]]);
  });
});
