/**
 * Normalisation of recorded fixtures: what differs between two recordings of the same scenario
 * (run-unique names, UUIDs, timestamps, MAC addresses, the host name) becomes stable, and secrets
 * never reach a file.
 */
import { hostname } from 'node:os';
import { isExecEnvironment, isRedactedKey, isSecretText, REDACTED, REDACTED_KEYS, redactExecEnvironment } from '../logger.js';
import { withoutUndefined } from '../objects.js';
import type { Fixture, Json } from './fixture.js';

export { REDACTED } from '../logger.js';

/**
 * Keys whose values are replaced by `[redacted]` (string leaves only; keys and structure stay): the
 * library's own list (`REDACTED_KEYS`, the one log lines use) plus `certificate_fingerprint`. Keys
 * with a prefix in `REDACTED_KEY_PREFIXES` (`user.`, `cloud-init.`, `environment.`), the values of exec
 * environments (`environment` beside `command`: an exec's request body and its operation's metadata,
 * but `PATH`, `HOME`, `USER`, `LANG` and `TERM`) and strings holding a PEM private key are redacted as
 * well, whatever the list.
 */
export const FIXTURE_REDACTED_KEYS: readonly string[] = [...REDACTED_KEYS, 'certificate_fingerprint'];

/** The first placeholder timestamp; later ones follow one second apart, in chronological order. */
export const EPOCH = Date.UTC(2000, 0, 1);
/**
 * The fixed `recordedAt` of every normalised fixture, and the first placeholder timestamp: `2000-01-01T00:00:00Z`.
 */
export const RECORDED_AT = new Date(EPOCH).toISOString().replace('.000Z', 'Z');

