/**
 * zod schemas for LXD wire data. Responses are loose (new LXD fields must not break us; extension-gated
 * fields are optional), request bodies are strict (what we send is exactly what we mean).
 */
import { z } from 'zod';
import type { Closed } from '../closed.js';

import { lazySchema } from '../lazy-schema.js';
import { NullableDeviceMap, NullableStringList, NullableStringMap } from './wire-maps.js';

const StringMap = lazySchema(() => z.record(z.string(), z.string()));

// ---------------------------------------------------------------- envelope

/**
 * Loose schema of the response envelope every `/1.0` answer comes in (`type` sync, async or error; `metadata` the payload).
 */
export const EnvelopeSchema = lazySchema(() => z.looseObject({
  type: z.string(),
  status: z.string().optional(),
  status_code: z.number().optional(),
  operation: z.string().optional(),
  error_code: z.number().optional(),
  error: z.string().optional(),
  metadata: z.unknown().optional(),
}));
/** The response envelope (loose: unknown fields kept). */
export type Envelope = Closed<z.infer<typeof EnvelopeSchema>>;

// ---------------------------------------------------------------- operations

/** Loose schema of an operation (`GET /1.0/operations/{id}`, and the `metadata` of an async answer). */
export const OperationSchema = lazySchema(() => z.looseObject({
  id: z.string(),
  class: z.string(),
  description: z.string().default(''),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  status: z.string(),
  status_code: z.number(),
  resources: z.record(z.string(), z.array(z.string()).nullable()).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  may_cancel: z.boolean().default(false),
  err: z.string().default(''),
  location: z.string().optional(),
}));
/** An operation as the server reports it (loose: unknown fields kept). */
export type OperationData = Closed<z.infer<typeof OperationSchema>>;

/** `GET /1.0/operations?recursion=1`: a map keyed by status. */
export const OperationListSchema = lazySchema(() => z.record(z.string(), z.array(OperationSchema).nullable()));

// ---------------------------------------------------------------- server

/** Loose schema of the server (`GET /1.0`): its config, API extensions, auth state and environment. */
export const ServerSchema = lazySchema(() => z.looseObject({
  config: z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? {}),
  api_extensions: NullableStringList,
  api_status: z.string(),
  api_version: z.string(),
  auth: z.string(),
  public: z.boolean().optional(),
  auth_methods: z.array(z.string()).nullish(),
  environment: z
    .looseObject({
      addresses: z.array(z.string()).nullish(),
      architectures: z.array(z.string()).nullish(),
      certificate: z.string().optional(),
      certificate_fingerprint: z.string().optional(),
      driver: z.string().optional(),
      driver_version: z.string().optional(),
      kernel: z.string().optional(),
      kernel_architecture: z.string().optional(),
      kernel_version: z.string().optional(),
      os_name: z.string().optional(),
      os_version: z.string().optional(),
      project: z.string().optional(),
      server: z.string().optional(),
      server_clustered: z.boolean().optional(),
      server_name: z.string().optional(),
      server_pid: z.number().optional(),
      server_version: z.string().optional(),
      storage: z.string().optional(),
      storage_version: z.string().optional(),
    })
    .optional(),
}));
/** The server, as `GET /1.0` answers (loose: unknown fields kept). */
export type LxdServer = Closed<z.infer<typeof ServerSchema>>;

/** Strict schema of the server's writable config (`PUT`/`PATCH /1.0`). */
export const ServerPutSchema = lazySchema(() => z.strictObject({
  config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
}));
/** The body of `PUT`/`PATCH /1.0` (strict: what lxdkit sends). */
export type ServerPut = Closed<z.infer<typeof ServerPutSchema>>;

// ---------------------------------------------------------------- instances

/** Loose schema of an instance (`GET /1.0/instances/{name}`); null maps and lists become empty. */
export const InstanceSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  type: z.string().default('container'),
  architecture: z.string().default(''),
  config: NullableStringMap,
  devices: NullableDeviceMap,
  ephemeral: z.boolean().default(false),
  profiles: NullableStringList,
  stateful: z.boolean().default(false),
  description: z.string().default(''),
  created_at: z.string().optional(),
  last_used_at: z.string().optional(),
  location: z.string().optional(),
  project: z.string().optional(),
  status: z.string(),
  status_code: z.number(),
  expanded_config: NullableStringMap.optional(),
  expanded_devices: NullableDeviceMap.optional(),
}));
/** An instance (loose: unknown fields kept). */
export type LxdInstance = Closed<z.infer<typeof InstanceSchema>>;

