/**
 * Juju's container/kvm manager as a thin adapter over libvirt: every libvirt action is one `virsh`
 * command, disks are made with `qemu-img`, the cloud-init NoCloud seed with `genisoimage`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { deadline, isValidTimeout, type CallOptions } from '../../deadline.js';
import { silentLogger, type Logger } from '../../logger.js';
import { imageMetadataURL } from '../../simplestreams/index.js';
import { hostArch } from '../arch.js';
import { CloudInitNetworkConfigDisabled, cloudInitUserData } from '../cloudinit.js';
import { ConfigAvailabilityZone, ConfigLogDir, ConfigModelUUID, ContainerDir } from '../constants.js';
import { parseConstraintsToStartParams } from '../constraints.js';
import { removeDirectory, validateContainerName, type DirectoryOptions } from '../directory.js';
import { goQuote } from '../../go-compat.js';
import { ManagerConfig } from '../manager-config.js';
import { Namespace } from '../namespace.js';
import type {
  Constraints,
  CreateContainerResult,
  HardwareCharacteristics,
  InstanceConfig,
  Manager,
  NetworkConfig,
  StatusCallback,
  StorageConfig,
} from '../types.js';
import type { CreateOptions } from '../progress.js';
import { validateCreateArgs } from '../validate.js';
import { guardStatusCallback } from '../utils.js';
import {
  ConfigImageMetadataURL,
  ConfigImageStream,
  DefaultLogDir,
  GuestDir,
  KvmDevice,
  KvmLoggerName,
  MetadataFile,
  NetworkConfigFile,
  UserDataFile,
} from './constants.js';
import { domainXml, type DomainInterface } from './domain-xml.js';
import { annotate, ContainerError, ContainerErrorCode, errorText } from '../../errors.js';
import { KvmError, KvmErrorCode } from './errors.js';
import { ensureCachedImage } from './image-cache.js';
import { KvmInstance } from './instance.js';
import { DefaultCommandTimeoutMs, Virsh, lookPath, runCommand, type CommandRunner } from './virsh.js';

/** Options of {@link KvmManager}; every path defaults to Juju's. */
export interface KvmManagerOptions {
  /** Per-guest directories (user-data, meta-data, network-config, domain XML). Default `/var/lib/juju/containers`. */
  containerDir?: string;
  /** Where destroyed guests' directories go. Default `/var/lib/juju/removed-containers`. */
  removedContainerDir?: string;
  /** Disks, ISOs and backing files. Default `/var/lib/juju/kvm/guests`. */
  guestDir?: string;
  /** libvirt URI. Default `qemu:///system`. */
  libvirtUri?: string;
  logger?: Logger;
  /** Force the domain type; by default `kvm` when `/dev/kvm` exists, else `qemu`. */
  domainType?: 'kvm' | 'qemu';
  /** The device checked for the default domain type. Default `/dev/kvm`. */
  kvmDevice?: string;
  /** Juju arch of the guests (the host's, normalised, by default). */
  arch?: string;
  /** Runs `virsh`, `qemu-img`, `genisoimage`, `ovs-vsctl`. Default: execFile. */
  run?: CommandRunner;
  /** Timeout of one `virsh` call. Default 60 s. */
  virshTimeoutMs?: number;
  /** Timeout of one `qemu-img` / `genisoimage` run. Default 5 min. */
  commandTimeoutMs?: number;
  /** Where an image is downloaded before conversion. Default: the OS temp dir. */
  downloadDir?: string;
  /** CA certificate(s) to trust for an https image mirror with a private certificate. */
  imageCa?: string | Buffer;
  /** Idle timeout of the image mirror's HTTP requests. Default 30 s. */
  httpTimeoutMs?: number;
  /** Where network devices are looked up to check that a parent bridge exists. Default `/sys/class/net`. */
  sysClassNet?: string;
}


const SERIES = /^[a-z][a-z0-9-]{0,31}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

const QemuImgInfoSchema = lazySchema(() => z.looseObject({ format: z.string().min(1) }));

/** Modes of what a guest's files are kept in: they hold its cloud-init user data. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * What one create made, so that a failure removes that and nothing else: the container directory,
 * the reserved overlay and seed ISO, and the UUID of the domain it defined (or tried to).
 */
