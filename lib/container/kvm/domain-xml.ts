/**
 * The libvirt domain XML of a KVM guest (Juju's container/kvm/libvirt/domainxml.go), built as a
 * tree of elements (./xml.ts) so every value is escaped: no XML is assembled from strings.
 */
import { KvmError, KvmErrorCode } from './errors.js';
import { XmlElement, XmlValueError } from './xml.js';

/** A disk of the guest: the qcow2 system disk or the raw NoCloud data-source ISO. */
export interface DiskInfo {
  driver: 'qcow2' | 'raw';
  source: string;
}

/** A guest network interface on a host bridge. */
export interface DomainInterface {
  /** May be empty: libvirt then generates one. */
  macAddress: string;
  /** The host bridge (`<source bridge=…>`). */
  parentBridge: string;
  /** The interface name inside the guest (`<guest dev=…>`). */
  guestDevice: string;
  /** `openvswitch` when the bridge is an OVS bridge. */
  virtualPortType?: string;
}

/** Everything the domain XML is built from. */
export interface DomainParams {
  name: string;
  /** The domain's UUID; libvirt makes one up when it is absent (as for Juju's XML, which has none). */
  uuid?: string;
  /** `kvm` with hardware virtualisation, `qemu` for full emulation. */
  domainType: 'kvm' | 'qemu';
  /** MiB; 0 becomes 512, as in Juju. */
  memory: number;
  /** 0 becomes 1, as in Juju. */
  cpuCores: number;
  /** Juju arch name; `arm64` gets the aarch64 `virt` machine, UEFI firmware and a cortex-a53 CPU. */
  arch: string;
  disks: readonly DiskInfo[];
  interfaces: readonly DomainInterface[];
  /** arm64 firmware; defaults to Juju's `/usr/share/AAVMF/AAVMF_CODE.fd`. */
  arm64Firmware?: string;
}

/** Juju's arm64 UEFI firmware path. */
export const Arm64Firmware = '/usr/share/AAVMF/AAVMF_CODE.fd';

// Juju hard-codes this pty path; libvirt allocates the real pty when the domain starts.
const SERIAL_PTY = '/dev/pts/2';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks the params as Juju's `NewDomain` does: `missing required hostname`, `got <n> disks, need at
 * least 2`, `missing data source disk`, `missing system disk`, `unsupported disk type`.
 *
 * @throws KvmError `KVM_ERR_INVALID_ARGUMENT`.
 */
export function validateDomainParams(p: DomainParams): void {
  const fail = (msg: string): never => {
    throw new KvmError(KvmErrorCode.INVALID_ARGUMENT, msg);
  };
  if (p.name === '') fail('missing required hostname');
  if (p.disks.length < 2) fail(`got ${p.disks.length} disks, need at least 2`);
  if (p.disks.length > 26) fail(`got ${p.disks.length} disks, at most 26 are supported`);
  for (const d of p.disks) if (d.driver !== 'qcow2' && d.driver !== 'raw') fail('unsupported disk type');
  if (!p.disks.some((d) => d.driver === 'raw')) fail('missing data source disk');
  if (!p.disks.some((d) => d.driver === 'qcow2')) fail('missing system disk');
  if (p.domainType !== 'kvm' && p.domainType !== 'qemu') fail(`unsupported domain type "${String(p.domainType)}"`);
  if (p.uuid !== undefined && !UUID.test(p.uuid)) fail(`invalid domain UUID "${p.uuid}"`);
}

/**
 * The domain XML, 4-space indented as Juju marshals it:
 * `<domain type="kvm|qemu">` with name, the UUID when given, vcpu, memory and currentMemory in MiB, `<os><type>hvm</type></os>`
 * (aarch64 `virt` + pflash loader on arm64), ACPI, the disks as `vda`, `vdb`, … (qcow2 then raw in
 * Juju's order), one bridge `<interface>` per interface (MAC, virtio model, source bridge, guest
 * device, OVS virtualport), and a pty serial port and console.
 *
 * @throws KvmError `KVM_ERR_INVALID_ARGUMENT` with Juju's validation texts, or when a value has a
 *   character XML cannot carry (a control character other than tab, newline and carriage return).
 */
export function domainXml(p: DomainParams): string {
  validateDomainParams(p);
  try {
    return buildDomain(p);
  } catch (err) {
    if (err instanceof XmlValueError) throw new KvmError(KvmErrorCode.INVALID_ARGUMENT, `domain XML of ${JSON.stringify(p.name)}: ${err.message}`, { cause: err });
    throw err;
  }
}

function buildDomain(p: DomainParams): string {
  const memory = String(p.memory === 0 ? 512 : p.memory);
  const root = new XmlElement('domain', { type: p.domainType });
  root.ele('name').txt(p.name);
  if (p.uuid !== undefined) root.ele('uuid').txt(p.uuid);
  root.ele('vcpu').txt(String(p.cpuCores === 0 ? 1 : p.cpuCores));
  root.ele('currentMemory', { unit: 'MiB' }).txt(memory);
  root.ele('memory', { unit: 'MiB' }).txt(memory);
  const os = root.ele('os');
  const arm64 = p.arch === 'arm64';
  if (arm64) {
    os.ele('type', { arch: 'aarch64', machine: 'virt' }).txt('hvm');
    os.ele('loader', { readonly: 'yes', type: 'pflash' }).txt(p.arm64Firmware ?? Arm64Firmware);
  } else {
    os.ele('type').txt('hvm');
  }
  const features = root.ele('features');
  features.ele('acpi');
  if (arm64) {
    features.ele('gic', { version: 'host' });
    root.ele('cpu', { mode: 'custom', match: 'exact' }).ele('model', { fallback: 'allow' }).txt('cortex-a53');
  }
  const devices = root.ele('devices');
  p.disks.forEach((disk, i) => {
    const d = devices.ele('disk', { device: 'disk', type: 'file' });
    d.ele('driver', { type: disk.driver, name: 'qemu' });
    d.ele('source', { file: disk.source });
    d.ele('target', { dev: `vd${String.fromCharCode(97 + i)}` });
  });
  for (const iface of p.interfaces) {
    const n = devices.ele('interface', { type: 'bridge' });
    // An empty MAC is left out so that libvirt generates one (Juju writes address="").
    if (iface.macAddress !== '') n.ele('mac', { address: iface.macAddress });
    n.ele('model', { type: 'virtio' });
    n.ele('source', { bridge: iface.parentBridge });
    n.ele('guest', { dev: iface.guestDevice });
    if (iface.virtualPortType) n.ele('virtualport', { type: iface.virtualPortType });
  }
  const serial = devices.ele('serial', { type: 'pty' });
  serial.ele('source', { path: SERIAL_PTY });
  serial.ele('target', { port: '0' });
  const consoleEl = devices.ele('console', { type: 'pty', tty: SERIAL_PTY });
  consoleEl.ele('source', { path: SERIAL_PTY });
  consoleEl.ele('target', { port: '0' });
  return `${root.render('    ')}\n`;
}
