/**
 * `/1.0/cluster`: the cluster, its members (with evacuate and restore), cluster groups and join tokens.
 * Every call answers for the whole cluster through whichever member the client talks to.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { NullableStringList, NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdNotFoundError, LxdValidationError } from '../errors.js';
import type { Operation } from '../operation.js';
import { lxdPath } from '../path.js';
import { OperationListSchema, OperationSchema, type OperationData } from '../schemas.js';
import { validateBody, validateSegment } from '../validate.js';
import { Api, requireExtension, type CallOptions, type EtagOptions, type WithEtag } from './base.js';
import type { ServerResource } from './server.js';
import { RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

// ---------------------------------------------------------------- schemas (responses loose, requests strict)

export const ClusterMemberConfigKeySchema = lazySchema(() => z.looseObject({
  entity: z.string(),
  name: z.string(),
  key: z.string(),
  value: z.string().default(''),
  description: z.string().default(''),
}));

/** `GET /1.0/cluster`. */
export const ClusterSchema = lazySchema(() => z.looseObject({
  /** The member that answered (`""` when the server is not clustered). */
  server_name: z.string().default(''),
  enabled: z.boolean(),
  member_config: z.array(ClusterMemberConfigKeySchema).nullish().transform((v) => v ?? []),
}));
/** The cluster, as `GET /1.0/cluster` answers (loose: unknown fields kept). */
export type LxdCluster = Closed<z.infer<typeof ClusterSchema>>;

/** `PUT /1.0/cluster`: enable clustering on this server, join a cluster (with a join token), or leave one. */
export const ClusterPutSchema = lazySchema(() => z.strictObject({
  enabled: z.boolean(),
  server_name: z.string().optional(),
  server_address: z.string().optional(),
  cluster_address: z.string().optional(),
  cluster_certificate: z.string().optional(),
  /** LXD 5.0's trust password of the cluster (Incus has none). A join token goes in `cluster_token`. */
  cluster_password: z.string().optional(),
  /** A join token (`cluster.joinTokens.create()`): sent as `cluster_password` to an LXD without `explicit_trust_token`. */
  cluster_token: z.string().optional(),
  member_config: z.array(z.strictObject({ entity: z.string(), name: z.string(), key: z.string(), value: z.string(), description: z.string().optional() })).optional(),
}));
/** The body of `PUT /1.0/cluster` (strict: what lxdkit sends). */
export type ClusterPut = Closed<z.infer<typeof ClusterPutSchema>>;

/** One member, as `GET /1.0/cluster/members/{name}` gives it. */
export const ClusterMemberSchema = lazySchema(() => z.looseObject({
  server_name: z.string(),
  /** `https://<cluster address>`. */
  url: z.string().default(''),
  database: z.boolean().default(false),
  /** `Online`, `Offline`, `Evacuated`, `Blocked`, ... as LXD says it. */
  status: z.string(),
  message: z.string().default(''),
  architecture: z.string().default(''),
  failure_domain: z.string().default(''),
  description: z.string().default(''),
  roles: NullableStringList,
  groups: NullableStringList,
  config: NullableStringMap,
}));
/** A cluster member (loose: unknown fields kept). */
export type LxdClusterMember = Closed<z.infer<typeof ClusterMemberSchema>>;

/** The writable part of a member (`PUT` replaces all of it: read, change, put back with the ETag). */
export const ClusterMemberPutSchema = lazySchema(() => z.strictObject({
  roles: z.array(z.string()).optional(),
  failure_domain: z.string().optional(),
  description: z.string().optional(),
  config: ConfigMap.optional(),
  groups: z.array(z.string()).optional(),
}));
/** The body of `PUT /1.0/cluster/members/{name}` (strict: what lxdkit sends). */
export type ClusterMemberPut = Closed<z.infer<typeof ClusterMemberPutSchema>>;

