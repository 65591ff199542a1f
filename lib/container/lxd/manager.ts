/**
 * Juju's `container/lxd` container manager (juju-2.9.16 `containerManager`), on lxdkit's LXD client:
 * creates, lists and destroys the containers of one model and manages their LXD profiles.
 */
import { existsSync } from 'node:fs';
import { abortable, isValidTimeout, sleep, withDeadline, type CallOptions } from '../../deadline.js';
import { LxdClient } from '../../lxd/client.js';
import { isConflict, isMemberUnreachable, isNotFound, LxdError, LxdErrorCode, LxdOperationError, LxdTimeoutError } from '../../lxd/errors.js';
import { DEFAULT_OPERATION_TIMEOUT_MS, isFinal, type Operation } from '../../lxd/operation.js';
import { lxdPath } from '../../lxd/path.js';
import { instanceWritable, type InstancesPost, type LxdInstance, type OperationData } from '../../lxd/schemas.js';
import { resolveSocketPath } from '../../lxd/socket.js';
import { describeKeys, silentLogger, type Logger } from '../../logger.js';
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
import type { CreationProgress } from '../progress.js';
import { validateCreateArgs } from '../validate.js';
import { guardProgress, guardStatusCallback } from '../utils.js';
import { annotate, errorText } from '../../errors.js';
import { LxdManagerError, LxdManagerErrorCode } from './errors.js';
import { findImage, getImageSources, type FoundImage, type ImageRemote, type ImageSource } from './image.js';
import { LxdContainerInstance, LxdStatusCode } from './instance.js';
import { Mutex, sharedMutex } from './mutex.js';
import { memberOf, Placement, type LxdCreateOptions } from './placement.js';
import { ensureIPv4 } from './network.js';

export { ConfigContainerImageMetadataURL, ConfigContainerImageStream, ConfigLXDSnapChannel };
/** Juju `network.DefaultLXDBridge`. */
export const DefaultLXDBridge = 'lxdbr0';
/** The logger module of the LXD manager. */
export const LxdLoggerName = 'juju.container.lxd';

/**
 * Options of `new LxdManager()`: the client, logger, architecture, MAC address generator, timeouts (ms), and how image sources are opened.
 */
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

interface ContainerSpec {
  name: string;
  image: FoundImage;
  body: InstancesPost;
  /** The cluster member to create it on (`?target=`), or none: LXD decides. */
  target: string | undefined;
}

/**
 * The daemon's texts for a name that is taken: by an instance (LXD's "already exists", Incus's
 * "UNIQUE constraint failed: instances…"), or by another caller's create still running.
 */
const ALREADY_EXISTS = /already exists|UNIQUE constraint failed: instances\.|busy running a "create" operation/i;

/** LXD's "already exists" (on the request, or as the create operation's failure) as the manager reports it. */
function alreadyExists(err: unknown): LxdManagerError {
  return new LxdManagerError(LxdManagerErrorCode.ALREADY_EXISTS, errorText(err), { cause: err });
}

/** The request or operation may have gone through: LXD could not be reached, or forgot the operation. */
function outcomeUnknown(err: unknown): boolean {
  return LxdError.is(err) && (err.code === LxdErrorCode.CONNECTION || err.code === LxdErrorCode.TIMEOUT || err.code === LxdErrorCode.OPERATION_LOST || err.code === LxdErrorCode.MEMBER_UNREACHABLE);
}

/** A create that failed: the member it was placed on cannot be reached, or LXD refused or failed it. */
function createFailed(err: unknown): LxdManagerError {
  return new LxdManagerError(isMemberUnreachable(err) ? LxdManagerErrorCode.MEMBER_UNREACHABLE : LxdManagerErrorCode.CREATE, errorText(err), { cause: err });
}

const DELETE_ATTEMPTS = 3;
const DELETE_DELAY_MS = 2_000;
/** LXD refusing to delete an instance that runs (Incus says the same). */
const RUNNING = /instance is running/i;

/**
 * The daemon refuses a request while another operation holds the instance: another caller's create of
 * the same name fails (the name is taken) but holds the instance for a moment after this create
 * succeeded, so the start that follows is refused with `Instance is busy running a "create" operation`.
 */