/**
 * Loose schema of an instance's runtime state (`GET /1.0/instances/{name}/state`): status, processes, CPU, memory, disks and networks.
 */
export const InstanceStateSchema = lazySchema(() => z.looseObject({
  status: z.string(),
  status_code: z.number(),
  pid: z.number().default(0),
  processes: z.number().default(0),
  cpu: z.looseObject({ usage: z.number() }).nullish(),
  memory: z.looseObject({ usage: z.number() }).nullish(),
  disk: z.record(z.string(), z.looseObject({ usage: z.number() })).nullish(),
  network: z
    .record(
      z.string(),
      z.looseObject({
        addresses: z
          .array(z.looseObject({ family: z.string(), address: z.string(), netmask: z.string(), scope: z.string() }))
          .nullish(),
        hwaddr: z.string().optional(),
        host_name: z.string().optional(),
        mtu: z.number().optional(),
        state: z.string().optional(),
        type: z.string().optional(),
      }),
    )
    .nullish(),
}));
/** An instance's runtime state (loose: unknown fields kept). */
export type LxdInstanceState = Closed<z.infer<typeof InstanceStateSchema>>;

/** Loose schema of an instance with its state, snapshots and backups (`GET /1.0/instances?recursion=2`). */
export const InstanceFullSchema = lazySchema(() => InstanceSchema.extend({
  state: InstanceStateSchema.nullish(),
  snapshots: z.array(z.looseObject({ name: z.string() })).nullish(),
  backups: z.array(z.looseObject({ name: z.string() })).nullish(),
}));
/** An instance with its state, snapshots and backups (loose: unknown fields kept). */
export type LxdInstanceFull = Closed<z.infer<typeof InstanceFullSchema>>;

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));
const Devices = lazySchema(() => z.record(z.string(), z.record(z.string(), z.string({ error: 'device values must be strings' }))));

/**
 * Strict schema of the `source` of an instance create: an image (by alias or fingerprint, local or from a remote server), `none`, or a `copy` of another instance.
 */
export const InstanceSourceSchema = lazySchema(() => z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('image'),
    alias: z.string().min(1).optional(),
    fingerprint: z.string().min(1).optional(),
    properties: StringMap.optional(),
    server: z.string().optional(),
    protocol: z.enum(['lxd', 'simplestreams']).optional(),
    secret: z.string().optional(),
    certificate: z.string().optional(),
    mode: z.enum(['pull']).optional(),
    allow_inconsistent: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('copy'),
    source: z.string().min(1),
    instance_only: z.boolean().optional(),
    live: z.boolean().optional(),
    refresh: z.boolean().optional(),
    project: z.string().optional(),
    allow_inconsistent: z.boolean().optional(),
  }),
]));
/** The `source` of `POST /1.0/instances` (strict: what lxdkit sends). */
export type InstanceSource = Closed<z.infer<typeof InstanceSourceSchema>>;

/** Strict schema of the body of `POST /1.0/instances`; config and device values must be strings. */
export const InstancesPostSchema = lazySchema(() => z.strictObject({
  name: z.string(),
  type: z.enum(['container', 'virtual-machine']).optional(),
  architecture: z.string().optional(),
  profiles: z.array(z.string()).optional(),
  config: ConfigMap.optional(),
  devices: Devices.optional(),
  ephemeral: z.boolean().optional(),
  description: z.string().optional(),
  instance_type: z.string().optional(),
  stateful: z.boolean().optional(),
  source: InstanceSourceSchema,
  /** Needs the `instance_create_start` extension (not in LXD 5.0.x). */
  start: z.boolean().optional(),
}));
/** The body of `POST /1.0/instances` (strict: what lxdkit sends). */
export type InstancesPost = Closed<z.infer<typeof InstancesPostSchema>>;

