/**
 * The HTTP layer: undici over the LXD unix socket (keep-alive) or HTTPS with a client certificate
 * and the server's certificate pinned. Decodes LXD's envelope and maps errors.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import type { Logger } from '../logger.js';
import {
  apiErrorFor,
  LxdConnectionError,
  LxdResponseValidationError,
  LxdTimeoutError,
} from './errors.js';
import { buildQuery, type QueryValue } from './path.js';
import { EnvelopeSchema, type Envelope } from './schemas.js';
import { resolveSocketPath } from './socket.js';

/** Origin used for requests over the unix socket (the Host header is meaningless there). */
export const LOCAL_ORIGIN = 'http://unix.socket';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface TlsOptions {
  /** PEM client certificate trusted by the server. */
  cert: string | Buffer;
  /** PEM private key of the client certificate. */
  key: string | Buffer;
  /**
   * PEM certificate of the server, pinned: the connection is refused unless the server presents
   * exactly this certificate. Omit it to verify against the system CAs (`ca`).
   */
  serverCert?: string | Buffer;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string | Buffer | (string | Buffer)[];
}

export interface TransportOptions {
  socketPath?: string | undefined;
  url?: string | undefined;
  tls?: TlsOptions | undefined;
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  logger: Logger;
  userAgent?: string | undefined;
}

export interface RawBody {
  stream: Readable | AsyncIterable<Uint8Array> | Buffer;
  contentType: string;
  contentLength?: number;
}

export interface RequestOptions {
  query?: Record<string, QueryValue> | undefined;
  /** A JSON body (already validated by the caller). */
  body?: unknown;
  /** A streamed body (image uploads). */
  rawBody?: RawBody | undefined;
  etag?: string | undefined;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface Response {
  status: number;
  envelope: Envelope;
  etag: string | undefined;
  location: string | undefined;
}

function fingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Combines a caller's signal with a deadline; tells which one fired. */
export function deadline(signal: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
    ? setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs)
    : undefined;
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear: () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

function errnoOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export class Transport {
  readonly remote: boolean;
  /** The remote URL, parsed once (requests are built from it on every call). */
  private readonly url: URL | undefined;
  private readonly basePath: string;
  readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly opts: TransportOptions;
  private socket: string | undefined;
  private dispatcher: Dispatcher | undefined;
  private readonly ownsDispatcher: boolean;

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.remote = opts.url !== undefined;
    this.url = opts.url !== undefined ? new URL(opts.url) : undefined;
    this.basePath = this.url ? this.url.pathname.replace(/\/$/, '') : '';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = opts.logger;
    this.dispatcher = opts.dispatcher;
    this.ownsDispatcher = opts.dispatcher === undefined;
  }

  /** The unix socket path (resolved lazily) or the remote URL. */
  get endpoint(): string {
    if (this.opts.url) return this.opts.url;
    this.socket ??= resolveSocketPath(this.opts.socketPath);
    return this.socket;
  }

  get origin(): string {
    return this.url ? this.url.origin : LOCAL_ORIGIN;
  }

  private pinnedCheck(): ((host: string, cert: PeerCertificate) => Error | undefined) | undefined {
    const pinned = this.opts.tls?.serverCert;
    if (!pinned) return undefined;
    const want = fingerprint(pinned);
    return (_host, cert) => {
      const got = cert.fingerprint256;
      return got === want
        ? undefined
        : new Error(`server certificate ${got} does not match the pinned certificate ${want}`);
    };
  }

  private tlsConnectOptions(): Record<string, unknown> {
    const tls = this.opts.tls;
    if (!tls) return {};
    const ca = tls.serverCert ? [tls.serverCert, ...(tls.ca ? [tls.ca].flat() : [])] : tls.ca;
    const check = this.pinnedCheck();
    return {
      cert: tls.cert,
      key: tls.key,
      ...(ca ? { ca } : {}),
      ...(check ? { checkServerIdentity: check } : {}),
    };
  }

