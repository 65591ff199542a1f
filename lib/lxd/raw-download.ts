/**
 * A download straight into a file over the local unix socket, with no memory churn: the socket reads
 * into one reused buffer (`onread`), each read is written to the file before the next one is taken
 * (the socket is paused meanwhile), so a 1 GiB pull allocates nothing per chunk. Through undici every
 * socket read is a fresh 64 KiB buffer, and until the garbage collector comes round (it counts those
 * as external memory, up to tens of MiB) the process holds them: a 1 GiB pull peaked at 115-145 MiB
 * that way, this way at the idle client's size.
 *
 * HTTP/1.1 with `Connection: close`, parsed here strictly (HttpResponseParser): whatever the server
 * sends is hostile until it parses. The body is taken by Content-Length, chunked encoding, or the end
 * of the connection.
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

/**
 * Why a raw download failed on the wire (mapped by the transport like undici's errors): `malformed`
 * when the bytes are not a valid HTTP/1.1 response, `closed` when the connection ended early.
 */
export class RawDownloadError extends Error {
  override readonly name = 'RawDownloadError';
  constructor(
    message: string,
    readonly reason: 'malformed' | 'closed' = 'malformed',
  ) {
    super(message);
  }
}

/** The bounds of the parser (the defaults suit LXD; specs use small ones to reach them). */
export interface ParserLimits {
  /** The largest response head: status line, header fields and their CRLFs (each 1xx head alike). */
  maxHeadBytes: number;
  /** The most header fields in a head, or in the trailer. */
  maxFields: number;
  /** The most 1xx interim responses before the final one. */
  maxInterim: number;
  /** The longest chunk-size line, extensions and CRLF included. */
  maxChunkLineBytes: number;
  /** The largest trailer section (after the last chunk), its final CRLF included. */
  maxTrailerBytes: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = {
  maxHeadBytes: 64 * 1024,
  maxFields: 128,
  maxInterim: 16,
  maxChunkLineBytes: 4096,
  maxTrailerBytes: 64 * 1024,
};

const MAX_ERROR_BODY = 1024 * 1024;
const READ_BUFFER_BYTES = 256 * 1024;

const CR = 0x0d;
const LF = 0x0a;
/** status-line = HTTP-version SP 3DIGIT [ SP reason-phrase ] (the reason's SP is optional, as many servers drop it). */
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** field-line = field-name ":" OWS field-value OWS; no whitespace before the colon, no obs-fold. */
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
/** chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]+)(?:[\\t ]*;[\\t ]*${TOKEN}(?:[\\t ]*=[\\t ]*(?:${TOKEN}|${QUOTED}))?)*$`);

type State = 'status' | 'field' | 'trailer' | 'chunk-size' | 'chunk-data' | 'chunk-cr' | 'chunk-lf' | 'length' | 'close' | 'done';

/**
 * A strict, incremental HTTP/1.1 response parser for one response on a `Connection: close` exchange.
 * Fed whatever the socket read, it returns the body bytes as views into that buffer (valid until the
 * buffer is reused) and throws RawDownloadError at the first byte that breaks the grammar of RFC 9112:
 * every line ends in CRLF (a bare LF or CR is refused), header fields are `token ":" value` with no
 * folding and no control characters, 1xx interim responses (but 101) are read and skipped, the body
 * is framed by Content-Length (digits only; repeated, the same value), `Transfer-Encoding: chunked`
 * (no other coding; never with Content-Length) or the end of the connection; a chunk size is
 * 1*HEXDIG with optional chunk extensions, no larger than Number.MAX_SAFE_INTEGER, and its data is
 * followed by exactly CRLF. Heads, fields, interim responses, chunk-size lines and trailers are bounded.
 * Bytes after the end of the response are ignored.
 */
export class HttpResponseParser {
  private state: State = 'status';
  /** A line read so far (bytes before its LF; the CR included), as latin1 text. */
  private line = '';
  /** Bytes of the current head (or trailer, or chunk-size line) read so far. */
  private sectionBytes = 0;
  private fields = 0;
  private interim = 0;
  private left = 0;
  private pending: { status: number; headers: Record<string, string>; lengths: string[]; codings: string[] | undefined } | undefined;
  private final: { status: number; headers: Record<string, string> } | undefined;
  private length: number | undefined;
  private readonly limits: ParserLimits;

  constructor(
    private readonly method: string,
    limits: Partial<ParserLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PARSER_LIMITS, ...limits };
  }

  /** The status of the final (non-1xx) response, once its head is read. */
  get status(): number | undefined {
    return this.final?.status;
  }

  /** The headers of the final response (names in lower case, the first value of each), once read. */
  get headers(): Record<string, string> | undefined {
    return this.final?.headers;
  }

  /** Content-Length of the final response, when it has one. */
  get contentLength(): number | undefined {
    return this.length;
  }

