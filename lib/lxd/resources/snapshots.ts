/**
 * `/1.0/instances/{name}/snapshots`: snapshots of an instance (with an expiry), and restoring one
 * (`PUT /1.0/instances/{name}` with `restore`). Every change is an operation.
 */
import { z } from 'zod';
import { LxdValidationError } from '../errors.js';
import type { Operation } from '../operation.js';
import { lxdPath, namesFromUrls } from '../path.js';
import { validateBody, validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type WithEtag } from './base.js';

const StringMap = z.record(z.string(), z.string()).nullish().transform((v) => v ?? {});

export const SnapshotSchema = z.looseObject({
  name: z.string(),
  created_at: z.string().optional(),
  /** Go's zero time (`0001-01-01T00:00:00Z`) when it never expires. */
  expires_at: z.string().optional(),
  last_used_at: z.string().optional(),
  stateful: z.boolean().default(false),
  architecture: z.string().default(''),
  ephemeral: z.boolean().default(false),
  profiles: z.array(z.string()).nullish().transform((v) => v ?? []),
  config: StringMap,
  devices: z.record(z.string(), z.record(z.string(), z.string())).nullish().transform((v) => v ?? {}),
  /** Bytes used, or -1 when the storage driver cannot tell. */
  size: z.number().optional(),
});
export type LxdSnapshot = z.infer<typeof SnapshotSchema>;

const SnapshotsPostSchema = z.strictObject({
  name: z.string().optional(),
  stateful: z.boolean().optional(),
  expires_at: z.string().optional(),
});

export interface SnapshotCreate {
  /** The snapshot's name (default: LXD picks `snap0`, `snap1`, …). */
  name?: string;
  /** With the running state (needs CRIU; containers rarely can). */
  stateful?: boolean;
  /** When LXD deletes it by itself. */
  expiresAt?: Date | string;
}

/** Snapshot names: non-empty, no slash, not "." or "..", no NUL. */
export function validateSnapshotName(name: unknown, field = 'snapshot name'): string {
  if (typeof name !== 'string' || name === '') throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.includes('/') || name.includes('\0') || name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" must not contain "/" or NUL, nor be "." or ".."`);
  return name;
}

/** An RFC 3339 time for LXD from a Date or a string that parses as one. */
export function rfc3339(v: Date | string, field: string): string {
  const d = typeof v === 'string' ? new Date(v) : v;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new LxdValidationError(field, `${String(v)} is not a date`);
  return d.toISOString();
}

/** `client.instances.snapshots`. */
export class InstanceSnapshots {
  constructor(private readonly api: Api) {}

  /** The snapshots of an instance, oldest first (LXD's order). */
  async list(instance: string, opts: CallOptions = {}): Promise<LxdSnapshot[]> {
    validateInstanceName(instance);
    return (await this.api.sync('GET', lxdPath`/1.0/instances/${instance}/snapshots`, z.array(SnapshotSchema), { ...opts, query: { recursion: 1 } })).value;
  }

  /** The snapshot names only. */
  async names(instance: string, opts: CallOptions = {}): Promise<string[]> {
    validateInstanceName(instance);
    const path = lxdPath`/1.0/instances/${instance}/snapshots`;
    return namesFromUrls((await this.api.sync('GET', path, z.array(z.string()), opts)).value, 'GET', path);
  }

  /** One snapshot with its ETag. */
  get(instance: string, name: string, opts: CallOptions = {}): Promise<WithEtag<LxdSnapshot>> {
    validateInstanceName(instance);
    validateSnapshotName(name);
    return this.api.sync('GET', lxdPath`/1.0/instances/${instance}/snapshots/${name}`, SnapshotSchema, opts);
  }

  /** POST: takes a snapshot (an operation; its resources name the snapshot). */
  async create(instance: string, snapshot: SnapshotCreate = {}, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    if (snapshot.name !== undefined) validateSnapshotName(snapshot.name);
    const body = validateBody(
      SnapshotsPostSchema,
      {
        name: snapshot.name,
        stateful: snapshot.stateful,
        expires_at: snapshot.expiresAt === undefined ? undefined : rfc3339(snapshot.expiresAt, 'expiresAt'),
      },
      'snapshot',
    );
    if (body.expires_at !== undefined) await requireExtension(this.api, 'snapshot_expiry_creation', 'a snapshot expiry at creation', opts);
    return this.api.operation('POST', lxdPath`/1.0/instances/${instance}/snapshots`, { ...opts, body });
  }

  /** PUT: changes a snapshot's expiry (`null`: never). */
  async update(instance: string, name: string, change: { expiresAt: Date | string | null }, opts: CallOptions & { etag?: string | undefined } = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateSnapshotName(name);
    await requireExtension(this.api, 'snapshot_expiry', 'a snapshot expiry', opts);
    const expires = change.expiresAt === null ? '0001-01-01T00:00:00Z' : rfc3339(change.expiresAt, 'expiresAt');
    return this.api.operation('PUT', lxdPath`/1.0/instances/${instance}/snapshots/${name}`, { ...opts, body: { expires_at: expires } });
  }

  /** POST {name}: renames a snapshot. */
  rename(instance: string, name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateSnapshotName(name);
    validateSnapshotName(newName, 'new snapshot name');
    return this.api.operation('POST', lxdPath`/1.0/instances/${instance}/snapshots/${name}`, { ...opts, body: { name: newName } });
  }

  /**
   * PUT /1.0/instances/{instance} {restore}: brings the instance back to the snapshot (its files and
   * config). A running container is restored in place (LXD stops and starts it).
   */
  restore(instance: string, name: string, opts: CallOptions & { stateful?: boolean } = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateSnapshotName(name);
    const { stateful, ...call } = opts;
    return this.api.operation('PUT', lxdPath`/1.0/instances/${instance}`, { ...call, body: { restore: name, stateful } });
  }

  /** DELETE: removes a snapshot. */
  delete(instance: string, name: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(instance);
    validateSnapshotName(name);
    return this.api.operation('DELETE', lxdPath`/1.0/instances/${instance}/snapshots/${name}`, opts);
  }
}
