import { lxdPath } from '../path.js';
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
import { validateBody, validateNetworkName, validatePoolName } from '../validate.js';
import { Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';
import type { ListOptions } from './profiles.js';

/**
 * `/1.0/networks` (sync on LXD 5.0.2, operations on LXD ≥ 6.8; both handled). In a cluster, `target`
 * on get, create, update and patch is a member's own part (a member-specific key, a pending create).
 */
export class NetworksResource {
  constructor(private readonly api: Api) {}

  list(opts?: ListOptions & { recursion?: 1 }): Promise<LxdNetwork[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions & { recursion: 0 | 1 }): Promise<LxdNetwork[] | string[]>;
  async list(opts: ListOptions = {}): Promise<LxdNetwork[] | string[]> {
    return this.api.list('/1.0/networks', NetworkSchema, { ...opts });
  }

  async get(name: string, opts: TargetOptions = {}): Promise<WithEtag<LxdNetwork>> {
    validateNetworkName(name);
    return this.api.sync('GET', lxdPath`/1.0/networks/${name}`, NetworkSchema, opts);
  }

  async create(body: NetworksPost, opts: TargetOptions = {}): Promise<void> {
    const b = validateBody(NetworksPostSchema, body, 'network');
    validateNetworkName(b.name);
    await this.api.call('POST', '/1.0/networks', { ...opts, body: b });
  }

  async update(name: string, body: NetworkPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    validateNetworkName(name);
    await this.api.call('PUT', lxdPath`/1.0/networks/${name}`, { ...opts, body: validateBody(NetworkPutSchema, body, 'network') });
  }

  async patch(name: string, body: NetworkPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    validateNetworkName(name);
    await this.api.call('PATCH', lxdPath`/1.0/networks/${name}`, { ...opts, body: validateBody(NetworkPutSchema, body, 'network') });
  }

  async rename(name: string, newName: string, opts: CallOptions = {}): Promise<void> {
    validateNetworkName(name);
    validateNetworkName(newName, 'new network name');
    await this.api.call('POST', lxdPath`/1.0/networks/${name}`, { ...opts, body: { name: newName } });
  }

  async delete(name: string, opts: CallOptions = {}): Promise<void> {
    validateNetworkName(name);
    await this.api.call('DELETE', lxdPath`/1.0/networks/${name}`, opts);
  }
}

/**
 * `/1.0/storage-pools` (sync on LXD 5.0.2, operations on LXD ≥ 6.8; both handled). In a cluster,
 * `target` on get, create, update and patch is a member's own part (e.g. its `source`).
 */
export class StoragePoolsResource {
  constructor(private readonly api: Api) {}

  list(opts?: ListOptions & { recursion?: 1 }): Promise<LxdStoragePool[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions & { recursion: 0 | 1 }): Promise<LxdStoragePool[] | string[]>;
  async list(opts: ListOptions = {}): Promise<LxdStoragePool[] | string[]> {
    return this.api.list('/1.0/storage-pools', StoragePoolSchema, { ...opts });
  }

  async get(name: string, opts: TargetOptions = {}): Promise<WithEtag<LxdStoragePool>> {
    validatePoolName(name);
    return this.api.sync('GET', lxdPath`/1.0/storage-pools/${name}`, StoragePoolSchema, opts);
  }

  async create(body: StoragePoolsPost, opts: TargetOptions = {}): Promise<void> {
    const b = validateBody(StoragePoolsPostSchema, body, 'storage pool');
    validatePoolName(b.name);
    await this.api.call('POST', '/1.0/storage-pools', { ...opts, body: b });
  }

  async update(name: string, body: StoragePoolPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    validatePoolName(name);
    await this.api.call('PUT', lxdPath`/1.0/storage-pools/${name}`, { ...opts, body: validateBody(StoragePoolPutSchema, body, 'storage pool') });
  }

  async patch(name: string, body: StoragePoolPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    validatePoolName(name);
    await this.api.call('PATCH', lxdPath`/1.0/storage-pools/${name}`, { ...opts, body: validateBody(StoragePoolPutSchema, body, 'storage pool') });
  }

  async delete(name: string, opts: CallOptions = {}): Promise<void> {
    validatePoolName(name);
    await this.api.call('DELETE', lxdPath`/1.0/storage-pools/${name}`, opts);
  }
}
