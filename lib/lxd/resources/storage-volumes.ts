/**
 * `/1.0/storage-pools/{pool}/volumes`: storage volumes (custom volumes, and the volumes of instances
 * and images), their state and their snapshots, as declarations of the route table. Every write is
 * an `Operation`: LXD 5.0.2 and Incus 6.0 answer most of them synchronously (a finished Operation),
 * LXD ≥ 6.6 and every copy with an operation.
 */
import { z } from 'zod';
import { arrayOf, lazySchema, StringListSchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import type { Operation } from '../operation.js';
import { segment } from '../path.js';
import { CollectionCore, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { validateBody, validateSegment, validateVolumeName } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';
import { rfc3339 } from './snapshots.js';
import { importVolumeBackup, StorageVolumeBackups, StorageVolumeBackupSchema, type ImportVolumeBackupOptions } from './storage-volume-backups.js';

export { validateVolumeName };
import type { Readable } from 'node:stream';
import { StorageVolumeFiles } from './storage-volume-files.js';
import { migrateVolume, type MigrationResult, type VolumeMigrateOptions } from './migration.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

/** The volume types of a pool: `custom` (yours), `container`, `virtual-machine`, `image` (LXD's own). */
export const StorageVolumeTypes = ['custom', 'container', 'virtual-machine', 'image'] as const;
/** One of `StorageVolumeTypes`. */
export type StorageVolumeType = (typeof StorageVolumeTypes)[number];

/** Loose schema of a storage volume (`GET /1.0/storage-pools/{pool}/volumes/{type}/{name}`). */
export const StorageVolumeSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  type: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  /** `filesystem`, `block` or `iso`. */
  content_type: z.string().default('filesystem'),
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
  location: z.string().default(''),
  project: z.string().optional(),
  created_at: z.string().optional(),
}));
/** A storage volume (loose: unknown fields kept). */
export type LxdStorageVolume = Closed<z.infer<typeof StorageVolumeSchema>>;

/** Strict schema of the body of `PUT`/`PATCH …/volumes/{type}/{name}`: config and description. */
export const StorageVolumePutSchema = lazySchema(() => z.strictObject({
  config: ConfigMap.optional(),
  description: z.string().optional(),
}));
/** The body of `PUT`/`PATCH …/volumes/{type}/{name}` (strict: what lxdkit sends). */
export type StorageVolumePut = Closed<z.infer<typeof StorageVolumePutSchema>>;

/** Where a new volume's content comes from: a copy of another volume of this server. */
export const StorageVolumeSourceSchema = lazySchema(() => z.strictObject({
  type: z.literal('copy'),
  /** The pool of the volume to copy. */
  pool: z.string().min(1),
  /** The volume to copy (`vol/snap` copies a snapshot). */
  name: z.string().min(1),
  /** Leave the source's snapshots out. */
  volume_only: z.boolean().optional(),
  /** The project of the source, when it is not the client's. */
  project: z.string().optional(),
}));

/**
 * Strict schema of the body of `POST /1.0/storage-pools/{pool}/volumes`: a custom volume, empty or a copy.
 */
export const StorageVolumesPostSchema = lazySchema(() => StorageVolumePutSchema.extend({
  name: z.string(),
  /** Only `custom` volumes can be created (the default). */
  type: z.literal('custom', { error: 'only custom volumes can be created' }).default('custom'),
  content_type: z.enum(['filesystem', 'block', 'iso']).optional(),
  source: StorageVolumeSourceSchema.optional(),
}));
/**
 * The body of `POST /1.0/storage-pools/{pool}/volumes` (strict: what lxdkit sends), before its defaults (`type` custom).
 */
export type StorageVolumesPost = z.input<typeof StorageVolumesPostSchema>;

/** `GET …/state`: what the volume uses (`usage` is null where the driver cannot tell). */
export const StorageVolumeStateSchema = lazySchema(() => z.looseObject({
  usage: z.looseObject({ used: z.number(), total: z.number().default(-1) }).nullish(),
}));
/** What a volume uses, in bytes (loose: unknown fields kept). */
export type LxdStorageVolumeState = Closed<z.infer<typeof StorageVolumeStateSchema>>;

