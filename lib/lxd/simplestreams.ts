/**
 * A small simplestreams reader: the image index format of cloud-images.ubuntu.com and of LXD image
 * servers. It fetches `streams/v1/index.json`, then the product files the index points at, and finds
 * the newest version of a product that matches a release, an architecture and the file types
 * (`ftype`) wanted: `disk1.img` for a KVM guest, `lxd.tar.xz` + `root.tar.xz` (or the
 * `combined_*_sha256` fields of `lxd.tar.xz`) for an LXD container.
 *
 * It speaks plain `node:http` / `node:https` (so `nock` can intercept it), with a timeout, an
 * `AbortSignal`, an optional `ca` for a server with a private certificate, zod-validated JSON and
 * typed errors. Unsigned streams only: `index.sjson` (GPG-signed) is not read.
 */
import { LxdkitError, hasBrand } from '../errors.js';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { silentLogger, type Logger } from '../logger.js';

/** Stable codes of {@link SimplestreamsError}. */
export const SimplestreamsErrorCodes = {
  /** The URL is not http(s), or a query is malformed. Nothing was fetched. */
  INVALID_ARGUMENT: 'SIMPLESTREAMS_ERR_INVALID_ARGUMENT',
  /** The server could not be reached (refused, DNS, TLS). */
  CONNECTION: 'SIMPLESTREAMS_ERR_CONNECTION',
  /** No answer (or no data) within the timeout. */
  TIMEOUT: 'SIMPLESTREAMS_ERR_TIMEOUT',
  /** The server answered with a status other than 200. `status` says which. */
  HTTP: 'SIMPLESTREAMS_ERR_HTTP',
  /** A JSON document is not JSON, is too large, or does not have the simplestreams shape. */
  INVALID_RESPONSE: 'SIMPLESTREAMS_ERR_INVALID_RESPONSE',
  /** No product in the stream matches the query. */
  NOT_FOUND: 'SIMPLESTREAMS_ERR_NOT_FOUND',
  /** A downloaded file does not have the SHA-256 the stream announced. The file was removed. */
  CHECKSUM_MISMATCH: 'SIMPLESTREAMS_ERR_CHECKSUM_MISMATCH',
} as const;

export type SimplestreamsErrorCode = (typeof SimplestreamsErrorCodes)[keyof typeof SimplestreamsErrorCodes];

const BRAND = Symbol.for('lxdkit.SimplestreamsError');

/** Every error of this module. Branch on `code`; `url` is the document or file concerned. */
export class SimplestreamsError extends LxdkitError<SimplestreamsErrorCode> {
  override readonly name = 'SimplestreamsError';
  readonly url: string | undefined;
  /** HTTP status for `SIMPLESTREAMS_ERR_HTTP`. */
  readonly status: number | undefined;

