import { silentLogger, type Logger } from '../logger.js';
import { download, type DownloadOptions, type DownloadResult } from './download.js';
import { SimplestreamsError, SimplestreamsErrorCode } from './errors.js';
import {
  INDEX_PATH,
  SimplestreamsIndexSchema,
  SimplestreamsProductsSchema,
  compareVersions,
  describeQuery,
  matchProducts,
  productFiles,
  resolvePath,
  type SimplestreamsImage,
  type SimplestreamsIndex,
  type SimplestreamsProducts,
  type SimplestreamsQuery,
} from './format.js';
import { getJson, type HttpSettings, type RequestOptions } from './http.js';

/** Options of `new SimplestreamsClient()`: extra CA certificates, the proxy, timeouts, logger. */
export interface SimplestreamsClientOptions {
  /** Extra CA certificate(s) to trust for https (e.g. a self-signed test server). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * The image server is reached through the proxy of `HTTPS_PROXY` (`HTTP_PROXY` for http) unless
   * `NO_PROXY` names it or it is a loopback address, as `lxc` does. `false`: never through a proxy.
   */
  proxy?: boolean;
  /** Where the proxy variables are read (default `process.env`). */
  proxyEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Milliseconds to wait for a response, and for each chunk of a body (an idle timeout, so a large
   * download is not cut off while data flows). Defaults to 30 000.
   */
  timeoutMs?: number;
  /** Largest JSON document accepted, in bytes. Defaults to 128 MiB. */
  maxJsonBytes?: number;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_JSON_BYTES = 128 * 1024 * 1024;

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (err) {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, `invalid simplestreams URL "${baseUrl}": ${(err as Error).message}`, { url: baseUrl, cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, `unsupported simplestreams URL "${baseUrl}": only http and https are supported`, { url: baseUrl });
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * Reads one simplestreams mirror, e.g. `https://cloud-images.ubuntu.com/releases/`: the index, then the
 * product files it points at, and finds the newest version of a product that matches a release, an
 * architecture and the file types (`ftype`) wanted: `disk1.img` for a KVM guest, `lxd.tar.xz` +
 * `root.tar.xz` for an LXD container. Unsigned streams only: `index.sjson` (GPG-signed) is not read.
 *
 * @example
 * const ss = new SimplestreamsClient('https://cloud-images.ubuntu.com/releases/');
 * const image = await ss.findImage({ release: 'focal', arch: 'amd64', ftypes: ['disk1.img'] });
 * image.items['disk1.img']?.url; // => 'https://cloud-images.ubuntu.com/releases/server/…/….img'
 */
export class SimplestreamsClient {
  readonly baseUrl: string;
  readonly #base: URL;
  readonly #http: HttpSettings;
  readonly #maxJsonBytes: number;

  /** @throws SimplestreamsError `SIMPLESTREAMS_ERR_INVALID_ARGUMENT` for a URL that is not http(s). */
  constructor(baseUrl: string, options: SimplestreamsClientOptions = {}) {
    this.#base = parseBaseUrl(baseUrl);
    this.baseUrl = this.#base.href;
    this.#http = { ca: options.ca, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, logger: options.logger ?? silentLogger, proxy: options.proxy, proxyEnv: options.proxyEnv };
    this.#maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  }

  /** Fetches and validates `streams/v1/index.json`. */
  async index(opts: RequestOptions = {}): Promise<SimplestreamsIndex> {
    return getJson(resolvePath(this.#base, INDEX_PATH), SimplestreamsIndexSchema, this.#maxJsonBytes, this.#http, opts);
  }

  /** Fetches and validates one product file, given its path relative to the mirror. */
  async products(path: string, opts: RequestOptions = {}): Promise<SimplestreamsProducts> {
    return getJson(resolvePath(this.#base, path), SimplestreamsProductsSchema, this.#maxJsonBytes, this.#http, opts);
  }

  /**
   * Every product version that matches `query`, newest version first (and, within a version, in
   * index order). Only product files whose index entry has the wanted datatype and content id are fetched.
   */
  async findImages(query: SimplestreamsQuery, opts: RequestOptions = {}): Promise<SimplestreamsImage[]> {
    const found: SimplestreamsImage[] = [];
    for (const [contentId, path] of productFiles(await this.index(opts), query)) {
      this.#http.logger.debug({ contentId, path }, 'reading simplestreams product file');
      found.push(...matchProducts(this.#base, contentId, await this.products(path, opts), query));
    }
    return found.sort((a, b) => compareVersions(b.version, a.version));
  }

  /**
   * The newest product version that matches `query`.
   *
   * @throws SimplestreamsError `SIMPLESTREAMS_ERR_NOT_FOUND` when nothing matches.
   */
  async findImage(query: SimplestreamsQuery, opts: RequestOptions = {}): Promise<SimplestreamsImage> {
    const [first] = await this.findImages(query, opts);
    if (first === undefined) {
      throw new SimplestreamsError(SimplestreamsErrorCode.NOT_FOUND, `no image found for ${describeQuery(query) || 'the query'} at ${this.baseUrl}`, { url: this.baseUrl });
    }
    return first;
  }

  /**
   * Downloads `url` to `dest` (created exclusively, mode 0644), reporting progress and checking the
   * SHA-256 when one is given. On any failure the partial file is removed.
   *
   * @throws SimplestreamsError `SIMPLESTREAMS_ERR_HTTP` for a non-200 answer,
   *   `SIMPLESTREAMS_ERR_CHECKSUM_MISMATCH` (message `hash sum mismatch for <dest>: <got> != <want>`,
   *   Juju's text, or a body past the announced size), or a connection / timeout error.
   */
  download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    return download(url, dest, this.#http, opts);
  }
}
