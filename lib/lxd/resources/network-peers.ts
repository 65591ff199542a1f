/**
 * `/1.0/networks/{network}/peers` (peerings between OVN networks, or with a network integration) and
 * `/1.0/network-integrations` (Incus: OVN interconnection), declared as plain collections. Peers need
 * OVN networks; an integration is stored without contacting OVN (a peering through it needs OVN).
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { NullableStringMap } from '../wire-maps.js';
import type { Closed } from '../../closed.js';
import { NestedCollection, RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH, INCUS_ONLY } from '../routes/route.js';
import type { Api } from './base.js';

const ConfigMap = lazySchema(() => z.record(z.string(), z.string({ error: 'config values must be strings (LXD stores every value as a string)' })));

// ---- peers

/** Loose schema of a network peering (`GET /1.0/networks/{network}/peers/{name}`). */
export const NetworkPeerSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  target_project: z.string().default(''),
  target_network: z.string().default(''),
  /** `Pending` until the other side peers back, then `Created`; `Errored` on failure. */
  status: z.string().default(''),
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
  /** Incus: `local` (another network of this server) or `remote` (through a network integration). */
  type: z.string().optional(),
  target_integration: z.string().optional(),
}));
/** A network peering (loose: unknown fields kept). */
export type LxdNetworkPeer = Closed<z.infer<typeof NetworkPeerSchema>>;

/**
 * Strict schema of the body of `PUT`/`PATCH /1.0/networks/{network}/peers/{name}`: description and config.
 */
export const NetworkPeerPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH …/peers/{name}` (strict: what lxdkit sends). */
export type NetworkPeerPut = Closed<z.infer<typeof NetworkPeerPutSchema>>;

/**
 * Strict schema of the body of `POST /1.0/networks/{network}/peers`: a name and the network (or Incus integration) to peer with.
 */
export const NetworkPeersPostSchema = lazySchema(() => NetworkPeerPutSchema.extend({
  name: z.string(),
  /** The project of the network to peer with (default: the network's own). */
  target_project: z.string().min(1).optional(),
  /** The network to peer with (a local peering). */
  target_network: z.string().min(1).optional(),
  /** Incus: `local` (default) or `remote`. */
  type: z.enum(['local', 'remote']).optional(),
  /** Incus: the network integration of a remote peering. */
  target_integration: z.string().min(1).optional(),
}));
/** The body of `POST /1.0/networks/{network}/peers` (strict: what lxdkit sends). */
export type NetworkPeersPost = Closed<z.infer<typeof NetworkPeersPostSchema>>;

/** `/1.0/networks/{network}/peers`, declared. */
export const NETWORK_PEERS: CollectionDecl<LxdNetworkPeer, NetworkPeersPost, NetworkPeerPut> = {
  name: 'client.networkPeers',
  path: '/1.0/networks/{networkName}/peers',
  itemPath: '/1.0/networks/{networkName}/peers/{peerName}',
  what: 'network peer',
  parents: ['network name'],
  schema: NetworkPeerSchema,
  post: NetworkPeersPostSchema,
  put: NetworkPeerPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  writes: 'sync-or-operation',
  project: true,
  extension: 'network_peer',
  servers: BOTH,
  listVariants: ['?recursion=1'],
  note: 'needs OVN networks (none on this host): its writes run on a fake server',
};

/** `client.networkPeers` (extension `network_peer`; OVN networks): `list(network)`, `get(network, peer)`, `create(network, body)`, … */
export class NetworkPeersResource extends NestedCollection<LxdNetworkPeer, NetworkPeersPost, NetworkPeerPut> {
  constructor(api: Api) {
    super(api, NETWORK_PEERS);
  }
}

// ---- integrations

/** Loose schema of a network integration (Incus, `GET /1.0/network-integrations/{name}`). */
export const NetworkIntegrationSchema = lazySchema(() => z.looseObject({
  name: z.string(),
  description: z.string().default(''),
  config: NullableStringMap,
  /** `ovn`. */
  type: z.string(),
  used_by: z.array(z.string()).nullish().transform((v) => v ?? []),
}));
/** A network integration (loose: unknown fields kept). */
export type LxdNetworkIntegration = Closed<z.infer<typeof NetworkIntegrationSchema>>;

/** Strict schema of the body of `PUT`/`PATCH /1.0/network-integrations/{name}`: description and config. */
export const NetworkIntegrationPutSchema = lazySchema(() => z.strictObject({
  description: z.string().optional(),
  config: ConfigMap.optional(),
}));
/** The body of `PUT`/`PATCH /1.0/network-integrations/{name}` (strict: what lxdkit sends). */
export type NetworkIntegrationPut = Closed<z.infer<typeof NetworkIntegrationPutSchema>>;

/** Strict schema of the body of `POST /1.0/network-integrations`: a name and the type (`ovn`). */
export const NetworkIntegrationsPostSchema = lazySchema(() => NetworkIntegrationPutSchema.extend({
  name: z.string(),
  type: z.literal('ovn', { error: 'the only network integration type is "ovn"' }),
}));
/** The body of `POST /1.0/network-integrations` (strict: what lxdkit sends). */
export type NetworkIntegrationsPost = Closed<z.infer<typeof NetworkIntegrationsPostSchema>>;

/** `/1.0/network-integrations`, declared (server-wide: no project). */
export const NETWORK_INTEGRATIONS: CollectionDecl<LxdNetworkIntegration, NetworkIntegrationsPost, NetworkIntegrationPut> = {
  name: 'client.networkIntegrations',
  path: '/1.0/network-integrations',
  itemPath: '/1.0/network-integrations/{integration}',
  what: 'network integration',
  schema: NetworkIntegrationSchema,
  post: NetworkIntegrationsPostSchema,
  put: NetworkIntegrationPutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  project: false,
  extension: 'network_integrations',
  servers: INCUS_ONLY,
  listVariants: ['?recursion=1'],
};

/** `client.networkIntegrations` (Incus, extension `network_integrations`): OVN interconnection, a plain collection with rename. */
export class NetworkIntegrationsResource extends RenamableCollection<LxdNetworkIntegration, NetworkIntegrationsPost, NetworkIntegrationPut> {
  constructor(api: Api) {
    super(api, NETWORK_INTEGRATIONS);
  }
}
