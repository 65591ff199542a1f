import {
  NetworkPutSchema,
  NetworkSchema,
  NetworksPostSchema,
  StoragePoolPutSchema,
  StoragePoolSchema,
  StoragePoolsPostSchema,
  type LxdNetwork,
  type NetworkPut,
  type NetworksPost,
  type LxdStoragePool,
  type StoragePoolPut,
  type StoragePoolsPost,
} from '../schemas.js';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { lxdPath, segment } from '../path.js';
import { validateNetworkName, validatePoolName } from '../validate.js';
import { Collection, RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { requireExtension, type Api, type CallOptions, type TargetOptions } from './base.js';

/** Used and total, in bytes or inodes (`used` is left out by the server when it is 0). */
const Usage = lazySchema(() => z.looseObject({ used: z.number().nonnegative().default(0), total: z.number().nonnegative().default(0) }));

/** `GET /1.0/storage-pools/{name}/resources`: the space and inodes of the pool's storage. */
export const StoragePoolResourcesSchema = lazySchema(() => z.looseObject({
  space: Usage.default({ used: 0, total: 0 }),
  /** Absent where the driver cannot tell. */
  inodes: Usage.optional(),
}));
/** A storage pool's space and inodes (loose: unknown fields kept). */
export type LxdStoragePoolResources = Closed<z.infer<typeof StoragePoolResourcesSchema>>;

/** `/1.0/networks`, declared. */
export const NETWORKS: CollectionDecl<LxdNetwork, NetworksPost, NetworkPut> = {
  name: 'client.networks',
  path: '/1.0/networks',
  itemPath: '/1.0/networks/{name}',
  what: 'network',
  schema: NetworkSchema,
  post: NetworksPostSchema,
  put: NetworkPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  validateName: validateNetworkName,
  project: true,
  target: ['get', 'create', 'update', 'patch'],
  extension: undefined,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** `/1.0/storage-pools`, declared. */
export const STORAGE_POOLS: CollectionDecl<LxdStoragePool, StoragePoolsPost, StoragePoolPut> = {
  name: 'client.storagePools',
  path: '/1.0/storage-pools',
  itemPath: '/1.0/storage-pools/{poolName}',
  what: 'storage pool',
  schema: StoragePoolSchema,
  post: StoragePoolsPostSchema,
  put: StoragePoolPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  validateName: validatePoolName,
  project: true,
  target: ['get', 'create', 'update', 'patch'],
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

const nullishArray = <T extends z.ZodType>(item: T) => z.array(item).nullish().transform((v) => v ?? []);

/** `GET /1.0/networks/{name}/state`: the interface as the kernel sees it (a bridge, a bond, a VLAN, OVN). */
export const NetworkStateSchema = lazySchema(() => z.looseObject({
  addresses: nullishArray(z.looseObject({ family: z.string(), address: z.string(), netmask: z.string(), scope: z.string() })),
  counters: z.looseObject({ bytes_received: z.number(), bytes_sent: z.number(), packets_received: z.number(), packets_sent: z.number() }).nullish(),
  hwaddr: z.string().default(''),
  mtu: z.number(),
  /** `up` or `down`. */
  state: z.string(),
  /** `broadcast`, `loopback`, `point-to-point`, … */
  type: z.string(),
  bond: z.looseObject({}).nullish(),
  bridge: z.looseObject({ id: z.string().optional(), stp: z.boolean().optional(), upper_devices: nullishArray(z.string()) }).nullish(),
  vlan: z.looseObject({}).nullish(),
  ovn: z.looseObject({}).nullish(),
}));
/** A network interface's state on the host (loose: unknown fields kept). */
export type LxdNetworkState = Closed<z.infer<typeof NetworkStateSchema>>;

/** One DHCP lease (or static allocation) of a managed network. */
export const NetworkLeaseSchema = lazySchema(() => z.looseObject({
  hostname: z.string().default(''),
  hwaddr: z.string().default(''),
  address: z.string(),
  /** `static`, `dynamic`, `gateway`, `uplink`. */
  type: z.string(),
  /** The cluster member that holds it. */
  location: z.string().optional(),
}));
/** A DHCP lease or static allocation of a managed network (loose: unknown fields kept). */
export type LxdNetworkLease = Closed<z.infer<typeof NetworkLeaseSchema>>;

const NetworkLeasesSchema = lazySchema(() => nullishArray(NetworkLeaseSchema));

/** The extensions of `networks.state` and `networks.leases`. */
export const NETWORK_STATE_EXTENSION = 'network_state';
export const NETWORK_LEASES_EXTENSION = 'network_leases';

/**
 * `/1.0/networks` (sync on LXD 5.0.2, operations on LXD ≥ 6.8; both handled). In a cluster, `target`
 * on get, create, update and patch is a member's own part (a member-specific key, a pending create);
 * on `state` and `leases`, the member whose view to read.
 */
export class NetworksResource extends RenamableCollection<LxdNetwork, NetworksPost, NetworkPut> {
  constructor(api: Api) {
    super(api, NETWORKS);
  }

  /** GET /1.0/networks/{name}/state (extension `network_state`): addresses, counters, MTU, state. Works for unmanaged interfaces too. */
  async state(name: string, opts: TargetOptions = {}): Promise<LxdNetworkState> {
    const path = lxdPath`/1.0/networks/${validateNetworkName(name)}/state`;
    await requireExtension(this.core.api, NETWORK_STATE_EXTENSION, 'client.networks.state', opts);
    return (await this.core.api.sync('GET', path, NetworkStateSchema, opts)).value;
  }

  /** GET /1.0/networks/{name}/leases (extension `network_leases`): the DHCP leases of a managed network (empty without DHCP). */
  async leases(name: string, opts: TargetOptions = {}): Promise<LxdNetworkLease[]> {
    const path = lxdPath`/1.0/networks/${validateNetworkName(name)}/leases`;
    await requireExtension(this.core.api, NETWORK_LEASES_EXTENSION, 'client.networks.leases', opts);
    return (await this.core.api.sync('GET', path, NetworkLeasesSchema, opts)).value;
  }
}

/** One address in use, by whom (`GET /1.0/network-allocations`). */
export const NetworkAllocationSchema = lazySchema(() => z.looseObject({
  /** The address or subnet in CIDR form (the server calls the field `addresses`). */
  addresses: z.string(),
  hwaddr: z.string().default(''),
  nat: z.boolean().default(false),
  /** `network`, `network-forward`, `network-load-balancer`, `instance`, … */
  type: z.string(),
  /** The URL of what uses it. */
  used_by: z.string(),
}));
/** An address in use and what uses it (loose: unknown fields kept). */
export type LxdNetworkAllocation = Closed<z.infer<typeof NetworkAllocationSchema>>;

const NetworkAllocationsSchema = lazySchema(() => nullishArray(NetworkAllocationSchema));

export const NETWORK_ALLOCATIONS_EXTENSION = 'network_allocations';

/** `client.networkAllocations` (extension `network_allocations`; Incus 6.0 has it, LXD 5.0.2 does not). */
export class NetworkAllocationsResource {
  constructor(private readonly api: Api) {}

  /** The addresses in use in the client's project, or in every project (`allProjects`). */
  async list(opts: CallOptions & { allProjects?: boolean } = {}): Promise<LxdNetworkAllocation[]> {
    const { allProjects, ...rest } = opts;
    await requireExtension(this.api, NETWORK_ALLOCATIONS_EXTENSION, 'client.networkAllocations.list', rest);
    return (await this.api.sync('GET', '/1.0/network-allocations', NetworkAllocationsSchema, { ...rest, query: allProjects ? { 'all-projects': 'true' } : undefined })).value;
  }
}

/**
 * `/1.0/storage-pools` (sync on LXD 5.0.2, operations on LXD ≥ 6.8; both handled). In a cluster,
 * `target` on get, create, update and patch is a member's own part (e.g. its `source`).
 */
export class StoragePoolsResource extends Collection<LxdStoragePool, StoragePoolsPost, StoragePoolPut> {
  constructor(private readonly api: Api) {
    super(api, STORAGE_POOLS);
  }

  /**
   * GET …/resources: the space and inodes used and available on the pool's storage (`lxc storage
   * info`); in a cluster, `target` names the member whose local pool is meant.
   */
  async resources(name: string, opts: TargetOptions = {}): Promise<LxdStoragePoolResources> {
    validatePoolName(name);
    await requireExtension(this.api, 'resources', 'storage pool resources', opts);
    return (await this.api.sync('GET', `/1.0/storage-pools/${segment(name)}/resources`, StoragePoolResourcesSchema, { ...opts, noProject: true })).value;
  }
}
