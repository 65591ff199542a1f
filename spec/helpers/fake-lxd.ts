/**
 * A fake LXD daemon on a temporary unix socket, for specs that must not touch a real daemon (e.g.
 * paths that would give a bridge an address) or that need behaviour a real daemon can't be made to
 * show on demand (the three `/wait` behaviours, dropped event connections, slow or non-JSON answers).
 * Specs register routes; every request is recorded. Answers are LXD envelopes; async answers create
 * operations that `GET /1.0/operations/{id}` and `/wait` report as finished, so an
 * `LxdClient({ socketPath, useEvents: false })` works against it. `/1.0/events` upgrades to a
 * websocket the spec drives with `emit()` and `dropEvents()`.
 *
 * ```ts
 * const fake = await startFakeLxd();
 * fake.on('GET', '/1.0/profiles/default', () => sync(profile, { etag: '"e1"' }));
 * fake.on('PUT', '/1.0/instances/:name/state', () => fake.operation({ err: 'boom' }));
 * const client = fake.client();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { LxdClient } from '../../lib/lxd/client.js';

/** What `onWebsocket`'s `accept` says of an upgrade: take it, LXD's 403, or another refusal. */
export type WebsocketAccept = boolean | { status: number; error: string };

export interface FakeRequest {
  method: string;
  /** The path without the query, e.g. `/1.0/instances/c1/state`. */
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body (undefined when there was none). */
  body: unknown;
  headers: http.IncomingHttpHeaders;
  /** Values of the `:name` segments of the matched route. */
  params: Record<string, string>;
}

export interface FakeResponse {
  status?: number;
  /** JSON-encoded, unless a string (sent as text/plain). */
  body: unknown;
  headers?: Record<string, string>;
  /** Delay before answering (ms). */
  delayMs?: number;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/** A sync envelope with `metadata` (and an ETag header when given). */
export function sync(metadata: unknown, opts: { etag?: string; status?: number } = {}): FakeResponse {
  return {
    status: opts.status ?? 200,
    body: { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata },
    ...(opts.etag ? { headers: { etag: opts.etag } } : {}),
  };
}

/** An error envelope as LXD sends it (`errorCode` differs from the HTTP status in `/wait` answers of LXD 5.0.3+). */
export function lxdError(status: number, message: string, errorCode = status): FakeResponse {
  return { status, body: { type: 'error', status: '', status_code: 0, operation: '', error_code: errorCode, error: message, metadata: null } };
}

/** An operation object (Running unless overridden). */
export function operationObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    class: 'task',
    description: 'Doing things',
    created_at: now,
    updated_at: now,
    status: 'Running',
    status_code: 103,
    resources: null,
    metadata: null,
    may_cancel: false,
    err: '',
    location: 'none',
    ...overrides,
  };
}

/** An async (202) answer for `op`, whose later states the spec scripts itself. */
export function asyncAnswer(op: Record<string, unknown>): FakeResponse {
  const url = `/1.0/operations/${String(op['id'])}`;
  return { status: 202, headers: { location: url }, body: { type: 'async', status: 'Operation created', status_code: 100, operation: url, error_code: 0, error: '', metadata: op } };
}

export interface OperationSpec {
  /** Failure text; when set the operation ends in Failure (400). */
  err?: string;
  metadata?: Record<string, unknown>;
  description?: string;
  /** Metadata states reported before the final one (e.g. progress); one per `/wait` poll. */
  progress?: Record<string, unknown>[];
  /** The operation's `resources` (default null). */
  resources?: Record<string, string[]>;
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: FakeHandler;
}

