/**
 * What the instance commands (`launch`, `list`, `config`, `start`, …) read from their command line,
 * checked before any request: `KEY=VALUE` pairs, image references, `list` columns, filters and
 * formats. Pure functions: no client, no zod, no YAML (`lxdkit --help` loads none of them).
 */
import type { LxdInstanceFull } from '../lxd/schemas.js';
import { CliError, ExitCode } from './exit-codes.js';

// C0 and C1 controls and DEL: never part of a key
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A config key or device field: non-empty, no whitespace, no control character, not `__proto__`. */
export function checkKey(key: string, what: string): string {
  if (key === '') throw new CliError(ExitCode.USAGE, `${what}: the key is empty`);
  if (/\s/.test(key) || CONTROL.test(key)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${JSON.stringify(key)} is not a key: no whitespace or control characters`);
  if (key === '__proto__') throw new CliError(ExitCode.INVALID_INPUT, `${what}: "__proto__" is not a key`);
  return key;
}

/** `KEY=VALUE` pairs (`-c`, `config set`, `config device add`) as a map; a pair without `=` is a usage error. */
export function parseKeyValues(pairs: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new CliError(ExitCode.USAGE, `${what}: "${pair}" is not KEY=VALUE`);
    const key = checkKey(pair.slice(0, eq), what);
    Object.defineProperty(out, key, { value: pair.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A device name: non-empty, no slash, no whitespace or control character. */
export function checkDeviceName(name: string): string {
  if (name === '' || name.includes('/') || /\s/.test(name) || CONTROL.test(name) || name === '.' || name === '..' || name === '__proto__') {
    throw new CliError(ExitCode.INVALID_INPUT, `device name ${JSON.stringify(name)}: give a name without "/", whitespace or control characters (e.g. eth1, data)`);
  }
  return name;
}

/** The image of `launch` / `init`, as `lxc` takes it: an alias or a fingerprint on this server (`local:` allowed). */
export interface ImageRef {
  /** The alias or fingerprint (tried as an alias first, as `lxc` does). */
  name: string;
}

/** Reads `[local:]ALIAS|FINGERPRINT`; an image server (`images:alpine/3.19`, `ubuntu:22.04`) is refused with what to do instead. */
export function parseImageRef(image: string): ImageRef {
  let name = image;
  const colon = image.indexOf(':');
  if (colon >= 0) {
    const remote = image.slice(0, colon);
    if (remote !== 'local') {
      throw new CliError(
        ExitCode.INVALID_INPUT,
        `image "${image}": image servers ("${remote}:") are not supported by launch yet: import the image on the server first (lxdkit image import, or lxc image copy ${image} local: --alias NAME) and give its alias`,
      );
    }
    name = image.slice(colon + 1);
  }
  if (name === '' || CONTROL.test(name) || name.includes('\0')) throw new CliError(ExitCode.USAGE, `image "${image}": give an image alias or fingerprint`);
  return { name };
}

// ------------------------------------------------------------------------------------ list columns

/** The instances `list` shows: an instance with its state (`recursion=2`). */
export type ListedInstance = LxdInstanceFull;

export interface ListColumn {
  /** The letter (or `config:KEY` for a config column). */
  id: string;
  header: string;
  value: (i: ListedInstance) => string;
  right?: boolean;
}

/** Bytes as `lxc` shows them: `12.34MiB`. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(2)}${units[u]}`;
}

/** The global addresses of a family, `ADDRESS (IFACE)`, the loopback left out. */
function addresses(i: ListedInstance, family: 'inet' | 'inet6'): string {
  const out: string[] = [];
  for (const [iface, net] of Object.entries(i.state?.network ?? {})) {
    if (iface === 'lo') continue;
    for (const a of net.addresses ?? []) if (a.family === family && a.scope === 'global') out.push(`${a.address} (${iface})`);
  }
  return out.join(', ');
}

function typeOf(i: ListedInstance): string {
  const t = i.type.toUpperCase();
  return i.ephemeral ? `${t} (EPHEMERAL)` : t;
}

function rootPool(i: ListedInstance): string {
  for (const d of Object.values(i.expanded_devices ?? i.devices)) if (d['type'] === 'disk' && d['path'] === '/') return d['pool'] ?? '';
  return '';
}

function time(s: string | undefined): string {
  if (!s || s.startsWith('0001-01-01')) return '';
  return s.replace(/\.\d+/, '').replace('T', ' ').replace(/Z$|[+-]\d\d:\d\d$/, '');
}

const running = (i: ListedInstance): boolean => i.status_code === 103 || i.status === 'Running';

/** The column letters of `lxc list -c` that lxdkit knows. */
export const COLUMNS: Readonly<Record<string, Omit<ListColumn, 'id'>>> = {
  n: { header: 'name', value: (i) => i.name },
  s: { header: 'state', value: (i) => i.status.toUpperCase() },
  '4': { header: 'ipv4', value: (i) => addresses(i, 'inet') },
  '6': { header: 'ipv6', value: (i) => addresses(i, 'inet6') },
  t: { header: 'type', value: typeOf },
  S: { header: 'snapshots', value: (i) => String(i.snapshots?.length ?? 0), right: true },
  L: { header: 'location', value: (i) => i.location ?? '' },
  a: { header: 'architecture', value: (i) => i.architecture },
  b: { header: 'storage pool', value: rootPool },
  c: { header: 'created at', value: (i) => time(i.created_at) },
  l: { header: 'last used at', value: (i) => time(i.last_used_at) },
  d: { header: 'description', value: (i) => i.description },
  e: { header: 'project', value: (i) => i.project ?? '' },
  f: { header: 'base image', value: (i) => (i.config['volatile.base_image'] ?? '').slice(0, 12) },
  F: { header: 'base image', value: (i) => i.config['volatile.base_image'] ?? '' },
  p: { header: 'pid', value: (i) => (running(i) && i.state?.pid ? String(i.state.pid) : ''), right: true },
  N: { header: 'processes', value: (i) => (running(i) ? String(i.state?.processes ?? 0) : ''), right: true },
  P: { header: 'profiles', value: (i) => i.profiles.join(',') },
  m: { header: 'memory usage', value: (i) => (running(i) && i.state?.memory ? humanBytes(i.state.memory.usage) : ''), right: true },
  u: { header: 'cpu usage', value: (i) => (running(i) && i.state?.cpu ? `${Math.round(i.state.cpu.usage / 1e9)}s` : ''), right: true },
  D: { header: 'disk usage', value: (i) => (i.state?.disk?.['root'] ? humanBytes(i.state.disk['root'].usage) : ''), right: true },
};

/** `lxc list`'s default columns: name, state, IPv4, IPv6, type, snapshots (and the location in a cluster). */
export const DEFAULT_COLUMNS = 'ns46tS';

/**
 * `-c` as `lxc` takes it: letters (`ns4`), comma-separated groups (`n,s,4`), and config columns
 * `KEY[:HEADER]` (`user.comment:Comment`, also `config:KEY`), which are told from letters by a dot or a colon.
 */
export function parseColumns(spec: string): ListColumn[] {
  const out: ListColumn[] = [];
  if (spec.trim() === '') throw new CliError(ExitCode.USAGE, '-c: give column letters, e.g. -c ns4');
  for (const part of spec.split(',')) {
    if (part === '') throw new CliError(ExitCode.USAGE, `-c ${spec}: an empty column between commas`);
    if (part.includes('.') || part.includes(':')) {
      let [key, header] = splitOnce(part, ':');
      if (key === 'config' && header) [key, header] = splitOnce(header, ':');
      checkKey(key, `-c ${part}`);
      out.push({ id: `config:${key}`, header: header || key, value: (i) => (i.expanded_config ?? i.config)[key] ?? '' });
      continue;
    }
    for (const letter of part) {
      const col = COLUMNS[letter];
      if (!col) throw new CliError(ExitCode.USAGE, `-c ${spec}: unknown column "${letter}"; known: ${Object.keys(COLUMNS).join('')} and config keys (user.comment:COMMENT)`);
      out.push({ id: letter, ...col });
    }
  }
  return out;
}

function splitOnce(s: string, sep: string): [string, string] {
  const at = s.indexOf(sep);
  return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + sep.length)];
}

