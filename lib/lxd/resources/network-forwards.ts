/**
 * `/1.0/networks/{network}/forwards` (address forwards) and `/1.0/networks/{network}/load-balancers`
 * (Incus: load balancers), declared as plain collections under a network, each member named by its
 * listen address. Both need a network with addresses (a forward listens on an address of the network
 * or of its uplink); the load balancer adds its backends' health (`state`).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { LxdValidationError } from '../errors.js';
import { NestedCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH, INCUS_ONLY } from '../routes/route.js';
import { requireExtension, type Api, type CallOptions } from './base.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

/** A listen address: an IPv4 or IPv6 address (`192.0.2.10`, `2001:db8::10`), as forwards and load balancers are named. */
export function validateListenAddress(value: unknown, field = 'listen address'): string {
  if (typeof value !== 'string' || value.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (isIP(value) === 0) throw new LxdValidationError(field, `"${value}" is not an IP address: a forward or a load balancer is named by the address it listens on (e.g. 192.0.2.10 or 2001:db8::10)`);
  return value;
}

const Protocol = lazySchema(() => z.enum(['tcp', 'udp']));
const IpAddress = lazySchema(() => z.string().refine((v) => isIP(v) !== 0, { error: 'must be an IP address' }));

// ---- forwards

export const NetworkForwardPortSchema = lazySchema(() => z.looseObject({
  description: z.string().default(''),
  protocol: z.string(),
  listen_port: z.string(),
  target_port: z.string().default(''),
  target_address: z.string(),
  /** Incus only. */
  snat: z.boolean().optional(),
}));

/**
 * Loose schema of a network forward (`GET /1.0/networks/{network}/forwards/{listenAddress}`): a listen address and its forwarded ports.
 */
export const NetworkForwardSchema = lazySchema(() => z.looseObject({
  listen_address: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  ports: z.array(NetworkForwardPortSchema).nullish().transform((v) => v ?? []),
  /** The cluster member of a forward on a bridge (empty elsewhere). */
  location: z.string().default(''),
}));
/** A network forward (loose: unknown fields kept). */
export type LxdNetworkForward = Closed<z.infer<typeof NetworkForwardSchema>>;

/** One forwarded port, as lxdkit sends it (`listen_port` and `target_port`: `80`, `8080-8090`, `80,443`). */
export const NetworkForwardPortInputSchema = lazySchema(() => z.strictObject({
  protocol: Protocol,
  listen_port: z.string().min(1),
  target_address: IpAddress,
  target_port: z.string().optional(),
  description: z.string().optional(),
  /** Incus only: source-NAT the forwarded traffic. */
  snat: z.boolean().optional(),
}));
/** One forwarded port, as lxdkit sends it (strict). */
export type NetworkForwardPort = Closed<z.infer<typeof NetworkForwardPortInputSchema>>;

/** Strict schema of the body of `PUT`/`PATCH …/forwards/{listenAddress}`: description, config, ports. */
export const NetworkForwardPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  /** `target_address`: where traffic to ports without a rule goes. */
  config: ConfigMap.optional(),
  ports: z.array(NetworkForwardPortInputSchema).optional(),
}));
/** The body of `PUT`/`PATCH …/forwards/{listenAddress}` (strict: what lxdkit sends). */
export type NetworkForwardPut = Closed<z.infer<typeof NetworkForwardPutSchema>>;

/**
 * Strict schema of the body of `POST /1.0/networks/{network}/forwards`: the PUT fields and the listen address (an IP address).
 */
export const NetworkForwardsPostSchema = lazySchema(() => NetworkForwardPutSchema.extend({ listen_address: IpAddress }));
/** The body of `POST /1.0/networks/{network}/forwards` (strict: what lxdkit sends). */
export type NetworkForwardsPost = Closed<z.infer<typeof NetworkForwardsPostSchema>>;

/** `/1.0/networks/{network}/forwards`, declared. */
export const NETWORK_FORWARDS: CollectionDecl<LxdNetworkForward, NetworkForwardsPost, NetworkForwardPut> = {
  name: 'client.networkForwards',
  path: '/1.0/networks/{networkName}/forwards',
  itemPath: '/1.0/networks/{networkName}/forwards/{listenAddress}',
  what: 'network forward',
  parents: ['network name'],
  schema: NetworkForwardSchema,
  post: NetworkForwardsPostSchema,
  put: NetworkForwardPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  nameKey: 'listen_address',
  validateName: validateListenAddress,
  project: true,
  extension: 'network_forward',
  servers: BOTH,
  listVariants: ['?recursion=1'],
  note: 'a forward listens on an address of an addressed network (none on this host): its writes run on a fake server',
};

/**
 * `client.networkForwards` (extension `network_forward`): `list(network)`, `get(network, listenAddress)`,
 * `create(network, { listen_address, ports?, config? })`, `update`, `patch`, `delete`.
 */
export class NetworkForwardsResource extends NestedCollection<LxdNetworkForward, NetworkForwardsPost, NetworkForwardPut> {
  constructor(api: Api) {
    super(api, NETWORK_FORWARDS);
  }
}

// ---- load balancers

/**
 * Loose schema of a network load balancer (`GET /1.0/networks/{network}/load-balancers/{listenAddress}`): its backends and ports.
 */
