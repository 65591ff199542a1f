/**
 * `/1.0/instances/{name}/backups`: backup tarballs of an instance, made by LXD, downloaded as a stream
 * (never held in memory), and `POST /1.0/instances` with a backup tarball streamed from disk to make a
 * new instance from one.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { arrayOf, lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { isValidTimeout } from '../../deadline.js';
import { LxdValidationError } from '../errors.js';
import { readFileChunks } from '../file-chunks.js';
import { serverHeader } from '../headers.js';
import type { Operation, WaitOptions } from '../operation.js';
import { lxdPath } from '../path.js';
import { validateBody, validateInstanceName, validatePoolName } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type WithEtag } from './base.js';
import type { TransferOptions, TransferProgress } from './instance-files.js';
import { rfc3339 } from './snapshots.js';

/** Loose schema of an instance backup (`GET /1.0/instances/{name}/backups/{backup}`). */
export const BackupSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  created_at: z.string().optional(),
  /** Go's zero time when it never expires. */
  expires_at: z.string().optional(),
  instance_only: z.boolean().default(false),
  optimized_storage: z.boolean().default(false),
}));
/** An instance backup (loose: unknown fields kept). */
export type LxdBackup = Closed<z.infer<typeof BackupSchema>>;

const BackupsPostSchema = lazySchema(() => z.strictObject({
  name: z.string().optional(),
  expires_at: z.string().optional(),
  instance_only: z.boolean().optional(),
  optimized_storage: z.boolean().optional(),
  compression_algorithm: z.string().optional(),
}));

/**
 * What `backups.create()` and `export()` make: the fields of `POST /1.0/instances/{name}/backups`, checked before any I/O.
 */
export interface BackupCreate {
  /** The backup's name (default: LXD picks `backup0`, …). */
  name?: string;
  /** When LXD deletes it by itself (default: 30 days, as `lxc export`). */
  expiresAt?: Date | string;
  /** Without the instance's snapshots. */
  instanceOnly?: boolean;
  /** The storage driver's own format (faster, restorable only on the same driver). */
  optimizedStorage?: boolean;
  /** `gzip` (LXD's default), `none`, `xz`, `zstd`, … as the server supports. */
  compressionAlgorithm?: string;
}

/** A backup tarball being downloaded (`GET …/backups/{backup}/export`). */
export interface DownloadedBackup {
  /** The length LXD announced, when it did. */
  size: number | undefined;
  /** The tarball: consume it or destroy it. */
  body: Readable;
}

/** Options of `backups.export()`: the backup to make, and both progress callbacks. */
export interface ExportOptions extends BackupCreate, CallOptions {
  /** LXD's progress while it makes the backup (`create_backup_progress`). */
  onProgress?: WaitOptions['onProgress'];
  /** Called as the tarball is written out. */
  onDownloadProgress?: ((progress: TransferProgress) => void) | undefined;
}

/** Options of `instances.createFromBackup()` (`POST /1.0/instances` with a tarball body). */
export interface CreateFromBackupOptions extends TransferOptions {
  /** The new instance's name (default: the one in the backup; needs `backup_override_name`). */
  name?: string | undefined;
  /** The storage pool to create it in (default: the backup's). */
  pool?: string | undefined;
}

export function validateBackupName(name: unknown, field = 'backup name'): string {
  if (typeof name !== 'string' || name === '') throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.includes('/') || name.includes('\0') || name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" must not contain "/" or NUL, nor be "." or ".."`);
  return name;
}

/** The longest file name most file systems take (bytes). */
const NAME_MAX = 255;

/**
 * Checks where a tarball is to be written, before anything is made or transferred: a path (no NUL)
 * whose directory exists and can be written, that is not a directory or anything else than a regular
 * file (a device or FIFO would be replaced by the rename), with a name short enough for the file system.
 * `LxdValidationError` (field `file`) otherwise.
 */
export async function checkTarget(file: unknown): Promise<string> {
  if (typeof file !== 'string' || file === '' || file.includes('\0')) throw new LxdValidationError('file', 'give the path of the file to write (non-empty, no NUL)');
  const name = basename(file);
  if (name === '' || name === '.' || name === '..' || file.endsWith('/')) throw new LxdValidationError('file', `${file} names a directory: give the path of the file to write, e.g. ${join(file, 'backup.tar.gz')}`);
  if (Buffer.byteLength(name) > NAME_MAX) throw new LxdValidationError('file', `the name ${name.slice(0, 40)}… is longer than ${NAME_MAX} bytes`);
  const existing = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined; // the directory is checked below
    throw new LxdValidationError('file', `cannot write ${file}: ${err.message}`);
  });
  if (existing?.isDirectory()) throw new LxdValidationError('file', `${file} is a directory: give the path of the file to write, e.g. ${join(file, 'backup.tar.gz')}`);
  if (existing && !existing.isFile()) throw new LxdValidationError('file', `${file} exists and is not a regular file: it would be replaced; give another path`);
  const dir = dirname(file);
  const parent = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new LxdValidationError('file', `cannot write ${file}: its directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : `cannot be read (${err.message})`}`);
  });
  if (!parent.isDirectory()) throw new LxdValidationError('file', `cannot write ${file}: ${dir} is not a directory`);
  await access(dir, fsConstants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new LxdValidationError('file', `cannot write ${file}: ${dir} is not writable (${err.code ?? err.message})`);
  });
  return file;
}

