/**
 * Juju's container/kvm: KVM guests through libvirt (`virsh`, `qemu-img`, `genisoimage`).
 */
export { KvmManager, type KvmManagerOptions } from './manager.js';
export { KvmInitialiser, kvmPackages, kvmPrograms, type KvmInitialiserOptions } from './initialiser.js';
export { KvmInstance } from './instance.js';
export {
  Arm64Firmware,
  domainXml,
  validateDomainParams,
  type DiskInfo,
  type DomainInterface,
  type DomainParams,
} from './domain-xml.js';
export {
  BIOSFType,
  DefaultImageSource,
  UEFIFType,
  backingFilePath,
  ensureCachedImage,
  humanizeBytes,
  imageFType,
  type EnsureImageParams,
  type ImageCacheOptions,
} from './image-cache.js';
export {
  DefaultCommandTimeoutMs,
  DefaultLibvirtUri,
  Virsh,
  lookPath,
  runCommand,
  type CommandResult,
  type CommandRunner,
  type DomainRow,
  type PoolInfo,
  type RunOptions,
  type VirshOptions,
} from './virsh.js';
export { KvmCommandError, KvmError, KvmErrorCode } from './errors.js';
export {
  DefaultLogDir,
  GuestDir,
  KvmDevice,
  LibvirtUser,
  PoolName,
} from './constants.js';
