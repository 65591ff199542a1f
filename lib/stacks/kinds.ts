/**
 * The kinds a stack holds, one small adapter each: how to list them (one listing per kind and
 * project, with recursion), compare one with its declaration, create, update (with the ETag it read,
 * reading again on a 412), delete, what cannot change in place, what each one refers to, and how it
 * is written back as a stack. A new kind is an adapter and an entry in `KINDS`.
 */
import { isNotFound, isPreconditionFailed } from '../lxd/errors.js';
import type { LxdClient } from '../lxd/client.js';
import type { ImageAlias, LxdInstance, LxdNetwork, LxdProfile, LxdStoragePool } from '../lxd/schemas.js';
import type { LxdProject } from '../lxd/resources/projects.js';
import type { LxdStorageVolume } from '../lxd/resources/storage-volumes.js';
import { profileChanges, type FieldChange } from '../changes.js';
import { StackError, StackErrorCode } from './errors.js';
import type { LxdNetworkAcl, NetworkAclRule } from '../lxd/resources/network-acls.js';
import type { LxdNetworkZone, LxdNetworkZoneRecord } from '../lxd/resources/network-zones.js';
import type { LxdNetworkForward, NetworkForwardPort } from '../lxd/resources/network-forwards.js';
import type { ImageItem, InstanceItem, NetworkAclItem, NetworkAclRuleItem, NetworkForwardItem, NetworkZoneItem, NetworkZoneRecordItem, NetworkItem, ProfileItem, ProjectItem, StackItems, StackKind, StoragePoolItem, StorageVolumeItem } from './schema.js';

export type { FieldChange } from '../changes.js';

/** The config key that marks what a stack created: its value is the stack's name. */
export const STACK_MARKER = 'user.lxdkit.stack';

/** A resource found on the server. */
export interface Found<C> {
  /** Its identity, as `keyOf` gives it for a declaration: `name`, `project/name`, `project/pool/name`. */
  key: string;
  project: string | undefined;
  value: C;
}

/** What an item refers to: a resource of `kind` with `key`, at `path` in the item. */
export interface Ref {
  kind: StackKind;
  key: string;
  path: string;
  /** Needed only to create the resource (an instance's image): not checked once it exists. */
  createOnly?: boolean;
}

/** What a step of apply is given. */
export interface StepContext {
  /** A client in `project` (shared, closed by apply). */
  client: (project?: string) => LxdClient;
  stack: string;
  signal: AbortSignal | undefined;
  /** Deadline of each operation wait. */
  timeoutMs: number;
}

/** Where the listings look. */
export interface ListScope {
  client: (project?: string) => LxdClient;
  /** The projects (that exist) the kind is listed in. */
  projects: readonly string[];
  /** The storage pools (that exist). */
  pools: readonly string[];
  signal: AbortSignal | undefined;
  /** Told of the listings a kind makes beyond one per project (and pool): records per zone, forwards per network. */
  listed?: (n: number) => void;
}

/** One kind of resource a stack can hold: how it is listed, compared, created, updated with its ETag, removed and exported. */
export interface KindAdapter<K extends StackKind = StackKind, C = unknown> {
  kind: K;
  /** One resource, in messages: `storage volume`. */
  what: string;
  /** Order of apply: lower first (deletes run in the reverse order). */
  tier: number;
  /**
   * The project feature (`features.<feature>`) that gives a project its own resources of this kind;
   * in a project without it they are the `default` project's. `true`: always per project; absent:
   * server-wide.
   */
  feature?: string | true;
  /**
   * A server with this API extension gives the kind a project feature of its own instead of
   * `feature`: network zones follow `features.networks.zones` where the server has
   * `projects_networks_zones`, and `features.networks` where it has not (LXD 5.0).
   */
  featureWith?: { extension: string; feature: string };
  /** The API extension the server needs for this kind at all (absent: every server has it). */
  extension?: string;
  /** The identity of a declaration in its (effective) project. */
  key(item: StackItems[K], project: string): string;
  /** Every resource of the kind in the scope: one listing per project (and pool), with recursion. */
  list(scope: ListScope): Promise<Found<C>[]>;
  /** Field-level differences from the server's resource to the declaration. */
  diff(current: C, item: StackItems[K]): FieldChange[];
  /** Change paths (or their prefixes, ending in `.`) that cannot change in place: the resource is replaced. */
  immutable: readonly string[];
  /**
   * The resource as the server would have it with nothing set: a creation is shown as the changes
   * from it (kinds without it list the declaration's fields).
   */
  blank?: C;
  /** The stack that created it, from its marker. */
  owner(current: C): string | undefined;
  /** What it refers to (profiles, networks, pools, volumes, images; its project is added by the plan). */
  refs(item: StackItems[K], project: string): Ref[];
  /**
   * Why prune must keep it even when the stack created it (in use), if so; `gone(url)` says whether a
   * user of it (as `used_by` lists it) is deleted by the same plan.
   */
  inUse?(current: C, gone: (url: string) => boolean): string | undefined;
  create(ctx: StepContext, item: StackItems[K], project: string): Promise<void>;
  /** Reads it with its ETag, recomputes the changes and writes them with that ETag (read again on a 412). */
  update(ctx: StepContext, item: StackItems[K], project: string): Promise<void>;
  remove(ctx: StepContext, found: Found<C>): Promise<void>;
  /** The declaration that gives this resource as it is (undefined: not written by export). */
  exportItem(found: Found<C>): StackItems[K] | undefined;
}

/** The project of a declaration (server-wide kinds have none). */
export function projectOf(item: unknown): string {
  const p = (item as { project?: unknown }).project;
  return typeof p === 'string' ? p : 'default';
}

