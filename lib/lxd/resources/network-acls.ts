/**
 * `/1.0/network-acls`: network ACLs (firewall rules a bridge or an OVN network, or a NIC, applies),
 * declared as a plain collection with rename, plus the ACL log (`GET …/log`, plain text).
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { lxdPath } from '../path.js';
import { RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { readCapped } from './stream-util.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

/** One rule of an ACL, as the server sends it. */
export const NetworkAclRuleSchema = lazySchema(() => z.looseObject({
  action: z.string(),
  state: z.string().default('enabled'),
  source: z.string().optional(),
  destination: z.string().optional(),
  protocol: z.string().optional(),
  source_port: z.string().optional(),
  destination_port: z.string().optional(),
  icmp_type: z.string().optional(),
  icmp_code: z.string().optional(),
  description: z.string().optional(),
}));
/** One rule of a network ACL (loose: unknown fields kept). */
export type LxdNetworkAclRule = Closed<z.infer<typeof NetworkAclRuleSchema>>;

/** Loose schema of a network ACL (`GET /1.0/network-acls/{name}`): its egress and ingress rules. */
export const NetworkAclSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  egress: z.array(NetworkAclRuleSchema).nullish().transform((v) => v ?? []),
  ingress: z.array(NetworkAclRuleSchema).nullish().transform((v) => v ?? []),
  config: NullableStringMap,
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
  /** Incus only. */
  project: z.string().optional(),
}));
/** A network ACL (loose: unknown fields kept). */
export type LxdNetworkAcl = Closed<z.infer<typeof NetworkAclSchema>>;

/** One rule, as lxdkit sends it (`allow-stateless` needs Incus's `network_acl_stateless`). */
export const NetworkAclRuleInputSchema = lazySchema(() => z.strictObject({
  action: z.enum(['allow', 'allow-stateless', 'drop', 'reject']),
  state: z.enum(['enabled', 'disabled', 'logged']),
  source: z.string().optional(),
  destination: z.string().optional(),
  protocol: z.enum(['icmp4', 'icmp6', 'tcp', 'udp', '']).optional(),
  source_port: z.string().optional(),
  destination_port: z.string().optional(),
  icmp_type: z.string().optional(),
  icmp_code: z.string().optional(),
  description: z.string().optional(),
}));
/** One rule of an ACL, as lxdkit sends it (strict). */
export type NetworkAclRule = Closed<z.infer<typeof NetworkAclRuleInputSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/network-acls/{name}`: description, rules, config. */
export const NetworkAclPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  egress: z.array(NetworkAclRuleInputSchema).optional(),
  ingress: z.array(NetworkAclRuleInputSchema).optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/network-acls/{name}` (strict: what lxdkit sends). */
export type NetworkAclPut = Closed<z.infer<typeof NetworkAclPutSchema>>;

/** Strict schema of the body of `POST /1.0/network-acls`: the PUT fields and a name. */
export const NetworkAclsPostSchema = lazySchema(() => NetworkAclPutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/network-acls` (strict: what lxdkit sends). */
export type NetworkAclsPost = Closed<z.infer<typeof NetworkAclsPostSchema>>;

/** `/1.0/network-acls`, declared. */
export const NETWORK_ACLS: CollectionDecl<LxdNetworkAcl, NetworkAclsPost, NetworkAclPut> = {
  name: 'client.networkAcls',
  path: '/1.0/network-acls',
  itemPath: '/1.0/network-acls/{name}',
  what: 'network ACL',
  schema: NetworkAclSchema,
  post: NetworkAclsPostSchema,
  put: NetworkAclPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  project: true,
  extension: 'network_acl',
  // both servers' PATCH merges the config but resets the description and the rules left out
  mergePatch: true,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** The extension of `GET /1.0/network-acls/{name}/log`. */
export const NETWORK_ACL_LOG_EXTENSION = 'network_acl_log';

/**
 * `client.networkAcls` (extension `network_acl`): list, get (with its ETag), create, update (PUT: the
 * rules given replace all of them), patch, rename, delete; and `log(name)`. `patch` merges: the
 * servers' own PATCH empties the rules left out of it, so lxdkit GETs the ACL and PUTs the merged
 * fields with the ETag it read.
 */
export class NetworkAclsResource extends RenamableCollection<LxdNetworkAcl, NetworkAclsPost, NetworkAclPut> {
  constructor(api: Api) {
    super(api, NETWORK_ACLS);
  }

  /**
   * GET /1.0/network-acls/{name}/log: the ACL's log entries (rules with `state: logged`), as text, up
   * to the client's maxResponseBytes. Only OVN networks log: elsewhere the server answers an error
   * ("Only OVN log entries may be retrieved at this time").
   */
  async log(name: string, opts: CallOptions = {}): Promise<string> {
    const path = lxdPath`/1.0/network-acls/${this.core.validateName(name)}/log`;
    await requireExtension(this.core.api, NETWORK_ACL_LOG_EXTENSION, 'client.networkAcls.log', opts);
    const res = await this.core.api.stream('GET', path, opts);
    return (await readCapped(res.body, this.core.api.ctx.transport.maxResponseBytes, 'GET', path)).toString('utf8');
  }
}
