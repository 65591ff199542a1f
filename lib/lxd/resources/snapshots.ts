/**
 * `/1.0/instances/{name}/snapshots`: snapshots of an instance (with an expiry), and restoring one
 * (`PUT /1.0/instances/{name}` with `restore`). Every change is an operation.
 */
import { z } from 'zod';
import { arrayOf, lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import { isValidTimeout } from '../../deadline.js';
import type { Operation, WaitOptions } from '../operation.js';
import { lxdPath } from '../path.js';
import { validateBody, validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type WithEtag } from './base.js';



/** The snapshots' names, from `recursion=1` (see `names()`). */
const SnapshotNames = lazySchema(() => z.array(z.looseObject({ name: z.string() })));
/** Loose schema of an instance snapshot (`GET /1.0/instances/{name}/snapshots/{snapshot}`). */
export const SnapshotSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  created_at: z.string().optional(),
  /** Go's zero time (`0001-01-01T00:00:00Z`) when it never expires. */
  expires_at: z.string().optional(),
  last_used_at: z.string().optional(),
  stateful: z.boolean().default(false),
  architecture: z.string().default(''),
  ephemeral: z.boolean().default(false),
  profiles: z.array(z.string()).nullish().transform((v) => v ?? []),
  config: NullableStringMap,
  devices: z.record(z.string(), z.record(z.string(), z.string())).nullish().transform((v) => v ?? {}),
  /** Bytes used, or -1 when the storage driver cannot tell. */
  size: z.number().optional(),
}));
/** An instance snapshot (loose: unknown fields kept). */
export type LxdSnapshot = Closed<z.infer<typeof SnapshotSchema>>;

const SnapshotsPostSchema = lazySchema(() => z.strictObject({
  name: z.string().optional(),
  stateful: z.boolean().optional(),
  expires_at: z.string().optional(),
}));

/**
 * What `snapshots.create()` makes: the fields of `POST /1.0/instances/{name}/snapshots`, checked before any I/O.
 */
export interface SnapshotCreate {
  /** The snapshot's name (default: LXD picks `snap0`, `snap1`, …). */
  name?: string;
  /** With the running state (needs CRIU; containers rarely can). */
  stateful?: boolean;
  /** When LXD deletes it by itself. */
  expiresAt?: Date | string;
}

/**
 * Snapshot names: non-empty, no slash, not "." or "..", no NUL, and no `%`. LXD 5.0.2 and Incus 6.0
 * decode a snapshot's name in the URL twice: `DELETE …/snapshots/%2576ictim` (the name `%76ictim`,
 * correctly escaped) deletes the snapshot `victim`, and one named `%2e%2e` can never be reached. So a
 * name with `%` is refused everywhere, on every server, before any request: lxdkit never acts on
 * another snapshot than the one named.
 */
export function validateSnapshotName(name: unknown, field = 'snapshot name'): string {
  if (typeof name !== 'string' || name === '') throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.includes('/') || name.includes('\0') || name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" must not contain "/" or NUL, nor be "." or ".."`);
  if (name.includes('%')) {
    throw new LxdValidationError(field, `"${name}" holds "%": LXD and Incus decode a snapshot name in the URL twice, so the call could reach another snapshot; rename it with lxc/incus, or pick a name without "%"`);
  }
  return name;
}

/**
 * The snapshot an operation names in its resources (Incus: `instances_snapshots`; LXD lists none
 * for a snapshot it named itself), as URL paths: the query (`?project=`) dropped, the last segment
 * both as written and decoded (LXD writes a `%` in a snapshot URL unescaped).
 */
function snapshotNamesInResources(resources: Record<string, string[] | null> | null | undefined, instance: string): string[] {
  const names = new Set<string>();
  const prefix = `/instances/${encodeURIComponent(instance)}/snapshots/`;
  for (const urls of Object.values(resources ?? {})) {
    for (const url of Array.isArray(urls) ? urls : []) {
      if (typeof url !== 'string') continue;
      const path = url.split('?')[0] ?? '';
      const at = path.indexOf(prefix);
      if (at < 0) continue;
      const last = path.slice(at + prefix.length);
      if (last === '' || last.includes('/')) continue;
      names.add(last);
      try {
        names.add(decodeURIComponent(last));
      } catch {
        // a malformed escape: only the name as written can match
      }
    }
  }
  return [...names];
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
    return (await this.api.sync('GET', lxdPath`/1.0/instances/${instance}/snapshots`, arrayOf(SnapshotSchema), { ...opts, query: { recursion: 1 } })).value;
  }

  /**
   * The snapshot names only. They come from the snapshot objects, not from the URLs LXD lists: LXD
   * writes a `%` in those unescaped, so `%76ictim` would read as `victim`.
   */
  async names(instance: string, opts: CallOptions = {}): Promise<string[]> {
    validateInstanceName(instance);
    const path = lxdPath`/1.0/instances/${instance}/snapshots`;
    return (await this.api.sync('GET', path, SnapshotNames, { ...opts, query: { recursion: 1 } })).value.map((s) => s.name);
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

  /**
   * Takes a snapshot and waits for it: resolves to its name, the one given or the one the server
   * picked (`snap0`, …, or what the instance's `snapshots.pattern` makes). Incus names it in the
   * operation's resources; LXD 5.0.2 does not, so the new name is the one snapshot that appeared
   * between a listing before and one after. `undefined` when that cannot tell (another client took or
   * removed snapshots of the instance meanwhile): the snapshot was taken all the same.
   */
  async take(instance: string, snapshot: SnapshotCreate = {}, opts: CallOptions & Pick<WaitOptions, 'onProgress'> = {}): Promise<string | undefined> {
    validateInstanceName(instance);
    if (snapshot.name !== undefined) validateSnapshotName(snapshot.name);
    const { onProgress, ...call } = opts;
    const started = Date.now();
    const total = call.timeoutMs ?? this.api.ctx.operationTimeoutMs;
    if (!isValidTimeout(total)) throw new LxdValidationError('timeoutMs', `${total} is not a deadline: give a positive, finite number of milliseconds`);
    const left = (): number => Math.max(1, total - (Date.now() - started));
    const before = snapshot.name === undefined ? new Set(await this.names(instance, { signal: call.signal, timeoutMs: left() })) : undefined;
    const op = await this.create(instance, snapshot, { signal: call.signal, timeoutMs: left() });
    const done = await op.wait({ signal: call.signal, timeoutMs: left(), onProgress });
    if (!before) return snapshot.name;
    const after = await this.names(instance, { signal: call.signal, timeoutMs: left() });
    const named = snapshotNamesInResources(done.resources, instance).filter((n) => after.includes(n));
    if (named.length === 1) return named[0];
    const fresh = after.filter((n) => !before.has(n));
    return fresh.length === 1 ? fresh[0] : undefined;
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
