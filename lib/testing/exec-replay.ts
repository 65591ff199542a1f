/**
 * Replays recorded operation websockets (exec sessions) on the replay server. The exec answer the
 * server serves gets a fresh secret per fd (the fixture holds only `[redacted]`), so the client's
 * connections can be told apart; once every websocket the recording had for that operation is
 * connected (as LXD waits for them), each one plays its frames in order: the daemon's are sent, the
 * client's are awaited and compared. Then the sockets are dropped, as LXD drops them. A websocket
 * recorded without its streams (`streams: "omitted"`) sends no data and takes the client's unseen.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { frameBytes, sha256 } from './bodies.js';
import type { Fixture, RecordedWebsocket, WebsocketFrame } from './fixture.js';

/** How long a replayed websocket waits for a frame the client sent in the recording. */
const CLIENT_FRAME_WAIT_MS = 10_000;

interface Connected {
  ws: WebSocket;
  recorded: RecordedWebsocket;
  /** Client frames not yet matched. */
  inbox: { data: Buffer; isBinary: boolean }[];
  wake: (() => void) | undefined;
  closed: boolean;
}

export class ExecReplay {
  /** secret → the operation and fd it was handed out for. */
  private readonly secrets = new Map<string, { operation: string; fd: string }>();
  private readonly sessions = new Map<string, Map<string, Connected>>();
  private readonly open = new Set<WebSocket>();

  constructor(
    private readonly fixtures: readonly Fixture[],
    private readonly mismatch: (path: string, reason: string) => void,
  ) {}

  /** The recorded websockets of an operation, by fd. */
  private recordedFor(operation: string): Map<string, RecordedWebsocket> {
    const out = new Map<string, RecordedWebsocket>();
    for (const f of this.fixtures) for (const w of f.websockets ?? []) if (w.operation === operation && !out.has(w.fd)) out.set(w.fd, w);
    return out;
  }

  /**
   * Gives the fds of an exec answer fresh secrets (the recording holds `[redacted]`). Returns the body
   * to serve, changed or not.
   */
  rewriteAnswer(body: string): string {
    if (!body.includes('"fds"')) return body;
    let env: { type?: unknown; metadata?: { id?: unknown; metadata?: { fds?: unknown } } };
    try {
      env = JSON.parse(body) as typeof env;
    } catch {
      return body;
    }
    const op = env.metadata;
    const fds = op?.metadata?.fds;
    if (env.type !== 'async' || typeof op?.id !== 'string' || !fds || typeof fds !== 'object') return body;
    for (const fd of Object.keys(fds)) {
      const secret = randomBytes(16).toString('hex');
      (fds as Record<string, string>)[fd] = secret;
      this.secrets.set(secret, { operation: op.id, fd });
    }
    return JSON.stringify(env);
  }

  /** Whether an upgrade of `path` with `secret` is one of ours. */
  knows(secret: string | undefined): boolean {
    return secret !== undefined && this.secrets.has(secret);
  }

  /** Takes a connected client websocket of an exec session. */
  attach(ws: WebSocket, secret: string): void {
    const who = this.secrets.get(secret)!;
    this.open.add(ws);
    ws.on('close', () => this.open.delete(ws));
    const recordedFds = this.recordedFor(who.operation);
    const recorded = recordedFds.get(who.fd);
    if (!recorded) {
      this.mismatch(`/1.0/operations/${who.operation}/websocket`, `websocket ${who.fd} of operation ${who.operation} was never recorded`);
      ws.terminate();
      return;
    }
    let session = this.sessions.get(who.operation);
    if (!session) this.sessions.set(who.operation, (session = new Map()));
    const c: Connected = { ws, recorded, inbox: [], wake: undefined, closed: false };
    ws.on('message', (data, isBinary) => {
      c.inbox.push({ data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary });
      c.wake?.();
    });
    ws.on('close', () => {
      c.closed = true;
      c.wake?.();
    });
    session.set(who.fd, c);
    // LXD starts the command once every websocket it handed out is connected
    if ([...recordedFds.keys()].every((fd) => session.has(fd))) void this.play(who.operation, session);
  }

  private async play(operation: string, session: Map<string, Connected>): Promise<void> {
    const control = session.get('control');
    const data = [...session.values()].filter((c) => c !== control);
    await Promise.all(data.map((c) => this.playOne(c)));
    if (control) await this.playOne(control);
    for (const c of session.values()) c.ws.terminate();
    this.sessions.delete(operation);
  }

  private async next(c: Connected): Promise<{ data: Buffer; isBinary: boolean } | undefined> {
    const deadline = Date.now() + CLIENT_FRAME_WAIT_MS;
    while (c.inbox.length === 0 && !c.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        c.wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
      });
      c.wake = undefined;
    }
    return c.inbox.shift();
  }

  private async playOne(c: Connected): Promise<void> {
    const where = c.recorded.path;
    const frames = c.recorded.frames;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.from === 'daemon') {
        if (c.ws.readyState !== c.ws.OPEN) return;
        c.ws.send(f.kind === 'text' ? (f.text ?? '') : frameBytes(f), { binary: f.kind === 'binary' });
        continue;
      }
      if (f.kind === 'text') {
        let got = await this.next(c);
        // recorded without streams: whatever data the client sends before its barrier is accepted unseen
        if (c.recorded.streams === 'omitted') while (got?.isBinary) got = await this.next(c);
        if (!got || got.isBinary || got.data.toString('utf8') !== (f.text ?? '')) {
          this.mismatch(where, `websocket ${c.recorded.fd}: the client ${got ? `sent ${got.isBinary ? 'binary data' : JSON.stringify(got.data.toString('utf8'))}` : 'sent nothing'} where it sent ${describe(f)} in the recording`);
          if (!got) return;
        }
        continue;
      }
      // the client's data up to its next text frame, however it was cut into frames
      let want = frameBytes(f);
      while (frames[i + 1]?.from === 'client' && frames[i + 1]?.kind === 'binary') want = Buffer.concat([want, frameBytes(frames[++i]!)]);
      let got = Buffer.alloc(0);
      while (got.length < want.length) {
        const next = await this.next(c);
        if (!next) break;
        if (!next.isBinary) {
          c.inbox.unshift(next);
          break;
        }
        got = Buffer.concat([got, next.data]);
      }
      if (got.length > want.length) {
        c.inbox.unshift({ data: got.subarray(want.length), isBinary: true });
        got = got.subarray(0, want.length);
      }
      if (!got.equals(want)) {
        this.mismatch(where, `websocket ${c.recorded.fd}: the client sent ${got.length} bytes (SHA-256 ${sha256(got).slice(0, 12)}) where it sent ${want.length} bytes (SHA-256 ${sha256(want).slice(0, 12)}) in the recording`);
      }
    }
  }

  close(): void {
    for (const ws of this.open) ws.terminate();
    this.open.clear();
  }
}

function describe(f: WebsocketFrame): string {
  if (f.kind === 'text') return f.text === '' ? 'the end-of-stream barrier' : `text ${JSON.stringify(f.text)}`;
  return `${frameBytes(f).length} bytes`;
}
