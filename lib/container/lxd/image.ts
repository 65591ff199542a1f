/**
 * Image resolution for LXD containers (Juju container/lxd image.go and connection.go): the image
 * sources from the model's `container-image-metadata-url` / `container-image-stream`, the remote
 * aliases of a series, a simplestreams image server read the way LXD reads one, and `findImage`,
 * which prefers the local alias `juju/<series>/<arch>` and otherwise copies the image from the first
 * source that has it into the local store under that alias.
 */
import { isAbsolute } from 'node:path';
import type { LxdClient } from '../../lxd/client.js';
import { isNotFound, LxdOperationError } from '../../lxd/errors.js';
import type { OperationProgress } from '../../lxd/operation.js';
import type { LxdImage } from '../../lxd/schemas.js';
import type { ServerKind } from '../../lxd/socket.js';
import { imageMetadataURL, SimplestreamsClient, type SimplestreamsImage } from '../../simplestreams/index.js';
import { silentLogger, type Logger } from '../../logger.js';
import { goQuote } from '../../go-compat.js';
import { withoutUndefined } from '../../objects.js';
import type { StatusCallback } from '../types.js';
import { annotate, errorText } from '../../errors.js';
import { LxdManagerError, LxdManagerErrorCode } from './errors.js';

/** An image server LXD can pull from. */
export interface ImageSource {
  /** A display name (Juju: the host without `https://`). */
  name: string;
  /** The server URL, e.g. `https://cloud-images.ubuntu.com/releases`. */
  host: string;
  protocol: 'simplestreams' | 'lxd';
  /** PEM certificate of the server, for servers with a private certificate (sent to LXD as `source.certificate`). */
  certificate?: string;
}

/** Juju `CloudImagesRemote`. */
export const CloudImagesRemote: ImageSource = Object.freeze({
  name: 'cloud-images.ubuntu.com',
  host: 'https://cloud-images.ubuntu.com/releases',
  protocol: 'simplestreams',
});

/** Juju `CloudImagesDailyRemote`. */
export const CloudImagesDailyRemote: ImageSource = Object.freeze({
  name: 'cloud-images.ubuntu.com',
  host: 'https://cloud-images.ubuntu.com/daily',
  protocol: 'simplestreams',
});

/**
 * Juju `EnsureHTTPS`: keeps `https://…`, rewrites the first `http://` to `https://`, otherwise
 * prefixes `https://`.
 *
 * @example ensureHTTPS('http://images.example') // => 'https://images.example'
 */
export function ensureHTTPS(address: string): string {
  if (address.startsWith('https://')) return address;
  if (address.startsWith('http://')) return address.replace('http://', 'https://');
  return `https://${address}`;
}

/**
 * Juju `imagemetadata.ImageMetadataURL(source, stream)`: `http://cloud-images.ubuntu.com` gets
 * `/releases` (or `/<stream>` for a stream other than `released`); a URL with a scheme is kept; an
 * absolute path becomes `file://<path>/images`; a relative path is refused.
 *
 * @throws LxdManagerError `LXD_MANAGER_ERR_IMAGE_SOURCE` `<src> is not an absolute path`.
 */
export function lxdImageMetadataURL(source: string, stream: string): string {
  if (source === '') return '';
  const url = imageMetadataURL(source, stream);
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  if (!isAbsolute(url)) throw new LxdManagerError(LxdManagerErrorCode.IMAGE_SOURCE, `${url} is not an absolute path`);
  const file = `file://${url}`;
  return file.endsWith('/images') ? file : `${file}/images`;
}

/**
 * Juju `getImageSources`: with no metadata URL, the cloud-images releases and daily remotes (only
 * daily for the `daily` stream); with one, that server first (as simplestreams over https), then
 * releases and daily (only daily for the `daily` stream).
 *
 * @throws LxdManagerError `LXD_MANAGER_ERR_IMAGE_SOURCE` `generating image metadata source: …`.
 */
