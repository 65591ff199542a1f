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
import { segment } from '../path.js';
import { validateNetworkName, validatePoolName } from '../validate.js';
import { Collection, RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { requireExtension, type Api, type TargetOptions } from './base.js';

/** Used and total, in bytes or inodes (`used` is left out by the server when it is 0). */
const Usage = z.looseObject({ used: z.number().nonnegative().default(0), total: z.number().nonnegative().default(0) });

/** `GET /1.0/storage-pools/{name}/resources`: the space and inodes of the pool's storage. */
export const StoragePoolResourcesSchema = z.looseObject({
  space: Usage.default({ used: 0, total: 0 }),
  /** Absent where the driver cannot tell. */
  inodes: Usage.optional(),
});
export type LxdStoragePoolResources = z.infer<typeof StoragePoolResourcesSchema>;

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

/**
 * `/1.0/networks` (sync on LXD 5.0.2, operations on LXD ≥ 6.8; both handled). In a cluster, `target`
 * on get, create, update and patch is a member's own part (a member-specific key, a pending create).
 */
export class NetworksResource extends RenamableCollection<LxdNetwork, NetworksPost, NetworkPut> {
  constructor(api: Api) {
    super(api, NETWORKS);
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
