/**
 * The route table: every (method, path) of LXD 5.0's and Incus 6.0's REST API specs
 * (`../shared/reference/rest-api/`), with the lxdkit method that serves it or why none does. The plain
 * collections contribute their routes from their declarations; the rest are listed here, beside the
 * hand-written methods that serve them. `docs/api.md` is generated from this table
 * (`npm run docs:api`), and `spec/unit/lxd/routes.spec.ts` holds the two against each other and
 * against the specs.
 */
import { collectionRoutes, type CollectionDecl } from './collection.js';
import { BOTH, INCUS_ONLY, type Answer, type HttpMethod, type Route, type Servers } from './route.js';
import { NETWORKS, STORAGE_POOLS } from '../resources/networks.js';
import { NETWORK_ACLS } from '../resources/network-acls.js';
import { NETWORK_FORWARDS, NETWORK_LOAD_BALANCERS } from '../resources/network-forwards.js';
import { NETWORK_INTEGRATIONS, NETWORK_PEERS } from '../resources/network-peers.js';
import { NETWORK_ZONE_RECORDS, NETWORK_ZONES } from '../resources/network-zones.js';
import { PROFILES } from '../resources/profiles.js';
import { PROJECTS } from '../resources/projects.js';
import { CLUSTER_GROUPS } from '../resources/cluster.js';
import { STORAGE_VOLUME_SNAPSHOTS, STORAGE_VOLUMES } from '../resources/storage-volumes.js';
import { CERTIFICATES } from '../resources/certificates.js';
import { WARNINGS } from '../resources/warnings.js';
import { STORAGE_VOLUME_BACKUPS } from '../resources/storage-volume-backups.js';
import { STORAGE_BUCKET_BACKUPS, STORAGE_BUCKET_KEYS, STORAGE_BUCKETS } from '../resources/storage-buckets.js';

interface Extra {
  extension?: string;
  servers?: Servers;
  project?: boolean;
  target?: boolean;
  why?: string;
}

/** A hand-written route: served by `name` (a `client.…` method), or by none (then `why` says why). */
function r(method: HttpMethod, path: string, name: string | undefined, answer: Answer, extra: Extra = {}): Route {
  return { method, path, name, answer, servers: extra.servers ?? BOTH, project: extra.project ?? true, target: extra.target ?? false, extension: extra.extension, why: extra.why };
}

/** A route no typed method serves, and why. */
function none(method: HttpMethod, path: string, why: string, extra: Extra = {}): Route {
  return r(method, path, undefined, 'sync', { ...extra, why });
}

const UNTRUSTED = 'for clients the server does not trust (`?public`); lxdkit always talks as a trusted client';
/** Why a route of the network area is tested on a fake server only. */
const OVN_FAKE = 'needs an OVN network (none on this host): runs on a fake server';

/** The declared plain collections. */
export const COLLECTIONS: readonly CollectionDecl<never, never, never, never>[] = [
  PROFILES,
  NETWORKS,
  STORAGE_POOLS,
  NETWORK_ACLS,
  NETWORK_ZONES,
  NETWORK_ZONE_RECORDS,
  NETWORK_FORWARDS,
  NETWORK_LOAD_BALANCERS,
  NETWORK_PEERS,
  NETWORK_INTEGRATIONS,
  PROJECTS,
  CLUSTER_GROUPS,
] as unknown as CollectionDecl<never, never, never, never>[];

