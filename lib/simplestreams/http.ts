/**
 * The simplestreams reader's HTTP: plain `node:http` / `node:https` GETs (so `nock` can intercept
 * them), with redirects (never from https down to http), an idle timeout, an `AbortSignal`, an
 * optional `ca`, size-capped zod-validated JSON, and typed errors.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { errorText } from '../errors.js';
import type { Logger } from '../logger.js';
import { ProxyError, ProxyErrorCode, proxyFor } from '../proxy.js';
import { SimplestreamsError, SimplestreamsErrorCode } from './errors.js';

/**
 * Options of one call of a simplestreams reader (exported as `SimplestreamsRequestOptions`): a signal, and a timeout in ms that overrides the client's.
 */
export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number | undefined;
}

/** What every GET of one reader shares. */
export interface HttpSettings {
  ca: string | Buffer | (string | Buffer)[] | undefined;
  /** An idle timeout: the wait for the answer and every pause in the body. */
  timeoutMs: number;
  logger: Logger;
  /** false: never through a proxy. Otherwise `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as `lxc` reads them. */
  proxy?: boolean | undefined;
  /** Where the proxy variables are read (default `process.env`). */
  proxyEnv?: Readonly<Record<string, string | undefined>> | undefined;
}

const MAX_REDIRECTS = 5;

/**
 * GET with redirects. `consume` gets a 200 response synchronously in the response callback, so it
 * starts reading before anything else runs (a response left unread while the server closes the
 * connection can be lost by HTTP interceptors).
 */
export async function get<T>(
  url: string,
  settings: HttpSettings,
  opts: RequestOptions,
  what: 'image' | 'document',
  consume: (res: IncomingMessage) => Promise<T>,
  redirects = 0,
): Promise<T> {
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? settings.timeoutMs;
  settings.logger.debug({ url }, 'simplestreams GET');
  let outcome: { redirect: string; status: number } | { result: Promise<T> };
  try {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const proxy = settings.proxy === false ? undefined : proxyFor(target, settings.proxyEnv ?? process.env);
    // the tunnel (and with it https and tls) loads only for an https URL through a proxy
    const Tunnel = secure && proxy ? (await import('../proxy-tunnel.js')).TunnelAgent : undefined;
    outcome = await new Promise<typeof outcome>((resolve, reject) => {
      if (proxy) settings.logger.debug({ url, proxy: proxy.display }, 'simplestreams GET through a proxy');
      const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'lxdkit-simplestreams' };
      let response: IncomingMessage | undefined;
      const onResponse = (res: IncomingMessage): void => {
        response = res;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          resolve({ redirect: new URL(res.headers.location, url).href, status });
          return;
        }
        if (status !== 200) {
          res.resume();
          const basename = target.pathname.split('/').pop() ?? url;
          // For images this is Juju's text: got <code> fetching image "<basename>".
          const message = what === 'image' ? `got ${status} fetching image "${basename}"` : `got ${status} fetching simplestreams document ${url}`;
          reject(new SimplestreamsError(SimplestreamsErrorCode.HTTP, message, { url, status }));
          return;
        }
        const result = consume(res);
        result.catch(() => undefined); // handled by the caller that awaits it
        resolve({ result });
      };
      // https through a proxy: a CONNECT tunnel (TLS end to end); plain http: the absolute URL to the proxy
      const req = secure
        ? https.get(target, { agent: proxy && Tunnel ? new Tunnel(proxy, { tunnelTimeoutMs: timeoutMs }) : false, headers, signal: opts.signal, ca: settings.ca }, onResponse)
        : proxy
          ? http.get({ host: proxy.host, port: proxy.port, path: target.href, agent: false, headers: { ...headers, host: target.host, ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}) }, signal: opts.signal }, onResponse)
          : http.get(target, { agent: false, headers, signal: opts.signal }, onResponse);
      req.setTimeout(timeoutMs, () => {
        const err = new SimplestreamsError(SimplestreamsErrorCode.TIMEOUT, `${response ? 'no data' : 'no answer'} from ${url} for ${timeoutMs} ms`, { url });
        if (response) response.destroy(err);
        else req.destroy(err);
      });
      req.on('error', reject);
    });
  } catch (err) {
    throw wrapError(err, url, opts.signal);
  }
  if ('result' in outcome) return outcome.result;
  if (redirects >= MAX_REDIRECTS) {
    throw new SimplestreamsError(SimplestreamsErrorCode.HTTP, `too many redirects fetching ${url}`, { url, status: outcome.status });
  }
  const from = new URL(url);
  const next = new URL(outcome.redirect);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new SimplestreamsError(SimplestreamsErrorCode.HTTP, `${url} redirects to unsupported ${next.href}`, { url, status: outcome.status });
  }
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    throw new SimplestreamsError(SimplestreamsErrorCode.HTTP, `${url} redirects from https to plain http (${next.href}); lxdkit does not follow it`, { url, status: outcome.status });
  }
  return get(next.href, settings, opts, what, consume, redirects + 1);
}

/** GETs a JSON document of at most `maxBytes` and parses it with `schema`. */
export async function getJson<S extends z.ZodType>(url: string, schema: S, maxBytes: number, settings: HttpSettings, opts: RequestOptions): Promise<z.infer<S>> {
  const text = await get(url, settings, opts, 'document', async (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_RESPONSE, `${url} is larger than ${maxBytes} bytes; raise maxJsonBytes if the stream is really that large`, { url });
        }
        chunks.push(chunk);
      }
    } catch (err) {
      res.destroy();
      throw wrapError(err, url, opts.signal);
    }
    return Buffer.concat(chunks).toString('utf8');
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_RESPONSE, `${url} is not valid JSON: ${errorText(err)}`, { url, cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_RESPONSE, `${url} is not a simplestreams document (${where})`, { url, cause: parsed.error });
  }
  return parsed.data as z.infer<S>;
}

/** A failure of a GET as a SimplestreamsError; the caller's abort reason passes through unchanged. */
export function wrapError(err: unknown, url: string, signal: AbortSignal | undefined): unknown {
  if (SimplestreamsError.is(err)) return err;
  if (err instanceof ProxyError && err.code === ProxyErrorCode.INVALID) return new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, err.message, { url, cause: err });
  if (signal?.aborted) return signal.reason ?? err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  if (code === 'ABORT_ERR') return err;
  const text = errorText(err);
  return new SimplestreamsError(SimplestreamsErrorCode.CONNECTION, `cannot fetch ${url}: ${text}${code && !text.includes(code) ? ` (${code})` : ''}`, { url, cause: err });
}
