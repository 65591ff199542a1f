import type { z } from 'zod';
import type { CallOptions } from '../../deadline.js';
import type { Logger } from '../../logger.js';
import { LxdExtensionMissingError, LxdResponseValidationError } from '../errors.js';
import { Operation, parseOperation } from '../operation.js';
import type { OperationsHub } from '../operations-hub.js';
import type { QueryValue } from '../path.js';
import type { ServerKind } from '../socket.js';
import type { FileHandle } from 'node:fs/promises';
import type { RawBody, StreamResponse, Transport } from '../transport.js';

export type { CallOptions } from '../../deadline.js';

export interface EtagOptions extends CallOptions {
  /** Sent as If-Match; a stale value makes LXD answer 412 (LxdPreconditionFailedError). */
  etag?: string;
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
  constructor(readonly ctx: ApiContext) {}

  private query(r: Req): Record<string, QueryValue> {
    if (r.noProject || this.ctx.project === undefined || r.query?.['all-projects'] !== undefined) return { ...r.query };
    return { project: this.ctx.project, ...r.query };
  }

  private raw(method: string, path: string, r: Req) {
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
      ...(r.onBytes ? { onBytes: r.onBytes } : {}),
    });
  }

  /** A sync call whose metadata is parsed with `schema`. */
  async sync<S extends z.ZodType>(method: string, path: string, schema: S, r: Req = {}): Promise<WithEtag<z.infer<S>>> {
    const res = await this.raw(method, path, r);
    const parsed = schema.safeParse(res.envelope.metadata);
    if (!parsed.success) throw new LxdResponseValidationError(method, path, parsed.error.issues);
    return { value: parsed.data, etag: res.etag };
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
