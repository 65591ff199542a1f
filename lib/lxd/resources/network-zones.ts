/**
 * `/1.0/network-zones` (DNS zones the server serves for its networks) and their records
 * (`/1.0/network-zones/{zone}/records`), declared as plain collections. A zone is served only once
 * the server has `core.dns_address`; creating and editing zones and records needs no address.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { Collection, NestedCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import type { Api } from './base.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

/** Loose schema of a network (DNS) zone (`GET /1.0/network-zones/{zone}`). */
export const NetworkZoneSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
  /** Incus only. */
  project: z.string().optional(),
}));
/** A network zone (loose: unknown fields kept). */
export type LxdNetworkZone = Closed<z.infer<typeof NetworkZoneSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/network-zones/{zone}`: description and config. */
export const NetworkZonePutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/network-zones/{zone}` (strict: what lxdkit sends). */
export type NetworkZonePut = Closed<z.infer<typeof NetworkZonePutSchema>>;

/** Strict schema of the body of `POST /1.0/network-zones`: the PUT fields and a name. */
export const NetworkZonesPostSchema = lazySchema(() => NetworkZonePutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/network-zones` (strict: what lxdkit sends). */
export type NetworkZonesPost = Closed<z.infer<typeof NetworkZonesPostSchema>>;

/** One DNS entry of a record, as the server sends it. */
export const NetworkZoneRecordEntrySchema = lazySchema(() => z.looseObject({
  type: z.string(),
  value: z.string(),
  ttl: z.number().optional(),
}));

/** Loose schema of a zone record (`GET /1.0/network-zones/{zone}/records/{name}`): its DNS entries. */
export const NetworkZoneRecordSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  entries: z.array(NetworkZoneRecordEntrySchema).nullish().transform((v) => v ?? []),
  config: NullableStringMap,
}));
/** A network zone record (loose: unknown fields kept). */
export type LxdNetworkZoneRecord = Closed<z.infer<typeof NetworkZoneRecordSchema>>;

/** One DNS entry, as lxdkit sends it: `{ type: 'A', value: '192.0.2.1', ttl?: 300 }`. */
export const NetworkZoneRecordEntryInputSchema = lazySchema(() => z.strictObject({
  type: z.string().min(1),
  value: z.string().min(1),
  ttl: z.number().int().nonnegative().optional(),
}));
/** One DNS entry of a record, as lxdkit sends it (strict); `ttl` in seconds. */
export type NetworkZoneRecordEntry = Closed<z.infer<typeof NetworkZoneRecordEntryInputSchema>>;

/** Strict schema of the body of `PUT`/`PATCH …/records/{name}`: description, entries, config. */
export const NetworkZoneRecordPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  entries: z.array(NetworkZoneRecordEntryInputSchema).optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH …/records/{name}` (strict: what lxdkit sends). */
export type NetworkZoneRecordPut = Closed<z.infer<typeof NetworkZoneRecordPutSchema>>;

/** Strict schema of the body of `POST /1.0/network-zones/{zone}/records`: the PUT fields and a name. */
export const NetworkZoneRecordsPostSchema = lazySchema(() => NetworkZoneRecordPutSchema.extend({ name: z.string() }));
/** The body of `POST /1.0/network-zones/{zone}/records` (strict: what lxdkit sends). */
export type NetworkZoneRecordsPost = Closed<z.infer<typeof NetworkZoneRecordsPostSchema>>;

/** `/1.0/network-zones`, declared. */
export const NETWORK_ZONES: CollectionDecl<LxdNetworkZone, NetworkZonesPost, NetworkZonePut> = {
  name: 'client.networkZones',
  path: '/1.0/network-zones',
  itemPath: '/1.0/network-zones/{zone}',
  what: 'network zone',
  schema: NetworkZoneSchema,
  post: NetworkZonesPostSchema,
  put: NetworkZonePutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  project: true,
  extension: 'network_dns',
  // both servers' PATCH merges the config but resets the description left out
  mergePatch: true,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** `/1.0/network-zones/{zone}/records`, declared. */
export const NETWORK_ZONE_RECORDS: CollectionDecl<LxdNetworkZoneRecord, NetworkZoneRecordsPost, NetworkZoneRecordPut> = {
  name: 'client.networkZones.records',
  path: '/1.0/network-zones/{zone}/records',
  itemPath: '/1.0/network-zones/{zone}/records/{name}',
  what: 'network zone record',
  parents: ['network zone name'],
  schema: NetworkZoneRecordSchema,
  post: NetworkZoneRecordsPostSchema,
  put: NetworkZoneRecordPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  project: true,
  extension: 'network_dns_records',
  // both servers' PATCH merges the *zone's* config into the record (refused when the zone has keys a
  // record cannot have) and resets the description and the entries left out
  mergePatch: true,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/**
 * `client.networkZones.records` (extension `network_dns_records`): `list(zone)`, `get(zone, name)`,
 * `create(zone, body)`, `update`, `patch`, `delete`. `patch` merges through a GET and a PUT with its
 * ETag: LXD 5.0.2's and Incus 6.0's own PATCH merge the zone's config into the record.
 */
export class NetworkZoneRecordsResource extends NestedCollection<LxdNetworkZoneRecord, NetworkZoneRecordsPost, NetworkZoneRecordPut> {
  constructor(api: Api) {
    super(api, NETWORK_ZONE_RECORDS);
  }
}

/**
 * `client.networkZones` (extension `network_dns`): list, get (with its ETag), create, update, patch
 * (a GET and a merged PUT: the servers' PATCH resets the description left out), delete; and `records`.
 */
export class NetworkZonesResource extends Collection<LxdNetworkZone, NetworkZonesPost, NetworkZonePut> {
  readonly records: NetworkZoneRecordsResource;

  constructor(api: Api) {
    super(api, NETWORK_ZONES);
    this.records = new NetworkZoneRecordsResource(api);
  }
}