export const LIST_FORMATS = ['table', 'csv', 'json', 'yaml'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export function parseFormat(f: string | undefined, json: boolean): ListFormat {
  if (f === undefined) return json ? 'json' : 'table';
  if (!(LIST_FORMATS as readonly string[]).includes(f)) throw new CliError(ExitCode.USAGE, `--format ${f}: give one of ${LIST_FORMATS.join(', ')}`);
  if (json && f !== 'json') throw new CliError(ExitCode.USAGE, `--json and --format ${f}: give one of them`);
  return f as ListFormat;
}

/** One CSV record (RFC 4180): a field with a comma, a quote or a line break is quoted, quotes doubled. */
export function csvLine(values: readonly string[]): string {
  return values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',') + '\n';
}

// ------------------------------------------------------------------------------------ list filters

/** One filter of `lxc list`: a name (an anchored regular expression, or a prefix), or `KEY=VALUE`. */
export type ListFilter = { kind: 'name'; text: string; re: RegExp | undefined } | { kind: 'key'; key: string; value: string; re: RegExp | undefined };

/** Anchored as `lxc` anchors it (unless it has `^` or `$`); undefined when it is not a regular expression. */
function anchored(text: string): RegExp | undefined {
  try {
    return new RegExp(text.includes('^') || text.includes('$') ? text : `^(?:${text})$`, 'u');
  } catch {
    return undefined;
  }
}