/** A temporary name beside `file`, within the file system's name limit. */
function temporaryName(file: string): string {
  const tag = `.lxdkit-${randomBytes(4).toString('hex')}`;
  const long = `.${basename(file)}${tag}`;
  return join(dirname(file), Buffer.byteLength(long) <= NAME_MAX ? long : `${tag}.part`);
}

function report(cb: ((p: TransferProgress) => void) | undefined, p: TransferProgress): void {
  if (!cb) return;
  try {
    cb(p);
  } catch {
    // a progress callback must not break the transfer
  }
}

/** Throws LxdValidationError unless `timeoutMs` is absent or a deadline. */
export function checkTimeout(opts: { timeoutMs?: number | undefined }): void {
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
}

/**
 * GET `path` (a backup's `/export`) into `file`: the target is checked before the request (see
 * `checkTarget`), the body goes to a temporary name beside it (mode 0600), renamed into place once
 * complete, and removed on any failure. Over the local socket it goes from the socket to the file
 * through one reused buffer. Resolves to its size. Shared by every kind of backup.
 */
export async function downloadTarball(api: Api, path: string, file: string, opts: TransferOptions = {}): Promise<{ size: number }> {
  checkTimeout(opts);
  await checkTarget(file);
  const tmp = temporaryName(file);
  const fh = await open(tmp, 'wx', 0o600);
  let closed = false;
  try {
    const cb = opts.onProgress;
    const res = await api.download('GET', path, fh, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? api.ctx.operationTimeoutMs,
      onBytes: cb && ((bytes: number, totalBytes: number | undefined) => report(cb, { bytes, totalBytes })),
    });
    closed = true;
    await fh.close();
    await rename(tmp, file);
    return { size: res.bytes };
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * POST a backup tarball (application/octet-stream) to `path`, streamed from a file (checked to be a
 * regular file first) or a stream, with `headers`; the server unpacks it into a new instance or
 * volume. Resolves to the operation. Shared by every kind of backup.
 */
export async function postTarball(api: Api, path: string, source: string | Readable | AsyncIterable<Uint8Array>, headers: Record<string, string>, opts: TransferOptions = {}): Promise<Operation> {
  let size: number | undefined;
  let chunks: AsyncIterable<Uint8Array>;
  let reusesChunks = false;
  if (typeof source === 'string') {
    try {
      const s = await stat(source);
      if (!s.isFile()) throw new LxdValidationError('file', `${source} is not a regular file`);
      size = s.size;
    } catch (err) {
      if (err instanceof LxdValidationError) throw err;
      throw new LxdValidationError('file', `cannot read ${source}: ${(err as Error).message}`);
    }
    chunks = readFileChunks(source, { signal: opts.signal });
    reusesChunks = true;
  } else {
    chunks = source;
  }
  const cb = opts.onProgress;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    let bytes = 0;
    for await (const chunk of chunks) {
      yield chunk;
      bytes += chunk.length;
      report(cb, { bytes, totalBytes: size });
    }
  };
  return api.operation('POST', path, {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? api.ctx.operationTimeoutMs,
    headers,
    rawBody: { stream: counted(), contentType: 'application/octet-stream', contentLength: size, reusesChunks },
  });
}

/** `client.instances.backups`. */
export class InstanceBackups {
  constructor(private readonly api: Api) {}

  /**
   * GET /1.0/instances/{name}/backups: the instance's backups (`LxdNotFoundError` when there is no such instance).
   */
  async list(instance: string, opts: CallOptions = {}): Promise<LxdBackup[]> {
    validateInstanceName(instance);
    return (await this.api.sync('GET', lxdPath`/1.0/instances/${instance}/backups`, arrayOf(BackupSchema), { ...opts, query: { recursion: 1 } })).value;
  }

