/**
 * Records what a real LXD daemon answers: an undici dispatcher that passes every request through to the
 * daemon and keeps the request/response pair, plus event streams captured from `/1.0/events`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { TestingError, TestingErrorCode } from './errors.js';
import { buildQuery } from '../lxd/path.js';
import { resolveSocketPath, type ServerKind } from '../lxd/socket.js';
import { deadline } from '../deadline.js';
import { withoutUndefined } from '../objects.js';
import { LOCAL_ORIGIN } from '../lxd/index.js';
import {
  splitPath,
  type EventStream,
  type Fixture,
  type Interaction,
  type Json,
  type RecordedRequest,
  type RecordedResponse,
  type RecordedWebsocket,
} from './fixture.js';
import { normaliseFixture, type NormaliseOptions } from './normalise.js';
import { hashing, isRecordedServerHeader, recordedBody } from './bodies.js';
import { startRecordingProxy, type RecordingProxy } from './proxy.js';

/** Response headers kept in fixtures (and the daemon's own `X-LXD-*`/`X-Incus-*` file headers). */
export const RECORDED_RESPONSE_HEADERS: readonly string[] = ['content-type', 'etag', 'location'];
/** Request headers kept in fixtures, as they change LXD's answer (and the daemon's own `X-LXD-*`/`X-Incus-*` headers). */
export const RECORDED_REQUEST_HEADERS: readonly string[] = ['if-match'];

/**
 * Options of `new Recorder()`: the daemon's socket or server kind (or a dispatcher), extra normalisation, and those of `normaliseFixture()`.
 */
export interface RecorderOptions extends NormaliseOptions {
  /** The daemon's unix socket (default: resolved as `LxdClient` does, for `server`). */
  socketPath?: string;
  /** Which daemon's socket to look for when no `socketPath` is given: `lxd` or `incus`. */
  server?: ServerKind;
  /** A dispatcher to record through instead of an own `Agent` on `socketPath` (it is not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** Extra normalisation applied after the built-in rules (e.g. to blank a value that changes per run). */
  normalise?: (fixture: Fixture) => Fixture;
  /** Per-request deadline for the recorder's own `GET /1.0` in `fixture()` (default 30 s). */
  timeoutMs?: number;
  /**
   * Whether the bytes of exec sessions recorded through `listen()` are kept (default `true`): what the
   * client fed the command (stdin) and what it printed (stdout, stderr, a pty) are written to the
   * fixture as they are, unredacted. With `false` only the frames that carry no data are kept (the
   * end-of-stream barriers, and the control websocket's messages: window size, signals); each
   * websocket is marked `"streams": "omitted"`, and its replay sends no output and accepts any input.
   */
  recordExecStreams?: boolean;
}

/**
 * Options of `Recorder.recordEvents()`: the event types, the project, a filter, and how long to wait for the events to settle.
 */
export interface RecordEventsOptions {
  /** Event types (`lifecycle`, `logging`, `operation`); all types when omitted. */
  types?: string[];
  project?: string;
  allProjects?: boolean;
  /** Keep only the messages this returns true for (e.g. events about your own instances on a shared daemon). */
  filter?: (message: Json) => boolean;
  /** After the block, wait until no event arrived for this long (default 500 ms) ... */
  settleMs?: number;
  /** ... but no longer than this (default 5 s). */
  maxSettleMs?: number;
  /** Deadline for the websocket handshake (default 10 s). */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

function parseJson(text: string): { ok: true; value: Json } | { ok: false } {
  if (text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch {
    return { ok: false };
  }
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (Array.isArray(headers)) {
    // undici's flat [name, value, name, value, ...] form
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    }
    return undefined;
  }
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const v: unknown = get.call(headers, name);
    return typeof v === 'string' ? v : undefined;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name && v !== undefined && v !== null) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}

/** Every header as lower-case name and value, from undici's flat array, a Headers-like object or a record. */
function headerEntries(headers: unknown): [string, string][] {
  if (!headers || typeof headers !== 'object') return [];
  if (Array.isArray(headers)) {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) out.push([String(headers[i]).toLowerCase(), String(headers[i + 1])]);
    return out;
  }
  const entries = (headers as { entries?: unknown }).entries;
  const list: [string, unknown][] = typeof entries === 'function' && !(headers.constructor === Object) ? [...(entries.call(headers) as Iterable<[string, unknown]>)] : Object.entries(headers as Record<string, unknown>);
  return list.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? String(v[0]) : String(v)]);
}

/**
 * Records request/response pairs and event streams from a real daemon into a fixture.
 *
 * ```ts
 * const rec = new Recorder({ replace: { [runPrefix]: 'myapp-test' } });
 * const client = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
 * await (await client.instances.create({ name: `${runPrefix}-c1`, source: { type: 'image', alias: 'busybox' } })).wait();
 * await rec.save('fixtures/myapp/create.json');
 * await client.close();
 * await rec.close();
 * ```
 *
 * Use `useEvents: false` on the recording client: operations are then waited with `/wait`, which is
 * recorded; the events websocket is not (capture event streams with `recordEvents`).
 */