  /** The whole response has been read (bytes after it are ignored). */
  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * The connection ended: true when the response is complete (a body framed by the end of the
   * connection is complete now).
   */
  end(): boolean {
    if (this.state === 'close') this.state = 'done';
    return this.state === 'done';
  }

  /** Parses `buf`; returns the body bytes in it, as views into it, in order. */
  feed(buf: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'done':
          return out;
        case 'close':
          out.push(buf.subarray(i));
          return out;
        case 'length':
        case 'chunk-data': {
          const n = Math.min(this.left, buf.length - i);
          out.push(buf.subarray(i, i + n));
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = this.state === 'length' ? 'done' : 'chunk-cr';
          break;
        }
        case 'chunk-cr':
        case 'chunk-lf': {
          const want = this.state === 'chunk-cr' ? CR : LF;
          if (buf[i] !== want) throw new RawDownloadError(`malformed chunked encoding: ${describeByte(buf[i]!)} where the CRLF after a chunk's data belongs`);
          i++;
          if (this.state === 'chunk-cr') this.state = 'chunk-lf';
          else this.startSection('chunk-size');
          break;
        }
        default:
          i = this.readLine(buf, i);
      }
    }
    return out;
  }

  private startSection(state: 'status' | 'chunk-size' | 'trailer'): void {
    this.state = state;
    this.sectionBytes = 0;
    this.fields = 0;
  }

  private sectionLimit(): number {
    if (this.state === 'chunk-size') return this.limits.maxChunkLineBytes;
    if (this.state === 'trailer') return this.limits.maxTrailerBytes;
    return this.limits.maxHeadBytes;
  }

  private tooLarge(): RawDownloadError {
    if (this.state === 'chunk-size') return new RawDownloadError(`malformed chunked encoding: a chunk-size line longer than ${this.limits.maxChunkLineBytes} bytes`);
    if (this.state === 'trailer') return new RawDownloadError(`the trailer of the response is larger than ${this.limits.maxTrailerBytes} bytes`);
    return new RawDownloadError(`the response head is larger than ${this.limits.maxHeadBytes} bytes`);
  }

  /** Reads (part of) a line from `buf` at `i`; handles it when its LF comes. Returns where it stopped. */
  private readLine(buf: Buffer, i: number): number {
    const lf = buf.indexOf(LF, i);
    const end = lf < 0 ? buf.length : lf + 1;
    this.sectionBytes += end - i;
    if (this.sectionBytes > this.sectionLimit()) throw this.tooLarge();
    this.line += buf.toString('latin1', i, lf < 0 ? buf.length : lf);
    if (lf < 0) return end;
    const raw = this.line;
    this.line = '';
    // CRLF exactly: the one CR is the line's last byte
    const cr = raw.indexOf('\r');
    if (raw.length === 0 || cr !== raw.length - 1) throw new RawDownloadError(cr < 0 ? 'malformed response: a line ends in a bare LF (CRLF required)' : 'malformed response: a bare CR inside a line');
    this.onLine(raw.slice(0, -1));
    return end;
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'status': {
        const m = STATUS_LINE.exec(line);
        if (!m) throw new RawDownloadError(`not an HTTP/1.1 response: status line ${JSON.stringify(line.slice(0, 60))}`);
        this.pending = { status: Number(m[1]), headers: {}, lengths: [], codings: undefined };
        this.state = 'field';
        return;
      }
      case 'field':
      case 'trailer': {
        if (line === '') {
          if (this.state === 'trailer') this.state = 'done';
          else this.endOfHead();
          return;
        }
        const m = FIELD_LINE.exec(line);
        if (!m) throw new RawDownloadError(`malformed ${this.state === 'trailer' ? 'trailer' : 'header'} field ${JSON.stringify(line.slice(0, 60))}`);
        if (++this.fields > this.limits.maxFields) throw new RawDownloadError(`more than ${this.limits.maxFields} ${this.state === 'trailer' ? 'trailer' : 'header'} fields`);
        if (this.state === 'trailer') return;
        const p = this.pending!;
        const name = m[1]!.toLowerCase();
        const value = m[2]!;
        // an own property, whatever the name (`__proto__` and `constructor` included)
        if (!Object.hasOwn(p.headers, name)) Object.defineProperty(p.headers, name, { value, enumerable: true, writable: true, configurable: true });
        if (name === 'content-length') p.lengths.push(value);
        else if (name === 'transfer-encoding') (p.codings ??= []).push(...value.split(',').map((c) => c.trim().toLowerCase()));
        return;
      }
      case 'chunk-size': {
        const m = CHUNK_LINE.exec(line);
        if (!m) throw new RawDownloadError(`malformed chunked encoding: chunk-size line ${JSON.stringify(line.slice(0, 60))}`);
        const size = hexSize(m[1]!);
        if (size === 0) {
          this.startSection('trailer');
        } else {
          this.left = size;
          this.state = 'chunk-data';
        }
        return;
      }
      default:
        throw new Error(`unreachable: a line in state ${this.state}`);
    }
  }

  private endOfHead(): void {
    const p = this.pending!;
    this.pending = undefined;
    if (p.status < 200) {
      if (p.status === 101) throw new RawDownloadError('the server switched protocols (101), which was not asked for');
      if (++this.interim > this.limits.maxInterim) throw new RawDownloadError(`more than ${this.limits.maxInterim} interim (1xx) responses`);
      this.startSection('status');
      return;
    }
    let length: number | undefined;
    for (const v of p.lengths) {
      if (!/^[0-9]+$/.test(v) || (length !== undefined && Number(v) !== length)) throw new RawDownloadError(`malformed Content-Length ${JSON.stringify(p.lengths.join(', ').slice(0, 60))}`);
      length = Number(v);
      if (!Number.isSafeInteger(length)) throw new RawDownloadError(`Content-Length ${v.slice(0, 30)} is too large`);
    }
    if (p.codings !== undefined) {
      if (p.codings.length !== 1 || p.codings[0] !== 'chunked') throw new RawDownloadError(`unsupported Transfer-Encoding ${JSON.stringify(p.codings.join(', ').slice(0, 60))}: only chunked is read`);
      if (length !== undefined) throw new RawDownloadError('a response with both Transfer-Encoding and Content-Length');
    }
    this.final = { status: p.status, headers: p.headers };
    this.length = length;
    if (this.method === 'HEAD' || p.status === 204 || p.status === 304) this.state = 'done';
    else if (p.codings !== undefined) this.startSection('chunk-size');
    else if (length === undefined) this.state = 'close';
    else if (length === 0) this.state = 'done';
    else {
      this.left = length;
      this.state = 'length';
    }
  }
}