export interface FakeLxd {
  socketPath: string;
  /** Every request, in order. */
  requests: FakeRequest[];
  /** Registers a route; later registrations win. `path` may have `:name` segments, or be a RegExp. */
  on(method: string, path: string | RegExp, handler: FakeHandler): void;
  /** The requests made to exactly `method path`. */
  requestsTo(method: string, path: string): FakeRequest[];
  /** Connected `/1.0/events` websockets. */
  eventClients: Set<WebSocket>;
  /** The query of every `/1.0/events` upgrade, in order. */
  eventQueries: URLSearchParams[];
  /** Set to false to refuse `/1.0/events` upgrades with LXD's text/plain 400 (clients then use `/wait`). */
  eventsEnabled: boolean;
  /** Sends an event to every events client. */
  emit(type: string, metadata: unknown): void;
  /**
   * Accepts websocket upgrades of paths matching `pattern` (exec and console websockets), handed to
   * `handler`; `accept` may refuse one first: `false` is LXD's 403 for a wrong secret, a
   * `{ status, error }` any other refusal (LXD's 500 for an operation that is no longer running).
   */
  onWebsocket(pattern: RegExp, handler: (ws: WebSocket, url: URL) => void, accept?: (url: URL) => WebsocketAccept): void;
  /** Drops every events connection (as a daemon restart would). */
  dropEvents(): void;
  /** An async answer whose operation ends as `spec` says. */
  operation(spec?: OperationSpec): FakeResponse;
  /** `requests` as `METHOD /path` strings, without operation polling and `GET /1.0`. */
  calls(): string[];
  /** A client for the fake (no events socket: waits use `/wait`). */
  client(): LxdClient;
  close(): Promise<void>;
}

/** The GET /1.0 the fake answers by default: LXD 5.0.2 on x86_64, not clustered. */
export function serverInfo(overrides: { extensions?: string[]; version?: string; clustered?: boolean; arch?: string } = {}): unknown {
  return {
    config: {},
    api_extensions: overrides.extensions ?? ['network', 'storage', 'image_create_aliases', 'clustering'],
    api_status: 'stable',
    api_version: '1.0',
    auth: 'trusted',
    public: false,
    auth_methods: ['tls'],
    environment: {
      architectures: ['x86_64', 'i686'],
      kernel_architecture: overrides.arch ?? 'x86_64',
      server: 'lxd',
      server_clustered: overrides.clustered ?? false,
      server_name: 'fake',
      server_version: overrides.version ?? '5.0.2',
    },
  };
}

