/**
 * The HTTP layer: undici over the LXD unix socket (keep-alive) or HTTPS with a client certificate
 * and the server's certificate pinned. Decodes LXD's envelope and maps errors.
 */
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Agent, buildConnector, Dispatcher } from 'undici';
import type WebSocket from 'ws';
import { deadline, DeadlineExceeded, isValidTimeout } from '../deadline.js';
import { tuneWasmTiering } from '../wasm-tiering.js';
import { openTunnel, ProxyError, proxyFor, type Proxy } from '../proxy.js';
import type { Logger } from '../logger.js';
import {
  apiErrorFor,
  LxdConnectionError,
  LxdError,
  LxdResponseTooLargeError,
  LxdResponseValidationError,
  LxdTimeoutError,
  LxdValidationError,
} from './errors.js';
import { buildQuery, type QueryValue } from './path.js';
import { EnvelopeSchema, type Envelope } from './schemas.js';
import { RawDownloadError, rawDownload } from './raw-download.js';
import { resolveSocketPath, type ServerKind } from './socket.js';

/**
 * Milliseconds since `started` (`process.hrtime.bigint()`), to a tenth, for the request log. Not
 * `performance.now()`: the global `performance` loads Node's perf_hooks on first use (~1.5 ms of a
 * command's start).
 */
function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
}

/**
 * undici's connection pool alone: its package entry also loads fetch, its websocket, caches and mocks,
 * which lxdkit does not use (that is half of undici's load time and memory). The entry is the
 * fallback should a future undici move the file. Both are literal `import()`s, which bundlers follow:
 * undici loads with the first request, ws with the first websocket.
 */
let agentClass: typeof Agent | undefined;
async function loadAgentClass(): Promise<typeof Agent> {
  if (agentClass) return agentClass;
  // the file has no types of its own: what it exports is checked here
  // Stryker disable next-line StringLiteral: with no path the import fails, and the fallback below loads the same Agent class from undici's entry
  const file = (await import('undici/lib/dispatcher/agent.js' as string).catch(() => undefined)) as { default?: unknown } | undefined;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral,OptionalChaining: either branch gives undici's Agent class (the file exists in the undici lxdkit depends on); only what else gets loaded differs
  agentClass = typeof file?.default === 'function' ? (file.default as typeof Agent) : (await import('undici')).Agent;
  return agentClass;
}

/** Origin used for requests over the unix socket (the Host header is meaningless there). */
export const LOCAL_ORIGIN = 'http://unix.socket';

/** The default deadline of one request, in milliseconds (30 s); operations and transfers have their own. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest response body a client accepts by default (a recursive listing of thousands of instances fits). */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/**
 * TLS of a remote (`https://`) server: the client certificate and key, and the server's certificate to pin.
 */
export interface TlsOptions {
  /** PEM client certificate trusted by the server. */
  cert: string | Buffer;
  /** PEM private key of the client certificate. */
  key: string | Buffer;
  /**
   * PEM certificate of the server, pinned: the connection is refused unless the server presents
   * exactly this certificate (the host name is not checked: LXD's self-signed certificates rarely
   * name it). Omit it to verify the server's certificate against `ca`, or the system CAs.
   */
  serverCert?: string | Buffer;
  /**
   * CA certificates (PEM). Without `serverCert`, the server's certificate must chain to one of these
   * and name the URL's host; they replace the system CAs, which are trusted only when neither
   * `serverCert` nor `ca` is given.
   */
  ca?: string | Buffer | (string | Buffer)[];
}

