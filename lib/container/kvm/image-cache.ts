/**
 * The guest image cache (Juju's container/kvm sync.go and `EnsureCachedImage`): one backing file
 * per series and arch, `<guestDir>/<series>-<arch>-backing-file.qcow`, found through simplestreams,
 * downloaded with progress callbacks, checked against its SHA-256 and converted with `qemu-img
 * convert`. Only one image is fetched at a time in this process.
 */
import { randomBytes } from 'node:crypto';
import { access, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { silentLogger, type Logger } from '../../logger.js';
import { SimplestreamsClient, type DownloadProgress } from '../../simplestreams/index.js';
import type { StatusCallback } from '../types.js';
import { errorText } from '../../errors.js';
import { KvmError, KvmErrorCode } from './errors.js';
import { runCommand, type CommandRunner } from './virsh.js';

/** Juju `kvm.BIOSFType`. */
export const BIOSFType = 'disk1.img';
/** Juju `kvm.UEFIFType` (arm64, as in Juju 2.9.16). */
export const UEFIFType = 'uefi1.img';
/** The simplestreams mirror used when neither a metadata URL nor a non-default stream is set. */
export const DefaultImageSource = 'https://cloud-images.ubuntu.com/releases/';

/** The image file type Juju looks for on an arch: `uefi1.img` on arm64, else `disk1.img`. */
export function imageFType(arch: string): string {
  return arch === 'arm64' ? UEFIFType : BIOSFType;
}

/** `<guestDir>/<series>-<arch>-backing-file.qcow`. */
export function backingFilePath(guestDir: string, series: string, arch: string): string {
  return join(guestDir, `${series}-${arch}-backing-file.qcow`);
}

/**
 * What `ensureImage()` fetches: the series, architecture and stream of a cloud image, the mirror, and where the guest images live.
 */
export interface EnsureImageParams {
  series: string;
  arch: string;
  /** Simplestreams stream; `` and `released` mean `released`. */
  stream: string;
  /** The simplestreams mirror; empty means {@link DefaultImageSource}. */
  source: string;
  guestDir: string;
  callback?: StatusCallback | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Options of the KVM image cache: logger, command runner, download directory, the mirror's CA and HTTP timeout.
 */
export interface ImageCacheOptions {
  logger?: Logger;
  run?: CommandRunner;
  /** Where the download goes before conversion; defaults to the OS temp dir, as in Juju. */
  downloadDir?: string;
  /** CA to trust for an https mirror with a private certificate. */
  ca?: string | Buffer;
  /** Idle timeout of the mirror's HTTP requests. */
  httpTimeoutMs?: number;
  /** Timeout of `qemu-img convert`. */
  convertTimeoutMs?: number;
}

// One image fetch at a time in the whole process (Juju's package-level imageMutex).
let imageLock: Promise<unknown> = Promise.resolve();

function withImageLock<T>(fn: () => Promise<T>): Promise<T> {
  const run = imageLock.then(fn, fn);
  imageLock = run.catch(() => undefined);
  return run;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** go-humanize `Bytes` (SI units), which Juju's progress line uses: `820 B`, `1.5 kB`, `82 MB`. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${Math.floor(n)} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1000)), units.length - 1);
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${units[e]}`;
}

function contentId(stream: string): string {
  return `com.ubuntu.cloud:${stream === '' ? 'released' : stream}:download`;
}

/**
 * Makes sure the backing file of `series`/`arch` is in the guest dir and returns its path.
 * An existing file is used as it is. Otherwise the newest matching image is found in the mirror,
 * downloaded to `juju-kvm-<basename>-<random>` in the download dir (callback
 * `copying <url> <pct>% (<rate>/s)` whenever the percentage changes), its SHA-256 checked (a
 * mismatch removes the download: `hash sum mismatch for <tmp>: <got> != <want>`) and converted with
 * `qemu-img convert -f qcow2 <tmp> <backing file>`. The conversion writes to a temporary name that
 * is renamed into place, so a half-written backing file is never used.
 *
 * @throws KvmError `KVM_ERR_IMAGE` (with the SimplestreamsError or command error as `cause`).
 */
export async function ensureCachedImage(params: EnsureImageParams, opts: ImageCacheOptions = {}): Promise<string> {
  const logger = opts.logger ?? silentLogger;
  const target = backingFilePath(params.guestDir, params.series, params.arch);
  if (await exists(target)) return target;
  return withImageLock(async () => {
    params.signal?.throwIfAborted();
    // Another caller may have fetched it while we waited.
    if (await exists(target)) return target;
    const source = params.source === '' ? DefaultImageSource : params.source;
    const stream = params.stream === '' ? 'released' : params.stream;
    logger.debug(`synchronise images for ${params.arch} ${params.series} ${stream} ${source}`);
    const ss = new SimplestreamsClient(source, { logger, ca: opts.ca, timeoutMs: opts.httpTimeoutMs });
    const ftype = imageFType(params.arch);
    const signal = params.signal;
    let tmp: string | undefined;
    try {
      const image = await ss.findImage(
        { release: params.series, arch: params.arch, ftypes: [ftype], contentId: contentId(stream) },
        { signal },
      );
      const item = Object.values(image.items).find((i) => i.ftype === ftype);
      if (item === undefined) throw new KvmError(KvmErrorCode.IMAGE, `no ${ftype} item in ${image.product}`);
      if (item.sha256 === undefined) {
        throw new KvmError(KvmErrorCode.IMAGE, `${image.product} ${image.version} ${ftype} has no sha256 in the stream`);
      }
      tmp = join(opts.downloadDir ?? tmpdir(), `juju-kvm-${basename(item.path)}-${randomBytes(6).toString('hex')}`);
      let lastPct = -1;
      const onProgress = (p: DownloadProgress): void => {
        if (!params.callback || !p.total) return;
        const pct = Math.floor((p.received / p.total) * 100);
        if (pct === lastPct) return;
        lastPct = pct;
        params.callback('allocating', `copying ${item.url} ${pct}% (${humanizeBytes(p.bytesPerSecond)}/s)`);
      };
      await ss.download(item.url, tmp, { sha256: item.sha256, size: item.size, onProgress, signal });
      const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
      try {
        await (opts.run ?? runCommand)('qemu-img', ['convert', '-f', 'qcow2', tmp, partial], { signal, timeoutMs: opts.convertTimeoutMs });
        await rename(partial, target);
      } catch (err) {
        await unlink(partial).catch(() => undefined);
        throw err;
      }
      logger.debug(`cached ${image.product} ${image.version} as ${target}`);
      return target;
    } catch (err) {
      if (params.signal?.aborted) throw err;
      if (KvmError.is(err, KvmErrorCode.IMAGE)) throw err;
      throw new KvmError(KvmErrorCode.IMAGE, errorText(err), { cause: err });
    } finally {
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
    }
  });
}
