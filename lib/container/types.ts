/**
 * Shared types of the container package (Juju's `container`, `core/instance`, `core/network`,
 * `core/constraints`, `environs` status callback), used by the LXD and KVM managers.
 */
import type { Namespace } from './namespace.js';
import type { ProfilePost, Profile } from '../lxdprofile/profile.js';

/** Juju's `core/network.Address` subset that the NIC and cloud-init code reads. */
export interface Address {
  value: string;
  /** CIDR of the subnet the address is in, e.g. "10.0.0.0/24". Empty when unknown. */
  cidr?: string;
  type?: 'ipv4' | 'ipv6' | 'hostname';
  scope?: string;
  configType?: string;
}

/** Juju's `core/network.Route`. */
export interface Route {
  destinationCidr: string;
  gatewayIp: string;
  metric: number;
}

/** Juju's `core/network.InterfaceInfo`: the fields the NIC, netplan and libvirt code read. */
export interface InterfaceInfo {
  deviceIndex: number;
  macAddress: string;
  interfaceName: string;
  parentInterfaceName: string;
  /** "ethernet", "loopback", "bond", "bridge", "vlan_8021q", ... */
  interfaceType: string;
  /** "dhcp", "static", "manual", "loopback", "" */
  configType: string;
  mtu: number;
  addresses: Address[];
  dnsServers: string[];
  dnsSearchDomains: string[];
  gatewayAddress: string;
  routes: Route[];
  providerId?: string;
  vlanTag?: number;
  origin: string;
  noAutoStart: boolean;
  disabled: boolean;
  virtualPortType: string;
}

/** How the container network is configured (Juju's `container.NetworkConfig`). */
export interface NetworkConfig {
  networkType: string;
  device: string;
  mtu: number;
  interfaces: InterfaceInfo[];
}

/** Juju's `container.StorageConfig`. Neither manager reads it (as in Juju). */
export interface StorageConfig {
  allowMount: boolean;
}

/** Juju's constraints value subset used by the managers. Sizes in MiB, as Juju. */
export interface Constraints {
  mem?: number;
  cores?: number;
  rootDisk?: number;
  rootDiskSource?: string;
  instanceType?: string;
  arch?: string;
  /** Accepted and ignored with an INFO log by the KVM manager. */
  container?: string;
  cpuPower?: number;
  tags?: string[];
}

/** What the managers need from Juju's `instancecfg.InstanceConfig`. */
export interface InstanceConfig {
  machineId: string;
  /** cloud-init user-data: a `#cloud-config` YAML string, or an object merged into the generated config. */
  userData?: string | Record<string, unknown>;
  /** LXD profiles to apply (Juju's broker passes `["default", ...charm profiles]`). */
  profiles?: string[];
  /** Hostname written into cloud-init (`hostname:`); KVM sets it, LXD does not. */
  machineContainerHostname?: string;
  /** Series for cloud-init; defaults to the series argument of createContainer. */
  series?: string;
  /** SSH keys added to the default user by cloud-init. */
  authorizedKeys?: string;
}

/** Juju's `status.Status` values the managers report. */
export type Status = 'allocating' | 'provisioning error' | 'running' | 'stopped' | '';

/** Juju's `environs.StatusCallbackFunc`. Return values are ignored, as in Juju. */
export type StatusCallback = (status: Status, info: string, data?: Record<string, unknown>) => unknown;

/** Juju's `instance.HardwareCharacteristics` (sizes in MiB). */
export interface HardwareCharacteristics {
  arch?: string;
  mem?: number;
  rootDisk?: number;
  cpuCores?: number;
  availabilityZone?: string;
}

/** Status of an instance as Juju reports it. */
export interface InstanceStatus {
  status: Status;
  message: string;
}

/** Juju's `instances.Instance`. */
export interface Instance {
  /** The container or domain name. */
  readonly id: string;
  /** `lxd:<name>` or `kvm:<name>`. */
  toString(): string;
  status(opts?: { signal?: AbortSignal }): Promise<InstanceStatus>;
}

/** What `createContainer()` resolves to: the instance and its hardware characteristics. */
export interface CreateContainerResult {
  instance: Instance;
  hardware: HardwareCharacteristics;
}

/** Juju's `container.Manager`. */
export interface Manager {
  createContainer(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network?: NetworkConfig,
    storage?: StorageConfig,
    callback?: StatusCallback,
  ): Promise<CreateContainerResult>;
  destroyContainer(id: string): Promise<void>;
  listContainers(): Promise<Instance[]>;
  isInitialized(): boolean;
  namespace(): Namespace;
}

/** Juju's `container.Initialiser`. */
export interface Initialiser {
  initialise(): Promise<void>;
}

/** Juju's `container.LXDProfileManager`. */
export interface LXDProfileManager {
  assignLXDProfiles(instId: string, profileNames: string[], profilePosts: ProfilePost[]): Promise<string[]>;
  maybeWriteLXDProfile(name: string, profile: Profile): Promise<void>;
}

/** Juju's `container.LXDProfileNameRetriever`. */
export interface LXDProfileNameRetriever {
  lxdProfileNames(instId: string): Promise<string[]>;
}

/** Juju's `container.TestLXDManager`: all three. */
export interface TestLXDManager extends Manager, LXDProfileManager, LXDProfileNameRetriever {}