export async function startFakeLxd(): Promise<FakeLxd> {
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-fake-lxd-'));
  const socketPath = join(dir, 'unix.socket');
  const routes: Route[] = [];
  const requests: FakeRequest[] = [];
  const operations = new Map<string, { final: Record<string, unknown>; pending: Record<string, unknown>[] }>();
  const clients: LxdClient[] = [];

  const opObject = (id: string, code: number, spec: OperationSpec, metadata: Record<string, unknown> | null): Record<string, unknown> => ({
    id,
    class: 'task',
    description: spec.description ?? 'fake operation',
    created_at: new Date(0).toISOString(),
    updated_at: new Date(0).toISOString(),
    status: code === 200 ? 'Success' : code === 400 ? 'Failure' : 'Running',
    status_code: code,
    resources: spec.resources ?? null,
    metadata,
    may_cancel: false,
    err: code === 400 ? (spec.err ?? '') : '',
    location: 'none',
  });

  const on = (method: string, path: string | RegExp, handler: FakeHandler): void => {
    if (path instanceof RegExp) {
      routes.unshift({ method, pattern: path, keys: [], handler });
      return;
    }
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) {
          keys.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    routes.unshift({ method, pattern: new RegExp(`^${source}$`), keys, handler });
  };

  const operation = (spec: OperationSpec = {}): FakeResponse => {
    const id = randomUUID();
    const final = opObject(id, spec.err !== undefined ? 400 : 200, spec, spec.metadata ?? null);
    const pending = (spec.progress ?? []).map((m) => opObject(id, 103, spec, m));
    operations.set(id, { final, pending });
    return {
      status: 202,
      body: { type: 'async', status: 'Operation created', status_code: 100, operation: `/1.0/operations/${id}`, error_code: 0, error: '', metadata: opObject(id, 103, spec, null) },
      headers: { location: `/1.0/operations/${id}` },
    };
  };

  on('GET', '/1.0', () => sync(serverInfo()));
  // every project exists (a client with a project asks once before its first call)
  on('GET', '/1.0/projects/:name', (req) => sync({ name: req.params['name'], description: '', config: { 'features.profiles': 'true' }, used_by: [] }, { etag: '"fake-project"' }));
  on('GET', '/1.0/operations/:id', (req) => {
    const op = operations.get(req.params['id'] ?? '');
    return op ? sync(op.pending[0] ?? op.final) : lxdError(404, 'Operation not found');
  });
  on('GET', '/1.0/operations/:id/wait', (req) => {
    const op = operations.get(req.params['id'] ?? '');
    if (!op) return lxdError(404, 'Operation not found');
    const next = op.pending.shift();
    return sync(next ?? op.final);
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://unix.socket');
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = raw === '' ? undefined : JSON.parse(raw);
        } catch {
          body = raw;
        }
        const method = req.method ?? 'GET';
        let answer: FakeResponse = lxdError(404, 'not found');
        let params: Record<string, string> = {};
        const route = routes.find((r) => r.method === method && r.pattern.test(url.pathname));
        if (route) {
          const m = route.pattern.exec(url.pathname);
          params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m?.[i + 1] ?? '')]));
        }
        const request: FakeRequest = { method, path: url.pathname, query: url.searchParams, body, headers: req.headers, params };
        requests.push(request);
        if (route) {
          try {
            answer = await route.handler(request);
          } catch (err) {
            answer = lxdError(500, `fake handler failed: ${(err as Error).message}`);
          }
        }
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        if (res.destroyed) return;
        const isText = typeof answer.body === 'string';
        const text = isText ? (answer.body as string) : JSON.stringify(answer.body);
        res.writeHead(answer.status ?? 200, { 'content-type': isText ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text), ...answer.headers });
        res.end(text);
      })();
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  const eventClients = new Set<WebSocket>();
  const eventQueries: URLSearchParams[] = [];
  const fake = { eventsEnabled: true };
  const wsRoutes: { pattern: RegExp; handler: (ws: WebSocket, url: URL) => void; accept?: ((url: URL) => WebsocketAccept) | undefined }[] = [];
  const wsConns = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://unix.socket');
    const wsRoute = wsRoutes.find((r) => r.pattern.test(url.pathname));
    const verdict = wsRoute?.accept ? wsRoute.accept(url) : true;
    if (verdict !== true) {
      const { status, error } = verdict === false ? { status: 403, error: 'permission denied' } : verdict;
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ type: 'error', error, error_code: status })}`);
      return;
    }
    if (wsRoute) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        wsConns.add(ws);
        ws.on('close', () => wsConns.delete(ws));
        wsRoute.handler(ws, url);
      });
      return;
    }
    if (url.pathname !== '/1.0/events' || !fake.eventsEnabled) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nBad Request');
      return;
    }
    eventQueries.push(url.searchParams);
    wss.handleUpgrade(req, socket, head, (ws) => {
      eventClients.add(ws);
      ws.on('close', () => eventClients.delete(ws));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });

  return {
    socketPath,
    requests,
    on,
    operation,
    requestsTo: (method, path) => requests.filter((r) => r.method === method && r.path === path),
    eventClients,
    eventQueries,
    get eventsEnabled() {
      return fake.eventsEnabled;
    },
    set eventsEnabled(v: boolean) {
      fake.eventsEnabled = v;
    },
    emit: (type, metadata) => {
      const msg = JSON.stringify({ type, timestamp: new Date().toISOString(), metadata, location: 'none', project: 'default' });
      for (const ws of eventClients) ws.send(msg);
    },
    dropEvents: () => {
      for (const ws of eventClients) ws.terminate();
    },
    onWebsocket: (pattern, handler, accept) => {
      wsRoutes.unshift({ pattern, handler, accept });
    },
    calls: () =>
      requests
        .filter((r) => !r.path.startsWith('/1.0/operations/') && !(r.method === 'GET' && r.path === '/1.0'))
        .map((r) => `${r.method} ${r.path}`),
    client: () => {
      const c = new LxdClient({ socketPath, useEvents: false });
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) await c.close();
      for (const ws of eventClients) ws.terminate();
      for (const ws of wsConns) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
