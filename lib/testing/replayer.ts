/**
 * Serves recorded fixtures to the client without a daemon. `Replayer` matches each request to a recorded
 * interaction; `replayer.dispatcher` plugs it into `new LxdClient({ dispatcher })`, and
 * `startReplayServer` (server.ts) serves it on a unix socket with the events websocket.
 */
import { isDeepStrictEqual } from 'node:util';
import { MockAgent, type Dispatcher } from 'undici';
import { REDACTED, redact } from '../logger.js';
import { TestingError, TestingErrorCode } from './errors.js';
import { responseBytes, sha256 } from './bodies.js';
import { describeRequest, splitPath, type Fixture, type Interaction, type Json } from './fixture.js';
import { describeRoute } from '../lxd/routes/match.js';
import { ROUTES } from '../lxd/routes/table.js';

/** A request as the replayer sees it. */
export interface ReplayRequest {
  method: string;
  /** Path with query, e.g. `/1.0/instances?recursion=1`. */
  path: string;
  /** As an object, or undici's flat `[name, value, ...]` array. */
  headers?: Record<string, string | string[] | undefined> | string[] | undefined;
  /** The body as sent (JSON text for the client's requests). */
  body?: string | undefined;
  /** The body's bytes, when the caller has them (the replay server): a streamed upload is checked by its hash. */
  bodyBytes?: Buffer | undefined;
}

/** What the replayer answers. */
export interface ReplayResponse {
  status: number;
  headers: Record<string, string>;
  /** Text, or bytes (a file's, recorded as base64). */
  body: string | Buffer;
}

/** A request no recorded interaction matched. */
export interface UnmatchedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Json | string | undefined;
  /** The closest recorded request, as `METHOD /path?query` with its fixture and index, if any. */
  closest: string | undefined;
  /** Why the closest one did not match. */
  reason: string;
}

/** Options of `new Replayer()` and `startReplayServer()`. */
export interface ReplayerOptions {
  /**
   * Match request bodies too (default true): a request whose JSON body differs from every recorded one
   * with the same method, path and query is unmatched. Turn it off when your code sends run-unique data.
   */
  matchBody?: boolean;
}

interface Entry {
  fixture: number;
  index: number;
  interaction: Interaction;
  used: boolean;
}

/** Thrown by `assertDone()`: requests went unmatched, or recorded interactions were never requested. */
export class ReplayMismatchError extends TestingError {
  override readonly name = 'ReplayMismatchError';
  readonly unmatched: readonly UnmatchedRequest[];
  readonly pending: readonly string[];
  constructor(message: string, unmatched: readonly UnmatchedRequest[], pending: readonly string[]) {
    super(TestingErrorCode.REPLAY_MISMATCH, message);
    this.unmatched = unmatched;
    this.pending = pending;
  }
}

/**
 * A recorded body matches a sent one when they are equal, except that a recorded `"[redacted]"`
 * (a secret the recorder never wrote down) matches any string sent in its place.
 */
function sameBody(recorded: Json | string | undefined, sent: Json | string | undefined): boolean {
  if (recorded === REDACTED && typeof sent === 'string') return true;
  if (Array.isArray(recorded)) return Array.isArray(sent) && recorded.length === sent.length && recorded.every((r, i) => sameBody(r, sent[i]));
  if (recorded !== null && typeof recorded === 'object' && sent !== null && typeof sent === 'object' && !Array.isArray(sent)) {
    const keys = Object.keys(recorded);
    return keys.length === Object.keys(sent).length && keys.every((k) => Object.hasOwn(sent, k) && sameBody(recorded[k], sent[k]));
  }
  return isDeepStrictEqual(recorded, sent);
}

function key(method: string, path: string, query: Record<string, string>): string {
  return describeRequest({ method: method.toUpperCase(), path, query });
}

function decodePath(p: string): string {
  try {
    return decodeURI(p);
  } catch {
    return p;
  }
}

function headerOf(headers: ReplayRequest['headers'] | string[], name: string): string | undefined {
  if (!headers) return undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name && v !== undefined) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** Edit distance, for naming the closest recorded request. */