export function getImageSources(metadataUrl: string, stream: string, certificate?: string): ImageSource[] {
  const remotes = stream === 'daily' ? [CloudImagesDailyRemote] : [CloudImagesRemote, CloudImagesDailyRemote];
  if (metadataUrl === '') return remotes.map((r) => ({ ...r }));
  let url: string;
  try {
    url = ensureHTTPS(lxdImageMetadataURL(metadataUrl, stream));
  } catch (err) {
    throw annotate(LxdManagerError, 'generating image metadata source', err, LxdManagerErrorCode.IMAGE_SOURCE);
  }
  const custom: ImageSource = withoutUndefined({ name: url.replace(/^https:\/\//, ''), host: url, protocol: 'simplestreams' as const, certificate: certificate || undefined });
  return [custom, ...remotes.map((r) => ({ ...r }))];
}

// Juju's series table, reduced to what seriesRemoteAliases needs.
const UBUNTU_SERIES = new Set([
  'precise', 'quantal', 'raring', 'saucy', 'trusty', 'utopic', 'vivid', 'wily', 'xenial', 'yakkety', 'zesty', 'artful',
  'bionic', 'cosmic', 'disco', 'eoan', 'focal', 'groovy', 'hirsute', 'impish', 'jammy',
]);
const OTHER_SERIES: Readonly<Record<string, string>> = {
  centos7: 'centos', centos8: 'centos', opensuseleap: 'opensuse', genericlinux: 'genericlinux', kubernetes: 'kubernetes',
  win2008r2: 'windows', win2012: 'windows', win2012r2: 'windows', win2016: 'windows', win2019: 'windows', win10: 'windows', win7: 'windows', win8: 'windows', win81: 'windows',
};

/**
 * Juju `seriesRemoteAliases(series, arch)`: the aliases under which image servers publish the
 * series: `<series>/<arch>` for Ubuntu; `centos/7/amd64`, `centos/8/amd64`, `opensuse/42.2/amd64`
 * (amd64 only).
 *
 * @example seriesRemoteAliases('focal', 'amd64') // => ['focal/amd64']
 * @throws LxdManagerError `LXD_MANAGER_ERR_NOT_SUPPORTED`: `unknown OS for series: "<s>"` or `series "<s>" not supported`.
 */
export function seriesRemoteAliases(series: string, arch: string): string[] {
  const os = UBUNTU_SERIES.has(series) ? 'ubuntu' : OTHER_SERIES[series];
  if (os === undefined) throw new LxdManagerError(LxdManagerErrorCode.NOT_SUPPORTED, `unknown OS for series: ${goQuote(series)}`);
  if (os === 'ubuntu') return [`${series}/${arch}`];
  if (arch === 'amd64') {
    if (series === 'centos7') return ['centos/7/amd64'];
    if (series === 'centos8') return ['centos/8/amd64'];
    if (series === 'opensuseleap') return ['opensuse/42.2/amd64'];
  }
  throw new LxdManagerError(LxdManagerErrorCode.NOT_SUPPORTED, `series ${goQuote(series)} not supported`);
}

/** A container image on a remote server. */
export interface RemoteImage {
  fingerprint: string;
  architecture: string;
  aliases: string[];
  /** The simplestreams product and version it came from. */
  product?: string;
  version?: string;
}

/** How `findImage` asks an image source: for the daemon that will pull the image. */
export interface ImageRemoteOptions {
  signal?: AbortSignal | undefined;
  /**
   * The daemon that pulls the image (default `lxd`). A simplestreams version publishes a container's
   * metadata once per daemon: `lxd.tar.xz` is what LXD reads, `incus.tar.xz` what Incus reads (and
   * each gives its own fingerprint); Ubuntu's cloud-images publish only the first.
   */
  server?: ServerKind | undefined;
}

/** What `findImage` reads from an image source (a seam for other protocols and for tests). */
export interface ImageRemote {
  /** The fingerprint a container alias points at, or `undefined`. */
  aliasTarget(alias: string, opts?: ImageRemoteOptions): Promise<string | undefined>;
  /** The image with this fingerprint, or `undefined`. */
  image(fingerprint: string, opts?: ImageRemoteOptions): Promise<RemoteImage | undefined>;
}

/** The item of a simplestreams version that holds a container's metadata, for each daemon. */
export const CONTAINER_METADATA_FTYPE: Readonly<Record<ServerKind, string>> = Object.freeze({ lxd: 'lxd.tar.xz', incus: 'incus.tar.xz' });

/** Options of `new SimplestreamsImageServer()`: per-request timeout (default 30 s) and logger. */
export interface SimplestreamsImageServerOptions {
  /** Per-request timeout of the simplestreams reader (default 30 s). */
  timeoutMs?: number;
  logger?: Logger;
}

/** The fingerprint the daemon gives a container image of a simplestreams version, or undefined. */
function containerFingerprint(image: SimplestreamsImage, metadataFtype: string): string | undefined {
  const items = Object.values(image.items);
  const meta = items.find((i) => i.ftype === metadataFtype);
  if (!meta) return undefined;
  const str = (k: string): string | undefined => (typeof meta.raw[k] === 'string' && meta.raw[k] !== '' ? (meta.raw[k] as string) : undefined);
  const hasSquash = items.some((i) => i.ftype === 'squashfs');
  const hasRootXz = items.some((i) => i.ftype === 'root.tar.xz');
  if (hasSquash && str('combined_squashfs_sha256')) return str('combined_squashfs_sha256');
  if (hasRootXz) return str('combined_rootxz_sha256') ?? str('combined_sha256');
  return undefined;
}

type Catalogue = { aliases: Map<string, string>; images: Map<string, RemoteImage> };

/**
 * A simplestreams image server read as the daemon reads one: every product's `aliases` (a comma
 * list) gives `<alias>/<arch>` container aliases pointing at the product's newest version that has
 * the daemon's metadata item (`lxd.tar.xz` for LXD, `incus.tar.xz` for Incus); the fingerprint is
 * that item's `combined_squashfs_sha256` (when a squashfs is published) or `combined_rootxz_sha256` /
 * `combined_sha256`. The stream is read once per instance and daemon.
 */
export class SimplestreamsImageServer implements ImageRemote {
  readonly source: ImageSource;
  readonly #reader: SimplestreamsClient;
  readonly #catalogues = new Map<string, Promise<Catalogue>>();

  /** @throws SimplestreamsError for a URL that is not http(s) (Juju: "failed to connect"). */
  constructor(source: ImageSource, opts: SimplestreamsImageServerOptions = {}) {
    this.source = source;
    this.#reader = new SimplestreamsClient(source.host, {
      ca: source.certificate,
      timeoutMs: opts.timeoutMs,
      logger: opts.logger ?? silentLogger,
    });
  }

  async aliasTarget(alias: string, opts: ImageRemoteOptions = {}): Promise<string | undefined> {
    return (await this.#load(opts)).aliases.get(alias);
  }

  async image(fingerprint: string, opts: ImageRemoteOptions = {}): Promise<RemoteImage | undefined> {
    return (await this.#load(opts)).images.get(fingerprint);
  }

  #load(opts: ImageRemoteOptions): Promise<Catalogue> {
    const ftype = CONTAINER_METADATA_FTYPE[opts.server ?? 'lxd'];
    const cached = this.#catalogues.get(ftype);
    if (cached) return cached;
    const p = (async () => {
      const found = await this.#reader.findImages({ ftypes: [ftype] }, { signal: opts.signal });
      const aliases = new Map<string, string>();
      const images = new Map<string, RemoteImage>();
      for (const image of found) {
        const fingerprint = containerFingerprint(image, ftype);
        if (!fingerprint) continue;
        const names = (image.aliases ?? []).map((a) => `${a}/${image.arch}`);
        images.set(fingerprint, { fingerprint, architecture: image.arch, aliases: names, product: image.product, version: image.version });
        for (const name of names) if (!aliases.has(name)) aliases.set(name, fingerprint);
      }
      return { aliases, images };
    })();
    this.#catalogues.set(ftype, p);
    p.catch(() => {
      if (this.#catalogues.get(ftype) === p) this.#catalogues.delete(ftype);
    });
    return p;
  }
}

/** The image a container will be created from: always in the local store once found. */
export interface FoundImage {
  image: LxdImage;
  /** The local alias `juju/<series>/<arch>`. */
  alias: string;
  /** Where it came from: `local`, or the source's host. */
  origin: string;
}

/**
 * Options of `findImage()`: the client, the image sources to try in order, status and progress callbacks, logger.
 */
export interface FindImageOptions {
  client: LxdClient;
  sources: readonly ImageSource[];
  callback?: StatusCallback | undefined;
  /** LXD's progress while it pulls the image (the callback hears Juju's `Retrieving image: …` texts). */
  onProgress?: ((progress: OperationProgress) => void) | undefined;
  /** Where lines are logged, as given (the manager passes its `juju.container.lxd` logger). */
  logger?: Logger | undefined;
  /** Opens an image source (default: {@link SimplestreamsImageServer} for simplestreams). */
  openRemote?: ((source: ImageSource) => ImageRemote) | undefined;
  /** Deadline for LXD to pull the image (default 30 minutes). */
  copyTimeoutMs?: number | undefined;
  simplestreamsTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** The local alias Juju keeps its images under. */
export function localImageAlias(series: string, arch: string): string {
  return `juju/${series}/${arch}`;
}

async function localImage(client: LxdClient, alias: string, signal?: AbortSignal): Promise<{ target: string; image: LxdImage | undefined }> {
  const call = { signal };
  let target = '';
  try {
    target = (await client.images.getAlias(alias, call)).value.target;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return { target: '', image: undefined };
  }
  try {
    return { target, image: (await client.images.get(target, call)).value };
  } catch {
    return { target, image: undefined };
  }
}

/**
 * Juju `Server.FindImage(series, arch, sources, copyLocal=true, callback)`.
 *
 * 1. callback(`allocating`, `acquiring LXD image`).
 * 2. The local alias `juju/<series>/<arch>`: when it resolves to an image, that image is used. A
 *    lookup error other than not-found is fatal.
 * 3. Otherwise each source in order: the first remote alias (from {@link seriesRemoteAliases}) with
 *    a target, then that image; as in Juju, a target found earlier is retried on later sources.
 * 4. The found image is copied into the local store under the local alias (LXD pulls it), with
 *    callback(`allocating`, `Retrieving image: <progress>`) for every progress update.
 *
 * Callers serialise calls (one image copy at a time). Errors are LXD's or Juju's text (e.g.
 * `no matching image found`); the manager annotates them `acquiring LXD image: …`.
 */
export async function findImage(series: string, arch: string, opts: FindImageOptions): Promise<FoundImage> {
  const { client, signal } = opts;
  const log = opts.logger ?? silentLogger;
  const call = { signal };
  opts.callback?.('allocating', 'acquiring LXD image');
  const alias = localImageAlias(series, arch);
  const local = await localImage(client, alias, signal);
  if (local.image) return { image: local.image, alias, origin: 'local' };
  let target = local.target;

  const aliases = seriesRemoteAliases(series, arch);
  // which of a version's metadata items the daemon will read (LXD's or Incus's)
  const ask = { signal, server: await client.serverKind(call) };
  let lastErr: unknown = new LxdManagerError(LxdManagerErrorCode.IMAGE_NOT_FOUND, 'no matching image found');
  let found: { source: ImageSource; image: RemoteImage } | undefined;
  for (const source of opts.sources) {
    let remote: ImageRemote;
    try {
      remote = opts.openRemote
        ? opts.openRemote(source)
        : openDefaultRemote(source, { timeoutMs: opts.simplestreamsTimeoutMs, logger: log });
    } catch (err) {
      log.info(`failed to connect to ${goQuote(source.host)}: ${errorText(err)}`);
      lastErr = err;
      continue;
    }
    for (const a of aliases) {
      try {
        const t = await remote.aliasTarget(a, ask);
        if (t) {
          target = t;
          break;
        }
      } catch (err) {
        signal?.throwIfAborted();
        log.debug(`looking up image alias ${goQuote(a)} at ${goQuote(source.host)}: ${errorText(err)}`);
      }
    }
    if (target === '') continue;
    try {
      const image = await remote.image(target, ask);
      if (image) {
        log.debug(`Found image remotely - ${goQuote(source.name)} ${goQuote(image.product ?? '')} ${goQuote(target)}`);
        found = { source, image };
        break;
      }
      lastErr = new LxdManagerError(LxdManagerErrorCode.IMAGE_NOT_FOUND, 'not found');
    } catch (err) {
      signal?.throwIfAborted();
      lastErr = err;
    }
  }
  if (!found) throw lastErr;
  return copyRemoteImage(found.source, found.image, alias, opts);
}

function openDefaultRemote(source: ImageSource, opts: SimplestreamsImageServerOptions): ImageRemote {
  if (source.protocol !== 'simplestreams') {
    throw new LxdManagerError(LxdManagerErrorCode.IMAGE_SOURCE, `bad protocol supplied for connection: ${source.protocol}`);
  }
  return new SimplestreamsImageServer(source, opts);
}

/** Juju `CopyRemoteImage`: LXD pulls the image and points the local alias at it. */
async function copyRemoteImage(source: ImageSource, image: RemoteImage, alias: string, opts: FindImageOptions): Promise<FoundImage> {
  const { client, signal } = opts;
  const call = { signal };
  const aliasOnCreate = await client.server.hasExtension('image_create_aliases', call);
  const op = await client.images.copyFrom(
    {
      server: source.host,
      protocol: source.protocol,
      fingerprint: image.fingerprint,
      certificate: source.certificate,
    },
    { ...call, aliases: aliasOnCreate ? [alias] : undefined, public: false, autoUpdate: false },
  );
  let lastProgress = '';
  try {
    await op.wait({
      ...call,
      timeoutMs: opts.copyTimeoutMs ?? 30 * 60_000,
      onProgress: (p) => {
        opts.onProgress?.(p);
        const value = p.metadata['fs_progress'] ?? p.metadata['download_progress'];
        if (value === undefined) return;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        if (text === lastProgress) return;
        lastProgress = text;
        opts.callback?.('allocating', `Retrieving image: ${text}`);
      },
    });
  } catch (err) {
    // another process may have copied the same image under the alias meanwhile
    const again = await localImage(client, alias, signal).catch(() => undefined);
    if (again?.image) return { image: again.image, alias, origin: source.host };
    if (err instanceof LxdOperationError) throw new LxdManagerError(LxdManagerErrorCode.IMAGE, err.message, { cause: err });
    throw err;
  }
  if (!aliasOnCreate) await client.images.pointAlias(alias, image.fingerprint, true, call);
  return { image: (await client.images.get(image.fingerprint, call)).value, alias, origin: source.host };
}
