/**
 * The stack file, typed with zod: LXD's preseed shape (`projects`, `storage_pools`, `networks`,
 * `profiles`, each item with `project:` where it applies) plus `storage_volumes`, `images`,
 * `instances`, `network_acls`, `network_zones`, `network_forwards` and the stack's `name`.
 * Every config value is a string (quote numbers and booleans); unknown keys are refused.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import type { Closed } from '../closed.js';

const StringValue = lazySchema(() => z.string({
  error: (issue) =>
    issue.input === null || issue.input === undefined
      ? 'must be a string, not empty (write "" for an empty value)'
      : typeof issue.input === 'object'
        ? 'must be a string, not a map or list'
        : `must be a string: quote it ("${String(issue.input)}")`,
}));
const Config = lazySchema(() => z.record(z.string(), StringValue, { error: 'must be a map of key: "value"' }));
const Devices = lazySchema(() => z.record(z.string(), Config, { error: 'must be a map of device name to device' }));
const Name = lazySchema(() => z.string({ error: 'is required: a name' }).min(1, 'must not be empty'));
const Project = lazySchema(() => z.string({ error: 'must be a project name' }).min(1, 'must not be empty').default('default'));

/** The name of a stack: it is written into what the stack creates (`user.lxdkit.stack`), so it is kept plain. */
export const StackNameSchema = lazySchema(() =>
  z
    .string({ error: 'is required: the stack name (it marks what the stack creates)' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit'),
);

export const ProjectItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  description: z.string().default(''),
  config: Config.default({}),
}));

export const StoragePoolItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  driver: z.string({ error: 'is required: the storage driver (dir, zfs, btrfs, lvm, ceph, ...)' }).min(1),
  description: z.string().default(''),
  config: Config.default({}),
}));

export const NetworkItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  type: z.string().default('bridge'),
  description: z.string().default(''),
  config: Config.default({}),
  project: Project,
}));

export const ProfileItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  description: z.string().default(''),
  config: Config.default({}),
  devices: Devices.default({}),
  project: Project,
}));

export const StorageVolumeItemSchema = lazySchema(() => z.strictObject({
  pool: Name,
  name: Name,
  type: z.literal('custom', { error: 'only custom volumes can be declared' }).default('custom'),
  content_type: z.enum(['filesystem', 'block']).default('filesystem'),
  description: z.string().default(''),
  config: Config.default({}),
  project: Project,
  /** In a cluster: the member the volume is on. */
  target: z.string().min(1).optional(),
}));

const ImageFileSchema = lazySchema(() => z.union([
  z.string().min(1),
  z.strictObject({ unified: z.string().min(1) }),
  z.strictObject({ metadata: z.string().min(1), rootfs: z.string().min(1) }),
]));

export const ImageItemSchema = lazySchema(() =>
  z
    .strictObject({
      alias: Name,
      description: z.string().default(''),
      project: Project,
      /** A unified tarball, or `{ metadata, rootfs }`, relative to the stack file. */
      file: ImageFileSchema.optional(),
      /** A simplestreams (or LXD) image server. */
      source: z
        .strictObject({
          server: z.string().url('must be an https:// URL'),
          alias: z.string().min(1),
          protocol: z.enum(['simplestreams', 'lxd']).default('simplestreams'),
          type: z.enum(['container', 'virtual-machine']).optional(),
        })
        .optional(),
    })
    .refine((i) => (i.file === undefined) !== (i.source === undefined), { message: 'give either file or source' }),
);

export const InstanceItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  /** A local alias (of the stack or the server) or a fingerprint; used when the instance is created. */
  image: z.string({ error: 'is required: a local image alias or fingerprint' }).min(1),
  type: z.enum(['container', 'virtual-machine']).default('container'),
  description: z.string().default(''),
  profiles: z.array(z.string().min(1)).default(['default']),
  config: Config.default({}),
  devices: Devices.default({}),
  project: Project,
  /** In a cluster: the member (or `@group`) the instance is created on. */
  target: z.string().min(1).optional(),
  state: z.enum(['running', 'stopped']).default('running'),
}));

/** One rule of a network ACL; a field left out is empty, as the server keeps it. */
export const NetworkAclRuleItemSchema = lazySchema(() => z.strictObject({
  action: z.enum(['allow', 'allow-stateless', 'drop', 'reject']),
  state: z.enum(['enabled', 'disabled', 'logged']).default('enabled'),
  description: z.string().default(''),
  source: z.string().default(''),
  destination: z.string().default(''),
  protocol: z.enum(['icmp4', 'icmp6', 'tcp', 'udp', '']).default(''),
  source_port: z.string().default(''),
  destination_port: z.string().default(''),
  icmp_type: z.string().default(''),
  icmp_code: z.string().default(''),
}));

export const NetworkAclItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  description: z.string().default(''),
  ingress: z.array(NetworkAclRuleItemSchema).default([]),
  egress: z.array(NetworkAclRuleItemSchema).default([]),
  config: Config.default({}),
  project: Project,
}));

export const NetworkZoneRecordItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  description: z.string().default(''),
  entries: z.array(z.strictObject({ type: z.string().min(1), value: z.string().min(1), ttl: z.number().int().nonnegative().optional() })).default([]),
  config: Config.default({}),
}));

