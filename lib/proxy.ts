/**
 * HTTP proxies from the environment, as `lxc` honours them (Go's `ProxyFromEnvironment`):
 * `HTTPS_PROXY` for https URLs (remotes, image servers), `HTTP_PROXY` for http ones, lower-case
 * forms as well (the upper-case one wins), `NO_PROXY` to go direct. localhost and loopback
 * addresses are never proxied. Connections to https URLs go through a `CONNECT` tunnel, so TLS
 * (pinned certificates, client certificates) is end to end: the proxy sees neither.
 *
 * A proxy's user name and password (in its URL) go as `Proxy-Authorization` and are never logged
 * or put in an error message.
 *
 * TLS over a tunnel (`tlsOverTunnel`, `TunnelAgent`) is in proxy-tunnel.ts, loaded when a tunnel is
 * opened: Node's `tls` and `https` cost a command that makes no HTTPS request a few milliseconds.
 */
import { isIP, Socket, connect as netConnect } from 'node:net';
import { errorCodes, LxdkitError, type CodeOf } from './errors.js';

/** The codes of `ProxyError`: `PROXY_ERR_INVALID`, `PROXY_ERR_CONNECT`. */
export const ProxyErrorCode = errorCodes('PROXY_ERR', ['INVALID', 'CONNECT']);
export type ProxyErrorCode = CodeOf<typeof ProxyErrorCode>;

/** A proxy that is misconfigured (`PROXY_ERR_INVALID`) or refused or failed the tunnel (`PROXY_ERR_CONNECT`). */
export class ProxyError extends LxdkitError<ProxyErrorCode> {
  override readonly name: string = 'ProxyError';
  /** The proxy, without its credentials. */
  readonly proxy: string;
  /** The proxy's HTTP status, when it answered the CONNECT with one. */
  readonly status: number | undefined;

  constructor(code: ProxyErrorCode, proxy: string, message: string, details: { status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: details.cause });
    this.proxy = proxy;
    this.status = details.status;
  }
}

/** A proxy to use: where it is, and its credentials (kept out of `display`). */
export interface Proxy {
  host: string;
  port: number;
  /** `host:port` of the proxy, safe to print. */
  display: string;
  /** `Basic …`, when the proxy URL held a user name. */
  authorization: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, name: string): string | undefined {
  const v = env[name.toUpperCase()] ?? env[name.toLowerCase()];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** A host without the brackets of an IPv6 literal (`[::1]` → `::1`). */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isLoopback(host: string): boolean {
  const h = unbracket(host).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (net === undefined || isIP(net) !== 4 || isIP(host) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(host) & mask) === (ipv4ToInt(net) & mask);
}

/** Whether `NO_PROXY` names `host` (with `port`): `*`, a host, `.domain` or `domain` (and its subdomains), `host:port`, an IP or an IPv4 CIDR. */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const h = unbracket(host).toLowerCase();
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(h, entry)) return true;
      continue;
    }
    let entryPort: number | undefined;
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1]!;
      entryPort = Number(m[2]);
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = unbracket(entry);
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (h === entry || h === entry.replace(/^\./, '') || (entry.startsWith('.') ? h.endsWith(entry) : h.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/**
 * The proxy for `target` from the environment, or undefined to go direct: `HTTPS_PROXY` for
 * https (and wss), `HTTP_PROXY` for http (and ws). A proxy URL without a scheme is `http://`; only
 * `http://` proxies are supported (anything else is `PROXY_ERR_INVALID`, before any connection).
 */
export function proxyFor(target: URL, env: Env = process.env): Proxy | undefined {
  const secure = target.protocol === 'https:' || target.protocol === 'wss:';
  if (!secure && target.protocol !== 'http:' && target.protocol !== 'ws:') return undefined;
  const value = envValue(env, secure ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (value === undefined) return undefined;
  const port = target.port !== '' ? Number(target.port) : secure ? 443 : 80;
  if (isLoopback(target.hostname) || bypassesProxy(target.hostname, port, envValue(env, 'NO_PROXY'))) return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new ProxyError(ProxyErrorCode.INVALID, '(unparsable)', `${secure ? 'HTTPS_PROXY' : 'HTTP_PROXY'} is not a URL; set it as http://host:port`);
  }
  const display = `${url.hostname}${url.port ? `:${url.port}` : ''}`;
  if (url.protocol !== 'http:') {
    throw new ProxyError(ProxyErrorCode.INVALID, display, `proxy ${url.protocol}//${display}: only http:// proxies are supported; set ${secure ? 'HTTPS_PROXY' : 'HTTP_PROXY'} to http://host:port`);
  }
  const authorization = url.username !== ''
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : undefined;
  return { host: unbracket(url.hostname), port: url.port !== '' ? Number(url.port) : 80, display, authorization };
}

const MAX_CONNECT_HEADER = 16 * 1024;

/**
 * Opens a `CONNECT host:port` tunnel through `proxy`: the socket once the proxy answered 2xx, with
 * nothing of the proxy's answer left in it. A proxy that refuses, closes, answers something else or
 * takes longer than `timeoutMs` gives `PROXY_ERR_CONNECT`.
 */
export function openTunnel(proxy: Proxy, host: string, port: number, opts: { signal?: AbortSignal | undefined; timeoutMs: number }): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const target = `${isIP(unbracket(host)) === 6 ? `[${unbracket(host)}]` : host}:${port}`;
    const socket = netConnect({ host: proxy.host, port: proxy.port });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const fail = (message: string, extra: { status?: number; cause?: unknown } = {}): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(new ProxyError(ProxyErrorCode.CONNECT, proxy.display, `proxy ${proxy.display}: ${message} (tunnel to ${target}); check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY`, extra));
    };
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(opts.signal?.reason);
    };
    const timer = setTimeout(() => fail(`no tunnel after ${opts.timeoutMs} ms`), opts.timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > MAX_CONNECT_HEADER) fail('answered CONNECT with an over-long header');
        return;
      }
      const statusLine = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      const status = m ? Number(m[1]) : undefined;
      if (status === undefined) return fail('answered CONNECT with something that is not HTTP');
      if (status < 200 || status > 299) {
        return fail(status === 407 ? 'needs credentials (407); put them in the proxy URL: http://user:password@host:port' : `refused CONNECT with HTTP ${status}`, { status });
      }
      if (buffered.length > end + 4) return fail('sent data before the tunnel was open');
      settled = true;
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error): void => fail(err.message, { cause: err });
    const onClose = (): void => fail('closed the connection before the tunnel was open');
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
      if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
