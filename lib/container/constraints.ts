/**
 * Juju constraints → LXD instance config (container/lxd/container.go `ApplyConstraints`) and →
 * KVM start parameters (container/kvm/kvm.go `ParseConstraintsToStartParams`).
 */
import { silentLogger, type Logger } from '../logger.js';
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { goQuote } from '../go-compat.js';
import type { LxdDevices } from './nic.js';
import type { Constraints } from './types.js';
import { ConstraintsSchema, parseArg } from './validate.js';

/** The parts of an LXD instance spec that constraints touch. */
export interface LxdConstraintSpec {
  config: Record<string, string>;
  devices?: LxdDevices;
  /** Sent as `instance_type`. */
  instanceType?: string;
  /** Sent as `architecture`: the raw Juju arch name. */
  architecture?: string;
}

const NUMERIC_KEYS = ['mem', 'cores', 'rootDisk', 'cpuPower'] as const;

/**
 * Refuses constraints of the wrong type (`constraints.mem: expected number, got string`) and
 * numbers Juju could not hold (Juju's are uint64): negative, fractional or not finite.
 *
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID`.
 */
export function validateConstraints(cons: Constraints): void {
  parseArg(ConstraintsSchema, cons, 'constraints');
  for (const key of NUMERIC_KEYS) {
    const v = cons[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new ContainerError(
        ContainerErrorCode.NOT_VALID,
        `constraint ${key} must be a non-negative integer, got ${String(v)}`,
      );
    }
  }
}

const has = {
  mem: (c: Constraints): c is Constraints & { mem: number } => c.mem !== undefined && c.mem > 0,
  cores: (c: Constraints): c is Constraints & { cores: number } => c.cores !== undefined && c.cores > 0,
  rootDisk: (c: Constraints): c is Constraints & { rootDisk: number } => c.rootDisk !== undefined && c.rootDisk > 0,
  rootDiskSource: (c: Constraints): c is Constraints & { rootDiskSource: string } =>
    c.rootDiskSource !== undefined && c.rootDiskSource !== '',
  instanceType: (c: Constraints): c is Constraints & { instanceType: string } =>
    c.instanceType !== undefined && c.instanceType !== '',
  arch: (c: Constraints): c is Constraints & { arch: string } => c.arch !== undefined && c.arch !== '',
};

/**
 * Whether an LXD server version understands `MiB` in `limits.memory` and disk `size`: a
 * `major.minor[.patch]` version at least 3.10. An empty or unparsable version gives false.
 *
 * @example lxdSupportsMiB('5.0.2') // => true
 * @example lxdSupportsMiB('3.0.3') // => false
 */
export function lxdSupportsMiB(serverVersion: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(serverVersion.trim());
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 3 || (major === 3 && minor >= 10);
}

/**
 * Juju `ContainerSpec.ApplyConstraints(serverVersion, cons)`. Returns a copy of `spec` with:
 * `instanceType` from `instance-type`; `config['limits.cpu'] = "<cores>"`;
 * `config['limits.memory'] = "<mem>MiB"` (or `"<mem>MB"` when the server is older than 3.10 or its
 * version is unknown); `architecture` from `arch`; and, when `root-disk` or `root-disk-source` is
 * set, `devices.root = { type: 'disk', pool: <source or 'default'>, path: '/' }` plus
 * `size: "<root-disk>MiB"` (same unit rule) when `root-disk` is set. Zero and empty values count as
 * unset. The input is not modified; other fields of `spec` (name, profiles, …) are kept.
 * `opts.supportsMiB` overrides the version rule (for a server whose version is not LXD's, e.g. Incus).
 *
 * @example
 * applyLxdConstraints('5.0.2', { cores: 2, mem: 2048, rootDisk: 10240 }, { config: {} })
 * // => { config: { 'limits.cpu': '2', 'limits.memory': '2048MiB' },
 * //      devices: { root: { type: 'disk', pool: 'default', path: '/', size: '10240MiB' } } }
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` for a negative or fractional number.
 */
