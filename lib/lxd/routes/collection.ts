/**
 * A plain collection, declared once: list (names or objects), get (with its ETag), create, update
 * (PUT, If-Match), patch (PATCH, If-Match), rename, delete, under zero or more parents
 * (`/1.0/network-zones/{zone}/records`). The typed resources (`client.profiles`,
 * `client.networkZones.records`, …) are these classes over a declaration; everything a call needs
 * (the path's pieces, the list schemas, the extension to check) is worked out once, when the client
 * is made, so a call costs what a hand-written method costs.
 */
import { z } from 'zod';
import { arrayOf, StringListSchema } from '../../lazy-schema.js';
import type { Operation } from '../operation.js';
import { namesFromUrls, segment } from '../path.js';
import { isPreconditionFailed } from '../errors.js';
import { validateBody, validateSegment } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from '../resources/base.js';
import type { Answer, HttpMethod, Route, Servers } from './route.js';

/** A verb of a plain collection, each one (method, path) of the server's API. */
export type Verb = 'list' | 'get' | 'create' | 'update' | 'patch' | 'rename' | 'delete';

/** Options of a collection's `list()`. */
export interface ListOptions extends CallOptions {
  /** 0: names; 1 (default): objects. */
  recursion?: 0 | 1;
}

/** The declaration of a plain collection. */
export interface CollectionDecl<T = unknown, Post = unknown, Put = unknown, Patch = Put> {
  /** The lxdkit resource, as `client.…` (e.g. `client.networkZones.records`). */
  name: string;
  /** The collection's path in the spec's words: `/1.0/network-zones/{zone}/records`. */
  path: string;
  /** One member's path in the spec's words: `/1.0/network-zones/{zone}/records/{name}`. */
  itemPath: string;
  /**
   * The member's path of PUT, PATCH and DELETE where the spec names its placeholders otherwise
   * (Incus's buckets: `/1.0/storage-pools/{name}/buckets/{bucketName}`); the same URL is sent.
   */
  writeItemPath?: string;
  /** What one member is called in messages: `network zone record`. */
  what: string;
  /** What each parent is called in messages, outermost first: `['network zone name']`. */
  parents?: readonly string[];
  /** Loose schema of one member. */
  schema: z.ZodType<T>;
  /** Strict schemas of the bodies. */
  post?: z.ZodType<Post>;
  put?: z.ZodType<Put>;
  patch?: z.ZodType<Patch>;
  /** The verbs the server has (rename: `POST {itemPath}` with `{ name }`). */
  verbs: readonly Verb[];
  /**
   * How writes are answered: `sync-or-operation` (sync on LXD 5.0 and Incus 6.0, operations on newer
   * LXD; the method resolves once applied), or `operation` (the method returns the `Operation`).
   */
  writes: 'sync-or-operation' | 'operation';
  /** The key of the create body that holds the new member's name (default `name`; false: none). */
  nameKey?: string | false;
  /** Checks a member's name before any I/O (default: any valid path segment). */
  validateName?: (name: unknown, field?: string) => string;
  /** Sends the client's `?project=` (false: server-wide). */
  project: boolean;
  /** The verbs that take `?target=`. */
  target?: readonly Verb[];
  /** The API extension the whole collection needs. */
  extension?: string;
  servers: Servers;
  /** The list's query-string variants in the specs (`?recursion=1`), each a row of the table. */
  listVariants?: readonly string[];
  /** The servers that have each variant, when not all of `servers` do. */
  variantServers?: Readonly<Record<string, Servers>>;
  /** A note for every row of the collection in `docs/api.md` (e.g. where what the host cannot run is tested). */
  note?: string;
  /**
   * The server's PATCH drops (or breaks) fields left out of the body, so `patch` is a GET, then a PUT
   * of the merged fields (config merged key by key) with the ETag it read.
   */
  mergePatch?: boolean;
}

/** The note on the PATCH row of a collection whose `patch` merges itself. */
export const MERGE_PATCH_NOTE = "a GET, then a PUT of the merged fields with its ETag: the server's own PATCH drops the fields left out";

/** A path template's literal pieces around its placeholders: `/1.0/a/{x}/b` → `['/1.0/a/', '/b']`. */
export function templatePieces(template: string): string[] {
  return template.split(/\{[^}]+\}/);
}

/** What every collection class holds: the declaration, worked out once. */
export class CollectionCore<T, Post, Put, Patch> {
  readonly pieces: readonly string[];
  readonly items: z.ZodType<T[]>;
  readonly noProject: boolean;
  readonly extension: string | undefined;
  readonly operation: boolean;
  readonly validateName: (name: unknown, field?: string) => string;
  readonly newNameField: string;
  readonly parentFields: readonly string[];
  readonly nameKey: string | false;
  readonly patchSchema: z.ZodType | undefined;