export interface TransportOptions {
  socketPath?: string | undefined;
  server?: ServerKind | undefined;
  url?: string | undefined;
  tls?: TlsOptions | undefined;
  timeoutMs?: number | undefined;
  maxResponseBytes?: number | undefined;
  /** Raise V8's WebAssembly tier-up budget for the process (see tuneWasmTiering); default true. */
  tuneWasmTiering?: boolean | undefined;
  dispatcher?: Dispatcher | undefined;
  logger: Logger;
  userAgent?: string | undefined;
  /** false: never through a proxy, whatever the environment says. */
  proxy?: boolean | undefined;
  /** Where `HTTPS_PROXY` and `NO_PROXY` are read (default `process.env`). */
  proxyEnv?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface RawBody {
  stream: Readable | AsyncIterable<Uint8Array> | Buffer;
  contentType: string;
  contentLength?: number;
  /**
   * The stream yields buffers that it overwrites a few chunks later (see file-chunks.ts). Fine for
   * the transport's own undici Agent, which writes each chunk out before pulling the next; for a
   * dispatcher passed in by the caller, which may keep chunks, each one is copied first.
   */
  reusesChunks?: boolean;
}

async function* copied(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) yield Buffer.from(chunk);
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

function errnoOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** OpenSSL's certificate verification codes (as Node names them) and Node's own TLS codes. */
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|INVALID_CA$|PATH_LENGTH_EXCEEDED$|INVALID_PURPOSE$|ERR_OSSL_)/;

/** A failure of the TLS handshake or of the server's certificate, anywhere along the cause chain. */
function isTlsFailure(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODE.test(code)) return true;
    const msg = (e as { message?: unknown }).message;
    if (typeof msg === 'string' && /certificate|self.signed|SSL|TLS|pinned/i.test(msg)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** undici's HTTP parser refused the bytes it was sent (llhttp's `HPE_*` codes). */
function isHttpParserError(err: unknown): err is Error {
  return err instanceof Error && (err.name === 'HTTPParserError' || /^HPE_/.test(String((err as { code?: unknown }).code)));
}

/** A response that is not valid HTTP: the server's fault, not the connection's. */
function malformedResponse(method: string, path: string, err: Error): LxdResponseValidationError {
  return new LxdResponseValidationError(method, path, [{ path: [], message: `malformed HTTP response: ${err.message}` }], { cause: err });
}

/** What one HTTP exchange gives back. */
interface Exchanged {
  status: number;
  text: string;
  etag: string | undefined;
  location: string | undefined;
}

function isHeader(name: Buffer, lower: string): boolean {
  return name.length === lower.length && name.toString('latin1').toLowerCase() === lower;
}

/**
 * An undici dispatch handler that collects a response body into a string, up to `maxBytes`. The
 * request's deadline (and the caller's signal) aborts the exchange directly (undici passes the abort
 * function to onConnect), so a request needs neither an AbortController nor a body stream.
 */
class CollectingHandler implements Dispatcher.DispatchHandler {
  private abortExchange: ((err?: Error) => void) | undefined;
  private reason: unknown;
  private settled = false;
  private status = 0;
  private etag: string | undefined;
  private location: string | undefined;
  private size = 0;
  private readonly chunks: Buffer[] = [];
  private readonly dl;

  constructor(
    private readonly resolve: (r: Exchanged) => void,
    private readonly reject: (err: unknown) => void,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    private readonly maxBytes: number,
  ) {
    this.dl = deadline(signal, timeoutMs, (reason) => this.abort(reason));
  }

  private abort(reason: unknown): void {
    if (this.settled) return;
    // Stryker disable next-line StringLiteral: unreachable text: the deadline always gives a reason (DeadlineExceeded, or an aborted signal's reason, never undefined)
    this.reason = reason ?? new Error('aborted');
    this.abortExchange?.(this.reasonError());
    // Not connected yet: onConnect aborts; either way the caller hears now.
    this.finish();
    this.reject(this.reason);
  }

  /** undici aborts with an Error; a caller's abort reason may be any value. */
  private reasonError(): Error {
    return this.reason instanceof Error ? this.reason : new Error(String(this.reason));
  }

  private finish(): void {
    this.settled = true;
    this.dl.clear();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.reason !== undefined) {
      abort(this.reasonError());
      return;
    }
    this.abortExchange = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (isHeader(name, 'etag')) this.etag ??= rawHeaders[i + 1]!.toString('utf8');
      else if (isHeader(name, 'location')) this.location ??= rawHeaders[i + 1]!.toString('utf8');
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.abort(new ResponseTooLarge(this.maxBytes));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.finish();
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    this.resolve({ status: this.status, text, etag: this.etag, location: this.location });
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(err);
  }
}

