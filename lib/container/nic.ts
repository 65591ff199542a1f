/**
 * LXD NIC devices from Juju interface info and back (container/lxd/network.go).
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { goAtoi, goQuote } from '../go-compat.js';
import { arrayOf } from '../lazy-schema.js';
import { newInterfaceInfo } from './network.js';
import type { InterfaceInfo } from './types.js';
import { InterfaceInfoSchema, LxdDevicesSchema, parseArg } from './validate.js';

const Interfaces = arrayOf(InterfaceInfoSchema);

/** An LXD device: string keys to string values (`type`, `nictype`, `parent`, …). */
export type LxdDevice = Record<string, string>;
/** LXD devices keyed by device name. */
export type LxdDevices = Record<string, LxdDevice>;

/** A source of random bytes; tests inject a fixed one. */
export type RandomBytes = (size: number) => Uint8Array;

/** The Xen OUI Juju (and LXD) use for generated MAC addresses. */
export const VirtualMacPrefix = '00:16:3e';

/**
 * Juju `GenerateVirtualMACAddress`: `00:16:3e:xx:xx:xx` with three random bytes, lowercase hex.
 * Pass `random` to make it deterministic (Juju's tests patch it to give `00:16:3e:00:00:00`).
 *
 * @example generateVirtualMacAddress()                          // => e.g. '00:16:3e:5a:0c:f1'
 * @example generateVirtualMacAddress((n) => new Uint8Array(n)) // => '00:16:3e:00:00:00'
 */
export function generateVirtualMacAddress(random: RandomBytes = cryptoRandomBytes): string {
  const bytes = random(3);
  if (bytes.length < 3) throw new RangeError('random source returned fewer than 3 bytes');
  const tail = Array.from(bytes.subarray(0, 3), (b) => b.toString(16).padStart(2, '0'));
  return [VirtualMacPrefix, ...tail].join(':');
}

/**
 * Juju `newNICDevice`: `{ type: 'nic', nictype: 'bridged', name, parent }`, plus `hwaddr` when
 * `mac` is non-empty and `mtu` (as a string) when `mtu > 0`. No `host_name` (Juju ≥ 2.9.15).
 *
 * @example newNicDevice('eth1', 'br-eth1', 'aa:bb:cc:dd:ee:f0', 9000)
 * // => { type: 'nic', nictype: 'bridged', name: 'eth1', parent: 'br-eth1', hwaddr: 'aa:bb:cc:dd:ee:f0', mtu: '9000' }
 */
export function newNicDevice(name: string, parent: string, mac: string, mtu: number): LxdDevice {
  const device: LxdDevice = { type: 'nic', nictype: 'bridged', name, parent };
  if (mac !== '') device['hwaddr'] = mac;
  if (mtu > 0) device['mtu'] = String(mtu);
  return device;
}

/** Result of {@link devicesFromInterfaceInfo}. */
export interface DevicesFromInterfaceInfoResult {
  devices: LxdDevices;
  /** Parent names of the interfaces whose primary address has no CIDR, in input order (may repeat). */
  unknownParents: string[];
}

/**
 * Juju `DevicesFromInterfaceInfo`: one bridged NIC per interface, keyed by interface name.
 * Loopback interfaces are skipped; an interface whose primary (first) address has no CIDR still
 * gets its device, and its parent is reported in `unknownParents`.
 *
 * @example
 * devicesFromInterfaceInfo([newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', parentInterfaceName: 'lxdbr0' })])
 * // => { devices: { eth0: { type: 'nic', nictype: 'bridged', name: 'eth0', parent: 'lxdbr0' } }, unknownParents: ['lxdbr0'] }
 * @throws ContainerError `CONTAINER_ERR_NOT_SUPPORTED` `interface type "<t>" not supported`, or
 *   `CONTAINER_ERR_NOT_VALID` `parent interface name is empty`, or a field of the wrong type
 *   (`interfaces[0].mtu: expected an integer, got 1.5`).
 */
export function devicesFromInterfaceInfo(interfaces: readonly InterfaceInfo[]): DevicesFromInterfaceInfoResult {
  parseArg(Interfaces, interfaces, 'interfaces');
  const devices: LxdDevices = {};
  const unknownParents: string[] = [];
  for (const info of interfaces) {
    if (info.interfaceType === 'loopback') continue;
    if (info.interfaceType !== 'ethernet') {
      throw new ContainerError(
        ContainerErrorCode.NOT_SUPPORTED,
        `interface type ${goQuote(info.interfaceType)} not supported`,
      );
    }
    if (info.parentInterfaceName === '') {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, 'parent interface name is empty');
    }
    if ((info.addresses[0]?.cidr ?? '') === '') unknownParents.push(info.parentInterfaceName);
    devices[info.interfaceName] = newNicDevice(info.interfaceName, info.parentInterfaceName, info.macAddress, info.mtu);
  }
  return { devices, unknownParents };
}

/**
 * Juju `InterfaceInfoFromDevices`: interface info for NIC devices (e.g. those of the `default`
 * profile) so cloud-init can match them: name, `parent`, `hwaddr`, config `dhcp`, origin
 * `provider`, and `mtu` when present. Sorted by interface name (code-unit order).
 *
 * @example interfaceInfoFromDevices({ eth0: { type: 'nic', parent: 'lxdbr0', hwaddr: '00:16:3e:00:00:00' } })
 * // => [{ interfaceName: 'eth0', parentInterfaceName: 'lxdbr0', macAddress: '00:16:3e:00:00:00', configType: 'dhcp', origin: 'provider', … }]
 * @throws ContainerError `CONTAINER_ERR_PARSE`: `parsing device MTU: strconv.Atoi: parsing "x": invalid syntax`;
 *   `CONTAINER_ERR_NOT_VALID` when `devices` is not a map of maps of strings.
 */
export function interfaceInfoFromDevices(devices: Readonly<LxdDevices>): InterfaceInfo[] {
  parseArg(LxdDevicesSchema, devices, 'devices');
  const interfaces: InterfaceInfo[] = [];
  for (const [name, device] of Object.entries(devices)) {
    const info = newInterfaceInfo({
      interfaceName: name,
      parentInterfaceName: device['parent'] ?? '',
      macAddress: device['hwaddr'] ?? '',
      configType: 'dhcp',
      origin: 'provider',
    });
    const mtu = device['mtu'] ?? '';
    if (mtu !== '') {
      try {
        info.mtu = goAtoi(mtu);
      } catch (err) {
        throw new ContainerError(ContainerErrorCode.PARSE, `parsing device MTU: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    interfaces.push(info);
  }
  return interfaces.sort((a, b) => (a.interfaceName < b.interfaceName ? -1 : a.interfaceName > b.interfaceName ? 1 : 0));
}
