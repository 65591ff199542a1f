import type { Readable } from 'node:stream';
import { z } from 'zod';
import { arrayOf, lazySchema, StringListSchema } from '../../lazy-schema.js';
import type { Operation } from '../operation.js';
import { lxdPath, namesFromUrls } from '../path.js';
import {
  InstanceFullSchema,
  InstancePatchSchema,
  InstancePutSchema,
  InstanceSchema,
  InstanceStatePutSchema,
  InstanceStateSchema,
  InstancesPostSchema,
  type LxdInstance,
  type LxdInstanceFull,
  type InstancePatch,
  type InstancePut,
  type LxdInstanceState,
  type InstanceStateAction,
  type InstancesPost,
} from '../schemas.js';
import { LxdValidationError } from '../errors.js';
import { validateBody, validateInstanceName, validatePoolName, validateSegment } from '../validate.js';
import { Api, requireExtension, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';
import { InstanceMetadata, InstanceTemplates } from './instance-metadata.js';
import { validateProjectName } from './projects.js';
import { InstanceConsole, InstanceLogs } from './console.js';
import { InstanceFiles } from './instance-files.js';
import { createFromBackup, InstanceBackups, type CreateFromBackupOptions } from './backups.js';
import { InstanceSnapshots } from './snapshots.js';
import { migrateInstance, type InstanceMigrateOptions, type MigrationResult } from './migration.js';
import { execInstance, execOutput, type ExecOptions, type ExecOutput, type ExecOutputOptions, type ExecProcess } from './instance-exec.js';

/** Options of `instances.list()`: recursion (default 1), a filter, every project, one instance type. */
export interface InstanceListOptions extends CallOptions {
  /** 0: names; 1 (default): objects; 2: objects with state, snapshots and backups. */
  recursion?: 0 | 1 | 2;
  /** LXD's filter language, e.g. `status eq Running` (a malformed filter gets a 500 from LXD). */
  filter?: string;
  /** Every project. */
  allProjects?: boolean;
  type?: 'container' | 'virtual-machine';
}

/**
 * What `instances.setState()` asks: start, stop, restart, freeze or unfreeze, with a timeout in seconds, `force` and `stateful`.
 */
export interface StateChange {
  action: InstanceStateAction;
  /**
   * Seconds to wait for a clean stop before giving up; -1 waits forever. Omitted unless given:
   * on LXD 5.0.2 an explicit 0 kills at once, so lxdkit never sends a default 0.
   */
  timeout?: number;
  force?: boolean;
  stateful?: boolean;
}

/** Where `instances.move()` takes an instance, on the same server (at least one of them). */
export interface MoveTarget {
  /** Another storage pool of the server (extension `instance_pool_move`). */
  pool?: string;
  /** Another project of the server (extension `instance_project_move`). */
  project?: string;
  /** Another member of the cluster (`?target=`; a member or `@group`). */
  target?: string;
  /** A new name (alone: a rename). */
  newName?: string;
}

/** Strict schema of `POST /1.0/instances/{name}` moving an instance on the same server. */
export const InstanceMovePostSchema = lazySchema(() => z.strictObject({
  name: z.string().min(1),
  migration: z.literal(true),
  pool: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
}));

/** Strict schema of the bulk state change, `PUT /1.0/instances`. */
export const InstancesStatePutSchema = lazySchema(() => z.strictObject({ state: InstanceStatePutSchema }));

/** What `instances.rebuild()` rebuilds the root disk from: an image, or nothing (an empty root disk). */
export type RebuildSource =
  | { type: 'none' }
  | { type: 'image'; alias?: string; fingerprint?: string; server?: string; protocol?: 'lxd' | 'simplestreams'; secret?: string; certificate?: string };

/** Strict schema of `POST /1.0/instances/{name}/rebuild` (Incus, extension `instances_rebuild`). */
export const InstanceRebuildPostSchema = lazySchema(() => z.strictObject({
  source: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('image'),
      alias: z.string().min(1).optional(),
      fingerprint: z.string().min(1).optional(),
      server: z.string().optional(),
      protocol: z.enum(['lxd', 'simplestreams']).optional(),
      secret: z.string().optional(),
      certificate: z.string().optional(),
    }),
  ]),
}));

function stateBody(change: StateChange): Record<string, unknown> {
  const body: Record<string, unknown> = { action: change?.action };
  if (change?.timeout !== undefined) body['timeout'] = change.timeout;
  if (change?.force !== undefined) body['force'] = change.force;
  if (change?.stateful !== undefined) body['stateful'] = change.stateful;
  return body;
}

