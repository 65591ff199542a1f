/**
 * `/1.0/instances/{name}/files?path=…`: files, directories and symlinks inside an instance, streamed
 * both ways (a file is never held in memory: uploads read the local file in reused chunks, downloads
 * are read only as fast as they are written out), and recursive push and pull of directory trees.
 *
 * File metadata travels in headers that LXD names `X-LXD-*` and Incus `X-Incus-*` (serverHeader).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rmdir, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, resolve as resolvePath, sep } from 'node:path';
import { Readable } from 'node:stream';
import { StringListSchema } from '../../lazy-schema.js';
import { isValidTimeout, MAX_TIMER_MS } from '../../deadline.js';
import { apiErrorFor, LxdApiError, LxdError, LxdLocalFileError, LxdResponseValidationError, LxdTimeoutError, LxdValidationError } from '../errors.js';
import { readFileChunks } from '../file-chunks.js';
import { serverHeader } from '../headers.js';
import { lxdPath } from '../path.js';
import type { ServerKind } from '../socket.js';
import type { StreamResponse } from '../transport.js';
import { validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { readCapped } from './stream-util.js';

/** What a path in an instance is, as LXD reports it (`X-LXD-Type`). */
export type FileType = 'file' | 'directory' | 'symlink';

/** What LXD says about a path (from the response headers). */
export interface FileInfo {
  type: FileType;
  uid: number;
  gid: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** A file being pulled: its metadata and its content as a stream (a symlink's content is its target). */
export interface PulledFile extends FileInfo {
  /** The content length LXD announced, when it did. */
  size: number | undefined;
  /** Consume it or destroy it: the connection stays busy until then. */
  body: Readable;
}

/** How far a transfer has got. `totalBytes` is undefined when the size is not known ahead. */
export interface TransferProgress {
  bytes: number;
  totalBytes: number | undefined;
  /** The remote path of a recursive transfer's current file. */
  path?: string;
}

/** Options of every file transfer: its deadline and progress. */
export interface TransferOptions extends CallOptions {
  /**
   * Deadline for the whole transfer (default: the client's operationTimeoutMs, 10 minutes): a large
   * file needs more than the per-request default.
   */
  timeoutMs?: number | undefined;
  /** Called as data moves (after each chunk); a callback that throws is ignored. */
  onProgress?: ((progress: TransferProgress) => void) | undefined;
  /**
   * Pulls: the longest wait for the next bytes (default 30 s). LXD and Incus answer a FIFO's GET only
   * once something writes to it, so a pull would wait forever; past this wait it fails with
   * LxdTimeoutError (a recursive pull skips such an entry instead, with a warning).
   */
  stallTimeoutMs?: number | undefined;
}

/** The default `stallTimeoutMs`: the longest wait for the next bytes of a pull. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** Options of a push: owner, mode and how an existing file is treated. */
export interface PushOptions extends TransferOptions {
  /** Owner of a new file (default 0). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** Permission bits of a new file, e.g. 0o640 or '0640' (pushFile: the local file's; else LXD's 0644). */
  mode?: number | string | undefined;
  /** `overwrite` (default) or `append`. */
  write?: 'overwrite' | 'append' | undefined;
}

/** Options of `files.mkdir()`: owner, mode (default 0755) and `parents`. */
export interface MkdirOptions extends CallOptions {
  uid?: number | undefined;
  gid?: number | undefined;
  /** Permission bits, e.g. 0o755 (LXD's default 0755). */
  mode?: number | string | undefined;
  /** Create missing parents too, like `mkdir -p` (an existing directory is fine either way). */
  parents?: boolean | undefined;
}

/** Options of a recursive push or pull: transfers at a time, and the warnings of a pull. */
export interface RecursiveOptions extends TransferOptions {
  /** Transfers at a time (default 4; LXD runs a helper process per file call). */
  concurrency?: number | undefined;
  /** Pulls: hears each entry skipped and each local symlink replaced (also logged at `warn`). */
  onWarning?: ((warning: PullWarning) => void) | undefined;
}

/** Something a recursive pull did not do as the instance has it, and why. */
export interface PullWarning {
  /**
   * `skipped`: not pulled (neither a regular file, a directory nor a symlink, or no data came within
   * `stallTimeoutMs`: a FIFO or a device); `replaced`: a local symlink or file stood where the
   * instance has a directory (or a symlink where it has a file): the link itself was removed, never followed.
   */
  action: 'skipped' | 'replaced';
  /** The path in the instance. */
  path: string;
  /** The local path concerned. */
  localPath: string;
  message: string;
}

/** Options of `files.pushRecursive()`: owner of what it creates; the modes are the local files'. */
export interface PushRecursiveOptions extends RecursiveOptions {
  /** Owner of everything created (default 0). Modes are the local ones. */
  uid?: number | undefined;
  gid?: number | undefined;
}

/** What a recursive transfer did. */
export interface TreeTransfer {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

/** What a recursive pull did: `skipped` counts the entries it left out (see PullWarning). */
export interface TreePull extends TreeTransfer {
  skipped: number;
}

/** Data to push: a stream, an async iterable of bytes, bytes, or a string (UTF-8). */
export type PushData = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

/** An instance path: absolute, no NUL. Checked before any I/O. */
export function validateInstancePath(path: unknown, field = 'path'): string {
  if (typeof path !== 'string' || path === '') throw new LxdValidationError(field, 'must be a non-empty string');
  if (!path.startsWith('/')) throw new LxdValidationError(field, `"${path}" must be an absolute path inside the instance`);
  if (path.includes('\0')) throw new LxdValidationError(field, 'must not contain NUL');
  return path;
}

function validateId(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new LxdValidationError(field, `${String(v)} is not a numeric id`);
  return v;
}

/** A mode as a number: 0o644, 420, or the octal string '0644' / '644'. */
export function parseMode(v: unknown, field = 'mode'): number | undefined {
  if (v === undefined) return undefined;
  let n: number;
  if (typeof v === 'string') {
    if (!/^0?[0-7]{3,4}$/.test(v)) throw new LxdValidationError(field, `"${v}" is not an octal mode such as 0644`);
    n = Number.parseInt(v, 8);
  } else if (typeof v === 'number') n = v;
  else throw new LxdValidationError(field, 'must be a number or an octal string');
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) throw new LxdValidationError(field, `${String(v)} is not a file mode`);
  return n;
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

function checkTimeout(opts: CallOptions): void {
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
}

/** The type bits of a mode (S_IFMT) and those of a FIFO, a character or block device, a socket. */
const S_IFMT = 0o170000;
const SPECIAL_TYPES = new Set([0o010000, 0o020000, 0o060000, 0o140000]);

/**
 * Parses the file headers of a response. With `special`, a type other than file, directory or symlink
 * (or a mode whose type bits say FIFO, device or socket) is given back as `{ special }` rather than refused.
 */
function fileInfo(kind: ServerKind, headers: Record<string, string>, method: string, path: string): FileInfo;
function fileInfo(kind: ServerKind, headers: Record<string, string>, method: string, path: string, special: true): FileInfo | { special: string };
function fileInfo(kind: ServerKind, headers: Record<string, string>, method: string, path: string, special = false): FileInfo | { special: string } {
  const h = (name: string): string | undefined => headers[serverHeader(kind, name)];
  const type = h('type');
  const uid = Number(h('uid'));
  const gid = Number(h('gid'));
  const mode = Number.parseInt(h('mode') ?? '', 8);
  if (special && type !== undefined && /^[a-z-]{1,32}$/.test(type) && type !== 'file' && type !== 'directory' && type !== 'symlink') return { special: `a ${type}` };
  if ((type !== 'file' && type !== 'directory' && type !== 'symlink') || !Number.isInteger(uid) || !Number.isInteger(gid) || !Number.isInteger(mode)) {
    throw new LxdResponseValidationError(method, path, [{ path: ['headers'], message: `missing or malformed ${serverHeader(kind, 'type')}/uid/gid/mode headers` }]);
  }
  if (special && SPECIAL_TYPES.has(mode & S_IFMT)) return { special: `a special file (mode ${(mode >>> 0).toString(8)})` };
  return { type, uid, gid, mode: mode & 0o7777 };
}

/** The mode a pulled file or directory gets on the host: the permission bits, never setuid, setgid or sticky (as `lxc` does). */
const hostMode = (mode: number): number => mode & 0o777;

/** A name as it may be shown (JSON-quoted: no control characters reach a terminal). */
const shown = (name: string): string => JSON.stringify(name);

/**
 * Checks the entries of a directory listing: each must be one name (not empty, `.` or `..`, no `/` or
 * NUL, at most 255 bytes), and none listed twice. A real filesystem cannot list anything else; a
 * server that does is broken or lying, and its listing is refused as a whole.
 */
function checkEntries(method: string, url: string, names: readonly string[]): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    const bad =
      n === '' ? 'is empty'
        : n === '.' || n === '..' ? 'is not a name'
          : n.includes('/') ? 'holds "/"'
            : n.includes('\0') ? 'holds NUL'
              : Buffer.byteLength(n) > 255 ? 'is longer than 255 bytes'
                : seen.has(n) ? 'is listed twice'
                  : undefined;
    if (bad !== undefined) {
      throw new LxdResponseValidationError(method, url, [{ path: ['metadata', i], message: `the directory entry ${shown(n)} ${bad}; a listing holds single names, once each (refused: the server is broken or not to be trusted)` }]);
    }
    seen.add(n);
  });
}

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = fsConstants;