const BUSY = /busy running an? "[a-z]+" operation/i;
const START_ATTEMPTS = 8;

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
  /** The caller's logger, on its `juju.container.lxd` child, as Juju logs. */
  readonly #log: Logger;
  readonly #modelUUID: string;
  readonly #namespace: Namespace;
  readonly #availabilityZone: string;
  readonly #imageMetadataURL: string;
  readonly #imageStream: string;
  readonly #options: LxdManagerOptions;
  readonly #imageMutex: Mutex;
  readonly #profileMutex: Mutex;
  readonly #operationTimeoutMs: number;
  readonly #placement: Placement;
  /** Clean-ups of abandoned creations still running (see `settled()`). */
  readonly #background = new Set<Promise<void>>();

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
    this.#operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    const logger = options.logger ?? silentLogger;
    this.#log = logger.child({ module: LxdLoggerName });
    const modelUUID = cfg.popValue(ConfigModelUUID);
    if (modelUUID === '') throw new ContainerError(ContainerErrorCode.NOT_VALID, 'model UUID is required');
    this.#namespace = new Namespace(modelUUID);
    this.#modelUUID = modelUUID;
    this.#availabilityZone = cfg.popValue(ConfigAvailabilityZone);
    if (this.#availabilityZone === '') this.#log.info('Availability zone will be empty for this container manager');
    this.#imageMetadataURL = cfg.popValue(ConfigContainerImageMetadataURL);
    this.#imageStream = cfg.popValue(ConfigContainerImageStream);
    cfg.popValue(ConfigLXDSnapChannel);
    cfg.warnAboutUnused(logger);
    this.#clientGiven = options.client !== undefined;
    this.#client = options.client ?? new LxdClient({ logger });
    const key = `${this.#client.endpoint}|${this.#client.project ?? ''}`;
    this.#imageMutex = sharedMutex(`image|${key}`);
    this.#profileMutex = sharedMutex(`profile|${key}`);
    this.#placement = new Placement(this.#client, this.#availabilityZone, this.#log);
  }

  /** The LXD client the manager uses. */
  get client(): LxdClient {
    return this.#client;
  }

  /**
   * The configured availability zone (`""` when none was). Hardware characteristics report it, or in a
   * cluster the member the container landed on; a zone that names a cluster member places containers there.
   */
  get availabilityZone(): string {
    return this.#availabilityZone;
  }

  /** True when a client was given or the local LXD socket exists (Juju ≥ 2.9.3x's rule). */
  isInitialized(): boolean {
    return this.#clientGiven || existsSync(resolveSocketPath());
  }

  /**
   * The manager's namespace: the prefix of the names of the containers it makes (Juju's `Manager.Namespace()`).
   */
  namespace(): Namespace {
    return this.#namespace;
  }

  /** The image sources `createContainer` tries after the local alias, in order. */
  imageSources(): ImageSource[] {
    return getImageSources(this.#imageMetadataURL, this.#imageStream, this.#options.imageMetadataCertificate);
  }

  // ------------------------------------------------------------------------------------ create

  /**
   * Juju `CreateContainer`: resolves the image (local alias `juju/<series>/<arch>`, else a copy from
   * the image sources), builds the NIC devices, cloud-init user-data, config and constraints, creates
   * the container with the requested profiles and starts it. The status callback hears Juju's texts
   * (listed in docs/manager.md); `opts.onProgress` hears each stage and LXD's progress within it.
   * `storage` is ignored, as in Juju.
   *
   * Only what this call made is ever removed: an instance of the same name that exists already is
   * reported as `LXD_MANAGER_ERR_ALREADY_EXISTS` and left alone; a container the call created is
   * removed when a later step fails. An abort (or `opts.timeoutMs`) rejects at once; the container, if
   * LXD goes on to make it, is removed in the background (`settled()` resolves when that is done).
   *
   * In an LXD cluster the container goes to `opts.target`, else to the member the manager's
   * `availability-zone` names (as Juju's LXD provider maps zones to members), else where LXD puts it;
   * the instance's `location` and `hardware.availabilityZone` say where it landed. A member that cannot
   * be reached fails the create with `LXD_MANAGER_ERR_MEMBER_UNREACHABLE`.
   */
  async createContainer(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network?: NetworkConfig,
    _storage?: StorageConfig,
    callback?: StatusCallback,
    opts: LxdCreateOptions = {},
  ): Promise<CreateContainerResult & { instance: LxdContainerInstance }> {
    Placement.validate(opts.target);
    const cb = guardStatusCallback(callback, (msg) => this.#log.debug(msg));
    const progress = guardProgress(opts.onProgress, (msg) => this.#log.debug(msg));
    return this.#within(
      opts,
      'createContainer (what it made is being removed: await manager.settled())',
      async (signal) => {
        cb('allocating', 'Creating container spec');
        progress({ stage: 'spec', text: 'Creating container spec' });
        let spec: ContainerSpec;
        try {
          spec = await this.#containerSpec(instanceConfig, constraints, series, network, cb, progress, signal, opts.target);
        } catch (err) {
          cb('provisioning error', `Creating container spec: ${errorText(err)}`);
          throw err;
        }
        cb('allocating', 'Creating container');
        progress({ stage: 'create', text: 'Creating container' });
        let created: LxdInstance;
        try {
          created = await abortable(this.#track(this.#createFromSpec(spec, progress, signal)), signal);
        } catch (err) {
          cb('provisioning error', `Creating container: ${errorText(err)}`);
          throw err;
        }
        cb('running', 'Container started');
        progress({ stage: 'started', text: 'Container started' });
        const location = memberOf(created.location);
        const instance = new LxdContainerInstance(spec.name, this.#client, { location, lxdStatus: created.status });
        return { instance, hardware: { availabilityZone: location ?? this.#availabilityZone } };
      },
    );
  }

  /**
   * Resolves once every clean-up the manager runs in the background has finished: the removal of
   * containers whose creation was aborted or ran past its deadline. Never rejects (failures are logged).
   */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** Waits for `settled()`, then closes the LXD client if the manager made it. */
  async close(): Promise<void> {
    await this.settled();
    if (!this.#clientGiven) await this.#client.close();
  }

  #track<T>(work: Promise<T>): Promise<T> {
    const done = work.then(() => undefined, () => undefined);
    this.#background.add(done);
    void done.finally(() => this.#background.delete(done));
    return work;
  }

  async #containerSpec(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network: NetworkConfig | undefined,
    cb: StatusCallback,
    progress: (p: CreationProgress) => void,
    signal: AbortSignal | undefined,
    explicitTarget: string | undefined,
  ): Promise<ContainerSpec> {
    // Input errors first, before any I/O (Juju reports the same texts later, after the image lookup).
    ({ instanceConfig, constraints, series, network } = validateCreateArgs({ instanceConfig, constraints, series, network }));
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
      progress({ stage: 'image', text: 'acquiring LXD image' });
      image = await this.#imageMutex.run(
        () =>
          findImage(series, arch, {
            client: this.#client,
            sources,
            callback: cb,
            onProgress: (p) => progress({ stage: 'image', text: p.text, percent: p.percent, operation: p }),
            logger: this.#log,
            openRemote: this.#options.openImageRemote,
            copyTimeoutMs: this.#options.imageCopyTimeoutMs,
            simplestreamsTimeoutMs: this.#options.simplestreamsTimeoutMs,
            signal,
          }),
        signal,
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

    const call = { signal };
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
    // Juju picks MiB or MB from the LXD version (MiB from 3.10). Incus's versions are its own (it forked
    // LXD 5.18 as 0.1), so a server with the `instances` API extension (LXD 3.19 on, every Incus) counts
    // as understanding MiB whatever its version says.
    const supportsMiB = info.api_extensions.includes('instances') || undefined;
    const constrained = applyLxdConstraints(info.environment?.server_version ?? '', constraints, { config, devices: nics }, { supportsMiB });
    const body: InstancesPost = {
      name,
      type: 'container',
      config: constrained.config,
      devices: constrained.devices ?? {},
      ephemeral: false,
      source: { type: 'image', fingerprint: image.image.fingerprint },
      profiles: instanceConfig.profiles && [...instanceConfig.profiles],
      instance_type: constrained.instanceType,
      architecture: constrained.architecture,
    };
    return { name, image, body, target: await this.#placement.target(explicitTarget, signal) };
  }

  #mac(): string {
    return (this.#options.generateMacAddress ?? generateVirtualMacAddress)();
  }

  /** Juju `GetNICsFromProfile`: the profile's NIC devices, each with a MAC (generated when missing). */
  async #nicsFromProfile(profile: string, signal?: AbortSignal): Promise<LxdDevices> {
    const { value } = await this.#client.profiles.get(profile, { signal });
    const nics: LxdDevices = {};
    for (const [name, device] of Object.entries(value.devices)) {
      if (device['type'] !== 'nic') continue;
      nics[name] = { ...device, ...(device['hwaddr'] ? {} : { hwaddr: this.#mac() }) };
    }
    return nics;
  }

  /**
   * Juju `CreateContainerFromSpec` + `StartContainer`. The container is this call's only once LXD's
   * create operation succeeded; from then on a failed step removes it. When the caller gives up (an
   * abort or its deadline), this goes on without the caller until LXD's operations have ended, and
   * removes what they made.
   */
  async #createFromSpec(spec: ContainerSpec, progress: (p: CreationProgress) => void, signal: AbortSignal | undefined): Promise<LxdInstance> {
    const { name } = spec;
    const timeoutMs = this.#operationTimeoutMs;
    const gaveUp = (): boolean => signal?.aborted === true;
    this.#log.info(`starting new container ${goQuote(name)} (image ${goQuote(spec.image.image.filename)})`);
    // Sent even when the caller gives up meanwhile (it has its own deadline): without LXD's answer the
    // operation that may create the container could not be followed.
    let create: Operation;
    try {
      create = await this.#client.instances.create(spec.body, { target: spec.target });
    } catch (err) {
      if (isConflict(err)) throw alreadyExists(err);
      // A member that cannot be reached refused the request before anything was made.
      if (outcomeUnknown(err) && !isMemberUnreachable(err)) this.#log.warn(`creating container ${goQuote(name)}: LXD's answer was lost (${errorText(err)}); the container may exist: check, and remove it if it does`);
      throw createFailed(err);
    }
    try {
      await create.wait({ signal, timeoutMs, onProgress: (p) => progress({ stage: 'create', text: p.text, percent: p.percent, operation: p }) });
    } catch (err) {
      if (gaveUp()) {
        await this.#abandon(name, create);
        throw err;
      }
      if (err instanceof LxdOperationError && ALREADY_EXISTS.test(err.message)) throw alreadyExists(err);
      if (outcomeUnknown(err)) this.#log.warn(`creating container ${goQuote(name)}: its outcome is unknown (${errorText(err)}); the container may exist: check, and remove it if it does`);
      throw createFailed(err);
    }
    // From here on the container is this call's.
    progress({ stage: 'start', text: 'Starting container' });
    let start: Operation | undefined;
    let started = false;
    try {
      signal?.throwIfAborted();
      await this.#start(name, signal, (op) => (start = op));
      started = true;
      return (await this.#client.instances.get(name, { signal })).value;
    } catch (err) {
      if (gaveUp()) {
        await this.#abandon(name, undefined, start);
        throw err;
      }
      await this.#cleanUp(name, started ? 'after it started' : 'after unsuccessful start');
      throw new LxdManagerError(started ? LxdManagerErrorCode.CREATE : LxdManagerErrorCode.START, errorText(err), { cause: err });
    }
  }

  /**
   * Juju's start, tried again (with back-off, up to 8 times, about 6 s) while the daemon says the
   * instance is busy with another operation: a concurrent create of the same name that is failing. LXD
   * refuses the request; Incus accepts it and fails the operation ("Failed to create instance start
   * operation: …busy…"). `sent` hears each start operation LXD accepted (an abandoned creation waits for it).
   */
  async #start(name: string, signal: AbortSignal | undefined, sent: (op: Operation) => void): Promise<void> {
    const pause = this.#options.sleep ?? sleep;
    for (let attempt = 1; ; attempt++) {
      try {
        // Sent without the caller's signal, as the create is: a request cut off on its way may still
        // start the container, and only LXD's answer lets an abandoned creation wait for that start.
        const op = await this.#client.instances.setState(name, { action: 'start', timeout: -1, force: false, stateful: false });
        sent(op);
        await op.wait({ signal, timeoutMs: this.#operationTimeoutMs });
        return;
      } catch (err) {
        const busy = (LxdError.is(err, LxdErrorCode.API) || err instanceof LxdOperationError) && BUSY.test(errorText(err));
        if (attempt >= START_ATTEMPTS || !busy) throw err;
        this.#log.debug(`starting container ${goQuote(name)}, attempt ${attempt} of ${START_ATTEMPTS}: ${errorText(err)}`);
        await pause(Math.min(100 * 2 ** (attempt - 1), 1_500), signal);
      }
    }
  }

  /**
   * The caller gave up on a creation: lets LXD's operations end (cancelling what LXD lets one cancel),
   * then removes the container they made. Runs in the background; failures are logged.
   */
  async #abandon(name: string, create?: Operation, start?: Operation): Promise<void> {
    const timeoutMs = this.#operationTimeoutMs;
    if (create) {
      if (create.current.may_cancel) await create.cancel().catch((err: unknown) => this.#log.debug(`cancelling the creation of ${goQuote(name)}: ${errorText(err)}`));
      try {
        await create.wait({ timeoutMs });
      } catch (err) {
        // failed (or found the name taken): nothing of this call exists
        if (err instanceof LxdOperationError) return;
        this.#log.error(`container ${goQuote(name)} may be left behind: its creation was abandoned and its outcome is unknown (${errorText(err)})`);
        return;
      }
    }
    await start?.wait({ timeoutMs }).catch(() => undefined);
    await this.#operationsEnded(name, timeoutMs);
    if (await this.#cleanUp(name, 'after its creation was abandoned')) this.#log.info(`removed container ${goQuote(name)}, whose creation was abandoned`);
    else this.#log.error(`container ${goQuote(name)} is left behind: its creation was abandoned and it could not be removed; remove it with \`lxdkit container destroy ${name}\``);
  }

  /**
   * Waits until LXD runs no operation on the instance (a start whose answer never reached this call,
   * say), so that a removal does not race it. Best effort: a failure to list is logged and ignored.
   */
  async #operationsEnded(name: string, timeoutMs: number): Promise<void> {
    const paths = new Set([lxdPath`/1.0/instances/${name}`, lxdPath`/1.0/containers/${name}`]);
    const touches = (op: OperationData): boolean =>
      Object.values(op.resources ?? {}).some((urls) => (urls ?? []).some((url) => paths.has(url.split('?')[0] ?? url)));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let running: OperationData[];
      try {
        running = (await this.#client.operations.list({ timeoutMs: Math.max(1, deadline - Date.now()) })).filter((op) => !isFinal(op) && touches(op));
      } catch (err) {
        this.#log.debug(`listing LXD's operations on ${goQuote(name)}: ${errorText(err)}`);
        return;
      }
      if (running.length === 0) return;
      const waitFor = async (id: string): Promise<void> => {
        const op = await this.#client.operations.attach(id, { timeoutMs: Math.max(1, deadline - Date.now()) });
        await op.wait({ timeoutMs: Math.max(1, deadline - Date.now()) });
      };
      await Promise.all(running.map((data) => waitFor(data.id).catch(() => undefined)));
    }
  }

  /**
   * Removes a container this manager created when a later step failed; failures are logged, never
   * thrown. True when the container is gone.
   */
  async #cleanUp(name: string, when: string): Promise<boolean> {
    try {
      await this.#removeContainer(name, undefined);
      return true;
    } catch (err) {
      if (LxdManagerError.is(err) && isNotFound(err.cause)) return true;
      this.#log.error(`failed to remove container ${when}: ${errorText(err)}`);
      return false;
    }
  }

  // ------------------------------------------------------------------------------------ destroy / list

  /**
   * Juju `DestroyContainer` (`RemoveContainer`): reads the state (an unknown container is an
   * error, as in Juju), force-stops a container that is not stopped (with the state's ETag), then
   * deletes it: up to 3 attempts 2 s apart; a delete that finds no container counts as done.
   */
  async destroyContainer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#within(opts, `destroyContainer ${goQuote(id)}`, (signal) => this.#removeContainer(id, signal));
  }

  async #removeContainer(name: string, signal: AbortSignal | undefined): Promise<void> {
    const call = { signal };
    const timeoutMs = this.#operationTimeoutMs;
    await this.#stopForRemoval(name, signal, true);
    const pause = this.#options.sleep ?? sleep;
    let last: unknown;
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++) {
      let op;
      try {
        op = await this.#client.instances.delete(name, call);
      } catch (err) {
        if (isNotFound(err)) return;
        // Started again since it was stopped (an operation that was still under way): stop it again.
        if (!RUNNING.test(errorText(err)) || attempt === DELETE_ATTEMPTS) throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
        this.#log.debug(`deleting container ${goQuote(name)}, attempt ${attempt} of ${DELETE_ATTEMPTS}: ${errorText(err)}; stopping it again`);
        if (!(await this.#stopForRemoval(name, signal, false))) return;
        continue;
      }
      try {
        await op.wait({ ...call, timeoutMs });
        return;
      } catch (err) {
        signal?.throwIfAborted();
        last = err;
        this.#log.debug(`deleting container ${goQuote(name)}, attempt ${attempt} of ${DELETE_ATTEMPTS}: ${errorText(err)}`);
      }
      if (attempt < DELETE_ATTEMPTS) await pause(DELETE_DELAY_MS, signal);
    }
    throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(last), { cause: last });
  }

  /**
   * Force-stops the container unless it is stopped (with the state's ETag). An unknown container is
   * an error the first time (as in Juju); later, gone means removed (false).
   */
  async #stopForRemoval(name: string, signal: AbortSignal | undefined, first: boolean): Promise<boolean> {
    let state;
    try {
      state = await this.#client.instances.state(name, { signal });
    } catch (err) {
      if (!first && isNotFound(err)) return false;
      throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
    }
    if (state.value.status_code === LxdStatusCode.Stopped) return true;
    try {
      const op = await this.#client.instances.setState(name, { action: 'stop', timeout: -1, force: true, stateful: false }, { signal, etag: state.etag });
      await op.wait({ signal, timeoutMs: this.#operationTimeoutMs });
    } catch (err) {
      throw new LxdManagerError(LxdManagerErrorCode.REMOVE, errorText(err), { cause: err });
    }
    return true;
  }

  /**
   * Juju `RemoveContainers`: removes each container; failures are logged
   * (`removing container "<n>": <err>`) and reported together as `failed to remove containers: a, b`.
   */
  async removeContainers(names: readonly string[], opts: CallOptions = {}): Promise<void> {
    const failed: string[] = [];
    for (const name of names) {
      try {
        await this.destroyContainer(name, opts);
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
   * In a cluster it covers every member; each instance carries its member (`location`) and the status
   * LXD listed (`lxdStatus`: `Error` for the containers of a member that cannot be reached).
   */
  async listContainers(opts: CallOptions = {}): Promise<LxdContainerInstance[]> {
    const prefix = this.#namespace.prefix();
    const all = await this.#client.instances.list({ recursion: 1, ...opts });
    return all
      .filter((i) => i.type === 'container' && i.name.startsWith(prefix))
      .map((i) => new LxdContainerInstance(i.name, this.#client, { location: memberOf(i.location), lxdStatus: i.status }));
  }

  // ------------------------------------------------------------------------------------ profiles

  /** Juju `LXDProfileNames`: the container's profiles as LXD lists them (`default` included). */
  async lxdProfileNames(instId: string, opts: CallOptions = {}): Promise<string[]> {
    try {
      return [...(await this.#client.instances.get(instId, opts)).value.profiles];
    } catch (err) {
      throw new LxdManagerError(LxdManagerErrorCode.PROFILE, errorText(err), { cause: err });
    }
  }

  /**
   * Juju `MaybeWriteLXDProfile`: creates the profile unless one with that name exists (an existing
   * profile is never updated, even when it differs). Calls are serialised. No validation here
   * (charm profiles are validated upstream with `validateProfile`). The log names the keys written,
   * never their values (a profile's config may hold cloud-init data).
   */
  async maybeWriteLXDProfile(name: string, profile: Profile, opts: CallOptions = {}): Promise<void> {
    await this.#within(opts, `maybeWriteLXDProfile ${goQuote(name)}`, (signal) =>
      this.#profileMutex.run(async () => {
        try {
          const names = await this.#client.profiles.list({ recursion: 0, signal });
          if (names.includes(name)) {
            this.#log.debug(`lxd profile ${goQuote(name)} already exists, not written again`);
            return;
          }
          try {
            await this.#client.profiles.create({ name, description: profile.description, config: { ...profile.config }, devices: structuredClone(profile.devices) }, { signal });
          } catch (err) {
            if (!isConflict(err)) throw err;
            this.#log.debug(`lxd profile ${goQuote(name)} already exists, not written again`);
            return;
          }
          const { value } = await this.#client.profiles.get(name, { signal });
          this.#log.debug(`wrote lxd profile ${goQuote(name)}: ${describeKeys({ config: value.config, devices: value.devices })}`);
        } catch (err) {
          if (LxdManagerError.is(err)) throw err;
          throw new LxdManagerError(LxdManagerErrorCode.PROFILE, errorText(err), { cause: err });
        }
      }, signal),
    );
  }

  /**
   * Juju `AssignLXDProfiles`: writes the posts that carry a profile (in order, unless they exist),
   * replaces the container's profile list with exactly `profileNames`, then deletes the profiles of
   * the posts without one (errors, e.g. "in use", are logged at DEBUG and ignored). Resolves to the
   * container's profiles as re-read afterwards. On failure the error carries them in
   * `currentProfiles`; nothing is rolled back.
   */
  async assignLXDProfiles(instId: string, profileNames: string[], profilePosts: ProfilePost[], opts: CallOptions = {}): Promise<string[]> {
    return this.#within(opts, `assignLXDProfiles ${goQuote(instId)}`, async (signal) => {
      const call = { signal };
      const report = async (err?: unknown): Promise<string[]> => {
        let current: string[] | undefined;
        try {
          current = await this.lxdProfileNames(instId, call);
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
            await this.maybeWriteLXDProfile(post.name, post.profile, call);
          } catch (err) {
            return report(err);
          }
        } else {
          deletes.push(post.name);
        }
      }
      try {
        await this.#updateContainerProfiles(instId, profileNames, signal);
      } catch (err) {
        return report(err);
      }
      for (const name of deletes) {
        try {
          await this.#client.profiles.delete(name, call);
        } catch (err) {
          this.#log.debug(`failed to delete profile ${goQuote(name)}: ${errorText(err)}`);
        }
      }
      return report();
    });
  }

  /** Juju `UpdateContainerProfiles`: GET with the ETag, replace `profiles`, PUT, wait. */
  async #updateContainerProfiles(name: string, profiles: string[], signal: AbortSignal | undefined): Promise<void> {
    let got;
    try {
      got = await this.#client.instances.get(name, { signal });
    } catch (err) {
      throw annotate(LxdManagerError, `failed to get ${goQuote(name)}`, err, LxdManagerErrorCode.PROFILE);
    }
    let op;
    try {
      op = await this.#client.instances.update(name, { ...instanceWritable(got.value), profiles: [...profiles] }, { signal, etag: got.etag });
    } catch (err) {
      throw annotate(LxdManagerError, `failed to update ${goQuote(name)} with profiles`, err, LxdManagerErrorCode.PROFILE);
    }
    this.#log.debug(`updating profiles of ${goQuote(name)}: ${op.current.description}`);
    try {
      await op.wait({ signal, timeoutMs: this.#operationTimeoutMs });
    } catch (err) {
      throw annotate(LxdManagerError, 'update failed', err, LxdManagerErrorCode.PROFILE);
    }
  }

  /** Runs a manager call under `opts.timeoutMs` (when given) and `opts.signal`. */
  #within<T>(opts: CallOptions, what: string, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `timeoutMs: ${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    }
    return withDeadline(opts, fn, (ms) => new LxdTimeoutError(`${what} did not finish within ${ms} ms`, { timeoutMs: ms }));
  }
}