  constructor(
    readonly api: Api,
    readonly decl: CollectionDecl<T, Post, Put, Patch>,
  ) {
    this.pieces = templatePieces(decl.path);
    this.items = arrayOf(decl.schema);
    this.noProject = !decl.project;
    this.extension = decl.extension;
    this.operation = decl.writes === 'operation';
    this.validateName = decl.validateName ?? ((v: unknown, field = `${decl.what} name`) => validateSegment(v, field));
    this.newNameField = `new ${decl.what} name`;
    this.parentFields = decl.parents ?? [];
    this.nameKey = decl.nameKey ?? 'name';
    this.patchSchema = decl.patch ?? decl.put;
  }

  /** The collection's path under its parents (each checked and escaped). */
  collection(p0?: string, p1?: string, p2?: string): string {
    const pieces = this.pieces;
    switch (pieces.length) {
      case 1:
        return pieces[0]!;
      case 2:
        return pieces[0]! + segment(p0!, this.parentFields[0]) + pieces[1]!;
      case 3:
        return pieces[0]! + segment(p0!, this.parentFields[0]) + pieces[1]! + segment(p1!, this.parentFields[1]) + pieces[2]!;
      default:
        return pieces[0]! + segment(p0!, this.parentFields[0]) + pieces[1]! + segment(p1!, this.parentFields[1]) + pieces[2]! + segment(p2!, this.parentFields[2]) + pieces[3]!;
    }
  }

  item(collection: string, name: string): string {
    this.validateName(name);
    return `${collection}/${segment(name)}`;
  }

  /** Throws LxdExtensionMissingError, before any request, when the server lacks the collection's extension. */
  need(opts: CallOptions): Promise<void> {
    return requireExtension(this.api, this.extension!, this.decl.name, opts);
  }

  async list(collection: string, opts: ListOptions & { query?: Record<string, string | undefined> }): Promise<T[] | string[]> {
    if (this.extension !== undefined) await this.need(opts);
    const { recursion = 1, ...r } = opts;
    if (recursion === 0) return namesFromUrls((await this.api.sync('GET', collection, StringListSchema, { ...r, noProject: this.noProject })).value, 'GET', collection);
    return (await this.api.sync('GET', collection, this.items, { ...r, noProject: this.noProject, query: { ...r.query, recursion: 1 } })).value;
  }

  async get(path: string, opts: TargetOptions & { query?: Record<string, string | undefined> }): Promise<WithEtag<T>> {
    if (this.extension !== undefined) await this.need(opts);
    return this.api.sync('GET', path, this.decl.schema, { ...opts, noProject: this.noProject });
  }

  /** A write: resolves once applied (`sync-or-operation`), or the Operation (`operation`). */
  async write(method: HttpMethod, path: string, body: unknown, opts: EtagOptions & TargetOptions & { query?: Record<string, string | undefined> }): Promise<void | Operation> {
    if (this.extension !== undefined) await this.need(opts);
    const r = { ...opts, noProject: this.noProject, body };
    if (this.operation) return this.api.operation(method, path, r);
    await this.api.call(method, path, r);
  }

  /**
   * PATCH of the member at `path`: the server's own, or (`mergePatch`) a GET, then a PUT of the
   * merged writable fields with the ETag read. With `opts.etag`, a member changed since that ETag
   * is refused (412); without, a change in between is merged again (up to 3 tries).
   */
  async patch(path: string, body: unknown, opts: EtagOptions & TargetOptions): Promise<void | Operation> {
    const b = this.body(this.patchSchema, body) as Record<string, unknown>;
    if (!this.decl.mergePatch) return this.write('PATCH', path, b, opts);
    const { etag, ...call } = opts;
    const writable = Object.keys((this.decl.put as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? b);
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(path, call);
      const cur = current.value as Record<string, unknown>;
      const merged: Record<string, unknown> = {};
      for (const k of writable) if (cur[k] !== undefined) merged[k] = cur[k];
      Object.assign(merged, b);
      if (b['config'] !== undefined) merged['config'] = { ...(cur['config'] as object | undefined), ...(b['config'] as object) };
      try {
        return await this.write('PUT', path, merged, { ...call, etag: etag ?? current.etag });
      } catch (err) {
        if (etag !== undefined || attempt >= 3 || !isPreconditionFailed(err)) throw err;
      }
    }
  }

