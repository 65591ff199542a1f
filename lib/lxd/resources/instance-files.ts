/**
 * `/1.0/instances/{name}/files?path=…`: files, directories and symlinks inside an instance, streamed
 * both ways (a file is never held in memory: uploads read the local file in reused chunks, downloads
 * are read only as fast as they are written out), and recursive push and pull of directory trees.
 *
 * File metadata travels in headers that LXD names `X-LXD-*` and Incus `X-Incus-*` (serverHeader).
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { isValidTimeout } from '../../deadline.js';
import { apiErrorFor, LxdApiError, LxdResponseValidationError, LxdValidationError } from '../errors.js';
import { readFileChunks } from '../file-chunks.js';
import { serverHeader } from '../headers.js';
import { lxdPath } from '../path.js';
import type { ServerKind } from '../socket.js';
import type { StreamResponse } from '../transport.js';
import { validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { readCapped } from './stream-util.js';

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

export interface TransferOptions extends CallOptions {
  /**
   * Deadline for the whole transfer (default: the client's operationTimeoutMs, 10 minutes): a large
   * file needs more than the per-request default.
   */
  timeoutMs?: number | undefined;
  /** Called as data moves (after each chunk); a callback that throws is ignored. */
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

export interface PushOptions extends TransferOptions {
  /** Owner of a new file (default 0). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** Permission bits of a new file, e.g. 0o640 or '0640' (pushFile: the local file's; else LXD's 0644). */
  mode?: number | string | undefined;
  /** `overwrite` (default) or `append`. */
  write?: 'overwrite' | 'append' | undefined;
}

export interface MkdirOptions extends CallOptions {
  uid?: number | undefined;
  gid?: number | undefined;
  /** Permission bits, e.g. 0o755 (LXD's default 0755). */
  mode?: number | string | undefined;
  /** Create missing parents too, like `mkdir -p` (an existing directory is fine either way). */
  parents?: boolean | undefined;
}

export interface RecursiveOptions extends TransferOptions {
  /** Transfers at a time (default 4; LXD runs a helper process per file call). */
  concurrency?: number | undefined;
}

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

/** Data to push: a stream, an async iterable of bytes, bytes, or a string (UTF-8). */
export type PushData = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

const EntryList = z.array(z.string());

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

/** Parses the file headers of a response. */
function fileInfo(kind: ServerKind, headers: Record<string, string>, method: string, path: string): FileInfo {
  const h = (name: string): string | undefined => headers[serverHeader(kind, name)];
  const type = h('type');
  const uid = Number(h('uid'));
  const gid = Number(h('gid'));
  const mode = Number.parseInt(h('mode') ?? '', 8);
  if ((type !== 'file' && type !== 'directory' && type !== 'symlink') || !Number.isInteger(uid) || !Number.isInteger(gid) || !Number.isInteger(mode)) {
    throw new LxdResponseValidationError(method, path, [{ path: ['headers'], message: `missing or malformed ${serverHeader(kind, 'type')}/uid/gid/mode headers` }]);
  }
  return { type, uid, gid, mode: mode & 0o7777 };
}

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

/** `client.instances.files`: files in an instance. */
export class InstanceFiles {
  constructor(private readonly api: Api) {}

  private path(name: string, path: string): string {
    validateInstanceName(name);
    validateInstancePath(path);
    return lxdPath`/1.0/instances/${name}/files`;
  }