/** Linux's /proc/self/fd, through which a name is reached inside a directory held open (as openat(2) does). */
let procFd: boolean | undefined;
function haveProcFd(): boolean {
  procFd ??= process.platform === 'linux' && existsSync('/proc/self/fd');
  return procFd;
}

/** The system error code of a failed fs call, if it is one. */
const errnoOf = (err: unknown): string | undefined => (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException).code : undefined);

const LOCAL_REASONS: Record<string, string> = {
  ENAMETOOLONG: 'the name is too long for the local filesystem',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENOSPC: 'no space left on the local filesystem',
  EDQUOT: 'over the disk quota',
  EROFS: 'the local filesystem is read-only',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'a symlink is in the way (not followed)',
  EISDIR: 'a directory is in the way',
  ENOTEMPTY: 'a directory is in the way',
  EEXIST: 'something else is in the way',
  ENOENT: 'the local directory does not exist',
  EMFILE: 'too many open files',
};

/** A failed local fs call as LxdLocalFileError (an lxdkit error passes through). */
function localError(err: unknown, localPath: string, doing: string): unknown {
  if (LxdError.is(err)) return err;
  const code = errnoOf(err);
  if (code === undefined) return err;
  return new LxdLocalFileError(localPath, code, `cannot ${doing} ${localPath}: ${LOCAL_REASONS[code] ?? (err as Error).message} (${code})`, { cause: err });
}