  /** The create body, checked, with the new member's name checked too. */
  created(body: unknown): Post {
    const b = this.body(this.decl.post, body);
    if (this.nameKey !== false) this.validateName((b as Record<string, unknown>)[this.nameKey]);
    return b;
  }

  body<S>(schema: z.ZodType<S> | undefined, body: unknown): S;
  body(schema: z.ZodType | undefined, body: unknown): unknown;
  body(schema: z.ZodType | undefined, body: unknown): unknown {
    return schema ? validateBody(schema, body, this.decl.what) : body;
  }

  /** The routes of this declaration, for the route table. */
  routes(): Route[] {
    return collectionRoutes(this.decl);
  }
}

/** The routes a collection declaration serves, one per (method, path) of the specs. */
export function collectionRoutes(decl: CollectionDecl<never, never, never, never> | CollectionDecl): Route[] {
  const d = decl as CollectionDecl;
  const has = (v: Verb) => d.verbs.includes(v);
  const target = (v: Verb) => d.target?.includes(v) ?? false;
  const write: Answer = d.writes;
  const base = { extension: d.extension, servers: d.servers, project: d.project, ...(d.note === undefined ? {} : { why: d.note }) };
  const writeItem = d.writeItemPath ?? d.itemPath;
  const out: Route[] = [];
  if (has('list')) {
    out.push({ ...base, method: 'GET', path: d.path, name: `${d.name}.list`, answer: 'sync', target: target('list'), response: StringListSchema });
    for (const v of d.listVariants ?? []) out.push({ ...base, servers: d.variantServers?.[v] ?? d.servers, method: 'GET', path: `${d.path}${v}`, name: `${d.name}.list`, answer: 'sync', target: target('list'), response: arrayOf(d.schema) });
  }
  if (has('create')) out.push({ ...base, method: 'POST', path: d.path, name: `${d.name}.create`, answer: write, target: target('create'), request: d.post });
  if (has('get')) out.push({ ...base, method: 'GET', path: d.itemPath, name: `${d.name}.get`, answer: 'sync', target: target('get'), response: d.schema });
  if (has('update')) out.push({ ...base, method: 'PUT', path: writeItem, name: `${d.name}.update`, answer: write, target: target('update'), request: d.put });
  if (has('patch')) {
    const why = d.mergePatch ? [d.note, MERGE_PATCH_NOTE].filter((n) => n !== undefined).join('; ') : d.note;
    out.push({ ...base, ...(why === undefined ? {} : { why }), method: 'PATCH', path: writeItem, name: `${d.name}.patch`, answer: write, target: target('patch'), request: d.patch ?? d.put });
  }
  if (has('rename')) out.push({ ...base, method: 'POST', path: d.itemPath, name: `${d.name}.rename`, answer: write, target: false });
  if (has('delete')) out.push({ ...base, method: 'DELETE', path: writeItem, name: `${d.name}.delete`, answer: write, target: target('delete') });
  return out;
}

type Done<R> = Promise<R>;

/**
 * A top-level plain collection: `list(opts?)`, `get(name)`, `create(body)`, `update(name, body, { etag })`,
 * `patch(name, body, { etag })`, `delete(name)`. `R` is what writes resolve to: `void` (applied) or
 * an `Operation`.
 */
export class Collection<T, Post, Put, Patch = Put, R extends void | Operation = void> {
  protected readonly core: CollectionCore<T, Post, Put, Patch>;

  constructor(api: Api, decl: CollectionDecl<T, Post, Put, Patch>) {
    this.core = new CollectionCore(api, decl);
  }

  /** GET {path}: the members as objects (default), or their names (`recursion: 0`). */
  list(opts?: ListOptions & { recursion?: 1 }): Promise<T[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions & { recursion: 0 | 1 }): Promise<T[] | string[]>;
  list(opts: ListOptions = {}): Promise<T[] | string[]> {
    return this.core.list(this.core.pieces[0]!, opts);
  }

  /** One member with its ETag. */
  async get(name: string, opts: TargetOptions = {}): Promise<WithEtag<T>> {
    return this.core.get(this.core.item(this.core.pieces[0]!, name), opts);
  }

  /**
   * POST {path}: a new member; the body is checked against the strict schema, its name too, before any I/O (`LxdConflictError` when it exists).
   */
  async create(body: Post, opts: TargetOptions = {}): Done<R> {
    return (await this.core.write('POST', this.core.pieces[0]!, this.core.created(body), opts)) as R;
  }

