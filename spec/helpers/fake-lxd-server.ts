/**
 * A scriptable fake LXD on a temporary unix socket (node:http + a ws upgrade on /1.0/events), for unit
 * specs of behaviour a real daemon can't be made to show on demand: the three `/wait` behaviours,
 * dropped event connections, slow answers, non-JSON bodies.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeReply {
  status?: number;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before answering (ms). */
  delayMs?: number;
}

export type Handler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export const envelopes = {
  sync(metadata: unknown, status = 200): FakeReply {
    return { status, body: { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata } };
  },
  async(op: Record<string, unknown>): FakeReply {
    return { status: 202, headers: { location: `/1.0/operations/${String(op['id'])}` }, body: { type: 'async', status: 'Operation created', status_code: 100, operation: `/1.0/operations/${String(op['id'])}`, error_code: 0, error: '', metadata: op } };
  },
  error(code: number, message: string, httpStatus = code): FakeReply {
    return { status: httpStatus, body: { type: 'error', status: '', status_code: 0, operation: '', error_code: code, error: message, metadata: null } };
  },
};

export function operation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    class: 'task',
    description: 'Doing things',
    created_at: now,
    updated_at: now,
    status: 'Running',
    status_code: 103,
    resources: { instances: ['/1.0/instances/c1'] },
    metadata: null,
    may_cancel: false,
    err: '',
    location: 'none',
    ...overrides,
  };
}

export class FakeLxd {
  readonly socketPath: string;
  readonly requests: FakeRequest[] = [];
  readonly eventClients = new Set<WebSocket>();
  /** Query strings the events websocket was opened with. */
  readonly eventQueries: URLSearchParams[] = [];
  /** Set to false to refuse event websocket upgrades (the client then falls back to /wait). */
  eventsEnabled = true;
  private readonly routes: { method: string; path: string | RegExp; handler: Handler }[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly dir: string;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'lxdkit-fake-'));
    this.socketPath = join(this.dir, 'unix.socket');
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://unix.socket');
      if (url.pathname !== '/1.0/events' || !this.eventsEnabled) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nBad Request');
        return;
      }
      this.eventQueries.push(url.searchParams);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.eventClients.add(ws);
        ws.on('close', () => this.eventClients.delete(ws));
      });
    });
  }

  static async start(): Promise<FakeLxd> {
    const f = new FakeLxd();
    await new Promise<void>((resolve) => f.server.listen(f.socketPath, resolve));
    return f;
  }

  on(method: string, path: string | RegExp, handler: Handler): this {
    this.routes.unshift({ method, path, handler });
    return this;
  }

  /** Sends an event to every connected events client. */
  emit(type: string, metadata: unknown): void {
    const msg = JSON.stringify({ type, timestamp: new Date().toISOString(), metadata, location: 'none', project: 'default' });
    for (const ws of this.eventClients) ws.send(msg);
  }

  /** Drops every events connection (as a daemon restart would). */
  dropEvents(): void {
    for (const ws of this.eventClients) ws.terminate();
  }

  requestsTo(method: string, path: string): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://unix.socket');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // keep the raw text
    }
    const fr: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    this.requests.push(fr);
    const route = this.routes.find((r) => r.method === fr.method && (typeof r.path === 'string' ? r.path === fr.path : r.path.test(fr.path)));
    const reply = route ? await route.handler(fr) : envelopes.error(404, 'not found (no fake route)');
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    const isText = typeof reply.body === 'string';
    res.writeHead(reply.status ?? 200, { 'content-type': isText ? 'text/plain' : 'application/json', ...reply.headers });
    res.end(isText ? (reply.body as string) : JSON.stringify(reply.body ?? null));
  }

  async close(): Promise<void> {
    for (const ws of this.eventClients) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
