/**
 * Juju's `core/instance.Namespace`: how machine ids map to container and domain names.
 */
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { goQuote } from '../go-compat.js';

// juju/names v4: unanchored and lowercase only, so a string that merely contains a UUID passes.
const MODEL_UUID = /[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}/;
// juju/names v4 machine ids: "0", "2", "2/lxd/4", "2/lxd/4/kvm/0", ...
const MACHINE_ID = /^(?:0|[1-9][0-9]*)(?:\/[a-z]+\/(?:0|[1-9][0-9]*))*$/;

/**
 * Juju `names.IsValidModel`: true when `uuid` contains a lowercase UUID anywhere (Juju's regex is
 * unanchored).
 *
 * @example isValidModelUUID('f47ac10b-58cc-4372-a567-0e02b2c3d479') // => true
 */
export function isValidModelUUID(uuid: string): boolean {
  return MODEL_UUID.test(uuid);
}

/**
 * Juju `names.IsValidMachine`: `0`, `2`, `2/lxd/4`, … (no leading zeros, lowercase container types).
 *
 * @example isValidMachineId('2/lxd/4') // => true
 */
export function isValidMachineId(id: string): boolean {
  return MACHINE_ID.test(id);
}

/**
 * A Juju machine tag (`names.MachineTag`): `id` is the machine id (`2/lxd/4`); `toString()` is the
 * tag string `machine-2-lxd-4`.
 *
 * @example new MachineTag('2/lxd/4').toString() // => 'machine-2-lxd-4'
 */
export class MachineTag {
  readonly id: string;

  constructor(id: string) {
    if (!isValidMachineId(id)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `${goQuote(id)} is not a valid machine id`);
    }
    this.id = id;
  }

  /** Always `machine`. */
  get kind(): 'machine' {
    return 'machine';
  }

  /** The tag string: `machine-` and the id with `/` as `-`. */
  toString(): string {
    return `machine-${this.id.replaceAll('/', '-')}`;
  }
}

/**
 * Names instances of one model: `juju-<last 6 chars of the model UUID>-<machine id with / → ->`.
 *
 * @example
 * const ns = new Namespace('f47ac10b-58cc-4372-a567-0e02b2c3d479');
 * ns.prefix();                       // => 'juju-c3d479-'
 * ns.hostname('2/lxd/4');            // => 'juju-c3d479-2-lxd-4'
 * ns.machineTag('juju-c3d479-2-lxd-4').id; // => '2/lxd/4'
 */
export class Namespace {
  readonly #name: string;

  /**
   * @throws ContainerError `CONTAINER_ERR_NOT_VALID`: `model ID "<uuid>" is not a valid model`.
   */
  constructor(modelUUID: string) {
    if (!isValidModelUUID(modelUUID)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `model ID ${goQuote(modelUUID)} is not a valid model`);
    }
    this.#name = modelUUID.slice(-6);
  }

  /** `juju-<6 chars>-`. */
  prefix(): string {
    return `juju-${this.#name}-`;
  }

  /** `prefix() + s`. */
  value(s: string): string {
    return this.prefix() + s;
  }

  /**
   * The container or domain name of a machine: `2/lxd/4` → `juju-c3d479-2-lxd-4`.
   *
   * @throws ContainerError `CONTAINER_ERR_NOT_VALID`: `machine ID "<id>" is not a valid machine`.
   */
  hostname(machineId: string): string {
    if (!isValidMachineId(machineId)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `machine ID ${goQuote(machineId)} is not a valid machine`);
    }
    return this.value(machineId.replaceAll('/', '-'));
  }

  /**
   * The machine tag a hostname of this namespace stands for: `juju-c3d479-2-lxd-4` → machine `2/lxd/4`.
   *
   * @throws ContainerError `CONTAINER_ERR_NOT_VALID`: `hostname "<h>" not from namespace "<prefix>"`
   *   or `unexpected machine id "<id>"`.
   */
  machineTag(hostname: string): MachineTag {
    const prefix = this.prefix();
    if (!hostname.startsWith(prefix)) {
      throw new ContainerError(
        ContainerErrorCode.NOT_VALID,
        `hostname ${goQuote(hostname)} not from namespace ${goQuote(prefix)}`,
      );
    }
    const id = hostname.slice(prefix.length).replaceAll('-', '/');
    if (!isValidMachineId(id)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `unexpected machine id ${goQuote(id)}`);
    }
    return new MachineTag(id);
  }
}
