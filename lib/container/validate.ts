/**
 * zod checks of the plain objects JavaScript callers hand to the container package: network config,
 * interface info, constraints and instance config. A missing or mistyped field is a `ContainerError`
 * (`CONTAINER_ERR_NOT_VALID`) naming it, e.g. `network.interfaces[0].interfaceName: expected string,
 * got number`, before anything deeper (netplan, NIC devices, LXD) sees the value. The schemas follow
 * the TypeScript types in types.ts; unknown keys are kept. Values are checked where they are used,
 * with Juju's texts (machine ids, series, constraint ranges, user-data YAML).
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { ContainerError, ContainerErrorCode } from '../errors.js';
import type { Address, Constraints, InstanceConfig, InterfaceInfo, NetworkConfig, Route } from './types.js';

/** An integer (a function: the schemas are built on first use). */
const int = () => z.number().int();

/** Loose schema of an `Address` a caller hands in (unknown keys kept). */
export const AddressSchema = lazySchema(() => z.looseObject({
  value: z.string(),
  cidr: z.string().optional(),
  type: z.enum(['ipv4', 'ipv6', 'hostname']).optional(),
  scope: z.string().optional(),
  configType: z.string().optional(),
}) satisfies z.ZodType<Address>);

/** Loose schema of a `Route` of a network config (unknown keys kept). */
export const RouteSchema = lazySchema(() => z.looseObject({
  destinationCidr: z.string(),
  gatewayIp: z.string(),
  metric: int(),
}) satisfies z.ZodType<Route>);

/** Loose schema of an `InterfaceInfo` (one NIC of a network config; unknown keys kept). */
export const InterfaceInfoSchema = lazySchema(() => z.looseObject({
  deviceIndex: int(),
  macAddress: z.string(),
  interfaceName: z.string(),
  parentInterfaceName: z.string(),
  interfaceType: z.string(),
  configType: z.string(),
  mtu: int(),
  addresses: z.array(AddressSchema),
  dnsServers: z.array(z.string()),
  dnsSearchDomains: z.array(z.string()),
  gatewayAddress: z.string(),
  routes: z.array(RouteSchema),
  providerId: z.string().optional(),
  vlanTag: int().optional(),
  origin: z.string(),
  noAutoStart: z.boolean(),
  disabled: z.boolean(),
  virtualPortType: z.string(),
}) satisfies z.ZodType<InterfaceInfo>);

/** Loose schema of a `NetworkConfig`: the interfaces of a new container (unknown keys kept). */
export const NetworkConfigSchema = lazySchema(() => z.looseObject({
  networkType: z.string(),
  device: z.string(),
  mtu: int(),
  interfaces: z.array(InterfaceInfoSchema),
}) satisfies z.ZodType<NetworkConfig>);

/** Constraint numbers are only type-checked here; `validateConstraints` gives Juju's range errors. */
export const ConstraintsSchema = lazySchema(() => z.looseObject({
  mem: z.number().optional(),
  cores: z.number().optional(),
  rootDisk: z.number().optional(),
  rootDiskSource: z.string().optional(),
  instanceType: z.string().optional(),
  arch: z.string().optional(),
  container: z.string().optional(),
  cpuPower: z.number().optional(),
  tags: z.array(z.string()).optional(),
}) satisfies z.ZodType<Constraints>);

/** Cloud-init user data: YAML text, or an object. */
export const UserDataSchema = lazySchema(() => z.union([z.string(), z.record(z.string(), z.unknown())], { error: 'expected string or object' }));

/**
 * Loose schema of an `InstanceConfig`: the machine id, user data, profiles and the rest of a new container (unknown keys kept).
 */
export const InstanceConfigSchema = lazySchema(() => z.looseObject({
  machineId: z.string(),
  userData: UserDataSchema.optional(),
  profiles: z.array(z.string()).optional(),
  machineContainerHostname: z.string().optional(),
  series: z.string().optional(),
  authorizedKeys: z.string().optional(),
}) satisfies z.ZodType<InstanceConfig>);

/** A map of LXD devices: device name to its string config. */
export const LxdDevicesSchema = lazySchema(() => z.record(z.string(), z.record(z.string(), z.string())));

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/** `interfaces[0].addresses[1].value` from a root name and a zod path. */
function fieldName(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(value)';
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function describe(issue: z.core.$ZodIssue, got: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return `expected an integer, got ${typeof got === 'number' && Number.isFinite(got) ? String(got) : kind(got)}`;
      return `expected ${issue.expected === 'record' ? 'object' : issue.expected}, got ${kind(got)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${typeof got === 'string' ? JSON.stringify(got) : kind(got)}`;
    case 'invalid_union':
      return `${issue.message}, got ${kind(got)}`;
    default:
      return issue.message;
  }
}

/**
 * Parses `value` with `schema`; a failure is `ContainerError` `CONTAINER_ERR_NOT_VALID` naming the
 * first bad field under `root` (e.g. `network.mtu: expected an integer, got 1.5`).
 */
export function parseArg<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const got = valueAt(value, issue.path);
  throw new ContainerError(ContainerErrorCode.NOT_VALID, `${fieldName(root, issue.path)}: ${describe(issue, got)}`);
}

/** What `createContainer` takes, checked: the values as parsed (unknown keys kept; `network: null` becomes undefined). */
export interface CreateArgs {
  instanceConfig: InstanceConfig;
  constraints: Constraints;
  series: string;
  network: NetworkConfig | undefined;
}

/**
 * Checks the arguments of `Manager.createContainer` before any I/O, as both managers do first:
 * `instanceConfig` (`machineId` a string, `userData` a string or an object, `profiles` strings, …),
 * `constraints` (numbers, strings, `tags` strings), `series` a string (else Juju's
 * `series is required`), `network` absent or a whole `NetworkConfig` with whole `InterfaceInfo`s.
 * Returns the parsed values; for valid input they equal what was given.
 *
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID`, e.g.
 *   `network.interfaces[0].interfaceName: expected string, got number`.
 */
export function validateCreateArgs(args: { instanceConfig: unknown; constraints: unknown; series: unknown; network?: unknown }): CreateArgs {
  const instanceConfig = parseArg(InstanceConfigSchema, args.instanceConfig, 'instanceConfig');
  const constraints = parseArg(ConstraintsSchema, args.constraints, 'constraints');
  if (typeof args.series !== 'string') throw new ContainerError(ContainerErrorCode.NOT_VALID, 'series is required');
  const network = args.network === undefined || args.network === null ? undefined : parseArg(NetworkConfigSchema, args.network, 'network');
  return { instanceConfig, constraints, series: args.series, network };
}