/** Strict schema of the body of `PUT /1.0/instances/{name}` (`restore` names a snapshot to restore). */
export const InstancePutSchema = lazySchema(() => z.strictObject({
  architecture: z.string().optional(),
  config: ConfigMap,
  devices: Devices,
  ephemeral: z.boolean().optional(),
  profiles: z.array(z.string()),
  description: z.string().optional(),
  stateful: z.boolean().optional(),
  restore: z.string().optional(),
}));
/** The body of `PUT /1.0/instances/{name}` (strict: what lxdkit sends). */
export type InstancePut = Closed<z.infer<typeof InstancePutSchema>>;

/** Strict schema of the body of `PATCH /1.0/instances/{name}`: any fields of the PUT body. */
export const InstancePatchSchema = lazySchema(() => InstancePutSchema.partial());
/** The body of `PATCH /1.0/instances/{name}` (strict: what lxdkit sends). */
export type InstancePatch = Closed<z.infer<typeof InstancePatchSchema>>;

/** The actions of `PUT /1.0/instances/{name}/state`. */
export const InstanceStateActions = ['start', 'stop', 'restart', 'freeze', 'unfreeze'] as const;
/** One of `InstanceStateActions`. */
export type InstanceStateAction = (typeof InstanceStateActions)[number];

/** Strict schema of the body of `PUT /1.0/instances/{name}/state`. */
export const InstanceStatePutSchema = lazySchema(() => z.strictObject({
  action: z.enum(InstanceStateActions, { error: `action must be one of ${InstanceStateActions.join(', ')}` }),
  /** Seconds; -1 waits forever. Omitted unless given: on LXD 5.0.2 an explicit 0 means "kill now". */
  timeout: z.number().int().min(-1).optional(),
  force: z.boolean().optional(),
  stateful: z.boolean().optional(),
}));
/** The body of `PUT /1.0/instances/{name}/state` (strict: what lxdkit sends). */
export type InstanceStatePut = Closed<z.infer<typeof InstanceStatePutSchema>>;

// ---------------------------------------------------------------- profiles

/** Loose schema of a profile (`GET /1.0/profiles/{name}`). */
export const LxdProfileSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  devices: NullableDeviceMap,
  used_by: NullableStringList,
  project: z.string().optional(),
}));
/** A profile (loose: unknown fields kept). */
export type LxdProfile = Closed<z.infer<typeof LxdProfileSchema>>;

/**
 * Strict schema of the body of `PUT`/`PATCH /1.0/profiles/{name}`; config and device values must be strings.
 */
export const ProfilePutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
  devices: Devices.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/profiles/{name}` (strict: what lxdkit sends). */
export type ProfilePut = Closed<z.infer<typeof ProfilePutSchema>>;

/** Strict schema of the body of `POST /1.0/profiles`: the PUT fields and the name. */
export const ProfilesPostSchema = lazySchema(() => ProfilePutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/profiles` (strict: what lxdkit sends). */
export type ProfilesPost = Closed<z.infer<typeof ProfilesPostSchema>>;

// ---------------------------------------------------------------- images

/** Loose schema of an image alias (`GET /1.0/images/aliases/{name}`). */
export const ImageAliasSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  target: z.string(),
  description: z.string().default(''),
  type: z.string().optional(),
}));
/** An image alias (loose: unknown fields kept). */
export type ImageAlias = Closed<z.infer<typeof ImageAliasSchema>>;

/** Loose schema of an image (`GET /1.0/images/{fingerprint}`); `size` in bytes. */
export const ImageSchema = lazySchema(() => z.looseObject({
  fingerprint: z.string(),
  filename: z.string().default(''),
  size: z.number().default(0),
  architecture: z.string().default(''),
  public: z.boolean().default(false),
  auto_update: z.boolean().default(false),
  cached: z.boolean().default(false),
  type: z.string().optional(),
  properties: NullableStringMap,
  aliases: z
    .array(z.looseObject({ name: z.string(), description: z.string().default('') }))
    .nullish()
    .transform((v) => v ?? []),
  profiles: NullableStringList.optional(),
  created_at: z.string().optional(),
  uploaded_at: z.string().optional(),
  expires_at: z.string().optional(),
  last_used_at: z.string().optional(),
  update_source: z.looseObject({ server: z.string(), protocol: z.string(), alias: z.string() }).nullish(),
}));
/** An image (loose: unknown fields kept). */
export type LxdImage = Closed<z.infer<typeof ImageSchema>>;