/** A response whose body is handed back as a stream (file pulls, backup downloads). */
export interface StreamResponse {
  status: number;
  /** The response headers, names in lower case (the first value of each). */
  headers: Record<string, string>;
  /**
   * The body, with backpressure: the connection is read only as fast as the body is consumed. It ends
   * with an error when the deadline passes (LxdTimeoutError), the caller aborts (the abort reason) or
   * the connection fails (LxdConnectionError); destroying it drops the exchange.
   */
  body: Readable;
}

/** The largest error body read from a streamed exchange (an LXD error envelope is a few hundred bytes). */
const MAX_STREAM_ERROR_BYTES = 1024 * 1024;

/**
 * An undici dispatch handler that hands the body back as a Readable with backpressure (undici is
 * paused while the Readable is full). A status >= 400 is collected (capped) instead, for the envelope.
 */
class StreamingHandler implements Dispatcher.DispatchHandler {
  private abortExchange: ((err?: Error) => void) | undefined;
  private resumeExchange: (() => void) | undefined;
  private paused = false;
  private reason: unknown;
  private headersSeen = false;
  private done = false;
  private status = 0;
  private errorChunks: Buffer[] | undefined;
  private errorSize = 0;
  private readonly headers: Record<string, string> = {};
  private readonly body: Readable;
  private readonly dl;

  constructor(
    private readonly onResponse: (r: { status: number; headers: Record<string, string>; body?: Readable; text?: string }) => void,
    private readonly onFailure: (err: unknown) => void,
    private readonly mapError: (err: unknown) => unknown,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    this.body = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        if (!this.paused) return;
        this.paused = false;
        this.resumeExchange?.();
      },
      destroy: (err, cb) => {
        // the consumer gave up (or the body failed): drop the exchange, stop the deadline
        if (!this.done) {
          this.done = true;
          this.dl.clear();
          // Stryker disable next-line LogicalOperator,StringLiteral: undici hands the abort error back only to this handler's onError, which ignores it (done is set)
          this.abortExchange?.(err ?? new Error('the response body was destroyed'));
        }
        cb(err);
      },
    });
    this.dl = deadline(signal, timeoutMs, (reason) => this.abort(reason));
  }

  private abort(reason: unknown): void {
    if (this.done) return;
    // Stryker disable next-line StringLiteral: unreachable text: the deadline always gives a reason (DeadlineExceeded, or an aborted signal's reason, never undefined)
    this.reason = reason ?? new Error('aborted');
    const err = this.reason instanceof Error ? this.reason : new Error(String(this.reason));
    this.abortExchange?.(err);
    this.fail(this.mapError(this.reason));
  }

  private fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.dl.clear();
    if (this.headersSeen && this.errorChunks === undefined) this.body.destroy(err instanceof Error ? err : new Error(String(err)));
    else this.onFailure(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.reason !== undefined) {
      abort(this.reason instanceof Error ? this.reason : new Error(String(this.reason)));
      return;
    }
    this.abortExchange = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.resumeExchange = resume;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      this.headers[name] ??= rawHeaders[i + 1]!.toString('utf8');
    }
    if (statusCode >= 400) {
      this.errorChunks = [];
      return true;
    }
    this.headersSeen = true;
    this.onResponse({ status: statusCode, headers: this.headers, body: this.body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    if (this.errorChunks) {
      this.errorSize += chunk.length;
      if (this.errorSize <= MAX_STREAM_ERROR_BYTES) this.errorChunks.push(chunk);
      return true;
    }
    if (this.body.push(chunk)) return true;
    this.paused = true;
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    this.dl.clear();
    if (this.errorChunks) {
      this.onResponse({ status: this.status, headers: this.headers, text: Buffer.concat(this.errorChunks).toString('utf8') });
      return;
    }
    this.body.push(null);
  }

  onError(err: Error): void {
    this.fail(this.mapError(err));
  }
}

/** A body passed the size limit (mapped to LxdResponseTooLargeError by the transport). */
class ResponseTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    // Stryker disable next-line StringLiteral: never shown: request() turns it into LxdResponseTooLargeError from maxBytes alone
    super(`response body larger than ${maxBytes} bytes`);
  }
}

