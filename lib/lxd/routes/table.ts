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
import { PROFILES } from '../resources/profiles.js';
import { STORAGE_VOLUME_SNAPSHOTS, STORAGE_VOLUMES } from '../resources/storage-volumes.js';

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
const LATER = 'not typed yet (planned): reachable through `client.query()`';
const NO_S3 = 'storage buckets need an S3 server (MinIO) this host does not run; not typed yet, reachable through `client.query()`';
const OVN_INTEGRATIONS = 'network integrations need OVN interconnection; not typed yet, reachable through `client.query()`';

/** The declared plain collections. */
export const COLLECTIONS: readonly CollectionDecl<never, never, never, never>[] = [PROFILES, NETWORKS, STORAGE_POOLS] as unknown as CollectionDecl<never, never, never, never>[];

const HAND_WRITTEN: readonly Route[] = [
  // server
  r('GET', '/', undefined, 'sync', { project: false, why: 'lists the API versions (`/1.0` only); nothing to type' }),
  r('GET', '/1.0', 'client.server.get', 'sync', { target: true }),
  r('PUT', '/1.0', 'client.server.update', 'sync', { target: true }),
  r('PATCH', '/1.0', 'client.server.patch', 'sync', { target: true }),
  none('GET', '/1.0?public', UNTRUSTED, { project: false }),
  r('GET', '/1.0/events', 'client.events.subscribe', 'websocket'),
  r('GET', '/1.0/resources', undefined, 'sync', { project: false, target: true, why: LATER }),
  r('GET', '/1.0/metrics', undefined, 'raw', { extension: 'metrics', why: LATER }),
  r('GET', '/1.0/metadata/configuration', undefined, 'sync', { servers: INCUS_ONLY, project: false, why: 'the server\'s configuration key documentation (Incus); reachable through `client.query()`' }),
  // certificates
  r('GET', '/1.0/certificates', 'client.certificates.list', 'sync', { project: false }),
  r('GET', '/1.0/certificates?recursion=1', 'client.certificates.list', 'sync', { project: false }),
  r('POST', '/1.0/certificates', 'client.certificates.add', 'sync', { project: false }),
  none('POST', '/1.0/certificates?public', UNTRUSTED, { project: false }),
  r('GET', '/1.0/certificates/{fingerprint}', undefined, 'sync', { project: false, why: LATER }),
  r('PUT', '/1.0/certificates/{fingerprint}', undefined, 'sync', { project: false, why: LATER }),
  r('PATCH', '/1.0/certificates/{fingerprint}', undefined, 'sync', { project: false, why: LATER }),
  r('DELETE', '/1.0/certificates/{fingerprint}', 'client.certificates.delete', 'sync', { project: false }),
  // cluster
  r('GET', '/1.0/cluster', 'client.cluster.get', 'sync', { project: false }),
  r('PUT', '/1.0/cluster', 'client.cluster.update', 'operation', { project: false, why: 'a join token goes as `cluster_password` to LXD 5.0, as `cluster_token` to Incus' }),
  r('PUT', '/1.0/cluster/certificate', undefined, 'sync', { project: false, extension: 'clustering_update_cert', why: LATER }),
  r('GET', '/1.0/cluster/groups', 'client.cluster.groups.list', 'sync', { project: false, extension: 'clustering_groups' }),
  r('GET', '/1.0/cluster/groups?recursion=1', 'client.cluster.groups.list', 'sync', { project: false, extension: 'clustering_groups' }),
  r('POST', '/1.0/cluster/groups', 'client.cluster.groups.create', 'sync', { project: false, extension: 'clustering_groups' }),
  r('GET', '/1.0/cluster/groups/{name}', 'client.cluster.groups.get', 'sync', { project: false, extension: 'clustering_groups' }),
  r('PUT', '/1.0/cluster/groups/{name}', 'client.cluster.groups.update', 'sync', { project: false, extension: 'clustering_groups' }),
  r('POST', '/1.0/cluster/groups/{name}', 'client.cluster.groups.rename', 'sync', { project: false, extension: 'clustering_groups' }),
  r('PATCH', '/1.0/cluster/groups/{name}', 'client.cluster.groups.patch', 'sync', { project: false, extension: 'clustering_groups' }),
  r('DELETE', '/1.0/cluster/groups/{name}', 'client.cluster.groups.delete', 'sync', { project: false, extension: 'clustering_groups' }),
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
  r('POST', '/1.0/instances', 'client.instances.create', 'operation', { target: true, why: 'and `createFromBackup` (a backup tarball)' }),
  r('GET', '/1.0/instances/{name}', 'client.instances.get', 'sync'),
  r('GET', '/1.0/instances/{name}?recursion=1', 'client.instances.get', 'sync', { why: 'the instance without its state: `instances.list({ recursion: 2 })` has the full form' }),
  r('PUT', '/1.0/instances/{name}', 'client.instances.update', 'operation'),
  r('POST', '/1.0/instances/{name}', 'client.instances.move', 'operation', { target: true, why: 'to another pool, project or member of the same server; and `rename`' }),
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
  // networks (beyond the collection)
  r('GET', '/1.0/networks/{name}/leases', undefined, 'sync', { extension: 'network_leases', target: true, why: LATER }),
  r('GET', '/1.0/networks/{name}/state', undefined, 'sync', { extension: 'network_state', target: true, why: LATER }),
  r('GET', '/1.0/network-allocations', undefined, 'sync', { extension: 'network_allocations', why: LATER }),
  // network ACLs, zones, forwards, load balancers, peers, integrations
  ...['GET /1.0/network-acls', 'GET /1.0/network-acls?recursion=1', 'POST /1.0/network-acls', 'GET /1.0/network-acls/{name}', 'PUT /1.0/network-acls/{name}', 'POST /1.0/network-acls/{name}', 'PATCH /1.0/network-acls/{name}', 'DELETE /1.0/network-acls/{name}', 'GET /1.0/network-acls/{name}/log'].map((p) => untyped(p, { extension: 'network_acl' })),
  ...[
    'GET /1.0/network-zones', 'GET /1.0/network-zones?recursion=1', 'POST /1.0/network-zones', 'GET /1.0/network-zones/{zone}', 'PUT /1.0/network-zones/{zone}', 'PATCH /1.0/network-zones/{zone}', 'DELETE /1.0/network-zones/{zone}',
    'GET /1.0/network-zones/{zone}/records', 'GET /1.0/network-zones/{zone}/records?recursion=1', 'POST /1.0/network-zones/{zone}/records', 'GET /1.0/network-zones/{zone}/records/{name}', 'PUT /1.0/network-zones/{zone}/records/{name}', 'PATCH /1.0/network-zones/{zone}/records/{name}', 'DELETE /1.0/network-zones/{zone}/records/{name}',
  ].map((p) => untyped(p, { extension: 'network_dns' })),
  ...[
    'GET /1.0/networks/{networkName}/forwards', 'GET /1.0/networks/{networkName}/forwards?recursion=1', 'POST /1.0/networks/{networkName}/forwards', 'GET /1.0/networks/{networkName}/forwards/{listenAddress}', 'PUT /1.0/networks/{networkName}/forwards/{listenAddress}', 'PATCH /1.0/networks/{networkName}/forwards/{listenAddress}', 'DELETE /1.0/networks/{networkName}/forwards/{listenAddress}',
  ].map((p) => untyped(p, { extension: 'network_forward' })),
  ...[
    'GET /1.0/networks/{networkName}/load-balancers', 'GET /1.0/networks/{networkName}/load-balancers?recursion=1', 'POST /1.0/networks/{networkName}/load-balancers', 'GET /1.0/networks/{networkName}/load-balancers/{listenAddress}', 'PUT /1.0/networks/{networkName}/load-balancers/{listenAddress}', 'PATCH /1.0/networks/{networkName}/load-balancers/{listenAddress}', 'DELETE /1.0/networks/{networkName}/load-balancers/{listenAddress}', 'GET /1.0/networks/{networkName}/load-balancers/{listenAddress}/state',
  ].map((p) => untyped(p, { extension: 'network_load_balancer', servers: INCUS_ONLY })),
  ...[
    'GET /1.0/networks/{networkName}/peers', 'GET /1.0/networks/{networkName}/peers?recursion=1', 'POST /1.0/networks/{networkName}/peers', 'GET /1.0/networks/{networkName}/peers/{peerName}', 'PUT /1.0/networks/{networkName}/peers/{peerName}', 'PATCH /1.0/networks/{networkName}/peers/{peerName}', 'DELETE /1.0/networks/{networkName}/peers/{peerName}',
  ].map((p) => untyped(p, { extension: 'network_peer' })),
  ...[
    'GET /1.0/network-integrations', 'GET /1.0/network-integrations?recursion=1', 'POST /1.0/network-integrations', 'GET /1.0/network-integrations/{integration}', 'PUT /1.0/network-integrations/{integration}', 'POST /1.0/network-integrations/{integration}', 'PATCH /1.0/network-integrations/{integration}', 'DELETE /1.0/network-integrations/{integration}',
  ].map((p) => untyped(p, { extension: 'network_integrations', servers: INCUS_ONLY, why: OVN_INTEGRATIONS })),
  // operations
  r('GET', '/1.0/operations', 'client.operations.list', 'sync'),
  r('GET', '/1.0/operations?recursion=1', 'client.operations.list', 'sync'),
  r('GET', '/1.0/operations/{id}', 'client.operations.get', 'sync'),
  r('DELETE', '/1.0/operations/{id}', 'client.operations.cancel', 'sync'),
  r('GET', '/1.0/operations/{id}/wait', 'client.operations.attach', 'sync', { why: '`Operation.wait()` uses it when the events websocket is unavailable' }),
  none('GET', '/1.0/operations/{id}/wait?public', UNTRUSTED),
  r('GET', '/1.0/operations/{id}/websocket', 'client.instances.exec', 'websocket', { why: 'the websockets of exec sessions' }),
  none('GET', '/1.0/operations/{id}/websocket?public', UNTRUSTED),
  // projects
  r('GET', '/1.0/projects', 'client.projects.list', 'sync', { project: false }),
  r('GET', '/1.0/projects?recursion=1', 'client.projects.list', 'sync', { project: false }),
  r('POST', '/1.0/projects', 'client.projects.create', 'sync', { project: false }),
  r('GET', '/1.0/projects/{name}', 'client.projects.get', 'sync', { project: false }),
  r('PUT', '/1.0/projects/{name}', 'client.projects.update', 'sync', { project: false }),
  r('POST', '/1.0/projects/{name}', 'client.projects.rename', 'operation', { project: false }),
  r('PATCH', '/1.0/projects/{name}', 'client.projects.patch', 'sync', { project: false, why: 'a GET, then a PUT of the merged config with its ETag: both servers\' PATCH replaces the whole config' }),
  r('DELETE', '/1.0/projects/{name}', 'client.projects.delete', 'sync', { project: false }),
  r('GET', '/1.0/projects/{name}/access', undefined, 'sync', { servers: INCUS_ONLY, project: false, why: 'who may reach the project under fine-grained authorization (OpenFGA), which this host does not run' }),
  r('GET', '/1.0/projects/{name}/state', 'client.projects.state', 'sync', { project: false }),
  // storage (beyond the pool collection)
  r('GET', '/1.0/storage-pools/{name}/resources', undefined, 'sync', { target: true, why: LATER }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes', 'client.storageVolumes.list', 'sync', { target: true, why: 'without a `type`: every type' }),
  r('GET', '/1.0/storage-pools/{poolName}/volumes?recursion=1', 'client.storageVolumes.list', 'sync', { target: true, why: 'without a `type`: every type' }),
  r('POST', '/1.0/storage-pools/{poolName}/volumes', 'client.storageVolumes.create', 'operation', { target: true }),
  none('POST', '/1.0/storage-pools/{poolName}/volumes/{type}', 'the same handler as `POST …/volumes` with the type in the path: `storageVolumes.create` sends the type in the body'),
  none('PATCH', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}', 'the description and the expiry are a snapshot\'s only writable fields: `storageVolumes.snapshots.update` sends both with PUT'),
  r('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/state', 'client.storageVolumes.state', 'sync', { target: true }),
  ...[
    'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups', 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups?recursion=1', 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups',
    'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}', 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}', 'DELETE /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}', 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}/export',
  ].map((p) => untyped(p, { extension: 'custom_volume_backup' })),
  none('GET', '/1.0/storage-pools/{poolName}/volumes/{type}?recursion=2', 'the volumes with their state (Incus): `storageVolumes.list` and `state`', { servers: INCUS_ONLY }),
  none('GET', '/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}?recursion=1', 'the volume with its state (Incus): `storageVolumes.get` and `state`', { servers: INCUS_ONLY }),
  ...[
    'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'DELETE /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'HEAD /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/files', 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/sftp',
  ].map((p) => untyped(p, { servers: INCUS_ONLY, extension: 'custom_volume_sftp', why: 'files of a custom volume over SFTP (Incus); not typed yet, reachable through `client.query()`' })),
  ...[
    'GET /1.0/storage-pools/{poolName}/buckets', 'GET /1.0/storage-pools/{poolName}/buckets?recursion=1', 'GET /1.0/storage-pools/{poolName}/buckets?recursion=2', 'POST /1.0/storage-pools/{poolName}/buckets',
    'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}', 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}?recursion=1', 'PUT /1.0/storage-pools/{name}/buckets/{bucketName}', 'PATCH /1.0/storage-pools/{name}/buckets/{bucketName}', 'DELETE /1.0/storage-pools/{name}/buckets/{bucketName}',
    'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys', 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys?recursion=1', 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys',
    'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys/{keyName}', 'PUT /1.0/storage-pools/{name}/buckets/{bucketName}/keys/{keyName}', 'DELETE /1.0/storage-pools/{name}/buckets/{bucketName}/keys/{keyName}',
    'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups', 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups?recursion=1', 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups',
    'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}', 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}', 'DELETE /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}', 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}/export',
  ].map((p) => untyped(p, { servers: INCUS_ONLY, extension: 'storage_buckets', why: NO_S3 })),
  // warnings
  ...['GET /1.0/warnings', 'GET /1.0/warnings?recursion=1', 'GET /1.0/warnings/{uuid}', 'PUT /1.0/warnings/{uuid}', 'PATCH /1.0/warnings/{uuid}', 'DELETE /1.0/warnings/{uuid}'].map((p) => untyped(p, { extension: 'warnings' })),
];

function untyped(pair: string, extra: Extra): Route {
  const [method, path] = pair.split(' ') as [HttpMethod, string];
  const answer: Answer = method === 'GET' ? 'sync' : 'sync-or-operation';
  return r(method, path, undefined, answer, { ...extra, why: extra.why ?? LATER });
}

/** Every route, declared collections first. */
/** Declarations whose typed methods take more than their parents' names (a volume's `type` option). */
export const SHAPED: readonly CollectionDecl<never, never, never, never>[] = [STORAGE_VOLUMES, STORAGE_VOLUME_SNAPSHOTS] as unknown as CollectionDecl<never, never, never, never>[];

export const ROUTES: readonly Route[] = [...[...COLLECTIONS, ...SHAPED].flatMap((d) => collectionRoutes(d)), ...HAND_WRITTEN];