function distance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * Matches requests to the recorded interactions of one or more fixtures: same method, path and sorted
 * query, the same `If-Match` when one was recorded, and (by default) the same JSON body. Identical
 * requests are answered in recorded order, each interaction once. A request that matches nothing gets
 * an LXD error envelope (HTTP 500) whose message names it and the closest recorded request, and is
 * listed by `unmatched()`; `assertDone()` throws if anything went unmatched or unused.
 */
export class Replayer {
  readonly fixtures: readonly Fixture[];
  private readonly entries: Entry[];
  private readonly misses: UnmatchedRequest[] = [];
  private readonly served: number[];
  private readonly listeners = new Set<(fixture: number, served: number) => void>();
  private readonly matchBody: boolean;
  private mock: MockAgent | undefined;

  constructor(fixtures: Fixture | readonly Fixture[], opts: ReplayerOptions = {}) {
    this.fixtures = Array.isArray(fixtures) ? [...(fixtures as readonly Fixture[])] : [fixtures as Fixture];
    this.entries = this.fixtures.flatMap((f, fixture) => f.interactions.map((interaction, index) => ({ fixture, index, interaction, used: false })));
    this.served = this.fixtures.map(() => 0);
    this.matchBody = opts.matchBody ?? true;
  }

  /** Answers one request from the recordings (never throws). */
  handle(req: ReplayRequest): ReplayResponse {
    const { path, query } = splitPath(req.path);
    const method = req.method.toUpperCase();
    const k = key(method, decodePath(path), query);
    let body: Json | string | undefined;
    if (req.body !== undefined && req.body !== '') {
      try {
        body = JSON.parse(req.body) as Json;
      } catch {
        body = req.body;
      }
    }
    const ifMatch = headerOf(req.headers, 'if-match');
    const candidates = this.entries.filter((e) => !e.used && key(e.interaction.request.method, decodePath(e.interaction.request.path), e.interaction.request.query) === k);
    // If-Match, and the daemon's own headers (a file's mode, owner, type), as recorded
    const headerOk = (e: Entry): boolean => {
      const recorded = e.interaction.request.headers ?? {};
      if ((recorded['if-match'] ?? undefined) !== ifMatch) return false;
      return Object.entries(recorded).every(([name, value]) => name === 'if-match' || headerOf(req.headers, name) === value);
    };
    const bodyOk = (e: Entry): boolean => {
      if (!this.matchBody) return true;
      const r = e.interaction.request;
      const recorded = r.body !== undefined ? r.body : r.text;
      if (recorded === '[stream]') return !r.stream || r.stream.sha256 === '' || req.bodyBytes === undefined || (req.bodyBytes.length === r.stream.bytes && sha256(req.bodyBytes) === r.stream.sha256);
      return sameBody(recorded, body);
    };
    const hit = candidates.find((e) => headerOk(e) && bodyOk(e));
    if (hit) {
      hit.used = true;
      const res = hit.interaction.response;
      const text = res.base64 !== undefined ? responseBytes(res) : res.body !== undefined ? JSON.stringify(res.body) : (res.text ?? '');
      const headers = { ...res.headers };
      if (!headers['content-type']) headers['content-type'] = res.body !== undefined ? 'application/json' : 'text/plain; charset=utf-8';
      this.served[hit.fixture] = (this.served[hit.fixture] ?? 0) + 1;
      const n = this.served[hit.fixture]!;
      queueMicrotask(() => {
        for (const l of this.listeners) l(hit.fixture, n);
      });
      return { status: res.status, headers, body: text };
    }
    const miss = this.miss(method, path, query, body, ifMatch, candidates);
    this.misses.push(miss);
    const message = `lxdkit replay: no recorded interaction for ${key(method, path, query)} (${describeRoute(ROUTES, method, decodePath(path))}): ${miss.reason}${miss.closest ? `; closest recorded: ${miss.closest}` : ''}`;
    return {
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: 500, error: message, metadata: null }),
    };
  }

  private label(e: Entry): string {
    const r = e.interaction.request;
    const f = this.fixtures[e.fixture]?.description;
    return `${describeRequest(r)} (fixture ${e.fixture}${f ? ` "${f}"` : ''}, interaction ${e.index}${e.used ? ', already used' : ''})`;
  }

  private miss(method: string, path: string, query: Record<string, string>, body: Json | string | undefined, ifMatch: string | undefined, candidates: Entry[]): UnmatchedRequest {
    const base = { method, path, query, body };
    const first = candidates[0];
    if (first) {
      const r = first.interaction.request;
      const recordedMatch = r.headers?.['if-match'];
      const reason =
        recordedMatch !== ifMatch
          ? `the If-Match header differs (recorded ${recordedMatch ?? 'none'}, sent ${ifMatch ?? 'none'})`
          : `the body differs (recorded ${JSON.stringify(r.body ?? r.text ?? null)}, sent ${JSON.stringify(redact(body ?? null))})`;
      return { ...base, closest: this.label(first), reason };
    }
    const want = key(method, decodePath(path), query);
    const same = this.entries.filter((e) => key(e.interaction.request.method, decodePath(e.interaction.request.path), e.interaction.request.query) === want);
    if (same.length) {
      return { ...base, closest: this.label(same[same.length - 1]!), reason: `all ${same.length} recorded answer(s) to it were already used` };
    }
    let best: Entry | undefined;
    let bestD = Infinity;
    for (const e of this.entries) {
      const r = e.interaction.request;
      // prefer the same method: a GET is more likely meant to match a GET
      const d = distance(want, key(r.method, decodePath(r.path), r.query)) + (r.method.toUpperCase() === method ? 0 : 8);
      if (d < bestD) {
        bestD = d;
        best = e;
      }
    }
    return { ...base, closest: best ? this.label(best) : undefined, reason: 'it was never recorded' };
  }

  /**
   * Records a mismatch found outside HTTP (an exec websocket whose client sent other data than
   * recorded): `unmatched()` lists it and `assertDone()` fails on it.
   */
  reportMismatch(method: string, path: string, reason: string): void {
    this.misses.push({ method, path, query: {}, body: undefined, closest: undefined, reason });
  }

  /** Requests that matched nothing, in order. */
  unmatched(): readonly UnmatchedRequest[] {
    return [...this.misses];
  }

  /** Recorded interactions not requested yet, as `METHOD /path?query (fixture, interaction)`. */
  pending(): string[] {
    return this.entries.filter((e) => !e.used).map((e) => this.label(e));
  }

  /** How many interactions of fixture `index` have been served. */
  servedCount(fixture = 0): number {
    return this.served[fixture] ?? 0;
  }

  /** Called after each served interaction (used by the replay server to release events). */
  onServed(listener: (fixture: number, served: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Throws `ReplayMismatchError` if any request went unmatched or (unless `allowPending`) any recorded
   * interaction was never requested. Call it at the end of each test.
   */
  assertDone(opts: { allowPending?: boolean } = {}): void {
    const pending = opts.allowPending ? [] : this.pending();
    if (this.misses.length === 0 && pending.length === 0) return;
    const lines: string[] = [];
    for (const m of this.misses) lines.push(`  unmatched: ${key(m.method, m.path, m.query)}: ${m.reason}${m.closest ? `; closest recorded: ${m.closest}` : ''}`);
    for (const p of pending) lines.push(`  never requested: ${p}`);
    throw new ReplayMismatchError(
      `replay did not follow the recording (${this.misses.length} unmatched, ${pending.length} never requested):\n${lines.join('\n')}\nRe-record the fixture if the code under test changed on purpose.`,
      [...this.misses],
      pending,
    );
  }

  /**
   * An undici dispatcher answering from the recordings, for `new LxdClient({ dispatcher, useEvents: false })`.
   * It answers every origin and never touches the network.
   */
  get dispatcher(): Dispatcher {
    if (!this.mock) {
      const mock = new MockAgent();
      mock.disableNetConnect();
      mock
        .get(() => true)
        .intercept({ path: () => true, method: () => true })
        .reply((o) => {
          const r = this.handle({
            method: o.method,
            path: o.path,
            headers: o.headers as Record<string, string> | string[] | undefined,
            body: typeof o.body === 'string' ? o.body : Buffer.isBuffer(o.body) ? o.body.toString('utf8') : undefined,
          });
          return { statusCode: r.status, data: r.body, responseOptions: { headers: r.headers } };
        })
        .persist();
      this.mock = mock;
    }
    return this.mock;
  }

  /** Closes the dispatcher. */
  async close(): Promise<void> {
    if (this.mock) await this.mock.close();
    this.mock = undefined;
  }
}
