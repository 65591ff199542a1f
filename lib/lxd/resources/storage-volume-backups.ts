/**
 * `/1.0/storage-pools/{pool}/volumes/custom/{volume}/backups`: backup tarballs of a custom volume,
 * made by the server, downloaded to a file as a stream (never held in memory), and the import of
 * such a tarball as a new custom volume (`POST /1.0/storage-pools/{pool}/volumes/custom`). Every
 * call needs the `custom_volume_backup` extension, checked before any request.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { serverHeader } from '../headers.js';
import type { Operation } from '../operation.js';
import { segment } from '../path.js';
import { CollectionCore, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { validateBody, validatePoolName, validateVolumeName } from '../validate.js';
import { checkTarget, checkTimeout, downloadTarball, postTarball, validateBackupName } from './backups.js';
import { requireExtension, type Api, type CallOptions, type WithEtag } from './base.js';
import type { TransferOptions } from './instance-files.js';
import { rfc3339 } from './snapshots.js';

/** A backup of a custom volume. */
export const StorageVolumeBackupSchema = lazySchema(() => z.looseObject({
  /** The backup's own name (a server that says `volume/backup` is read as `backup`). */
  name: z.string().transform((n) => n.slice(n.lastIndexOf('/') + 1)),
  created_at: z.string().optional(),
  /** Go's zero time when it never expires. */
  expires_at: z.string().optional(),
  volume_only: z.boolean().default(false),
  optimized_storage: z.boolean().default(false),
}));
/** A custom volume's backup (loose: unknown fields kept). */
export type LxdStorageVolumeBackup = Closed<z.infer<typeof StorageVolumeBackupSchema>>;

/** Strict schema of the body of `POST /1.0/storage-pools/{pool}/volumes/custom/{volume}/backups`. */
export const StorageVolumeBackupsPostSchema = lazySchema(() => z.strictObject({
  name: z.string().optional(),
  expires_at: z.string().optional(),
  volume_only: z.boolean().optional(),
  optimized_storage: z.boolean().optional(),
  compression_algorithm: z.string().optional(),
}));
export type StorageVolumeBackupsPost = Closed<z.infer<typeof StorageVolumeBackupsPostSchema>>;

/** What `storageVolumes.backups.create()` makes, checked before any I/O. */
export interface StorageVolumeBackupCreate {
  /** The backup's name (default: the server picks `backup0`, …). */
  name?: string;
  /** When the server deletes it by itself (default: 30 days, as for instance backups). */
  expiresAt?: Date | string;
  /** Without the volume's snapshots. */
  volumeOnly?: boolean;
  /** The storage driver's own format (faster, restorable only on the same driver). */
  optimizedStorage?: boolean;
  /** `gzip` (the default), `none`, `xz`, `zstd`, … as the server supports. */
  compressionAlgorithm?: string;
}

/** Options of `storageVolumes.importBackup()`: those of a transfer, and the new volume's name. */
export interface ImportVolumeBackupOptions extends TransferOptions {
  /** The new volume's name (default: the one in the backup; needs `backup_override_name`). */
  name?: string | undefined;
}

const EXTENSION = 'custom_volume_backup';

