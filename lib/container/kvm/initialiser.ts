/**
 * Juju's container/kvm initialiser: installs the KVM packages (unless their programs are already
 * there) and makes sure libvirt's `juju-pool` dir pool over the guest dir is defined, built,
 * started and autostarted.
 */
import { chown, mkdir, readFile } from 'node:fs/promises';
import { silentLogger, type Logger } from '../../logger.js';
import { hostArch } from '../arch.js';
import type { Initialiser } from '../types.js';
import { GuestDir, KvmLoggerName, LibvirtUser, PoolName } from './constants.js';
import { annotate } from '../../errors.js';
import { KvmError, KvmErrorCode } from './errors.js';
import { Virsh, lookPath, runCommand, type CommandRunner } from './virsh.js';

/**
 * Options of `new KvmInitialiser()`: guest directory, libvirt URI, storage pool name, logger, command runner.
 */
export interface KvmInitialiserOptions {
  /** Default `/var/lib/juju/kvm/guests`. */
  guestDir?: string;
  /** Default `qemu:///system`. */
  libvirtUri?: string;
  /** Default `juju-pool`. */
  poolName?: string;
  logger?: Logger;
  run?: CommandRunner;
  /** Juju arch of the host (normalised `hostArch()` by default). */
  arch?: string;
  /** Timeout of one `virsh` call. Default 60 s. */
  virshTimeoutMs?: number;
  /** Timeout of the package installation. Default 15 min. */
  installTimeoutMs?: number;
  /** Packages to install when a program is missing. Default: Juju's list for this OS (see {@link kvmPackages}). */
  packages?: readonly string[];
  /** Give the guest dir to the `libvirt-qemu` user, as Juju does. Default: when running as root. */
  chownGuestDir?: boolean;
  /** Per-call abort. */
  signal?: AbortSignal;
}

// The program each QEMU system package provides, by Juju arch.
const QEMU_SYSTEM: Readonly<Record<string, { binary: string; debianPackage: string }>> = {
  amd64: { binary: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' },
  i386: { binary: 'qemu-system-i386', debianPackage: 'qemu-system-x86' },
  arm64: { binary: 'qemu-system-aarch64', debianPackage: 'qemu-system-arm' },
  armhf: { binary: 'qemu-system-arm', debianPackage: 'qemu-system-arm' },
  ppc64el: { binary: 'qemu-system-ppc64', debianPackage: 'qemu-system-ppc' },
  s390x: { binary: 'qemu-system-s390x', debianPackage: 'qemu-system-misc' },
};

/**
 * Juju's KVM package list for a host: `qemu-efi` first on arm64, then `qemu-kvm`, `qemu-utils`,
 * `genisoimage`, `libvirt-daemon-system`, `libvirt-clients`. Debian has no `qemu-kvm` package, so
 * there the arch's `qemu-system-*` package takes its place.
 *
 * @example kvmPackages('amd64', 'ubuntu') // => ['qemu-kvm', 'qemu-utils', 'genisoimage', 'libvirt-daemon-system', 'libvirt-clients']
 */
export function kvmPackages(arch: string, osId: string): string[] {
  const qemu = osId === 'ubuntu' ? 'qemu-kvm' : (QEMU_SYSTEM[arch]?.debianPackage ?? 'qemu-kvm');
  return [
    ...(arch === 'arm64' ? ['qemu-efi'] : []),
    qemu,
    'qemu-utils',
    'genisoimage',
    'libvirt-daemon-system',
    'libvirt-clients',
  ];
}

/** The programs the KVM manager needs on a host of `arch`. */
export function kvmPrograms(arch: string): string[] {
  return ['virsh', 'qemu-img', 'genisoimage', 'libvirtd', QEMU_SYSTEM[arch]?.binary ?? 'qemu-system-x86_64'];
}

async function osReleaseId(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^ID="?([^"\n]+)"?$/m.exec(text)?.[1] ?? '';
  } catch {
    return '';
  }
}

async function passwdEntry(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const text = await readFile('/etc/passwd', 'utf8');
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f[2] !== undefined && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file: nothing to chown to
  }
  return undefined;
}

/**
 * @example
 * await new KvmInitialiser().initialise(); // packages, then the juju-pool storage pool
 */
export class KvmInitialiser implements Initialiser {
  readonly #opts: KvmInitialiserOptions;
  readonly #logger: Logger;
  readonly #run: CommandRunner;
  readonly #virsh: Virsh;

  constructor(opts: KvmInitialiserOptions = {}) {
    this.#opts = opts;
    this.#logger = (opts.logger ?? silentLogger).child({ module: KvmLoggerName });
    this.#run = opts.run ?? runCommand;
    this.#virsh = new Virsh({ run: this.#run, logger: this.#logger, uri: opts.libvirtUri, timeoutMs: opts.virshTimeoutMs });
  }

  /**
   * Juju's `Initialise` (steps in docs/kvm.md): the packages unless their programs are there, the
   * dir pool over the guest dir, and the guest dir given to `libvirt-qemu` (when root).
   *
   * @throws KvmError with the failing command's stderr.
   */
  async initialise(): Promise<void> {
    const signal = this.#opts.signal;
    const sig = { signal };
    const arch = this.#opts.arch ?? hostArch();
    const guestDir = this.#opts.guestDir ?? GuestDir;
    const pool = this.#opts.poolName ?? PoolName;

    const searchPath = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;
    const missing = kvmPrograms(arch).filter((p) => !lookPath(p, searchPath));
    if (missing.length === 0) {
      this.#logger.debug('KVM programs present; skipping package installation');
    } else {
      const packages = this.#opts.packages ?? kvmPackages(arch, await osReleaseId());
      this.#logger.info(`installing ${packages.join(' ')} (missing: ${missing.join(' ')})`);
      try {
        await this.#run(
          'apt-get',
          [
            '--option=Dpkg::Options::=--force-confold',
            '--option=Dpkg::options::=--force-unsafe-io',
            '--assume-yes',
            '--quiet',
            'install',
            ...packages,
          ],
          { ...sig, timeoutMs: this.#opts.installTimeoutMs ?? 15 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
        );
      } catch (err) {
        throw annotate(KvmError, 'installing KVM packages', err, KvmErrorCode.COMMAND_FAILED);
      }
    }

    const info = await this.#virsh.poolInfo(pool, sig);
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        throw annotate(KvmError, what, err, KvmErrorCode.COMMAND_FAILED);
      }
    };
    if (!info?.name) {
      await mkdir(guestDir, { recursive: true, mode: 0o755 });
      await step(`defining storage pool ${pool}`, () => this.#virsh.poolDefineAs(pool, guestDir, sig));
    }
    if (info?.state !== 'running') {
      await step(`building storage pool ${pool}`, () => this.#virsh.poolBuild(pool, sig));
      await step(`starting storage pool ${pool}`, () => this.#virsh.poolStart(pool, sig));
    }
    if (info?.autostart !== 'yes') {
      await step(`autostarting storage pool ${pool}`, () => this.#virsh.poolAutostart(pool, sig));
    }

    const wantChown = this.#opts.chownGuestDir ?? process.getuid?.() === 0;
    if (wantChown) {
      const owner = await passwdEntry(LibvirtUser);
      if (owner === undefined) {
        this.#logger.info(`user ${LibvirtUser} does not exist; leaving ${guestDir} as it is`);
      } else {
        await chown(guestDir, owner.uid, owner.gid);
      }
    }
  }
}