/** A snapshot of a volume; `name` is the snapshot's own (LXD lists `volume/snapshot`). */
export const StorageVolumeSnapshotSchema = lazySchema(() => z.looseObject({
  name: z.string().transform((n) => n.slice(n.lastIndexOf('/') + 1)),
  description: z.string().default(''),
  config: NullableStringMap,
  content_type: z.string().default('filesystem'),
  created_at: z.string().optional(),
  /** Go's zero time, or null (in lists), when it never expires. */
  expires_at: z.string().nullish(),
}));
/** A volume snapshot (loose: unknown fields kept). */
export type LxdStorageVolumeSnapshot = Closed<z.infer<typeof StorageVolumeSnapshotSchema>>;

/**
 * A volume with its snapshots, backups and state in one answer (Incus's `storage_volume_full`:
 * `get(…, { recursion: 1 })`, `list(…, { type, recursion: 2 })`).
 */
export const StorageVolumeFullSchema = lazySchema(() => StorageVolumeSchema.extend({
  snapshots: z.array(StorageVolumeSnapshotSchema).nullish().transform((v) => v ?? []),
  backups: z.array(StorageVolumeBackupSchema).nullish().transform((v) => v ?? []),
  state: StorageVolumeStateSchema.nullish(),
}));
/** A volume with its snapshots, backups and state (loose: unknown fields kept). */
export type LxdStorageVolumeFull = Closed<z.infer<typeof StorageVolumeFullSchema>>;

/** The extension of the volume-with-everything answers (Incus). */
const FULL = 'storage_volume_full';

const StorageVolumeSnapshotPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  expires_at: z.string().optional(),
}));

function validateType(type: unknown): StorageVolumeType {
  if (!StorageVolumeTypes.includes(type as StorageVolumeType)) throw new LxdValidationError('type', `"${String(type)}" is not a volume type: give one of ${StorageVolumeTypes.join(', ')}`);
  return type as StorageVolumeType;
}

/** Options of the calls on one volume: its type (default `custom`) and the cluster member (`target`). */
export interface VolumeOptions extends TargetOptions {
  /** The volume's type (default `custom`). */
  type?: StorageVolumeType;
}

/** Options of `storageVolumes.list()`: the type, and the recursion (default 1). */
export interface VolumeListOptions extends CallOptions {
  /** Only volumes of this type (default: every type). */
  type?: StorageVolumeType;
  /**
   * 0: names; 1 (default): objects; 2 (with a `type`): each with its snapshots, backups and state
   * (Incus, `storage_volume_full`).
   */
  recursion?: 0 | 1 | 2;
}

