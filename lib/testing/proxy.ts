/**
 * The recording proxy of `Recorder.listen()`: a unix socket in front of the daemon. HTTP requests go
 * through the recorder's dispatcher (so they are recorded as interactions); operation websocket
 * upgrades (exec sessions) are passed through to the daemon frame by frame, and every frame is kept.
 * The websocket secrets are used to reach the daemon and to name the fd, never kept.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request, type Dispatcher } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { LOCAL_ORIGIN } from '../lxd/transport.js';
import { frame } from './bodies.js';
import { splitPath, type Interaction, type RecordedWebsocket } from './fixture.js';

export interface RecordingProxyOptions {
  dispatcher: Dispatcher;
  daemonSocket: string;
  /** The recorder's raw (not yet normalised) interactions: the exec answers hold the fd secrets. */
  interactions: () => readonly Interaction[];
  onWebsocket: (ws: RecordedWebsocket) => void;
  /** Keep the data frames of exec websockets (stdin, stdout, stderr); false keeps barriers and control messages only. */
  recordStreams: boolean;
}

export interface RecordingProxy {
  socketPath: string;
  close(): Promise<void>;
}

/** Hop-by-hop headers, never forwarded. */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'proxy-connection', 'te', 'trailer']);

const OPERATION_WEBSOCKET = /^\/1\.0\/operations\/([^/]+)\/websocket$/;

/** The fd an exec answer gave this secret, looked up in the raw interactions. */
function fdOf(interactions: readonly Interaction[], operation: string, secret: string): string | undefined {
  for (let i = interactions.length - 1; i >= 0; i--) {
    const body = interactions[i]!.response.body as { metadata?: { id?: unknown; metadata?: { fds?: unknown } } } | undefined;
    const op = body?.metadata;
    if (!op || op.id !== operation) continue;
    const fds = op.metadata?.fds;
    if (fds && typeof fds === 'object') {
      for (const [fd, s] of Object.entries(fds as Record<string, unknown>)) if (s === secret) return fd;
    }
  }
  return undefined;
}

export async function startRecordingProxy(opts: RecordingProxyOptions): Promise<RecordingProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-record-'));
  const socketPath = join(dir, 'unix.socket');
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
      // a JSON body is passed whole, so that the recorder keeps it (and the replayer matches it); any
      // other body (a file, a tarball) streams through
      let body: IncomingMessage | string | null = hasBody ? req : null;
      if (hasBody && /^application\/json/i.test(req.headers['content-type'] ?? '')) {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        body = Buffer.concat(chunks).toString('utf8');
      }
      const up = await request(`${LOCAL_ORIGIN}${req.url ?? '/'}`, {
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher: opts.dispatcher,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      await pipeline(up.body, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: 'lxdkit recording proxy: the daemon did not answer', error_code: 502, metadata: null }));
      else res.destroy();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { path, query } = splitPath(req.url ?? '/');
    const m = OPERATION_WEBSOCKET.exec(path);
    if (!m) {
      // events are not recorded this way: the client waits with /wait, which is
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n');
      return;
    }
    const operation = decodeURIComponent(m[1]!);
    const fd = fdOf(opts.interactions(), operation, query['secret'] ?? '') ?? 'unknown';
    const recorded: RecordedWebsocket = { path, operation, fd, after: opts.interactions().length, frames: [] };
    if (!opts.recordStreams) recorded.streams = 'omitted';
    // without streams: the control websocket's messages and the empty end-of-stream barriers, no data
    const keep = (bytes: Buffer, isBinary: boolean): boolean => opts.recordStreams || fd === 'control' || (!isBinary && bytes.length === 0);
    const daemon = new WebSocket(`ws+unix://${opts.daemonSocket}:${req.url ?? '/'}`, { handshakeTimeout: 10_000 });
    sockets.add(daemon);
    daemon.once('unexpected-response', (_r, res) => {
      // the daemon's refusal goes to the client as it came: status, type and (up to 4 KiB of) its reason
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        const type = String(res.headers['content-type'] ?? 'text/plain').replace(/[\r\n]/g, '');
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${res.statusCode ?? 502} Refused\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
        daemon.terminate();
      };
      const timer = setTimeout(finish, 1000);
      res.on('data', (d: Buffer) => {
        if (size >= 4096) return;
        chunks.push(d.subarray(0, 4096 - size));
        size += d.length;
      });
      res.once('end', finish);
      res.once('error', finish);
    });
    daemon.once('error', () => socket.destroy());
    daemon.once('open', () => {
      opts.onWebsocket(recorded);
      wss.handleUpgrade(req, socket, head, (client) => {
        sockets.add(client);
        daemon.on('message', (data, isBinary) => {
          const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
          if (keep(bytes, isBinary)) recorded.frames.push(frame('daemon', bytes, isBinary));
          if (client.readyState === client.OPEN) client.send(bytes, { binary: isBinary });
        });
        client.on('message', (data, isBinary) => {
          const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
          if (keep(bytes, isBinary)) recorded.frames.push(frame('client', bytes, isBinary));
          if (daemon.readyState === daemon.OPEN) daemon.send(bytes, { binary: isBinary });
        });
        // a side that goes away takes the other with it, as LXD drops its sockets
        daemon.on('close', () => client.terminate());
        client.on('close', () => {
          if (daemon.readyState === daemon.OPEN) daemon.close();
        });
        client.on('error', () => daemon.terminate());
        daemon.on('error', () => client.terminate());
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    socketPath,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
