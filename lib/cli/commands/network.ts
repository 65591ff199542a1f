/**
 * `lxdkit network list|show|create|delete|set|get|edit|attach|detach`, and `network acl|zone|forward
 * list|show|create|delete|edit`, named as `lxc` names them.
 */
import type { LxdNetworkAcl, NetworkAclPut } from '../../lxd/resources/network-acls.js';
import { validateListenAddress, type LxdNetworkForward, type NetworkForwardPut } from '../../lxd/resources/network-forwards.js';
import type { LxdNetworkZone, NetworkZonePut } from '../../lxd/resources/network-zones.js';
import type { LxdNetwork } from '../../lxd/schemas.js';
import { validateInstanceName, validateNetworkName, validateSegment } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { terminalSafe } from '../log-pretty.js';
import { editedYaml, listFormat, parseEditYaml, parseKeyValues, parseSetArgs, renderList, showYaml, stringMap } from '../resource-output.js';
import { attachDevice, detachDevice } from './devices.js';

/** `--format` of a list command. */
export interface ListOptions {
  format?: string;
}

/** `create` options: `--type` and `--description`. */
export interface CreateOptions {
  type?: string;
  description?: string;
}

const networkColumns = [
  { header: 'name', value: (n: LxdNetwork) => n.name },
  { header: 'type', value: (n: LxdNetwork) => n.type },
  { header: 'managed', value: (n: LxdNetwork) => (n.managed ? 'YES' : 'NO') },
  { header: 'ipv4', value: (n: LxdNetwork) => n.config['ipv4.address'] ?? '' },
  { header: 'ipv6', value: (n: LxdNetwork) => n.config['ipv6.address'] ?? '' },
  { header: 'description', value: (n: LxdNetwork) => n.description },
  { header: 'used by', value: (n: LxdNetwork) => n.used_by.length, right: true },
  { header: 'state', value: (n: LxdNetwork) => n.status.toUpperCase() },
];

/** A network as `lxc network show` prints it. */
function networkShape(n: LxdNetwork): Record<string, unknown> {
  return { config: n.config, description: n.description, name: n.name, type: n.type, used_by: n.used_by, managed: n.managed, status: n.status, locations: n.locations ?? [] };
}

export async function networkList(ctx: CliContext, o: ListOptions): Promise<void> {
  const format = listFormat(ctx, o.format);
  const nets = await ctx.client().networks.list({ signal: ctx.signal });
  nets.sort((a, b) => a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(nets, networkColumns, format, networkShape));
}

export async function networkShow(ctx: CliContext, name: string): Promise<void> {
  validateNetworkName(name);
  const { value } = await ctx.client().networks.get(name, { signal: ctx.signal });
  ctx.print(networkShape(value), () => showYaml(networkShape(value)));
}

/**
 * Checks `network create` before any I/O. A bridge (the default type) must be given its addresses
 * (`ipv4.address` and `ipv6.address`, `none` for none): LXD and Incus would otherwise pick a
 * subnet on their own, and lxdkit never gives a bridge an address it was not told to.
 */
export function checkNetworkCreate(name: string, config: Record<string, string>, type: string | undefined): void {
  validateNetworkName(name);
  if ((type ?? 'bridge') !== 'bridge') return;
  const missing = ['ipv4.address', 'ipv6.address'].filter((k) => !(k in config));
  if (missing.length) {
    throw new CliError(ExitCode.USAGE, `network ${name}: give ${missing.map((k) => `${k}=`).join(' and ')} (an address, or "none"): without it the server picks a subnet of its own`);
  }
  for (const k of ['ipv4.address', 'ipv6.address']) {
    if (config[k] === 'auto') throw new CliError(ExitCode.USAGE, `network ${name}: ${k}=auto lets the server pick a subnet; give an address or "none"`);
  }
}

export async function networkCreate(ctx: CliContext, name: string, pairs: string[], o: CreateOptions): Promise<void> {
  const config = parseKeyValues(pairs);
  checkNetworkCreate(name, config, o.type);
  await ctx.client().networks.create({ name, config, description: o.description ?? '', ...(o.type ? { type: o.type } : {}) }, { signal: ctx.signal });
  ctx.print({ created: name }, () => `network ${name} created\n`);
}

