/**
 * Juju's LXD initialiser (container/lxd initialisation_linux.go), through the LXD API instead of
 * package installs and `lxd init --auto`: the `default` profile gets a root disk on a storage pool
 * and a NIC on a bridge when it lacks them.
 */
import { LxdClient } from '../../lxd/client.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Initialiser } from '../types.js';
import { annotate } from '../../errors.js';
import { LxdManagerError, LxdManagerErrorCode } from './errors.js';
import { DefaultBridgeConfig, ensureDefaultStorage, verifyNetworkDevice } from './network.js';

/**
 * Options of `new LxdInitialiser()`: the client, logger, the profile to prepare, and the bridge to create when it has no NIC.
 */
export interface LxdInitialiserOptions {
  client?: LxdClient;
  logger?: Logger;
  /** The profile to prepare (default `default`). */
  profile?: string;
  /** The bridge to create when the profile has no NIC (default `lxdbr0`, Juju's). */
  bridgeName?: string;
  /**
   * Config of that bridge when it must be created. Default: Juju's `ipv4.address=auto`,
   * `ipv4.nat=true`, `ipv6.address=none`, `ipv6.nat=false`, which gives the host a new routed
   * subnet; pass `{ 'ipv4.address': 'none', 'ipv6.address': 'none' }` for an address-less bridge.
   */
  bridgeConfig?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/**
 * Prepares a host's LXD for the manager (Juju `Initialiser.Initialise`).
 *
 * ```ts
 * await new LxdInitialiser({ bridgeConfig: { 'ipv4.address': 'none', 'ipv6.address': 'none' } }).initialise();
 * ```
 */
export class LxdInitialiser implements Initialiser {
  readonly #client: LxdClient;
  readonly #opts: LxdInitialiserOptions;
  readonly #log: Logger;
  #bridge = '';

  constructor(options: LxdInitialiserOptions = {}) {
    this.#opts = options;
    this.#client = options.client ?? new LxdClient({ logger: options.logger });
    this.#log = (options.logger ?? silentLogger).child({ module: 'juju.container.lxd' });
  }

  /** The bridge the profile's NIC uses, once `initialise()` has run (Juju `LocalBridgeName`). */
  get localBridgeName(): string {
    return this.#bridge;
  }

  /**
   * 1. Storage: when no device of the profile mounts `/`, a root disk on the pool `default` (or the
   *    first pool; a new `dir` pool `default` when there is none).
   * 2. Network (Juju `VerifyNetworkDevice`): a profile without a NIC gets one on the bridge (created
   *    when missing, with `bridgeConfig`); an existing bridge with IPv6 is refused with Juju's text; a
   *    profile with NICs must have one on a bridge or macvlan network without IPv6.
   *
   * @throws LxdManagerError `LXD_MANAGER_ERR_INITIALISE` with Juju's texts.
   */
  async initialise(): Promise<void> {
    const call = { signal: this.#opts.signal };
    const name = this.#opts.profile ?? 'default';
    const info = await this.#client.server.info(call);
    const server = { networkAPI: info.api_extensions.includes('network'), clustered: info.environment?.server_clustered === true };
    let profile = await this.#client.profiles.get(name, call);
    try {
      if (await ensureDefaultStorage(this.#client, profile.value, profile.etag, call)) {
        this.#log.info(`added a root disk to profile "${name}"`);
        profile = await this.#client.profiles.get(name, call);
      }
    } catch (err) {
      if (LxdManagerError.is(err)) throw err;
      throw annotate(LxdManagerError, 'ensuring default storage', err, LxdManagerErrorCode.INITIALISE);
    }
    this.#bridge = await verifyNetworkDevice(this.#client, profile.value, profile.etag, server, {
      ...call,
      bridgeName: this.#opts.bridgeName ?? 'lxdbr0',
      bridgeConfig: this.#opts.bridgeConfig ?? DefaultBridgeConfig,
      logger: this.#opts.logger ?? silentLogger,
    });
  }
}
