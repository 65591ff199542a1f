/**
 * Juju's `container` package (juju-2.9.16): constants, directories, ManagerConfig, network and
 * storage config, Namespace, and the helpers the LXD and KVM managers share.
 */
export type {
  Address,
  Constraints,
  CreateContainerResult,
  HardwareCharacteristics,
  Initialiser,
  Instance,
  InstanceConfig,
  InstanceStatus,
  InterfaceInfo,
  LXDProfileManager,
  LXDProfileNameRetriever,
  Manager,
  NetworkConfig,
  Route,
  Status,
  StatusCallback,
  StorageConfig,
  TestLXDManager,
} from './types.js';
export {
  BridgeNetwork,
  ConfigAvailabilityZone,
  ConfigContainerImageMetadataURL,
  ConfigContainerImageStream,
  ConfigLXDSnapChannel,
  ConfigLogDir,
  ConfigModelUUID,
  ContainerDir,
  ContainerLoggerName,
  RemovedContainerDir,
  StatusProvisioning,
  StatusProvisioningError,
  StatusRunning,
  StatusStopped,
} from './constants.js';
// The container package's error family and Go helpers live below it (lxdprofile throws them too).
export { ContainerError, ContainerErrorCode } from '../errors.js';
export { GoNumError, goAtoi, goQuote } from '../go-compat.js';
export { newDirectory, removeDirectory, validateContainerName, type DirectoryOptions } from './directory.js';
export { ManagerConfig } from './manager-config.js';
export { bridgeNetworkConfig, fallbackInterfaceInfo, newInterfaceInfo } from './network.js';
export { containersSupported, runningInContainer, type RunningInContainerOptions } from './utils.js';
export { MachineTag, Namespace, isValidMachineId, isValidModelUUID } from './namespace.js';
export { AMD64, ARM, ARM64, I386, PPC64EL, S390X, hostArch, normaliseArch } from './arch.js';
export {
  VirtualMacPrefix,
  devicesFromInterfaceInfo,
  generateVirtualMacAddress,
  interfaceInfoFromDevices,
  newNicDevice,
  type DevicesFromInterfaceInfoResult,
  type LxdDevice,
  type LxdDevices,
  type RandomBytes,
} from './nic.js';
export {
  KvmDefaultCpu,
  KvmDefaultDisk,
  KvmDefaultMemory,
  KvmMinCpu,
  KvmMinDisk,
  KvmMinMemory,
  applyLxdConstraints,
  lxdSupportsMiB,
  parseConstraintsToStartParams,
  validateConstraints,
  type KvmStartParams,
  type LxdConstraintSpec,
} from './constraints.js';
export {
  CloudConfigHeader,
  CloudInitNetworkConfigDisabled,
  JujuNetplanFile,
  cloudInitUserData,
  generateNetplan,
  parseUserData,
  shQuote,
} from './cloudinit.js';
export {
  AddressSchema,
  ConstraintsSchema,
  InstanceConfigSchema,
  InterfaceInfoSchema,
  LxdDevicesSchema,
  NetworkConfigSchema,
  RouteSchema,
  UserDataSchema,
  validateCreateArgs,
  type CreateArgs,
} from './validate.js';
export type { CreationProgress, CreationStage, CreateOptions } from './progress.js';
