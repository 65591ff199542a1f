/**
 * An exec endpoint on the fake daemon whose websockets a spec scripts (see spec/unit/lxd/exec.spec.ts).
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { asyncAnswer, operationObject, sync, type FakeLxd } from './fake-lxd.js';

export interface Session {
  /** fd name → the daemon side of its websocket. */
  sockets: Record<string, WebSocket>;
  /** Frames the client sent on each fd: Buffers for binary, strings for text. */
  received: Record<string, (Buffer | string)[]>;
  /** fds in the order the client closed them. */
  closedByClient: string[];
  /** Ends the operation (the client's /wait then answers). */
  finish(op: Record<string, unknown>): void;
}

/**
 * Registers an exec endpoint on the fake; `script` runs once every expected websocket is connected.
 * `asLxd`: as LXD 5.0.2 does, the script runs once the data websockets are connected (control not
 * awaited), and once the operation is finished a websocket that connects is refused with LXD's 500.
 */
export function fakeExec(fake: FakeLxd, opts: { interactive?: boolean; refuse?: string; asLxd?: boolean } = {}, script: (s: Session) => void): { secrets: Record<string, string> } {
  const id = randomUUID();
  const fdNames = opts.interactive ? ['0', 'control'] : ['0', '1', '2', 'control'];
  const secrets = Object.fromEntries(fdNames.map((fd) => [fd, `secret-${fd}-${randomUUID()}`]));
  let final: Record<string, unknown> | undefined;
  let started = false;
  let release: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => {
    release = resolve;
  });
  const session: Session = {
    sockets: {},
    received: {},
    closedByClient: [],
    finish: (op) => {
      final = op;
      release?.();
    },
  };
  const running = operationObject({ id, class: 'websocket', metadata: { fds: secrets, command: ['x'], environment: {}, interactive: opts.interactive === true } });
  fake.on('POST', '/1.0/instances/:name/exec', () => asyncAnswer(running));
  fake.on('GET', `/1.0/operations/${id}`, () => sync(final ?? running));
  fake.on('GET', `/1.0/operations/${id}/wait`, async () => {
    await Promise.race([finished, new Promise((r) => setTimeout(r, 5_000))]);
    return sync(final ?? running);
  });
  fake.onWebsocket(new RegExp(`^/1\\.0/operations/${id}/websocket$`), (ws, url) => {
    const fd = Object.keys(secrets).find((k) => secrets[k] === url.searchParams.get('secret'))!;
    session.sockets[fd] = ws;
    session.received[fd] = [];
    ws.on('message', (data, isBinary) => session.received[fd]!.push(isBinary ? Buffer.from(data as Buffer) : data.toString()));
    ws.on('close', () => session.closedByClient.push(fd));
    const awaited = opts.asLxd ? fdNames.filter((n) => n !== 'control') : fdNames;
    if (!started && awaited.every((n) => session.sockets[n])) {
      started = true;
      script(session);
    }
  }, (url) => {
    if (url.searchParams.get('secret') === secrets[opts.refuse ?? '']) return false;
    if (opts.asLxd && final !== undefined) return { status: 500, error: 'Only running operations can be connected' };
    return true;
  });
  return { secrets };
}

export const done = (ret: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  operationObject({ status: 'Success', status_code: 200, class: 'websocket', metadata: { return: ret }, ...extra });

