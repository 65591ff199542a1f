/**
 * `/1.0/warnings`: what the server found wrong with itself (a missing kernel feature, an instance type
 * it cannot run), declared. A warning is acknowledged or set back to new; deleting one only hides it
 * until the server raises it again.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import { CollectionCore, type CollectionDecl, type ListOptions } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { validateBody, validateSegment } from '../validate.js';
import type { Api, CallOptions, EtagOptions, WithEtag } from './base.js';

/** Loose schema of a warning (`GET /1.0/warnings/{uuid}`). */
export const WarningSchema = lazySchema(() => z.looseObject({
  uuid: z.string(),
  /** `new`, `acknowledged` or `resolved`. */
  status: z.string(),
  type: z.string().default(''),
  /** `low`, `moderate` or `high`. */
  severity: z.string().default(''),
  count: z.number().default(0),
  last_message: z.string().default(''),
  first_seen_at: z.string().optional(),
  last_seen_at: z.string().optional(),
  /** The cluster member it was raised on (empty outside a cluster). */
  location: z.string().default(''),
  /** Empty for a server-wide warning. */
  project: z.string().default(''),
  entity_url: z.string().default(''),
}));
/** A warning the server raised (loose: unknown fields kept). */
export type LxdWarning = Closed<z.infer<typeof WarningSchema>>;

/** The statuses a client may set (`resolved` is the server's own). */
export const WarningStatuses = ['new', 'acknowledged'] as const;
/** One of `WarningStatuses`. */
export type WarningStatus = (typeof WarningStatuses)[number];

/** Strict schema of the body of `PUT`/`PATCH /1.0/warnings/{uuid}`: the status only. */
export const WarningPutSchema = lazySchema(() => z.strictObject({
  status: z.enum(WarningStatuses, { error: 'a warning\'s status can be set to "new" or "acknowledged" only' }),
}));
/** The body of `PUT`/`PATCH /1.0/warnings/{uuid}` (strict: what lxdkit sends). */
export type WarningPut = Closed<z.infer<typeof WarningPutSchema>>;

/** Warning ids are UUIDs. */
export function validateWarningUuid(value: unknown, field = 'warning uuid'): string {
  validateSegment(value, field);
  if (!/^[0-9a-fA-F-]+$/.test(value as string)) throw new LxdValidationError(field, `"${String(value)}" is not a warning uuid (as warnings.list() gives it)`);
  return value as string;
}

/** `/1.0/warnings`, declared. */
export const WARNINGS: CollectionDecl<LxdWarning, never, WarningPut> = {
  name: 'client.warnings',
  path: '/1.0/warnings',
  itemPath: '/1.0/warnings/{uuid}',
  what: 'warning',
  schema: WarningSchema,
  put: WarningPutSchema,
  verbs: ['list', 'get', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  nameKey: false,
  validateName: validateWarningUuid,
  // a client of a project lists that project's warnings; without one, every warning
  project: true,
  extension: 'warnings',
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/**
 * `client.warnings` (extension `warnings`): `list`, `get(uuid)`, `update(uuid, { status })` (PUT),
 * `patch(uuid, { status })` (PATCH: the status is the only writable field), `delete(uuid)`. A client
 * with a project lists the warnings of that project only.
 */
export class WarningsResource {
  readonly #core: CollectionCore<LxdWarning, never, WarningPut, WarningPut>;

  constructor(api: Api) {
    this.#core = new CollectionCore(api, WARNINGS);
  }

  /** GET /1.0/warnings: the warnings (objects, or their uuids with `recursion: 0`). */
  list(opts?: ListOptions & { recursion?: 1 }): Promise<LxdWarning[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions = {}): Promise<LxdWarning[] | string[]> {
    return this.#core.list('/1.0/warnings', opts);
  }

  /** GET /1.0/warnings/{uuid}: one warning with its ETag; the uuid is checked before any I/O. */
  async get(uuid: string, opts: CallOptions = {}): Promise<WithEtag<LxdWarning>> {
    return this.#core.get(this.#core.item('/1.0/warnings', uuid), opts);
  }

  /** Acknowledges the warning (`{ status: 'acknowledged' }`) or sets it back to new. */
  async update(uuid: string, body: WarningPut, opts: EtagOptions = {}): Promise<void> {
    const path = this.#core.item('/1.0/warnings', uuid);
    await this.#core.write('PUT', path, validateBody(WarningPutSchema, body, 'warning'), opts);
  }

  /** The same as `update`, with PATCH. */
  async patch(uuid: string, body: WarningPut, opts: EtagOptions = {}): Promise<void> {
    const path = this.#core.item('/1.0/warnings', uuid);
    await this.#core.write('PATCH', path, validateBody(WarningPutSchema, body, 'warning'), opts);
  }

  /** Deletes the warning (the server raises it again if the cause remains). */
  async delete(uuid: string, opts: CallOptions = {}): Promise<void> {
    await this.#core.write('DELETE', this.#core.item('/1.0/warnings', uuid), undefined, opts);
  }
}
