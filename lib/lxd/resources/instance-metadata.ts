/**
 * `/1.0/instances/{name}/metadata` (the instance's image metadata: `metadata.yaml`) and
 * `/1.0/instances/{name}/metadata/templates` (the template files it names). Template names are hostile
 * input: a plain file name, without a slash, `..` or a NUL, checked before any I/O.
 */
import { z } from 'zod';
import { lazySchema, StringListSchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import { lxdPath } from '../path.js';
import { validateBody, validateInstanceName } from '../validate.js';
import type { Api, CallOptions, EtagOptions, WithEtag } from './base.js';
import { readCapped } from './stream-util.js';

/** One template of the metadata: when it is applied, and the file it comes from. */
export const ImageTemplateSchema = lazySchema(() => z.looseObject({
  /** `create`, `copy`, `start`, `rename`. */
  when: z.array(z.string()).nullish().transform((v) => v ?? []),
  create_only: z.boolean().default(false),
  /** The template file (in `metadata/templates`). */
  template: z.string(),
  properties: NullableStringMap,
}));

/** The instance's metadata (`metadata.yaml` of its image, as the instance keeps it). */
export const InstanceMetadataSchema = lazySchema(() => z.looseObject({
  architecture: z.string().default(''),
  creation_date: z.number().default(0),
  expiry_date: z.number().default(0),
  properties: NullableStringMap,
  templates: z.record(z.string(), ImageTemplateSchema).nullish().transform((v) => v ?? {}),
}));
/** An instance's image metadata, `GET /1.0/instances/{name}/metadata` (loose: unknown fields kept). */
export type LxdInstanceMetadata = Closed<z.infer<typeof InstanceMetadataSchema>>;

const TemplatePutSchema = lazySchema(() => z.strictObject({
  when: z.array(z.enum(['create', 'copy', 'start', 'rename'], { error: 'a template applies on create, copy, start or rename' })),
  create_only: z.boolean().optional(),
  template: z.string().min(1),
  properties: z.record(z.string(), z.string()).optional(),
  /** File ownership and mode (Incus, extension `image_template_permissions`). */
  uid: z.string().optional(),
  gid: z.string().optional(),
  mode: z.string().optional(),
}));

/** What `metadata.update()` sends (PUT replaces it all) and `metadata.patch()` merges. */
export const InstanceMetadataPutSchema = lazySchema(() => z.strictObject({
  architecture: z.string().optional(),
  creation_date: z.number().int().optional(),
  expiry_date: z.number().int().optional(),
  properties: z.record(z.string(), z.string()).optional(),
  templates: z.record(z.string(), TemplatePutSchema).optional(),
}));
/** What `instances.metadata.update`/`patch` send to `PUT`/`PATCH /1.0/instances/{name}/metadata` (strict). */
export type InstanceMetadataPut = Closed<z.infer<typeof InstanceMetadataPutSchema>>;

/** A template file name: a plain name (not `.`, no slash, no `..`, no NUL), at most 255 bytes. */
export function validateTemplateName(file: unknown): string {
  if (typeof file !== 'string' || file === '' || file === '.' || file.includes('/') || file.includes('\\') || file.includes('..') || file.includes('\0') || Buffer.byteLength(file) > 255) {
    throw new LxdValidationError('template', `${JSON.stringify(file)} is not a template file name: give a plain name such as "hostname.tpl" (no slash, no "..")`);
  }
  return file;
}

/** `client.instances.metadata`: the instance's image metadata. */
export class InstanceMetadata {
  constructor(private readonly api: Api) {}

  /** GET …/metadata with its ETag. */
  async get(name: string, opts: CallOptions = {}): Promise<WithEtag<LxdInstanceMetadata>> {
    validateInstanceName(name);
    return this.api.sync('GET', lxdPath`/1.0/instances/${name}/metadata`, InstanceMetadataSchema, opts);
  }

  /** PUT …/metadata: replaces the metadata (GET it first and pass its ETag). */
  async update(name: string, body: InstanceMetadataPut, opts: EtagOptions = {}): Promise<void> {
    validateInstanceName(name);
    const b = validateBody(InstanceMetadataPutSchema, body, 'instance metadata');
    await this.api.call('PUT', lxdPath`/1.0/instances/${name}/metadata`, { ...opts, body: b });
  }

  /** PATCH …/metadata: merges the fields given. */
  async patch(name: string, body: InstanceMetadataPut, opts: EtagOptions = {}): Promise<void> {
    validateInstanceName(name);
    const b = validateBody(InstanceMetadataPutSchema, body, 'instance metadata');
    await this.api.call('PATCH', lxdPath`/1.0/instances/${name}/metadata`, { ...opts, body: b });
  }
}

/** `client.instances.templates`: the template files of the instance's metadata. */
export class InstanceTemplates {
  constructor(private readonly api: Api) {}

  /** GET …/metadata/templates: the template file names. */
  async list(name: string, opts: CallOptions = {}): Promise<string[]> {
    validateInstanceName(name);
    return (await this.api.sync('GET', lxdPath`/1.0/instances/${name}/metadata/templates`, StringListSchema, opts)).value;
  }

  /** GET …/metadata/templates?path=: one template's content, as text (up to the client's maxResponseBytes). */
  async get(name: string, file: string, opts: CallOptions = {}): Promise<string> {
    validateInstanceName(name);
    validateTemplateName(file);
    const path = lxdPath`/1.0/instances/${name}/metadata/templates`;
    const res = await this.api.stream('GET', path, { ...opts, query: { path: file } });
    return (await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', path)).toString('utf8');
  }

  /** POST …/metadata/templates?path=: writes a template file (made or replaced). */
  async put(name: string, file: string, content: string | Uint8Array, opts: CallOptions = {}): Promise<void> {
    validateInstanceName(name);
    validateTemplateName(file);
    if (typeof content !== 'string' && !(content instanceof Uint8Array)) throw new LxdValidationError('content', 'give the template as a string or bytes');
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    await this.api.call('POST', lxdPath`/1.0/instances/${name}/metadata/templates`, { ...opts, query: { path: file }, rawBody: { stream: data, contentType: 'application/octet-stream', contentLength: data.length } });
  }

  /** DELETE …/metadata/templates?path=: removes a template file. */
  async delete(name: string, file: string, opts: CallOptions = {}): Promise<void> {
    validateInstanceName(name);
    validateTemplateName(file);
    await this.api.call('DELETE', lxdPath`/1.0/instances/${name}/metadata/templates`, { ...opts, query: { path: file } });
  }
}