  private timeout(opts: TransferOptions): number {
    checkTimeout(opts);
    return opts.timeoutMs ?? this.api.ctx.operationTimeoutMs;
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
    const { res, info } = await this.getFile(url, path, { signal: opts.signal, timeoutMs }, (type) =>
      type === 'directory' ? `${path} in ${name} is a directory: use files.list() or files.pullRecursive()` : undefined,
    );
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
   * with the remote mode. A symlink becomes a local symlink. Resolves to the remote metadata and size.
   * Over the local socket the bytes go from the socket to the file through one reused buffer, so the
   * memory stays flat whatever the file's size.
   */
  async pullFile(name: string, path: string, localFile: string, opts: TransferOptions = {}): Promise<FileInfo & { size: number }> {
    this.path(name, path);
    return this.pullTo(name, path, localFile, opts, (target) => target);
  }

  /** Downloads `path` to a temporary file beside `localFile`, then puts it (or the symlink it is) in place. */
  private async pullTo(name: string, path: string, localFile: string, opts: TransferOptions, linkTarget: (target: string) => string): Promise<FileInfo & { size: number }> {
    const url = this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const kind = await this.api.ctx.serverKind(opts);
    const tmp = join(dirname(localFile), `.${posix.basename(localFile)}.lxdkit-${randomBytes(4).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    let open_ = true;
    const close = async (): Promise<void> => {
      if (open_) {
        open_ = false;
        await fh.close();
      }
    };
    try {
      const res = await naming(
        this.api.download('GET', url, fh, {
          signal: opts.signal,
          timeoutMs,
          query: { path },
          onBytes: opts.onProgress && ((bytes: number, total: number | undefined) => report(opts.onProgress, { bytes, totalBytes: total, path })),
        }),
        url,
        path,
      );
      await close();
      const info = fileInfo(kind, res.headers, 'GET', url);
      if (info.type === 'directory') throw new LxdValidationError('path', `${path} in ${name} is a directory: use files.list() or files.pullRecursive()`);
      if (info.type === 'symlink') {
        const target = linkTarget(await readFile(tmp, 'utf8'));
        await rm(tmp, { force: true });
        await rm(localFile, { force: true });
        await symlink(target, localFile);
        return { ...info, size: Buffer.byteLength(target) };
      }
      await chmod(tmp, info.mode);
      await rename(tmp, localFile);
      return { ...info, size: res.bytes };
    } catch (err) {
      await close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
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
    const parsed = EntryList.safeParse((env as { metadata?: unknown } | undefined)?.metadata);
    if (!parsed.success) throw new LxdResponseValidationError('GET', url, parsed.error.issues);
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
   * Pulls a directory tree at `path` into `localDir` (created as needed): files streamed with their
   * remote modes, symlinks as symlinks, directories with their remote modes. LXD reports a link's
   * target as an absolute path (a relative one resolved against the link's directory): a target
   * inside the tree is written as a relative link, one outside it as LXD gives it.
   */
  async pullRecursive(name: string, path: string, localDir: string, opts: RecursiveOptions = {}): Promise<TreeTransfer> {
    this.path(name, path);
    const timeoutMs = this.timeout(opts);
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new LxdValidationError('concurrency', `${concurrency} is not a positive whole number`);
    const deadlineAt = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadlineAt - Date.now());
    const done: TreeTransfer = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
    const root = posix.normalize(path).replace(/\/$/, '') || '/';
    const walk = async (remote: string, local: string): Promise<void> => {
      opts.signal?.throwIfAborted();
      const info = await this.stat(name, remote, { signal: opts.signal, timeoutMs: left() });
      if (info.type !== 'directory') throw new LxdValidationError('path', `${remote} in ${name} is a ${info.type}, not a directory`);
      await mkdir(local, { recursive: true });
      done.directories++;
      const entries = (await this.list(name, remote, { signal: opts.signal, timeoutMs: left() })).sort();
      const dirs: string[] = [];
      await eachLimited(entries, concurrency, async (entry) => {
        const src = posix.join(remote, entry);
        const dst = join(local, entry);
        let mine = 0;
        const got = await this.pullTo(name, src, dst, {
          signal: opts.signal,
          timeoutMs: left(),
          onProgress: (p) => {
            done.bytes += p.bytes - mine;
            mine = p.bytes;
            report(opts.onProgress, { bytes: done.bytes, totalBytes: undefined, path: src });
          },
        }, (target) =>
          // LXD gives a link's target resolved to an absolute path; one inside the tree becomes
          // relative again, so the local copy's links point into the local copy
          target === root || target.startsWith(`${root}/`) ? posix.relative(remote, target) || '.' : target,
        ).catch((err: unknown) => {
          // a directory answers a GET with its listing (not counted): it is walked below
          if (err instanceof LxdValidationError && /is a directory/.test(err.message)) {
            done.bytes -= mine;
            return undefined;
          }
          throw err;
        });
        if (!got) {
          dirs.push(entry);
          return;
        }
        if (got.type === 'symlink') done.symlinks++;
        else done.files++;
      });
      for (const d of dirs.sort()) await walk(posix.join(remote, d), join(local, d));
      await chmod(local, info.mode);
    };
    await walk(path, localDir);
    report(opts.onProgress, { bytes: done.bytes, totalBytes: done.bytes });
    return done;
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
