/**
 * Where the LXD manager puts a container when LXD is a cluster. Juju's LXD provider treats availability
 * zones as cluster members (a machine in zone `m2` is created with `?target=m2`); the manager does the
 * same with its `availability-zone`, and a create may name a member itself (`target`). Otherwise LXD
 * places the container. On a server that is not clustered nothing changes: the zone is only reported.
 */
import { ContainerError, ContainerErrorCode } from '../../errors.js';
import { goQuote } from '../../go-compat.js';
import type { LxdClient } from '../../lxd/client.js';
import type { Logger } from '../../logger.js';
import type { CreateOptions } from '../progress.js';

/** `createContainer` options of the LXD manager. */
export interface LxdCreateOptions extends CreateOptions {
  /**
   * The cluster member (or `@group`) to put the container on, as LXD's `?target=`. It wins over the
   * manager's `availability-zone`. Ignored by LXD on a server that is not clustered.
   */
  target?: string | undefined;
}

/** The cluster member an instance runs on, from its `location` (undefined when LXD is not clustered). */
export function memberOf(location: string | undefined): string | undefined {
  return location === undefined || location === '' || location === 'none' ? undefined : location;
}

export class Placement {
  /** The cluster's member names, read once per manager (only when a zone has to be matched). */
  #members: Promise<string[]> | undefined;

  constructor(
    private readonly client: LxdClient,
    private readonly zone: string,
    private readonly log: Logger,
  ) {}

  /** Checks an explicit target before any I/O. */
  static validate(target: unknown): void {
    if (target === undefined) return;
    if (typeof target !== 'string' || target === '' || /[/\s]/.test(target)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `target ${goQuote(String(target))} is not a cluster member name`);
    }
  }

  /**
   * The `?target=` of a create: the explicit one; else the availability zone when the server is a
   * cluster with a member of that name; else none (LXD decides).
   */
  async target(explicit: string | undefined, signal: AbortSignal | undefined): Promise<string | undefined> {
    if (explicit !== undefined) return explicit;
    if (this.zone === '') return undefined;
    const info = await this.client.server.info({ signal });
    if (info.environment?.server_clustered !== true) return undefined;
    if (!(await this.#memberNames(signal)).includes(this.zone)) {
      this.log.debug(`availability zone ${goQuote(this.zone)} names no cluster member; LXD places the container`);
      return undefined;
    }
    return this.zone;
  }

  #memberNames(signal: AbortSignal | undefined): Promise<string[]> {
    if (!this.#members) {
      const p = this.client.cluster.members.list({ recursion: 0, signal });
      this.#members = p;
      p.catch(() => {
        if (this.#members === p) this.#members = undefined;
      });
    }
    return this.#members;
  }
}
