/**
 * The differences between two recordings of one scenario, one from LXD and one from Incus, as stable
 * keys: the same difference seen in several places gives one key, and what every recording varies
 * anyway (timestamps, ETags, numbers such as pids, memory use and speeds, run-order of placeholders)
 * gives none. `docs/compatibility.md` lists every key (spec/unit/fixtures/compatibility.spec.ts).
 *
 * A key is `<subject>: <what>`:
 * - subject: a kind of object wherever it appears (`server`, `operation`, `instance`, `instance state`,
 *   `profile`, `project`, `project state`, `image alias`, `event <type>`), or a request's route
 *   (`POST /1.0/projects`, `GET /1.0/instances/{name}?project`);
 * - what: `answer <status> <type> → <status> <type>` (LXD → Incus), `error text` (the same answer with
 *   another message), `request only on lxd|incus` (the client sent it to one server only), `field <path>
 *   only on lxd|incus` (the shallowest such field), `value <path>` (a string, boolean, list of
 *   strings or status code that differs).
 */
import type { Fixture, Interaction, Json } from '../../lib/testing/fixture.js';

export interface Difference {
  key: string;
  /** Where it was seen first: `<scenario> #<interaction>` or `<scenario> event <n>`. */
  where: string;
}

/** `/1.0/instances/lxdkit-fx-life/state` → `/1.0/instances/{name}/state`. */
export function routeOf(path: string): string {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const prev = parts[i - 1];
    if (prev === 'operations' && parts[i - 2] === '1.0') out.push('{id}');
    else if (prev === 'aliases' && parts[i - 2] === 'images') out.push('{name}');
    else if (prev === 'images' && parts[i - 2] === '1.0' && parts[i] !== 'aliases') out.push('{fingerprint}');
    else if (parts[i - 2] === '1.0' && prev !== undefined && ['instances', 'profiles', 'projects', 'networks', 'storage-pools', 'certificates'].includes(prev)) out.push('{name}');
    else out.push(parts[i]!);
  }
  return out.join('/');
}

function requestRoute(i: Interaction): string {
  const keys = Object.keys(i.request.query).sort().map((k) => (k === 'recursion' ? `recursion=${i.request.query[k]}` : k));
  return `${i.request.method} ${routeOf(i.request.path)}${keys.length ? `?${keys.join('&')}` : ''}`;
}

/** What kind of object a sync response's metadata is, when lxdkit models it. */
function subjectOf(i: Interaction, type: string): { subject: string; list: boolean } | undefined {
  if (type === 'async') return { subject: 'operation', list: false };
  const route = routeOf(i.request.path);
  const recursion = i.request.query['recursion'] ?? '0';
  if (/^\/1\.0\/operations\/\{id\}(\/wait)?$/.test(route)) return { subject: 'operation', list: false };
  if (i.request.method !== 'GET') return undefined;
  const table: [string, string, boolean][] = [
    ['/1.0', 'server', false],
    ['/1.0/instances/{name}', 'instance', false],
    ['/1.0/instances/{name}/state', 'instance state', false],
    ['/1.0/profiles/{name}', 'profile', false],
    ['/1.0/projects/{name}', 'project', false],
    ['/1.0/projects/{name}/state', 'project state', false],
    ['/1.0/images/aliases/{name}', 'image alias', false],
  ];
  const one = table.find(([r]) => r === route);
  if (one) return { subject: one[1], list: false };
  const lists: Record<string, string> = { '/1.0/instances': 'instance', '/1.0/profiles': 'profile', '/1.0/projects': 'project', '/1.0/images/aliases': 'image alias' };
  if (lists[route] && recursion !== '0') return { subject: lists[route], list: true };
  return undefined;
}

/** A string as compared: hashes, placeholder UUIDs and numbers masked (they differ between any two recordings). */
function maskText(s: string): string {
  return s.replace(/[0-9a-f]{64}/g, '<hash>').replace(/\d+/g, 'N');
}

/** Numbers compared (other numbers, such as pids, sizes, memory and CPU use, differ between any two recordings). */
const COMPARED_NUMBERS = new Set(['status_code', 'error_code']);

/** Flattens a JSON value to leaf paths (null and {} count as absent; lists of scalars are one leaf). */
function leaves(value: Json | undefined, path: string, out: Map<string, Json>): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      out.set(path, value);
      return;
    }
    value.forEach((v, n) => leaves(v, `${path}[${n}]`, out));
    return;
  }
  if (typeof value === 'object') {
    // an empty object, like null, carries nothing
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
    return;
  }
  out.set(path, value);
}

const general = (path: string): string => path.replace(/\[\d+\]/g, '[]');