  private getDispatcher(): Dispatcher {
    if (!this.dispatcher) {
      const connect = this.remote ? this.tlsConnectOptions() : { socketPath: this.endpoint };
      this.dispatcher = new Agent({
        connect,
        keepAliveTimeout: 20_000,
        keepAliveMaxTimeout: 25_000,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    }
    return this.dispatcher;
  }

  private connectionError(err: unknown): LxdConnectionError | undefined {
    const code = errnoOf(err);
    const where = this.remote ? `LXD server ${this.endpoint}` : `LXD socket ${this.endpoint}`;
    const msg = err instanceof Error ? err.message : String(err);
    switch (code) {
      case 'ENOENT':
        return new LxdConnectionError(this.endpoint, code, `${where}: no such socket; is LXD installed and running? Start the daemon, or point LXD_SOCKET / LXD_DIR / the socketPath option at its socket`, { cause: err });
      case 'EACCES':
      case 'EPERM':
        return new LxdConnectionError(this.endpoint, code, `${where}: permission denied; run as root or join the lxd group`, { cause: err });
      case 'ECONNREFUSED':
        return new LxdConnectionError(this.endpoint, code, `${where}: connection refused; the LXD daemon is not running (start it, then run "lxd waitready")`, { cause: err });
      case 'ECONNRESET':
      case 'EPIPE':
      case 'ENOTSOCK':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'ETIMEDOUT':
      case 'ENOTFOUND':
        return new LxdConnectionError(this.endpoint, code, `${where}: ${msg}`, { cause: err });
      default:
        if (/certificate|self.signed|SSL|TLS|pinned/i.test(msg)) {
          return new LxdConnectionError(this.endpoint, code, `${where}: TLS handshake failed: ${msg}; check the server certificate and that your client certificate is trusted`, { cause: err });
        }
        if ((err as { name?: string })?.name === 'SocketError' || (err as { code?: string })?.code === 'UND_ERR_SOCKET') {
          return new LxdConnectionError(this.endpoint, code, `${where}: ${msg}`, { cause: err });
        }
        return undefined;
    }
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const query = buildQuery(opts.query);
    const fullPath = `${this.basePath}${path}${query}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {
      'user-agent': this.opts.userAgent ?? 'lxdkit',
      ...opts.headers,
    };
    let body: string | Buffer | Readable | AsyncIterable<Uint8Array> | undefined;
    if (opts.rawBody) {
      body = opts.rawBody.stream;
      headers['content-type'] = opts.rawBody.contentType;
      if (opts.rawBody.contentLength !== undefined) headers['content-length'] = String(opts.rawBody.contentLength);
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (opts.etag) headers['if-match'] = opts.etag;

    const dl = deadline(opts.signal, timeoutMs);
    const started = performance.now();
    let status = 0;
    try {
      const res = await request(`${this.origin}${fullPath}`, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body as string,
        dispatcher: this.getDispatcher(),
        signal: dl.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      status = res.statusCode;
      const text = await res.body.text();
      const etagHeader = res.headers['etag'];
      const locationHeader = res.headers['location'];
      const etag = Array.isArray(etagHeader) ? etagHeader[0] : etagHeader;
      const location = Array.isArray(locationHeader) ? locationHeader[0] : locationHeader;
      const envelope = this.decode(method, path, status, text, opts);
      if (this.logger.isLevelEnabled?.('debug') !== false) this.logger.debug(
        { method, path, status, durationMs: Math.round((performance.now() - started) * 10) / 10, ...(envelope.type === 'async' ? { operation: envelope.operation } : {}) },
        'lxd request',
      );
      return { status, envelope, etag, location };
    } catch (err) {
      if (dl.timedOut()) {
        throw new LxdTimeoutError(`${method} ${path}: LXD did not answer within ${timeoutMs} ms; raise timeoutMs or check the daemon`, { timeoutMs, method, path }, { cause: err });
      }
      if (opts.signal?.aborted) throw opts.signal.reason;
      const conn = this.connectionError(err);
      if (conn) throw conn;
      throw err;
    } finally {
      dl.clear();
    }
  }

  private decode(method: string, path: string, status: number, text: string, opts: RequestOptions): Envelope {
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const parsed = EnvelopeSchema.safeParse(json);
    const project = typeof opts.query?.['project'] === 'string' ? opts.query['project'] : undefined;
    if (!parsed.success) {
      if (status >= 400) {
        throw apiErrorFor({ status, errorCode: 0, method, path, project, lxdMessage: text.trim().slice(0, 200) || `HTTP ${status}` });
      }
      throw new LxdResponseValidationError(method, path, parsed.error.issues);
    }
    const env = parsed.data;
    if (env.type === 'error' || status >= 400) {
      throw apiErrorFor({
        status,
        errorCode: env.error_code ?? 0,
        method,
        path,
        project,
        lxdMessage: env.error || `HTTP ${status}`,
      });
    }
    return env;
  }

  /** Opens a websocket (events, operation fds) to `path` on the same endpoint. */
  websocket(path: string, query?: Record<string, QueryValue>, handshakeTimeoutMs = 10_000): WebSocket {
    const q = buildQuery(query);
    if (this.url) {
      const wsUrl = `${this.url.protocol === 'https:' ? 'wss:' : 'ws:'}//${this.url.host}${this.basePath}${path}${q}`;
      return new WebSocket(wsUrl, { handshakeTimeout: handshakeTimeoutMs, ...this.tlsConnectOptions() });
    }
    return new WebSocket(`ws+unix://${this.endpoint}:${path}${q}`, { handshakeTimeout: handshakeTimeoutMs });
  }

  /** Maps a websocket connection failure to a typed error. */
  websocketError(err: unknown): Error {
    return this.connectionError(err) ?? (err instanceof Error ? err : new Error(String(err)));
  }

  async close(): Promise<void> {
    if (this.dispatcher && this.ownsDispatcher) {
      const d = this.dispatcher;
      this.dispatcher = undefined;
      await d.close();
    }
  }
}
