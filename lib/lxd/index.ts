export * from './errors.js';
export * from './schemas.js';
export { LxdClient, EventsResource, type LxdClientOptions, type QueryOptions } from './client.js';
export { EventSubscription, parseEvent, type EventSubscriptionEvents, type EventGap, type EventType, type SubscribeOptions, type ReconnectOptions } from './events.js';
export { Operation, isFinal, progressOf, type OperationProgress, type WaitOptions, DEFAULT_OPERATION_TIMEOUT_MS } from './operation.js';
export { resolveSocketPath, DEBIAN_SOCKET, SNAP_SOCKET, INCUS_SOCKET, INCUS_RUN_SOCKET, type ServerKind } from './socket.js';
export { serverHeader } from './headers.js';
export { LOCAL_ORIGIN, DEFAULT_TIMEOUT_MS, type TlsOptions } from './transport.js';
export { lxdPath, segment, nameFromUrl, namesFromUrls, type QueryValue, type UrlSource } from './path.js';
export {
  validateInstanceName,
  validateProfileName,
  validateNetworkName,
  validatePoolName,
} from './validate.js';
export type { CallOptions, EtagOptions, TargetOptions, WithEtag, QueryResult } from './resources/base.js';
export type { InstanceListOptions, StateChange, InstancesResource } from './resources/instances.js';
export { InstanceMovePostSchema, InstancesStatePutSchema, InstanceRebuildPostSchema, type MoveTarget, type RebuildSource } from './resources/instances.js';
export {
  InstanceMetadataSchema,
  InstanceMetadataPutSchema,
  ImageTemplateSchema,
  validateTemplateName,
  type LxdInstanceMetadata,
  type InstanceMetadataPut,
  type InstanceMetadata,
  type InstanceTemplates,
} from './resources/instance-metadata.js';
export { ExecProcess, DEFAULT_MAX_OUTPUT_BYTES, type ExecInput, type ExecOptions, type ExecOutput, type ExecOutputOptions, type ExecResult } from './resources/instance-exec.js';
export type { InstanceConsole, InstanceLogs, ConsoleSession, ConsoleAttachOptions } from './resources/console.js';
export {
  parseMode,
  validateInstancePath,
  type FileInfo,
  type FileType,
  type InstanceFiles,
  type MkdirOptions,
  type PulledFile,
  type PushData,
  type PushOptions,
  type PushRecursiveOptions,
  type RecursiveOptions,
  type TransferOptions,
  type TransferProgress,
  type TreeTransfer,
  type TreePull,
  type PullWarning,
  DEFAULT_STALL_TIMEOUT_MS,
} from './resources/instance-files.js';
export { SnapshotSchema, validateSnapshotName, type LxdSnapshot, type SnapshotCreate, type InstanceSnapshots } from './resources/snapshots.js';
export { BackupSchema, type LxdBackup, type BackupCreate, type CreateFromBackupOptions, type DownloadedBackup, type ExportOptions, type InstanceBackups } from './resources/backups.js';
export type { ListOptions, ProfilesResource } from './resources/profiles.js';
export type { ImageFiles, ImportOptions, UploadOptions, UploadProgress, RemoteImageSource, CopyOptions, ImagesResource } from './resources/images.js';
export {
  NetworkStateSchema,
  StoragePoolResourcesSchema,
  type LxdStoragePoolResources,
  NetworkLeaseSchema,
  NetworkAllocationSchema,
  type LxdNetworkState,
  type LxdNetworkLease,
  type LxdNetworkAllocation,
  type NetworksResource,
  type NetworkAllocationsResource,
  type StoragePoolsResource,
} from './resources/networks.js';
export {
  NetworkAclSchema,
  NetworkAclPutSchema,
  NetworkAclsPostSchema,
  type LxdNetworkAcl,
  type LxdNetworkAclRule,
  type NetworkAclRule,
  type NetworkAclPut,
  type NetworkAclsPost,
  type NetworkAclsResource,
} from './resources/network-acls.js';
export {
  NetworkZoneSchema,
  NetworkZonePutSchema,
  NetworkZonesPostSchema,
  NetworkZoneRecordSchema,
  NetworkZoneRecordPutSchema,
  NetworkZoneRecordsPostSchema,
  type LxdNetworkZone,
  type NetworkZonePut,
  type NetworkZonesPost,
  type LxdNetworkZoneRecord,
  type NetworkZoneRecordEntry,
  type NetworkZoneRecordPut,
  type NetworkZoneRecordsPost,
  type NetworkZonesResource,
  type NetworkZoneRecordsResource,
} from './resources/network-zones.js';
export {
  NetworkForwardSchema,
  NetworkForwardPutSchema,
  NetworkForwardsPostSchema,
  NetworkLoadBalancerSchema,
  NetworkLoadBalancerPutSchema,
  NetworkLoadBalancersPostSchema,
  NetworkLoadBalancerStateSchema,
  validateListenAddress,
  type LxdNetworkForward,
  type NetworkForwardPort,
  type NetworkForwardPut,
  type NetworkForwardsPost,
  type LxdNetworkLoadBalancer,
  type NetworkLoadBalancerPut,
  type NetworkLoadBalancersPost,
  type LxdNetworkLoadBalancerState,
  type NetworkForwardsResource,
  type NetworkLoadBalancersResource,
} from './resources/network-forwards.js';
export {
  NetworkPeerSchema,
  NetworkPeerPutSchema,
  NetworkPeersPostSchema,
  NetworkIntegrationSchema,
  NetworkIntegrationPutSchema,
  NetworkIntegrationsPostSchema,
  type LxdNetworkPeer,
  type NetworkPeerPut,
  type NetworkPeersPost,
  type LxdNetworkIntegration,
  type NetworkIntegrationPut,
  type NetworkIntegrationsPost,
  type NetworkPeersResource,
  type NetworkIntegrationsResource,
} from './resources/network-peers.js';
export { ImagePublishPostSchema, ImageExportPostSchema, type PublishRequest, type PublishSource, type ImagePushTarget, type ImageSecret } from './resources/images.js';
export type { ExportedFile } from './resources/image-export.js';
export type { OperationsResource } from './resources/operations.js';
export { ServerResourcesSchema, ConfigurationMetadataSchema, type LxdServerResources, type LxdConfigurationMetadata, type ServerResource } from './resources/server.js';
export {
  CertificateSchema,
  CertificatesPostSchema,
  CertificatePutSchema,
  CertificatePatchSchema,
  type LxdCertificate,
  type CertificatesPost,
  type CertificatePut,
  type CertificatePatch,
  type CertificateToken,
  decodeCertificateToken,
  type DecodedCertificateToken,
  type CreateTokenOptions,
  type CertificatesResource,
} from './resources/certificates.js';
export { WarningSchema, WarningPutSchema, WarningStatuses, type LxdWarning, type WarningPut, type WarningStatus, type WarningsResource } from './resources/warnings.js';
export { parseMetrics, MetricTypes, type MetricSample, type MetricType, type ParsedMetrics } from './metrics-text.js';
export type { LxdMetrics, MetricsResource } from './resources/metrics.js';
export {
  ProjectSchema,
  ProjectPutSchema,
  ProjectsPostSchema,
  ProjectStateSchema,
  projectFeatures,
  validateProjectName,
  type LxdProject,
  type ProjectPut,
  type ProjectsPost,
  type LxdProjectState,
  type ProjectsResource,
} from './resources/projects.js';
export {
  ClusterSchema,
  ClusterPutSchema,
  ClusterCertificatePutSchema,
  ClusterMemberSchema,
  ClusterMemberPutSchema,
  ClusterMemberStateSchema,
  ClusterGroupSchema,
  ClusterGroupPutSchema,
  ClusterGroupsPostSchema,
  clusterMemberWritable,
  type LxdCluster,
  type ClusterPut,
  type ClusterCertificatePut,
  type LxdClusterMember,
  type ClusterMemberPut,
  type LxdClusterMemberState,
  type LxdClusterGroup,
  type ClusterGroupPut,
  type ClusterGroupsPost,
  type ClusterJoinToken,
  type MemberListOptions,
  type ClusterResource,
  type ClusterMembersResource,
  type ClusterGroupsResource,
  type ClusterJoinTokensResource,
} from './resources/cluster.js';
export {
  StorageVolumeSchema,
  StorageVolumePutSchema,
  StorageVolumesPostSchema,
  StorageVolumeStateSchema,
  StorageVolumeSnapshotSchema,
  StorageVolumeFullSchema,
  StorageVolumeTypes,
  validateVolumeName,
  type LxdStorageVolume,
  type StorageVolumePut,
  type StorageVolumesPost,
  type LxdStorageVolumeState,
  type LxdStorageVolumeSnapshot,
  type LxdStorageVolumeFull,
  type StorageVolumeType,
  type VolumeOptions,
  type VolumeListOptions,
  type StorageVolumesResource,
  type StorageVolumeSnapshots,
} from './resources/storage-volumes.js';
export { StorageVolumeBackupSchema, StorageVolumeBackupsPostSchema, type LxdStorageVolumeBackup, type StorageVolumeBackupCreate, type ImportVolumeBackupOptions, type StorageVolumeBackups } from './resources/storage-volume-backups.js';
export {
  StorageBucketSchema,
  StorageBucketPutSchema,
  StorageBucketsPostSchema,
  StorageBucketKeySchema,
  StorageBucketKeyPutSchema,
  StorageBucketKeysPostSchema,
  StorageBucketBackupSchema,
  StorageBucketFullSchema,
  StorageBucketKeyRoles,
  validateBucketName,
  type LxdStorageBucket,
  type StorageBucketPut,
  type StorageBucketsPost,
  type LxdStorageBucketKey,
  type StorageBucketKeyPut,
  type StorageBucketKeysPost,
  type LxdStorageBucketBackup,
  type LxdStorageBucketFull,
  type StorageBucketsResource,
  type StorageBucketKeys,
  type StorageBucketBackups,
} from './resources/storage-buckets.js';
export { Collection, RenamableCollection, NestedCollection, RenamableNestedCollection, type CollectionDecl, type Verb } from './routes/collection.js';
export { ROUTES } from './routes/table.js';
export { MigrationModes, MigrationInstancesPostSchema, MigrationVolumesPostSchema, type MigrationMode, type MigrationProgress, type MigrationResult, type MigrateOptions, type InstanceMigrateOptions, type VolumeMigrateOptions } from './resources/migration.js';
export type { Route as ApiRoute, Answer, HttpMethod, Servers } from './routes/route.js';
