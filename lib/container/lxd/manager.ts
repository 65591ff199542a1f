/**
 * Juju's `container/lxd` container manager (juju-2.9.16 `containerManager`), on lxdkit's LXD client:
 * creates, lists and destroys the containers of one model and manages their LXD profiles.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { LxdClient } from '../../lxd/client.js';
import { isConflict, isNotFound } from '../../lxd/errors.js';
import type { InstancesPost, InstancePut } from '../../lxd/schemas.js';
import { resolveSocketPath } from '../../lxd/socket.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Profile, ProfilePost } from '../../lxdprofile/profile.js';
import { hostArch as defaultHostArch } from '../arch.js';
import { cloudInitUserData, CloudInitNetworkConfigDisabled, parseUserData } from '../cloudinit.js';
import { ConfigAvailabilityZone, ConfigContainerImageMetadataURL, ConfigContainerImageStream, ConfigLXDSnapChannel, ConfigModelUUID } from '../constants.js';
import { applyLxdConstraints, validateConstraints } from '../constraints.js';
import { ContainerError, ContainerErrorCode } from '../../errors.js';
import { goQuote } from '../../go-compat.js';
import { ManagerConfig } from '../manager-config.js';
import { Namespace } from '../namespace.js';
import { devicesFromInterfaceInfo, generateVirtualMacAddress, interfaceInfoFromDevices, newNicDevice, type LxdDevices } from '../nic.js';
import type {
  Constraints,
  CreateContainerResult,
  InstanceConfig,
  NetworkConfig,
  StatusCallback,
  StorageConfig,
  TestLXDManager,
} from '../types.js';
import { guardStatusCallback } from '../utils.js';
import { annotate, errorText } from '../../errors.js';
import { LxdManagerError, LxdManagerErrorCode } from './errors.js';
import { findImage, getImageSources, type FoundImage, type ImageRemote, type ImageSource } from './image.js';
import { LxdContainerInstance, LxdStatusCode } from './instance.js';
import { Mutex, sharedMutex } from './mutex.js';
import { ensureIPv4 } from './network.js';

export { ConfigContainerImageMetadataURL, ConfigContainerImageStream, ConfigLXDSnapChannel };
/** Juju `network.DefaultLXDBridge`. */
export const DefaultLXDBridge = 'lxdbr0';
/** The logger module of the LXD manager. */
export const LxdLoggerName = 'juju.container.lxd';

export interface LxdManagerOptions {
  /** The LXD client (default: `new LxdClient()` on the local socket). */
  client?: LxdClient;
  /** A pino-compatible logger; lines are logged on `{ module: 'juju.container.lxd' }` children. */
  logger?: Logger;
  /** The architecture images are looked up for (default: this host's, normalised as Juju does). */
  hostArch?: string;
  /** MAC addresses for NICs taken from the `default` profile (default: `00:16:3e:` + 3 random bytes). */
  generateMacAddress?: () => string;
  /** Waits between delete attempts (default: a timer). Tests inject one that returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Deadline for LXD to pull an image from a remote (default 30 minutes). */
  imageCopyTimeoutMs?: number;
  /** Deadline for each create / start / stop / delete / update operation (default 10 minutes). */
  operationTimeoutMs?: number;
  /** Per-request timeout when reading a simplestreams image server (default 30 s). */
  simplestreamsTimeoutMs?: number;
  /**
   * PEM certificate of the `container-image-metadata-url` server, for a server with a private
   * certificate: trusted by the simplestreams reader and sent to LXD as `source.certificate`.
   */
  imageMetadataCertificate?: string;
  /** Opens an image source (default: a simplestreams reader). */
  openImageRemote?: (source: ImageSource) => ImageRemote;
  /**
   * Juju gives `lxdbr0` `ipv4.address=auto` when it is the only NIC parent without a CIDR
   * (default true). Set false to leave the bridge alone.
   */
  ensureDefaultBridgeIPv4?: boolean;
}