/** A chunk size: 1*HEXDIG, at most Number.MAX_SAFE_INTEGER (leading zeros allowed). */
function hexSize(digits: string): number {
  const significant = digits.replace(/^0+/, '');
  if (significant.length > 14) throw new RawDownloadError(`malformed chunked encoding: chunk size 0x${significant.slice(0, 20)} is too large`);
  const size = significant === '' ? 0 : Number.parseInt(significant, 16);
  if (!Number.isSafeInteger(size)) throw new RawDownloadError(`malformed chunked encoding: chunk size 0x${significant} is too large`);
  return size;
}

function describeByte(b: number): string {
  return b >= 0x21 && b <= 0x7e ? `"${String.fromCharCode(b)}"` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/**
 * Sends `req` and writes the body of a 2xx answer into `file`. `onBytes` hears the running count and
 * the announced length. Rejects with a RawDownloadError (or the socket's own error) on a broken
 * exchange; `signal` destroys the socket and rejects with its reason.
 */
export function rawDownload(req: RawDownloadRequest, file: FileHandle, signal: AbortSignal, onBytes?: (bytes: number, total: number | undefined) => void): Promise<RawDownloadResult> {
  return new Promise<RawDownloadResult>((resolve, reject) => {
    let settled = false;
    const parser = new HttpResponseParser(req.method);
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
    const succeed = (): void => {
      const status = parser.status!;
      const headers = parser.headers!;
      if (errorChunks) finish({ result: { status, headers, bytes: 0, errorBody: Buffer.concat(errorChunks).toString('utf8') } });
      else finish({ result: { status, headers, bytes } });
    };
    /** The connection ended (and nothing is being written): the response is whole, or it is not. */
    const onEnd = (): void => {
      if (parser.status === undefined) finish({ error: new RawDownloadError('the connection closed before a response', 'closed') });
      else if (parser.end()) succeed();
      else {
        const length = parser.contentLength;
        finish({ error: new RawDownloadError(`the connection closed after ${errorChunks ? errorSize : bytes}${length !== undefined ? ` of ${length}` : ''} bytes of the body`, 'closed') });
      }
    };

    /** Takes body bytes (views into the read buffer): written before the next read. */
    const body = (slices: Buffer[]): void => {
      const data = slices.filter((s) => s.length > 0);
      if (errorChunks) {
        for (const s of data) {
          errorSize += s.length;
          if (errorSize <= MAX_ERROR_BODY) errorChunks.push(Buffer.from(s));
        }
        if (parser.done) succeed();
        return;
      }
      if (data.length === 0) {
        if (parser.done) succeed();
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
            onBytes?.(bytes, parser.contentLength);
          } catch {
            // a progress callback must not break the transfer
          }
          if (parser.done) succeed();
          else if (ended) onEnd();
          else socket.resume();
        },
        (err: unknown) => finish({ error: err }),
      );
    };

    const onRead = (n: number, buf: Buffer): boolean => {
      if (settled) return false;
      try {
        const hadHead = parser.status !== undefined;
        const slices = parser.feed(buf.subarray(0, n));
        // an error status: its body is the error envelope, kept (capped) instead of written
        if (!hadHead && parser.status !== undefined && parser.status >= 300) errorChunks = [];
        body(slices);
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
      onEnd();
    });
    socket.on('error', (err) => finish({ error: err }));
  });
}
