import { z } from 'zod';
import { arrayOf, StringListSchema } from '../../lazy-schema.js';
import { abortable, type CallOptions } from '../../deadline.js';
import type { Logger } from '../../logger.js';
import { isNotFound, LxdExtensionMissingError, LxdNotFoundError, LxdResponseValidationError } from '../errors.js';
import { Operation, parseOperation } from '../operation.js';
import type { OperationsHub } from '../operations-hub.js';
import { lxdPath, namesFromUrls, type QueryValue } from '../path.js';
import type { ServerKind } from '../socket.js';
import type { FileHandle } from 'node:fs/promises';
import type { RawBody, StreamResponse, Transport } from '../transport.js';

export type { CallOptions } from '../../deadline.js';

/** Options of a write that can carry an ETag (If-Match). */
export interface EtagOptions extends CallOptions {
  /** Sent as If-Match; a stale value makes LXD answer 412 (LxdPreconditionFailedError). `undefined` sends none, so the `etag` of a `get()` can be passed as it is. */
  etag?: string | undefined;
}

/** Options of a call LXD accepts `?target=` on (placement, a member's own config or state). */
export interface TargetOptions extends CallOptions {
  /** The cluster member (or `@group`) the call is for; overrides the client's `withTarget()` member. */
  target?: string | undefined;
}

/** A value with the ETag LXD sent for it (single-object GETs only). */
export interface WithEtag<T> {
  value: T;
  etag: string | undefined;
}

export interface ApiContext {
  transport: Transport;
  /** Which daemon this is (from `GET /1.0`, read once): header names and a few endpoints differ. */
  serverKind: (opts?: CallOptions) => Promise<ServerKind>;
  /** Whether the server has an API extension (from `GET /1.0`, read once). */
  hasExtension: (name: string, opts?: CallOptions) => Promise<boolean>;
  project: string | undefined;
  /** The cluster member every call is sent to (`?target=`), from `withTarget()`. */
  target?: string | undefined;
  logger: Logger;
  hub: OperationsHub;
  operationTimeoutMs: number;
}

interface Req extends CallOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  rawBody?: RawBody;
  etag?: string | undefined;
  headers?: Record<string, string>;
  /** Don't add `project=` (server-wide endpoints). */
  noProject?: boolean;
  /** The cluster member for this call (else the client's, if it has one). */
  target?: string | undefined;
}

/** What `LxdClient.query()` returns. */
export interface QueryResult {
  status: number;
  /** `sync` or `async`. */
  type: string;
  metadata: unknown;
  etag: string | undefined;
  /** Set when LXD answered with an operation. */
  operation?: Operation;
}

/** Shared request plumbing for the resources. */
export class Api {
  /** Projects found to exist (a check is made once per client and project; a failed one is made again). */
  readonly #projectChecks = new Map<string, Promise<void>>();

  constructor(readonly ctx: ApiContext) {}

  private query(r: Req): Record<string, QueryValue> {
    const target = r.target ?? this.ctx.target;
    const query = target === undefined ? r.query : { target, ...r.query };
    if (!this.scoped(r)) return { ...query };
    return { project: this.ctx.project, ...query };
  }

  /** The request carries the client's project (not a server-wide call, not all projects). */
  private scoped(r: Req): boolean {
    return !r.noProject && this.ctx.project !== undefined && r.query?.['all-projects'] === undefined;
  }

  /**
   * Makes sure `project` (default: the client's) exists, with one `GET /1.0/projects/{name}` per
   * client and project. Neither LXD nor Incus checks the project on every endpoint: instance and
   * operation lists of a project that does not exist answer an empty list (and LXD 5.0.2 reports an
   * instance of it as "Instance not found"), so lxdkit asks once before the first call in a project and
   * throws `LxdNotFoundError` for a project that does not exist. `default` always exists.
   */
  ensureProject(opts: CallOptions = {}, project = this.ctx.project): Promise<void> {
    if (project === undefined || project === 'default') return Promise.resolve();
    let check = this.#projectChecks.get(project);
    if (!check) {
      // shared by every caller, so made without any one caller's signal (each waits with its own)
      check = this.ctx.transport.request('GET', lxdPath`/1.0/projects/${project}`).then(
        () => undefined,
        (err: unknown) => {
          this.#projectChecks.delete(project);
          if (isNotFound(err)) {
            throw new LxdNotFoundError({ status: err.status, errorCode: err.errorCode, method: err.method, path: err.path, project, lxdMessage: err.lxdMessage }, { cause: err });
          }
          throw err;
        },
      );
      check.catch(() => {});
      this.#projectChecks.set(project, check);
    }
    return abortable(check, opts.signal);
  }

  private async raw(method: string, path: string, r: Req) {
    if (this.scoped(r)) await this.ensureProject(r);
    return this.ctx.transport.request(method, path, {
      query: this.query(r),
      body: r.body,
      rawBody: r.rawBody,
      etag: r.etag,
      headers: r.headers,
      signal: r.signal,
      timeoutMs: r.timeoutMs,
    });
  }

