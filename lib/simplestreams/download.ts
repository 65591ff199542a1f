/**
 * Downloads one file of a stream to disk: streamed, hashed on the way, cut off once it runs past the
 * size the stream announced, and removed again on any failure.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SimplestreamsError, SimplestreamsErrorCode } from './errors.js';
import { get, wrapError, type HttpSettings, type RequestOptions } from './http.js';

/** Progress of a download: bytes so far and the total when the server (or stream) says it. */
export interface DownloadProgress {
  url: string;
  received: number;
  total: number | undefined;
  /** Bytes per second since the download started. */
  bytesPerSecond: number;
}

/**
 * Options of `SimplestreamsClient.download()`: the expected SHA-256 and size, progress, a signal and a timeout.
 */
export interface DownloadOptions extends RequestOptions {
  /** The expected SHA-256 (hex). On a mismatch the file is removed and CHECKSUM_MISMATCH thrown. */
  sha256?: string;
  /**
   * The size the stream announced. A body that runs past it (or past its Content-Length) is cut off
   * with CHECKSUM_MISMATCH; it is also the total of the progress when there is no Content-Length.
   */
  size?: number;
  onProgress?: (progress: DownloadProgress) => void;
}

/** A finished download: the file, its size in bytes and its SHA-256. */
export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of what was written, hex. */
  sha256: string;
}

export async function download(url: string, dest: string, settings: HttpSettings, opts: DownloadOptions): Promise<DownloadResult> {
  const target = URL.canParse(url) ? new URL(url) : undefined;
  if (target?.protocol !== 'http:' && target?.protocol !== 'https:') {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, `unsupported download URL "${url}"`, { url });
  }
  const want = opts.sha256?.toLowerCase();
  if (want !== undefined && !/^[0-9a-f]{64}$/.test(want)) {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, `invalid sha256 "${opts.sha256}" for ${url}`, { url });
  }
  if (opts.size !== undefined && !(Number.isSafeInteger(opts.size) && opts.size >= 0)) {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_ARGUMENT, `invalid size ${opts.size} for ${url}`, { url });
  }
  const hash = createHash('sha256');
  let received = 0;
  await get(url, settings, opts, 'image', async (res) => {
    const file = createWriteStream(dest, { flags: 'wx', mode: 0o644 });
    // Only a file this call created is removed on failure (never one that was already there).
    let created = false;
    file.once('open', () => {
      created = true;
    });
    const lengthHeader = Number(res.headers['content-length']);
    const length = Number.isFinite(lengthHeader) && lengthHeader > 0 ? lengthHeader : undefined;
    const limit = opts.size ?? length;
    const total = length ?? opts.size;
    const started = Date.now();
    const onProgress = opts.onProgress;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (limit !== undefined && received > limit) {
          done(new SimplestreamsError(SimplestreamsErrorCode.CHECKSUM_MISMATCH, `${url} is larger than the ${limit} bytes announced; the download was cut off`, { url }));
          return;
        }
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
      // The stream opens its file on its own time, even when destroyed first: wait until it is closed
      // to know whether this call created the file.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      if (created) await unlink(dest).catch(() => undefined);
      throw wrapError(err, url, opts.signal);
    }
  });
  const got = hash.digest('hex');
  if (want !== undefined && got !== want) {
    await unlink(dest).catch(() => undefined);
    throw new SimplestreamsError(SimplestreamsErrorCode.CHECKSUM_MISMATCH, `hash sum mismatch for ${dest}: ${got} != ${want}`, { url });
  }
  return { path: dest, bytes: received, sha256: got };
}