/** `/1.0/instances`: containers and virtual machines. */
export class InstancesResource {
  /** The console log: `log()`, `clearLog()`. */
  readonly console: InstanceConsole;
  /** The instance's log files: `list()`, `read()`, `stream()`, `delete()`. */
  readonly logs: InstanceLogs;
  /** Files inside instances: `pull()`, `push()`, `list()`, `mkdir()`, `delete()`, recursive variants. */
  readonly files: InstanceFiles;
  /** Snapshots: the collection verbs, `restore()`. */
  readonly snapshots: InstanceSnapshots;
  /** Backups: the collection verbs, `download()`, `downloadToFile()`, `export()`. */
  readonly backups: InstanceBackups;
  /** The instance's image metadata: `get()` (with its ETag), `update()`, `patch()`. */
  readonly metadata: InstanceMetadata;
  /** The template files of its metadata: `list()`, `get()`, `put()`, `delete()`. */
  readonly templates: InstanceTemplates;

  constructor(private readonly api: Api) {
    this.console = new InstanceConsole(api);
    this.logs = new InstanceLogs(api);
    this.files = new InstanceFiles(api);
    this.snapshots = new InstanceSnapshots(api);
    this.backups = new InstanceBackups(api);
    this.metadata = new InstanceMetadata(api);
    this.templates = new InstanceTemplates(api);
  }

  /**
   * GET /1.0/instances: the project's instances: objects (default), names (`recursion: 0`) or objects with state, snapshots and backups (`recursion: 2`).
   */
  list(opts?: InstanceListOptions & { recursion?: 1 }): Promise<LxdInstance[]>;
  list(opts: InstanceListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: InstanceListOptions & { recursion: 2 }): Promise<LxdInstanceFull[]>;
  list(opts: InstanceListOptions & { recursion: 0 | 1 | 2 }): Promise<LxdInstance[] | string[] | LxdInstanceFull[]>;
  async list(opts: InstanceListOptions = {}): Promise<LxdInstance[] | string[] | LxdInstanceFull[]> {
    const recursion = opts.recursion ?? 1;
    const query = {
      recursion,
      filter: opts.filter,
      'instance-type': opts.type,
      'all-projects': opts.allProjects ? 'true' : undefined,
    };
    const req = { query, signal: opts.signal, timeoutMs: opts.timeoutMs };
    if (recursion === 0) return namesFromUrls((await this.api.sync('GET', '/1.0/instances', StringListSchema, req)).value, 'GET', '/1.0/instances');
    if (recursion === 2) return (await this.api.sync('GET', '/1.0/instances', arrayOf(InstanceFullSchema), req)).value;
    return (await this.api.sync('GET', '/1.0/instances', arrayOf(InstanceSchema), req)).value;
  }

  /** GET /1.0/instances/{name} with its ETag. */
  async get(name: string, opts: CallOptions = {}): Promise<WithEtag<LxdInstance>> {
    validateInstanceName(name);
    return this.api.sync('GET', lxdPath`/1.0/instances/${name}`, InstanceSchema, opts);
  }

  /**
   * POST /1.0/instances: create from an image (alias, fingerprint or remote server), empty, or a copy.
   * In a cluster, `target` places it on that member (or `@group`); without one LXD picks the member.
   * The instance's `location` says where it went.
   */
  async create(body: InstancesPost, opts: TargetOptions = {}): Promise<Operation> {
    const b = validateBody(InstancesPostSchema, body, 'instance');
    validateInstanceName(b.name);
    if (b.source.type === 'image' && !b.source.alias && !b.source.fingerprint && !b.source.properties) {
      validateBody(z.never({ error: 'an image source needs an alias, a fingerprint or properties' }), undefined, 'instance.source');
    }
    return this.api.operation('POST', '/1.0/instances', { ...opts, body: b });
  }

  /**
   * POST /1.0/instances with a backup tarball (a file path, streamed from disk, or a stream): a new
   * instance from a backup, named `name` (default: the backup's), in `pool`. See docs/backups.md.
   */
  createFromBackup(source: string | Readable | AsyncIterable<Uint8Array>, opts: CreateFromBackupOptions = {}): Promise<Operation> {
    return createFromBackup(this.api, source, opts);
  }

  /** PUT /1.0/instances/{name}: replaces the writable fields (GET it first and pass its ETag). */
  async update(name: string, body: InstancePut, opts: EtagOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    const b = validateBody(InstancePutSchema, body, 'instance');
    return this.api.operation('PUT', lxdPath`/1.0/instances/${name}`, { ...opts, body: b });
  }

  /** PATCH /1.0/instances/{name}: merges the given fields. */
  async patch(name: string, body: InstancePatch, opts: EtagOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    const b = validateBody(InstancePatchSchema, body, 'instance');
    return this.api.operation('PATCH', lxdPath`/1.0/instances/${name}`, { ...opts, body: b });
  }

  /** POST /1.0/instances/{name} {name}: renames a stopped instance. */
  async rename(name: string, newName: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    validateInstanceName(newName, 'new instance name');
    return this.api.operation('POST', lxdPath`/1.0/instances/${name}`, { ...opts, body: { name: newName } });
  }

  /**
   * Copies the instance to another server (`to`, an `LxdClient`), or moves it (`move: true`: the source
   * is deleted once the target reports success), as `lxc copy`/`lxc move` with a remote do, in `pull`
   * (default), `push` or `relay` mode. An abort or a failure leaves nothing on the target and the source
   * as it was. See docs/client.md, "Migration between servers".
   */
  migrate(name: string, opts: InstanceMigrateOptions): Promise<MigrationResult> {
    return migrateInstance(this.api, name, opts, validateInstanceName);
  }

