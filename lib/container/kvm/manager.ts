/**
 * Juju's container/kvm manager as a thin adapter over libvirt: every libvirt action is one `virsh`
 * command, disks are made with `qemu-img`, the cloud-init NoCloud seed with `genisoimage`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../logger.js';
import { imageMetadataURL } from '../../simplestreams/index.js';
import { hostArch } from '../arch.js';
import { CloudInitNetworkConfigDisabled, cloudInitUserData } from '../cloudinit.js';
import { ConfigAvailabilityZone, ConfigLogDir, ConfigModelUUID, ContainerDir } from '../constants.js';
import { parseConstraintsToStartParams } from '../constraints.js';
import { newDirectory, removeDirectory, validateContainerName, type DirectoryOptions } from '../directory.js';
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

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

const SERIES = /^[a-z][a-z0-9-]{0,31}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

const QemuImgInfoSchema = z.looseObject({ format: z.string().min(1) });

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
   * Creates, starts and autostarts the guest of `instanceConfig.machineId` (Juju's
   * `CreateContainer`). Callbacks, in order: (allocating, `Creating container; it might take some
   * time`), [(allocating, `copying <url> <pct>% (<rate>/s)`)…], (allocating, `Creating instance`),
   * (allocating, `Starting instance`), (running, `Container started`); on an error after the name is
   * known, (provisioning error, `Creating container: <err>`). All input is checked before anything
   * is written. `storage` is accepted and ignored, as in Juju.
   *
   * @throws ContainerError for a bad machine id (no callback); KvmError with Juju's texts otherwise.
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
    const name = this.#namespace.hostname(instanceConfig.machineId);
    const cb = guardStatusCallback(callback, (msg) => this.#logger.warn(msg));
    try {
      return await this.#create(name, instanceConfig, constraints, series, network, cb, opts.signal);
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
    const overlay = join(this.#guestDir, `${name}.qcow`);
    const iso = join(this.#guestDir, `${name}-ds.iso`);
    const xml = domainXml({
      name,
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

    // 2. The container directory and the user data.
    let dir: string;
    try {
      dir = await newDirectory(name, { ...this.#dirs, signal });
    } catch (err) {
      throw annotate(KvmError, 'failed to create container directory', err, KvmErrorCode.FILESYSTEM);
    }
    try {
      await writeFile(join(dir, UserDataFile), userData, { mode: 0o644 });
    } catch (err) {
      throw annotate(KvmError, 'failed to write user data', err, KvmErrorCode.FILESYSTEM);
    }

    cb('allocating', 'Creating container; it might take some time');

    // 3. The backing file (one download at a time).
    let backing: string;
    try {
      await mkdir(this.#guestDir, { recursive: true, mode: 0o755 });
      backing = await ensureCachedImage(
        {
          series,
          arch,
          stream: this.imageStream,
          source: this.#imageSource(),
          guestDir: this.#guestDir,
          callback: cb,
          signal,
        },
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
      await this.#createMachine(name, dir, backing, params.rootDisk, overlay, iso, xml, signal);
      cb('allocating', 'Starting instance');
      try {
        await this.#virsh.autostart(name, { signal });
      } catch (err) {
        throw annotate(KvmError, `failed to autostart domain ${goQuote(name)}`, err, KvmErrorCode.COMMAND_FAILED);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      throw annotate(KvmError, 'kvm container creation failed', err, KvmErrorCode.COMMAND_FAILED);
    }

    cb('running', 'Container started');
    return { instance: new KvmInstance(name, this.#virsh), hardware };
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
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const sig = { signal };
    const cmdOpts = { signal, timeoutMs: this.#opts.commandTimeoutMs ?? DefaultCommandTimeoutMs };
    const step = async (prefix: string, code: KvmError['code'], fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        if (signal?.aborted) throw err;
        throw annotate(KvmError, prefix, err, code);
      }
    };
    const metadata = (): string => `${JSON.stringify({ 'instance-id': randomUUID() })}\n`;
    await step('failed to write instance metadata', KvmErrorCode.FILESYSTEM, () =>
      writeFile(join(dir, MetadataFile), metadata(), { mode: 0o644 }),
    );
    await step(`failed to write data source volume for ${goQuote(name)}`, KvmErrorCode.COMMAND_FAILED, async () => {
      await writeFile(join(dir, MetadataFile), metadata(), { mode: 0o644 });
      await writeFile(join(dir, NetworkConfigFile), CloudInitNetworkConfigDisabled, { mode: 0o644 });
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
    await step(`failed to write domain xml for ${goQuote(name)}`, KvmErrorCode.FILESYSTEM, () =>
      writeFile(xmlPath, xml, { mode: 0o644 }),
    );
    await step(`failed to defined the domain for ${goQuote(name)} from ${xmlPath}`, KvmErrorCode.COMMAND_FAILED, () =>
      this.#virsh.define(xmlPath, sig),
    );
    await step(`failed to start domain ${goQuote(name)}`, KvmErrorCode.COMMAND_FAILED, () => this.#virsh.start(name, sig));
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
    const rows = await this.#virsh.list(opts);
    return rows.filter((r) => r.name.startsWith(prefix) && r.state === 'running').map((r) => new KvmInstance(r.name, this.#virsh));
  }

  /**
   * Removes a guest (Juju's `DestroyContainer` with the fix Juju made later): `virsh destroy` when
   * it is active and `virsh undefine --nvram` when it is defined (failures logged at INFO with Juju's
   * texts), then removes `<name>.qcow` and `<name>-ds.iso` (not the backing file) and moves the
   * container directory to the removed dir (`name`, `name.1`, …). Calling it again for a guest that
   * is already gone does nothing.
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
    const state = await this.#virsh.domState(id, opts);
    if (state !== undefined) {
      if (state !== 'shut off') {
        await this.#virsh.destroy(id, opts).catch((err: unknown) => {
          this.#logger.info(`\`virsh destroy ${id}\` failed: ${goQuote(errorText(err))}`);
        });
      }
      let undefineError: unknown;
      await this.#virsh.undefine(id, opts).catch((err: unknown) => {
        undefineError = err;
        this.#logger.info(`\`virsh undefine --nvram ${id}\` failed: ${goQuote(errorText(err))}`);
      });
      if (undefineError !== undefined && (await this.#virsh.domState(id, opts)) !== undefined) {
        throw annotate(KvmError, `domain ${goQuote(id)} is still defined`, undefineError, KvmErrorCode.COMMAND_FAILED);
      }
    }
    for (const file of [join(this.#guestDir, `${id}.qcow`), join(this.#guestDir, `${id}-ds.iso`)]) {
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.#logger.error(`failed to remove ${file}: ${err.message}`);
      });
    }
    opts.signal?.throwIfAborted();
    const dir = join(this.#dirs.containerDir ?? ContainerDir, id);
    if (await isDirectory(dir)) {
      await removeDirectory(id, { ...this.#dirs, signal: opts.signal });
    } else {
      this.#logger.debug(`no container directory ${dir} to remove`);
    }
  }
}