export class Recorder {
  /** Give this to `new LxdClient({ dispatcher })`: every request it sends is recorded. */
  readonly dispatcher: Dispatcher;
  readonly socketPath: string;
  private readonly inner: Dispatcher;
  private readonly ownsInner: boolean;
  private readonly opts: RecorderOptions;
  private readonly recorded: Interaction[] = [];
  private readonly streams: EventStream[] = [];
  private readonly websockets: RecordedWebsocket[] = [];
  private readonly open = new Set<WebSocket>();
  private proxy: RecordingProxy | undefined;

  constructor(opts: RecorderOptions = {}) {
    this.opts = opts;
    this.socketPath = resolveSocketPath(opts.socketPath, process.env, opts.server);
    this.ownsInner = opts.dispatcher === undefined;
    this.inner =
      opts.dispatcher ??
      new Agent({ connect: { socketPath: this.socketPath }, keepAliveTimeout: 20_000, keepAliveMaxTimeout: 25_000, headersTimeout: 0, bodyTimeout: 0 });
    this.dispatcher = this.inner.compose((dispatch) => (dopts, handler) => this.intercept(dispatch, dopts, handler));
  }

  /** The interactions recorded so far (not normalised), in the order their responses completed. */
  get interactions(): readonly Interaction[] {
    return this.recorded;
  }

  /** Forgets everything recorded so far (to record the next fixture with the same client). */
  reset(): void {
    this.recorded.length = 0;
    this.streams.length = 0;
    this.websockets.length = 0;
  }

  /**
   * A unix socket in front of the daemon, for `new LxdClient({ socketPath })`: its requests are recorded
   * as through `dispatcher`, and so are the frames of operation websockets (exec sessions), which a
   * dispatcher never sees. Events upgrades are refused, so the client waits with `/wait` (recorded).
   */
  async listen(): Promise<string> {
    this.proxy ??= await startRecordingProxy({
      dispatcher: this.dispatcher,
      daemonSocket: this.socketPath,
      interactions: () => this.recorded,
      onWebsocket: (ws) => this.websockets.push(ws),
      recordStreams: this.opts.recordExecStreams !== false,
    });
    return this.proxy.socketPath;
  }