export async function networkDelete(ctx: CliContext, name: string): Promise<void> {
  validateNetworkName(name);
  await ctx.client().networks.delete(name, { signal: ctx.signal });
  ctx.print({ deleted: name }, () => `network ${name} deleted\n`);
}

/** `set NAME KEY VALUE` or `set NAME KEY=VALUE…`: a GET and a PUT with its ETag; an empty value unsets the key. */
export async function networkSet(ctx: CliContext, name: string, args: string[]): Promise<void> {
  validateNetworkName(name);
  const change = parseSetArgs(args);
  const nets = ctx.client().networks;
  const { value, etag } = await nets.get(name, { signal: ctx.signal });
  const config = { ...value.config };
  for (const [k, v] of Object.entries(change)) {
    if (v === '') delete config[k];
    else config[k] = v;
  }
  await nets.update(name, { config, description: value.description }, { etag, signal: ctx.signal });
  ctx.print({ network: name, set: change }, () => '');
}

export async function networkGet(ctx: CliContext, name: string, key: string): Promise<void> {
  validateNetworkName(name);
  if (key === '') throw new CliError(ExitCode.USAGE, 'give a config key');
  const { value } = await ctx.client().networks.get(name, { signal: ctx.signal });
  const v = Object.hasOwn(value.config, key) ? value.config[key]! : '';
  ctx.print({ [key]: v }, () => `${terminalSafe(v)}\n`);
}

/**
 * The shared `edit` loop: shows `shape(value)` as YAML (in `$EDITOR`, or reads a piped stdin), and
 * writes `toPut(parsed)` back with the ETag the object was read with: someone else's change in
 * between exits 5 and nothing is overwritten.
 */
export async function editObject<T, P>(
  ctx: CliContext,
  what: string,
  read: () => Promise<{ value: T; etag: string | undefined }>,
  shape: (v: T) => unknown,
  toPut: (doc: Record<string, unknown>) => P,
  write: (body: P, etag: string | undefined) => Promise<unknown>,
): Promise<void> {
  const { value, etag } = await read();
  const text = await editedYaml(ctx, showYaml(shape(value)), what);
  if (text === null) {
    ctx.print({ edited: what, changed: false }, () => `${what}: unchanged\n`);
    return;
  }
  const body = toPut(parseEditYaml(text, what));
  await write(body, etag);
  ctx.print({ edited: what, changed: true }, () => '');
}

function description(doc: Record<string, unknown>, what: string): string | undefined {
  const d = doc['description'];
  if (d === undefined || d === null) return undefined;
  if (typeof d !== 'string') throw new CliError(ExitCode.INVALID_INPUT, `${what}: description must be a string`);
  return d;
}

/** The writable part of edited YAML: `description` and `config` (what `show` adds beside them is ignored). */
function plainPut(doc: Record<string, unknown>, what: string): { description?: string; config?: Record<string, string> } {
  const out: { description?: string; config?: Record<string, string> } = {};
  const d = description(doc, what);
  if (d !== undefined) out.description = d;
  out.config = stringMap(doc['config'], 'config', what) ?? {};
  return out;
}

export async function networkEdit(ctx: CliContext, name: string): Promise<void> {
  validateNetworkName(name);
  const nets = ctx.client().networks;
  const call = { signal: ctx.signal };
  await editObject(ctx, `network ${name}`, () => nets.get(name, call), networkShape, (d) => plainPut(d, `network ${name}`), (body, etag) => nets.update(name, body, { ...call, etag }));
}

/** `network attach NETWORK INSTANCE [DEVICE] [INTERFACE]`: a NIC on the network (the device is named after it by default). */
export async function networkAttach(ctx: CliContext, network: string, instance: string, device: string | undefined, iface: string | undefined): Promise<void> {
  validateNetworkName(network);
  validateInstanceName(instance);
  const dev = device ?? network;
  validateSegment(dev, 'device name');
  const { value: net } = await ctx.client().networks.get(network, { signal: ctx.signal });
  const nic: Record<string, string> = net.managed ? { type: 'nic', network } : { type: 'nic', nictype: net.type === 'bridge' ? 'bridged' : 'macvlan', parent: network };
  if (iface !== undefined) nic['name'] = iface;
  await attachDevice(ctx, instance, dev, nic);
  ctx.print({ instance, device: dev, network }, () => `attached ${network} to ${instance} as ${dev}\n`);
}