export function parseFilters(filters: readonly string[]): ListFilter[] {
  return filters.map((f) => {
    const eq = f.indexOf('=');
    if (eq < 0) {
      if (f === '') throw new CliError(ExitCode.USAGE, 'list: an empty filter');
      return { kind: 'name', text: f, re: anchored(f) };
    }
    const key = checkKey(f.slice(0, eq), `filter ${f}`);
    const value = f.slice(eq + 1);
    return { kind: 'key', key, value, re: anchored(value) };
  });
}

/** `image.os` matches `image.os`, and a shortened `i.o` too (each part a prefix of the key's part), as `lxc` does. */
function dotPrefixMatch(short: string, full: string): boolean {
  const s = short.split('.');
  const f = full.split('.');
  return s.length === f.length && f.every((part, n) => part.startsWith(s[n]!));
}

const SHORTHANDS: Readonly<Record<string, (i: ListedInstance) => string[]>> = {
  type: (i) => [i.type],
  status: (i) => [i.status],
  state: (i) => [i.status],
  architecture: (i) => [i.architecture],
  location: (i) => [i.location ?? ''],
  name: (i) => [i.name],
  ipv4: (i) => addressList(i, 'inet'),
  ipv6: (i) => addressList(i, 'inet6'),
};

function addressList(i: ListedInstance, family: string): string[] {
  return Object.values(i.state?.network ?? {}).flatMap((n) => (n.addresses ?? []).filter((a) => a.family === family).map((a) => a.address));
}

/** Whether an instance passes every filter (`lxc list`'s rules: all must match). */
export function matchesFilters(i: ListedInstance, filters: readonly ListFilter[]): boolean {
  return filters.every((f) => {
    if (f.kind === 'name') return f.re?.test(i.name) === true || i.name.startsWith(f.text);
    const short = SHORTHANDS[f.key];
    if (short) return short(i).some((v) => v.toLowerCase() === f.value.toLowerCase() || (f.key === 'name' && f.re?.test(v) === true));
    const config = i.expanded_config ?? i.config;
    if (Object.hasOwn(config, f.key) && config[f.key] === f.value) return true;
    return Object.entries(config).some(([k, v]) => dotPrefixMatch(f.key, k) && (f.re ? f.re.test(v) : v === f.value));
  });
}

// ------------------------------------------------------------------------------------ many instances

/** The most requests a command over several instances has in flight at once. */
export const MAX_PARALLEL = 4;

/** Runs `fn` on every item, at most `limit` at a time; resolves once all have settled, in order. */
export async function settleLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const n = next++;
      try {
        results[n] = { status: 'fulfilled', value: await fn(items[n]!) };
      } catch (reason) {
        results[n] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
