import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import { lxdPath } from '../path.js';
import { RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import type { Api, CallOptions } from './base.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

/** Loose schema of a project (`GET /1.0/projects/{name}`). */
export const ProjectSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
}));
/** A project (loose: unknown fields kept). */
export type LxdProject = Closed<z.infer<typeof ProjectSchema>>;

/**
 * `PUT`/`PATCH /1.0/projects/{name}`. `config` holds the `features.*` switches (`features.images`,
 * `features.profiles`, `features.storage.volumes`, `features.networks`; Incus adds
 * `features.storage.buckets` and `features.networks.zones`), `limits.*` and `restricted.*`.
 */
export const ProjectPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/projects/{name}` (strict: what lxdkit sends). */
export type ProjectPut = Closed<z.infer<typeof ProjectPutSchema>>;

/** Strict schema of the body of `POST /1.0/projects`: the PUT fields and a name. */
export const ProjectsPostSchema = lazySchema(() => ProjectPutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/projects` (strict: what lxdkit sends). */
export type ProjectsPost = Closed<z.infer<typeof ProjectsPostSchema>>;

/** One resource of `GET /1.0/projects/{name}/state`: -1 as the limit means none. */
export const ProjectResourceStateSchema = lazySchema(() => z.looseObject({ Limit: z.number(), Usage: z.number() }));
/** Loose schema of `GET /1.0/projects/{name}/state`: the limit and usage of each resource. */
export const ProjectStateSchema = lazySchema(() => z.looseObject({
  resources: z.record(z.string(), ProjectResourceStateSchema).nullish().transform((v) => v ?? {}),
}));
/** A project's resource limits and usage (loose: unknown fields kept). */
export type LxdProjectState = Closed<z.infer<typeof ProjectStateSchema>>;

/** The `features.*` keys of a project's config that are `"true"`, without the prefix (`images`, `profiles`, ...). */
export function projectFeatures(project: Pick<LxdProject, 'config'>): string[] {
  return Object.entries(project.config)
    .filter(([k, v]) => k.startsWith('features.') && v === 'true')
    .map(([k]) => k.slice('features.'.length))
    .sort();
}

/**
 * Project names as both LXD and Incus accept them: not empty, no slash, space, underscore or quote,
 * not `*`, `.` or `..`.
 */
export function validateProjectName(name: unknown, field = 'project name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (/[/\s_'"\0]/.test(name)) throw new LxdValidationError(field, `"${name}" must not contain a slash, whitespace, an underscore or a quote`);
  if (name === '*' || name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" is a reserved name`);
  return name;
}

/** `/1.0/projects`, declared: server-wide (no `?project=`), `patch` merges (see `ProjectsResource.patch`). */
export const PROJECTS: CollectionDecl<LxdProject, ProjectsPost, ProjectPut> = {
  name: 'client.projects',
  path: '/1.0/projects',
  itemPath: '/1.0/projects/{name}',
  what: 'project',
  schema: ProjectSchema,
  post: ProjectsPostSchema,
  put: ProjectPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  validateName: validateProjectName,
  project: false,
  servers: BOTH,
  listVariants: ['?recursion=1'],
  mergePatch: true,
};

/**
 * `/1.0/projects`. Projects are server-wide, so these calls carry no `project=` whatever the
 * client's project. Rename is an operation on both LXD and Incus; the method resolves once it is done.
 *
 * - `create`: `features.*` left out of `config` take the server's defaults (images, profiles and
 *   storage volumes of its own, and on Incus storage buckets; networks shared with `default`). A
 *   project with its own profiles starts with an empty `default` profile. A duplicate name throws
 *   LxdConflictError.
 * - `patch` merges the given config keys (and description) into the project: LXD 5.0.2 and Incus 6.0
 *   both answer `PATCH` by *replacing* the whole config (a patch of one limit drops every
 *   `features.*` key), so lxdkit reads the project and PUTs the merged config with the ETag it read.
 *   With `opts.etag`, a project changed since then is refused (412); without, a change in between is
 *   merged again (up to 3 tries).
 * - `delete`: the project must be empty (no instances, images, volumes, profiles but `default`).
 */
export class ProjectsResource extends RenamableCollection<LxdProject, ProjectsPost, ProjectPut> {
  constructor(private readonly api: Api) {
    super(api, PROJECTS);
  }

  /** GET /1.0/projects/{name}/state: usage and limit of each resource (instances, containers, cpu, memory, disk, networks, processes, ...). */
  async state(name: string, opts: CallOptions = {}): Promise<LxdProjectState> {
    validateProjectName(name);
    return (await this.api.sync('GET', lxdPath`/1.0/projects/${name}/state`, ProjectStateSchema, { ...opts, noProject: true })).value;
  }
}