/** LXD's "never" (Go's zero time) and the Unix epoch are kept as they are: they carry meaning. */
const KEPT_TIMESTAMPS = new Set(['0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z']);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;
const PLACEHOLDER_STAMP = /^2000-01-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const MAC = /\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi;
/** A MAC address placeholder: `00:16:3e:00:00:01` to `00:16:3e:00:0f:ff`. */
const MAC_PLACEHOLDER = /^00:16:3e:00:0[0-9a-f]:[0-9a-f]{2}$/;
/** The n-th MAC placeholder (1-based): `00:16:3e:00:00:NN` up to 255, then on into the fifth octet. */
function macPlaceholder(n: number): string {
  if (n > 0xfff) throw new RangeError('a fixture with more than 4095 distinct MAC addresses cannot be normalised');
  return `00:16:3e:00:0${(n >> 8).toString(16)}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

/** Options of `normaliseFixture()`: run-unique strings to replace, keys to redact, the host name to hide. */
export interface NormaliseOptions {
  /** Run-unique strings and their stable replacements, e.g. `{ 'lxdkit-fx-3f9a1c': 'lxdkit-fx' }`. */
  replace?: Record<string, string>;
  /**
   * Keys whose values are redacted (default `FIXTURE_REDACTED_KEYS`). Keys with a redacted prefix
   * (`user.`, `cloud-init.`, `environment.`) and PEM private keys are redacted whatever this says.
   */
  redactKeys?: readonly string[];
  /** The host name to hide (default `os.hostname()`); values equal to it become `lxd-host`. */
  hostname?: string;
}

function mapStrings(value: Json, fn: (s: string, key: string | undefined) => string, key?: string): Json {
  if (typeof value === 'string') return fn(value, key);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn, key));
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[fn(k, undefined)] = mapStrings(v, fn, k);
    return out;
  }
  return value;
}

function visitStrings(value: Json, fn: (s: string) => void): void {
  if (typeof value === 'string') fn(value);
  else if (Array.isArray(value)) for (const v of value) visitStrings(v, fn);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      fn(k);
      visitStrings(v, fn);
    }
  }
}

function redact(value: Json, keys: ReadonlySet<string>, inside = false): Json {
  if (typeof value === 'string') return (inside && value !== '') || isSecretText(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redact(v, keys, inside));
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      // an exec's environment: in its request body, and echoed in its operation's metadata everywhere
      out[k] = !inside && isExecEnvironment(value, k) ? redact(redactExecEnvironment(v) as Json, keys, false) : redact(v, keys, inside || isRedactedKey(k, keys));
    }
    return out;
  }
  return value;
}

/** Chronological order of RFC 3339 timestamps, nanoseconds included. */
function compareTimestamps(a: string, b: string): number {
  const ms = Date.parse(a) - Date.parse(b);
  if (ms !== 0 && !Number.isNaN(ms)) return ms;
  const frac = (s: string): number => Number(`0${/\.\d+/.exec(s)?.[0] ?? ''}`);
  return frac(a) - frac(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Returns a normalised copy of a fixture:
 * 1. every `replace` key becomes its value (longest first), in keys and values alike;
 * 2. values under secret keys (`secret`, `fds`, `certificate`, `password`, `token`, ...), under keys with
 *    a secret prefix (`user.`, `cloud-init.`, `environment.`), the values of exec environments (but the
 *    variables LXD sets itself) and strings holding a PEM private key become `[redacted]`;
 * 3. each distinct UUID becomes `00000000-0000-4000-8000-00000000000N`, numbered by first appearance,
 *    so an operation id is the same in the 202 response, the `/wait` path and the final GET;
 * 4. each distinct timestamp becomes `2000-01-01T00:00:NNZ`, numbered in chronological order
 *    (Go's zero time and the Unix epoch are kept);
 * 5. each distinct MAC address becomes `00:16:3e:00:00:NN` (after the 255th, `00:16:3e:00:0N:NN`),
 *    skipping placeholders the fixture already holds;
 * 6. a value equal to the host name becomes `lxd-host`; `recordedAt` becomes the fixed epoch.
 * ETags are kept: they are opaque and the replayed client must send back what it was given.
 * Normalising a normalised fixture changes nothing.
 */
export function normaliseFixture(fixture: Fixture, opts: NormaliseOptions = {}): Fixture {
  const { recordedAt: _recordedAt, ...rest } = fixture;
  void _recordedAt;
  let doc = rest as unknown as Json;

  const replace = Object.entries(opts.replace ?? {}).filter(([from]) => from.length > 0);
  if (replace.length) {
    replace.sort(([a], [b]) => b.length - a.length);
    const re = new RegExp(replace.map(([from]) => escapeRegExp(from)).join('|'), 'g');
    const table = new Map(replace);
    doc = mapStrings(doc, (s) => s.replace(re, (m) => table.get(m) ?? m));
  }

  doc = redact(doc, new Set(opts.redactKeys ?? FIXTURE_REDACTED_KEYS));

  const uuids = new Map<string, string>();
  const stamps = new Set<string>();
  const macs = new Map<string, string>();
  visitStrings(doc, (s) => {
    for (const m of s.match(UUID) ?? []) {
      const k = m.toLowerCase();
      if (!uuids.has(k) && !/^00000000-0000-4000-8000-\d{12}$/.test(k)) uuids.set(k, '');
    }
    for (const m of s.match(TIMESTAMP) ?? []) if (!KEPT_TIMESTAMPS.has(m)) stamps.add(m);
    for (const m of s.match(MAC) ?? []) {
      const k = m.toLowerCase();
      if (!macs.has(k) && !MAC_PLACEHOLDER.test(k)) macs.set(k, '');
    }
  });
  // placeholders already present (a normalised fixture) keep their numbers; new ones come after them
  const taken = new Set<string>();
  visitStrings(doc, (s) => {
    for (const m of s.match(UUID) ?? []) if (/^00000000-0000-4000-8000-\d{12}$/.test(m)) taken.add(m);
    for (const m of s.match(MAC) ?? []) if (MAC_PLACEHOLDER.test(m.toLowerCase())) taken.add(m.toLowerCase());
  });
  let n = 0;
  for (const k of uuids.keys()) {
    let p: string;
    do p = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    while (taken.has(p));
    uuids.set(k, p);
  }
  const stampMap = new Map<string, string>();
  const placeholderStamp = (i: number): string => new Date(EPOCH + i * 1000).toISOString().replace('.000Z', 'Z');
  const existing = new Set([...stamps].filter((s) => PLACEHOLDER_STAMP.test(s)));
  const fresh = [...stamps].filter((s) => !existing.has(s)).sort(compareTimestamps);
  let i = existing.size ? Math.max(...[...existing].map((s) => (Date.parse(s) - EPOCH) / 1000)) + 1 : 0;
  for (const s of fresh) stampMap.set(s, placeholderStamp(i++));
  let m = 0;
  for (const k of macs.keys()) {
    let p: string;
    do p = macPlaceholder(++m);
    while (taken.has(p));
    macs.set(k, p);
  }

  const host = opts.hostname ?? hostname();
  doc = mapStrings(doc, (s) => {
    if (host.length > 0 && s === host) return 'lxd-host';
    let out = s.replace(UUID, (u) => uuids.get(u.toLowerCase()) || u);
    out = out.replace(TIMESTAMP, (t) => stampMap.get(t) ?? t);
    out = out.replace(MAC, (a) => macs.get(a.toLowerCase()) || a);
    return out;
  });
  const { format, lxd, interactions, events, websockets, description } = doc as unknown as Omit<Fixture, 'recordedAt'>;
  // A saved and re-read fixture must deep-equal this one.
  return withoutUndefined({ format, description, lxd, recordedAt: RECORDED_AT, interactions, events, websockets });
}