  /** A call whose response body comes back as a stream (file pulls, downloads); errors are mapped as everywhere. */
  stream(method: string, path: string, r: Omit<Req, 'rawBody'> = {}): Promise<StreamResponse> {
    return this.ctx.transport.requestStream(method, path, {
      query: this.query(r),
      body: r.body,
      etag: r.etag,
      headers: r.headers,
      signal: r.signal,
      timeoutMs: r.timeoutMs,
    });
  }

  /** A call whose response body is written into `file` (see Transport.requestToFile). */
  download(method: string, path: string, file: FileHandle, r: Omit<Req, 'rawBody' | 'body'> & { onBytes?: (bytes: number, total: number | undefined) => void } = {}): Promise<{ status: number; headers: Record<string, string>; bytes: number }> {
    return this.ctx.transport.requestToFile(method, path, file, {
      query: this.query(r),
      etag: r.etag,
      headers: r.headers,
      signal: r.signal,
      timeoutMs: r.timeoutMs,
      onBytes: r.onBytes,
    });
  }

  /** A sync call whose metadata is parsed with `schema`. */
  async sync<S extends z.ZodType>(method: string, path: string, schema: S, r: Req = {}): Promise<WithEtag<z.infer<S>>> {
    const res = await this.raw(method, path, r);
    const parsed = schema.safeParse(res.envelope.metadata);
    if (!parsed.success) throw new LxdResponseValidationError(method, path, parsed.error.issues);
    return { value: parsed.data, etag: res.etag };
  }

  /**
   * GET a collection: its members' names (`recursion: 0`, decoded from their URLs) or the members
   * themselves, parsed with `schema` (`recursion: 1`, the default).
   */
  async list<S extends z.ZodType>(path: string, schema: S, opts: Req & { recursion?: 0 | 1 }): Promise<z.infer<S>[] | string[]> {
    const { recursion = 1, ...r } = opts;
    if (recursion === 0) return namesFromUrls((await this.sync('GET', path, StringListSchema, r)).value, 'GET', path);
    return (await this.sync('GET', path, arrayOf(schema), { ...r, query: { ...r.query, recursion: 1 } })).value;
  }

  /** A sync call whose result is not needed. */
  async call(method: string, path: string, r: Req = {}): Promise<void> {
    const res = await this.raw(method, path, r);
    if (res.envelope.type === 'async') {
      // an endpoint that became async in a newer LXD: wait for it, so callers see the same behaviour
      await this.operationFrom(method, path, res.envelope.metadata, false).wait({ signal: r.signal });
    }
  }

  /**
   * A call LXD answers with an operation (or, on some versions, synchronously). Subscribes to
   * operation events *before* sending the request so that no update can be missed.
   */
  async operation(method: string, path: string, r: Req = {}): Promise<Operation> {
    const res = await this.operationOrSync(method, path, r);
    if (res.operation) return res.operation;
    const md = res.metadata;
    return Operation.completed(this.ctx, `${method} ${path}`, md && typeof md === 'object' && !Array.isArray(md) ? (md as Record<string, unknown>) : null);
  }

  /**
   * A raw call: the metadata as sent, or an Operation when LXD answers with one. For anything but a
   * GET, subscribes to operation events first.
   */
  async operationOrSync(method: string, path: string, r: Req = {}): Promise<QueryResult> {
    // before the events socket of the project is opened for the operation
    if (this.scoped(r)) await this.ensureProject(r);
    const leased = method !== 'GET' && (await this.ctx.hub.acquire(r.signal));
    const generation = this.ctx.hub.generation;
    let res;
    try {
      res = await this.raw(method, path, r);
    } catch (err) {
      if (leased) this.ctx.hub.release();
      throw err;
    }
    if (res.envelope.type === 'async') {
      const operation = this.operationFrom(method, path, res.envelope.metadata, leased, generation);
      return { status: res.status, type: 'async', metadata: res.envelope.metadata, etag: res.etag, operation };
    }
    if (leased) this.ctx.hub.release();
    return { status: res.status, type: res.envelope.type, metadata: res.envelope.metadata, etag: res.etag };
  }

  private operationFrom(method: string, path: string, metadata: unknown, leased: boolean, generation?: number): Operation {
    try {
      return new Operation(this.ctx, parseOperation(method, path, metadata), leased, generation);
    } catch (err) {
      if (leased) this.ctx.hub.release();
      throw err;
    }
  }
}

/** Throws LxdExtensionMissingError unless the server has `extension` (`what` names the feature). */
export async function requireExtension(api: Api, extension: string, what: string, opts: CallOptions = {}): Promise<void> {
  if (!(await api.ctx.hasExtension(extension, opts))) throw new LxdExtensionMissingError(extension, what);
}