/** `network detach NETWORK INSTANCE [DEVICE]`: removes the instance's NIC on that network. */
export async function networkDetach(ctx: CliContext, network: string, instance: string, device: string | undefined): Promise<void> {
  validateNetworkName(network);
  validateInstanceName(instance);
  if (device !== undefined) validateSegment(device, 'device name');
  const removed = await detachDevice(ctx, instance, `network ${network}`, (name, d) => d['type'] === 'nic' && (d['network'] === network || d['parent'] === network) && (device === undefined || name === device));
  ctx.print({ instance, device: removed, network }, () => `detached ${network} (${removed}) from ${instance}\n`);
}

// ------------------------------------------------------------------ ACLs

const aclColumns = [
  { header: 'name', value: (a: LxdNetworkAcl) => a.name },
  { header: 'description', value: (a: LxdNetworkAcl) => a.description },
  { header: 'used by', value: (a: LxdNetworkAcl) => a.used_by.length, right: true },
];

function aclShape(a: LxdNetworkAcl): Record<string, unknown> {
  return { name: a.name, description: a.description, egress: a.egress, ingress: a.ingress, config: a.config, used_by: a.used_by };
}

function ruleList(v: unknown, field: string, what: string): NetworkAclPut['ingress'] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${field} must be a list of rules`);
  return v as NetworkAclPut['ingress'];
}

export async function aclList(ctx: CliContext, o: ListOptions): Promise<void> {
  const format = listFormat(ctx, o.format);
  const acls = await ctx.client().networkAcls.list({ signal: ctx.signal });
  acls.sort((a, b) => a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(acls, aclColumns, format, aclShape));
}

export async function aclShow(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network ACL name');
  const { value } = await ctx.client().networkAcls.get(name, { signal: ctx.signal });
  ctx.print(aclShape(value), () => showYaml(aclShape(value)));
}

export async function aclCreate(ctx: CliContext, name: string, pairs: string[], o: CreateOptions): Promise<void> {
  validateSegment(name, 'network ACL name');
  const config = parseKeyValues(pairs);
  await ctx.client().networkAcls.create({ name, config, description: o.description ?? '' }, { signal: ctx.signal });
  ctx.print({ created: name }, () => `network ACL ${name} created\n`);
}

export async function aclDelete(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network ACL name');
  await ctx.client().networkAcls.delete(name, { signal: ctx.signal });
  ctx.print({ deleted: name }, () => `network ACL ${name} deleted\n`);
}

export async function aclEdit(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network ACL name');
  const acls = ctx.client().networkAcls;
  const call = { signal: ctx.signal };
  const what = `network ACL ${name}`;
  await editObject(
    ctx,
    what,
    () => acls.get(name, call),
    aclShape,
    (d): NetworkAclPut => ({ ...plainPut(d, what), ingress: ruleList(d['ingress'], 'ingress', what), egress: ruleList(d['egress'], 'egress', what) }),
    (body, etag) => acls.update(name, body, { ...call, etag }),
  );
}

// ------------------------------------------------------------------ zones

const zoneColumns = [
  { header: 'name', value: (z: LxdNetworkZone) => z.name },
  { header: 'description', value: (z: LxdNetworkZone) => z.description },
  { header: 'used by', value: (z: LxdNetworkZone) => z.used_by.length, right: true },
];

function zoneShape(z: LxdNetworkZone): Record<string, unknown> {
  return { name: z.name, description: z.description, config: z.config, used_by: z.used_by };
}

export async function zoneList(ctx: CliContext, o: ListOptions): Promise<void> {
  const format = listFormat(ctx, o.format);
  const zones = await ctx.client().networkZones.list({ signal: ctx.signal });
  zones.sort((a, b) => a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(zones, zoneColumns, format, zoneShape));
}

export async function zoneShow(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network zone name');
  const { value } = await ctx.client().networkZones.get(name, { signal: ctx.signal });
  ctx.print(zoneShape(value), () => showYaml(zoneShape(value)));
}

export async function zoneCreate(ctx: CliContext, name: string, pairs: string[], o: CreateOptions): Promise<void> {
  validateSegment(name, 'network zone name');
  const config = parseKeyValues(pairs);
  await ctx.client().networkZones.create({ name, config, description: o.description ?? '' }, { signal: ctx.signal });
  ctx.print({ created: name }, () => `network zone ${name} created\n`);
}

export async function zoneDelete(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network zone name');
  await ctx.client().networkZones.delete(name, { signal: ctx.signal });
  ctx.print({ deleted: name }, () => `network zone ${name} deleted\n`);
}

export async function zoneEdit(ctx: CliContext, name: string): Promise<void> {
  validateSegment(name, 'network zone name');
  const zones = ctx.client().networkZones;
  const call = { signal: ctx.signal };
  const what = `network zone ${name}`;
  await editObject(ctx, what, () => zones.get(name, call), zoneShape, (d): NetworkZonePut => plainPut(d, what), (body, etag) => zones.update(name, body, { ...call, etag }));
}

// ------------------------------------------------------------------ forwards

const forwardColumns = [
  { header: 'listen address', value: (f: LxdNetworkForward) => f.listen_address },
  { header: 'description', value: (f: LxdNetworkForward) => f.description },
  { header: 'default target address', value: (f: LxdNetworkForward) => f.config['target_address'] ?? '' },
  { header: 'ports', value: (f: LxdNetworkForward) => f.ports.length, right: true },
];

function forwardShape(f: LxdNetworkForward): Record<string, unknown> {
  return { description: f.description, config: f.config, ports: f.ports, listen_address: f.listen_address, location: f.location };
}

export async function forwardList(ctx: CliContext, network: string, o: ListOptions): Promise<void> {
  validateNetworkName(network);
  const format = listFormat(ctx, o.format);
  const fwds = await ctx.client().networkForwards.list(network, { signal: ctx.signal });
  fwds.sort((a, b) => a.listen_address.localeCompare(b.listen_address));
  ctx.io.stdout.write(renderList(fwds, forwardColumns, format, forwardShape));
}

function checkForward(network: string, listen: string): void {
  validateNetworkName(network);
  validateListenAddress(listen);
}

export async function forwardShow(ctx: CliContext, network: string, listen: string): Promise<void> {
  checkForward(network, listen);
  const { value } = await ctx.client().networkForwards.get(network, listen, { signal: ctx.signal });
  ctx.print(forwardShape(value), () => showYaml(forwardShape(value)));
}

export async function forwardCreate(ctx: CliContext, network: string, listen: string, pairs: string[], o: CreateOptions): Promise<void> {
  checkForward(network, listen);
  const config = parseKeyValues(pairs);
  await ctx.client().networkForwards.create(network, { listen_address: listen, config, description: o.description ?? '' }, { signal: ctx.signal });
  ctx.print({ network, created: listen }, () => `network forward ${listen} on ${network} created\n`);
}

export async function forwardDelete(ctx: CliContext, network: string, listen: string): Promise<void> {
  checkForward(network, listen);
  await ctx.client().networkForwards.delete(network, listen, { signal: ctx.signal });
  ctx.print({ network, deleted: listen }, () => `network forward ${listen} on ${network} deleted\n`);
}

export async function forwardEdit(ctx: CliContext, network: string, listen: string): Promise<void> {
  checkForward(network, listen);
  const fwds = ctx.client().networkForwards;
  const call = { signal: ctx.signal };
  const what = `network forward ${listen} on ${network}`;
  await editObject(
    ctx,
    what,
    () => fwds.get(network, listen, call),
    forwardShape,
    (d): NetworkForwardPut => {
      const ports = d['ports'] ?? [];
      if (!Array.isArray(ports)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ports must be a list`);
      return { ...plainPut(d, what), ports: ports as NetworkForwardPut['ports'] };
    },
    (body, etag) => fwds.update(network, listen, body, { ...call, etag }),
  );
}