async function local<T>(localPath: string, doing: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw localError(err, localPath, doing);
  }
}

/**
 * A local directory held open: every name in it is reached through the open directory
 * (`/proc/self/fd/N/name`), so a symlink swapped in for the directory or a parent later is never
 * followed. Opened with O_NOFOLLOW below the destination: a symlink there fails to open (ELOOP).
 */
class LocalDir {
  private constructor(
    private readonly fh: FileHandle,
    /** The path as shown in messages. */
    readonly path: string,
    private readonly base: string,
  ) {}

  /** `follow`: the caller's own path (its symlinks are the caller's); else a symlink is refused. */
  static async open(path: string, follow: boolean, at: string = path): Promise<LocalDir> {
    const fh = await local(path, 'open the directory', open(at, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW)));
    return new LocalDir(fh, path, haveProcFd() ? `/proc/self/fd/${fh.fd}` : path);
  }

  /** The path through which `name` in this directory is reached. */
  at(name: string): string {
    return `${this.base}/${name}`;
  }

  /** The path of `name` as shown in messages. */
  shown(name: string): string {
    return join(this.path, name);
  }

  chmod(mode: number): Promise<void> {
    return local(this.path, 'set the mode of', this.fh.chmod(mode));
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}

/** A new name for a temporary entry: short (it fits beside any name), hidden, random. */
const tempName = (): string => `.lxdkit-${randomBytes(6).toString('hex')}`;

/** What a pull into a directory found the remote path to be. */
type Pulled =
  | { kind: 'file' | 'symlink'; info: FileInfo; size: number }
  | { kind: 'directory'; info: FileInfo }
  | { kind: 'special'; what: string }
  | { kind: 'stalled'; error: LxdTimeoutError };

function report(cb: TransferOptions['onProgress'], p: TransferProgress): void {
  if (!cb) return;
  try {
    cb(p);
  } catch {
    // a progress callback must not break the transfer
  }
}

/** Passes chunks through, counting them. */
async function* counted(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, total: number | undefined, cb: TransferOptions['onProgress'], path?: string): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    yield chunk;
    bytes += chunk.length;
    // kept out when there is none: the progress is plain data a caller may compare
    report(cb, { bytes, totalBytes: total, ...(path !== undefined ? { path } : {}) });
  }
}

/** Runs `fn` over `items`, `limit` at a time; the first failure stops the rest and is thrown. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed !== undefined) throw failed;
}

/** An API error of a file call, named with the file's path (LXD's own text is only "Not Found"). */
async function naming<T>(work: Promise<T>, url: string, path: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof LxdApiError && err.path === url) {
      throw apiErrorFor({ status: err.status, errorCode: err.errorCode, method: err.method, path: `${url}?path=${path}`, project: err.project, lxdMessage: err.lxdMessage });
    }
    throw err;
  }
}

/**
 * A signal that aborts with `error()` when `alive()` has not been called for `ms` (armed at once), or
 * with the caller's reason when `outer` aborts.
 */
function stallGuard(outer: AbortSignal | undefined, ms: number, error: () => LxdTimeoutError): { signal: AbortSignal; alive(): void; clear(): void; readonly stalled: boolean } {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (): void => {
    if (cleared) return;
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(error()), Math.min(ms, MAX_TIMER_MS));
  };
  arm();
  return {
    signal: outer ? AbortSignal.any([outer, ac.signal]) : ac.signal,
    alive: arm,
    clear: () => {
      cleared = true;
      clearTimeout(timer);
    },
    get stalled() {
      return ac.signal.aborted;
    },
  };
}

/** Makes an entry under a fresh temporary name in `dir` (another name when one is taken). */
async function makeTemp<T>(dir: LocalDir, make: (at: string) => Promise<T>): Promise<{ value: T; name: string }> {
  for (let i = 0; ; i++) {
    const name = tempName();
    try {
      return { value: await make(dir.at(name)), name };
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST' || i >= 8) throw localError(err, dir.shown(name), 'create');
    }
  }
}

/** `client.instances.files`: files in an instance. */
export class InstanceFiles {
  constructor(private readonly api: Api) {}

  protected path(name: string, path: string): string {
    validateInstanceName(name);
    validateInstancePath(path);
    return lxdPath`/1.0/instances/${name}/files`;
  }

  private timeout(opts: TransferOptions): number {
    checkTimeout(opts);
    return opts.timeoutMs ?? this.api.ctx.operationTimeoutMs;
  }

