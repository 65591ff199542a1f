/**
 * A KVM guest as Juju's `kvmInstance`: its id is the libvirt domain name, `String()` is
 * `kvm:<name>`.
 */
import type { Instance, InstanceStatus } from '../types.js';
import type { Virsh } from './virsh.js';

/**
 * A KVM guest as Juju's `instances.Instance`: its libvirt domain name as `id`; `status()` is `running` or `stopped`, as `virsh domstate` says.
 */
export class KvmInstance implements Instance {
  readonly id: string;
  readonly #virsh: Virsh;

  constructor(id: string, virsh: Virsh) {
    this.id = id;
    this.#virsh = virsh;
  }

  /** `kvm:<name>`. */
  toString(): string {
    return `kvm:${this.id}`;
  }

  /**
   * Asks libvirt for the domain's state: `running` → `{ running, "running" }`; anything else,
   * including a domain libvirt does not know, → `{ stopped, "stopped" }` (Juju's mapping).
   */
  async status(opts: { signal?: AbortSignal } = {}): Promise<InstanceStatus> {
    const state = await this.#virsh.domState(this.id, opts);
    return state === 'running' ? { status: 'running', message: 'running' } : { status: 'stopped', message: 'stopped' };
  }
}