  /** One backup with its ETag (`LxdNotFoundError` when there is none by that name). */
  get(instance: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdBackup>> {
    validateInstanceName(instance);
    validateBackupName(name);
    return this.api.sync('GET', lxdPath`/1.0/instances/${instance}/backups/${name}`, BackupSchema, opts);
  }

  /** POST: LXD makes a backup tarball (an operation; it can take a while for a large instance). */
  async create(instance: string, backup: BackupCreate = {}, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    if (backup.name !== undefined) validateBackupName(backup.name);
    const body = validateBody(
      BackupsPostSchema,
      {
        name: backup.name,
        expires_at: rfc3339(backup.expiresAt ?? new Date(Date.now() + 30 * 24 * 3600_000), 'expiresAt'),
        instance_only: backup.instanceOnly,
        optimized_storage: backup.optimizedStorage,
        compression_algorithm: backup.compressionAlgorithm,
      },
      'backup',
    );
    await requireExtension(this.api, 'container_backup', 'a backup', opts);
    if (body.compression_algorithm !== undefined) await requireExtension(this.api, 'backup_compression_algorithm', 'a backup compression algorithm', opts);
    return this.api.operation('POST', lxdPath`/1.0/instances/${instance}/backups`, { ...opts, body });
  }

  /** POST …/backups/{backup} `{ name }`: renames a backup; resolves to the operation (wait on it). */
  rename(instance: string, name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateBackupName(name);
    validateBackupName(newName, 'new backup name');
    return this.api.operation('POST', lxdPath`/1.0/instances/${instance}/backups/${name}`, { ...opts, body: { name: newName } });
  }

  /** DELETE …/backups/{backup}: resolves to the operation (wait on it). */
  delete(instance: string, name: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateBackupName(name);
    return this.api.operation('DELETE', lxdPath`/1.0/instances/${instance}/backups/${name}`, opts);
  }

  /** GET …/export: the tarball as a stream (read only as fast as it is consumed). */
  async download(instance: string, name: string, opts: TransferOptions = {}): Promise<DownloadedBackup> {
    validateInstanceName(instance);
    validateBackupName(name);
    if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    const res = await this.api.stream('GET', lxdPath`/1.0/instances/${instance}/backups/${name}/export`, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.api.ctx.operationTimeoutMs });
    const length = res.headers['content-length'];
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (!opts.onProgress) return { size, body: res.body };
    const source = res.body;
    const cb = opts.onProgress;
    let bytes = 0;
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      report(cb, { bytes, totalBytes: size });
    });
    return { size, body: source };
  }

  /**
   * Downloads the tarball into `file` (a temporary name beside it, renamed into place); over the local
   * socket it goes from the socket to the file through one reused buffer. Resolves to its size. A
   * target that cannot be written (a directory, a missing directory, a device) is refused before the
   * download with `LxdValidationError`.
   */
  async downloadToFile(instance: string, name: string, file: string, opts: TransferOptions = {}): Promise<{ size: number }> {
    validateInstanceName(instance);
    validateBackupName(name);
    return downloadTarball(this.api, lxdPath`/1.0/instances/${instance}/backups/${name}/export`, file, opts);
  }

  /**
   * `lxc export`: makes a backup, downloads it into `file` and deletes the backup from the server
   * (also when the download fails). Resolves to the file's size. The target is checked first, as
   * `downloadToFile` does, before the server makes anything.
   */
  async export(instance: string, file: string, opts: ExportOptions = {}): Promise<{ size: number }> {
    validateInstanceName(instance);
    if (opts.name !== undefined) validateBackupName(opts.name);
    if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    await checkTarget(file);
    const name = opts.name ?? `lxdkit-export-${randomBytes(4).toString('hex')}`;
    const { signal } = opts;
    const started = Date.now();
    const total = opts.timeoutMs ?? this.api.ctx.operationTimeoutMs;
    const left = (): number => Math.max(1, total - (Date.now() - started));
    const create: BackupCreate = { name };
    if (opts.expiresAt !== undefined) create.expiresAt = opts.expiresAt;
    if (opts.instanceOnly !== undefined) create.instanceOnly = opts.instanceOnly;
    if (opts.optimizedStorage !== undefined) create.optimizedStorage = opts.optimizedStorage;
    if (opts.compressionAlgorithm !== undefined) create.compressionAlgorithm = opts.compressionAlgorithm;
    const op = await this.create(instance, create, { signal });
    try {
      await op.wait({ signal, timeoutMs: left(), onProgress: opts.onProgress });
      return await this.downloadToFile(instance, name, file, { signal, timeoutMs: left(), onProgress: opts.onDownloadProgress });
    } finally {
      await this.delete(instance, name)
        .then((d) => d.wait({ timeoutMs: 60_000 }))
        .catch(() => {});
    }
  }
}

/**
 * `POST /1.0/instances` with a backup tarball (application/octet-stream), streamed from a file or a
 * stream: LXD unpacks it into a new instance. Resolves to the operation (its resources name it).
 */
export async function createFromBackup(api: Api, source: string | Readable | AsyncIterable<Uint8Array>, opts: CreateFromBackupOptions = {}): Promise<Operation> {
  if (opts.name !== undefined) validateInstanceName(opts.name);
  if (opts.pool !== undefined) validatePoolName(opts.pool);
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
  await requireExtension(api, 'container_backup', 'an instance from a backup', opts);
  if (opts.name !== undefined) await requireExtension(api, 'backup_override_name', 'a new name for an instance from a backup', opts);
  const kind = await api.ctx.serverKind(opts);
  const headers: Record<string, string> = {};
  if (opts.name !== undefined) headers[serverHeader(kind, 'name')] = opts.name;
  if (opts.pool !== undefined) headers[serverHeader(kind, 'pool')] = opts.pool;
  return postTarball(api, '/1.0/instances', source, headers, opts);
}

