/**
 * `/1.0/storage-pools/{pool}/buckets`: S3 storage buckets of a pool (Incus, `storage_buckets`), their
 * access keys, and their backups (`storage_bucket_backup`), as declarations of the route table. A
 * bucket needs an S3 server behind the pool (MinIO for local pools, Ceph RGW); a server without the
 * extension gets `LxdExtensionMissingError` before any request. Bucket and key writes are
 * synchronous; creating a bucket or a key answers its credentials.
 */
import { z } from 'zod';
import { arrayOf, lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import type { Operation } from '../operation.js';
import { CollectionCore, type CollectionDecl, type ListOptions } from '../routes/collection.js';
import { INCUS_ONLY } from '../routes/route.js';
import { validateBody, validatePoolName, validateSegment } from '../validate.js';
import { checkTarget, checkTimeout, downloadTarball, validateBackupName } from './backups.js';
import { requireExtension, type Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';
import type { TransferOptions } from './instance-files.js';
import { rfc3339 } from './snapshots.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (the server stores every value as a string)' })));

/** Loose schema of a storage bucket (Incus, `GET /1.0/storage-pools/{pool}/buckets/{name}`). */
export const StorageBucketSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  /** Where the bucket is reached over S3. */
  s3_url: z.string().default(''),
  location: z.string().default(''),
  project: z.string().optional(),
}));
/** A storage bucket (loose: unknown fields kept). */
export type LxdStorageBucket = Closed<z.infer<typeof StorageBucketSchema>>;

/** Strict schema of the body of `PUT`/`PATCH …/buckets/{name}`: config and description. */
export const StorageBucketPutSchema = lazySchema(() => z.strictObject({
  config: ConfigMap.optional(),
  description: z.string().optional(),
}));
/** The body of `PUT`/`PATCH …/buckets/{name}` (strict: what lxdkit sends). */
export type StorageBucketPut = Closed<z.infer<typeof StorageBucketPutSchema>>;