  /** PUT: replaces the writable fields (pass the ETag of a `get()` to refuse a concurrent change). */
  async update(name: string, body: Put, opts: EtagOptions & TargetOptions = {}): Done<R> {
    const path = this.core.item(this.core.pieces[0]!, name);
    return (await this.core.write('PUT', path, this.core.body(this.core.decl.put, body), opts)) as R;
  }

  /** PATCH: merges the given fields. */
  async patch(name: string, body: Patch, opts: EtagOptions & TargetOptions = {}): Done<R> {
    return (await this.core.patch(this.core.item(this.core.pieces[0]!, name), body, opts)) as R;
  }

  /** DELETE {itemPath} (`LxdNotFoundError` when there is no such member). */
  async delete(name: string, opts: CallOptions = {}): Done<R> {
    const path = this.core.item(this.core.pieces[0]!, name);
    return (await this.core.write('DELETE', path, undefined, opts)) as R;
  }
}

/** A top-level plain collection whose members can be renamed (`POST {itemPath}` with `{ name }`). */
export class RenamableCollection<T, Post, Put, Patch = Put, R extends void | Operation = void> extends Collection<T, Post, Put, Patch, R> {
  /** POST {itemPath} `{ name }`: renames a member; the new name is checked before any I/O. */
  async rename(name: string, newName: string, opts: CallOptions = {}): Done<R> {
    const path = this.core.item(this.core.pieces[0]!, name);
    this.core.validateName(newName, this.core.newNameField);
    return (await this.core.write('POST', path, { name: newName }, opts)) as R;
  }
}

/**
 * A plain collection under one parent (`/1.0/network-zones/{zone}/records`): the same verbs, the
 * parent's name first, as `client.instances.snapshots.list(instance)` does.
 */
export class NestedCollection<T, Post, Put, Patch = Put, R extends void | Operation = void> {
  protected readonly core: CollectionCore<T, Post, Put, Patch>;

  constructor(api: Api, decl: CollectionDecl<T, Post, Put, Patch>) {
    this.core = new CollectionCore(api, decl);
  }

  /** GET {path} under `parent`: the members as objects (default), or their names (`recursion: 0`). */
  list(parent: string, opts?: ListOptions & { recursion?: 1 }): Promise<T[]>;
  list(parent: string, opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(parent: string, opts: ListOptions & { recursion: 0 | 1 }): Promise<T[] | string[]>;
  async list(parent: string, opts: ListOptions = {}): Promise<T[] | string[]> {
    return this.core.list(this.core.collection(parent), opts);
  }

  /** One member of `parent` with its ETag. */
  async get(parent: string, name: string, opts: TargetOptions = {}): Promise<WithEtag<T>> {
    return this.core.get(this.core.item(this.core.collection(parent), name), opts);
  }

  /**
   * POST {path} under `parent`: a new member; the body is checked against the strict schema before any I/O.
   */
  async create(parent: string, body: Post, opts: TargetOptions = {}): Done<R> {
    const path = this.core.collection(parent);
    return (await this.core.write('POST', path, this.core.created(body), opts)) as R;
  }

  /** PUT: replaces the writable fields (pass the ETag of a `get()` to refuse a concurrent change). */
  async update(parent: string, name: string, body: Put, opts: EtagOptions & TargetOptions = {}): Done<R> {
    const path = this.core.item(this.core.collection(parent), name);
    return (await this.core.write('PUT', path, this.core.body(this.core.decl.put, body), opts)) as R;
  }

  /** PATCH: merges the given fields. */
  async patch(parent: string, name: string, body: Patch, opts: EtagOptions & TargetOptions = {}): Done<R> {
    return (await this.core.patch(this.core.item(this.core.collection(parent), name), body, opts)) as R;
  }

  /** DELETE {itemPath} under `parent`. */
  async delete(parent: string, name: string, opts: CallOptions = {}): Done<R> {
    const path = this.core.item(this.core.collection(parent), name);
    return (await this.core.write('DELETE', path, undefined, opts)) as R;
  }
}

/** A nested collection whose members can be renamed. */
export class RenamableNestedCollection<T, Post, Put, Patch = Put, R extends void | Operation = void> extends NestedCollection<T, Post, Put, Patch, R> {
  /** POST {itemPath} `{ name }` under `parent`: renames a member; the new name is checked before any I/O. */
  async rename(parent: string, name: string, newName: string, opts: CallOptions = {}): Done<R> {
    const path = this.core.item(this.core.collection(parent), name);
    this.core.validateName(newName, this.core.newNameField);
    return (await this.core.write('POST', path, { name: newName }, opts)) as R;
  }
}