/** Options every manager call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

interface ContainerSpec {
  name: string;
  image: FoundImage;
  body: InstancesPost;
}

const DELETE_ATTEMPTS = 3;
const DELETE_DELAY_MS = 2_000;

/**
 * Juju's LXD container manager.
 *
 * ```ts
 * const mgr = new LxdManager({ 'model-uuid': uuid, 'container-image-stream': 'released' });
 * const { instance } = await mgr.createContainer({ machineId: '0/lxd/0' }, {}, 'focal',
 *   bridgeNetworkConfig('lxdbr0', 0, [eth0]), undefined, (status, info) => console.log(status, info));
 * await mgr.destroyContainer(instance.id);
 * ```
 */
export class LxdManager implements TestLXDManager {
  readonly #client: LxdClient;
  readonly #clientGiven: boolean;
  readonly #log: Logger;
  readonly #logger: Logger;
  readonly #modelUUID: string;
  readonly #namespace: Namespace;
  readonly #availabilityZone: string;
  readonly #imageMetadataURL: string;
  readonly #imageStream: string;
  readonly #options: LxdManagerOptions;
  readonly #imageMutex: Mutex;
  readonly #profileMutex: Mutex;

  /**
   * Juju `NewContainerManager`: pops `model-uuid` (required), `availability-zone`,
   * `container-image-metadata-url`, `container-image-stream` and `lxd-snap-channel`, in that order,
   * then logs the keys left over. A `ManagerConfig` is consumed as in Juju; a plain record is copied.
   *
   * @throws ContainerError `CONTAINER_ERR_NOT_VALID`: `model UUID is required`, or
   *   `model ID "<uuid>" is not a valid model`.
   */
  constructor(config: ManagerConfig | Readonly<Record<string, string>>, options: LxdManagerOptions = {}) {
    const cfg = config instanceof ManagerConfig ? config : new ManagerConfig(config);
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#log = this.#logger.child({ module: LxdLoggerName });
    const modelUUID = cfg.popValue(ConfigModelUUID);
    if (modelUUID === '') throw new ContainerError(ContainerErrorCode.NOT_VALID, 'model UUID is required');
    this.#namespace = new Namespace(modelUUID);
    this.#modelUUID = modelUUID;
    this.#availabilityZone = cfg.popValue(ConfigAvailabilityZone);
    if (this.#availabilityZone === '') this.#log.info('Availability zone will be empty for this container manager');
    this.#imageMetadataURL = cfg.popValue(ConfigContainerImageMetadataURL);
    this.#imageStream = cfg.popValue(ConfigContainerImageStream);
    cfg.popValue(ConfigLXDSnapChannel);
    cfg.warnAboutUnused(this.#logger);
    this.#clientGiven = options.client !== undefined;
    this.#client = options.client ?? new LxdClient({ logger: this.#logger });
    const key = `${this.#client.endpoint}|${this.#client.project ?? ''}`;
    this.#imageMutex = sharedMutex(`image|${key}`);
    this.#profileMutex = sharedMutex(`profile|${key}`);
  }

  /** The LXD client the manager uses. */
  get client(): LxdClient {
    return this.#client;
  }

  /** The availability zone hardware characteristics report (`""` when none was configured). */
  get availabilityZone(): string {
    return this.#availabilityZone;
  }

  /** True when a client was given or the local LXD socket exists (Juju ≥ 2.9.3x's rule). */
  isInitialized(): boolean {
    return this.#clientGiven || existsSync(resolveSocketPath());
  }

  namespace(): Namespace {
    return this.#namespace;
  }

  /** The image sources `createContainer` tries after the local alias, in order. */
  imageSources(): ImageSource[] {
    return getImageSources(this.#imageMetadataURL, this.#imageStream, this.#options.imageMetadataCertificate);
  }

  // ------------------------------------------------------------------------------------ create

  /**
   * Juju `CreateContainer`: resolves the image (local alias `juju/<series>/<arch>`, else a copy
   * from the image sources), builds the NIC devices, cloud-init user-data, config and constraints,
   * creates the container with the requested profiles and starts it. Reports
   * (`allocating`, `Creating container spec`), (`allocating`, `acquiring LXD image`),
   * [(`allocating`, `Retrieving image: …`)…], (`allocating`, `Creating container`),
   * (`running`, `Container started`); on failure (`provisioning error`, `Creating container spec: <err>`)
   * or (`provisioning error`, `Creating container: <err>`). A container that exists when a later
   * step fails is removed. `storage` is ignored, as in Juju.
   */
  async createContainer(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network?: NetworkConfig,
    _storage?: StorageConfig,
    callback?: StatusCallback,
    opts: CallOptions = {},
  ): Promise<CreateContainerResult> {
    const cb = guardStatusCallback(callback, (msg) => this.#log.debug(msg));
    cb('allocating', 'Creating container spec');
    let spec: ContainerSpec;
    try {
      spec = await this.#containerSpec(instanceConfig, constraints, series, network, cb, opts.signal);
    } catch (err) {
      cb('provisioning error', `Creating container spec: ${errorText(err)}`);
      throw err;
    }
    cb('allocating', 'Creating container');
    try {
      await this.#createFromSpec(spec, opts.signal);
    } catch (err) {
      cb('provisioning error', `Creating container: ${errorText(err)}`);
      throw err;
    }
    cb('running', 'Container started');
    return { instance: new LxdContainerInstance(spec.name, this.#client), hardware: { availabilityZone: this.#availabilityZone } };
  }

  async #containerSpec(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network: NetworkConfig | undefined,
    cb: StatusCallback,
    signal: AbortSignal | undefined,
  ): Promise<ContainerSpec> {
    // Input errors first, before any I/O (Juju reports the same texts later, after the image lookup).
    const sources = this.imageSources();
    const name = this.#namespace.hostname(instanceConfig.machineId);
    const interfaces = network?.interfaces ?? [];
    const fromInterfaces = interfaces.length > 0 ? devicesFromInterfaceInfo(interfaces) : undefined;
    validateConstraints(constraints);
    parseUserData(instanceConfig.userData);
    if (typeof series !== 'string' || series === '') throw new ContainerError(ContainerErrorCode.NOT_VALID, 'series is required');

    const arch = this.#options.hostArch ?? defaultHostArch();
    let image: FoundImage;
    try {
      image = await this.#imageMutex.run(() =>
        findImage(series, arch, {
          client: this.#client,
          sources,
          callback: cb,
          logger: this.#logger,
          ...(this.#options.openImageRemote ? { openRemote: this.#options.openImageRemote } : {}),
          ...(this.#options.imageCopyTimeoutMs ? { copyTimeoutMs: this.#options.imageCopyTimeoutMs } : {}),
          ...(this.#options.simplestreamsTimeoutMs ? { simplestreamsTimeoutMs: this.#options.simplestreamsTimeoutMs } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
    } catch (err) {
      signal?.throwIfAborted();
      const code = LxdManagerError.is(err, LxdManagerErrorCode.IMAGE_NOT_FOUND)
        ? LxdManagerErrorCode.IMAGE_NOT_FOUND
        : LxdManagerError.is(err, LxdManagerErrorCode.NOT_SUPPORTED)
          ? LxdManagerErrorCode.NOT_SUPPORTED
          : LxdManagerErrorCode.IMAGE;
      throw annotate(LxdManagerError, 'acquiring LXD image', err, code);
    }

    const call = signal ? { signal } : {};
    let nics: LxdDevices;
    let unknown: string[] = [];
    if (fromInterfaces) {
      nics = fromInterfaces.devices;
      unknown = fromInterfaces.unknownParents;
    } else if (network && network.device !== '') {
      nics = { eth0: newNicDevice('eth0', network.device, this.#mac(), network.mtu) };
    } else {
      nics = await this.#nicsFromProfile('default', signal);
    }
    if (unknown.length > 0) {
      if (unknown.length === 1 && unknown[0] === DefaultLXDBridge && (this.#options.ensureDefaultBridgeIPv4 ?? true) && (await this.#client.server.hasExtension('network', call))) {
        let modified: boolean;
        try {
          modified = await ensureIPv4(this.#client, DefaultLXDBridge, call);
        } catch (err) {
          throw annotate(LxdManagerError, 'ensuring default bridge IPv4 config', err, LxdManagerErrorCode.NETWORK);
        }
        if (modified) this.#log.info(`added "auto" IPv4 configuration to default LXD bridge`);
      } else {
        this.#log.warn(`no CIDR was detected for the following networks: [${unknown.join(' ')}]`);
      }
    }
    // Juju overwrites the caller's interfaces here; lxdkit works on a copy.
    const netConfig: NetworkConfig | undefined =
      interfaces.length > 0
        ? network
        : { networkType: network?.networkType ?? 'bridge', device: network?.device ?? '', mtu: network?.mtu ?? 0, interfaces: interfaceInfoFromDevices(nics) };
    const userData = cloudInitUserData({ ...instanceConfig, series: instanceConfig.series ?? series }, netConfig);
    const config: Record<string, string> = {
      'user.user-data': userData,
      'user.network-config': CloudInitNetworkConfigDisabled,
      'boot.autostart': 'true',
      'user.juju-model': this.#modelUUID,
    };
    const info = await this.#client.server.info(call);
    const constrained = applyLxdConstraints(info.environment?.server_version ?? '', constraints, { config, devices: nics });
    const body: InstancesPost = {
      name,
      type: 'container',
      config: constrained.config,
      devices: constrained.devices ?? {},
      ephemeral: false,
      source: { type: 'image', fingerprint: image.image.fingerprint },
      ...(instanceConfig.profiles !== undefined ? { profiles: [...instanceConfig.profiles] } : {}),
      ...(constrained.instanceType !== undefined ? { instance_type: constrained.instanceType } : {}),
      ...(constrained.architecture !== undefined ? { architecture: constrained.architecture } : {}),
    };
    return { name, image, body };
  }

  #mac(): string {
    return (this.#options.generateMacAddress ?? generateVirtualMacAddress)();
  }

  /** Juju `GetNICsFromProfile`: the profile's NIC devices, each with a MAC (generated when missing). */
  async #nicsFromProfile(profile: string, signal?: AbortSignal): Promise<LxdDevices> {
    const { value } = await this.#client.profiles.get(profile, signal ? { signal } : {});
    const nics: LxdDevices = {};
    for (const [name, device] of Object.entries(value.devices)) {
      if (device['type'] !== 'nic') continue;
      nics[name] = { ...device, ...(device['hwaddr'] ? {} : { hwaddr: this.#mac() }) };
    }
    return nics;
  }

  /** Juju `CreateContainerFromSpec` + `StartContainer`, removing the container when a step after its creation fails. */
  async #createFromSpec(spec: ContainerSpec, signal?: AbortSignal): Promise<void> {
    const call = signal ? { signal } : {};
    const timeoutMs = this.#options.operationTimeoutMs ?? 10 * 60_000;
    this.#log.info(`starting new container ${goQuote(spec.name)} (image ${goQuote(spec.image.image.filename)})`);
    let sent = false;
    try {
      const op = await this.#client.instances.create(spec.body, call);
      sent = true;
      await op.wait({ ...call, timeoutMs });
    } catch (err) {
      if (sent) await this.#cleanUp(spec.name, 'after unsuccessful creation');
      throw new LxdManagerError(LxdManagerErrorCode.CREATE, errorText(err), { cause: err });
    }
    try {
      const op = await this.#client.instances.setState(spec.name, { action: 'start', timeout: -1, force: false, stateful: false }, call);
      await op.wait({ ...call, timeoutMs });
    } catch (err) {
      await this.#cleanUp(spec.name, 'after unsuccessful start');
      throw new LxdManagerError(LxdManagerErrorCode.START, errorText(err), { cause: err });
    }
    try {
      await this.#client.instances.get(spec.name, call);
    } catch (err) {
      await this.#cleanUp(spec.name, 'after it started');
      throw new LxdManagerError(LxdManagerErrorCode.CREATE, errorText(err), { cause: err });
    }
  }

  /** Removes a container a failed create left behind; failures are logged, never thrown. */
  async #cleanUp(name: string, when: string): Promise<void> {
    try {
      await this.#removeContainer(name, {});
    } catch (err) {
      if (LxdManagerError.is(err) && isNotFound(err.cause)) return;
      this.#log.error(`failed to remove container ${when}: ${errorText(err)}`);
    }
  }

  // ------------------------------------------------------------------------------------ destroy / list

  /**
   * Juju `DestroyContainer` (`RemoveContainer`): reads the state (an unknown container is an
   * error, as in Juju), force-stops a container that is not stopped (with the state's ETag), then
   * deletes it: up to 3 attempts 2 s apart; a delete that finds no container counts as done.
   */
  async destroyContainer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#removeContainer(id, opts);
  }

  async #removeContainer(name: string, opts: CallOptions): Promise<void> {
    const call = opts.signal ? { signal: opts.signal } : {};
    const timeoutMs = this.#options.operationTimeoutMs ?? 10 * 60_000;
    let state;
    try {
      state = await this.#client.instances.state(name, call);
    } catch (err) {
      throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
    }
    if (state.value.status_code !== LxdStatusCode.Stopped) {
      try {
        const op = await this.#client.instances.setState(
          name,
          { action: 'stop', timeout: -1, force: true, stateful: false },
          { ...call, ...(state.etag ? { etag: state.etag } : {}) },
        );
        await op.wait({ ...call, timeoutMs });
      } catch (err) {
        throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
      }
    }
    const sleep = this.#options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
    let last: unknown;
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++) {
      let op;
      try {
        op = await this.#client.instances.delete(name, call);
      } catch (err) {
        if (isNotFound(err)) return;
        throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
      }
      try {
        await op.wait({ ...call, timeoutMs });
        return;
      } catch (err) {
        opts.signal?.throwIfAborted();
        last = err;
        this.#log.debug(`deleting container ${goQuote(name)}, attempt ${attempt} of ${DELETE_ATTEMPTS}: ${errorText(err)}`);
      }
      if (attempt < DELETE_ATTEMPTS) await sleep(DELETE_DELAY_MS, opts.signal);
    }
    throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(last), { cause: last });
  }

  /**
   * Juju `RemoveContainers`: removes each container; failures are logged
   * (`removing container "<n>": <err>`) and reported together as `failed to remove containers: a, b`.
   */
  async removeContainers(names: readonly string[], opts: CallOptions = {}): Promise<void> {
    const failed: string[] = [];
    for (const name of names) {
      try {
        await this.#removeContainer(name, opts);
      } catch (err) {
        this.#log.error(`removing container ${goQuote(name)}: ${errorText(err)}`);
        failed.push(name);
      }
    }
    if (failed.length > 0) throw new LxdManagerError(LxdManagerErrorCode.REMOVE, `failed to remove containers: ${failed.join(', ')}`);
  }

  /**
   * Juju `ListContainers`: every container (in any state) whose name has the namespace prefix, in
   * the server's order, from one `GET /1.0/instances?recursion=1`. Virtual machines are left out.
   */
  async listContainers(opts: CallOptions = {}): Promise<LxdContainerInstance[]> {
    const prefix = this.#namespace.prefix();
    const all = await this.#client.instances.list({ recursion: 1, ...(opts.signal ? { signal: opts.signal } : {}) });
    return all.filter((i) => i.type === 'container' && i.name.startsWith(prefix)).map((i) => new LxdContainerInstance(i.name, this.#client));
  }

  // ------------------------------------------------------------------------------------ profiles

  /** Juju `LXDProfileNames`: the container's profiles as LXD lists them (`default` included). */
  async lxdProfileNames(instId: string, opts: CallOptions = {}): Promise<string[]> {
    try {
      return [...(await this.#client.instances.get(instId, opts.signal ? { signal: opts.signal } : {})).value.profiles];
    } catch (err) {
      throw new LxdManagerError(LxdManagerErrorCode.PROFILE, errorText(err), { cause: err });
    }
  }

  /**
   * Juju `MaybeWriteLXDProfile`: creates the profile unless one with that name exists (an existing
   * profile is never updated, even when it differs). Calls are serialised. No validation here
   * (charm profiles are validated upstream with `validateProfile`).
   */
  async maybeWriteLXDProfile(name: string, profile: Profile, opts: CallOptions = {}): Promise<void> {
    const call = opts.signal ? { signal: opts.signal } : {};
    await this.#profileMutex.run(async () => {
      try {
        const names = await this.#client.profiles.list({ recursion: 0, ...call });
        if (names.includes(name)) {
          this.#log.debug(`lxd profile ${goQuote(name)} already exists, not written again`);
          return;
        }
        try {
          await this.#client.profiles.create({ name, description: profile.description, config: { ...profile.config }, devices: structuredClone(profile.devices) }, call);
        } catch (err) {
          if (!isConflict(err)) throw err;
          this.#log.debug(`lxd profile ${goQuote(name)} already exists, not written again`);
          return;
        }
        const written = await this.#client.profiles.get(name, call);
        this.#log.debug(`wrote lxd profile ${goQuote(name)}: ${JSON.stringify({ config: written.value.config, devices: written.value.devices })}`);
      } catch (err) {
        if (LxdManagerError.is(err)) throw err;
        throw new LxdManagerError(LxdManagerErrorCode.PROFILE, errorText(err), { cause: err });
      }
    });
  }

  /**
   * Juju `AssignLXDProfiles`: writes the posts that carry a profile (in order, unless they exist),
   * replaces the container's profile list with exactly `profileNames`, then deletes the profiles of
   * the posts without one (errors, e.g. "in use", are logged at DEBUG and ignored). Resolves to the
   * container's profiles as re-read afterwards. On failure the error carries them in
   * `currentProfiles`; nothing is rolled back.
   */
  async assignLXDProfiles(instId: string, profileNames: string[], profilePosts: ProfilePost[], opts: CallOptions = {}): Promise<string[]> {
    const report = async (err?: unknown): Promise<string[]> => {
      let current: string[] | undefined;
      try {
        current = await this.lxdProfileNames(instId, opts);
      } catch (readErr) {
        if (err === undefined) return [];
        this.#log.error(`secondary error, retrieving profile names: ${errorText(readErr)}`);
      }
      if (err === undefined) return current ?? [];
      const e = LxdManagerError.is(err) ? err : new LxdManagerError(LxdManagerErrorCode.PROFILE, errorText(err), { cause: err });
      e.currentProfiles = current;
      throw e;
    };
    const deletes: string[] = [];
    for (const post of profilePosts) {
      if (post.profile) {
        try {
          await this.maybeWriteLXDProfile(post.name, post.profile, opts);
        } catch (err) {
          return report(err);
        }
      } else {
        deletes.push(post.name);
      }
    }
    try {
      await this.#updateContainerProfiles(instId, profileNames, opts);
    } catch (err) {
      return report(err);
    }
    for (const name of deletes) {
      try {
        await this.#client.profiles.delete(name, opts.signal ? { signal: opts.signal } : {});
      } catch (err) {
        this.#log.debug(`failed to delete profile ${goQuote(name)}: ${errorText(err)}`);
      }
    }
    return report();
  }

  /** Juju `UpdateContainerProfiles`: GET with the ETag, replace `profiles`, PUT, wait. */
  async #updateContainerProfiles(name: string, profiles: string[], opts: CallOptions): Promise<void> {
    const call = opts.signal ? { signal: opts.signal } : {};
    let got;
    try {
      got = await this.#client.instances.get(name, call);
    } catch (err) {
      throw annotate(LxdManagerError, `failed to get ${goQuote(name)}`, err, LxdManagerErrorCode.PROFILE);
    }
    const c = got.value;
    const put: InstancePut = {
      architecture: c.architecture,
      config: c.config,
      devices: c.devices,
      ephemeral: c.ephemeral,
      profiles: [...profiles],
      description: c.description,
      stateful: c.stateful,
    };
    let op;
    try {
      op = await this.#client.instances.update(name, put, { ...call, ...(got.etag ? { etag: got.etag } : {}) });
    } catch (err) {
      throw annotate(LxdManagerError, `failed to update ${goQuote(name)} with profiles`, err, LxdManagerErrorCode.PROFILE);
    }
    this.#log.debug(`updating profiles of ${goQuote(name)}: ${op.current.description}`);
    try {
      await op.wait({ ...call, timeoutMs: this.#options.operationTimeoutMs ?? 10 * 60_000 });
    } catch (err) {
      throw annotate(LxdManagerError, 'update failed', err, LxdManagerErrorCode.PROFILE);
    }
  }
}