/** `/1.0/storage-pools/{pool}/volumes/{type}/{volume}/backups`, declared (custom volumes only). */
export const STORAGE_VOLUME_BACKUPS: CollectionDecl<LxdStorageVolumeBackup, StorageVolumeBackupsPost, never> = {
  name: 'client.storageVolumes.backups',
  path: '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups',
  itemPath: '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}',
  what: 'storage volume backup',
  parents: ['storage pool name', 'type', 'storage volume name'],
  schema: StorageVolumeBackupSchema,
  post: StorageVolumeBackupsPostSchema,
  verbs: ['list', 'get', 'create', 'rename', 'delete'],
  writes: 'operation',
  validateName: (name: unknown, field = 'storage volume backup name') => validateBackupName(name, field),
  project: true,
  extension: EXTENSION,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** `client.storageVolumes.backups`: backups of custom volumes. */
export class StorageVolumeBackups {
  readonly #core: CollectionCore<LxdStorageVolumeBackup, StorageVolumeBackupsPost, never, never>;

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, STORAGE_VOLUME_BACKUPS);
  }

  #coll(pool: string, volume: string): string {
    validatePoolName(pool);
    validateVolumeName(volume);
    return this.#core.collection(pool, 'custom', volume);
  }

  /**
   * GET …/volumes/custom/{volume}/backups: the volume's backups (objects, or names with `recursion: 0`; extension `custom_volume_backup`).
   */
  list(pool: string, volume: string, opts?: CallOptions & { recursion?: 1 }): Promise<LxdStorageVolumeBackup[]>;
  list(pool: string, volume: string, opts: CallOptions & { recursion: 0 }): Promise<string[]>;
  async list(pool: string, volume: string, opts: CallOptions & { recursion?: 0 | 1 } = {}): Promise<LxdStorageVolumeBackup[] | string[]> {
    return this.#core.list(this.#coll(pool, volume), opts);
  }

  /** GET …/backups/{name}: one backup with its ETag. */
  async get(pool: string, volume: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdStorageVolumeBackup>> {
    return this.#core.get(this.#core.item(this.#coll(pool, volume), name), opts);
  }

  /** POST: the server makes a backup tarball of the volume (an operation; a large volume takes a while). */
  async create(pool: string, volume: string, backup: StorageVolumeBackupCreate = {}, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#coll(pool, volume);
    if (backup.name !== undefined) validateBackupName(backup.name, 'storage volume backup name');
    const body = validateBody(
      StorageVolumeBackupsPostSchema,
      {
        name: backup.name,
        expires_at: rfc3339(backup.expiresAt ?? new Date(Date.now() + 30 * 24 * 3600_000), 'expiresAt'),
        volume_only: backup.volumeOnly,
        optimized_storage: backup.optimizedStorage,
        compression_algorithm: backup.compressionAlgorithm,
      },
      'storage volume backup',
    );
    await this.#core.need(opts);
    if (body.compression_algorithm !== undefined) await requireExtension(this.api, 'backup_compression_algorithm', 'a backup compression algorithm', opts);
    return (await this.#core.write('POST', path, body, opts)) as Operation;
  }

  /** POST …/backups/{name} `{ name }`: resolves to the operation (wait on it). */
  async rename(pool: string, volume: string, name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#core.item(this.#coll(pool, volume), name);
    validateBackupName(newName, 'new storage volume backup name');
    return (await this.#core.write('POST', path, { name: newName }, opts)) as Operation;
  }

  /** DELETE …/backups/{name}: resolves to the operation (wait on it). */
  async delete(pool: string, volume: string, name: string, opts: CallOptions = {}): Promise<Operation> {
    return (await this.#core.write('DELETE', this.#core.item(this.#coll(pool, volume), name), undefined, opts)) as Operation;
  }

  /**
   * GET …/export: downloads the backup's tarball into `file`, as `instances.backups.downloadToFile`
   * does (the target checked first, a temporary name beside it renamed into place, removed on any
   * failure). Resolves to its size.
   */
  async export(pool: string, volume: string, backup: string, file: string, opts: TransferOptions = {}): Promise<{ size: number }> {
    const path = `${this.#core.item(this.#coll(pool, volume), backup)}/export`;
    checkTimeout(opts);
    await checkTarget(file);
    await this.#core.need(opts);
    return downloadTarball(this.api, path, file, opts);
  }
}

/**
 * `POST /1.0/storage-pools/{pool}/volumes/custom` with a custom volume's backup tarball
 * (application/octet-stream), streamed from a file or a stream: the server unpacks it into a new
 * custom volume of `pool`, named `name` (default: the backup's). Resolves to the operation.
 */
export async function importVolumeBackup(api: Api, pool: string, source: string | Readable | AsyncIterable<Uint8Array>, opts: ImportVolumeBackupOptions = {}): Promise<Operation> {
  validatePoolName(pool);
  if (opts.name !== undefined) validateVolumeName(opts.name);
  checkTimeout(opts);
  await requireExtension(api, EXTENSION, 'a custom volume from a backup', opts);
  if (opts.name !== undefined) await requireExtension(api, 'backup_override_name', 'a new name for a custom volume from a backup', opts);
  const kind = await api.ctx.serverKind(opts);
  const headers: Record<string, string> = {};
  if (opts.name !== undefined) headers[serverHeader(kind, 'name')] = opts.name;
  return postTarball(api, `/1.0/storage-pools/${segment(pool, 'storage pool name')}/volumes/custom`, source, headers, opts);
}
