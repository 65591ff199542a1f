/**
 * Constants of Juju's container/kvm package (juju-2.9.16), with Juju's values.
 */

/** Where guest disks, data-source ISOs and backing files live (`<DataDir>/kvm/guests`). */
export const GuestDir = '/var/lib/juju/kvm/guests';
/** The libvirt `dir` storage pool over {@link GuestDir}. */
export const PoolName = 'juju-pool';
/** Juju's default log dir (`agent.DefaultPaths.LogDir`), the default of the `log-dir` key. */
export const DefaultLogDir = '/var/log/juju';
/** The user libvirt runs QEMU as on Ubuntu and Debian; the initialiser gives it the guest dir. */
export const LibvirtUser = 'libvirt-qemu';
/** The device whose presence makes the domain type `kvm` rather than `qemu`. */
export const KvmDevice = '/dev/kvm';
/** NoCloud file names in the container directory. */
export const MetadataFile = 'meta-data';
export const UserDataFile = 'user-data';
export const NetworkConfigFile = 'network-config';
export { ConfigContainerImageMetadataURL as ConfigImageMetadataURL, ConfigContainerImageStream as ConfigImageStream } from '../constants.js';
/** Name of the logger Juju's KVM package logs on. */
export const KvmLoggerName = 'juju.container.kvm';
