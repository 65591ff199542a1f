/**
 * One route of LXD's and Incus's REST API, as lxdkit declares it: the single source of the typed
 * methods, the extension checks, and the endpoint table of `docs/api.md`.
 */
import type { z } from 'zod';

/** The HTTP methods of the API. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/**
 * How the server answers:
 * - `sync`: a sync envelope (its metadata parsed with `response`);
 * - `operation`: an operation (returned as an `Operation`);
 * - `sync-or-operation`: sync on LXD 5.0.2 and Incus 6.0, an operation on newer LXD; the method
 *   resolves once the change is applied;
 * - `raw`: not an envelope (a file, a tarball, text);
 * - `websocket`: an upgrade.
 */
export type Answer = 'sync' | 'operation' | 'sync-or-operation' | 'raw' | 'websocket';

/** Which of the two specs of `../shared/reference/rest-api/` have the route. */
export interface Servers {
  /** In LXD 5.0's `rest-api.yaml` (`lxd-5.0.pairs.tsv`). */
  lxd: boolean;
  /** In Incus 6.0's (`incus-6.0.pairs.tsv`). */
  incus: boolean;
}

/**
 * One (method, path) of LXD 5.0's or Incus 6.0's `rest-api.yaml` (exported as `ApiRoute`): the method serving it, how it answers, what it needs.
 */
export interface Route {
  method: HttpMethod;
  /** The spec's path, with its placeholders and query-string variant: `/1.0/networks/{name}/leases`. */
  path: string;
  /**
   * The lxdkit method serving it, as `client.…` (e.g. `client.storageVolumes.get`), or undefined
   * when no typed method does: then `why` says why.
   */
  name: string | undefined;
  /** Why there is no typed method (only when `name` is undefined), or a note on the method. */
  why?: string;
  answer: Answer;
  /** The API extension the route needs (checked before any request), if any. */
  extension?: string | undefined;
  servers: Servers;
  /** Carries the client's `?project=`. */
  project: boolean;
  /** Accepts `?target=` (a cluster member). */
  target: boolean;
  /** Strict schema of the request body (for routes that have one). */
  request?: z.ZodType | undefined;
  /** Loose schema of the answer's metadata (sync routes). */
  response?: z.ZodType | undefined;
}

export const BOTH: Servers = Object.freeze({ lxd: true, incus: true });
export const INCUS_ONLY: Servers = Object.freeze({ lxd: false, incus: true });
