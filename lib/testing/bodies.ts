/**
 * How bodies and headers beyond JSON are kept in fixtures: file and tarball bytes (text when they
 * are UTF-8, else base64), streamed request bodies (their size and SHA-256), and the daemon's own
 * `X-LXD-*` / `X-Incus-*` headers (file metadata), never a secret one.
 */
import { createHash } from 'node:crypto';
import type { Json, RecordedResponse, WebsocketFrame } from './fixture.js';

/** The daemons' own header prefixes (Incus renamed LXD's). */
const SERVER_HEADER = /^x-(lxd|incus)-/;
/** Server headers that carry secrets (image pushes) are never kept. */
const SECRET_HEADER = /secret|token|password/i;
/** A file's modification time changes with every recording, and nothing replays it. */
const UNSTABLE_HEADER = /-modified$/;

/** True for a daemon header worth keeping in a fixture (file metadata; never a secret). */
export function isRecordedServerHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SERVER_HEADER.test(n) && !SECRET_HEADER.test(n) && !UNSTABLE_HEADER.test(n);
}

/** Decodes bytes as UTF-8 when they are exactly that (a round trip gives the same bytes), else undefined. */
export function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.byteLength(text) === bytes.length && Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/** A recorded body: JSON as `body`, UTF-8 text as `text`, other bytes as `base64`. */
export function recordedBody(bytes: Buffer): Pick<RecordedResponse, 'body' | 'text' | 'base64'> {
  if (bytes.length === 0) return {};
  const text = utf8(bytes);
  if (text === undefined) return { base64: bytes.toString('base64') };
  if (text.trim() !== '') {
    try {
      return { body: JSON.parse(text) as Json };
    } catch {
      // not JSON: kept as text
    }
  }
  return { text };
}

/** The bytes of a recorded response body. */
export function responseBytes(res: RecordedResponse): Buffer {
  if (res.body !== undefined) return Buffer.from(JSON.stringify(res.body));
  if (res.base64 !== undefined) return Buffer.from(res.base64, 'base64');
  return Buffer.from(res.text ?? '', 'utf8');
}

/** A streamed request body, passed through while its size and SHA-256 are taken (into `into` at its end). */
export async function* hashing(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, into: { bytes: number; sha256: string }): AsyncGenerator<Uint8Array> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    h.update(chunk);
    bytes += chunk.length;
    yield chunk;
  }
  into.bytes = bytes;
  into.sha256 = h.digest('hex');
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A websocket message as a recorded frame. */
export function frame(from: WebsocketFrame['from'], data: Buffer, isBinary: boolean): WebsocketFrame {
  if (!isBinary) return { from, kind: 'text', text: data.toString('utf8') };
  const text = utf8(data);
  return text !== undefined ? { from, kind: 'binary', text } : { from, kind: 'binary', base64: data.toString('base64') };
}

/** The bytes of a recorded frame. */
export function frameBytes(f: WebsocketFrame): Buffer {
  return f.base64 !== undefined ? Buffer.from(f.base64, 'base64') : Buffer.from(f.text ?? '', 'utf8');
}