  /** DELETE /1.0/instances/{name} (the instance must be stopped). */
  async delete(name: string, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    return this.api.operation('DELETE', lxdPath`/1.0/instances/${name}`, opts);
  }

  /** GET /1.0/instances/{name}/state with its ETag. */
  async state(name: string, opts: CallOptions = {}): Promise<WithEtag<LxdInstanceState>> {
    validateInstanceName(name);
    return this.api.sync('GET', lxdPath`/1.0/instances/${name}/state`, InstanceStateSchema, opts);
  }

  /**
   * PUT /1.0/instances/{name}/state: start, stop, restart, freeze, unfreeze. `timeout` is sent only
   * when given. The ETag is passed through (LXD 5.0.2 does not check it on this endpoint).
   */
  /**
   * Runs a command in a running instance (`POST /1.0/instances/{name}/exec`). Resolves once it runs,
   * with its stdout and stderr as streams; `await proc.wait()` gives the exit status. See docs/exec.md.
   */
  exec(name: string, opts: ExecOptions): Promise<ExecProcess> {
    return execInstance(this.api, name, opts);
  }

  /** Runs a command and collects its stdout and stderr (each up to `maxOutputBytes`, default 32 MiB). */
  execOutput(name: string, opts: ExecOutputOptions): Promise<ExecOutput> {
    return execOutput(this.api, name, opts);
  }

  /**
   * PUT /1.0/instances/{name}/state: starts, stops, restarts, freezes or unfreezes; resolves to the operation (wait on it). The body is checked before any I/O.
   */
  async setState(name: string, change: StateChange, opts: EtagOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    const b = validateBody(InstanceStatePutSchema, stateBody(change), 'state');
    return this.api.operation('PUT', lxdPath`/1.0/instances/${name}/state`, { ...opts, body: b });
  }

  /**
   * PUT /1.0/instances: changes the state of every instance of the client's project at once (extension
   * `instance_bulk_state_change`): one operation for all of them. Instances already in the state asked
   * for are left as they are.
   */
  async setStateAll(change: StateChange, opts: CallOptions = {}): Promise<Operation> {
    const b = validateBody(InstancesStatePutSchema, { state: stateBody(change) }, 'state');
    await requireExtension(this.api, 'instance_bulk_state_change', 'a state change of every instance', opts);
    return this.api.operation('PUT', '/1.0/instances', { ...opts, body: b });
  }

  /**
   * POST /1.0/instances/{name} with `migration: true`: moves a stopped instance to another storage
   * pool (`pool`), project (`project`) or cluster member (`target`) of the same server, with a new
   * name if given. `newName` alone is a rename. Moving between servers is `instances.migrate()`.
   */
  async move(name: string, to: MoveTarget, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    if (to === null || typeof to !== 'object') throw new LxdValidationError('to', 'give where to move the instance: { pool?, project?, target?, newName? }');
    const { pool, project, target, newName } = to;
    if (newName !== undefined) validateInstanceName(newName, 'new instance name');
    if (pool !== undefined) validatePoolName(pool, 'pool');
    if (project !== undefined) validateProjectName(project, 'project');
    if (target !== undefined) validateSegment(target, 'target');
    if (pool === undefined && project === undefined && target === undefined) {
      if (newName === undefined) throw new LxdValidationError('to', 'give a pool, a project, a target or a new name');
      return this.rename(name, newName, opts);
    }
    const body = validateBody(InstanceMovePostSchema, { name: newName ?? name, migration: true, pool, project }, 'instance move');
    if (pool !== undefined) await requireExtension(this.api, 'instance_pool_move', 'moving an instance to another storage pool', opts);
    if (project !== undefined) await requireExtension(this.api, 'instance_project_move', 'moving an instance to another project', opts);
    return this.api.operation('POST', lxdPath`/1.0/instances/${name}`, { ...opts, body, target });
  }

  /**
   * POST /1.0/instances/{name}/rebuild (Incus, extension `instances_rebuild`): replaces a stopped
   * instance's root disk with a fresh one from an image (`{ type: 'image', alias | fingerprint }`) or an
   * empty one (`{ type: 'none' }`), keeping its configuration. A server without the extension gets
   * `LxdExtensionMissingError` before any request.
   */
  async rebuild(name: string, request: { source: RebuildSource }, opts: CallOptions = {}): Promise<Operation> {
    validateInstanceName(name);
    const b = validateBody(InstanceRebuildPostSchema, request, 'instance rebuild');
    if (b.source.type === 'image' && !b.source.alias && !b.source.fingerprint) throw new LxdValidationError('instance rebuild.source', 'an image source needs an alias or a fingerprint');
    await requireExtension(this.api, 'instances_rebuild', 'rebuilding an instance', opts);
    return this.api.operation('POST', lxdPath`/1.0/instances/${name}/rebuild`, { ...opts, body: b });
  }
}