/** Strict schema of the body of `POST /1.0/images/aliases`: a name and the fingerprint it points to. */
export const ImageAliasesPostSchema = lazySchema(() => z.strictObject({
  name: z.string().min(1, 'alias name must not be empty'),
  target: z.string().min(1, 'alias target (an image fingerprint) must not be empty'),
  description: z.string().optional(),
  type: z.enum(['container', 'virtual-machine']).optional(),
}));
/** The body of `POST /1.0/images/aliases` (strict: what lxdkit sends). */
export type ImageAliasesPost = Closed<z.infer<typeof ImageAliasesPostSchema>>;

/** Strict schema of the body of `PUT /1.0/images/aliases/{name}`: the fingerprint it points to. */
export const ImageAliasPutSchema = lazySchema(() => z.strictObject({
  target: z.string().min(1),
  description: z.string().optional(),
}));
/** The body of `PUT /1.0/images/aliases/{name}` (strict: what lxdkit sends). */
export type ImageAliasPut = Closed<z.infer<typeof ImageAliasPutSchema>>;

/**
 * Strict schema of the `source` of `POST /1.0/images` that pulls an image from a remote server (LXD or simplestreams).
 */
export const ImageRemoteSourceSchema = lazySchema(() => z.strictObject({
  type: z.literal('image'),
  mode: z.literal('pull'),
  server: z.string().min(1),
  protocol: z.enum(['lxd', 'simplestreams']),
  alias: z.string().min(1).optional(),
  fingerprint: z.string().min(1).optional(),
  certificate: z.string().optional(),
  secret: z.string().optional(),
  image_type: z.enum(['container', 'virtual-machine']).optional(),
}));