const HAND_WRITTEN: readonly Route[] = [
  // server
  r('GET', '/', undefined, 'sync', { project: false, why: 'lists the API versions (`/1.0` only); nothing to type' }),
  r('GET', '/1.0', 'client.server.get', 'sync', { target: true }),
  r('PUT', '/1.0', 'client.server.update', 'sync', { target: true }),
  r('PATCH', '/1.0', 'client.server.patch', 'sync', { target: true }),
  none('GET', '/1.0?public', UNTRUSTED, { project: false }),
  r('GET', '/1.0/events', 'client.events.subscribe', 'websocket'),
  r('GET', '/1.0/resources', 'client.server.resources', 'sync', { project: false, target: true, extension: 'resources' }),
  r('GET', '/1.0/metrics', 'client.metrics.get', 'raw', { extension: 'metrics', why: 'Prometheus text, parsed strictly into samples' }),
  r('GET', '/1.0/metadata/configuration', 'client.server.configurationMetadata', 'sync', { servers: INCUS_ONLY, project: false, extension: 'metadata_configuration' }),
  // certificates (beyond the collection)
  r('POST', '/1.0/certificates', 'client.certificates.add', 'sync', { project: false, why: 'and `createToken` (`token: true`: an operation whose metadata carries the trust token)' }),
  r('POST', '/1.0/certificates?public', 'client.certificates.add', 'sync', { project: false, why: 'with `token`: redeems a trust token from a client the server does not trust yet (`password` on LXD 5.0, `trust_token` on Incus)' }),
  r('PUT', '/1.0/certificates/{fingerprint}', 'client.certificates.update', 'sync', { project: false, extension: 'certificate_update' }),
  r('PATCH', '/1.0/certificates/{fingerprint}', 'client.certificates.patch', 'sync', { project: false, extension: 'certificate_update' }),
  // cluster
  r('GET', '/1.0/cluster', 'client.cluster.get', 'sync', { project: false }),
  r('PUT', '/1.0/cluster', 'client.cluster.update', 'operation', { project: false, why: 'a join token goes as `cluster_password` to LXD 5.0, as `cluster_token` to Incus' }),
  r('PUT', '/1.0/cluster/certificate', 'client.cluster.updateCertificate', 'sync', { project: false, extension: 'clustering_update_cert', why: 'tested on a fake server only: the host\'s daemons keep their certificates' }),
  r('GET', '/1.0/cluster/members', 'client.cluster.members.list', 'sync', { project: false }),
  r('GET', '/1.0/cluster/members?recursion=1', 'client.cluster.members.list', 'sync', { project: false }),
  r('POST', '/1.0/cluster/members', 'client.cluster.joinTokens.create', 'sync', { project: false, extension: 'clustering_join_token' }),
  r('GET', '/1.0/cluster/members/{name}', 'client.cluster.members.get', 'sync', { project: false }),
  r('PUT', '/1.0/cluster/members/{name}', 'client.cluster.members.update', 'sync', { project: false }),
  r('POST', '/1.0/cluster/members/{name}', 'client.cluster.members.rename', 'sync', { project: false }),
  r('PATCH', '/1.0/cluster/members/{name}', 'client.cluster.members.patch', 'sync', { project: false, why: 'a GET, then a PUT of the merged fields with its ETag: LXD 5.0\'s own PATCH drops the roles left out' }),
  r('DELETE', '/1.0/cluster/members/{name}', 'client.cluster.members.delete', 'sync', { project: false }),
  r('GET', '/1.0/cluster/members/{name}/state', 'client.cluster.members.state', 'sync', { project: false, servers: INCUS_ONLY, extension: 'cluster_member_state' }),
  r('POST', '/1.0/cluster/members/{name}/state', 'client.cluster.members.evacuate', 'operation', { project: false, extension: 'clustering_evacuation', why: '`evacuate` and `restore`' }),
  // images
  r('GET', '/1.0/images', 'client.images.list', 'sync'),
  r('GET', '/1.0/images?recursion=1', 'client.images.list', 'sync'),
  none('GET', '/1.0/images?public', UNTRUSTED),
  none('GET', '/1.0/images?public&recursion=1', UNTRUSTED),
  r('POST', '/1.0/images', 'client.images.import', 'operation', { why: '`upload`, `import` (streamed from disk), `copyFrom` (a remote image server) and `publish` (an instance or a snapshot)' }),
  none('POST', '/1.0/images?public', UNTRUSTED),
  r('GET', '/1.0/images/{fingerprint}', 'client.images.get', 'sync'),
  none('GET', '/1.0/images/{fingerprint}?public', UNTRUSTED),
  r('PUT', '/1.0/images/{fingerprint}', 'client.images.update', 'sync'),
  r('PATCH', '/1.0/images/{fingerprint}', 'client.images.patch', 'sync'),
  r('DELETE', '/1.0/images/{fingerprint}', 'client.images.delete', 'operation'),
  r('GET', '/1.0/images/{fingerprint}/export', 'client.images.export', 'raw', { why: 'streamed into a directory: one file, or two for a split image (metadata first)' }),
  none('GET', '/1.0/images/{fingerprint}/export?public', UNTRUSTED),
  r('POST', '/1.0/images/{fingerprint}/export', 'client.images.push', 'operation', { why: 'pushes the image to another server\'s HTTPS listener: tested against a fake server' }),
  r('POST', '/1.0/images/{fingerprint}/refresh', 'client.images.refresh', 'operation'),
  r('POST', '/1.0/images/{fingerprint}/secret', 'client.images.secret', 'operation', { why: 'a token operation: the secret is read from it, never waited on' }),
  r('GET', '/1.0/images/aliases', 'client.images.listAliases', 'sync'),
  r('GET', '/1.0/images/aliases?recursion=1', 'client.images.listAliases', 'sync'),
  r('POST', '/1.0/images/aliases', 'client.images.createAlias', 'sync'),
  r('GET', '/1.0/images/aliases/{name}', 'client.images.getAlias', 'sync'),
  none('GET', '/1.0/images/aliases/{name}?public', UNTRUSTED),
  r('PUT', '/1.0/images/aliases/{name}', 'client.images.updateAlias', 'sync'),
  r('POST', '/1.0/images/aliases/{name}', 'client.images.renameAlias', 'sync'),
  r('PATCH', '/1.0/images/aliases/{name}', 'client.images.pointAlias', 'sync', { why: 'PUT with the ETag it read (`pointAlias` changes the target, `updateAlias` the rest)' }),
  r('DELETE', '/1.0/images/aliases/{name}', 'client.images.deleteAlias', 'sync'),
  // instances
  r('GET', '/1.0/instances', 'client.instances.list', 'sync'),
  r('GET', '/1.0/instances?recursion=1', 'client.instances.list', 'sync'),
  r('GET', '/1.0/instances?recursion=2', 'client.instances.list', 'sync'),
  r('PUT', '/1.0/instances', 'client.instances.setStateAll', 'operation', { extension: 'instance_bulk_state_change' }),
  r('POST', '/1.0/instances', 'client.instances.create', 'operation', { target: true, why: 'and `createFromBackup` (a backup tarball); `instances.migrate` makes its copy on the target here (`source.type: migration`)' }),
  r('GET', '/1.0/instances/{name}', 'client.instances.get', 'sync'),
  r('GET', '/1.0/instances/{name}?recursion=1', 'client.instances.get', 'sync', { why: 'the instance without its state: `instances.list({ recursion: 2 })` has the full form' }),
  r('PUT', '/1.0/instances/{name}', 'client.instances.update', 'operation'),
  r('POST', '/1.0/instances/{name}', 'client.instances.move', 'operation', { target: true, why: 'to another pool, project or member of the same server; and `rename`; `instances.migrate` sends `migration: true` here, the source side of a copy or move to another server (pull, push or relay)' }),
  r('PATCH', '/1.0/instances/{name}', 'client.instances.patch', 'operation'),
  r('DELETE', '/1.0/instances/{name}', 'client.instances.delete', 'operation'),
  r('GET', '/1.0/instances/{name}/access', undefined, 'sync', { servers: INCUS_ONLY, why: 'who may reach the instance under fine-grained authorization (OpenFGA), which this host does not run' }),
  r('GET', '/1.0/instances/{name}/backups', 'client.instances.backups.list', 'sync'),
  r('GET', '/1.0/instances/{name}/backups?recursion=1', 'client.instances.backups.list', 'sync'),
  r('POST', '/1.0/instances/{name}/backups', 'client.instances.backups.create', 'operation'),
  r('GET', '/1.0/instances/{name}/backups/{backup}', 'client.instances.backups.get', 'sync'),
  r('POST', '/1.0/instances/{name}/backups/{backup}', 'client.instances.backups.rename', 'operation'),
  r('DELETE', '/1.0/instances/{name}/backups/{backup}', 'client.instances.backups.delete', 'operation'),
  r('GET', '/1.0/instances/{name}/backups/{backup}/export', 'client.instances.backups.download', 'raw', { why: 'and `downloadToFile`, `export` (streamed)' }),
  r('GET', '/1.0/instances/{name}/console', 'client.instances.console.log', 'raw'),
  r('POST', '/1.0/instances/{name}/console', 'client.instances.console.attach', 'websocket', { extension: 'console' }),
  r('DELETE', '/1.0/instances/{name}/console', 'client.instances.console.clearLog', 'sync'),
  r('GET', '/1.0/instances/{name}/debug/memory', undefined, 'raw', { servers: INCUS_ONLY, why: 'a virtual machine\'s memory dump (Incus); this host runs no VMs under Incus' }),
  r('GET', '/1.0/instances/{name}/debug/repair', undefined, 'sync', { servers: INCUS_ONLY, why: 'repairs a virtual machine\'s state (Incus); this host runs no VMs under Incus' }),
  r('POST', '/1.0/instances/{name}/exec', 'client.instances.exec', 'websocket', { why: 'and `execOutput`' }),
  r('GET', '/1.0/instances/{name}/files', 'client.instances.files.pull', 'raw', { why: 'and `pullFile`, `list`, `pullRecursive`' }),
  r('HEAD', '/1.0/instances/{name}/files', 'client.instances.files.stat', 'raw'),
  r('POST', '/1.0/instances/{name}/files', 'client.instances.files.push', 'raw', { why: 'and `pushFile`, `mkdir`, `symlink`, `pushRecursive`' }),
  r('DELETE', '/1.0/instances/{name}/files', 'client.instances.files.delete', 'sync'),
  r('GET', '/1.0/instances/{name}/logs', 'client.instances.logs.list', 'sync'),
  r('GET', '/1.0/instances/{name}/logs/{filename}', 'client.instances.logs.read', 'raw', { why: 'and `stream`' }),
  r('DELETE', '/1.0/instances/{name}/logs/{filename}', 'client.instances.logs.delete', 'sync', { why: 'every log file on LXD 5.0; on Incus and LXD ≥ 6.8 all but the exec output files' }),
  r('GET', '/1.0/instances/{name}/logs/exec-output', 'client.instances.logs.list', 'sync', { servers: INCUS_ONLY, why: 'listed with the other log files' }),
  r('GET', '/1.0/instances/{name}/logs/exec-output/{filename}', 'client.instances.logs.read', 'raw', { servers: INCUS_ONLY, why: 'and `stream`: an exec output file on a server that keeps them there' }),
  r('DELETE', '/1.0/instances/{name}/logs/exec-output/{filename}', 'client.instances.logs.delete', 'sync', { servers: INCUS_ONLY, why: 'an exec output file (`exec_*.stdout`, `exec_*.stderr`) on a server that keeps them there' }),
  r('GET', '/1.0/instances/{name}/metadata', 'client.instances.metadata.get', 'sync'),
  r('PUT', '/1.0/instances/{name}/metadata', 'client.instances.metadata.update', 'sync'),
  r('PATCH', '/1.0/instances/{name}/metadata', 'client.instances.metadata.patch', 'sync'),
  r('GET', '/1.0/instances/{name}/metadata/templates', 'client.instances.templates.list', 'sync', { why: 'and `get` (one file, `?path=`)' }),
  r('POST', '/1.0/instances/{name}/metadata/templates', 'client.instances.templates.put', 'sync'),
  r('DELETE', '/1.0/instances/{name}/metadata/templates', 'client.instances.templates.delete', 'sync'),
  r('POST', '/1.0/instances/{name}/rebuild', 'client.instances.rebuild', 'operation', { servers: INCUS_ONLY, extension: 'instances_rebuild' }),
  r('GET', '/1.0/instances/{name}/sftp', undefined, 'websocket', { why: 'an SFTP connection upgrade: `instances.files` and `exec` cover its uses' }),
  r('GET', '/1.0/instances/{name}/snapshots', 'client.instances.snapshots.names', 'sync'),
  r('GET', '/1.0/instances/{name}/snapshots?recursion=1', 'client.instances.snapshots.list', 'sync'),
  r('POST', '/1.0/instances/{name}/snapshots', 'client.instances.snapshots.create', 'operation'),
  r('GET', '/1.0/instances/{name}/snapshots/{snapshot}', 'client.instances.snapshots.get', 'sync'),
  r('PUT', '/1.0/instances/{name}/snapshots/{snapshot}', 'client.instances.snapshots.update', 'operation'),
  r('POST', '/1.0/instances/{name}/snapshots/{snapshot}', 'client.instances.snapshots.rename', 'operation'),
  r('PATCH', '/1.0/instances/{name}/snapshots/{snapshot}', 'client.instances.snapshots.update', 'operation', { why: 'the expiry is the only writable field: `update` sends it with PUT' }),
  r('DELETE', '/1.0/instances/{name}/snapshots/{snapshot}', 'client.instances.snapshots.delete', 'operation'),
  r('GET', '/1.0/instances/{name}/state', 'client.instances.state', 'sync'),
  r('PUT', '/1.0/instances/{name}/state', 'client.instances.setState', 'operation'),
  // networks (beyond the collections)
  r('GET', '/1.0/networks/{name}/leases', 'client.networks.leases', 'sync', { extension: 'network_leases', target: true }),
  r('GET', '/1.0/networks/{name}/state', 'client.networks.state', 'sync', { extension: 'network_state', target: true }),
  r('GET', '/1.0/network-allocations', 'client.networkAllocations.list', 'sync', { extension: 'network_allocations', why: 'and `allProjects`' }),
  r('GET', '/1.0/network-acls/{name}/log', 'client.networkAcls.log', 'raw', { extension: 'network_acl_log', why: 'plain text; only OVN networks log (elsewhere the server answers an error)' }),
  r('GET', '/1.0/networks/{networkName}/load-balancers/{listenAddress}/state', 'client.networkLoadBalancers.state', 'sync', { servers: INCUS_ONLY, extension: 'network_load_balancer_state', why: OVN_FAKE }),
  // operations
  r('GET', '/1.0/operations', 'client.operations.list', 'sync'),
  r('GET', '/1.0/operations?recursion=1', 'client.operations.list', 'sync'),
  r('GET', '/1.0/operations/{id}', 'client.operations.get', 'sync'),
  r('DELETE', '/1.0/operations/{id}', 'client.operations.cancel', 'sync'),
  r('GET', '/1.0/operations/{id}/wait', 'client.operations.attach', 'sync', { why: '`Operation.wait()` uses it when the events websocket is unavailable' }),
  none('GET', '/1.0/operations/{id}/wait?public', UNTRUSTED),
  r('GET', '/1.0/operations/{id}/websocket', 'client.instances.exec', 'websocket', { why: 'the websockets of exec sessions, and of migrations in relay mode (`instances.migrate`, `storageVolumes.migrate`)' }),
  none('GET', '/1.0/operations/{id}/websocket?public', UNTRUSTED),
  // projects
  r('GET', '/1.0/projects/{name}/access', undefined, 'sync', { servers: INCUS_ONLY, project: false, why: 'who may reach the project under fine-grained authorization (OpenFGA), which this host does not run' }),
  r('GET', '/1.0/projects/{name}/state', 'client.projects.state', 'sync', { project: false }),
  // storage (beyond the pool collection)
  r('GET', '/1.0/storage-pools/{name}/resources', 'client.storagePools.resources', 'sync', { project: false, target: true, extension: 'resources' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes', 'client.storageVolumes.list', 'sync', { target: true, why: 'without a `type`: every type' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes?recursion=1', 'client.storageVolumes.list', 'sync', { target: true, why: 'without a `type`: every type' }),
  r('POST', '/1.0/storage-pools/{poolName}/volumes', 'client.storageVolumes.create', 'operation', { target: true }),
  r('POST', '/1.0/storage-pools/{poolName}/volumes/{type}', 'client.storageVolumes.importBackup', 'operation', { target: true, why: 'a custom volume from a backup tarball (`…/volumes/custom`, streamed; needs `custom_volume_backup`), and `storageVolumes.migrate`: the target side of a copy or move from another server (`source.type: migration`); `create` sends a new volume\'s type in its body to `POST …/volumes`' }),
  r('PATCH', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}', 'client.storageVolumes.snapshots.patch', 'operation'),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/state', 'client.storageVolumes.state', 'sync', { target: true }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}/export', 'client.storageVolumes.backups.export', 'raw', { target: true, extension: 'custom_volume_backup', why: 'streamed into a file' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}?recursion=2', 'client.storageVolumes.list', 'sync', { servers: INCUS_ONLY, target: true, extension: 'storage_volume_full', why: 'with `{ type, recursion: 2 }`: each volume with its snapshots, backups and state; Incus 6.0.4 lacks the extension, so this variant runs on a fake server only' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}?recursion=1', 'client.storageVolumes.get', 'sync', { servers: INCUS_ONLY, target: true, extension: 'storage_volume_full', why: 'with `{ recursion: 1 }`: the volume with its snapshots, backups and state; Incus 6.0.4 lacks the extension, so this variant runs on a fake server only' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'client.storageVolumes.files.pull', 'raw', { servers: INCUS_ONLY, extension: 'custom_volume_sftp', why: 'and `pullFile`, `list`, `pullRecursive` (custom volumes; Incus ≥ 6.0.5, so a fake server here)' }),
  r('HEAD', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'client.storageVolumes.files.stat', 'raw', { servers: INCUS_ONLY, extension: 'custom_volume_sftp' }),
  r('POST', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'client.storageVolumes.files.push', 'raw', { servers: INCUS_ONLY, extension: 'custom_volume_sftp', why: 'and `pushFile`, `mkdir`, `symlink`, `pushRecursive`' }),
  r('DELETE', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'client.storageVolumes.files.delete', 'sync', { servers: INCUS_ONLY, extension: 'custom_volume_sftp' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/sftp', undefined, 'websocket', { servers: INCUS_ONLY, extension: 'custom_volume_sftp', why: 'an SFTP connection upgrade: `storageVolumes.files` covers its uses' }),
  // buckets (Incus; tested on a fake server: they need an S3 server, MinIO, that this host does not run)
  r('GET', '/1.0/storage-pools/{poolName}/buckets?recursion=2', 'client.storageBuckets.list', 'sync', { servers: INCUS_ONLY, extension: 'storage_bucket_full', why: 'with `{ recursion: 2 }`: each bucket with its keys and backups; Incus 6.0.4 lacks the extension, so this variant runs on a fake server only' }),
  r('GET', '/1.0/storage-pools/{poolName}/buckets/{bucketName}?recursion=1', 'client.storageBuckets.get', 'sync', { servers: INCUS_ONLY, extension: 'storage_bucket_full', why: 'with `{ recursion: 1 }`: the bucket with its keys and backups; Incus 6.0.4 lacks the extension, so this variant runs on a fake server only' }),
  r('GET', '/1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}/export', 'client.storageBuckets.backups.export', 'raw', { servers: INCUS_ONLY, target: true, extension: 'storage_bucket_backup', why: 'streamed into a file' }),
];


/** Every route, declared collections first. */
/** Declarations whose typed methods take more than their parents' names (a volume's `type` option). */
export const SHAPED: readonly CollectionDecl<never, never, never, never>[] = [STORAGE_VOLUMES, STORAGE_VOLUME_SNAPSHOTS, STORAGE_VOLUME_BACKUPS, STORAGE_BUCKETS, STORAGE_BUCKET_KEYS, STORAGE_BUCKET_BACKUPS, CERTIFICATES, WARNINGS] as unknown as CollectionDecl<never, never, never, never>[];

/**
 * Every route of the API, one per (method, path) of both servers' specs: the declared collections' and the hand-written methods'. `docs/api.md` is written from it.
 */
export const ROUTES: readonly Route[] = [...[...COLLECTIONS, ...SHAPED].flatMap((d) => collectionRoutes(d)), ...HAND_WRITTEN];