export class Transport {
  readonly remote: boolean;
  /** The remote URL, parsed once (requests are built from it on every call). */
  private readonly url: URL | undefined;
  private readonly basePath: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  private readonly logger: Logger;
  private readonly opts: TransportOptions;
  private socket: string | undefined;
  private dispatcher: Dispatcher | undefined;
  private readonly ownsDispatcher: boolean;
  private proxyChecked = false;
  private proxied: Proxy | undefined;
  private closed = false;

  constructor(opts: TransportOptions) {
    if (opts.tuneWasmTiering !== false) tuneWasmTiering();
    this.opts = opts;
    this.remote = opts.url !== undefined;
    this.url = opts.url !== undefined ? new URL(opts.url) : undefined;
    this.basePath = this.url ? this.url.pathname.replace(/\/$/, '') : '';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.logger = opts.logger;
    this.dispatcher = opts.dispatcher;
    this.ownsDispatcher = opts.dispatcher === undefined;
  }

  /** The unix socket path (resolved lazily) or the remote URL. */
  get endpoint(): string {
    if (this.opts.url) return this.opts.url;
    this.socket ??= resolveSocketPath(this.opts.socketPath, process.env, this.opts.server);
    return this.socket;
  }

  get origin(): string {
    return this.url ? this.url.origin : LOCAL_ORIGIN;
  }

  private pinnedCheck(pinned: string | Buffer): (host: string, cert: PeerCertificate) => Error | undefined {
    const want = fingerprint(pinned);
    return (_host, cert) => {
      const got = cert.fingerprint256;
      return got === want
        ? undefined
        : new Error(`server certificate ${got} does not match the pinned certificate ${want}`);
    };
  }

  /**
   * The TLS options of every connection to a remote (requests and websockets alike). Only options
   * that have a value are set: Node's `tls.connect` fills in its defaults by spreading the options
   * over them, so an explicit `checkServerIdentity: undefined` would replace its hostname check by
   * nothing and fail an internal assertion. Three modes:
   * - `serverCert`: the server must present exactly that certificate (its fingerprint; LXD's
   *   certificates are self-signed and rarely name the host), and it (with `ca`) is the only trust root;
   * - `ca` alone: the server's certificate must chain to one of these CAs (the system's CAs are not
   *   trusted then) and name the host of the URL (a DNS name or an IP address in its SAN);
   * - neither: the certificate must chain to the system's CAs (Node's bundle, plus
   *   `NODE_EXTRA_CA_CERTS`) and name the host.
   */
  private tlsConnectOptions(): ConnectionOptions {
    const options: ConnectionOptions = { rejectUnauthorized: true };
    const tls = this.opts.tls;
    if (!tls) return options;
    options.cert = tls.cert;
    options.key = tls.key;
    const extra = tls.ca === undefined ? [] : [tls.ca].flat();
    if (tls.serverCert !== undefined) {
      options.ca = [tls.serverCert, ...extra];
      // the pinned certificate is a trust root of its own even when a CA signed it (as Go's client
      // takes it); the fingerprint check then admits it alone (Node 20.18 and newer; older ones
      // accept a pinned certificate only when it is self-signed, as LXD's are)
      options.allowPartialTrustChain = true;
      options.checkServerIdentity = this.pinnedCheck(tls.serverCert);
    } else if (extra.length > 0) {
      options.ca = extra;
    }
    return options;
  }

  /** What to check when a remote's TLS handshake fails, for the mode in use. */
  private tlsAdvice(): string {
    const tls = this.opts.tls;
    const server = tls?.serverCert !== undefined
      ? 'check that the pinned server certificate is the one the server presents'
      : tls?.ca !== undefined
        ? "check that the server's certificate chains to the given CA and names the URL's host"
        : "the server's certificate must chain to a system CA and name the URL's host: give its certificate to pin (serverCert, --server-cert) or its CA (ca, --ca)";
    return `${server}, and that your client certificate is trusted`;
  }