  private stall(opts: TransferOptions): number {
    if (opts.stallTimeoutMs !== undefined && !isValidTimeout(opts.stallTimeoutMs)) throw new LxdValidationError('stallTimeoutMs', `${opts.stallTimeoutMs} is not a wait: give a positive, finite number of milliseconds`);
    return opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  }

  private stallError(name: string, path: string, url: string, ms: number): LxdTimeoutError {
    return new LxdTimeoutError(
      `${path} in ${name}: no data for ${ms} ms (LXD and Incus answer the GET of a FIFO only once something writes to it); raise stallTimeoutMs if the instance is only slow`,
      { timeoutMs: ms, method: 'GET', path: `${url}?path=${path}` },
    );
  }

  /** Logs a warning of a pull and hands it to `onWarning` (a callback that throws is ignored). */
  private warn(w: PullWarning, onWarning: RecursiveOptions['onWarning']): void {
    this.api.ctx.logger.warn({ action: w.action, path: w.path, localPath: w.localPath }, w.message);
    try {
      onWarning?.(w);
    } catch {
      // a warning callback must not break the pull
    }
  }

  /**
   * GETs a path as a stream with its metadata; `refuse` names what is wrong with its type, if
   * anything (the body is then dropped and the call fails with LxdValidationError).
   */
  private async getFile(url: string, path: string, opts: CallOptions, refuse: (type: FileInfo['type']) => string | undefined): Promise<{ res: StreamResponse; info: FileInfo }> {
    const kind = await this.api.ctx.serverKind(opts);
    const res = await naming(this.api.stream('GET', url, { ...opts, query: { path } }), url, path);
    try {
      const info = fileInfo(kind, res.headers, 'GET', url);
      const wrong = refuse(info.type);
      if (wrong !== undefined) throw new LxdValidationError('path', wrong);
      return { res, info };
    } catch (err) {
      res.body.destroy();
      throw err;
    }
  }

  /** HEAD: the type, owner and mode of a path (LxdNotFoundError when it does not exist). */
  async stat(name: string, path: string, opts: CallOptions = {}): Promise<FileInfo> {
    const url = this.path(name, path);
    checkTimeout(opts);
    const kind = await this.api.ctx.serverKind(opts);
    const res = await naming(this.api.stream('HEAD', url, { ...opts, query: { path } }), url, path);
    res.body.resume();
    return fileInfo(kind, res.headers, 'HEAD', url);
  }

  /**
   * GET a file (or a symlink: its content is the target) as a stream with its metadata. A directory
   * is refused (use `list()` or `pullRecursive()`); a missing path is LxdNotFoundError.
   */
  async pull(name: string, path: string, opts: TransferOptions = {}): Promise<PulledFile> {
    const url = this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const stallMs = this.stall(opts);
    // the wait for the answer is bounded (a FIFO's never comes); the body's pace is the consumer's
    const guard = stallGuard(opts.signal, stallMs, () => this.stallError(name, path, url, stallMs));
    let got: { res: StreamResponse; info: FileInfo };
    try {
      got = await this.getFile(url, path, { signal: guard.signal, timeoutMs }, (type) =>
        type === 'directory' ? `${path} in ${name} is a directory: use files.list() or files.pullRecursive()` : undefined,
      );
    } finally {
      guard.clear();
    }
    const { res, info } = got;
    const length = res.headers['content-length'];
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    let body = res.body;
    if (opts.onProgress) {
      const source = res.body;
      body = Readable.from(counted(source, size, opts.onProgress, path), { objectMode: false, highWaterMark: 64 * 1024 });
      body.on('close', () => source.destroy());
    }
    return { ...info, size, body };
  }

  /**
   * Pulls a file into `localFile` (written to a temporary name beside it, then renamed into place),
   * with the remote permission bits (never setuid, setgid or sticky). A symlink becomes a local
   * symlink. Resolves to the remote metadata and size. Over the local socket the bytes go from the
   * socket to the file through one reused buffer, so the memory stays flat whatever the file's size.
   * Whatever is at `localFile` is replaced, never followed: a symlink there is replaced by the file.
   */
  async pullFile(name: string, path: string, localFile: string, opts: TransferOptions = {}): Promise<FileInfo & { size: number }> {
    this.path(name, path);
    this.timeout(opts);
    this.stall(opts);
    if (typeof localFile !== 'string' || localFile === '' || localFile.includes('\0')) throw new LxdValidationError('localFile', 'must be a non-empty path without NUL');
    const entry = basename(localFile);
    if (entry === '' || entry === '.' || entry === '..') throw new LxdValidationError('localFile', `${localFile} does not name a file`);
    // the directory is the caller's own path: its symlinks are followed, as the caller gave it
    const dir = await LocalDir.open(dirname(localFile), true);
    try {
      const got = await this.pullInto(name, path, dir, entry, opts, (target) => target, { recursive: false, warn: (w) => this.warn(w, undefined) });
      if (got.kind === 'directory') throw new LxdValidationError('path', `${path} in ${name} is a directory: use files.list() or files.pullRecursive()`);
      if (got.kind === 'special') throw new LxdValidationError('path', `${path} in ${name} is ${got.what}: only files and symlinks are pulled`);
      if (got.kind === 'stalled') throw got.error;
      return { ...got.info, size: got.size };
    } finally {
      await dir.close();
    }
  }