/** `map` without the keys `drop` says no to. */
function without(map: Readonly<Record<string, string>>, drop: (k: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) if (!drop(k)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const isMarker = (k: string): boolean => k === STACK_MARKER;
/** Keys the server writes into an instance's config itself. */
const serverInstanceKey = (k: string): boolean => k === STACK_MARKER || k.startsWith('volatile.') || k.startsWith('image.');

/**
 * Changes of the keys a declaration gives (pools, networks, projects and volumes get keys from the
 * server that the declaration does not mention: those are left alone).
 */
function declaredChanges(current: { description: string; config: Record<string, string> }, item: { description: string; config: Record<string, string> }): FieldChange[] {
  const out: FieldChange[] = [];
  if (current.description !== item.description) out.push({ path: 'description', from: current.description, to: item.description });
  for (const k of Object.keys(item.config).sort()) {
    const from = Object.hasOwn(current.config, k) ? current.config[k] : undefined;
    if (from !== item.config[k]) out.push(from === undefined ? { path: `config.${k}`, to: item.config[k]! } : { path: `config.${k}`, from, to: item.config[k]! });
  }
  return out;
}

/** The marker, added to a new resource's config. */
function marked(config: Record<string, string>, stack: string): Record<string, string> {
  return { ...config, [STACK_MARKER]: stack };
}

/**
 * Reads a resource with its ETag, and writes it when the declaration differs, with that ETag; a 412
 * (someone changed it in between) reads it again and recomputes, up to three times.
 */
async function updateWithEtag<C>(what: string, key: string, read: () => Promise<{ value: C; etag: string | undefined }>, differs: (c: C) => boolean, write: (c: C, etag: string | undefined) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { value, etag } = await read();
    if (!differs(value)) return;
    try {
      await write(value, etag);
      return;
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      if (attempt >= 3) throw new StackError(StackErrorCode.CONFLICT, `${what} "${key}" was changed by someone else three times while it was being updated; nothing was overwritten, run apply again`, { cause: err });
    }
  }
}

/** A config (without its marker) for export, without the keys the server keeps for itself. */
function exportedConfig(config: Record<string, string>): Record<string, string> {
  return without(config, (k) => k.startsWith('volatile.'));
}

/** References made by devices: disks on pools and volumes, NICs on managed networks. */
function deviceRefs(devices: Record<string, Record<string, string>>, project: string, at: string): Ref[] {
  const refs: Ref[] = [];
  for (const [name, d] of Object.entries(devices)) {
    const pool = d['pool'];
    if (d['type'] === 'disk' && pool !== undefined) {
      refs.push({ kind: 'storage_pools', key: pool, path: `${at}.${name}.pool` });
      const source = d['source'];
      if (source !== undefined && !source.includes('/')) refs.push({ kind: 'storage_volumes', key: `${project}/${pool}/${source}`, path: `${at}.${name}.source` });
    }
    const network = d['network'];
    if (d['type'] === 'nic' && network !== undefined) refs.push({ kind: 'networks', key: `${project}/${network}`, path: `${at}.${name}.network` });
    if (d['type'] === 'nic') for (const acl of names(d['security.acls'])) refs.push({ kind: 'network_acls', key: `${project}/${acl}`, path: `${at}.${name}.security.acls` });
  }
  return refs;
}

function describeUse(all: readonly string[], gone: (url: string) => boolean): string | undefined {
  const usedBy = all.filter((u) => !gone(u));
  if (usedBy.length === 0) return undefined;
  return `in use by ${usedBy.length} (${usedBy.slice(0, 3).join(', ')}${usedBy.length > 3 ? ', …' : ''})`;
}

async function perProject<C>(scope: ListScope, list: (client: LxdClient, project: string) => Promise<C[]>, key: (c: C, project: string) => string): Promise<Found<C>[]> {
  const lists = await Promise.all(scope.projects.map(async (p) => (await list(scope.client(p), p)).map((value) => ({ key: key(value, p), project: p, value }))));
  return lists.flat();
}

/** Config keys of a pool that belong to one member of a cluster: sent with `target`, left out of the global create. */
export const MEMBER_POOL_KEYS: readonly string[] = ['source', 'size', 'zfs.pool_name', 'lvm.thinpool_name', 'lvm.vg_name'];
/** Likewise for a network. */
export const MEMBER_NETWORK_KEYS: readonly string[] = ['bridge.external_interfaces', 'parent', 'bgp.ipv4.nexthop', 'bgp.ipv6.nexthop'];

/** The members of the cluster the server is in (undefined: not clustered). */
async function clusterMembers(ctx: StepContext): Promise<string[] | undefined> {
  const client = ctx.client();
  if ((await client.server.info({ signal: ctx.signal })).environment?.server_clustered !== true) return undefined;
  return (await client.cluster.members.list({ signal: ctx.signal })).map((m) => m.server_name);
}

/** The members a pool or a network is already defined on (`locations`; none when it is not there). */
async function definedOn(read: () => Promise<{ value: unknown }>): Promise<string[]> {
  try {
    const locations = ((await read()).value as { locations?: unknown }).locations;
    return Array.isArray(locations) ? locations.filter((l): l is string => typeof l === 'string') : [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/**
 * Creates a pool or a network the way LXD requires on a cluster: pending on each member (with
 * `target`, and the member's own keys), then the global create (with every other key). The members
 * where it is already pending (an earlier apply stopped half-way: `locations`) are passed over. On a
 * single server: one create with every key.
 */
async function createClustered(
  ctx: StepContext,
  config: Record<string, string>,
  memberKeys: readonly string[],
  read: () => Promise<{ value: unknown }>,
  create: (config: Record<string, string>, target: string | undefined) => Promise<unknown>,
): Promise<void> {
  const members = await clusterMembers(ctx);
  if (members === undefined) {
    await create(config, undefined);
    return;
  }
  const own = (k: string): boolean => memberKeys.includes(k);
  const done = new Set(await definedOn(read));
  for (const member of members) if (!done.has(member)) await create(without(config, (k) => !own(k)), member);
  await create(without(config, own), undefined);
}

// ------------------------------------------------------------------ projects

const projects: KindAdapter<'projects', LxdProject> = {
  kind: 'projects',
  what: 'project',
  tier: 0,
  key: (i) => i.name,
  list: async (s) => (await s.client().projects.list({ signal: s.signal })).map((value) => ({ key: value.name, project: undefined, value })),
  diff: (c, i) => declaredChanges(c, i),
  immutable: [],
  owner: (c) => c.config[STACK_MARKER],
  refs: () => [],
  create: (ctx, i) => ctx.client().projects.create({ name: i.name, description: i.description, config: marked(i.config, ctx.stack) }, { signal: ctx.signal }),
  update: (ctx, i) =>
    updateWithEtag('project', i.name, () => ctx.client().projects.get(i.name, { signal: ctx.signal }), (c) => declaredChanges(c, i).length > 0, (c, etag) =>
      ctx.client().projects.update(i.name, { description: i.description, config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag })),
  remove: (ctx, f) => ctx.client().projects.delete(f.value.name, { signal: ctx.signal }),
  exportItem: (f): ProjectItem => ({ name: f.value.name, description: f.value.description, config: exportedConfig(f.value.config) }),
};

// ------------------------------------------------------------------ storage pools

const storagePools: KindAdapter<'storage_pools', LxdStoragePool> = {
  kind: 'storage_pools',
  what: 'storage pool',
  tier: 1,
  key: (i) => i.name,
  list: async (s) => (await s.client().storagePools.list({ signal: s.signal })).map((value) => ({ key: value.name, project: undefined, value })),
  diff: (c, i) => {
    const out = declaredChanges(c, i);
    if (c.driver !== i.driver) out.unshift({ path: 'driver', from: c.driver, to: i.driver });
    return out;
  },
  immutable: ['driver'],
  owner: (c) => c.config[STACK_MARKER],
  refs: () => [],
  inUse: (c, gone) => describeUse(c.used_by, gone),
  create: (ctx, i) =>
    createClustered(ctx, marked(i.config, ctx.stack), MEMBER_POOL_KEYS, () => ctx.client().storagePools.get(i.name, { signal: ctx.signal }), (config, target) =>
      ctx.client().storagePools.create(target === undefined ? { name: i.name, driver: i.driver, description: i.description, config } : { name: i.name, driver: i.driver, config }, { signal: ctx.signal, target })),
  update: (ctx, i) =>
    updateWithEtag('storage pool', i.name, () => ctx.client().storagePools.get(i.name, { signal: ctx.signal }), (c) => declaredChanges(c, i).length > 0, async (c, etag) => {
      await ctx.client().storagePools.update(i.name, { description: i.description, config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag });
    }),
  remove: (ctx, f) => ctx.client().storagePools.delete(f.value.name, { signal: ctx.signal }).then(() => undefined),
  exportItem: (f): StoragePoolItem => ({ name: f.value.name, driver: f.value.driver, description: f.value.description, config: exportedConfig(f.value.config) }),
};

// ------------------------------------------------------------------ networks

const networks: KindAdapter<'networks', LxdNetwork> = {
  kind: 'networks',
  what: 'network',
  tier: 2,
  feature: 'networks',
  key: (i, p) => `${p}/${i.name}`,
  list: (s) => perProject(s, async (c) => (await c.networks.list({ signal: s.signal })).filter((n) => n.managed), (n, p) => `${p}/${n.name}`),
  diff: (c, i) => {
    const out = declaredChanges(c, i);
    if (c.type !== i.type) out.unshift({ path: 'type', from: c.type, to: i.type });
    return out;
  },
  immutable: ['type'],
  owner: (c) => c.config[STACK_MARKER],
  // an OVN network's uplink
  refs: (i, p) => [
    ...(i.config['network'] !== undefined ? [{ kind: 'networks' as const, key: `default/${i.config['network']}`, path: 'config.network' }] : []),
    ...names(i.config['security.acls']).map((acl): Ref => ({ kind: 'network_acls', key: `${p}/${acl}`, path: 'config.security.acls' })),
    ...['dns.zone.forward', 'dns.zone.reverse.ipv4', 'dns.zone.reverse.ipv6'].flatMap((k) => names(i.config[k]).map((zone): Ref => ({ kind: 'network_zones', key: `${p}/${zone}`, path: `config.${k}` }))),
  ],
  inUse: (c, gone) => describeUse(c.used_by, gone),
  create: (ctx, i, p) =>
    createClustered(ctx, marked(i.config, ctx.stack), MEMBER_NETWORK_KEYS, () => ctx.client(p).networks.get(i.name, { signal: ctx.signal }), (config, target) =>
      ctx.client(p).networks.create(target === undefined ? { name: i.name, type: i.type, description: i.description, config } : { name: i.name, type: i.type, config }, { signal: ctx.signal, target })),
  update: (ctx, i, p) =>
    updateWithEtag('network', i.name, () => ctx.client(p).networks.get(i.name, { signal: ctx.signal }), (c) => declaredChanges(c, i).length > 0, async (c, etag) => {
      await ctx.client(p).networks.update(i.name, { description: i.description, config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag });
    }),
  remove: (ctx, f) => ctx.client(f.project).networks.delete(f.value.name, { signal: ctx.signal }).then(() => undefined),
  exportItem: (f): NetworkItem => ({ name: f.value.name, type: f.value.type, description: f.value.description, config: exportedConfig(f.value.config), project: f.project ?? 'default' }),
};

// ------------------------------------------------------------------ storage volumes

const volumeParts = (c: Pick<StorageVolumeItem, 'description' | 'config'>) => ({ description: c.description, config: c.config });

const storageVolumes: KindAdapter<'storage_volumes', LxdStorageVolume & { pool: string }> = {
  kind: 'storage_volumes',
  what: 'storage volume',
  tier: 3,
  feature: 'storage.volumes',
  key: (i, p) => `${p}/${i.pool}/${i.name}`,
  list: async (s) => {
    const lists = await Promise.all(
      s.projects.flatMap((p) =>
        s.pools.map(async (pool) => (await s.client(p).storageVolumes.list(pool, { type: 'custom', signal: s.signal })).map((v) => ({ key: `${p}/${pool}/${v.name}`, project: p, value: { ...v, pool } }))),
      ),
    );
    return lists.flat();
  },
  diff: (c, i) => {
    const out = declaredChanges(volumeParts(c), i);
    if (c.content_type !== i.content_type) out.unshift({ path: 'content_type', from: c.content_type, to: i.content_type });
    return out;
  },
  immutable: ['content_type'],
  owner: (c) => c.config[STACK_MARKER],
  refs: (i) => [{ kind: 'storage_pools', key: i.pool, path: 'pool' }],
  inUse: (c, gone) => describeUse(c.used_by, gone),
  create: async (ctx, i, p) => {
    const op = await ctx.client(p).storageVolumes.create(i.pool, { name: i.name, type: 'custom', content_type: i.content_type, description: i.description, config: marked(i.config, ctx.stack) }, { signal: ctx.signal, target: i.target });
    await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  },
  update: (ctx, i, p) => {
    const vols = ctx.client(p).storageVolumes;
    return updateWithEtag('storage volume', `${i.pool}/${i.name}`, () => vols.get(i.pool, i.name, { signal: ctx.signal }), (c) => declaredChanges(volumeParts(c), i).length > 0, async (c, etag) => {
      const op = await vols.update(i.pool, i.name, { description: i.description, config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag });
      await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    });
  },
  remove: async (ctx, f) => {
    const op = await ctx.client(f.project).storageVolumes.delete(f.value.pool, f.value.name, { signal: ctx.signal });
    await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  },
  exportItem: (f): StorageVolumeItem => ({
    pool: f.value.pool,
    name: f.value.name,
    type: 'custom',
    content_type: f.value.content_type === 'block' ? 'block' : 'filesystem',
    description: f.value.description,
    config: exportedConfig(f.value.config),
    project: f.project ?? 'default',
  }),
};

// ------------------------------------------------------------------ profiles

const profilePart = (c: Pick<LxdProfile, 'description' | 'config' | 'devices'>) => ({ description: c.description, config: without(c.config, isMarker), devices: c.devices });

const profiles: KindAdapter<'profiles', LxdProfile> = {
  kind: 'profiles',
  what: 'profile',
  tier: 4,
  feature: 'profiles',
  key: (i, p) => `${p}/${i.name}`,
  list: (s) => perProject(s, (c) => c.profiles.list({ signal: s.signal }), (v, p) => `${p}/${v.name}`),
  // the same comparison as `lxdkit profile diff`, with the marker left out
  diff: (c, i) => profileChanges(profilePart(c), profilePart(i)),
  immutable: [],
  owner: (c) => c.config[STACK_MARKER],
  refs: (i, p) => deviceRefs(i.devices, p, 'devices'),
  inUse: (c, gone) => (c.name === 'default' ? 'every project has its "default" profile' : describeUse(c.used_by, gone)),
  create: (ctx, i, p) => ctx.client(p).profiles.create({ name: i.name, description: i.description, config: marked(i.config, ctx.stack), devices: i.devices }, { signal: ctx.signal }).then(() => undefined),
  update: (ctx, i, p) =>
    updateWithEtag('profile', i.name, () => ctx.client(p).profiles.get(i.name, { signal: ctx.signal }), (c) => profileChanges(profilePart(c), profilePart(i)).length > 0, async (c, etag) => {
      const config = c.config[STACK_MARKER] !== undefined ? { ...i.config, [STACK_MARKER]: c.config[STACK_MARKER] } : i.config;
      await ctx.client(p).profiles.update(i.name, { description: i.description, config, devices: i.devices }, { signal: ctx.signal, etag });
    }),
  remove: (ctx, f) => ctx.client(f.project).profiles.delete(f.value.name, { signal: ctx.signal }).then(() => undefined),
  exportItem: (f): ProfileItem => ({ name: f.value.name, description: f.value.description, config: f.value.config, devices: f.value.devices, project: f.project ?? 'default' }),
};

// ------------------------------------------------------------------ images

/** The marker of an image alias, which has no config: written into its description. */
export const ALIAS_MARKER = /\(lxdkit\.stack=([A-Za-z0-9._-]+)\)$/;

function aliasDescription(i: ImageItem, stack: string): string {
  return `${i.description ? `${i.description} ` : ''}(lxdkit.stack=${stack})`;
}

const images: KindAdapter<'images', ImageAlias> = {
  kind: 'images',
  what: 'image alias',
  tier: 5,
  feature: 'images',
  key: (i, p) => `${p}/${i.alias}`,
  list: (s) => perProject(s, (c) => c.images.listAliases({ signal: s.signal }), (a, p) => `${p}/${a.name}`),
  // an alias that exists is what the stack asks for: the image behind it is not compared (see docs/stacks.md)
  diff: () => [],
  immutable: [],
  owner: (c) => ALIAS_MARKER.exec(c.description)?.[1],
  refs: () => [],
  create: async (ctx, i, p) => {
    const client = ctx.client(p);
    let fingerprint: string;
    if (i.file !== undefined) {
      const files = typeof i.file === 'string' ? { unified: i.file } : i.file;
      fingerprint = (await client.images.import(files, { signal: ctx.signal, timeoutMs: ctx.timeoutMs, properties: { 'lxdkit.stack': ctx.stack } })).fingerprint;
    } else {
      const src = i.source!;
      const op = await client.images.copyFrom({ server: src.server, protocol: src.protocol, alias: src.alias, type: src.type }, { signal: ctx.signal });
      const done = await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
      const fp = done.metadata?.['fingerprint'];
      if (typeof fp !== 'string') throw new StackError(StackErrorCode.APPLY, `image "${i.alias}": the server did not say which image it copied from ${src.server}`);
      fingerprint = fp;
    }
    await client.images.createAlias({ name: i.alias, target: fingerprint, description: aliasDescription(i, ctx.stack) }, { signal: ctx.signal });
  },
  update: async () => {},
  remove: async (ctx, f) => {
    const client = ctx.client(f.project);
    await client.images.deleteAlias(f.value.name, { signal: ctx.signal });
    // the image goes too when the stack imported it and no other alias points at it
    try {
      const { value } = await client.images.get(f.value.target, { signal: ctx.signal });
      if (value.aliases.length === 0 && value.properties['lxdkit.stack'] !== undefined) await (await client.images.delete(value.fingerprint, { signal: ctx.signal })).wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
  exportItem: () => undefined,
};

// ------------------------------------------------------------------ instances

/** An instance as it is compared: its own config without the keys the server writes, its devices, its profiles. */
const instancePart = (c: { description: string; config: Record<string, string>; devices: Record<string, Record<string, string>> }) => ({ description: c.description, config: without(c.config, serverInstanceKey), devices: c.devices });

function stateOf(c: LxdInstance): 'running' | 'stopped' {
  return c.status === 'Running' ? 'running' : 'stopped';
}

/** The differences of an instance, state included (`state` is changed last, after every create and update). */
function instanceChanges(c: LxdInstance, i: InstanceItem): FieldChange[] {
  const out: FieldChange[] = [];
  if (c.type !== i.type) out.push({ path: 'type', from: c.type, to: i.type });
  const cp = c.profiles.join(', ');
  const ip = i.profiles.join(', ');
  if (cp !== ip) out.push({ path: 'profiles', from: cp, to: ip });
  out.push(...profileChanges(instancePart(c), instancePart(i)));
  if (stateOf(c) !== i.state) out.push({ path: 'state', from: stateOf(c), to: i.state });
  return out;
}

/** True when only `state` differs: a start or a stop, no update. */
export function onlyState(changes: readonly FieldChange[]): boolean {
  return changes.length > 0 && changes.every((c) => c.path === 'state');
}

/** A fingerprint (or a prefix of one): 12 to 64 hex digits. */
export const FINGERPRINT = /^[0-9a-f]{12,64}$/;

const instances: KindAdapter<'instances', LxdInstance> = {
  kind: 'instances',
  what: 'instance',
  tier: 6,
  feature: true,
  key: (i, p) => `${p}/${i.name}`,
  list: (s) => perProject(s, (c) => c.instances.list({ signal: s.signal }), (v, p) => `${p}/${v.name}`),
  diff: instanceChanges,
  immutable: ['type'],
  owner: (c) => c.config[STACK_MARKER],
  refs: (i, p) => [
    ...i.profiles.map((name, n): Ref => ({ kind: 'profiles', key: `${p}/${name}`, path: `profiles.${n}` })),
    ...deviceRefs(i.devices, p, 'devices'),
    ...(FINGERPRINT.test(i.image) ? [] : [{ kind: 'images' as const, key: `${p}/${i.image}`, path: 'image', createOnly: true }]),
  ],
  create: async (ctx, i, p) => {
    const source = FINGERPRINT.test(i.image) ? { type: 'image' as const, fingerprint: i.image } : { type: 'image' as const, alias: i.image };
    const op = await ctx.client(p).instances.create(
      { name: i.name, type: i.type, description: i.description, profiles: i.profiles, config: marked(i.config, ctx.stack), devices: i.devices, source },
      { signal: ctx.signal, target: i.target },
    );
    await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  },
  update: (ctx, i, p) => {
    const client = ctx.client(p);
    return updateWithEtag('instance', i.name, () => client.instances.get(i.name, { signal: ctx.signal }), (c) => !onlyStateOrNone(instanceChanges(c, i)), async (c, etag) => {
      // the keys the server keeps (volatile.*, image.*) and the marker stay as they are
      const kept = Object.fromEntries(Object.entries(c.config).filter(([k]) => serverInstanceKey(k)));
      const op = await client.instances.update(i.name, { config: { ...kept, ...i.config }, devices: i.devices, profiles: i.profiles, description: i.description }, { signal: ctx.signal, etag });
      await op.wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    });
  },
  remove: async (ctx, f) => {
    const client = ctx.client(f.project);
    if (f.value.status !== 'Stopped') await setState(ctx, f.project ?? 'default', f.value.name, 'stopped');
    await (await client.instances.delete(f.value.name, { signal: ctx.signal })).wait({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  },
  exportItem: (f): InstanceItem => {
    const v = f.value;
    const base = v.config['volatile.base_image'];
    return {
      name: v.name,
      // an instance made without an image (`source: none`) has none: the name is only used to create it
      image: base ?? 'none',
      type: v.type === 'virtual-machine' ? 'virtual-machine' : 'container',
      description: v.description,
      profiles: v.profiles,
      config: without(v.config, (k) => k.startsWith('volatile.') || k.startsWith('image.')),
      devices: v.devices,
      project: f.project ?? 'default',
      state: stateOf(v),
    };
  },
};

function onlyStateOrNone(changes: readonly FieldChange[]): boolean {
  return changes.length === 0 || onlyState(changes);
}

/** Starts or stops an instance (a stop waits 30 s for a clean shutdown, then forces it). */
export async function setState(ctx: StepContext, project: string, name: string, state: 'running' | 'stopped'): Promise<void> {
  const client = ctx.client(project);
  const call = { signal: ctx.signal, timeoutMs: ctx.timeoutMs };
  if (state === 'running') {
    await (await client.instances.setState(name, { action: 'start' }, { signal: ctx.signal })).wait(call);
    return;
  }
  try {
    await (await client.instances.setState(name, { action: 'stop', timeout: 30 }, { signal: ctx.signal })).wait(call);
  } catch (err) {
    ctx.signal?.throwIfAborted();
    const { value } = await client.instances.get(name, { signal: ctx.signal });
    if (value.status === 'Stopped') return;
    await (await client.instances.setState(name, { action: 'stop', force: true }, { signal: ctx.signal })).wait(call).catch((e: unknown) => {
      throw new StackError(StackErrorCode.APPLY, `instance "${name}" did not stop: ${(e as Error).message}`, { cause: err });
    });
  }
}

// ------------------------------------------------------------------ network ACLs

/** The names in a comma-separated list (`security.acls: "a, b"`). */
function names(list: string | undefined): string[] {
  return (list ?? '').split(',').map((n) => n.trim()).filter((n) => n.length > 0);
}

const RULE_FIELDS = ['action', 'state', 'description', 'source', 'destination', 'protocol', 'source_port', 'destination_port', 'icmp_type', 'icmp_code'] as const;

/** A rule as it is compared: every field, empty where it is not given. */
function ruleOf(r: Readonly<Record<string, unknown>>): NetworkAclRuleItem {
  const out: Record<string, string> = {};
  for (const f of RULE_FIELDS) {
    const v = r[f];
    out[f] = typeof v === 'string' ? v : f === 'state' ? 'enabled' : '';
  }
  return out as unknown as NetworkAclRuleItem;
}

/** Rules in messages: `allow tcp → 10.0.0.0/8:22; drop`. */
function rulesText(rules: readonly NetworkAclRuleItem[]): string {
  if (rules.length === 0) return '(none)';
  return rules
    .map((r) => [r.action, r.state === 'enabled' ? '' : `(${r.state})`, r.protocol, r.source && `from ${r.source}${r.source_port ? `:${r.source_port}` : ''}`, r.destination && `to ${r.destination}`, r.destination_port && `port ${r.destination_port}`, r.icmp_type && `icmp ${r.icmp_type}/${r.icmp_code}`].filter((x) => x).join(' '))
    .join('; ');
}

function aclChanges(c: LxdNetworkAcl, i: NetworkAclItem): FieldChange[] {
  const out = declaredChanges(c, i);
  for (const dir of ['ingress', 'egress'] as const) {
    const from = c[dir].map((r) => ruleOf(r));
    const to = i[dir].map((r) => ruleOf(r));
    if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ path: dir, from: rulesText(from), to: rulesText(to) });
  }
  return out;
}

/** A rule as it is sent: the fields given. */
function ruleBody(r: NetworkAclRuleItem): NetworkAclRule {
  const out: Record<string, string> = {};
  for (const f of RULE_FIELDS) if (r[f] !== '') out[f] = r[f];
  return out as unknown as NetworkAclRule;
}

const networkAcls: KindAdapter<'network_acls', LxdNetworkAcl> = {
  kind: 'network_acls',
  what: 'network ACL',
  // before the networks and NICs that apply them (and deleted after them)
  tier: 1.5,
  feature: 'networks',
  extension: 'network_acl',
  key: (i, p) => `${p}/${i.name}`,
  list: (s) => perProject(s, (c) => c.networkAcls.list({ signal: s.signal }), (a, p) => `${p}/${a.name}`),
  diff: aclChanges,
  blank: { name: '', description: '', ingress: [], egress: [], config: {}, used_by: [] },
  immutable: [],
  owner: (c) => c.config[STACK_MARKER],
  // an ACL's rules may name other ACLs (`source: "@other"` is a set, not a reference: left to the server)
  refs: () => [],
  inUse: (c, gone) => describeUse(c.used_by, gone),
  create: (ctx, i, p) =>
    ctx.client(p).networkAcls.create({ name: i.name, description: i.description, ingress: i.ingress.map(ruleBody), egress: i.egress.map(ruleBody), config: marked(i.config, ctx.stack) }, { signal: ctx.signal }),
  update: (ctx, i, p) =>
    updateWithEtag('network ACL', i.name, () => ctx.client(p).networkAcls.get(i.name, { signal: ctx.signal }), (c) => aclChanges(c, i).length > 0, (c, etag) =>
      ctx.client(p).networkAcls.update(i.name, { description: i.description, ingress: i.ingress.map(ruleBody), egress: i.egress.map(ruleBody), config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag })),
  remove: (ctx, f) => ctx.client(f.project).networkAcls.delete(f.value.name, { signal: ctx.signal }),
  exportItem: (f): NetworkAclItem => ({
    name: f.value.name,
    description: f.value.description,
    ingress: f.value.ingress.map((r) => ruleOf(r)),
    egress: f.value.egress.map((r) => ruleOf(r)),
    config: exportedConfig(f.value.config),
    project: f.project ?? 'default',
  }),
};

// ------------------------------------------------------------------ network zones and their records

type ZoneFound = LxdNetworkZone & { records: LxdNetworkZoneRecord[] };

const entriesText = (entries: readonly { type: string; value: string; ttl?: number | undefined }[]): string =>
  entries.length === 0 ? '(no entries)' : entries.map((e) => `${e.type} ${e.value}${e.ttl !== undefined && e.ttl !== 0 ? ` (ttl ${e.ttl})` : ''}`).join(', ');
const entriesKey = (entries: readonly { type: string; value: string; ttl?: number | undefined }[]): string => JSON.stringify(entries.map((e) => [e.type, e.value, e.ttl ?? 0]));

/** The changes of one record (`records.<name>.…`); undefined `current`: it is to be created. */
function recordChanges(current: LxdNetworkZoneRecord | undefined, r: NetworkZoneRecordItem): FieldChange[] {
  const at = `records.${r.name}`;
  if (!current) return [{ path: at, to: entriesText(r.entries) }];
  const out = declaredChanges(current, r).map((c) => ({ ...c, path: `${at}.${c.path}` }));
  if (entriesKey(current.entries) !== entriesKey(r.entries)) out.push({ path: `${at}.entries`, from: entriesText(current.entries), to: entriesText(r.entries) });
  return out;
}

/**
 * The records a zone's update deletes: those the zone's own stack made (its marker) and the
 * declaration no longer names. Records made by hand are left alone.
 */
function strayRecords(zoneOwner: string | undefined, records: readonly LxdNetworkZoneRecord[], i: NetworkZoneItem): LxdNetworkZoneRecord[] {
  if (zoneOwner === undefined) return [];
  return records.filter((r) => r.config[STACK_MARKER] === zoneOwner && !i.records.some((d) => d.name === r.name));
}

function zoneChanges(c: ZoneFound, i: NetworkZoneItem): FieldChange[] {
  const out = declaredChanges(c, i);
  for (const r of i.records) out.push(...recordChanges(c.records.find((x) => x.name === r.name), r));
  for (const r of strayRecords(c.config[STACK_MARKER], c.records, i)) out.push({ path: `records.${r.name}`, from: entriesText(r.entries) });
  return out;
}

async function writeRecords(ctx: StepContext, client: LxdClient, zone: string, i: NetworkZoneItem, owner: string | undefined): Promise<void> {
  const records = client.networkZones.records;
  const current = await records.list(zone, { signal: ctx.signal });
  for (const r of i.records) {
    const found = current.find((x) => x.name === r.name);
    const body = { description: r.description, entries: r.entries.map((e) => (e.ttl === undefined ? { type: e.type, value: e.value } : { type: e.type, value: e.value, ttl: e.ttl })) };
    if (!found) {
      await records.create(zone, { name: r.name, ...body, config: marked(r.config, ctx.stack) }, { signal: ctx.signal });
      continue;
    }
    await updateWithEtag('network zone record', `${zone}/${r.name}`, () => records.get(zone, r.name, { signal: ctx.signal }), (c) => recordChanges(c, r).length > 0, (c, etag) =>
      records.update(zone, r.name, { ...body, config: { ...c.config, ...r.config } }, { signal: ctx.signal, etag }));
  }
  for (const r of strayRecords(owner, current, i)) await records.delete(zone, r.name, { signal: ctx.signal });
}

const networkZones: KindAdapter<'network_zones', ZoneFound> = {
  kind: 'network_zones',
  what: 'network zone',
  // before the networks that forward to them (`dns.zone.forward`), deleted after them
  tier: 1.5,
  feature: 'networks',
  featureWith: { extension: 'projects_networks_zones', feature: 'networks.zones' },
  extension: 'network_dns',
  key: (i, p) => `${p}/${i.name}`,
  // one listing per project, and one of the records per zone
  list: (s) =>
    perProject(
      s,
      async (c) => {
        const zones = await c.networkZones.list({ signal: s.signal });
        s.listed?.(zones.length);
        return Promise.all(zones.map(async (z) => ({ ...z, records: await c.networkZones.records.list(z.name, { signal: s.signal }) })));
      },
      (z, p) => `${p}/${z.name}`,
    ),
  diff: zoneChanges,
  blank: { name: '', description: '', config: {}, used_by: [], records: [] },
  immutable: [],
  owner: (c) => c.config[STACK_MARKER],
  refs: () => [],
  // records made by hand (or by another stack) keep the zone: prune never deletes them
  inUse: (c, gone) => {
    const foreign = c.records.filter((r) => r.config[STACK_MARKER] === undefined || r.config[STACK_MARKER] !== c.config[STACK_MARKER]).map((r) => r.name);
    if (foreign.length) return `holds ${foreign.length} record${foreign.length > 1 ? 's' : ''} the stack did not create (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`;
    return describeUse(c.used_by, gone);
  },
  create: async (ctx, i, p) => {
    const client = ctx.client(p);
    await client.networkZones.create({ name: i.name, description: i.description, config: marked(i.config, ctx.stack) }, { signal: ctx.signal });
    if (i.records.length) await writeRecords(ctx, client, i.name, i, ctx.stack);
  },
  update: async (ctx, i, p) => {
    const client = ctx.client(p);
    let owner: string | undefined;
    await updateWithEtag('network zone', i.name, async () => {
      const read = await client.networkZones.get(i.name, { signal: ctx.signal });
      owner = read.value.config[STACK_MARKER];
      return read;
    }, (c) => declaredChanges(c, i).length > 0, (c, etag) => client.networkZones.update(i.name, { description: i.description, config: { ...c.config, ...i.config } }, { signal: ctx.signal, etag }));
    await writeRecords(ctx, client, i.name, i, owner);
  },
  remove: async (ctx, f) => {
    const zones = ctx.client(f.project).networkZones;
    // a zone with records cannot be deleted: its records (all the stack's own, or prune keeps the zone) go first
    for (const r of f.value.records) {
      await zones.records.delete(f.value.name, r.name, { signal: ctx.signal }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    await zones.delete(f.value.name, { signal: ctx.signal });
  },
  exportItem: (f): NetworkZoneItem => ({
    name: f.value.name,
    description: f.value.description,
    config: exportedConfig(f.value.config),
    project: f.project ?? 'default',
    records: f.value.records.map((r) => ({
      name: r.name,
      description: r.description,
      entries: r.entries.map((e) => (e.ttl === undefined || e.ttl === 0 ? { type: e.type, value: e.value } : { type: e.type, value: e.value, ttl: e.ttl })),
      config: exportedConfig(without(r.config, isMarker)),
    })),
  }),
};

// ------------------------------------------------------------------ network forwards

type ForwardFound = LxdNetworkForward & { network: string };
type ForwardPortItem = NetworkForwardItem['ports'][number];

const portOf = (p: Readonly<Record<string, unknown>>): ForwardPortItem => ({
  protocol: p['protocol'] === 'udp' ? 'udp' : 'tcp',
  listen_port: typeof p['listen_port'] === 'string' ? p['listen_port'] : '',
  target_address: typeof p['target_address'] === 'string' ? p['target_address'] : '',
  target_port: typeof p['target_port'] === 'string' ? p['target_port'] : '',
  description: typeof p['description'] === 'string' ? p['description'] : '',
});
const portsText = (ports: readonly ForwardPortItem[]): string =>
  ports.length === 0 ? '(none)' : ports.map((p) => `${p.protocol}/${p.listen_port} → ${p.target_address}${p.target_port ? `:${p.target_port}` : ''}`).join(', ');

function forwardChanges(c: LxdNetworkForward, i: NetworkForwardItem): FieldChange[] {
  const out = declaredChanges(c, i);
  const from = c.ports.map((p) => portOf(p));
  const to = i.ports.map((p) => portOf(p));
  if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ path: 'ports', from: portsText(from), to: portsText(to) });
  return out;
}

const portBody = (p: ForwardPortItem): NetworkForwardPort => ({
  protocol: p.protocol,
  listen_port: p.listen_port,
  target_address: p.target_address,
  ...(p.target_port === '' ? {} : { target_port: p.target_port }),
  ...(p.description === '' ? {} : { description: p.description }),
});

const networkForwards: KindAdapter<'network_forwards', ForwardFound> = {
  kind: 'network_forwards',
  what: 'network forward',
  // after the networks they listen on (and deleted before them)
  tier: 2.5,
  feature: 'networks',
  extension: 'network_forward',
  key: (i, p) => `${p}/${i.network}/${i.listen_address}`,
  // one listing of the managed networks per project, and one of the forwards per network
  list: (s) =>
    perProject(
      s,
      async (c) => {
        const nets = (await c.networks.list({ signal: s.signal })).filter((n) => n.managed && (n.type === 'bridge' || n.type === 'ovn'));
        s.listed?.(nets.length);
        const lists = await Promise.all(nets.map(async (n) => (await c.networkForwards.list(n.name, { signal: s.signal })).map((f) => ({ ...f, network: n.name }))));
        return lists.flat();
      },
      (f, p) => `${p}/${f.network}/${f.listen_address}`,
    ),
  diff: forwardChanges,
  blank: { listen_address: '', description: '', config: {}, ports: [], location: '', network: '' },
  immutable: [],
  owner: (c) => c.config[STACK_MARKER],
  refs: (i, p) => [{ kind: 'networks', key: `${p}/${i.network}`, path: 'network' }],
  create: (ctx, i, p) =>
    ctx.client(p).networkForwards.create(i.network, { listen_address: i.listen_address, description: i.description, config: marked(i.config, ctx.stack), ports: i.ports.map(portBody) }, { signal: ctx.signal }),
  update: (ctx, i, p) => {
    const fwd = ctx.client(p).networkForwards;
    return updateWithEtag('network forward', `${i.network}/${i.listen_address}`, () => fwd.get(i.network, i.listen_address, { signal: ctx.signal }), (c) => forwardChanges(c, i).length > 0, (c, etag) =>
      fwd.update(i.network, i.listen_address, { description: i.description, config: { ...c.config, ...i.config }, ports: i.ports.map(portBody) }, { signal: ctx.signal, etag }));
  },
  remove: (ctx, f) => ctx.client(f.project).networkForwards.delete(f.value.network, f.value.listen_address, { signal: ctx.signal }),
  exportItem: (f): NetworkForwardItem => ({
    network: f.value.network,
    listen_address: f.value.listen_address,
    description: f.value.description,
    config: exportedConfig(f.value.config),
    ports: f.value.ports.map((p) => portOf(p)),
    project: f.project ?? 'default',
  }),
};

// ------------------------------------------------------------------ the registry

/** Kinds accepted in a stack that have no adapter yet: a plan that holds any of them is refused. */
export const PENDING_KINDS: readonly StackKind[] = [];

/** Every kind with an adapter, in the order of apply. */
export const KINDS: readonly KindAdapter[] = [projects, storagePools, networkAcls, networkZones, networks, networkForwards, storageVolumes, profiles, images, instances] as unknown as readonly KindAdapter[];

/** The adapter of `kind` (undefined for the kinds that have none yet). */
export function adapterOf(kind: StackKind): KindAdapter | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** The identity of a declaration as written (its own project): `name`, `project/name`, `project/pool/name`. */
export function keyOf(kind: StackKind, item: unknown): string {
  const a = adapterOf(kind);
  if (a) return a.key(item as never, projectOf(item));
  const o = item as { name?: unknown; project?: unknown };
  return `${projectOf(item)}/${typeof o.name === 'string' ? o.name : '?'}`;
}

/**
 * The project feature that gives a project its own resources of a kind on a server with these API
 * extensions (`true`: always per project; undefined: server-wide).
 */
export function projectFeature(adapter: Pick<KindAdapter, 'feature' | 'featureWith'>, extensions: ReadonlySet<string>): string | true | undefined {
  if (adapter.featureWith !== undefined && extensions.has(adapter.featureWith.extension)) return adapter.featureWith.feature;
  return adapter.feature;
}

/** Whether a project with this config holds its own resources of the kind (the default project always does). */
export function ownsKind(feature: string | true | undefined, project: string, config: Readonly<Record<string, string>> | undefined): boolean {
  if (feature === undefined) return false;
  return feature === true || project === 'default' || config?.[`features.${feature}`] === 'true';
}