  /**
   * The proxy of a remote from the environment (`HTTPS_PROXY`, `NO_PROXY`), worked out once; none for
   * the unix socket, for a dispatcher of the caller's, or when `proxy: false`.
   */
  private proxy(): Proxy | undefined {
    if (this.proxyChecked) return this.proxied;
    this.proxyChecked = true;
    if (this.url && this.url.protocol === 'https:' && this.ownsDispatcher && this.opts.proxy !== false) {
      try {
        this.proxied = proxyFor(this.url, this.opts.proxyEnv ?? process.env);
      } catch (err) {
        this.proxyChecked = false;
        throw err instanceof ProxyError ? new LxdConnectionError(this.endpoint, undefined, `LXD server ${this.endpoint}: ${err.message}`, { cause: err }) : err;
      }
    }
    if (this.proxied) this.logger.debug({ endpoint: this.endpoint, proxy: this.proxied.display }, 'remote through a proxy');
    return this.proxied;
  }

  /** undici's connector through a CONNECT tunnel: TLS end to end, with the remote's options. */
  private tunnelConnector(proxy: Proxy, tls: ConnectionOptions): buildConnector.connector {
    return (o, callback): void => {
      const port = o.port !== '' ? Number(o.port) : 443;
      Promise.all([openTunnel(proxy, o.hostname, port, { timeoutMs: this.timeoutMs }), import('../proxy-tunnel.js')]).then(
        ([raw, { tlsOverTunnel }]) => {
          const socket = tlsOverTunnel(raw, o.hostname, { ...tls, ALPNProtocols: ['http/1.1'] });
          let done = false;
          socket.once('secureConnect', () => {
            // Stryker disable next-line ConditionalExpression: done is set before this only by an 'error', after which a TLS socket never connects
            if (done) return;
            done = true;
            callback(null, socket);
          });
          socket.once('error', (err) => {
            if (done) return;
            // Stryker disable next-line BooleanLiteral: nothing reads done after an error: 'secureConnect' cannot follow one
            done = true;
            socket.destroy();
            callback(err, null);
          });
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
      );
    };
  }

  private getDispatcher(): Dispatcher {
    if (this.closed) throw new LxdConnectionError(this.endpoint, undefined, `${this.endpoint}: the client was closed; make a new LxdClient`);
    if (!this.dispatcher) {
      const proxy = this.remote ? this.proxy() : undefined;
      const connect = proxy ? this.tunnelConnector(proxy, this.tlsConnectOptions()) : this.remote ? this.tlsConnectOptions() : { socketPath: this.endpoint };
      // Stryker disable next-line StringLiteral: unreachable: request() and requestStream() load undici before they dispatch
      if (!agentClass) throw new Error('internal: undici was not loaded before the first request');
      this.dispatcher = new agentClass({
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
    // the server's own answer, already typed: a 403 "No matching certificate add operation found" is
    // no TLS failure, whatever its text says
    if (err instanceof LxdError) return undefined;
    const code = errnoOf(err);
    // A local socket is Incus's when Incus was asked for or the socket is in Incus's directories.
    const incus = !this.remote && (this.opts.server === 'incus' || /\/incus\//.test(this.endpoint));
    const daemon = incus ? 'Incus' : 'LXD';
    const where = this.remote ? `LXD server ${this.endpoint}` : `${daemon} socket ${this.endpoint}`;
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof ProxyError) return new LxdConnectionError(this.endpoint, undefined, `${where}: ${msg}`, { cause: err });
    switch (code) {
      case 'ENOENT':
        return new LxdConnectionError(this.endpoint, code, `${where}: no such socket; is ${daemon} installed and running? Start the daemon, or point ${incus ? 'INCUS_SOCKET / INCUS_DIR' : 'LXD_SOCKET / LXD_DIR'} / the socketPath option at its socket`, { cause: err });
      case 'EACCES':
      case 'EPERM':
        return new LxdConnectionError(this.endpoint, code, `${where}: permission denied; run as root or join the ${incus ? 'incus-admin' : 'lxd'} group`, { cause: err });
      case 'ECONNREFUSED':
        return new LxdConnectionError(this.endpoint, code, `${where}: connection refused; the ${daemon} daemon is not running (start it, then run "${incus ? 'incus admin waitready' : 'lxd waitready'}")`, { cause: err });
      case 'ECONNRESET':
      case 'EPIPE':
      case 'ENOTSOCK':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'ETIMEDOUT':
      case 'ENOTFOUND':
        return new LxdConnectionError(this.endpoint, code, `${where}: ${msg}`, { cause: err });
      default:
        if (this.remote && isTlsFailure(err)) {
          return new LxdConnectionError(this.endpoint, code, `${where}: TLS handshake failed: ${msg}; ${this.tlsAdvice()}`, { cause: err });
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
    if (!isValidTimeout(timeoutMs)) throw new LxdValidationError('timeoutMs', `${timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    const headers: Record<string, string> = {
      'user-agent': this.opts.userAgent ?? 'lxdkit',
      ...opts.headers,
    };
    let body: string | Buffer | Readable | AsyncIterable<Uint8Array> | undefined;
    if (opts.rawBody) {
      const stream = opts.rawBody.stream;
      body = opts.rawBody.reusesChunks && !this.ownsDispatcher && !Buffer.isBuffer(stream) ? copied(stream) : stream;
      headers['content-type'] = opts.rawBody.contentType;
      if (opts.rawBody.contentLength !== undefined) headers['content-length'] = String(opts.rawBody.contentLength);
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (opts.etag) headers['if-match'] = opts.etag;

    if (!agentClass && !this.dispatcher) await loadAgentClass();
    const started = process.hrtime.bigint();
    // Stryker disable next-line all: both branches make the same exchange (streamedExchange is exchange under a name of its own)
    const exchange = body === undefined || typeof body === 'string'
      ? this.exchange(method, fullPath, headers, body, opts.signal, timeoutMs)
      : this.streamedExchange(method, fullPath, headers, body, opts.signal, timeoutMs);
    try {
      const res = await exchange;
      const { status } = res;
      const envelope = this.decode(method, path, status, res.text, opts);
      if (this.logger.isLevelEnabled?.('debug') !== false) this.logger.debug(
        { method, path, status, durationMs: elapsedMs(started), operation: envelope.type === 'async' ? envelope.operation : undefined },
        'lxd request',
      );
      return { status, envelope, etag: res.etag, location: res.location };
    } catch (err) {
      if (err instanceof DeadlineExceeded) {
        throw new LxdTimeoutError(`${method} ${path}: LXD did not answer within ${timeoutMs} ms; raise timeoutMs or check the daemon`, { timeoutMs, method, path }, { cause: err });
      }
      if (err instanceof ResponseTooLarge) {
        throw new LxdResponseTooLargeError(method, path, err.maxBytes);
      }
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (isHttpParserError(err)) throw malformedResponse(method, path, err);
      const conn = this.connectionError(err);
      if (conn) throw conn;
      throw err;
    }
  }

  /**
   * A request whose response body is handed back as a stream (file pulls, backup downloads), with the
   * same deadline, abort and error mapping as `request()`: the deadline covers the whole exchange,
   * body included. An error status is decoded from LXD's envelope and thrown (typed), as `request()`
   * does; a success gives the status, the headers and the body, which the caller must consume or destroy.
   */
  async requestStream(method: string, path: string, opts: Omit<RequestOptions, 'rawBody'> = {}): Promise<StreamResponse> {
    const fullPath = `${this.basePath}${path}${buildQuery(opts.query)}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (!isValidTimeout(timeoutMs)) throw new LxdValidationError('timeoutMs', `${timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'lxdkit', ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (opts.etag) headers['if-match'] = opts.etag;
    const mapError = (err: unknown): unknown => {
      if (err instanceof DeadlineExceeded) return new LxdTimeoutError(`${method} ${path}: the transfer did not finish within ${timeoutMs} ms; raise timeoutMs or check the daemon`, { timeoutMs, method, path }, { cause: err });
      if (opts.signal?.aborted) return opts.signal.reason;
      if (isHttpParserError(err)) return malformedResponse(method, path, err);
      return this.connectionError(err) ?? err;
    };
    if (!agentClass && !this.dispatcher) await loadAgentClass();
    const started = process.hrtime.bigint();
    const res = await new Promise<{ status: number; headers: Record<string, string>; body?: Readable; text?: string }>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(opts.signal.reason);
        return;
      }
      const handler = new StreamingHandler(resolve, reject, mapError, opts.signal, timeoutMs);
      try {
        this.getDispatcher().dispatch(
          { origin: this.origin, path: fullPath, method: method as Dispatcher.HttpMethod, headers, body: body ?? null, headersTimeout: 0, bodyTimeout: 0 },
          handler,
        );
      } catch (err) {
        handler.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
    if (this.logger.isLevelEnabled?.('debug') !== false) this.logger.debug({ method, path, status: res.status, durationMs: elapsedMs(started), streamed: true }, 'lxd request');
    if (!res.body) {
      // Stryker disable next-line StringLiteral: a response without a body stream always has its text
      this.decode(method, path, res.status, res.text ?? '', opts);
      // decode() throws for every status >= 400
      // Stryker disable next-line all: unreachable: a response without a body stream is one of status >= 400, for which decode() threw
      throw new LxdResponseValidationError(method, path, [{ path: [], message: `HTTP ${res.status} without an error envelope` }]);
    }
    return { status: res.status, headers: res.headers, body: res.body };
  }

  /**
   * A GET (or HEAD) whose body is written into `file` (file pulls, backup downloads), with the deadline,
   * abort and error mapping of `request()`. Over the local socket the body goes from one reused read
   * buffer straight to the file (no memory churn however large it is); a remote or a dispatcher of
   * your own goes through `requestStream()`. Resolves to the status, the headers and the bytes written.
   */
  async requestToFile(
    method: string,
    path: string,
    file: FileHandle,
    opts: Omit<RequestOptions, 'rawBody' | 'body'> & { onBytes?: (bytes: number, total: number | undefined) => void } = {},
  ): Promise<{ status: number; headers: Record<string, string>; bytes: number }> {
    if (this.remote || !this.ownsDispatcher) {
      const res = await this.requestStream(method, path, opts);
      const length = res.headers['content-length'];
      const total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
      let bytes = 0;
      // Written chunk by chunk through the handle itself, which stays the caller's, open: a write
      // stream on it would close it when destroyed (autoClose: false or not), and keep the caller's
      // file.close() waiting for ever when not. Leaving the loop early destroys the body, which drops
      // the exchange.
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        opts.onBytes?.(bytes, total);
        for (let at = 0; at < chunk.length; ) at += (await file.write(chunk, at, chunk.length - at)).bytesWritten;
      }
      return { status: res.status, headers: res.headers, bytes };
    }
    const fullPath = `${this.basePath}${path}${buildQuery(opts.query)}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (!isValidTimeout(timeoutMs)) throw new LxdValidationError('timeoutMs', `${timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    if (this.closed) throw new LxdConnectionError(this.endpoint, undefined, `${this.endpoint}: the client was closed; make a new LxdClient`);
    const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent ?? 'lxdkit', ...opts.headers };
    if (opts.etag) headers['If-Match'] = opts.etag;
    const dl = deadline(opts.signal, timeoutMs);
    const started = process.hrtime.bigint();
    try {
      const res = await rawDownload({ socketPath: this.endpoint, method, path: fullPath, headers }, file, dl.signal, opts.onBytes);
      if (this.logger.isLevelEnabled?.('debug') !== false) this.logger.debug({ method, path, status: res.status, durationMs: elapsedMs(started), bytes: res.bytes }, 'lxd request');
      if (res.errorBody !== undefined || res.status >= 300) {
        // Stryker disable next-line StringLiteral: rawDownload gives the body of every status >= 300 as errorBody, so it is never undefined here
        this.decode(method, path, res.status, res.errorBody ?? '', opts);
        throw new LxdResponseValidationError(method, path, [{ path: [], message: `HTTP ${res.status} without an error envelope` }]);
      }
      return res;
    } catch (err) {
      if (dl.timedOut) throw new LxdTimeoutError(`${method} ${path}: the transfer did not finish within ${timeoutMs} ms; raise timeoutMs or check the daemon`, { timeoutMs, method, path }, { cause: err });
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (err instanceof RawDownloadError && err.reason === 'malformed') throw malformedResponse(method, path, err);
      if (err instanceof RawDownloadError) throw new LxdConnectionError(this.endpoint, undefined, `LXD socket ${this.endpoint}: ${err.message}`, { cause: err });
      throw this.connectionError(err) ?? err;
    } finally {
      dl.clear();
    }
  }

  /**
   * One request with an in-memory body (or none), through the dispatcher's own handler interface:
   * the response is collected into one string with no stream or AbortController in between (the
   * hot path: every API call but uploads). The deadline and the caller's signal abort it directly.
   */
  private exchange(method: string, path: string, headers: Record<string, string>, body: string | Buffer | Readable | AsyncIterable<Uint8Array> | undefined, signal: AbortSignal | undefined, timeoutMs: number): Promise<Exchanged> {
    return new Promise<Exchanged>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const handler = new CollectingHandler(resolve, reject, signal, timeoutMs, this.maxResponseBytes);
      try {
        this.getDispatcher().dispatch(
          { origin: this.origin, path, method: method as Dispatcher.HttpMethod, headers, body: (body ?? null) as Dispatcher.DispatchOptions['body'], headersTimeout: 0, bodyTimeout: 0 },
          handler,
        );
      } catch (err) {
        handler.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * One request with a streamed body (image and file uploads, backups): the same dispatch as
   * `exchange()`, undici pulling the body as the socket takes it (so it is never held in memory).
   */
  private streamedExchange(method: string, path: string, headers: Record<string, string>, body: Readable | AsyncIterable<Uint8Array> | Buffer, signal: AbortSignal | undefined, timeoutMs: number): Promise<Exchanged> {
    return this.exchange(method, path, headers, body, signal, timeoutMs);
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
    const target = typeof opts.query?.['target'] === 'string' ? opts.query['target'] : undefined;
    if (!parsed.success) {
      if (status >= 400) {
        throw apiErrorFor({ status, errorCode: 0, method, path, project, target, lxdMessage: text.trim().slice(0, 200) || `HTTP ${status}` });
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
        target,
        lxdMessage: env.error || `HTTP ${status}`,
      });
    }
    return env;
  }

  /**
   * @internal
   * Opens a websocket (events, operation fds) to `path` on the same endpoint. It resolves once the
   * websocket library is loaded (the first call loads it), with the socket connecting. `extra` adds
   * options of the ws library (the migration relay passes `generateMask`).
   */
  async websocket(path: string, query?: Record<string, QueryValue>, handshakeTimeoutMs = 10_000, extra: { generateMask?: (mask: Buffer) => void } = {}): Promise<WebSocket> {
    this.checkOpen();
    const { WebSocket: Ws } = await import('ws');
    this.checkOpen();
    const q = buildQuery(query);
    if (this.url) {
      const wsUrl = `${this.url.protocol === 'https:' ? 'wss:' : 'ws:'}//${this.url.host}${this.basePath}${path}${q}`;
      const proxy = this.proxy();
      const agent = proxy && this.url.protocol === 'https:' ? new (await import('../proxy-tunnel.js')).TunnelAgent(proxy, { tunnelTimeoutMs: handshakeTimeoutMs }) : undefined;
      return new Ws(wsUrl, { handshakeTimeout: handshakeTimeoutMs, ...extra, ...this.tlsConnectOptions(), ...(agent ? { agent } : {}) });
    }
    return new Ws(`ws+unix://${this.endpoint}:${path}${q}`, { handshakeTimeout: handshakeTimeoutMs, ...extra });
  }

  private checkOpen(): void {
    if (this.closed) throw new LxdConnectionError(this.endpoint, undefined, `${this.endpoint}: the client was closed; make a new LxdClient`);
  }

  /** Maps a websocket connection failure to a typed error. */
  websocketError(err: unknown): Error {
    return this.connectionError(err) ?? (err instanceof Error ? err : new Error(String(err)));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dispatcher && this.ownsDispatcher) {
      const d = this.dispatcher;
      this.dispatcher = undefined;
      await d.close();
    }
  }
}