  /**
   * Downloads `path` to a temporary entry of `dir`, then puts it (or the symlink it is) in place as
   * `entry`: renamed over what is there (a symlink is replaced, never followed; an empty directory is
   * removed; another one is refused). A directory or a special file is reported, not written. With
   * `recursive`, a GET that gave no byte within the stall timeout is reported as `stalled`; otherwise it
   * fails with LxdTimeoutError.
   */
  private async pullInto(
    name: string,
    path: string,
    dir: LocalDir,
    entry: string,
    opts: TransferOptions,
    linkTarget: (target: string) => string,
    how: { recursive: boolean; warn: (w: PullWarning) => void },
  ): Promise<Pulled> {
    const url = this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const stallMs = this.stall(opts);
    const kind = await this.api.ctx.serverKind(opts);
    const localPath = dir.shown(entry);
    const temp = await makeTemp(dir, (at) => open(at, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
    const fh = temp.value;
    let open_ = true;
    let tempLeft = true;
    const close = async (): Promise<void> => {
      if (open_) {
        open_ = false;
        await fh.close();
      }
    };
    try {
      let bytes = 0;
      const guard = stallGuard(opts.signal, stallMs, () => this.stallError(name, path, url, stallMs));
      let res: { headers: Record<string, string>; bytes: number };
      try {
        res = await naming(
          this.api.download('GET', url, fh, {
            signal: guard.signal,
            timeoutMs,
            query: { path },
            onBytes: (b: number, total: number | undefined) => {
              bytes = b;
              guard.alive();
              report(opts.onProgress, { bytes: b, totalBytes: total, path });
            },
          }),
          url,
          path,
        );
      } catch (err) {
        if (how.recursive && guard.stalled && bytes === 0 && err instanceof LxdTimeoutError) return { kind: 'stalled', error: err };
        throw err;
      } finally {
        guard.clear();
      }
      const info = fileInfo(kind, res.headers, 'GET', url, true);
      if ('special' in info) return { kind: 'special', what: info.special };
      if (info.type === 'directory') return { kind: 'directory', info };
      if (info.type === 'symlink') {
        // a symlink's body is its target: a path (PATH_MAX), one line, no NUL
        if (res.bytes > 4095) throw new LxdResponseValidationError('GET', url, [{ path: ['body'], message: `a symlink target of ${res.bytes} bytes (a path has at most 4095)` }]);
        const buf = Buffer.alloc(res.bytes);
        await local(localPath, 'read back', fh.read(buf, 0, res.bytes, 0));
        const raw = buf.toString('utf8');
        if (raw === '' || raw.includes('\0')) throw new LxdResponseValidationError('GET', url, [{ path: ['body'], message: 'a symlink target must be a non-empty path without NUL' }]);
        const target = linkTarget(raw);
        const link = await makeTemp(dir, (at) => symlink(target, at));
        await this.place(dir, link.name, entry, path, 'symlink', how.warn);
        return { kind: 'symlink', info, size: Buffer.byteLength(target) };
      }
      await local(localPath, 'set the mode of', fh.chmod(hostMode(info.mode)));
      await close();
      await this.place(dir, temp.name, entry, path, 'file', how.warn);
      tempLeft = false;
      return { kind: 'file', info, size: res.bytes };
    } finally {
      await close().catch(() => {});
      if (tempLeft) await unlink(dir.at(temp.name)).catch(() => {});
    }
  }

  /**
   * Renames the temporary entry `temp` of `dir` to `entry`. rename(2) replaces a symlink there (the link,
   * never its target); an empty directory in the way is removed, another one refused.
   */
  private async place(dir: LocalDir, temp: string, entry: string, path: string, type: 'file' | 'symlink', warn: ((w: PullWarning) => void) | undefined): Promise<void> {
    const at = dir.at(entry);
    const localPath = dir.shown(entry);
    try {
      const before = await lstat(at).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (before?.isDirectory()) {
        await rmdir(at).catch((err: unknown) => {
          throw new LxdLocalFileError(localPath, errnoOf(err), `cannot put the ${type} ${path} at ${localPath}: a directory is in the way (${errnoOf(err) ?? 'not removed'}); remove it and pull again`, { cause: err });
        });
      }
      await rename(dir.at(temp), at);
      if (before?.isSymbolicLink() && type === 'file') {
        warn?.({ action: 'replaced', path, localPath, message: `${localPath} was a symlink where ${path} is a file: the link was replaced by the file (its target is untouched)` });
      }
    } catch (err) {
      await unlink(dir.at(temp)).catch(() => {});
      throw localError(err, localPath, 'write');
    }
  }

  /** The entries of a directory (names, not paths). */
  async list(name: string, path: string, opts: CallOptions = {}): Promise<string[]> {
    const url = this.path(name, path);
    checkTimeout(opts);
    const { res } = await this.getFile(url, path, opts, (type) => (type === 'directory' ? undefined : `${path} in ${name} is a ${type}, not a directory`));
    const text = (await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', url)).toString('utf8');
    let env: unknown;
    try {
      env = JSON.parse(text);
    } catch {
      env = undefined;
    }
    const parsed = StringListSchema.safeParse((env as { metadata?: unknown } | undefined)?.metadata);
    if (!parsed.success) throw new LxdResponseValidationError('GET', url, parsed.error.issues);
    checkEntries('GET', url, parsed.data);
    return parsed.data;
  }

  /** POSTs data to a file (streamed; with `uid`, `gid`, `mode` for a new file, `write: 'append'`). */
  async push(name: string, path: string, data: PushData, opts: PushOptions = {}): Promise<void> {
    const url = this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const uid = validateId(opts.uid, 'uid');
    const gid = validateId(opts.gid, 'gid');
    const mode = parseMode(opts.mode);
    if (opts.write !== undefined && opts.write !== 'overwrite' && opts.write !== 'append') throw new LxdValidationError('write', 'must be "overwrite" or "append"');
    if (opts.write === 'append') await this.require('file_append', 'an append', opts);
    let stream: AsyncIterable<Uint8Array> | Buffer;
    let size: number | undefined;
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      size = buf.length;
      stream = opts.onProgress ? counted([buf], size, opts.onProgress, path) : buf;
    } else {
      stream = counted(data, undefined, opts.onProgress, path);
    }
    await this.post(path, url, { uid, gid, mode, type: 'file', write: opts.write }, { stream, size, reusesChunks: false }, opts, timeoutMs);
  }

  /** Pushes a local file (streamed from disk); the mode is the local file's unless `mode` is given. */
  async pushFile(name: string, localFile: string, path: string, opts: PushOptions = {}): Promise<void> {
    const url = this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const uid = validateId(opts.uid, 'uid');
    const gid = validateId(opts.gid, 'gid');
    let mode = parseMode(opts.mode);
    if (opts.write === 'append') await this.require('file_append', 'an append', opts);
    let size: number;
    try {
      const s = await stat(localFile);
      if (!s.isFile()) throw new LxdValidationError('localFile', `${localFile} is not a regular file`);
      size = s.size;
      mode ??= s.mode & 0o7777;
    } catch (err) {
      if (err instanceof LxdValidationError) throw err;
      throw new LxdValidationError('localFile', `cannot read ${localFile}: ${(err as Error).message}`);
    }
    const stream = counted(readFileChunks(localFile, { signal: opts.signal }), size, opts.onProgress, path);
    await this.post(path, url, { uid, gid, mode, type: 'file', write: opts.write }, { stream, size, reusesChunks: true }, opts, timeoutMs);
  }

  /** Creates a directory (an existing one is fine); `parents` creates missing parents too. */
  async mkdir(name: string, path: string, opts: MkdirOptions = {}): Promise<void> {
    const url = this.path(name, path);
    checkTimeout(opts);
    const uid = validateId(opts.uid, 'uid');
    const gid = validateId(opts.gid, 'gid');
    const mode = parseMode(opts.mode);
    await this.require('directory_manipulation', 'a directory', opts);
    const timeoutMs = opts.timeoutMs ?? this.api.ctx.transport.timeoutMs;
    if (opts.parents) {
      const parts = posix.normalize(path).split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) {
        const dir = `/${parts.slice(0, i).join('/')}`;
        await this.post(dir, url, { uid, gid, mode, type: 'directory' }, undefined, opts, timeoutMs);
      }
    }
    await this.post(path, url, { uid, gid, mode, type: 'directory' }, undefined, opts, timeoutMs);
  }

  /** Creates a symlink at `path` pointing at `target` (which need not exist). */
  async symlink(name: string, path: string, target: string, opts: CallOptions & { uid?: number; gid?: number } = {}): Promise<void> {
    const url = this.path(name, path);
    checkTimeout(opts);
    if (typeof target !== 'string' || target === '' || target.includes('\0')) throw new LxdValidationError('target', 'must be a non-empty string without NUL');
    await this.require('file_symlinks', 'a symlink', opts);
    const buf = Buffer.from(target, 'utf8');
    await this.post(path, url, { uid: validateId(opts.uid, 'uid'), gid: validateId(opts.gid, 'gid'), type: 'symlink' }, { stream: buf, size: buf.length, reusesChunks: false }, opts, opts.timeoutMs ?? this.api.ctx.transport.timeoutMs);
  }

  /**
   * Deletes a file, a symlink or an empty directory; with `recursive`, a directory and everything in it
   * (LXD itself deletes only empty ones). A missing path is LxdNotFoundError.
   */
  async delete(name: string, path: string, opts: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    const url = this.path(name, path);
    checkTimeout(opts);
    await this.require('file_delete', 'a delete', opts);
    if (opts.recursive) {
      const info = await this.stat(name, path, opts);
      if (info.type === 'directory') {
        const entries = await this.list(name, path, opts);
        for (const e of entries) await this.delete(name, posix.join(path, e), opts);
      }
    }
    await naming(this.api.call('DELETE', url, { signal: opts.signal, timeoutMs: opts.timeoutMs, query: { path } }), url, path);
  }

  /**
   * Pushes a local directory tree to `path` (created as needed): directories with their local modes,
   * files streamed (a few at a time), symlinks as symlinks. Other file types are skipped.
   */
  async pushRecursive(name: string, localDir: string, path: string, opts: PushRecursiveOptions = {}): Promise<TreeTransfer> {
    this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new LxdValidationError('concurrency', `${concurrency} is not a positive whole number`);
    const top = await stat(localDir).catch((err: unknown) => {
      throw new LxdValidationError('localDir', `cannot read ${localDir}: ${(err as Error).message}`);
    });
    if (!top.isDirectory()) throw new LxdValidationError('localDir', `${localDir} is not a directory`);
    const deadlineAt = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadlineAt - Date.now());
    const ids = { uid: opts.uid, gid: opts.gid };
    const done: TreeTransfer = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
    const walk = async (local: string, remote: string, mode: number): Promise<void> => {
      opts.signal?.throwIfAborted();
      await this.mkdir(name, remote, { ...ids, mode, signal: opts.signal, timeoutMs: left() });
      done.directories++;
      const entries = (await readdir(local, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
      const files = entries.filter((e) => e.isFile() || e.isSymbolicLink());
      await eachLimited(files, concurrency, async (e) => {
        const src = join(local, e.name);
        const dst = posix.join(remote, e.name);
        if (e.isSymbolicLink()) {
          await this.symlink(name, dst, await readlink(src), { ...ids, signal: opts.signal, timeoutMs: left() });
          done.symlinks++;
          return;
        }
        let sent = 0;
        await this.pushFile(name, src, dst, {
          ...ids,
          signal: opts.signal,
          timeoutMs: left(),
          onProgress: (p) => {
            done.bytes += p.bytes - sent;
            sent = p.bytes;
            report(opts.onProgress, { bytes: done.bytes, totalBytes: undefined, path: dst });
          },
        });
        done.files++;
      });
      for (const e of entries.filter((x) => x.isDirectory())) {
        const sub = join(local, e.name);
        await walk(sub, posix.join(remote, e.name), (await lstat(sub)).mode & 0o7777);
      }
    };
    await walk(localDir, path, top.mode & 0o7777);
    return done;
  }

  /**
   * Pulls a directory tree at `path` into `localDir` (created as needed): files streamed, symlinks as
   * symlinks, directories, each with its remote permission bits (never setuid, setgid or sticky). LXD
   * reports a link's target as an absolute path (a relative one resolved against the link's
   * directory): a target inside the tree is written as a relative link, one outside it as LXD gives it.
   *
   * Nothing under `localDir` is followed: every directory is opened without following symlinks and
   * every name is reached through it. A local symlink (or file) where the instance has a directory is
   * removed (the link itself) and a directory made; a local symlink where it has a file is replaced by
   * the file; a local directory where it has a file is removed if empty, else the pull fails
   * (LxdLocalFileError). `localDir` itself is the caller's path and is taken as given. A listing whose
   * entries are not single names, once each, is refused (LxdResponseValidationError). An entry that is
   * neither a regular file, a directory nor a symlink, or that gave no byte within `stallTimeoutMs`
   * (a FIFO: LXD and Incus report it as a file and its GET waits for a writer), is skipped with a warning.
   */
  async pullRecursive(name: string, path: string, localDir: string, opts: RecursiveOptions = {}): Promise<TreePull> {
    this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const stallMs = this.stall(opts);
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new LxdValidationError('concurrency', `${concurrency} is not a positive whole number`);
    if (typeof localDir !== 'string' || localDir === '' || localDir.includes('\0')) throw new LxdValidationError('localDir', 'must be a non-empty path without NUL');
    const deadlineAt = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadlineAt - Date.now());
    const done: TreePull = { files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: 0 };
    const root = posix.normalize(path).replace(/\/$/, '') || '/';
    const top = resolvePath(localDir);
    const warn = (w: PullWarning): void => this.warn(w, opts.onWarning);
    const skip = (w: Omit<PullWarning, 'action'>): void => {
      done.skipped++;
      warn({ action: 'skipped', ...w });
    };
    const walk = async (remote: string, dir: LocalDir): Promise<void> => {
      opts.signal?.throwIfAborted();
      // a directory's metadata and listing come at once from a live server: they wait no longer than a stall
      const brief = (): number => Math.min(left(), stallMs);
      const info = await this.stat(name, remote, { signal: opts.signal, timeoutMs: brief() });
      if (info.type !== 'directory') throw new LxdValidationError('path', `${remote} in ${name} is a ${info.type}, not a directory`);
      done.directories++;
      // single names, once each (list() refuses anything else): each stays inside its directory
      const entries = (await this.list(name, remote, { signal: opts.signal, timeoutMs: brief() })).sort();
      const dirs: string[] = [];
      await eachLimited(entries, concurrency, async (entry) => {
        const src = posix.join(remote, entry);
        const localPath = dir.shown(entry);
        const rel = relative(top, localPath);
        if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) {
          throw new LxdResponseValidationError('GET', this.path(name, remote), [{ path: ['metadata'], message: `the entry ${shown(entry)} would land at ${localPath}, outside ${top}` }]);
        }
        let mine = 0;
        const got = await this.pullInto(name, src, dir, entry, {
          signal: opts.signal,
          timeoutMs: left(),
          stallTimeoutMs: stallMs,
          onProgress: (p) => {
            done.bytes += p.bytes - mine;
            mine = p.bytes;
            report(opts.onProgress, { bytes: done.bytes, totalBytes: undefined, path: src });
          },
        }, (target) =>
          // LXD gives a link's target resolved to an absolute path; one inside the tree becomes
          // relative again, so the local copy's links point into the local copy
          target === root || target.startsWith(`${root}/`) ? posix.relative(remote, target) || '.' : target,
        { recursive: true, warn });
        switch (got.kind) {
          case 'file':
            done.files++;
            return;
          case 'symlink':
            done.symlinks++;
            return;
          case 'directory':
            // a directory answers a GET with its listing (not counted): it is walked below
            done.bytes -= mine;
            dirs.push(entry);
            return;
          case 'special':
            done.bytes -= mine;
            skip({ path: src, localPath, message: `${src} in ${name} is ${got.what}: skipped (only regular files, directories and symlinks are pulled)` });
            return;
          case 'stalled': {
            // no byte at all: a FIFO (or a device), or a server that stopped answering: it must still answer a HEAD
            const alive = await this.stat(name, src, { signal: opts.signal, timeoutMs: Math.min(stallMs, 10_000) }).then(() => true, () => false);
            if (!alive) throw got.error;
            skip({ path: src, localPath, message: `${src} in ${name}: no data within ${stallMs} ms, skipped (a FIFO or a device: LXD and Incus report those as files)` });
            return;
          }
        }
      });
      for (const d of dirs.sort()) {
        const src = posix.join(remote, d);
        if (Buffer.byteLength(src) > 4095) throw new LxdResponseValidationError('GET', this.path(name, remote), [{ path: ['metadata'], message: `${shown(src)} is longer than a path can be (4095 bytes)` }]);
        const child = await this.childDir(dir, d, src, warn);
        try {
          await walk(src, child);
        } finally {
          await child.close();
        }
      }
      await dir.chmod(hostMode(info.mode));
    };
    await local(top, 'create the directory', mkdir(top, { recursive: true }));
    const rootDir = await LocalDir.open(top, true);
    try {
      await walk(path, rootDir);
    } finally {
      await rootDir.close();
    }
    report(opts.onProgress, { bytes: done.bytes, totalBytes: done.bytes });
    return done;
  }