export const NetworkLoadBalancerSchema = lazySchema(() => z.looseObject({
  listen_address: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  backends: z
    .array(z.looseObject({ name: z.string(), description: z.string().default(''), target_port: z.string().default(''), target_address: z.string() }))
    .nullish()
    .transform((v) => v ?? []),
  ports: z
    .array(z.looseObject({ description: z.string().default(''), protocol: z.string(), listen_port: z.string(), target_backend: z.array(z.string()).nullish().transform((v) => v ?? []) }))
    .nullish()
    .transform((v) => v ?? []),
  location: z.string().default(''),
}));
/** A network load balancer (loose: unknown fields kept). */
export type LxdNetworkLoadBalancer = Closed<z.infer<typeof NetworkLoadBalancerSchema>>;

export const NetworkLoadBalancerBackendInputSchema = lazySchema(() => z.strictObject({
  name: z.string().min(1),
  target_address: IpAddress,
  target_port: z.string().optional(),
  description: z.string().optional(),
}));

export const NetworkLoadBalancerPortInputSchema = lazySchema(() => z.strictObject({
  protocol: Protocol,
  listen_port: z.string().min(1),
  /** The backends (by name) the port's traffic goes to. */
  target_backend: z.array(z.string().min(1)).min(1),
  description: z.string().optional(),
}));

/**
 * Strict schema of the body of `PUT`/`PATCH …/load-balancers/{listenAddress}`: description, config, backends, ports.
 */
export const NetworkLoadBalancerPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
  backends: z.array(NetworkLoadBalancerBackendInputSchema).optional(),
  ports: z.array(NetworkLoadBalancerPortInputSchema).optional(),
}));
/** The body of `PUT`/`PATCH …/load-balancers/{listenAddress}` (strict: what lxdkit sends). */
export type NetworkLoadBalancerPut = Closed<z.infer<typeof NetworkLoadBalancerPutSchema>>;

/**
 * Strict schema of the body of `POST /1.0/networks/{network}/load-balancers`: the PUT fields and the listen address.
 */
export const NetworkLoadBalancersPostSchema = lazySchema(() => NetworkLoadBalancerPutSchema.extend({ listen_address: IpAddress }));
/** The body of `POST /1.0/networks/{network}/load-balancers` (strict: what lxdkit sends). */
export type NetworkLoadBalancersPost = Closed<z.infer<typeof NetworkLoadBalancersPostSchema>>;

/** `GET …/load-balancers/{listenAddress}/state`: each backend's health, by backend name. */
export const NetworkLoadBalancerStateSchema = lazySchema(() => z.looseObject({
  backend_health: z
    .record(
      z.string(),
      z.looseObject({
        address: z.string(),
        ports: z
          .array(z.looseObject({ protocol: z.string(), port: z.number(), status: z.string() }))
          .nullish()
          .transform((v) => v ?? []),
      }),
    )
    .nullish()
    .transform((v) => v ?? {}),
}));
/** Each backend's health, by backend name (loose: unknown fields kept). */
export type LxdNetworkLoadBalancerState = Closed<z.infer<typeof NetworkLoadBalancerStateSchema>>;

/** `/1.0/networks/{network}/load-balancers`, declared. */
export const NETWORK_LOAD_BALANCERS: CollectionDecl<LxdNetworkLoadBalancer, NetworkLoadBalancersPost, NetworkLoadBalancerPut> = {
  name: 'client.networkLoadBalancers',
  path: '/1.0/networks/{networkName}/load-balancers',
  itemPath: '/1.0/networks/{networkName}/load-balancers/{listenAddress}',
  what: 'network load balancer',
  parents: ['network name'],
  schema: NetworkLoadBalancerSchema,
  post: NetworkLoadBalancersPostSchema,
  put: NetworkLoadBalancerPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  nameKey: 'listen_address',
  validateName: validateListenAddress,
  project: true,
  extension: 'network_load_balancer',
  servers: INCUS_ONLY,
  listVariants: ['?recursion=1'],
  note: 'needs an OVN network (none on this host): runs on a fake server',
};

/** The extension of `GET …/load-balancers/{listenAddress}/state`. */
export const NETWORK_LOAD_BALANCER_STATE_EXTENSION = 'network_load_balancer_state';

/**
 * `client.networkLoadBalancers` (Incus, extension `network_load_balancer`; OVN networks): the verbs of
 * `networkForwards`, with `backends` and `ports` naming them, plus `state(network, listenAddress)`.
 */
export class NetworkLoadBalancersResource extends NestedCollection<LxdNetworkLoadBalancer, NetworkLoadBalancersPost, NetworkLoadBalancerPut> {
  constructor(api: Api) {
    super(api, NETWORK_LOAD_BALANCERS);
  }

  /** The health of each backend (`network_load_balancer_state`; OVN health checks must be on). */
  async state(network: string, listenAddress: string, opts: CallOptions = {}): Promise<LxdNetworkLoadBalancerState> {
    const path = `${this.core.item(this.core.collection(network), listenAddress)}/state`;
    await requireExtension(this.core.api, NETWORK_LOAD_BALANCER_STATE_EXTENSION, 'client.networkLoadBalancers.state', opts);
    return (await this.core.api.sync('GET', path, NetworkLoadBalancerStateSchema, opts)).value;
  }
}
