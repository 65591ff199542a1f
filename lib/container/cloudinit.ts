/**
 * cloud-init user-data for containers (Juju cloudconfig/containerinit `CloudInitUserData` and
 * cloudconfig/cloudinit/network_ubuntu.go), reduced to what a container needs without a Juju agent.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { arrayOf } from '../lazy-schema.js';
// The functions here are synchronous, as Juju's are, so YAML loads with the module (a bundled CLI
// evaluates it only when a command that makes containers runs).
import { Document, isMap, isPair, isScalar, isSeq, parse as parseYaml, visit } from 'yaml';
import { ContainerError, ContainerErrorCode } from '../errors.js';
import type { InstanceConfig, InterfaceInfo, NetworkConfig } from './types.js';
import { InstanceConfigSchema, InterfaceInfoSchema, NetworkConfigSchema, parseArg, UserDataSchema } from './validate.js';

const Interfaces = arrayOf(InterfaceInfoSchema);

/**
 * Juju `cloudinit.CloudInitNetworkConfigDisabled`: the value of LXD's `user.network-config` (and
 * KVM's NoCloud `network-config`) that stops cloud-init configuring the network itself, because the
 * user-data writes netplan.
 */
export const CloudInitNetworkConfigDisabled = 'config: "disabled"\n';

/** Where Juju writes the container's netplan configuration. */
export const JujuNetplanFile = '/etc/netplan/99-juju.yaml';

/** The header every rendered user-data starts with. */
export const CloudConfigHeader = '#cloud-config\n';

// Juju's bootcmd that applies netplan (the netplan branch of populateNetworkInterfaces; the ENI
// branch is not ported).
const APPLY_NETPLAN = `
if [ ! -f /sbin/ifup ]; then
    echo "No /sbin/ifup, applying netplan configuration."
    netplan generate
    netplan apply
fi
`;

/** Shell-quotes `s` in single quotes (Juju `utils.ShQuote`). */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

function cidrAddress(info: InterfaceInfo): string {
  const primary = info.addresses[0];
  if (!primary || !primary.cidr || !primary.value) return '';
  const prefix = primary.cidr.split('/')[1];
  return prefix === undefined || prefix === '' ? '' : `${primary.value}/${prefix}`;
}

/**
 * Juju `GenerateNetplan`: the netplan v2 YAML for the interfaces, one `ethernets` entry per
 * interface name: `match` on the MAC (else on the name), `addresses: [cidr]` when the primary
 * address has a CIDR else `dhcp4: true` for dhcp, `gateway4`/`gateway6`, `nameservers`, `mtu` when
 * neither 0 nor 1500, and `routes`.
 *
 * @example generateNetplan([newInterfaceInfo({ interfaceName: 'eth0', macAddress: '00:16:3e:00:00:00', configType: 'dhcp' })])
 * // => 'network:\n  version: 2\n  ethernets:\n    eth0:\n      match:\n        macaddress: 00:16:3e:00:00:00\n      dhcp4: true\n'
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` `missing container network config` for an empty list,
 *   or for a field of the wrong type (`interfaces[0].dnsServers: expected array, got undefined`).
 */
export function generateNetplan(interfaces: readonly InterfaceInfo[]): string {
  parseArg(Interfaces, interfaces, 'interfaces');
  if (interfaces.length === 0) {
    throw new ContainerError(ContainerErrorCode.NOT_VALID, 'missing container network config');
  }
  const ethernets: Record<string, Record<string, unknown>> = {};
  for (const info of interfaces) {
    const iface: Record<string, unknown> = {};
    iface['match'] = info.macAddress !== '' ? { macaddress: info.macAddress } : { name: info.interfaceName };
    const cidr = cidrAddress(info);
    if (cidr !== '') iface['addresses'] = [cidr];
    else if (info.configType === 'dhcp') iface['dhcp4'] = true;
    const gw = info.gatewayAddress;
    if (gw !== '' && isIPv4(gw)) iface['gateway4'] = gw;
    else if (gw !== '' && isIPv6(gw)) iface['gateway6'] = gw;
    const nameservers: Record<string, string[]> = {};
    if (info.dnsSearchDomains.length > 0) nameservers['search'] = [...info.dnsSearchDomains];
    if (info.dnsServers.length > 0) nameservers['addresses'] = [...info.dnsServers];
    if (Object.keys(nameservers).length > 0) iface['nameservers'] = nameservers;
    if (info.mtu !== 0 && info.mtu !== 1500) iface['mtu'] = info.mtu;
    if (info.routes.length > 0) {
      iface['routes'] = info.routes.map((r) => ({ to: r.destinationCidr, via: r.gatewayIp, metric: r.metric }));
    }
    ethernets[info.interfaceName] = iface;
  }
  const sorted = Object.fromEntries(Object.keys(ethernets).sort().map((k) => [k, ethernets[k]]));
  const doc = new Document({ network: { version: 2, ethernets: sorted } });
  // Juju's netplan marshals nameservers as flow sequences: `addresses: [10.0.0.1, 10.0.0.2]`.
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === 'nameservers' && isMap(pair.value)) {
        for (const item of pair.value.items) if (isPair(item) && isSeq(item.value)) item.value.flow = true;
      }
    },
  });
  return doc.toString({ indentSeq: false, lineWidth: 0, flowCollectionPadding: false });
}

