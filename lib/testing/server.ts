/**
 * A replay server: recorded fixtures served over HTTP on a temporary unix socket, with the `/1.0/events`
 * websocket replaying recorded event streams, so an unmodified `LxdClient({ socketPath })` runs against it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { splitPath, type EventStream, type Fixture } from './fixture.js';
import { ExecReplay } from './exec-replay.js';
import { Replayer, type ReplayerOptions } from './replayer.js';

/** A replay server on a temporary unix socket (`startReplayServer()`): answers what its fixture recorded. */
export interface ReplayServer {
  /** Give this to `new LxdClient({ socketPath })`. */
  socketPath: string;
  replayer: Replayer;
  /** Event subscriptions refused because no recorded stream had their `type` filter (`/1.0/events?...`). */
  refusedEventSubscriptions(): readonly string[];
  /** Stops the server, drops its connections and removes the socket. */
  close(): Promise<void>;
}

interface Subscriber {
  ws: WebSocket;
  fixture: number;
  stream: EventStream;
  sent: number;
}

function typesOf(query: Record<string, string>): string {
  return (query['type'] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .sort()
    .join(',');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Starts a replay server for `fixtures` on a fresh socket under the system temp directory.
 *
 * HTTP requests are answered by a `Replayer` (see its matching rules). Operation websockets (exec
 * sessions recorded through `Recorder.listen()`) play their recorded frames. A websocket upgrade on
 * `/1.0/events` is accepted when a fixture recorded a stream with the same `type` filter: the stream's
 * messages are sent as the interactions they followed are served. Any other events upgrade is refused
 * with LXD's `400 Bad Request`, which makes the client wait for operations with `/wait` (what the
 * recordings hold).
 */
export async function startReplayServer(fixtures: Fixture | readonly Fixture[], opts: ReplayerOptions & { signal?: AbortSignal } = {}): Promise<ReplayServer> {
  const replayer = new Replayer(fixtures, opts);
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-replay-'));
  const socketPath = join(dir, 'unix.socket');
  const subscribers = new Set<Subscriber>();
  const refused: string[] = [];
  const wss = new WebSocketServer({ noServer: true });

  const flush = (): void => {
    for (const s of subscribers) {
      const served = replayer.servedCount(s.fixture);
      while (s.sent < s.stream.messages.length && s.stream.messages[s.sent]!.after <= served) {
        const m = s.stream.messages[s.sent]!;
        s.sent += 1;
        if (s.ws.readyState === s.ws.OPEN) s.ws.send(JSON.stringify(m.message));
      }
    }
  };
  const stopListening = replayer.onServed(() => flush());
  const exec = new ExecReplay(replayer.fixtures, (path, reason) => replayer.reportMismatch('WEBSOCKET', path, reason));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void readBody(req).then(
      (bytes) => {
        const r = replayer.handle({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: bytes.toString('utf8'), bodyBytes: bytes });
        // an exec answer: its websockets get secrets of their own (the recording has none)
        const body = typeof r.body === 'string' ? exec.rewriteAnswer(r.body) : r.body;
        res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      () => res.destroy(),
    );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { path, query } = splitPath(req.url ?? '/');
    if (/^\/1\.0\/operations\/[^/]+\/websocket$/.test(path) && exec.knows(query['secret'])) {
      wss.handleUpgrade(req, socket, head, (ws) => exec.attach(ws, query['secret']!));
      return;
    }
    const types = typesOf(query);
    let found: { fixture: number; stream: EventStream } | undefined;
    if (path === '/1.0/events') {
      replayer.fixtures.forEach((f, fixture) => {
        for (const stream of f.events ?? []) if (!found && typesOf(stream.query) === types) found = { fixture, stream };
      });
    }
    if (!found) {
      refused.push(req.url ?? '/');
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n');
      return;
    }
    const match = found;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sub: Subscriber = { ws, fixture: match.fixture, stream: match.stream, sent: 0 };
      subscribers.add(sub);
      ws.on('close', () => subscribers.delete(sub));
      ws.on('error', () => subscribers.delete(sub));
      flush();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopListening();
    exec.close();
    for (const s of subscribers) s.ws.terminate();
    subscribers.clear();
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await rm(dir, { recursive: true, force: true });
  };
  opts.signal?.addEventListener('abort', () => void close(), { once: true });

  return { socketPath, replayer, refusedEventSubscriptions: () => [...refused], close };
}
