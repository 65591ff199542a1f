export * from './errors.js';
export * from './schemas.js';
export { LxdClient, EventsResource, type LxdClientOptions, type QueryOptions } from './client.js';
export { EventSubscription, parseEvent, type EventGap, type EventType, type SubscribeOptions, type ReconnectOptions } from './events.js';
export { Operation, isFinal, progressOf, type OperationProgress, type WaitOptions, DEFAULT_OPERATION_TIMEOUT_MS } from './operation.js';
export { resolveSocketPath, DEBIAN_SOCKET, SNAP_SOCKET, INCUS_SOCKET, INCUS_RUN_SOCKET, type ServerKind } from './socket.js';
export { serverHeader } from './headers.js';
export { LOCAL_ORIGIN, DEFAULT_TIMEOUT_MS, type TlsOptions } from './transport.js';
export { lxdPath, segment, nameFromUrl, namesFromUrls, type UrlSource } from './path.js';
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
export { ImagePublishPostSchema, ImageExportPostSchema, type PublishRequest, type PublishSource, type ImagePushTarget, type ImageSecret } from './resources/images.js';
export type { ExportedFile } from './resources/image-export.js';
export type { NetworksResource, StoragePoolsResource } from './resources/networks.js';
export type { OperationsResource } from './resources/operations.js';
export type { ServerResource } from './resources/server.js';
export { CertificateSchema, CertificatesPostSchema, type LxdCertificate, type CertificatesPost, type CertificatesResource } from './resources/certificates.js';
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
  ClusterMemberSchema,
  ClusterMemberPutSchema,
  ClusterMemberStateSchema,
  ClusterGroupSchema,
  ClusterGroupPutSchema,
  ClusterGroupsPostSchema,
  clusterMemberWritable,
  type LxdCluster,
  type ClusterPut,
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
  StorageVolumeTypes,
  validateVolumeName,
  type LxdStorageVolume,
  type StorageVolumePut,
  type StorageVolumesPost,
  type LxdStorageVolumeState,
  type LxdStorageVolumeSnapshot,
  type StorageVolumeType,
  type VolumeOptions,
  type VolumeListOptions,
  type StorageVolumesResource,
  type StorageVolumeSnapshots,
} from './resources/storage-volumes.js';
export { Collection, RenamableCollection, NestedCollection, RenamableNestedCollection, type CollectionDecl, type Verb } from './routes/collection.js';
export { ROUTES } from './routes/table.js';
export type { Route as ApiRoute, Answer, HttpMethod, Servers } from './routes/route.js';