function isNonUbuntuSeries(series: string | undefined): boolean {
  return series !== undefined && /^(centos|opensuse|win|genericlinux)/.test(series);
}

/** Parses the caller's user-data: a `#cloud-config` YAML mapping string or a plain object. */
export function parseUserData(userData: string | Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  if (userData === undefined) return {};
  parseArg(UserDataSchema, userData, 'userData');
  if (typeof userData !== 'string') return { ...userData };
  if (userData.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(userData);
  } catch (err) {
    throw new ContainerError(ContainerErrorCode.NOT_VALID, `parsing cloud-init user data: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ContainerError(
      ContainerErrorCode.NOT_VALID,
      'cloud-init user data must be a #cloud-config YAML mapping',
    );
  }
  return parsed as Record<string, unknown>;
}

function authorizedKeys(keys: string | undefined): string[] {
  if (!keys) return [];
  return keys
    .split('\n')
    .map((k) => k.trim())
    .filter((k) => k !== '' && !k.startsWith('#'));
}

/**
 * Merges the caller's user-data into the generated config: lists are appended after the generated
 * entries, Juju's `preruncmd` / `postruncmd` go before / after `runcmd`, other keys replace.
 */
function merge(generated: Record<string, unknown>, user: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...generated };
  const { preruncmd, postruncmd, ...rest } = user;
  for (const [key, value] of Object.entries(rest)) {
    const mine = out[key];
    out[key] = Array.isArray(mine) && Array.isArray(value) ? [...mine, ...value] : value;
  }
  if (preruncmd !== undefined || postruncmd !== undefined) {
    const runcmd = Array.isArray(out['runcmd']) ? (out['runcmd'] as unknown[]) : [];
    const before = Array.isArray(preruncmd) ? preruncmd : preruncmd === undefined ? [] : [preruncmd];
    const after = Array.isArray(postruncmd) ? postruncmd : postruncmd === undefined ? [] : [postruncmd];
    out['runcmd'] = [...before, ...runcmd, ...after];
  }
  return out;
}

/**
 * Juju `containerinit.CloudInitUserData`: the `#cloud-config` user-data of a container.
 *
 * - For a non-empty `networkConfig.interfaces` on an Ubuntu series (any series not starting with
 *   `centos`, `opensuse`, `win`, `genericlinux`): the netplan file `/etc/netplan/99-juju.yaml`
 *   (0644) as a `write_files` entry, and Juju's boot commands that write it and run
 *   `netplan generate` / `netplan apply` on every boot when `/sbin/ifup` is absent.
 * - `hostname` when `instanceConfig.machineContainerHostname` is set (the KVM manager sets it).
 * - `ssh_authorized_keys` from `instanceConfig.authorizedKeys` (one key per line).
 * - `instanceConfig.userData` (YAML string or object) merged in: lists appended, `preruncmd` /
 *   `postruncmd` put around `runcmd`, other keys replaced.
 *
 * Keys are rendered in sorted order, as Juju's YAML marshalling does.
 *
 * @example
 * cloudInitUserData({ machineId: '0' }, bridgeNetworkConfig('lxdbr0', 0, [eth0]))
 * // => '#cloud-config\nbootcmd:\n- install -D -m 644 /dev/null \'/etc/netplan/99-juju.yaml\'\n…'
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` when `userData` is not a YAML mapping, or a field
 *   of either argument has the wrong type (`network.interfaces[0].interfaceName: expected string, got number`).
 */
export function cloudInitUserData(instanceConfig: InstanceConfig, networkConfig?: NetworkConfig | null): string {
  parseArg(InstanceConfigSchema, instanceConfig, 'instanceConfig');
  if (networkConfig !== undefined && networkConfig !== null) parseArg(NetworkConfigSchema, networkConfig, 'network');
  const user = parseUserData(instanceConfig.userData);
  const generated: Record<string, unknown> = {};
  const interfaces = networkConfig?.interfaces ?? [];
  if (interfaces.length > 0 && !isNonUbuntuSeries(instanceConfig.series)) {
    const netplan = generateNetplan(interfaces);
    generated['bootcmd'] = [
      `install -D -m 644 /dev/null ${shQuote(JujuNetplanFile)}`,
      `printf '%s\\n' ${shQuote(netplan)} > ${shQuote(JujuNetplanFile)}`,
      APPLY_NETPLAN,
    ];
    generated['write_files'] = [{ path: JujuNetplanFile, permissions: '0644', content: netplan }];
  }
  if (instanceConfig.machineContainerHostname) generated['hostname'] = instanceConfig.machineContainerHostname;
  const keys = authorizedKeys(instanceConfig.authorizedKeys);
  if (keys.length > 0) generated['ssh_authorized_keys'] = keys;
  const merged = merge(generated, user);
  const sorted = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
  if (Object.keys(sorted).length === 0) return `${CloudConfigHeader}{}\n`;
  return CloudConfigHeader + new Document(sorted).toString({ indentSeq: false, lineWidth: 0, flowCollectionPadding: false });
}