export const NetworkZoneItemSchema = lazySchema(() => z.strictObject({
  name: Name,
  description: z.string().default(''),
  config: Config.default({}),
  project: Project,
  /** The zone's records: the stack manages the ones it names (and prunes the ones it made). */
  records: z.array(NetworkZoneRecordItemSchema).default([]),
}));

export const NetworkForwardItemSchema = lazySchema(() => z.strictObject({
  /** The managed network the forward is on. */
  network: Name,
  listen_address: z.string().refine((v) => isIP(v) !== 0, { error: 'must be an IP address (a forward is named by the address it listens on)' }),
  description: z.string().default(''),
  config: Config.default({}),
  ports: z
    .array(
      z.strictObject({
        protocol: z.enum(['tcp', 'udp']),
        listen_port: z.string().min(1),
        target_address: z.string().refine((v) => isIP(v) !== 0, { error: 'must be an IP address' }),
        target_port: z.string().default(''),
        description: z.string().default(''),
      }),
    )
    .default([]),
  project: Project,
}));

/** The schema of one stack file: the preseed shape (`projects`, `storage_pools`, `networks`, `profiles`) plus volumes, ACLs, zones, forwards, images, instances and `name` (strict). */
export const StackFileSchema = lazySchema(() => z.strictObject({
  name: StackNameSchema.optional(),
  projects: z.array(ProjectItemSchema).optional(),
  storage_pools: z.array(StoragePoolItemSchema).optional(),
  networks: z.array(NetworkItemSchema).optional(),
  profiles: z.array(ProfileItemSchema).optional(),
  storage_volumes: z.array(StorageVolumeItemSchema).optional(),
  images: z.array(ImageItemSchema).optional(),
  instances: z.array(InstanceItemSchema).optional(),
  network_acls: z.array(NetworkAclItemSchema).optional(),
  network_zones: z.array(NetworkZoneItemSchema).optional(),
  network_forwards: z.array(NetworkForwardItemSchema).optional(),
}));

/** A project of a stack (`projects:`, as `lxd init --preseed` has them) (strict). */
export type ProjectItem = Closed<z.infer<typeof ProjectItemSchema>>;
/** A storage pool of a stack (`storage_pools:`, as `lxd init --preseed` has them) (strict). */
export type StoragePoolItem = Closed<z.infer<typeof StoragePoolItemSchema>>;
/** A network of a stack (`networks:`, as `lxd init --preseed` has them) (strict). */
export type NetworkItem = Closed<z.infer<typeof NetworkItemSchema>>;
/** A profile of a stack (`profiles:`, as `lxd init --preseed` has them) (strict). */
export type ProfileItem = Closed<z.infer<typeof ProfileItemSchema>>;
/** A storage volume of a stack (`storage_volumes:`: pool, name, type, config, project, target) (strict). */
export type StorageVolumeItem = Closed<z.infer<typeof StorageVolumeItemSchema>>;
/** An image alias of a stack (`images:`): from a local file or a simplestreams source (strict). */
export type ImageItem = Closed<z.infer<typeof ImageItemSchema>>;
/** An instance of a stack (`instances:`): image, type, profiles, config, devices, project, target and state (strict). */
export type InstanceItem = Closed<z.infer<typeof InstanceItemSchema>>;
export type NetworkAclItem = Closed<z.infer<typeof NetworkAclItemSchema>>;
export type NetworkAclRuleItem = Closed<z.infer<typeof NetworkAclRuleItemSchema>>;
export type NetworkZoneItem = Closed<z.infer<typeof NetworkZoneItemSchema>>;
export type NetworkZoneRecordItem = Closed<z.infer<typeof NetworkZoneRecordItemSchema>>;
export type NetworkForwardItem = Closed<z.infer<typeof NetworkForwardItemSchema>>;
/** One stack file, as `loadStack` reads it (strict: an unknown key is an error naming it). */
export type StackFile = Closed<z.infer<typeof StackFileSchema>>;

/** The kinds of a stack, as its keys. */
export const STACK_KINDS = [
  'projects',
  'storage_pools',
  'networks',
  'network_acls',
  'network_zones',
  'network_forwards',
  'storage_volumes',
  'profiles',
  'images',
  'instances',
] as const;
/** The kinds of resource a stack holds, by their key in the file (`storage_pools`, `instances`, …). */
export type StackKind = (typeof STACK_KINDS)[number];

/** Where an item was written. */
export interface ItemSource {
  file: string;
  line: number;
  /** Its key path in the file: `instances.2`. */
  key: string;
}

/** What each kind's items are. */
export interface StackItems {
  projects: ProjectItem;
  storage_pools: StoragePoolItem;
  networks: NetworkItem;
  profiles: ProfileItem;
  storage_volumes: StorageVolumeItem;
  images: ImageItem;
  instances: InstanceItem;
  network_acls: NetworkAclItem;
  network_zones: NetworkZoneItem;
  network_forwards: NetworkForwardItem;
}

/** One item of a stack with where it was written. */
export interface Sourced<T> {
  value: T;
  source: ItemSource;
}

/** A loaded stack: its name and its items by kind, each with its file and line. */
export interface Stack {
  name: string;
  /** The directory files in the stack (image files) are relative to. */
  baseDir: string;
  items: { [K in StackKind]: Sourced<StackItems[K]>[] };
}