interface Made {
  dir?: string;
  files: string[];
  domainUuid?: string;
}

function errnoCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** Writes `data` to `path` with mode 0600, whatever the umask and the mode of an existing file. */
async function writePrivate(path: string, data: string): Promise<void> {
  const fh = await open(path, 'w', PRIVATE_FILE);
  try {
    await fh.chmod(PRIVATE_FILE);
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** Resolves once `p` has settled; rejects with the abort reason if `signal` aborts first. */
function settled(p: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    p.then(done, done);
  });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Juju's KVM container manager (`kvm.NewContainerManager`).
 *
 * @example
 * const mgr = new KvmManager({ 'model-uuid': uuid }, { guestDir: '/srv/guests' });
 * const { instance } = await mgr.createContainer({ machineId: '0/kvm/1' }, { mem: 1024 }, 'jammy',
 *   bridgeNetworkConfig('br0', 0, []));
 * String(instance); // => 'kvm:juju-c3d479-0-kvm-1'
 */
export class KvmManager implements Manager {
  readonly #namespace: Namespace;
  readonly #logger: Logger;
  readonly #opts: KvmManagerOptions;
  readonly #run: CommandRunner;
  readonly #virsh: Virsh;
  readonly #guestDir: string;
  /** Options of the directory functions, which log on Juju's `juju.container` module of the caller's logger. */
  readonly #dirs: DirectoryOptions & { logger: Logger };
  /** The last create or destroy of each name, while one runs (see #oneAtATime). */
  readonly #busy = new Map<string, Promise<void>>();
  /** `log-dir`: kept as Juju does, unused by creation. */
  readonly logDir: string;
  readonly availabilityZone: string;
  readonly imageMetadataURL: string;
  readonly imageStream: string;

  /**
   * Pops, in Juju's order, `model-uuid` (required), `log-dir` (default `/var/log/juju`),
   * `availability-zone`, `container-image-metadata-url` and `container-image-stream`, then logs the
   * keys left over (`unused config option: …`). A `ManagerConfig` passed in is consumed, as in Juju.
   *
   * @throws ContainerError `CONTAINER_ERR_NOT_VALID` `model UUID is required`, or for a bad UUID (as LxdManager).
   */
  constructor(config: ManagerConfig | Readonly<Record<string, string>>, opts: KvmManagerOptions = {}) {
    const cfg = config instanceof ManagerConfig ? config : new ManagerConfig(config);
    this.#opts = opts;
    const logger = opts.logger ?? silentLogger;
    this.#logger = logger.child({ module: KvmLoggerName });
    const modelUUID = cfg.popValue(ConfigModelUUID);
    if (modelUUID === '') throw new ContainerError(ContainerErrorCode.NOT_VALID, 'model UUID is required');
    this.#namespace = new Namespace(modelUUID);
    this.logDir = cfg.popValue(ConfigLogDir) || DefaultLogDir;
    this.availabilityZone = cfg.popValue(ConfigAvailabilityZone);
    if (this.availabilityZone === '') this.#logger.info('Availability zone will be empty for this container manager');
    this.imageMetadataURL = cfg.popValue(ConfigImageMetadataURL);
    this.imageStream = cfg.popValue(ConfigImageStream);
    cfg.warnAboutUnused(logger);
    this.#run = opts.run ?? runCommand;
    this.#virsh = new Virsh({ run: this.#run, logger: this.#logger, uri: opts.libvirtUri, timeoutMs: opts.virshTimeoutMs });
    this.#guestDir = opts.guestDir ?? GuestDir;
    this.#dirs = { logger, containerDir: opts.containerDir, removedContainerDir: opts.removedContainerDir };
  }

  /**
   * The manager's namespace: the prefix of the names of the guests it makes (Juju's `Manager.Namespace()`).
   */
  namespace(): Namespace {
    return this.#namespace;
  }

  /**
   * True when `virsh` and `qemu-img` are in PATH. (Juju looks for a `qemu-utils` binary, which is a
   * package name, so Juju's check is normally false; lxdkit checks the binary that package ships.)
   */
  isInitialized(): boolean {
    return lookPath('virsh') && lookPath('qemu-img');
  }

  /** The domain type new guests get: the `domainType` option, else `kvm` iff `/dev/kvm` exists. */
  domainType(): 'kvm' | 'qemu' {
    return this.#opts.domainType ?? (existsSync(this.#opts.kvmDevice ?? KvmDevice) ? 'kvm' : 'qemu');
  }

  /**
   * Creates, starts and autostarts the guest of `instanceConfig.machineId` (Juju's `CreateContainer`;
   * steps, callbacks and texts in docs/kvm.md). Input is checked before anything is written, and a
   * name that is taken (domain, container directory, overlay or seed ISO) is refused before anything
   * is touched. On failure, abort included, what this call made is removed. `storage` is ignored, as
   * in Juju.
   *
   * @throws ContainerError for a bad machine id (no callback); KvmError with Juju's texts otherwise,
   *   `KVM_ERR_ALREADY_EXISTS` for a name that is taken; the abort reason when `signal` aborts.
   */
  async createContainer(
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network?: NetworkConfig,
    _storage?: StorageConfig,
    callback?: StatusCallback,
    opts: CreateOptions = {},
  ): Promise<CreateContainerResult> {
    // Mistyped arguments are refused before anything else (no callback, as for a bad machine id).
    ({ instanceConfig, constraints, series, network } = validateCreateArgs({ instanceConfig, constraints, series, network }));
    const name = this.#namespace.hostname(instanceConfig.machineId);
    const cb = guardStatusCallback(callback, (msg) => this.#logger.warn(msg));
    try {
      return await this.#within(opts, `createContainer ${goQuote(name)}`, (signal) =>
        this.#oneAtATime(name, signal, () => this.#create(name, instanceConfig, constraints, series, network, cb, signal)),
      );
    } catch (err) {
      cb('provisioning error', `Creating container: ${errorText(err)}`);
      throw err;
    }
  }

  async #create(
    name: string,
    instanceConfig: InstanceConfig,
    constraints: Constraints,
    series: string,
    network: NetworkConfig | undefined,
    cb: StatusCallback,
    signal: AbortSignal | undefined,
  ): Promise<CreateContainerResult> {
    // 1. Check every input and render every file before touching the disk.
    if (!SERIES.test(series)) {
      throw new KvmError(KvmErrorCode.INVALID_ARGUMENT, `invalid series ${goQuote(series)}: expected a name like "jammy"`);
    }
    // The caller's logger: the parser logs on its own `juju.container.kvm` child.
    const params = parseConstraintsToStartParams(constraints, this.#dirs.logger);
    const interfaces = await this.#interfaces(network, signal);
    let userData: string;
    try {
      userData = cloudInitUserData(
        { ...instanceConfig, machineContainerHostname: name, series: instanceConfig.series ?? series },
        network,
      );
    } catch (err) {
      throw annotate(KvmError, 'failed to write user data', err, KvmErrorCode.INVALID_ARGUMENT);
    }
    const arch = this.#opts.arch ?? hostArch();
    const dir = join(this.#dirs.containerDir ?? ContainerDir, name);
    const overlay = join(this.#guestDir, `${name}.qcow`);
    const iso = join(this.#guestDir, `${name}-ds.iso`);
    const uuid = randomUUID();
    const xml = domainXml({
      name,
      uuid,
      domainType: this.domainType(),
      memory: params.memory,
      cpuCores: params.cpuCores,
      arch,
      disks: [
        { driver: 'qcow2', source: overlay },
        { driver: 'raw', source: iso },
      ],
      interfaces,
    });
    const hardware: HardwareCharacteristics = {
      arch,
      mem: params.memory,
      rootDisk: params.rootDisk * 1024,
      cpuCores: params.cpuCores,
    };

    const made: Made = { files: [] };
    try {
      // 2. Claim the name: the container directory, the overlay and the seed ISO, each made
      // exclusively, so that what is removed on failure is only what this call made.
      await this.#claim(name, dir, [iso, overlay], made, signal);
      try {
        await writePrivate(join(dir, UserDataFile), userData);
      } catch (err) {
        throw annotate(KvmError, 'failed to write user data', err, KvmErrorCode.FILESYSTEM);
      }

      cb('allocating', 'Creating container; it might take some time');

      // 3. The backing file (one download at a time).
      let backing: string;
      try {
        backing = await ensureCachedImage(
          { series, arch, stream: this.imageStream, source: this.#imageSource(), guestDir: this.#guestDir, callback: cb, signal },
          {
            logger: this.#logger,
            run: this.#run,
            downloadDir: this.#opts.downloadDir,
            ca: this.#opts.imageCa,
            httpTimeoutMs: this.#opts.httpTimeoutMs,
            convertTimeoutMs: this.#opts.commandTimeoutMs,
          },
        );
      } catch (err) {
        if (signal?.aborted) throw err;
        throw annotate(KvmError, 'acquiring container image', err, KvmErrorCode.IMAGE);
      }

      // 4. Juju's Start: CreateMachine, then autostart.
      try {
        cb('allocating', 'Creating instance');
        await this.#createMachine(name, dir, backing, params.rootDisk, overlay, iso, xml, uuid, made, signal);
        cb('allocating', 'Starting instance');
        try {
          signal?.throwIfAborted();
          await this.#virsh.autostart(name, { signal });
        } catch (err) {
          if (signal?.aborted) throw err;
          throw annotate(KvmError, `failed to autostart domain ${goQuote(name)}`, err, KvmErrorCode.COMMAND_FAILED);
        }
      } catch (err) {
        if (signal?.aborted) throw err;
        throw annotate(KvmError, 'kvm container creation failed', err, KvmErrorCode.COMMAND_FAILED);
      }
    } catch (err) {
      await this.#undoCreate(name, made);
      throw err;
    }

    cb('running', 'Container started');
    return { instance: new KvmInstance(name, this.#virsh), hardware };
  }

  /**
   * Refuses a name libvirt knows, then makes the container directory (0700) and reserves `files`
   * (empty, 0600), each exclusively: one that is there already means another guest (or an older
   * failure) owns the name, and it is left alone.
   */
  async #claim(name: string, dir: string, files: readonly string[], made: Made, signal: AbortSignal | undefined): Promise<void> {
    const taken = (what: string): KvmError =>
      new KvmError(KvmErrorCode.ALREADY_EXISTS, `container ${goQuote(name)} already exists: ${what}`);
    const state = await this.#virsh.domState(name, { signal });
    if (state !== undefined) throw taken(`libvirt has a domain of that name (${state})`);
    try {
      await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
      await mkdir(this.#guestDir, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw annotate(KvmError, 'failed to create container directory', err, KvmErrorCode.FILESYSTEM);
    }
    signal?.throwIfAborted();
    // Not Juju's MkdirAll: an existing directory is another guest's (or an older failure's).
    try {
      await mkdir(dir, { mode: PRIVATE_DIR });
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw taken(`${dir} exists`);
      throw annotate(KvmError, 'failed to create container directory', err, KvmErrorCode.FILESYSTEM);
    }
    made.dir = dir;
    for (const file of files) {
      let fh: FileHandle;
      try {
        fh = await open(file, 'wx', PRIVATE_FILE);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw taken(`${file} exists`);
        throw annotate(KvmError, `failed to create ${file}`, err, KvmErrorCode.FILESYSTEM);
      }
      made.files.push(file);
      await fh.close();
    }
    try {
      // The modes asked for above lose the bits the umask has; these are the modes wanted.
      await chmod(dir, PRIVATE_DIR);
      for (const file of files) await chmod(file, PRIVATE_FILE);
    } catch (err) {
      throw annotate(KvmError, 'failed to create container directory', err, KvmErrorCode.FILESYSTEM);
    }
  }

  /**
   * Removes what a failed create made (see {@link Made}), never what was there before it. Runs
   * without the caller's signal (often the reason it failed), each command under its own timeout.
   * Failures are logged, never thrown: the create's own error is the one the caller gets.
   */
  async #undoCreate(name: string, made: Made): Promise<void> {
    const removed: string[] = [];
    const left = (what: string, err: unknown): void =>
      this.#logger.error(`failed to remove ${what} of the failed create of ${goQuote(name)}: ${errorText(err)}; it is left behind`);
    if (made.domainUuid !== undefined) {
      const ours = async (): Promise<boolean> => (await this.#virsh.domUuid(name)) === made.domainUuid;
      try {
        if (await ours()) {
          if ((await this.#virsh.domState(name)) !== 'shut off') {
            await this.#virsh.destroy(name).catch((err: unknown) => this.#logger.info(`\`virsh destroy ${name}\` failed: ${goQuote(errorText(err))}`));
          }
          await this.#virsh.undefine(name).catch((err: unknown) => this.#logger.info(`\`virsh undefine --nvram ${name}\` failed: ${goQuote(errorText(err))}`));
          if (await ours()) throw new KvmError(KvmErrorCode.COMMAND_FAILED, 'libvirt still has it');
          removed.push(`domain ${goQuote(name)}`);
        }
      } catch (err) {
        left(`domain ${goQuote(name)}`, err);
      }
    }
    for (const file of made.files) {
      try {
        await unlink(file);
        removed.push(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') left(file, err);
      }
    }
    if (made.dir !== undefined) {
      try {
        await rm(made.dir, { recursive: true, force: true });
        removed.push(made.dir);
      } catch (err) {
        left(made.dir, err);
      }
    }
    if (removed.length > 0) this.#logger.info(`create of ${goQuote(name)} failed; removed what it made: ${removed.join(', ')}`);
  }

  /** Juju's `CreateMachine`: NoCloud files and ISO, the qcow2 overlay, the domain XML, define, start. */
  async #createMachine(
    name: string,
    dir: string,
    backing: string,
    rootDiskGB: number,
    overlay: string,
    iso: string,
    xml: string,
    uuid: string,
    made: Made,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const cmdOpts = { signal, timeoutMs: this.#opts.commandTimeoutMs ?? DefaultCommandTimeoutMs };
    const step = async (prefix: string, code: KvmError['code'], fn: () => Promise<unknown>): Promise<void> => {
      try {
        signal?.throwIfAborted();
        await fn();
      } catch (err) {
        if (signal?.aborted) throw err;
        throw annotate(KvmError, prefix, err, code);
      }
    };
    const metadata = (): string => `${JSON.stringify({ 'instance-id': randomUUID() })}\n`;
    await step('failed to write instance metadata', KvmErrorCode.FILESYSTEM, () => writePrivate(join(dir, MetadataFile), metadata()));
    await step(`failed to write data source volume for ${goQuote(name)}`, KvmErrorCode.COMMAND_FAILED, async () => {
      await writePrivate(join(dir, MetadataFile), metadata());
      await writePrivate(join(dir, NetworkConfigFile), CloudInitNetworkConfigDisabled);
      // Writes into the ISO reserved by #claim, which keeps its mode 0600: libvirt gives it to the
      // QEMU user when the guest starts (dynamic ownership), so QEMU can read it.
      await this.#run(
        'genisoimage',
        ['-output', iso, '-volid', 'cidata', '-joliet', '-rock', UserDataFile, MetadataFile, NetworkConfigFile],
        { ...cmdOpts, cwd: dir },
      );
    });
    await step(`failed to write root volume for ${goQuote(name)}`, KvmErrorCode.COMMAND_FAILED, async () => {
      const { stdout } = await this.#run('qemu-img', ['info', '--output=json', backing], cmdOpts);
      const info = QemuImgInfoSchema.parse(JSON.parse(stdout));
      await this.#run('qemu-img', ['create', '-b', backing, '-F', info.format, '-f', 'qcow2', overlay, `${rootDiskGB}G`], cmdOpts);
    });
    const xmlPath = join(dir, `${name}.xml`);
    await step(`failed to write domain xml for ${goQuote(name)}`, KvmErrorCode.FILESYSTEM, () => writePrivate(xmlPath, xml));
    await step(`failed to defined the domain for ${goQuote(name)} from ${xmlPath}`, KvmErrorCode.COMMAND_FAILED, () => {
      // From here a domain of this name with this UUID is ours, whether define ends or is cut short.
      made.domainUuid = uuid;
      return this.#virsh.define(xmlPath, { signal });
    });
    await step(`failed to start domain ${goQuote(name)}`, KvmErrorCode.COMMAND_FAILED, () => this.#virsh.start(name, { signal }));
  }

  /**
   * Juju's image source: the metadata URL verbatim when set; else, for a stream other than
   * `released`, `http://cloud-images.ubuntu.com/<stream>`; else the default mirror.
   */
  #imageSource(): string {
    if (this.imageMetadataURL !== '') return this.imageMetadataURL;
    if (this.imageStream !== '' && this.imageStream !== 'released') {
      return imageMetadataURL('http://cloud-images.ubuntu.com', this.imageStream);
    }
    return '';
  }

  /** The guest's bridge interfaces, checked: bridge network type, valid MACs, existing bridges. */
  async #interfaces(network: NetworkConfig | undefined, signal: AbortSignal | undefined): Promise<DomainInterface[]> {
    if (network === undefined) return [];
    const fail = (msg: string): never => {
      throw new KvmError(KvmErrorCode.INVALID_ARGUMENT, `kvm container creation failed: ${msg}`);
    };
    if (network.networkType !== 'bridge') fail('Non-bridge network devices not yet supported');
    const out: DomainInterface[] = [];
    for (const iface of network.interfaces) {
      const parent = iface.parentInterfaceName || network.device;
      if (parent === '') fail(`parent interface name is empty for interface ${goQuote(iface.interfaceName)}`);
      if (!IFNAME.test(parent)) fail(`invalid parent bridge name ${goQuote(parent)}`);
      if (!IFNAME.test(iface.interfaceName)) fail(`invalid interface name ${goQuote(iface.interfaceName)}`);
      if (iface.macAddress !== '') {
        const firstOctet = Number.parseInt(iface.macAddress.slice(0, 2), 16);
        if (!MAC.test(iface.macAddress) || (firstOctet & 1) === 1) {
          fail(`invalid MAC address ${goQuote(iface.macAddress)} for interface ${goQuote(iface.interfaceName)}: expected a unicast address like "52:54:00:12:34:56"`);
        }
      }
      out.push({ macAddress: iface.macAddress.toLowerCase(), parentBridge: parent, guestDevice: iface.interfaceName });
    }
    if (out.length === 0) return out;
    const ovs = await this.#ovsBridges(signal);
    const sysClassNet = this.#opts.sysClassNet ?? '/sys/class/net';
    for (const iface of out) {
      if (ovs.has(iface.parentBridge)) {
        iface.virtualPortType = 'openvswitch';
      } else if (!(await isDirectory(join(sysClassNet, iface.parentBridge, 'bridge')))) {
        fail(
          `parent bridge ${goQuote(iface.parentBridge)} of interface ${goQuote(iface.guestDevice)} does not exist` +
            ' (it must be an existing Linux or Open vSwitch bridge)',
        );
      }
    }
    return out;
  }

  /** Juju's `OvsManagedBridges`: `ovs-vsctl list-br`, only when `ovs-vsctl` is installed. */
  async #ovsBridges(signal: AbortSignal | undefined): Promise<Set<string>> {
    if (!lookPath('ovs-vsctl')) return new Set();
    const { stdout } = await this.#run('ovs-vsctl', ['list-br'], { timeoutMs: 30_000, signal });
    return new Set(stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  /** The namespace's running domains (Juju's `ListContainers`). */
  async listContainers(opts: CallOptions = {}): Promise<KvmInstance[]> {
    const prefix = this.#namespace.prefix();
    const rows = await this.#within(opts, 'listContainers', (signal) => this.#virsh.list({ signal }));
    return rows.filter((r) => r.name.startsWith(prefix) && r.state === 'running').map((r) => new KvmInstance(r.name, this.#virsh));
  }

  /**
   * Removes a guest (Juju's `DestroyContainer`, with the fix Juju made later; docs/kvm.md): stops and
   * undefines the domain, removes `<name>.qcow` and `<name>-ds.iso` (not the backing file) and moves
   * the container directory to the removed dir. A guest that is gone is no error, so a second call,
   * or one running at the same time, succeeds.
   *
   * @throws KvmError `KVM_ERR_INVALID_ARGUMENT` for an id outside this manager's namespace;
   *   `KVM_ERR_COMMAND_FAILED` when libvirt still has the domain after undefine.
   */
  async destroyContainer(id: string, opts: CallOptions = {}): Promise<void> {
    validateContainerName(id);
    const prefix = this.#namespace.prefix();
    if (!id.startsWith(prefix)) {
      throw new KvmError(KvmErrorCode.INVALID_ARGUMENT, `instance ${goQuote(id)} is not in namespace ${goQuote(prefix)}`);
    }
    await this.#within(opts, `destroyContainer ${goQuote(id)}`, (signal) => this.#oneAtATime(id, signal, () => this.#destroy(id, signal)));
  }

  async #destroy(id: string, signal: AbortSignal | undefined): Promise<void> {
    const state = await this.#virsh.domState(id, { signal });
    if (state !== undefined) {
      if (state !== 'shut off') {
        await this.#virsh.destroy(id, { signal }).catch((err: unknown) => {
          this.#logger.info(`\`virsh destroy ${id}\` failed: ${goQuote(errorText(err))}`);
        });
      }
      let undefineError: unknown;
      await this.#virsh.undefine(id, { signal }).catch((err: unknown) => {
        undefineError = err;
        this.#logger.info(`\`virsh undefine --nvram ${id}\` failed: ${goQuote(errorText(err))}`);
      });
      // Another destroy (of another process) may have undefined it first: gone is what we want.
      if (undefineError !== undefined && (await this.#virsh.domState(id, { signal })) !== undefined) {
        throw annotate(KvmError, `domain ${goQuote(id)} is still defined`, undefineError, KvmErrorCode.COMMAND_FAILED);
      }
    }
    for (const file of [join(this.#guestDir, `${id}.qcow`), join(this.#guestDir, `${id}-ds.iso`)]) {
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.#logger.error(`failed to remove ${file}: ${err.message}`);
      });
    }
    signal?.throwIfAborted();
    const dir = join(this.#dirs.containerDir ?? ContainerDir, id);
    if (!(await isDirectory(dir))) {
      this.#logger.debug(`no container directory ${dir} to remove`);
      return;
    }
    try {
      await removeDirectory(id, { ...this.#dirs, signal });
    } catch (err) {
      // Moved away meanwhile by a destroy of another process (this one's are serialised): done.
      if (signal?.aborted || (await isDirectory(dir))) throw err;
      this.#logger.debug(`container directory ${dir} was moved by another destroy`);
    }
  }

  /**
   * Runs `fn` once every earlier create or destroy of `name` by this manager has settled, so that
   * they never interleave (a destroy halfway through a create would leave a running guest without
   * its files). Waiting ends early, with the abort reason, when `signal` aborts.
   */
  async #oneAtATime<T>(name: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const earlier = this.#busy.get(name);
    const run = (async () => {
      if (earlier !== undefined) await settled(earlier, signal);
      signal?.throwIfAborted();
      return fn();
    })();
    // The next call waits for both: this one may stop waiting (abort) while the earlier still runs.
    const tail = Promise.allSettled([earlier, run]).then(() => undefined);
    this.#busy.set(name, tail);
    void tail.then(() => {
      if (this.#busy.get(name) === tail) this.#busy.delete(name);
    });
    return run;
  }

  /**
   * Runs a call under `opts.timeoutMs` (when given) as under an abort: what the call made is removed
   * before it rejects, then with a `KVM_ERR_TIMEOUT` error.
   */
  async #within<T>(opts: CallOptions, what: string, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    if (opts.timeoutMs === undefined) return fn(opts.signal);
    if (!isValidTimeout(opts.timeoutMs)) {
      throw new ContainerError(ContainerErrorCode.NOT_VALID, `timeoutMs: ${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
    }
    const dl = deadline(opts.signal, opts.timeoutMs);
    try {
      return await fn(dl.signal);
    } catch (err) {
      if (dl.timedOut) throw new KvmError(KvmErrorCode.TIMEOUT, `${what} did not finish within ${opts.timeoutMs} ms`, { cause: err });
      throw err;
    } finally {
      dl.clear();
    }
  }
}