/** Strict schema of the body of `POST /1.0/storage-pools/{pool}/buckets`: the PUT fields and a name. */
export const StorageBucketsPostSchema = lazySchema(() => StorageBucketPutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/storage-pools/{pool}/buckets` (strict: what lxdkit sends). */
export type StorageBucketsPost = Closed<z.infer<typeof StorageBucketsPostSchema>>;

/** The roles of a key: `admin` (read and write) or `read-only`. */
export const StorageBucketKeyRoles = ['admin', 'read-only'] as const;

/** Loose schema of a bucket's S3 key (`GET …/buckets/{bucket}/keys/{name}`), its credentials included. */
export const StorageBucketKeySchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  role: z.string().default(''),
  'access-key': z.string().default(''),
  'secret-key': z.string().default(''),
}));
/** A bucket key and its credentials (loose: unknown fields kept). */
export type LxdStorageBucketKey = Closed<z.infer<typeof StorageBucketKeySchema>>;

/** Strict schema of the body of `PUT …/keys/{name}`: description, role, credentials. */
export const StorageBucketKeyPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  role: z.enum(StorageBucketKeyRoles, { error: `role must be one of ${StorageBucketKeyRoles.join(', ')}` }).optional(),
  /** Default (on create): the server makes one. */
  'access-key': z.string().optional(),
  'secret-key': z.string().optional(),
}));
/** The body of `PUT …/keys/{name}` (strict: what lxdkit sends). */
export type StorageBucketKeyPut = Closed<z.infer<typeof StorageBucketKeyPutSchema>>;

/** Strict schema of the body of `POST …/buckets/{bucket}/keys`: the PUT fields and an optional name. */
export const StorageBucketKeysPostSchema = lazySchema(() => StorageBucketKeyPutSchema.extend({ name: z.string().optional() }));
/** The body of `POST …/buckets/{bucket}/keys` (strict: what lxdkit sends). */
export type StorageBucketKeysPost = Closed<z.infer<typeof StorageBucketKeysPostSchema>>;

/** Loose schema of a bucket backup (`GET …/buckets/{bucket}/backups/{name}`). */
export const StorageBucketBackupSchema = lazySchema(() => z.looseObject({
  /** The backup's own name (a server that says `bucket/backup` is read as `backup`). */
  name: z.string().transform((n) => n.slice(n.lastIndexOf('/') + 1)),
  created_at: z.string().optional(),
  /** Go's zero time when it never expires. */
  expires_at: z.string().optional(),
}));
/** A bucket backup (loose: unknown fields kept). */
export type LxdStorageBucketBackup = Closed<z.infer<typeof StorageBucketBackupSchema>>;

const StorageBucketBackupsPostSchema = lazySchema(() => z.strictObject({
  name: z.string().optional(),
  expires_at: z.string().optional(),
  compression_algorithm: z.string().optional(),
}));

/** A bucket with its keys and backups in one answer (`storage_bucket_full`). */
export const StorageBucketFullSchema = lazySchema(() => StorageBucketSchema.extend({
  keys: z.array(StorageBucketKeySchema).nullish().transform((v) => v ?? []),
  backups: z.array(StorageBucketBackupSchema).nullish().transform((v) => v ?? []),
}));
/** A bucket with its keys and backups (loose: unknown fields kept). */
export type LxdStorageBucketFull = Closed<z.infer<typeof StorageBucketFullSchema>>;

/**
 * Bucket names are S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and
 * ending with a letter or a digit.
 */
export function validateBucketName(name: unknown, field = 'storage bucket name'): string {
  validateSegment(name, field);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name as string)) throw new LxdValidationError(field, `"${String(name)}" is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or a digit`);
  return name as string;
}

/** Key names: a path segment without a slash. */
function validateKeyName(name: unknown, field = 'storage bucket key name'): string {
  validateSegment(name, field);
  if ((name as string).includes('/')) throw new LxdValidationError(field, `"${String(name)}" must not contain a slash`);
  return name as string;
}

const BUCKETS = 'storage_buckets';
const FULL = 'storage_bucket_full';

/** `/1.0/storage-pools/{pool}/buckets`, declared. */
export const STORAGE_BUCKETS: CollectionDecl<LxdStorageBucket, StorageBucketsPost, StorageBucketPut> = {
  name: 'client.storageBuckets',
  path: '/1.0/storage-pools/{poolName}/buckets',
  itemPath: '/1.0/storage-pools/{poolName}/buckets/{bucketName}',
  writeItemPath: '/1.0/storage-pools/{name}/buckets/{bucketName}',
  what: 'storage bucket',
  parents: ['storage pool name'],
  schema: StorageBucketSchema,
  post: StorageBucketsPostSchema,
  put: StorageBucketPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  validateName: validateBucketName,
  project: true,
  target: ['create', 'update', 'patch', 'delete'],
  extension: BUCKETS,
  servers: INCUS_ONLY,
  listVariants: ['?recursion=1'],
};

/** `/1.0/storage-pools/{pool}/buckets/{bucket}/keys`, declared. */
export const STORAGE_BUCKET_KEYS: CollectionDecl<LxdStorageBucketKey, StorageBucketKeysPost, StorageBucketKeyPut> = {
  name: 'client.storageBuckets.keys',
  path: '/1.0/storage-pools/{poolName}/buckets/{bucketName}/keys',
  itemPath: '/1.0/storage-pools/{poolName}/buckets/{bucketName}/keys/{keyName}',
  writeItemPath: '/1.0/storage-pools/{name}/buckets/{bucketName}/keys/{keyName}',
  what: 'storage bucket key',
  parents: ['storage pool name', 'storage bucket name'],
  schema: StorageBucketKeySchema,
  post: StorageBucketKeysPostSchema,
  put: StorageBucketKeyPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'delete'],
  writes: 'sync-or-operation',
  validateName: validateKeyName,
  project: true,
  target: ['create', 'update', 'delete'],
  extension: BUCKETS,
  servers: INCUS_ONLY,
  listVariants: ['?recursion=1'],
};

/** `/1.0/storage-pools/{pool}/buckets/{bucket}/backups`, declared. */
export const STORAGE_BUCKET_BACKUPS: CollectionDecl<LxdStorageBucketBackup, z.infer<typeof StorageBucketBackupsPostSchema>, never> = {
  name: 'client.storageBuckets.backups',
  path: '/1.0/storage-pools/{poolName}/buckets/{bucketName}/backups',
  itemPath: '/1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}',
  what: 'storage bucket backup',
  parents: ['storage pool name', 'storage bucket name'],
  schema: StorageBucketBackupSchema,
  post: StorageBucketBackupsPostSchema,
  verbs: ['list', 'get', 'create', 'rename', 'delete'],
  writes: 'operation',
  validateName: (name: unknown, field = 'storage bucket backup name') => validateBackupName(name, field),
  project: true,
  target: ['list', 'get', 'create', 'delete'],
  extension: 'storage_bucket_backup',
  servers: INCUS_ONLY,
  listVariants: ['?recursion=1'],
};

/** Creates in `collection` (after the extension check) and answers the key the server made (sync on Incus). */
async function createWithKey(api: Api, core: { need(opts: CallOptions): Promise<void> }, collection: string, body: unknown, opts: TargetOptions): Promise<LxdStorageBucketKey> {
  await core.need(opts);
  return (await api.sync('POST', collection, StorageBucketKeySchema, { ...opts, body })).value;
}

/** `client.storageBuckets.keys`: the S3 access keys of a bucket. */
export class StorageBucketKeys {
  readonly #core: CollectionCore<LxdStorageBucketKey, StorageBucketKeysPost, StorageBucketKeyPut, StorageBucketKeyPut>;

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, STORAGE_BUCKET_KEYS);
  }

  #coll(pool: string, bucket: string): string {
    validatePoolName(pool);
    validateBucketName(bucket);
    return this.#core.collection(pool, bucket);
  }

  /** GET …/buckets/{bucket}/keys: the bucket's keys (objects, or names with `recursion: 0`). */
  list(pool: string, bucket: string, opts?: ListOptions & { recursion?: 1 }): Promise<LxdStorageBucketKey[]>;
  list(pool: string, bucket: string, opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  async list(pool: string, bucket: string, opts: ListOptions = {}): Promise<LxdStorageBucketKey[] | string[]> {
    return this.#core.list(this.#coll(pool, bucket), opts);
  }

  /** GET …/keys/{name}: one key with its credentials and ETag. */
  async get(pool: string, bucket: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdStorageBucketKey>> {
    return this.#core.get(this.#core.item(this.#coll(pool, bucket), name), opts);
  }

  /** A new key (`role` default: `read-only`; keys default: made by the server): answers its credentials. */
  async create(pool: string, bucket: string, body: StorageBucketKeysPost = {}, opts: TargetOptions = {}): Promise<LxdStorageBucketKey> {
    const path = this.#coll(pool, bucket);
    const b = validateBody(StorageBucketKeysPostSchema, body, 'storage bucket key');
    if (b.name !== undefined) validateKeyName(b.name);
    return createWithKey(this.api, this.#core, path, b, opts);
  }

  /** PUT: replaces the description, role and keys (the server makes keys left empty). */
  async update(pool: string, bucket: string, name: string, body: StorageBucketKeyPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    const path = this.#core.item(this.#coll(pool, bucket), name);
    await this.#core.write('PUT', path, validateBody(StorageBucketKeyPutSchema, body, 'storage bucket key'), opts);
  }

  /** DELETE …/keys/{name}: the key's credentials stop working. */
  async delete(pool: string, bucket: string, name: string, opts: TargetOptions = {}): Promise<void> {
    await this.#core.write('DELETE', this.#core.item(this.#coll(pool, bucket), name), undefined, opts);
  }
}

/** `client.storageBuckets.backups`: backup tarballs of a bucket (Incus, `storage_bucket_backup`). */
export class StorageBucketBackups {
  readonly #core: CollectionCore<LxdStorageBucketBackup, z.infer<typeof StorageBucketBackupsPostSchema>, never, never>;

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, STORAGE_BUCKET_BACKUPS);
  }

  #coll(pool: string, bucket: string): string {
    validatePoolName(pool);
    validateBucketName(bucket);
    return this.#core.collection(pool, bucket);
  }

  /** GET …/buckets/{bucket}/backups: the bucket's backups (objects, or names with `recursion: 0`). */
  list(pool: string, bucket: string, opts?: ListOptions & { recursion?: 1 }): Promise<LxdStorageBucketBackup[]>;
  list(pool: string, bucket: string, opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  async list(pool: string, bucket: string, opts: ListOptions = {}): Promise<LxdStorageBucketBackup[] | string[]> {
    return this.#core.list(this.#coll(pool, bucket), opts);
  }

  /** GET …/backups/{name}: one backup with its ETag. */
  async get(pool: string, bucket: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdStorageBucketBackup>> {
    return this.#core.get(this.#core.item(this.#coll(pool, bucket), name), opts);
  }

  /** POST: the server makes a tarball of the bucket's objects (an operation); expiry default 30 days. */
  async create(pool: string, bucket: string, backup: { name?: string; expiresAt?: Date | string; compressionAlgorithm?: string } = {}, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#coll(pool, bucket);
    if (backup.name !== undefined) validateBackupName(backup.name, 'storage bucket backup name');
    const body = validateBody(
      StorageBucketBackupsPostSchema,
      { name: backup.name, expires_at: rfc3339(backup.expiresAt ?? new Date(Date.now() + 30 * 24 * 3600_000), 'expiresAt'), compression_algorithm: backup.compressionAlgorithm },
      'storage bucket backup',
    );
    return (await this.#core.write('POST', path, body, opts)) as Operation;
  }

  /** POST …/backups/{name} `{ name }`: resolves to the operation (wait on it). */
  async rename(pool: string, bucket: string, name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    const path = this.#core.item(this.#coll(pool, bucket), name);
    validateBackupName(newName, 'new storage bucket backup name');
    return (await this.#core.write('POST', path, { name: newName }, opts)) as Operation;
  }

  /** DELETE …/backups/{name}: resolves to the operation (wait on it). */
  async delete(pool: string, bucket: string, name: string, opts: CallOptions = {}): Promise<Operation> {
    return (await this.#core.write('DELETE', this.#core.item(this.#coll(pool, bucket), name), undefined, opts)) as Operation;
  }

  /** GET …/export: the backup's tarball into `file`, as `storageVolumes.backups.export` does. */
  async export(pool: string, bucket: string, backup: string, file: string, opts: TransferOptions = {}): Promise<{ size: number }> {
    const path = `${this.#core.item(this.#coll(pool, bucket), backup)}/export`;
    checkTimeout(opts);
    await checkTarget(file);
    await this.#core.need(opts);
    return downloadTarball(this.api, path, file, opts);
  }
}