export function applyLxdConstraints<T extends LxdConstraintSpec>(
  serverVersion: string,
  cons: Constraints,
  spec: T,
  opts: { supportsMiB?: boolean } = {},
): Omit<T, keyof LxdConstraintSpec> & LxdConstraintSpec {
  validateConstraints(cons);
  const unit = opts.supportsMiB ?? lxdSupportsMiB(serverVersion) ? 'MiB' : 'MB';
  const out: Omit<T, keyof LxdConstraintSpec> & LxdConstraintSpec = { ...spec, config: { ...spec.config } };
  if (spec.devices) out.devices = Object.fromEntries(Object.entries(spec.devices).map(([k, v]) => [k, { ...v }]));
  if (has.instanceType(cons)) out.instanceType = cons.instanceType;
  if (has.cores(cons)) out.config['limits.cpu'] = String(cons.cores);
  if (has.mem(cons)) out.config['limits.memory'] = `${cons.mem}${unit}`;
  if (has.arch(cons)) out.architecture = cons.arch;
  if (has.rootDisk(cons) || has.rootDiskSource(cons)) {
    const root: Record<string, string> = {
      type: 'disk',
      pool: has.rootDiskSource(cons) ? cons.rootDiskSource : 'default',
      path: '/',
    };
    if (has.rootDisk(cons)) root['size'] = `${cons.rootDisk}${unit}`;
    out.devices = { ...(out.devices ?? {}), root };
  }
  return out;
}

/** Juju `kvm.DefaultMemory`: MB of RAM when no `mem` constraint is given. */
export const KvmDefaultMemory = 512;
/** Juju `kvm.DefaultCpu`. */
export const KvmDefaultCpu = 1;
/** Juju `kvm.DefaultDisk`: GB of root disk. */
export const KvmDefaultDisk = 8;
/** Juju `kvm.MinMemory` (MB). */
export const KvmMinMemory = 512;
/** Juju `kvm.MinCpu`. */
export const KvmMinCpu = 1;
/** Juju `kvm.MinDisk` (GB). */
export const KvmMinDisk = 2;

/** The resource part of Juju's `kvm.StartParams`. */
export interface KvmStartParams {
  /** MB of RAM. */
  memory: number;
  cpuCores: number;
  /** GB of root disk. */
  rootDisk: number;
}

/**
 * Juju `kvm.ParseConstraintsToStartParams`: starts from 512 MB, 1 core, 8 GB; `mem` below 512 is
 * raised to 512; `cores` below 1 to 1; `root-disk` (MiB) is divided by 1024 (integer division)
 * and raised to at least 2 GB. `arch`, `container`, `cpu-power` and `tags` are ignored with
 * Juju's INFO lines, e.g. `arch constraint of "armhf" being ignored as not supported`; anything
 * else is ignored silently.
 *
 * @example parseConstraintsToStartParams({ mem: 4096, cores: 4, rootDisk: 20480 }) // => { memory: 4096, cpuCores: 4, rootDisk: 20 }
 * @example parseConstraintsToStartParams({}) // => { memory: 512, cpuCores: 1, rootDisk: 8 }
 * @throws ContainerError `CONTAINER_ERR_NOT_VALID` for a negative or fractional number.
 */
export function parseConstraintsToStartParams(cons: Constraints, logger: Logger = silentLogger): KvmStartParams {
  validateConstraints(cons);
  const log = logger.child({ module: 'juju.container.kvm' });
  const params: KvmStartParams = { memory: KvmDefaultMemory, cpuCores: KvmDefaultCpu, rootDisk: KvmDefaultDisk };
  if (cons.mem !== undefined) params.memory = Math.max(cons.mem, KvmMinMemory);
  if (cons.cores !== undefined) params.cpuCores = Math.max(cons.cores, KvmMinCpu);
  if (cons.rootDisk !== undefined) params.rootDisk = Math.max(Math.floor(cons.rootDisk / 1024), KvmMinDisk);
  if (cons.arch !== undefined) log.info(`arch constraint of ${goQuote(cons.arch)} being ignored as not supported`);
  if (cons.container !== undefined) {
    log.info(`container constraint of ${goQuote(cons.container)} being ignored as not supported`);
  }
  if (cons.cpuPower !== undefined) log.info(`cpu-power constraint of ${cons.cpuPower} being ignored as not supported`);
  if (cons.tags !== undefined) log.info(`tags constraint of ${goQuote(cons.tags.join(','))} being ignored as not supported`);
  return params;
}