/** `/1.0/storage-pools/{pool}/volumes/{type}`, declared. */
export const STORAGE_VOLUMES: CollectionDecl<LxdStorageVolume, StorageVolumesPost, StorageVolumePut> = {
  name: 'client.storageVolumes',
  path: '/1.0/storage-pools/{poolName}/volumes/{type}',
  itemPath: '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}',
  what: 'storage volume',
  parents: ['storage pool name', 'type'],
  schema: StorageVolumeSchema,
  post: StorageVolumesPostSchema as unknown as z.ZodType<StorageVolumesPost>,
  put: StorageVolumePutSchema,
  verbs: ['list', 'get', 'update', 'patch', 'rename', 'delete'],
  writes: 'operation',
  validateName: validateVolumeName,
  project: true,
  target: ['list', 'get', 'update', 'patch', 'delete'],
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** `/1.0/storage-pools/{pool}/volumes/{type}/{volume}/snapshots`, declared. */
export const STORAGE_VOLUME_SNAPSHOTS: CollectionDecl<LxdStorageVolumeSnapshot, never, z.infer<typeof StorageVolumeSnapshotPutSchema>> = {
  name: 'client.storageVolumes.snapshots',
  path: '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots',
  itemPath: '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}',
  what: 'storage volume snapshot',
  parents: ['storage pool name', 'type', 'storage volume name'],
  schema: StorageVolumeSnapshotSchema,
  put: StorageVolumeSnapshotPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'rename', 'delete'],
  writes: 'operation',
  validateName: validateVolumeName,
  project: true,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

function snapshotChange(change: { description?: string; expiresAt?: Date | string | null }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (change.description !== undefined) body['description'] = change.description;
  if (change.expiresAt !== undefined) body['expires_at'] = change.expiresAt === null ? '0001-01-01T00:00:00Z' : rfc3339(change.expiresAt, 'expiresAt');
  return body;
}

/** `client.storageVolumes.snapshots`: snapshots of custom volumes. */
export class StorageVolumeSnapshots {
  readonly #core: CollectionCore<LxdStorageVolumeSnapshot, never, z.infer<typeof StorageVolumeSnapshotPutSchema>, z.infer<typeof StorageVolumeSnapshotPutSchema>>;

  constructor(api: Api) {
    this.#core = new CollectionCore(api, STORAGE_VOLUME_SNAPSHOTS);
  }

  #coll(pool: string, volume: string): string {
    validateVolumeName(volume);
    return this.#core.collection(pool, 'custom', volume);
  }

  /**
   * GET …/volumes/custom/{volume}/snapshots: the volume's snapshots (objects, or names with `recursion: 0`).
   */
  list(pool: string, volume: string, opts?: CallOptions & { recursion?: 1 }): Promise<LxdStorageVolumeSnapshot[]>;
  list(pool: string, volume: string, opts: CallOptions & { recursion: 0 }): Promise<string[]>;
  async list(pool: string, volume: string, opts: CallOptions & { recursion?: 0 | 1 } = {}): Promise<LxdStorageVolumeSnapshot[] | string[]> {
    return this.#core.list(this.#coll(pool, volume), opts);
  }

  /** GET …/snapshots/{name}: one snapshot with its ETag. */
  async get(pool: string, volume: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdStorageVolumeSnapshot>> {
    return this.#core.get(this.#core.item(this.#coll(pool, volume), name), opts);
  }

  /** A snapshot of a custom volume (`name` default: LXD picks `snap0`, …), with an expiry if given. */
  async create(pool: string, volume: string, snapshot: { name?: string; expiresAt?: Date | string } = {}, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#coll(pool, volume);
    const body: Record<string, unknown> = {};
    if (snapshot.name !== undefined) body['name'] = validateVolumeName(snapshot.name, 'storage volume snapshot name');
    if (snapshot.expiresAt !== undefined) body['expires_at'] = rfc3339(snapshot.expiresAt, 'expiresAt');
    return (await this.#core.write('POST', path, body, opts)) as Operation;
  }

  /** PUT: the description and the expiry (`expiresAt: null` never expires). */
  async update(pool: string, volume: string, name: string, change: { description?: string; expiresAt?: Date | string | null }, opts: EtagOptions = {}): Promise<Operation> {
    const path = this.#core.item(this.#coll(pool, volume), name);
    return (await this.#core.write('PUT', path, validateBody(StorageVolumeSnapshotPutSchema, snapshotChange(change), 'storage volume snapshot'), opts)) as Operation;
  }

  /** PATCH: only the fields given (the description, the expiry; `expiresAt: null` never expires). */
  async patch(pool: string, volume: string, name: string, change: { description?: string; expiresAt?: Date | string | null }, opts: EtagOptions = {}): Promise<Operation> {
    const path = this.#core.item(this.#coll(pool, volume), name);
    return (await this.#core.write('PATCH', path, validateBody(StorageVolumeSnapshotPutSchema, snapshotChange(change), 'storage volume snapshot'), opts)) as Operation;
  }

  /** POST …/snapshots/{name} `{ name }`: resolves to the operation (wait on it). */
  async rename(pool: string, volume: string, name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#core.item(this.#coll(pool, volume), name);
    validateVolumeName(newName, 'new storage volume snapshot name');
    return (await this.#core.write('POST', path, { name: newName }, opts)) as Operation;
  }

  /** Puts the volume back as it was in the snapshot (`PUT` of the volume with `restore`). */
  async restore(pool: string, volume: string, snapshot: string, opts: CallOptions = {}): Promise<Operation> {
    validateVolumeName(snapshot, 'storage volume snapshot name');
    const path = `/1.0/storage-pools/${segment(pool, 'storage pool name')}/volumes/custom/${segment(validateVolumeName(volume), 'storage volume name')}`;
    return (await this.#core.write('PUT', path, { restore: snapshot }, opts)) as Operation;
  }

  /** DELETE …/snapshots/{name}: resolves to the operation (wait on it). */
  async delete(pool: string, volume: string, name: string, opts: CallOptions = {}): Promise<Operation> {
    return (await this.#core.write('DELETE', this.#core.item(this.#coll(pool, volume), name), undefined, opts)) as Operation;
  }
}

/**
 * `client.storageVolumes`: the volumes of a pool. `type` (in the options) defaults to `custom`;
 * `list(pool)` without one lists every type.
 */
export class StorageVolumesResource {
  readonly snapshots: StorageVolumeSnapshots;
  readonly backups: StorageVolumeBackups;
  /** Files in a custom volume (Incus, `custom_volume_sftp`), as `instances.files`. */
  readonly files: StorageVolumeFiles;
  readonly #core: CollectionCore<LxdStorageVolume, StorageVolumesPost, StorageVolumePut, StorageVolumePut>;
  readonly #full = arrayOf(StorageVolumeFullSchema);

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, STORAGE_VOLUMES);
    this.snapshots = new StorageVolumeSnapshots(api);
    this.backups = new StorageVolumeBackups(api);
    this.files = new StorageVolumeFiles(api);
  }

  #item(pool: string, name: string, type: StorageVolumeType | undefined): string {
    return this.#core.item(this.#core.collection(pool, type === undefined ? 'custom' : validateType(type)), name);
  }

  /**
   * GET /1.0/storage-pools/{pool}/volumes[/{type}]: the volumes of every type, or of `type`: objects (default), names (`recursion: 0`), or with snapshots, backups and state (`recursion: 2`, needs a `type`).
   */
  list(pool: string, opts?: VolumeListOptions & { recursion?: 1 }): Promise<LxdStorageVolume[]>;
  list(pool: string, opts: VolumeListOptions & { recursion: 0 }): Promise<string[]>;
  list(pool: string, opts: VolumeListOptions & { type: StorageVolumeType; recursion: 2 }): Promise<LxdStorageVolumeFull[]>;
  async list(pool: string, opts: VolumeListOptions = {}): Promise<LxdStorageVolume[] | LxdStorageVolumeFull[] | string[]> {
    const { type, ...rest } = opts;
    if (rest.recursion === 2) {
      if (type === undefined) throw new LxdValidationError('recursion', '2 (each volume with its snapshots, backups and state) needs a `type`, e.g. { type: \'custom\', recursion: 2 }');
      const path = this.#core.collection(pool, validateType(type));
      const { recursion: _, ...r } = rest;
      await requireExtension(this.api, FULL, 'volumes with their snapshots, backups and state (recursion 2)', r);
      return (await this.api.sync('GET', path, this.#full, { ...r, query: { recursion: 2 } })).value;
    }
    const r = rest as CallOptions & { recursion?: 0 | 1 };
    if (type !== undefined) return this.#core.list(this.#core.collection(pool, validateType(type)), r);
    // every type: GET /volumes, whose names are `<type>/<name>` URLs
    const path = `/1.0/storage-pools/${segment(pool, 'storage pool name')}/volumes`;
    if (r.recursion === 0) {
      const urls = (await this.api.sync('GET', path, StringListSchema, { ...r })).value;
      return urls.map((u) => decodeURIComponent(u.split('?')[0]!.slice(path.length + 1)));
    }
    return (await this.api.sync('GET', path, this.#core.items, { ...r, query: { recursion: 1 } })).value;
  }

  /** One volume with its ETag; `recursion: 1`: with its snapshots, backups and state (Incus, `storage_volume_full`). */
  get(pool: string, name: string, opts?: VolumeOptions & { recursion?: 0 }): Promise<WithEtag<LxdStorageVolume>>;
  get(pool: string, name: string, opts: VolumeOptions & { recursion: 1 }): Promise<WithEtag<LxdStorageVolumeFull>>;
  async get(pool: string, name: string, opts: VolumeOptions & { recursion?: 0 | 1 } = {}): Promise<WithEtag<LxdStorageVolume | LxdStorageVolumeFull>> {
    const { type, recursion, ...rest } = opts;
    const path = this.#item(pool, name, type);
    if (recursion === 1) {
      await requireExtension(this.api, FULL, 'a volume with its snapshots, backups and state (recursion 1)', rest);
      return this.api.sync('GET', path, StorageVolumeFullSchema, { ...rest, query: { recursion: 1 } });
    }
    return this.#core.get(path, rest);
  }

  /**
   * A new custom volume of `pool` from a backup tarball (`backups.export`, `lxc storage volume
   * export`), streamed from a file or a stream; `name` default: the backup's. Resolves to the operation.
   */
  importBackup(pool: string, source: string | Readable | AsyncIterable<Uint8Array>, opts: ImportVolumeBackupOptions = {}): Promise<Operation> {
    return importVolumeBackup(this.api, pool, source, opts);
  }

  /** A custom volume: empty, or a copy of another volume of this server (`source: { type: 'copy', pool, name }`). */
  async create(pool: string, body: StorageVolumesPost, opts: TargetOptions = {}): Promise<Operation> {
    const b = validateBody(StorageVolumesPostSchema, body, 'storage volume');
    validateVolumeName(b.name);
    const path = `/1.0/storage-pools/${segment(pool, 'storage pool name')}/volumes`;
    return (await this.#core.write('POST', path, b, opts)) as Operation;
  }

  /**
   * PUT: replaces config and description (pass the ETag of a `get()` to refuse a concurrent change); resolves to the operation.
   */
  async update(pool: string, name: string, body: StorageVolumePut, opts: VolumeOptions & EtagOptions = {}): Promise<Operation> {
    const { type, ...rest } = opts;
    const path = this.#item(pool, name, type);
    return (await this.#core.write('PUT', path, validateBody(StorageVolumePutSchema, body, 'storage volume'), rest)) as Operation;
  }

  /** PATCH: merges the config and description given; resolves to the operation. */
  async patch(pool: string, name: string, body: StorageVolumePut, opts: VolumeOptions & EtagOptions = {}): Promise<Operation> {
    const { type, ...rest } = opts;
    const path = this.#item(pool, name, type);
    return (await this.#core.write('PATCH', path, validateBody(StorageVolumePutSchema, body, 'storage volume'), rest)) as Operation;
  }

  /** Renames the volume; with `pool`, moves it to that pool of the same server. */
  async rename(pool: string, name: string, newName: string, opts: VolumeOptions & { pool?: string } = {}): Promise<Operation> {
    const { type, pool: toPool, ...rest } = opts;
    const path = this.#item(pool, name, type);
    validateVolumeName(newName, 'new storage volume name');
    const body: Record<string, unknown> = { name: newName };
    if (toPool !== undefined) body['pool'] = validateSegment(toPool, 'pool');
    return (await this.#core.write('POST', path, body, rest)) as Operation;
  }

  /** DELETE …/volumes/{type}/{name}: resolves to the operation (the server refuses while an instance uses the volume). */
  async delete(pool: string, name: string, opts: VolumeOptions = {}): Promise<Operation> {
    const { type, ...rest } = opts;
    return (await this.#core.write('DELETE', this.#item(pool, name, type), undefined, rest)) as Operation;
  }

  /**
   * Copies a custom volume to another server (`to`, an `LxdClient`), or moves it (`move: true`), in
   * `pull` (default), `push` or `relay` mode, into `pool` (default: the same pool name, or the pool of
   * the target's default profile's root disk when the target lacks it). See docs/client.md.
   */
  migrate(pool: string, name: string, opts: VolumeMigrateOptions): Promise<MigrationResult> {
    return migrateVolume(this.api, pool, name, opts, validateVolumeName);
  }

  /** GET …/state: the space the volume uses (a `dir` pool of LXD 5.0.2 answers 500 "Not supported"). */
  async state(pool: string, name: string, opts: VolumeOptions = {}): Promise<LxdStorageVolumeState> {
    const { type, ...rest } = opts;
    return (await this.api.sync('GET', `${this.#item(pool, name, type)}/state`, StorageVolumeStateSchema, rest)).value;
  }
}