  constructor(
    code: SimplestreamsErrorCode,
    message: string,
    details: { url?: string; status?: number; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.url = details.url;
    this.status = details.status;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any SimplestreamsError, even one from another copy of lxdkit. */
  static is(value: unknown, code?: SimplestreamsErrorCode): value is SimplestreamsError {
    return hasBrand(value, BRAND, code);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire schemas (loose: simplestreams documents carry many more fields than we read)

const IndexEntrySchema = z.looseObject({
  datatype: z.string(),
  path: z.string().min(1),
  format: z.string().optional(),
  products: z.array(z.string()).optional(),
  updated: z.string().optional(),
});

/** `streams/v1/index.json`. */
export const SimplestreamsIndexSchema = z.looseObject({
  format: z.string().optional(),
  updated: z.string().optional(),
  index: z.record(z.string(), IndexEntrySchema),
});
export type SimplestreamsIndex = z.infer<typeof SimplestreamsIndexSchema>;
export type SimplestreamsIndexEntry = z.infer<typeof IndexEntrySchema>;

const ItemSchema = z.looseObject({
  ftype: z.string().optional(),
  path: z.string().min(1),
  sha256: z.string().optional(),
  md5: z.string().optional(),
  size: z.number().optional(),
  combined_sha256: z.string().optional(),
  combined_rootxz_sha256: z.string().optional(),
  combined_squashfs_sha256: z.string().optional(),
  'combined_disk-kvm-img_sha256': z.string().optional(),
});

const VersionSchema = z.looseObject({
  items: z.record(z.string(), ItemSchema).default({}),
});

// Fields that simplestreams lets a product inherit from the document's top level.
const InheritableSchema = {
  arch: z.string().optional(),
  release: z.string().optional(),
  version: z.string().optional(),
  os: z.string().optional(),
  release_title: z.string().optional(),
  aliases: z.string().optional(),
};

const ProductSchema = z.looseObject({
  ...InheritableSchema,
  versions: z.record(z.string(), VersionSchema).default({}),
});

/** A product file (`products:1.0`), e.g. `streams/v1/com.ubuntu.cloud:released:download.json`. */
export const SimplestreamsProductsSchema = z.looseObject({
  ...InheritableSchema,
  content_id: z.string().optional(),
  datatype: z.string().optional(),
  format: z.string().optional(),
  products: z.record(z.string(), ProductSchema),
});
export type SimplestreamsProducts = z.infer<typeof SimplestreamsProductsSchema>;

/** One file of a product version, with its absolute URL. */
export interface SimplestreamsItem {
  /** The key of the item in the version (often equal to `ftype`). */
  name: string;
  ftype: string;
  path: string;
  url: string;
  sha256?: string;
  md5?: string;
  size?: number;
  /** Every field of the item as served, e.g. `combined_rootxz_sha256`. */
  raw: Readonly<Record<string, unknown>>;
}

/** One version of one product that matched a query. */
export interface SimplestreamsImage {
  /** The product name, e.g. `com.ubuntu.cloud:server:20.04:amd64`. */
  product: string;
  /** The product file's `content_id`, e.g. `com.ubuntu.cloud:released:download`. */
  contentId: string;
  /** The version key, e.g. `20240101` (the newest matching one). */
  version: string;
  arch: string;
  release: string;
  /** The release number, e.g. `20.04`, when the stream gives one. */
  releaseVersion?: string;
  os?: string;
  aliases?: string[];
  /** The version's items by item name. */
  items: Readonly<Record<string, SimplestreamsItem>>;
}

/** What to look for. Every given field must match. */
export interface SimplestreamsQuery {
  /** Matches a product's `release` (`focal`) or its `version` (`20.04`). */
  release?: string;
  /** Matches a product's `arch` exactly (`amd64`, `arm64`, …). */
  arch?: string;
  /** A version matches only when it has an item of every one of these ftypes. */
  ftypes?: readonly string[];
  /** Matches `os` case-insensitively (`ubuntu`). */
  os?: string;
  /** Only index entries with this `content_id` (e.g. `com.ubuntu.cloud:released:download`). */
  contentId?: string;
  /** Only index entries of this datatype. Defaults to `image-downloads`. */
  datatype?: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
}

export interface SimplestreamsClientOptions {
  /** Extra CA certificate(s) to trust for https (e.g. a self-signed test server). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Milliseconds to wait for a response, and for each chunk of a body (an idle timeout, so a large
   * download is not cut off while data flows). Defaults to 30 000.
   */
  timeoutMs?: number;
  /** Largest JSON document accepted, in bytes. Defaults to 128 MiB. */
  maxJsonBytes?: number;
  logger?: Logger;
}

/** Progress of a download: bytes so far and the total when the server (or stream) says it. */
export interface DownloadProgress {
  url: string;
  received: number;
  total: number | undefined;
  /** Bytes per second since the download started. */
  bytesPerSecond: number;
}

export interface DownloadOptions extends RequestOptions {
  /** The expected SHA-256 (hex). On a mismatch the file is removed and CHECKSUM_MISMATCH thrown. */
  sha256?: string;
  /** The size the stream announced, used for progress when there is no Content-Length. */
  size?: number;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of what was written, hex. */
  sha256: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_JSON_BYTES = 128 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const INDEX_PATH = 'streams/v1/index.json';

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (err) {
    throw new SimplestreamsError(SimplestreamsErrorCodes.INVALID_ARGUMENT, `invalid simplestreams URL "${baseUrl}": ${errText(err)}`, {
      url: baseUrl,
      cause: err,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SimplestreamsError(
      SimplestreamsErrorCodes.INVALID_ARGUMENT,
      `unsupported simplestreams URL "${baseUrl}": only http and https are supported`,
      { url: baseUrl },
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** A relative path of the stream, resolved against the stream's base URL; absolute paths are refused. */
function resolvePath(base: URL, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.split('/').includes('..')) {
    throw new SimplestreamsError(
      SimplestreamsErrorCodes.INVALID_RESPONSE,
      `simplestreams path "${path}" is not relative to the stream`,
      { url: base.href },
    );
  }
  return new URL(path, base).href;
}

/** Compares version keys (`20240101`, `20240101.1`, `20240101_03:49`) oldest first. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Reads one simplestreams mirror, e.g. `https://cloud-images.ubuntu.com/releases/`.
 *
 * @example
 * const ss = new SimplestreamsClient('https://cloud-images.ubuntu.com/releases/');
 * const image = await ss.findImage({ release: 'focal', arch: 'amd64', ftypes: ['disk1.img'] });
 * image.items['disk1.img']?.url; // => 'https://cloud-images.ubuntu.com/releases/server/…/….img'
 */
export class SimplestreamsClient {
  readonly baseUrl: string;
  readonly #base: URL;
  readonly #ca: SimplestreamsClientOptions['ca'];
  readonly #timeoutMs: number;
  readonly #maxJsonBytes: number;
  readonly #logger: Logger;

  /** @throws SimplestreamsError `SIMPLESTREAMS_ERR_INVALID_ARGUMENT` for a URL that is not http(s). */
  constructor(baseUrl: string, options: SimplestreamsClientOptions = {}) {
    this.#base = parseBaseUrl(baseUrl);
    this.baseUrl = this.#base.href;
    this.#ca = options.ca;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Fetches and validates `streams/v1/index.json`. */
  async index(opts: RequestOptions = {}): Promise<SimplestreamsIndex> {
    return this.#getJson(resolvePath(this.#base, INDEX_PATH), SimplestreamsIndexSchema, opts);
  }

  /** Fetches and validates one product file, given its path relative to the mirror. */
  async products(path: string, opts: RequestOptions = {}): Promise<SimplestreamsProducts> {
    return this.#getJson(resolvePath(this.#base, path), SimplestreamsProductsSchema, opts);
  }

  /**
   * Every product version that matches `query`, newest version first (and, within a version,
   * in index order). Only product files whose index entry has the wanted datatype and content id
   * (and lists a product of the wanted release/arch, when the index lists products) are fetched.
   */
  async findImages(query: SimplestreamsQuery, opts: RequestOptions = {}): Promise<SimplestreamsImage[]> {
    const datatype = query.datatype ?? 'image-downloads';
    const idx = await this.index(opts);
    const found: SimplestreamsImage[] = [];
    for (const [contentId, entry] of Object.entries(idx.index)) {
      if (entry.datatype !== datatype) continue;
      if (query.contentId !== undefined && contentId !== query.contentId) continue;
      if (entry.format !== undefined && !entry.format.startsWith('products:')) continue;
      this.#logger.debug({ contentId, path: entry.path }, 'reading simplestreams product file');
      const doc = await this.products(entry.path, opts);
      found.push(...this.#match(contentId, doc, query));
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
      const what = [
        query.os,
        query.release,
        query.arch,
        query.ftypes?.length ? `with ${query.ftypes.join(', ')}` : undefined,
        query.contentId ? `in ${query.contentId}` : undefined,
      ]
        .filter((s) => s !== undefined && s !== '')
        .join(' ');
      throw new SimplestreamsError(SimplestreamsErrorCodes.NOT_FOUND, `no image found for ${what || 'the query'} at ${this.baseUrl}`, {
        url: this.baseUrl,
      });
    }
    return first;
  }

  /**
   * Downloads `url` to `dest` (created exclusively, mode 0644), reporting progress and checking the
   * SHA-256 when one is given. On any failure the partial file is removed.
   *
   * @throws SimplestreamsError `SIMPLESTREAMS_ERR_HTTP` for a non-200 answer,
   *   `SIMPLESTREAMS_ERR_CHECKSUM_MISMATCH` (message `hash sum mismatch for <dest>: <got> != <want>`,
   *   Juju's text), or a connection / timeout error.
   */
  async download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new SimplestreamsError(SimplestreamsErrorCodes.INVALID_ARGUMENT, `unsupported download URL "${url}"`, { url });
    }
    const want = opts.sha256?.toLowerCase();
    if (want !== undefined && !/^[0-9a-f]{64}$/.test(want)) {
      throw new SimplestreamsError(SimplestreamsErrorCodes.INVALID_ARGUMENT, `invalid sha256 "${opts.sha256}" for ${url}`, { url });
    }
    const hash = createHash('sha256');
    let received = 0;
    await this.#request(url, opts, 'image', async (res) => {
      const file = createWriteStream(dest, { flags: 'wx', mode: 0o644 });
      // Only a file this call created is removed on failure (never one that was already there).
      let created = false;
      file.once('open', () => {
        created = true;
      });
      const lengthHeader = Number(res.headers['content-length']);
      const total = Number.isFinite(lengthHeader) && lengthHeader > 0 ? lengthHeader : opts.size;
      const started = Date.now();
      const onProgress = opts.onProgress;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          hash.update(chunk);
          if (onProgress) {
            const seconds = Math.max((Date.now() - started) / 1000, 0.001);
            onProgress({ url, received, total, bytesPerSecond: received / seconds });
          }
          done(null, chunk);
        },
      });
      try {
        // A connection that closes early makes the response emit an error, which fails the pipeline.
        await pipeline(res, meter, file);
      } catch (err) {
        if (created) await unlink(dest).catch(() => undefined);
        throw this.#wrapError(err, url, opts);
      }
    });
    const got = hash.digest('hex');
    if (want !== undefined && got !== want) {
      await unlink(dest).catch(() => undefined);
      throw new SimplestreamsError(SimplestreamsErrorCodes.CHECKSUM_MISMATCH, `hash sum mismatch for ${dest}: ${got} != ${want}`, { url });
    }
    return { path: dest, bytes: received, sha256: got };
  }

  #match(contentId: string, doc: SimplestreamsProducts, query: SimplestreamsQuery): SimplestreamsImage[] {
    const out: SimplestreamsImage[] = [];
    for (const [name, product] of Object.entries(doc.products)) {
      const arch = product.arch ?? doc.arch;
      const release = product.release ?? doc.release;
      const releaseVersion = product.version ?? doc.version;
      const os = product.os ?? doc.os;
      const aliases = product.aliases ?? doc.aliases;
      if (arch === undefined || release === undefined) continue;
      if (query.arch !== undefined && arch !== query.arch) continue;
      if (query.release !== undefined && release !== query.release && releaseVersion !== query.release) continue;
      if (query.os !== undefined && os?.toLowerCase() !== query.os.toLowerCase()) continue;
      const versions = Object.keys(product.versions).sort(compareVersions).reverse();
      for (const version of versions) {
        const items = this.#items(product.versions[version]?.items ?? {});
        const ftypes = new Set(Object.values(items).map((i) => i.ftype));
        if (!(query.ftypes ?? []).every((f) => ftypes.has(f))) continue;
        out.push({
          product: name,
          contentId: doc.content_id ?? contentId,
          version,
          arch,
          release,
          ...(releaseVersion === undefined ? {} : { releaseVersion }),
          ...(os === undefined ? {} : { os }),
          ...(aliases === undefined ? {} : { aliases: aliases.split(',').map((a) => a.trim()).filter(Boolean) }),
          items,
        });
        break; // only the newest matching version of each product
      }
    }
    return out;
  }

  #items(raw: Record<string, z.infer<typeof ItemSchema>>): Record<string, SimplestreamsItem> {
    const items: Record<string, SimplestreamsItem> = {};
    for (const [name, item] of Object.entries(raw)) {
      items[name] = {
        name,
        ftype: item.ftype ?? name,
        path: item.path,
        url: resolvePath(this.#base, item.path),
        ...(item.sha256 === undefined ? {} : { sha256: item.sha256 }),
        ...(item.md5 === undefined ? {} : { md5: item.md5 }),
        ...(item.size === undefined ? {} : { size: item.size }),
        raw: item,
      };
    }
    return items;
  }

  async #getJson<S extends z.ZodType>(url: string, schema: S, opts: RequestOptions): Promise<z.infer<S>> {
    const text = await this.#request(url, opts, 'document', async (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > this.#maxJsonBytes) {
            throw new SimplestreamsError(
              SimplestreamsErrorCodes.INVALID_RESPONSE,
              `${url} is larger than ${this.#maxJsonBytes} bytes; raise maxJsonBytes if the stream is really that large`,
              { url },
            );
          }
          chunks.push(chunk);
        }
      } catch (err) {
        res.destroy();
        throw this.#wrapError(err, url, opts);
      }
      return Buffer.concat(chunks).toString('utf8');
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SimplestreamsError(SimplestreamsErrorCodes.INVALID_RESPONSE, `${url} is not valid JSON: ${errText(err)}`, { url, cause: err });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
      throw new SimplestreamsError(
        SimplestreamsErrorCodes.INVALID_RESPONSE,
        `${url} is not a simplestreams document (${where})`,
        { url, cause: parsed.error },
      );
    }
    return parsed.data as z.infer<S>;
  }

  /**
   * GET with redirects. `consume` gets a 200 response synchronously in the response callback, so it
   * starts reading before anything else runs (a response left unread while the server closes the
   * connection can be lost by HTTP interceptors). `timeoutMs` is an idle timeout on the socket: it
   * covers the wait for the answer and every pause in the body.
   */
  async #request<T>(
    url: string,
    opts: RequestOptions,
    what: 'image' | 'document',
    consume: (res: IncomingMessage) => Promise<T>,
    redirects = 0,
  ): Promise<T> {
    opts.signal?.throwIfAborted();
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    this.#logger.debug({ url }, 'simplestreams GET');
    let outcome: { redirect: string; status: number } | { result: Promise<T> };
    try {
      outcome = await new Promise<typeof outcome>((resolve, reject) => {
        const target = new URL(url);
        const mod = target.protocol === 'https:' ? https : http;
        let response: IncomingMessage | undefined;
        const req = mod.get(
          target,
          {
            agent: false,
            headers: { accept: '*/*', 'user-agent': 'lxdkit-simplestreams' },
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(target.protocol === 'https:' && this.#ca !== undefined ? { ca: this.#ca } : {}),
          },
          (res) => {
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
              const message =
                what === 'image' ? `got ${status} fetching image "${basename}"` : `got ${status} fetching simplestreams document ${url}`;
              reject(new SimplestreamsError(SimplestreamsErrorCodes.HTTP, message, { url, status }));
              return;
            }
            const result = consume(res);
            result.catch(() => undefined); // handled by the caller that awaits it
            resolve({ result });
          },
        );
        req.setTimeout(timeoutMs, () => {
          const err = new SimplestreamsError(
            SimplestreamsErrorCodes.TIMEOUT,
            `${response ? 'no data' : 'no answer'} from ${url} for ${timeoutMs} ms`,
            { url },
          );
          if (response) response.destroy(err);
          else req.destroy(err);
        });
        req.on('error', reject);
      });
    } catch (err) {
      throw this.#wrapError(err, url, opts);
    }
    if ('result' in outcome) return outcome.result;
    if (redirects >= MAX_REDIRECTS) {
      throw new SimplestreamsError(SimplestreamsErrorCodes.HTTP, `too many redirects fetching ${url}`, { url, status: outcome.status });
    }
    const next = new URL(outcome.redirect);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new SimplestreamsError(SimplestreamsErrorCodes.HTTP, `${url} redirects to unsupported ${next.href}`, {
        url,
        status: outcome.status,
      });
    }
    return this.#request(next.href, opts, what, consume, redirects + 1);
  }

  #wrapError(err: unknown, url: string, opts: RequestOptions): unknown {
    if (SimplestreamsError.is(err)) return err;
    if (opts.signal?.aborted) return opts.signal.reason ?? err;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
    if (code === 'ABORT_ERR') return err;
    return new SimplestreamsError(
      SimplestreamsErrorCodes.CONNECTION,
      `cannot fetch ${url}: ${errText(err)}${code && !errText(err).includes(code) ? ` (${code})` : ''}`,
      { url, cause: err },
    );
  }
}

/**
 * Juju's `ImageMetadataURL` rule for `http://cloud-images.ubuntu.com`: `/releases` is appended, or
 * `/<stream>` when the stream is set and is not `released`. Other URLs are returned unchanged.
 *
 * @example imageMetadataURL('http://cloud-images.ubuntu.com', 'daily') // => 'http://cloud-images.ubuntu.com/daily'
 */
export function imageMetadataURL(url: string, stream: string): string {
  if (url !== 'http://cloud-images.ubuntu.com') return url;
  return stream !== '' && stream !== 'released' ? `${url}/${stream}` : `${url}/releases`;
}