/** The shallowest prefix of `path` that the other side does not have. */
function shallowestMissing(path: string, other: ReadonlySet<string>): string {
  const parts = path.split('.');
  for (let n = 1; n <= parts.length; n++) {
    const prefix = parts.slice(0, n).join('.');
    if (![...other].some((p) => p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}[`))) return prefix;
  }
  return path;
}

function sameLeaf(key: string, a: Json, b: Json): boolean {
  if (typeof a === 'number' && typeof b === 'number') return !COMPARED_NUMBERS.has(key.slice(key.lastIndexOf('.') + 1)) || a === b;
  if (typeof a === 'string' && typeof b === 'string') return maskText(a) === maskText(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const as = new Set(a.map((v) => (typeof v === 'string' ? maskText(v) : JSON.stringify(v))));
    const bs = new Set(b.map((v) => (typeof v === 'string' ? maskText(v) : JSON.stringify(v))));
    return as.size === bs.size && [...as].every((v) => bs.has(v));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Field and value differences of two objects of one subject. */
function compareObjects(subject: string, lxd: Json | undefined, incus: Json | undefined, add: (what: string) => void): void {
  const a = new Map<string, Json>();
  const b = new Map<string, Json>();
  leaves(lxd, '', a);
  leaves(incus, '', b);
  const aKeys = new Set(a.keys());
  const bKeys = new Set(b.keys());
  for (const [side, mine, theirs] of [['lxd', aKeys, bKeys], ['incus', bKeys, aKeys]] as const) {
    for (const p of mine) {
      if (theirs.has(p)) continue;
      add(`${subject}: field ${general(shallowestMissing(p, theirs))} only on ${side}`);
    }
  }
  for (const [p, v] of a) {
    const w = b.get(p);
    if (w === undefined || sameLeaf(p, v, w)) continue;
    add(`${subject}: value ${general(p)}`);
  }
}

/** Longest common subsequence of two lists of strings, as index pairs. */
function align(a: readonly string[], b: readonly string[]): [number | undefined, number | undefined][] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: [number | undefined, number | undefined][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) out.push([i++, j++]);
    else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push([i++, undefined]);
    else out.push([undefined, j++]);
  }
  return out;
}

interface Envelope {
  type?: string;
  error?: string;
  metadata?: Json;
}

function envelopeOf(i: Interaction): Envelope {
  const body = i.response.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Envelope) : {};
}

function answerOf(i: Interaction): string {
  return `${i.response.status} ${i.response.body === undefined ? 'text' : (envelopeOf(i).type ?? '?')}`;
}

/** Every difference between the LXD and the Incus recording of one scenario. */
export function fixtureDifferences(scenario: string, lxd: Fixture, incus: Fixture): Difference[] {
  const found = new Map<string, Difference>();
  const at = (where: string) => (key: string): void => {
    if (!found.has(key)) found.set(key, { key, where });
  };
  const sig = (i: Interaction): string => `${i.request.method} ${i.request.path}?${new URLSearchParams(i.request.query).toString()}`;
  for (const [x, y] of align(lxd.interactions.map(sig), incus.interactions.map(sig))) {
    const one = x !== undefined ? lxd.interactions[x]! : incus.interactions[y!]!;
    const add = at(`${scenario} #${x ?? y}`);
    const route = requestRoute(one);
    if (x === undefined || y === undefined) {
      add(`${route}: request only on ${x === undefined ? 'incus' : 'lxd'}`);
      continue;
    }
    const a = lxd.interactions[x]!;
    const b = incus.interactions[y]!;
    if (answerOf(a) !== answerOf(b)) {
      add(`${route}: answer ${answerOf(a)} → ${answerOf(b)}`);
      continue;
    }
    const ea = envelopeOf(a);
    const eb = envelopeOf(b);
    if (ea.type === 'error' || a.response.body === undefined) {
      if (maskText(ea.error ?? a.response.text ?? '') !== maskText(eb.error ?? b.response.text ?? '')) add(`${route}: error text`);
      continue;
    }
    const kind = subjectOf(a, ea.type ?? '');
    if (!kind) {
      compareObjects(route, ea.metadata, eb.metadata, add);
      continue;
    }
    if (kind.list && Array.isArray(ea.metadata) && Array.isArray(eb.metadata)) {
      const n = Math.max(ea.metadata.length, eb.metadata.length);
      for (let k = 0; k < n; k++) compareObjects(kind.subject, ea.metadata[k], eb.metadata[k], add);
    } else {
      compareObjects(kind.subject, ea.metadata, eb.metadata, add);
    }
  }
  const streams = Math.max(lxd.events?.length ?? 0, incus.events?.length ?? 0);
  for (let s = 0; s < streams; s++) {
    const ma = lxd.events?.[s]?.messages ?? [];
    const mb = incus.events?.[s]?.messages ?? [];
    const label = (m: Json): string => {
      const o = (m && typeof m === 'object' && !Array.isArray(m) ? m : {}) as Record<string, Json>;
      const md = (o['metadata'] && typeof o['metadata'] === 'object' ? o['metadata'] : {}) as Record<string, Json>;
      return `event ${String(o['type'])} ${String(md['action'] ?? md['description'] ?? '')}`.trim();
    };
    for (const [x, y] of align(ma.map((m) => label(m.message)), mb.map((m) => label(m.message)))) {
      const one = x !== undefined ? ma[x]!.message : mb[y!]!.message;
      const add = at(`${scenario} event ${x ?? y}`);
      if (x === undefined || y === undefined) {
        add(`${label(one)}: event only on ${x === undefined ? 'incus' : 'lxd'}`);
        continue;
      }
      const type = label(one).split(' ')[1]!;
      compareObjects(`event ${type}`, ma[x]!.message, mb[y]!.message, add);
    }
  }
  return [...found.values()];
}

/** `server/get` → `incus/server/get`: where the Incus recording of an LXD scenario is. */
export function incusScenario(scenario: string): string {
  return `incus/${scenario}`;
}