  /**
   * The directory `entry` of `dir`, opened without following a symlink: made when missing; a symlink
   * or another non-directory there is removed first (unlink(2) removes the link, never its target).
   */
  private async childDir(dir: LocalDir, entry: string, path: string, warn: (w: PullWarning) => void): Promise<LocalDir> {
    const at = dir.at(entry);
    const localPath = dir.shown(entry);
    const st = await lstat(at).catch((err: unknown) => {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw localError(err, localPath, 'look at');
    });
    if (!st?.isDirectory()) {
      if (st) {
        await local(localPath, 'remove', unlink(at));
        const what = st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'special file';
        warn({ action: 'replaced', path, localPath, message: `${localPath} was a ${what} where ${path} is a directory: it was removed${what === 'symlink' ? ' (the link itself: its target is untouched)' : ''} and a directory made` });
      }
      await mkdir(at, 0o700).catch((err: unknown) => {
        // made meanwhile: the open below says whether it is a directory
        if (errnoOf(err) !== 'EEXIST') throw localError(err, localPath, 'create the directory');
      });
    }
    return LocalDir.open(localPath, false, at);
  }

  private require(extension: string, what: string, opts: CallOptions): Promise<void> {
    return requireExtension(this.api, extension, what, opts);
  }

  private async post(
    path: string,
    url: string,
    meta: { uid?: number | undefined; gid?: number | undefined; mode?: number | undefined; type: FileType; write?: string | undefined },
    body: { stream: AsyncIterable<Uint8Array> | Buffer; size: number | undefined; reusesChunks: boolean } | undefined,
    opts: CallOptions,
    timeoutMs: number,
  ): Promise<void> {
    const kind = await this.api.ctx.serverKind(opts);
    const headers: Record<string, string> = { [serverHeader(kind, 'type')]: meta.type };
    if (meta.uid !== undefined) headers[serverHeader(kind, 'uid')] = String(meta.uid);
    if (meta.gid !== undefined) headers[serverHeader(kind, 'gid')] = String(meta.gid);
    if (meta.mode !== undefined) headers[serverHeader(kind, 'mode')] = octal(meta.mode);
    if (meta.write !== undefined) headers[serverHeader(kind, 'write')] = meta.write;
    const raw = body ?? { stream: Buffer.alloc(0), size: 0, reusesChunks: false };
    await naming(this.api.call('POST', url, {
      signal: opts.signal,
      timeoutMs,
      headers,
      query: { path },
      // LXD reads a form-encoded body as form fields: the content type must say octet-stream
      rawBody: { stream: raw.stream, contentType: 'application/octet-stream', contentLength: raw.size, reusesChunks: raw.reusesChunks },
    }), url, path);
  }
}
