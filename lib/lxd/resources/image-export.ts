/**
 * `GET /1.0/images/{fingerprint}/export`, streamed into a directory: a unified image is one file (the
 * answer's body), a split image is a `multipart/form-data` answer whose two parts (`metadata`, then
 * `rootfs` or `rootfs.img`) become two files. Every byte and every file name comes from the server and
 * is treated as hostile: a name must be a plain file name (no slash, no `..`, no control characters,
 * not hidden), an existing file is never replaced, and a part's headers are capped in size.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LxdLocalFileError, LxdResponseValidationError, LxdValidationError } from '../errors.js';

/** The most bytes of headers one part may carry. */
const MAX_PART_HEADERS = 16 * 1024;
/** A split image has two parts; anything beyond is refused. */
const MAX_PARTS = 2;

/** One file written by an export. */
export interface ExportedFile {
  /** `metadata`, `rootfs` (or `rootfs.img`), or `unified`. */
  part: string;
  /** The file's full path (inside the directory given). */
  path: string;
  size: number;
}

/**
 * Checks a file name the server sent: a plain name of at most 255 bytes, without a slash, a backslash,
 * `..`, control characters, or a leading dot. Throws `LxdResponseValidationError` otherwise.
 */
export function safeServerFileName(name: string, method: string, path: string): string {
  const bad =
    name === '' ||
    Buffer.byteLength(name) > 255 ||
    name.startsWith('.') ||
    name.includes('..') ||
    /[/\\]/.test(name) ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(name);
  if (bad) throw new LxdResponseValidationError(method, path, [{ path: ['filename'], message: `the server named a file ${JSON.stringify(name.slice(0, 300))}, which is not a plain file name; nothing was written` }]);
  return name;
}

/** `filename` of a Content-Disposition value (quoted or not), or undefined. */
export function dispositionFileName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(value);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!.trim();
}

/** `name` of a Content-Disposition value, or undefined. */
function dispositionName(value: string): string | undefined {
  const m = /(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;]*))/i.exec(value);
  return m ? (m[1] ?? m[2]!.trim()) : undefined;
}

/** The boundary of a multipart Content-Type, or undefined when it is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Refuses a target directory that is not an existing directory (before any request). */
export async function checkExportDir(dir: unknown): Promise<string> {
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) throw new LxdValidationError('dir', `${JSON.stringify(dir)} is not a directory path`);
  let s;
  try {
    s = await stat(dir);
  } catch (err) {
    throw new LxdValidationError('dir', `cannot use ${dir}: ${(err as Error).message}`);
  }
  if (!s.isDirectory()) throw new LxdValidationError('dir', `${dir} is not a directory`);
  return dir;
}

/**
 * A file being written: a temporary name in the directory, linked to its final name only once it is
 * complete (link never replaces an existing file), then the temporary name removed.
 */
class PendingFile {
  readonly tmp: string;
  #fh: FileHandle | undefined;
  size = 0;

  private constructor(
    readonly dir: string,
    readonly finalPath: string,
    readonly part: string,
  ) {
    this.tmp = join(dir, `.lxdkit-export-${randomBytes(6).toString('hex')}.part`);
  }

  static async open(dir: string, name: string, part: string): Promise<PendingFile> {
    const f = new PendingFile(dir, join(dir, name), part);
    try {
      f.#fh = await open(f.tmp, 'wx', 0o600);
    } catch (err) {
      throw localError(f.tmp, err, 'cannot create');
    }
    return f;
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    try {
      await this.#fh!.write(chunk);
    } catch (err) {
      throw localError(this.tmp, err, 'cannot write');
    }
    this.size += chunk.length;
  }

