/**
 * Juju's `container.NetworkConfig` helpers (container/network.go).
 */
import { z } from 'zod';
import { arrayOf, lazySchema } from '../lazy-schema.js';
import { BridgeNetwork } from './constants.js';
import type { InterfaceInfo, NetworkConfig } from './types.js';
import { InterfaceInfoSchema, parseArg } from './validate.js';

const PartialInterfaceInfo = lazySchema(() => InterfaceInfoSchema.partial());
const Interfaces = arrayOf(InterfaceInfoSchema);
const Mtu = lazySchema(() => z.number().int());

/**
 * An {@link InterfaceInfo} with Go's zero values (`""`, `0`, `false`, empty lists) for every field
 * not given. Lists are fresh copies.
 *
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` for a field of the wrong type
 *   (`interfaceInfo.mtu: expected number, got string`).
 * @example newInterfaceInfo({ interfaceName: 'eth0', parentInterfaceName: 'lxdbr0', configType: 'dhcp' })
 */
export function newInterfaceInfo(partial: Partial<InterfaceInfo> = {}): InterfaceInfo {
  parseArg(PartialInterfaceInfo, partial, 'interfaceInfo');
  const info: InterfaceInfo = {
    deviceIndex: 0,
    macAddress: '',
    interfaceName: '',
    parentInterfaceName: '',
    interfaceType: '',
    configType: '',
    mtu: 0,
    addresses: [],
    dnsServers: [],
    dnsSearchDomains: [],
    gatewayAddress: '',
    routes: [],
    origin: '',
    noAutoStart: false,
    disabled: false,
    virtualPortType: '',
    ...partial,
  };
  info.addresses = info.addresses.map((a) => ({ ...a }));
  info.dnsServers = [...info.dnsServers];
  info.dnsSearchDomains = [...info.dnsSearchDomains];
  info.routes = info.routes.map((r) => ({ ...r }));
  return info;
}

/**
 * Juju `container.FallbackInterfaceInfo()`: exactly one interface, `eth0`, type `ethernet`,
 * config `dhcp`, every other field zero. Note it has no parent: the LXD manager rejects it with
 * `parent interface name is empty` unless the caller fills in `parentInterfaceName`.
 *
 * @example fallbackInterfaceInfo()[0].interfaceName // => 'eth0'
 */
export function fallbackInterfaceInfo(): InterfaceInfo[] {
  return [newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', configType: 'dhcp' })];
}

/**
 * Juju `container.BridgeNetworkConfig(device, mtu, interfaces)`: a `bridge` network config on
 * `device`. Empty or missing `interfaces` are replaced by {@link fallbackInterfaceInfo}, so the
 * result's `interfaces` is never empty.
 *
 * @example bridgeNetworkConfig('lxdbr0', 0) // => { networkType: 'bridge', device: 'lxdbr0', mtu: 0, interfaces: [eth0] }
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` for an argument of the wrong type
 *   (`interfaces[0].interfaceName: expected string, got number`).
 */
export function bridgeNetworkConfig(device: string, mtu: number, interfaces?: readonly InterfaceInfo[] | null): NetworkConfig {
  parseArg(z.string(), device, 'device');
  parseArg(Mtu, mtu, 'mtu');
  if (interfaces !== undefined && interfaces !== null) parseArg(Interfaces, interfaces, 'interfaces');
  return {
    networkType: BridgeNetwork,
    device,
    mtu,
    interfaces: interfaces && interfaces.length > 0 ? [...interfaces] : fallbackInterfaceInfo(),
  };
}