/** `GET /1.0/cluster/members/{name}/state` (extension `cluster_member_state`). */
export const ClusterMemberStateSchema = lazySchema(() => z.looseObject({
  sysinfo: z
    .looseObject({
      uptime: z.number().optional(),
      load_averages: z.array(z.number()).nullish(),
      total_ram: z.number().optional(),
      free_ram: z.number().optional(),
      processes: z.number().optional(),
    })
    .optional(),
  storage_pools: z.record(z.string(), z.unknown()).nullish(),
}));
/** A member's load, memory and storage (loose: unknown fields kept). */
export type LxdClusterMemberState = Closed<z.infer<typeof ClusterMemberStateSchema>>;

/** Loose schema of a cluster group (`GET /1.0/cluster/groups/{name}`). */
export const ClusterGroupSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  members: NullableStringList,
}));
/** A cluster group (loose: unknown fields kept). */
export type LxdClusterGroup = Closed<z.infer<typeof ClusterGroupSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/cluster/groups/{name}`: description and members. */
export const ClusterGroupPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  members: z.array(z.string()).optional(),
}));
/** The body of `PUT`/`PATCH /1.0/cluster/groups/{name}` (strict: what lxdkit sends). */
export type ClusterGroupPut = Closed<z.infer<typeof ClusterGroupPutSchema>>;

/** Strict schema of the body of `POST /1.0/cluster/groups`: the PUT fields and a name. */
export const ClusterGroupsPostSchema = lazySchema(() => ClusterGroupPutSchema.extend({ name: z.string().min(1, 'a cluster group needs a name') }));
/** The body of `POST /1.0/cluster/groups` (strict: what lxdkit sends). */
export type ClusterGroupsPost = Closed<z.infer<typeof ClusterGroupsPostSchema>>;

/** `PUT /1.0/cluster/certificate`: the cluster's new certificate and key, both PEM. */
export const ClusterCertificatePutSchema = lazySchema(() => z.strictObject({
  cluster_certificate: z.string().min(1, 'the PEM certificate is required'),
  cluster_certificate_key: z.string().min(1, 'the PEM private key is required'),
}));
/** The body of `PUT /1.0/cluster/certificate` (strict: what lxdkit sends). */
export type ClusterCertificatePut = Closed<z.infer<typeof ClusterCertificatePutSchema>>;

function checkCertificateAndKey(certPem: string, keyPem: string): void {
  let cert: X509Certificate;
  try {
    if (!certPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
    cert = new X509Certificate(certPem);
  } catch {
    throw new LxdValidationError('cluster certificate.cluster_certificate', 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  let key: KeyObject;
  try {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) throw new Error('not PEM');
    key = createPrivateKey(keyPem);
  } catch {
    throw new LxdValidationError('cluster certificate.cluster_certificate_key', 'is not a PEM private key (-----BEGIN PRIVATE KEY-----)');
  }
  if (!cert.checkPrivateKey(key)) throw new LxdValidationError('cluster certificate.cluster_certificate_key', 'is not the key of cluster_certificate');
}

/** The metadata of a join token's operation (`POST /1.0/cluster/members`). */
const JoinTokenMetadataSchema = lazySchema(() => z.looseObject({
  serverName: z.string(),
  secret: z.string(),
  fingerprint: z.string(),
  addresses: NullableStringList,
  expiresAt: z.string().optional(),
}));

/** A join token: what a new member needs (`token`, for `lxd init` or `PUT /1.0/cluster`). */
export interface ClusterJoinToken {
  /** The name the new member must join with. */
  serverName: string;
  /** The token as `lxc cluster add` prints it (base64 JSON: name, fingerprint, addresses, secret, expiry). Secret: never log it. */
  token: string;
  /** The cluster addresses a joining member may contact. */
  addresses: string[];
  /** The cluster certificate's fingerprint. */
  fingerprint: string;
  /** When the token expires (extension `cluster_join_token_expiry`). */
  expiresAt: string | undefined;
  /** The id of the token's operation (revoking the token deletes it). */
  operationId: string;
}

/** The writable part of a member, for a GET → change → PUT round trip. */
export function clusterMemberWritable(m: LxdClusterMember): ClusterMemberPut {
  return { roles: [...m.roles], failure_domain: m.failure_domain, description: m.description, config: { ...m.config }, groups: [...m.groups] };
}

function joinToken(op: OperationData): ClusterJoinToken | undefined {
  // A revoked or used token's operation is listed for a few seconds more, finished.
  if (op.class !== 'token' || op.status_code >= 200 || !op.resources || !('cluster' in op.resources)) return undefined;
  const md = JoinTokenMetadataSchema.safeParse(op.metadata);
  if (!md.success) return undefined;
  const { serverName, secret, fingerprint, addresses, expiresAt } = md.data;
  // The same JSON, in the same order, as LXD's own ClusterMemberJoinToken.String().
  const json = JSON.stringify({ server_name: serverName, fingerprint, addresses, secret, expires_at: expiresAt });
  return { serverName, token: Buffer.from(json).toString('base64'), addresses: [...addresses], fingerprint, expiresAt, operationId: op.id };
}


/** Options of `cluster.members.list()`. */
export interface MemberListOptions extends CallOptions {
  /** 0: names; 1 (default): objects. */
  recursion?: 0 | 1;
}

// ---------------------------------------------------------------- resources

/** `/1.0/cluster/members`. */
export class ClusterMembersResource {
  constructor(
    private readonly api: Api,
    private readonly server: ServerResource,
  ) {}

  /**
   * GET /1.0/cluster/members: the members (objects, or names with `recursion: 0`); server-wide, no `?project=`.
   */
  list(opts?: MemberListOptions & { recursion?: 1 }): Promise<LxdClusterMember[]>;
  list(opts: MemberListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: MemberListOptions & { recursion: 0 | 1 }): Promise<LxdClusterMember[] | string[]>;
  async list(opts: MemberListOptions = {}): Promise<LxdClusterMember[] | string[]> {
    return this.api.list('/1.0/cluster/members', ClusterMemberSchema, { ...opts, noProject: true });
  }

  /** GET /1.0/cluster/members/{name} with its ETag. */
  get(name: string, opts: CallOptions = {}): Promise<WithEtag<LxdClusterMember>> {
    validateSegment(name, 'member name');
    return this.api.sync('GET', lxdPath`/1.0/cluster/members/${name}`, ClusterMemberSchema, { ...opts, noProject: true });
  }

  /** PUT /1.0/cluster/members/{name}: replaces the writable fields (GET first: `clusterMemberWritable()`, and pass the ETag). */
  async update(name: string, body: ClusterMemberPut, opts: EtagOptions = {}): Promise<void> {
    validateSegment(name, 'member name');
    const b = validateBody(ClusterMemberPutSchema, body, 'cluster member');
    await this.api.call('PUT', lxdPath`/1.0/cluster/members/${name}`, { ...opts, noProject: true, body: b });
  }

  /**
   * Merges the given fields into the member: a GET, then a PUT of the merged fields with that ETag (a
   * concurrent change makes it fail with `LXD_ERR_ETAG_MISMATCH`). LXD 5.0's own PATCH drops the roles
   * that are left out, so it is not used.
   */
  async patch(name: string, body: ClusterMemberPut, opts: CallOptions = {}): Promise<void> {
    const b = validateBody(ClusterMemberPutSchema, body, 'cluster member');
    const { value, etag } = await this.get(name, opts);
    await this.update(name, { ...clusterMemberWritable(value), ...b }, { ...opts, etag });
  }

  /** POST /1.0/cluster/members/{name} {server_name}. */
  async rename(name: string, newName: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(name, 'member name');
    validateSegment(newName, 'new member name');
    await this.api.call('POST', lxdPath`/1.0/cluster/members/${name}`, { ...opts, noProject: true, body: { server_name: newName } });
  }

  /** DELETE /1.0/cluster/members/{name}: the member leaves the cluster (`force` for a member that is gone for good). */
  async delete(name: string, opts: CallOptions & { force?: boolean } = {}): Promise<void> {
    validateSegment(name, 'member name');
    const { force, ...rest } = opts;
    await this.api.call('DELETE', lxdPath`/1.0/cluster/members/${name}`, { ...rest, noProject: true, query: { force: force ? 1 : undefined } });
  }

  /** GET /1.0/cluster/members/{name}/state: load, memory, storage (extension `cluster_member_state`, not in LXD 5.0). */
  async state(name: string, opts: CallOptions = {}): Promise<LxdClusterMemberState> {
    validateSegment(name, 'member name');
    await this.server.requireExtension('cluster_member_state', 'cluster member state', opts);
    return (await this.api.sync('GET', lxdPath`/1.0/cluster/members/${name}/state`, ClusterMemberStateSchema, { ...opts, noProject: true })).value;
  }

  /** Moves the member's instances away and marks it `Evacuated` (an operation; extension `clustering_evacuation`). */
  evacuate(name: string, opts: CallOptions = {}): Promise<Operation> {
    return this.#setState(name, 'evacuate', opts);
  }

  /** Brings an evacuated member back (`Online`) and its instances home (an operation). */
  restore(name: string, opts: CallOptions = {}): Promise<Operation> {
    return this.#setState(name, 'restore', opts);
  }

  async #setState(name: string, action: 'evacuate' | 'restore', opts: CallOptions): Promise<Operation> {
    validateSegment(name, 'member name');
    await this.server.requireExtension('clustering_evacuation', `cluster member ${action}`, opts);
    return this.api.operation('POST', lxdPath`/1.0/cluster/members/${name}/state`, { ...opts, noProject: true, body: { action } });
  }
}

/** `/1.0/cluster/groups`, declared (extension `clustering_groups`; server-wide). */
export const CLUSTER_GROUPS: CollectionDecl<LxdClusterGroup, ClusterGroupsPost, ClusterGroupPut> = {
  name: 'client.cluster.groups',
  path: '/1.0/cluster/groups',
  itemPath: '/1.0/cluster/groups/{name}',
  what: 'cluster group',
  schema: ClusterGroupSchema,
  post: ClusterGroupsPostSchema,
  put: ClusterGroupPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  project: false,
  extension: 'clustering_groups',
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** `/1.0/cluster/groups` (extension `clustering_groups`): the plain verbs of a declared collection. */
export class ClusterGroupsResource extends RenamableCollection<LxdClusterGroup, ClusterGroupsPost, ClusterGroupPut> {
  constructor(api: Api) {
    super(api, CLUSTER_GROUPS);
  }
}

/** Join tokens: `POST /1.0/cluster/members` makes one (a `token` operation that lives until used or revoked). */
export class ClusterJoinTokensResource {
  constructor(
    private readonly api: Api,
    private readonly server: ServerResource,
  ) {}

  /** A token for a new member named `serverName` (extension `clustering_join_token`). */
  async create(serverName: string, opts: CallOptions = {}): Promise<ClusterJoinToken> {
    validateSegment(serverName, 'member name');
    await this.server.requireExtension('clustering_join_token', 'cluster join tokens', opts);
    // The token's operation runs until the token is used or revoked: it is read, never waited on.
    const { value: op } = await this.api.sync('POST', '/1.0/cluster/members', OperationSchema, { ...opts, noProject: true, body: { server_name: serverName } });
    const token = joinToken(op);
    if (!token) throw new LxdNotFoundError({ status: 200, errorCode: 0, method: 'POST', path: '/1.0/cluster/members', lxdMessage: `LXD answered without a join token for "${serverName}"` });
    return token;
  }

  /** The join tokens not used yet. */
  async list(opts: CallOptions = {}): Promise<ClusterJoinToken[]> {
    await this.server.requireExtension('clustering_join_token', 'cluster join tokens', opts);
    const r = await this.api.sync('GET', '/1.0/operations', OperationListSchema, { ...opts, noProject: true, query: { recursion: 1 } });
    return Object.values(r.value)
      .flatMap((ops) => ops ?? [])
      .map(joinToken)
      .filter((t): t is ClusterJoinToken => t !== undefined);
  }

  /** Revokes the token(s) for `serverName`; `LxdNotFoundError` when there is none. */
  async revoke(serverName: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(serverName, 'member name');
    const mine = (await this.list(opts)).filter((t) => t.serverName === serverName);
    if (mine.length === 0) throw new LxdNotFoundError({ status: 404, errorCode: 404, method: 'DELETE', path: '/1.0/operations', lxdMessage: `no join token for "${serverName}"` });
    for (const t of mine) await this.api.call('DELETE', lxdPath`/1.0/operations/${t.operationId}`, { ...opts, noProject: true });
  }
}

/** `client.cluster`: the cluster (`get`, `update`), `members`, `groups` and `joinTokens`. */
export class ClusterResource {
  readonly members: ClusterMembersResource;
  readonly groups: ClusterGroupsResource;
  readonly joinTokens: ClusterJoinTokensResource;

  constructor(
    private readonly api: Api,
    server: ServerResource,
  ) {
    this.members = new ClusterMembersResource(api, server);
    this.groups = new ClusterGroupsResource(api);
    this.joinTokens = new ClusterJoinTokensResource(api, server);
  }

  /** GET /1.0/cluster with its ETag (`enabled` false on a server that is not clustered). */
  get(opts: CallOptions = {}): Promise<WithEtag<LxdCluster>> {
    return this.api.sync('GET', '/1.0/cluster', ClusterSchema, { ...opts, noProject: true });
  }

  /**
   * PUT /1.0/cluster: enable clustering, join with a token, or leave (an operation). A join token is
   * given as `cluster_token` and sent as the server reads it: `cluster_token` on Incus and on LXD with
   * the `explicit_trust_token` extension, `cluster_password` on older LXD (5.0 reads the token there
   * and ignores a `cluster_token` field).
   */
  update(body: ClusterPut, opts: EtagOptions = {}): Promise<Operation> {
    const b = validateBody(ClusterPutSchema, body, 'cluster');
    return this.#put(b, opts);
  }

  /**
   * PUT /1.0/cluster/certificate: replaces the certificate and key every member of the cluster serves
   * (extension `clustering_update_cert`). Both are PEM, checked (and the key matched to the certificate)
   * before any request. The key is a secret: it is never logged.
   */
  async updateCertificate(body: ClusterCertificatePut, opts: EtagOptions = {}): Promise<void> {
    const b = validateBody(ClusterCertificatePutSchema, body, 'cluster certificate');
    checkCertificateAndKey(b.cluster_certificate, b.cluster_certificate_key);
    await requireExtension(this.api, 'clustering_update_cert', 'client.cluster.updateCertificate', opts);
    await this.api.call('PUT', '/1.0/cluster/certificate', { ...opts, noProject: true, body: b });
  }

  async #put(b: ClusterPut, opts: EtagOptions): Promise<Operation> {
    let wire: ClusterPut = b;
    if (b.cluster_token !== undefined && (await this.api.ctx.serverKind(opts)) === 'lxd' && !(await this.api.ctx.hasExtension('explicit_trust_token', opts))) {
      const { cluster_token: token, ...rest } = b;
      if (rest.cluster_password !== undefined && rest.cluster_password !== token) throw new LxdValidationError('cluster.cluster_password', 'give the join token as cluster_token only: this server reads it from cluster_password');
      wire = { ...rest, cluster_password: token };
    }
    return this.api.operation('PUT', '/1.0/cluster', { ...opts, noProject: true, body: wire });
  }
}