/**
 * `client.storageBuckets`: the S3 buckets of a pool (Incus). `create` answers the credentials of
 * the bucket's admin key (keep them: the secret is not shown again by `list`).
 */
export class StorageBucketsResource {
  readonly keys: StorageBucketKeys;
  readonly backups: StorageBucketBackups;
  readonly #core: CollectionCore<LxdStorageBucket, StorageBucketsPost, StorageBucketPut, StorageBucketPut>;
  readonly #full = arrayOf(StorageBucketFullSchema);

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, STORAGE_BUCKETS);
    this.keys = new StorageBucketKeys(api);
    this.backups = new StorageBucketBackups(api);
  }

  #coll(pool: string): string {
    validatePoolName(pool);
    return this.#core.collection(pool);
  }

  /** 0: names; 1 (default): buckets; 2: each with its keys and backups (`storage_bucket_full`). */
  list(pool: string, opts?: CallOptions & { recursion?: 1 }): Promise<LxdStorageBucket[]>;
  list(pool: string, opts: CallOptions & { recursion: 0 }): Promise<string[]>;
  list(pool: string, opts: CallOptions & { recursion: 2 }): Promise<LxdStorageBucketFull[]>;
  async list(pool: string, opts: CallOptions & { recursion?: 0 | 1 | 2 } = {}): Promise<LxdStorageBucket[] | LxdStorageBucketFull[] | string[]> {
    const path = this.#coll(pool);
    const { recursion, ...r } = opts;
    if (recursion !== 2) return this.#core.list(path, { ...r, recursion: recursion ?? 1 });
    await this.#core.need(r);
    await requireExtension(this.api, FULL, 'buckets with their keys and backups (recursion 2)', r);
    return (await this.api.sync('GET', path, this.#full, { ...r, query: { recursion: 2 } })).value;
  }

  /** One bucket with its ETag; `recursion: 1`: with its keys and backups (`storage_bucket_full`). */
  get(pool: string, name: string, opts?: CallOptions & { recursion?: 0 }): Promise<WithEtag<LxdStorageBucket>>;
  get(pool: string, name: string, opts: CallOptions & { recursion: 1 }): Promise<WithEtag<LxdStorageBucketFull>>;
  async get(pool: string, name: string, opts: CallOptions & { recursion?: 0 | 1 } = {}): Promise<WithEtag<LxdStorageBucket | LxdStorageBucketFull>> {
    const path = this.#core.item(this.#coll(pool), name);
    const { recursion, ...r } = opts;
    if (recursion !== 1) return this.#core.get(path, r);
    await this.#core.need(r);
    await requireExtension(this.api, FULL, 'a bucket with its keys and backups (recursion 1)', r);
    return this.api.sync('GET', path, StorageBucketFullSchema, { ...r, query: { recursion: 1 } });
  }

  /** A new bucket: answers the credentials of its admin key (keep them). */
  async create(pool: string, body: StorageBucketsPost, opts: TargetOptions = {}): Promise<LxdStorageBucketKey> {
    const path = this.#coll(pool);
    return createWithKey(this.api, this.#core, path, this.#core.created(body), opts);
  }

  /** PUT: replaces the description and config (pass the ETag of a `get()` to refuse a concurrent change). */
  async update(pool: string, name: string, body: StorageBucketPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    const path = this.#core.item(this.#coll(pool), name);
    await this.#core.write('PUT', path, this.#core.body(StorageBucketPutSchema, body), opts);
  }

  /** PATCH: merges the given fields. */
  async patch(pool: string, name: string, body: StorageBucketPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    const path = this.#core.item(this.#coll(pool), name);
    await this.#core.write('PATCH', path, this.#core.body(StorageBucketPutSchema, body), opts);
  }

  /** DELETE /1.0/storage-pools/{pool}/buckets/{name}: the bucket and its objects. */
  async delete(pool: string, name: string, opts: TargetOptions = {}): Promise<void> {
    await this.#core.write('DELETE', this.#core.item(this.#coll(pool), name), undefined, opts);
  }
}