/** Strict schema of the body of `POST /1.0/images` that copies an image from a remote server. */
export const ImagesPostSchema = lazySchema(() => z.strictObject({
  source: ImageRemoteSourceSchema,
  aliases: z.array(z.strictObject({ name: z.string().min(1), description: z.string().optional() })).optional(),
  auto_update: z.boolean().optional(),
  public: z.boolean().optional(),
  properties: StringMap.optional(),
  filename: z.string().optional(),
}));
/** The body of `POST /1.0/images` (strict: what lxdkit sends). */
export type ImagesPost = Closed<z.infer<typeof ImagesPostSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/images/{fingerprint}`: properties and profiles. */
export const ImagePutSchema = lazySchema(() => z.strictObject({
  auto_update: z.boolean().optional(),
  properties: StringMap.optional(),
  public: z.boolean().optional(),
  expires_at: z.string().optional(),
  profiles: z.array(z.string()).optional(),
}));
/** The body of `PUT`/`PATCH /1.0/images/{fingerprint}` (strict: what lxdkit sends). */
export type ImagePut = Closed<z.infer<typeof ImagePutSchema>>;

// ---------------------------------------------------------------- networks and storage pools

/**
 * Loose schema of a network (`GET /1.0/networks/{name}`); `managed` is false for host interfaces LXD did not create.
 */
export const NetworkSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  type: z.string().default(''),
  description: z.string().default(''),
  config: NullableStringMap,
  managed: z.boolean().default(false),
  status: z.string().default(''),
  used_by: NullableStringList,
  locations: NullableStringList.optional(),
}));
/** A network (loose: unknown fields kept). */
export type LxdNetwork = Closed<z.infer<typeof NetworkSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/networks/{name}`. */
export const NetworkPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/networks/{name}` (strict: what lxdkit sends). */
export type NetworkPut = Closed<z.infer<typeof NetworkPutSchema>>;

/** Strict schema of the body of `POST /1.0/networks`: the PUT fields, the name and the type. */
export const NetworksPostSchema = lazySchema(() => NetworkPutSchema.extend({
  name: z.string(),
  type: z.string().optional(),
}));
/** The body of `POST /1.0/networks` (strict: what lxdkit sends). */
export type NetworksPost = Closed<z.infer<typeof NetworksPostSchema>>;

/** Loose schema of a storage pool (`GET /1.0/storage-pools/{name}`). */
export const StoragePoolSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  driver: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  status: z.string().default(''),
  used_by: NullableStringList,
  locations: NullableStringList.optional(),
}));
/** A storage pool (loose: unknown fields kept). */
export type LxdStoragePool = Closed<z.infer<typeof StoragePoolSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/storage-pools/{name}`. */
export const StoragePoolPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/storage-pools/{name}` (strict: what lxdkit sends). */
export type StoragePoolPut = Closed<z.infer<typeof StoragePoolPutSchema>>;

/** Strict schema of the body of `POST /1.0/storage-pools`: the PUT fields, the name and the driver. */
export const StoragePoolsPostSchema = lazySchema(() => StoragePoolPutSchema.extend({
  name: z.string(),
  driver: z.string().min(1, 'a storage driver (dir, zfs, btrfs, lvm, ceph, ...) is required'),
}));
/** The body of `POST /1.0/storage-pools` (strict: what lxdkit sends). */
export type StoragePoolsPost = Closed<z.infer<typeof StoragePoolsPostSchema>>;

// ---------------------------------------------------------------- events

/** Loose schema of one message of `GET /1.0/events` before its metadata is parsed by type. */
export const EventSchema = lazySchema(() => z.looseObject({
  type: z.string(),
  timestamp: z.string(),
  metadata: z.unknown(),
  location: z.string().optional(),
  project: z.string().optional(),
}));

/**
 * Loose schema of the metadata of a `lifecycle` event: the action, the source URL, its context and requestor.
 */
export const LifecycleMetadataSchema = lazySchema(() => z.looseObject({
  action: z.string(),
  source: z.string(),
  context: z.record(z.string(), z.unknown()).nullish(),
  requestor: z.looseObject({ username: z.string().optional(), protocol: z.string().optional(), address: z.string().optional() }).nullish(),
  name: z.string().optional(),
  project: z.string().optional(),
}));
/** The metadata of a `lifecycle` event (loose: unknown fields kept). */
export type LifecycleMetadata = Closed<z.infer<typeof LifecycleMetadataSchema>>;

/** Loose schema of the metadata of a `logging` event: a daemon log message, its level and context. */
export const LoggingMetadataSchema = lazySchema(() => z.looseObject({
  message: z.string(),
  level: z.string(),
  context: z.record(z.string(), z.unknown()).nullish(),
}));
/** The metadata of a `logging` event (loose: unknown fields kept). */
export type LoggingMetadata = Closed<z.infer<typeof LoggingMetadataSchema>>;

interface EventBase {
  timestamp: string;
  location?: string | undefined;
  project?: string | undefined;
}
/** An `operation` event: an operation was created or changed; its metadata is the operation. */
export interface OperationEvent extends EventBase { type: 'operation'; metadata: OperationData }
/** A `lifecycle` event: something was created, changed or deleted (`instance-started`, …). */
export interface LifecycleEvent extends EventBase { type: 'lifecycle'; metadata: LifecycleMetadata }
/** A `logging` event: a message of the daemon's log. */
export interface LoggingEvent extends EventBase { type: 'logging'; metadata: LoggingMetadata }
/** Event types newer LXD or Incus send whose metadata lxdkit does not model. */
export interface OtherEvent extends EventBase { type: 'ovn' | 'security' | 'network-acl'; metadata: unknown }
/** Any other event (a type lxdkit does not know, or a known type whose metadata did not parse). */
export interface UnknownEvent extends EventBase { type: 'unknown'; eventType: string; metadata: unknown }
/** An event from `/1.0/events`, discriminated by `type`. */
export type LxdEvent = OperationEvent | LifecycleEvent | LoggingEvent | OtherEvent | UnknownEvent;

// ---------------------------------------------------------------- writable views (GET → PUT)

/** The writable part of an instance, for a GET → modify → PUT round trip (the Go client's `Writable()`). */
export function instanceWritable(inst: LxdInstance): InstancePut {
  return {
    architecture: inst.architecture,
    config: { ...inst.config },
    devices: Object.fromEntries(Object.entries(inst.devices).map(([k, v]) => [k, { ...v }])),
    ephemeral: inst.ephemeral,
    profiles: [...inst.profiles],
    description: inst.description,
    stateful: inst.stateful,
  };
}

/** The writable part of a profile. */
export function profileWritable(p: LxdProfile): ProfilePut {
  return {
    description: p.description,
    config: { ...p.config },
    devices: Object.fromEntries(Object.entries(p.devices).map(([k, v]) => [k, { ...v }])),
  };
}