  async finish(): Promise<ExportedFile> {
    await this.#fh!.close();
    this.#fh = undefined;
    try {
      await link(this.tmp, this.finalPath);
    } catch (err) {
      throw localError(this.finalPath, err, (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'will not replace the existing file' : 'cannot create');
    } finally {
      await rm(this.tmp, { force: true });
    }
    return { part: this.part, path: this.finalPath, size: this.size };
  }

  async discard(): Promise<void> {
    await this.#fh?.close().catch(() => {});
    this.#fh = undefined;
    await rm(this.tmp, { force: true }).catch(() => {});
  }
}

function localError(path: string, err: unknown, what: string): LxdLocalFileError {
  const code = (err as NodeJS.ErrnoException).code;
  return new LxdLocalFileError(path, code, `${what} ${path}: ${(err as Error).message}`, { cause: err });
}

/** Writes a unified image's body into `dir/name`. */
export async function writeUnified(body: Readable, dir: string, name: string): Promise<ExportedFile[]> {
  const file = await PendingFile.open(dir, name, 'unified');
  try {
    for await (const chunk of body) await file.write(chunk as Buffer);
    return [await file.finish()];
  } catch (err) {
    body.destroy();
    await file.discard();
    throw err;
  }
}

/**
 * Splits a multipart body into files in `dir`, streaming: at most one part's headers and one
 * delimiter's worth of bytes are held in memory. Files already complete are removed when a later
 * part fails, so an export leaves either every file or none.
 */
export async function writeMultipart(body: Readable, boundary: string, dir: string, method: string, path: string): Promise<ExportedFile[]> {
  const bad = (message: string): LxdResponseValidationError => new LxdResponseValidationError(method, path, [{ path: ['body'], message }]);
  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const done: ExportedFile[] = [];
  let current: PendingFile | undefined;
  let buf: Buffer = Buffer.alloc(0);
  let state: 'preamble' | 'after-boundary' | 'headers' | 'body' | 'end' = 'preamble';
  try {
    for await (const raw of body) {
      buf = buf.length === 0 ? (raw as Buffer) : Buffer.concat([buf, raw as Buffer]);
      for (;;) {
        if (state === 'preamble') {
          const at = buf.indexOf(first);
          if (at < 0) {
            if (buf.length > MAX_PART_HEADERS) throw bad('the multipart answer has no boundary where it should start');
            break;
          }
          buf = buf.subarray(at + first.length);
          state = 'after-boundary';
        } else if (state === 'after-boundary') {
          if (buf.length < 2) break;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            state = 'end';
            break;
          }
          if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw bad('a multipart boundary is not followed by CRLF');
          buf = buf.subarray(2);
          state = 'headers';
        } else if (state === 'headers') {
          const at = buf.indexOf('\r\n\r\n');
          if (at < 0) {
            if (buf.length > MAX_PART_HEADERS) throw bad(`a part's headers are longer than ${MAX_PART_HEADERS} bytes`);
            break;
          }
          if (at > MAX_PART_HEADERS) throw bad(`a part's headers are longer than ${MAX_PART_HEADERS} bytes`);
          const headers = buf.subarray(0, at).toString('utf8');
          buf = buf.subarray(at + 4);
          if (done.length >= MAX_PARTS) throw bad(`the answer has more than ${MAX_PARTS} parts: an image has a metadata and a rootfs file`);
          const disposition = /^content-disposition:\s*(.*)$/im.exec(headers)?.[1] ?? '';
          const part = dispositionName(disposition);
          if (part === undefined || !['metadata', 'rootfs', 'rootfs.img'].includes(part)) throw bad(`a part is named ${JSON.stringify(part ?? '')}: an image has a metadata and a rootfs part`);
          if ((done.length === 0) !== (part === 'metadata')) throw bad('the metadata part must come first, then the rootfs part');
          const name = safeServerFileName(dispositionFileName(disposition) ?? '', method, path);
          current = await PendingFile.open(dir, name, part);
          state = 'body';
        } else if (state === 'body') {
          const at = buf.indexOf(delimiter);
          if (at < 0) {
            // keep what could be the start of a delimiter
            const keep = Math.min(buf.length, delimiter.length - 1);
            await current!.write(buf.subarray(0, buf.length - keep));
            buf = Buffer.from(buf.subarray(buf.length - keep));
            break;
          }
          await current!.write(buf.subarray(0, at));
          buf = buf.subarray(at + delimiter.length);
          done.push(await current!.finish());
          current = undefined;
          state = 'after-boundary';
        } else {
          break;
        }
      }
      if (state === 'end') break;
    }
    if (state !== 'end') throw bad('the multipart answer ended before its closing boundary');
    if (done.length !== 2) throw bad(`the answer has ${done.length} part(s): a split image has a metadata and a rootfs part`);
    return done;
  } catch (err) {
    body.destroy();
    await current?.discard();
    for (const f of done) await rm(f.path, { force: true }).catch(() => {});
    throw err;
  }
}
