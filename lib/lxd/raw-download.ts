/**
 * A download straight into a file over the local unix socket, with no memory churn: the socket reads
 * into one reused buffer (`onread`), each read is written to the file before the next one is taken
 * (the socket is paused meanwhile), so a 1 GiB pull allocates nothing per chunk. Through undici every
 * socket read is a fresh 64 KiB buffer, and until the garbage collector comes round (it counts those
 * as external memory, up to tens of MiB) the process holds them: a 1 GiB pull peaked at 115-145 MiB
 * that way, this way at the idle client's size.
 *
 * HTTP/1.1 with `Connection: close`: the response head is parsed here (status, headers), the body
 * taken by Content-Length, chunked encoding, or the end of the connection.
 */
import type { FileHandle } from 'node:fs/promises';
import net from 'node:net';

export interface RawDownloadRequest {
  socketPath: string;
  method: string;
  /** Path and query, already encoded. */
  path: string;
  headers: Record<string, string>;
}

export interface RawDownloadResult {
  status: number;
  headers: Record<string, string>;
  /** Bytes of the body written to the file. */
  bytes: number;
  /** The body of an error status (not written to the file), for the error envelope. */
  errorBody?: string;
}

/** Why a raw download failed on the wire (mapped by the transport like undici's errors). */
export class RawDownloadError extends Error {
  override readonly name = 'RawDownloadError';
}

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_ERROR_BODY = 1024 * 1024;
const READ_BUFFER_BYTES = 256 * 1024;

/** Chunked transfer decoding, fed with whatever the socket gave; `data` is called with body bytes. */
class Dechunker {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private line = '';
  private left = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  /** Returns the body slices of `buf` (views into it, in order). */
  feed(buf: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < buf.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.left, buf.length - i);
        out.push(buf.subarray(i, i + n));
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = 'data-crlf';
        continue;
      }
      const ch = buf[i++]!;
      if (ch !== 0x0a) {
        if (ch !== 0x0d) this.line += String.fromCharCode(ch);
        if (this.line.length > 1024) throw new RawDownloadError('malformed chunked encoding (an overlong line)');
        continue;
      }
      const line = this.line;
      this.line = '';
      if (this.state === 'size') {
        const size = Number.parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new RawDownloadError(`malformed chunked encoding (chunk size "${line}")`);
        this.left = size;
        this.state = size === 0 ? 'trailer' : 'data';
      } else if (this.state === 'data-crlf') {
        this.state = 'size';
      } else if (this.state === 'trailer' && line === '') {
        this.state = 'done';
      }
    }
    return out;
  }
}

/**
 * Sends `req` and writes the body of a 2xx answer into `file`. `onBytes` hears the running count and
 * the announced length. Rejects with a RawDownloadError (or the socket's own error) on a broken
 * exchange; `signal` destroys the socket and rejects with its reason.
 */
export function rawDownload(req: RawDownloadRequest, file: FileHandle, signal: AbortSignal, onBytes?: (bytes: number, total: number | undefined) => void): Promise<RawDownloadResult> {
  return new Promise<RawDownloadResult>((resolve, reject) => {
    let settled = false;
    let head: Buffer | undefined = Buffer.alloc(0);
    let status = 0;
    const headers: Record<string, string> = {};
    let length: number | undefined;
    let chunked: Dechunker | undefined;
    let bytes = 0;
    let errorChunks: Buffer[] | undefined;
    let errorSize = 0;
    let writing = false;
    let ended = false;
    let socket: net.Socket;

    const finish = (outcome: { result: RawDownloadResult } | { error: unknown }): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const onAbort = (): void => finish({ error: signal.reason });
    const complete = (): boolean => (chunked ? chunked.done : length !== undefined && (errorChunks ? errorSize : bytes) >= length);
    const succeed = (): void => {
      if (errorChunks) finish({ result: { status, headers, bytes: 0, errorBody: Buffer.concat(errorChunks).toString('utf8') } });
      else finish({ result: { status, headers, bytes } });
    };

    /** Takes body bytes (views into the read buffer or a copy): written before the next read. */
    const body = (slices: Buffer[]): void => {
      const data = slices.filter((s) => s.length > 0);
      if (errorChunks) {
        for (const s of data) {
          errorSize += s.length;
          if (errorSize <= MAX_ERROR_BODY) errorChunks.push(Buffer.from(s));
        }
        if (complete()) succeed();
        return;
      }
      if (data.length === 0) {
        if (complete()) succeed();
        return;
      }
      writing = true;
      socket.pause();
      void (async () => {
        for (const s of data) {
          await file.write(s, 0, s.length);
          bytes += s.length;
        }
      })().then(
        () => {
          writing = false;
          try {
            onBytes?.(bytes, length);
          } catch {
            // a progress callback must not break the transfer
          }
          if (complete()) succeed();
          else if (ended) finish({ error: new RawDownloadError(`the connection closed after ${bytes}${length !== undefined ? ` of ${length}` : ''} bytes of the body`) });
          else socket.resume();
        },
        (err: unknown) => finish({ error: err }),
      );
    };

    const parseHead = (buf: Buffer): Buffer | undefined => {
      head = Buffer.concat([head!, buf]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) throw new RawDownloadError('the response head is too large');
        return undefined;
      }
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!m) throw new RawDownloadError(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
      status = Number(m[1]);
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
      }
      const rest = head.subarray(end + 4);
      head = undefined;
      if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) chunked = new Dechunker();
      else if (headers['content-length'] !== undefined && /^\d+$/.test(headers['content-length'])) length = Number(headers['content-length']);
      if (status >= 300) errorChunks = [];
      // a HEAD, 204 and 304 carry no body
      if (req.method === 'HEAD' || status === 204 || status === 304) length = 0;
      return rest;
    };

    const onRead = (n: number, buf: Buffer): boolean => {
      if (settled) return false;
      try {
        let data = buf.subarray(0, n);
        if (head) {
          const rest = parseHead(data);
          if (!rest) return true;
          // the start of the body came with the head: a copy, since the read buffer is reused
          data = rest;
        }
        body(chunked ? chunked.feed(data) : length !== undefined ? [data.subarray(0, Math.max(0, length - (errorChunks ? errorSize : bytes)))] : [data]);
      } catch (err) {
        finish({ error: err });
      }
      return !writing;
    };

    try {
      socket = net.connect({ path: req.socketPath, onread: { buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES), callback: onRead } } as net.NetConnectOpts);
    } catch (err) {
      reject(err);
      return;
    }
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      const lines = [`${req.method} ${req.path} HTTP/1.1`, 'Host: unix.socket', 'Connection: close'];
      for (const [k, v] of Object.entries(req.headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('end', () => {
      ended = true;
      if (writing || settled) return;
      if (head) finish({ error: new RawDownloadError('the connection closed before a response') });
      else if (length === undefined && !chunked) succeed();
      else if (complete()) succeed();
      else finish({ error: new RawDownloadError(`the connection closed after ${bytes}${length !== undefined ? ` of ${length}` : ''} bytes of the body`) });
    });
    socket.on('error', (err) => finish({ error: err }));
  });
}