  private intercept(dispatch: Dispatcher.Dispatch, dopts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const { path, query } = splitPath(dopts.path);
    const req: RecordedRequest = { method: dopts.method, path, query };
    const ifMatch = headerValue(dopts.headers, 'if-match');
    if (ifMatch !== undefined) req.headers = { 'if-match': ifMatch };
    for (const [name, value] of headerEntries(dopts.headers)) if (isRecordedServerHeader(name)) req.headers = { ...req.headers, [name]: value };
    const body = dopts.body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const text = body.toString();
      const parsed = parseJson(text);
      if (parsed.ok) req.body = parsed.value;
      else if (text !== '') req.text = text;
    } else if (body !== undefined && body !== null) {
      req.text = '[stream]';
      // the bytes are not kept, their size and hash are (filled in as they go out)
      const stream = (req.stream = { bytes: 0, sha256: '' });
      dopts = { ...dopts, body: hashing(body as AsyncIterable<Uint8Array>, stream) as unknown as Dispatcher.DispatchOptions['body'] };
    }
    let status = 0;
    let headers: unknown = {};
    const chunks: Buffer[] = [];
    const wrapped: Dispatcher.DispatchHandler = {
      onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
      onRequestUpgrade: (c, s, h, socket) => handler.onRequestUpgrade?.(c, s, h, socket),
      onResponseStart: (c, s, h, m) => {
        status = s;
        headers = h;
        return handler.onResponseStart?.(c, s, h, m);
      },
      onResponseData: (c, chunk) => {
        chunks.push(Buffer.from(chunk));
        return handler.onResponseData?.(c, chunk);
      },
      onResponseEnd: (c, trailers) => {
        this.recorded.push({ request: req, response: this.response(status, headers, Buffer.concat(chunks)) });
        return handler.onResponseEnd?.(c, trailers);
      },
      onResponseError: (c, err) => handler.onResponseError?.(c, err),
    };
    return dispatch(dopts, wrapped);
  }

  private response(status: number, headers: unknown, bytes: Buffer): RecordedResponse {
    const kept: Record<string, string> = {};
    for (const name of RECORDED_RESPONSE_HEADERS) {
      const v = headerValue(headers, name);
      if (v !== undefined) kept[name] = v;
    }
    for (const [name, value] of headerEntries(headers)) if (isRecordedServerHeader(name)) kept[name] = value;
    return { status, headers: kept, ...recordedBody(bytes) };
  }

  /**
   * Captures the `/1.0/events` stream while `block` runs (the subscription is open before it starts),
   * then waits for the stream to settle. Each message records how many interactions had completed
   * when it arrived, so a replay sends it at the same point.
   */
  async recordEvents<T>(opts: RecordEventsOptions, block: () => Promise<T>): Promise<T> {
    const query: Record<string, string> = {};
    if (opts.types?.length) query['type'] = opts.types.join(',');
    if (opts.allProjects) query['all-projects'] = 'true';
    else if (opts.project) query['project'] = opts.project;
    const stream: EventStream = { path: '/1.0/events', query: splitPath(`/x${buildQuery(query)}`).query, messages: [] };
    let lastAt = Date.now();
    const ws = new WebSocket(`ws+unix://${this.socketPath}:/1.0/events${buildQuery(query)}`, { handshakeTimeout: opts.connectTimeoutMs ?? 10_000 });
    this.open.add(ws);
    ws.on('message', (data) => {
      lastAt = Date.now();
      const parsed = parseJson(Buffer.from(data as Buffer).toString('utf8'));
      if (!parsed.ok) return;
      if (opts.filter && !opts.filter(parsed.value)) return;
      stream.messages.push({ after: this.recorded.length, message: parsed.value });
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(new TestingError(TestingErrorCode.RECORDING, `recorder: cannot subscribe to ${this.socketPath} /1.0/events: ${err.message}`, { cause: err })));
      ws.once('unexpected-response', (_r, res) => reject(new TestingError(TestingErrorCode.RECORDING, `recorder: events websocket refused: HTTP ${res.statusCode}`)));
    });
    let broken: Error | undefined;
    ws.on('error', (err) => {
      broken ??= err;
    });
    ws.on('close', () => {
      broken ??= new Error('the daemon closed the events connection');
    });
    try {
      const result = await block();
      const settle = opts.settleMs ?? 500;
      const until = Date.now() + (opts.maxSettleMs ?? 5_000);
      while (Date.now() < until && Date.now() - lastAt < settle) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        await new Promise((r) => setTimeout(r, 50));
      }
      const failure = broken ?? (ws.readyState !== WebSocket.OPEN ? new Error('the events connection is not open') : undefined);
      if (failure) throw new TestingError(TestingErrorCode.RECORDING, `recorder: the events stream broke while recording (${failure.message}); events may be missing, record again`, { cause: failure });
      return result;
    } finally {
      ws.close();
      this.open.delete(ws);
      this.streams.push(stream);
    }
  }

  /** The fixture recorded so far, normalised. Asks the daemon (unrecorded) for its version. */
  async fixture(opts: { description?: string; signal?: AbortSignal } = {}): Promise<Fixture> {
    const lxd = await this.serverInfo(opts.signal);
    // The fixture is saved and compared with deep equality.
    const raw: Fixture = withoutUndefined({
      format: 1 as const,
      description: opts.description,
      lxd,
      recordedAt: new Date().toISOString(),
      interactions: structuredClone(this.recorded),
      events: this.streams.length ? structuredClone(this.streams) : undefined,
      websockets: this.websockets.length ? structuredClone(this.websockets) : undefined,
    });
    const normalised = normaliseFixture(raw, this.opts);
    return this.opts.normalise ? this.opts.normalise(normalised) : normalised;
  }

  /** Writes the normalised fixture as pretty JSON (creating directories) and returns it. */
  async save(file: string, opts: { description?: string; signal?: AbortSignal } = {}): Promise<Fixture> {
    const fx = await this.fixture(opts);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(fx, null, 2)}\n`, { signal: opts.signal });
    return fx;
  }

  private async serverInfo(signal?: AbortSignal): Promise<Fixture['lxd']> {
    const dl = deadline(signal, this.opts.timeoutMs ?? 30_000);
    try {
      const res = await request(`${LOCAL_ORIGIN}/1.0`, { dispatcher: this.inner, signal: dl.signal });
      const body = (await res.body.json()) as { metadata?: { environment?: { server_version?: unknown; server?: unknown }; api_extensions?: unknown } };
      const version = body.metadata?.environment?.server_version;
      const server = body.metadata?.environment?.server;
      const ext = body.metadata?.api_extensions;
      return withoutUndefined({ version: typeof version === 'string' ? version : 'unknown', api_extensions_count: Array.isArray(ext) ? ext.length : 0, server: typeof server === 'string' ? server : undefined });
    } finally {
      dl.clear();
    }
  }

  /** Closes open event subscriptions and the recorder's own connection to the daemon. */
  async close(): Promise<void> {
    for (const ws of this.open) ws.terminate();
    this.open.clear();
    await this.proxy?.close();
    this.proxy = undefined;
    if (this.ownsInner) await this.inner.close();
  }
}
