/**
 * A container as Juju's `lxdInstance`: its id is the container name, `String()` is `lxd:<name>`.
 */
import type { LxdClient } from '../../lxd/client.js';
import type { Instance, InstanceStatus } from '../types.js';
import { errorText } from '../../errors.js';

/** LXD status codes (shared/api/status_code.go). */
export const LxdStatusCode = {
  Started: 101,
  Stopped: 102,
  Running: 103,
  Starting: 106,
  Stopping: 107,
  Freezing: 109,
  Frozen: 110,
  Thawed: 111,
  Error: 112,
} as const;

/**
 * An LXD container or VM as Juju's `instances.Instance`: its name as `id`, its cluster member and status as last read.
 */
export class LxdContainerInstance implements Instance {
  readonly id: string;
  /** The cluster member it runs on (LXD's `location`); undefined when LXD is not clustered or it was not read. */
  readonly location: string | undefined;
  /** LXD's status text when the instance was listed or created (`Running`, `Stopped`, `Error`, ...). */
  readonly lxdStatus: string | undefined;
  readonly #client: LxdClient;

  constructor(id: string, client: LxdClient, details: { location?: string | undefined; lxdStatus?: string | undefined } = {}) {
    this.id = id;
    this.#client = client;
    this.location = details.location;
    this.lxdStatus = details.lxdStatus;
  }

  /** `lxd:<name>`. */
  toString(): string {
    return `lxd:${this.id}`;
  }

  /**
   * Juju's mapping of the container state: Starting/Started → `allocating`, Running → `running`,
   * anything else → `""`; the message is LXD's status text. A failed lookup gives
   * `{ status: '', message: 'could not get status: <err>' }`.
   */
  async status(opts: { signal?: AbortSignal } = {}): Promise<InstanceStatus> {
    try {
      const { value } = await this.#client.instances.state(this.id, opts);
      const code = value.status_code;
      const status =
        code === LxdStatusCode.Starting || code === LxdStatusCode.Started ? 'allocating' : code === LxdStatusCode.Running ? 'running' : '';
      return { status, message: value.status };
    } catch (err) {
      return { status: '', message: `could not get status: ${errorText(err)}` };
    }
  }
}
