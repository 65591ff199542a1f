/**
 * KvmManager and KvmInitialiser against the real libvirtd (qemu:///system), domain type `qemu`.
 * Guests boot nothing: a few-MiB backing file made here is enough for a domain to be `running`.
 * Everything lives under one temp dir, on a bridge with no address made here, in a namespace from
 * a random model UUID; leftovers of killed runs (domains whose disks are under an old temp dir of
 * this spec, its bridges and pools) are removed first.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostArch } from '../../../lib/container/arch.js';
import {
  KvmCommandError,
  KvmError,
  KvmErrorCode,
  KvmInitialiser,
  KvmManager,
  domainXml,
  runCommand,
  type CommandRunner,
  type KvmManagerOptions,
} from '../../../lib/container/kvm/index.js';
import { errorText } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import { rejection } from '../../helpers/rejection.js';
import { bridgeNetworkConfig, newInterfaceInfo } from '../../../lib/container/network.js';
import type { Status } from '../../../lib/container/types.js';
import { pauseNock, sha256, startSimplestreamsServer, type SimplestreamsServer } from '../../helpers/simplestreams-server.js';

const execFileP = promisify(execFile);
const URI = process.env['LIBVIRT_URI'] ?? 'qemu:///system';
const TMP_PREFIX = 'lxdkit-kvm-it-';
const BRIDGE_PREFIX = 'lxkvm';
const POOL_PREFIX = 'lxdkit-it-';
const ARCH = hostArch();

async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { timeout: 120_000 });
  return stdout;
}
const virsh = (...args: string[]): Promise<string> => sh('virsh', ['-c', URI, ...args]);
const quiet = (p: Promise<unknown>): Promise<unknown> => p.catch(() => undefined);

/** Records `LEVEL message` lines. */
function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (a: unknown, b?: unknown) => void lines.push(`${level} ${typeof a === 'string' ? a : String(b)}`);
  const logger: Logger = { trace: log('TRACE'), debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR'), child: () => logger };
  return logger;
}

/** Timings and observations printed at the end of the run. */
const measured: string[] = [];

async function allDomains(): Promise<string[]> {
  return (await virsh('list', '--all', '--name')).split('\n').map((l) => l.trim()).filter(Boolean);
}

async function runningDomains(): Promise<string[]> {
  return (await virsh('list', '--name')).split('\n').map((l) => l.trim()).filter(Boolean);
}

async function removeDomain(name: string): Promise<void> {
  await quiet(virsh('destroy', name));
  await quiet(virsh('undefine', '--nvram', name));
}

/** Removes domains, bridges, pools and temp dirs that earlier (killed) runs of this spec left. */
async function removeLeftovers(): Promise<void> {
  const tmpRoot = join(tmpdir(), TMP_PREFIX);
  for (const name of await allDomains()) {
    const xml = await virsh('dumpxml', name).catch(() => '');
    if (xml.includes(`file='${tmpRoot}`)) await removeDomain(name);
  }
  const pools = (await virsh('pool-list', '--all', '--name')).split('\n').map((l) => l.trim());
  for (const pool of pools.filter((p) => p.startsWith(POOL_PREFIX))) {
    await quiet(virsh('pool-destroy', pool));
    await quiet(virsh('pool-undefine', pool));
  }
  const links = JSON.parse(await sh('ip', ['-j', 'link', 'show', 'type', 'bridge'])) as { ifname: string }[];
  for (const l of links.filter((x) => x.ifname.startsWith(BRIDGE_PREFIX))) await quiet(sh('ip', ['link', 'del', l.ifname]));
  for (const entry of await readdir(tmpdir())) {
    if (entry.startsWith(TMP_PREFIX)) await rm(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** The ISO 9660 volume id (32 bytes at offset 0x8028 of the primary volume descriptor). */
async function isoVolumeId(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(32);
    await fh.read(buf, 0, 32, 0x8028);
    return buf.toString('latin1').trim();
  } finally {
    await fh.close();
  }
}

async function imageInfo(path: string): Promise<{ format: string; 'backing-filename'?: string; 'virtual-size': number }> {
  return JSON.parse(await sh('qemu-img', ['info', '-U', '--output=json', path])) as {
    format: string;
    'backing-filename'?: string;
    'virtual-size': number;
  };
}

describe('KvmManager on a real libvirtd (integration)', function () {
  this.timeout(300_000);

  let root: string;
  let containerDir: string;
  let removedContainerDir: string;
  let guestDir: string;
  let downloadDir: string;
  let bridge: string;
  let modelUUID: string;
  let decoy: string;
  let mirror: SimplestreamsServer | undefined;
  const mac = `52:54:00:${randomBytes(3).toString('hex').match(/../g)?.join(':') ?? '00:00:01'}`;

  const dirs = () => ({ containerDir, removedContainerDir, guestDir, downloadDir });
  const network = () =>
    bridgeNetworkConfig(bridge, 0, [newInterfaceInfo({ interfaceName: 'eth0', macAddress: mac, parentInterfaceName: bridge, configType: 'dhcp' })]);

  before(async function () {
    const inCi = Boolean(process.env['CI']);
    const missing: string[] = [];
    try {
      await virsh('list');
    } catch (err) {
      missing.push(`libvirtd at ${URI} does not answer (${(err as Error).message.split('\n')[0]})`);
    }
    if (process.getuid?.() !== 0) missing.push('these specs must run as root (they create a bridge)');
    for (const tool of ['qemu-img', 'genisoimage', 'ip']) {
      await sh('which', [tool]).catch(() => missing.push(`${tool} is not installed`));
    }
    if (missing.length > 0) {
      const why = missing.join('; ');
      if (inCi) throw new Error(`CI: ${why}; scripts/provision-host.sh must install and start libvirt`);
      console.warn(`    (skipped: ${why}; run scripts/provision-host.sh)`);
      this.skip();
    }

    await removeLeftovers();
    root = await mkdtemp(join(tmpdir(), TMP_PREFIX));
    // QEMU runs as libvirt-qemu: it must be able to walk down to the guest files.
    await chmod(root, 0o755);
    containerDir = join(root, 'containers');
    removedContainerDir = join(root, 'removed-containers');
    guestDir = join(root, 'guests');
    downloadDir = join(root, 'downloads');
    await mkdir(guestDir, { mode: 0o755 });
    await mkdir(downloadDir, { mode: 0o755 });
    modelUUID = randomUUID();
    bridge = `${BRIDGE_PREFIX}${randomBytes(4).toString('hex')}`;
    // A bridge with no address: never give it one.
    await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await sh('ip', ['link', 'set', bridge, 'up']);
    // The cached backing file of jammy: a small local image, so no download is needed.
    await sh('qemu-img', ['create', '-f', 'qcow2', join(guestDir, `jammy-${ARCH}-backing-file.qcow`), '16M']);

    // A running decoy domain outside the manager's namespace.
    let other = randomUUID();
    while (other.slice(-6) === modelUUID.slice(-6)) other = randomUUID();
    decoy = `juju-${other.slice(-6)}-0`;
    const decoyDisk = join(guestDir, `${decoy}.qcow`);
    const decoyIso = join(guestDir, `${decoy}-ds.iso`);
    await sh('qemu-img', ['create', '-f', 'qcow2', decoyDisk, '16M']);
    await writeFile(decoyIso, Buffer.alloc(64 * 1024));
    const xmlPath = join(root, `${decoy}.xml`);
    await writeFile(
      xmlPath,
      domainXml({
        name: decoy,
        domainType: 'qemu',
        memory: 128,
        cpuCores: 1,
        arch: ARCH,
        disks: [
          { driver: 'qcow2', source: decoyDisk },
          { driver: 'raw', source: decoyIso },
        ],
        interfaces: [],
      }),
    );
    await virsh('define', xmlPath);
    await virsh('start', decoy);
  });

  after(async () => {
    for (const m of measured) console.log(`    measured: ${m}`);
    if (root === undefined) return;
    for (const name of await allDomains()) {
      if (name === decoy || name.startsWith(`juju-${modelUUID.slice(-6)}-`)) await removeDomain(name);
    }
    if (bridge) await quiet(sh('ip', ['link', 'del', bridge]));
    await mirror?.close();
    await rm(root, { recursive: true, force: true });
  });

  const newManager = (extra: Record<string, string> = {}, ca?: string) =>
    new KvmManager({ 'model-uuid': modelUUID, ...extra }, { ...dirs(), libvirtUri: URI, domainType: 'qemu', imageCa: ca });

  it('creates a running qemu guest from the cached backing file, lists it and destroys it', async () => {
    const mgr = newManager();
    const calls: [Status, string][] = [];
    const { instance, hardware } = await mgr.createContainer(
      { machineId: '0' },
      { mem: 256, cores: 1, rootDisk: 1024 },
      'jammy',
      network(),
      undefined,
      (status, info) => void calls.push([status, info]),
    );
    const name = `juju-${modelUUID.slice(-6)}-0`;
    expect(instance.id).to.equal(name);
    expect(String(instance)).to.equal(`kvm:${name}`);
    expect(hardware).to.deep.equal({ arch: ARCH, mem: 512, rootDisk: 2048, cpuCores: 1 });
    expect(calls).to.deep.equal([
      ['allocating', 'Creating container; it might take some time'],
      ['allocating', 'Creating instance'],
      ['allocating', 'Starting instance'],
      ['running', 'Container started'],
    ]);

    // libvirt has it, running, as a qemu domain with Juju's devices.
    const rows = await virsh('-q', 'list');
    expect(rows).to.match(new RegExp(`^\\s*\\d+\\s+${name}\\s+running\\s*$`, 'm'));
    expect(await instance.status()).to.deep.equal({ status: 'running', message: 'running' });
    const xml = await virsh('dumpxml', name);
    expect(xml).to.match(/<domain type='qemu'/);
    expect(xml).to.contain(`<source file='${join(guestDir, `${name}.qcow`)}'`);
    expect(xml).to.contain(`<source file='${join(guestDir, `${name}-ds.iso`)}'`);
    expect(xml).to.contain(`<mac address='${mac}'/>`);
    expect(xml).to.contain(`<source bridge='${bridge}'/>`);
    expect(xml).to.match(/<memory unit='KiB'>524288<\/memory>/);
    expect((await virsh('dominfo', name)).replace(/\s+/g, ' ')).to.contain('Autostart: enable');

    // The files of Juju's layout.
    const dir = join(containerDir, name);
    expect((await readdir(dir)).sort()).to.deep.equal(['meta-data', 'network-config', `${name}.xml`, 'user-data'].sort());
    expect(await readFile(join(dir, 'user-data'), 'utf8')).to.match(/^#cloud-config\n[\s\S]*hostname: juju-/);
    expect(JSON.parse(await readFile(join(dir, 'meta-data'), 'utf8'))).to.have.property('instance-id').that.is.a('string');
    expect(await readFile(join(dir, 'network-config'), 'utf8')).to.equal('config: "disabled"\n');
    expect(await isoVolumeId(join(guestDir, `${name}-ds.iso`))).to.equal('cidata');
    const overlay = await imageInfo(join(guestDir, `${name}.qcow`));
    expect(overlay.format).to.equal('qcow2');
    expect(overlay['backing-filename']).to.equal(join(guestDir, `jammy-${ARCH}-backing-file.qcow`));
    expect(overlay['virtual-size']).to.equal(2 * 1024 ** 3);

    // listContainers: this guest, not the decoy running outside the namespace.
    expect(await runningDomains()).to.include(decoy);
    const listed = (await mgr.listContainers()).map((i) => i.id);
    expect(listed).to.deep.equal([name]);

    await mgr.destroyContainer(name);
    expect(await allDomains()).to.not.include(name);
    expect(existsSync(join(guestDir, `${name}.qcow`))).to.equal(false);
    expect(existsSync(join(guestDir, `${name}-ds.iso`))).to.equal(false);
    expect(existsSync(join(guestDir, `jammy-${ARCH}-backing-file.qcow`))).to.equal(true);
    expect(existsSync(dir)).to.equal(false);
    expect((await readdir(join(removedContainerDir, name))).sort()).to.include('user-data');
    expect(await mgr.listContainers()).to.deep.equal([]);
    expect(await runningDomains()).to.include(decoy);

    // Safe to call again.
    await mgr.destroyContainer(name);

    // The same machine again: its directory goes to `<name>.1`.
    await mgr.createContainer({ machineId: '0' }, {}, 'jammy', network());
    expect(await runningDomains()).to.include(name);
    await mgr.destroyContainer(name);
    expect(await allDomains()).to.not.include(name);
    expect(existsSync(join(removedContainerDir, `${name}.1`, 'user-data'))).to.equal(true);
  });

  it('refuses a missing parent bridge before writing anything', async () => {
    const mgr = newManager();
    const calls: [Status, string][] = [];
    const gone = `${BRIDGE_PREFIX}none`;
    let err: unknown;
    try {
      await mgr.createContainer({ machineId: '7' }, {}, 'jammy', bridgeNetworkConfig(gone, 0, []), undefined, (s, i) => void calls.push([s, i]));
    } catch (e) {
      err = e;
    }
    const message = `kvm container creation failed: parent bridge "${gone}" of interface "eth0" does not exist (it must be an existing Linux or Open vSwitch bridge)`;
    expect((err as Error).message).to.equal(message);
    expect(calls).to.deep.equal([['provisioning error', `Creating container: ${message}`]]);
    expect(existsSync(join(containerDir, `juju-${modelUUID.slice(-6)}-7`))).to.equal(false);
    expect(await allDomains()).to.not.include(`juju-${modelUUID.slice(-6)}-7`);
  });

  describe('trust under failure', () => {
    const prefix = () => `juju-${modelUUID.slice(-6)}-`;
    const withOpts = (opts: Partial<KvmManagerOptions>, logger?: Logger) =>
      new KvmManager({ 'model-uuid': modelUUID }, { ...dirs(), libvirtUri: URI, domainType: 'qemu', logger, ...opts });

    /** What a guest of `name` could have left: its domain, overlay, seed ISO and container directory. */
    async function traces(name: string): Promise<string[]> {
      const left: string[] = [];
      if ((await allDomains()).includes(name)) left.push(`domain ${name}`);
      for (const p of [join(guestDir, `${name}.qcow`), join(guestDir, `${name}-ds.iso`), join(containerDir, name)]) {
        if (existsSync(p)) left.push(p);
      }
      return left;
    }

    /** Inode, mode, owner (and content of small files) of everything a guest has, to see it is untouched. */
    async function fingerprint(name: string): Promise<string[]> {
      const dir = join(containerDir, name);
      const out: string[] = [];
      for (const p of [dir, ...(await readdir(dir)).sort().map((f) => join(dir, f)), join(guestDir, `${name}.qcow`), join(guestDir, `${name}-ds.iso`)]) {
        const st = await stat(p);
        const body = p.startsWith(dir) && st.isFile() ? (await readFile(p)).toString('base64') : '';
        out.push(`${p} ino=${st.ino} mode=${(st.mode & 0o7777).toString(8)} uid=${st.uid} ${body}`);
      }
      out.push(`uuid=${(await virsh('domuuid', name)).trim()} state=${(await virsh('domstate', name)).trim()}`);
      return out;
    }

    it('refuses a second create of a running guest with KVM_ERR_ALREADY_EXISTS and leaves the guest as it was', async () => {
      const mgr = newManager();
      const { instance } = await mgr.createContainer({ machineId: '10' }, {}, 'jammy', network());
      try {
        const before = await fingerprint(instance.id);
        expect(before.at(-1)).to.match(/ state=running$/);
        for (const other of [mgr, newManager()]) {
          const calls: [Status, string][] = [];
          const err = await rejection(other.createContainer({ machineId: '10' }, {}, 'jammy', network(), undefined, (s, i) => void calls.push([s, i])));
          expect(KvmError.is(err, KvmErrorCode.ALREADY_EXISTS), String(err)).to.equal(true);
          expect((err as Error).message).to.equal(`container "${instance.id}" already exists: libvirt has a domain of that name (running)`);
          expect(calls).to.deep.equal([['provisioning error', `Creating container: ${(err as Error).message}`]]);
          expect(await fingerprint(instance.id)).to.deep.equal(before);
        }
        // The domain gone but its directory still there (an older failure's): refused, left alone.
        await removeDomain(instance.id);
        const dirBefore = (await fingerprint2(join(containerDir, instance.id))).join('\n');
        const err = await rejection(mgr.createContainer({ machineId: '10' }, {}, 'jammy', network()));
        expect((err as Error).message).to.equal(`container "${instance.id}" already exists: ${join(containerDir, instance.id)} exists`);
        expect((await fingerprint2(join(containerDir, instance.id))).join('\n')).to.equal(dirBefore);
        expect(await allDomains()).to.not.include(instance.id);
      } finally {
        await mgr.destroyContainer(instance.id);
      }
      expect(await traces(instance.id)).to.deep.equal([]);
    });

    async function fingerprint2(dir: string): Promise<string[]> {
      const out: string[] = [];
      for (const p of [dir, ...(await readdir(dir)).sort().map((f) => join(dir, f))]) {
        const st = await stat(p);
        out.push(`${p} ino=${st.ino} mode=${(st.mode & 0o7777).toString(8)} ${st.isFile() ? (await readFile(p)).toString('base64') : ''}`);
      }
      return out;
    }

    /** Runs a create that must fail, then checks that it left nothing and said what it removed. */
    async function failingCreate(mgr: KvmManager, machineId: string, lines: string[], series = 'jammy', signal?: AbortSignal): Promise<unknown> {
      const name = `${prefix()}${machineId}`;
      const calls: [Status, string][] = [];
      const err = await rejection(mgr.createContainer({ machineId }, {}, series, network(), undefined, (s, i) => void calls.push([s, i]), { signal }));
      expect(calls.at(-1)).to.deep.equal(['provisioning error', `Creating container: ${errorText(err)}`]);
      expect(await traces(name)).to.deep.equal([]);
      expect(lines.filter((l) => l.startsWith('ERROR')), 'nothing is left behind').to.deep.equal([]);
      return err;
    }

    it('removes what it made when genisoimage fails (an input file it cannot find)', async () => {
      const lines: string[] = [];
      const run: CommandRunner = (c, a, o) => runCommand(c, c === 'genisoimage' ? [...a, 'no-such-file'] : a, o);
      const err = await failingCreate(withOpts({ run }, recordingLogger(lines)), '20', lines);
      expect((err as Error).message).to.match(/^kvm container creation failed: failed to write data source volume for "juju-\w+-20": `genisoimage .*no-such-file/);
      expect(lines.some((l) => l.startsWith(`INFO create of "${prefix()}20" failed; removed what it made: ${guestDir}/${prefix()}20-ds.iso`))).to.equal(true);
    });

    it('removes what it made when qemu-img fails (a backing file it cannot read)', async () => {
      const lines: string[] = [];
      const backing = join(guestDir, `lxdkitbad-${ARCH}-backing-file.qcow`);
      await writeFile(backing, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.from([0, 0, 0, 9]), Buffer.alloc(512)]));
      try {
        const err = await failingCreate(withOpts({}, recordingLogger(lines)), '21', lines, 'lxdkitbad');
        expect((err as Error).message).to.match(/^kvm container creation failed: failed to write root volume for "juju-\w+-21": `qemu-img info .*Unsupported qcow2 version 9$/);
      } finally {
        await rm(backing, { force: true });
      }
    });

    it('removes what it made when virsh define fails (no aarch64 emulator)', async function () {
      if ((await virsh('capabilities')).includes("<arch name='aarch64'>")) this.skip();
      const lines: string[] = [];
      const backing = join(guestDir, 'jammy-arm64-backing-file.qcow');
      await sh('qemu-img', ['create', '-f', 'qcow2', backing, '16M']);
      try {
        const err = await failingCreate(withOpts({ arch: 'arm64' }, recordingLogger(lines)), '22', lines);
        expect((err as Error).message).to.match(/^kvm container creation failed: failed to defined the domain for "juju-\w+-22" from .*No emulator found for arch 'aarch64'$/s);
      } finally {
        await rm(backing, { force: true });
      }
    });

    it('never removes a domain of the same name that someone else defined meanwhile', async () => {
      const lines: string[] = [];
      const name = `${prefix()}23`;
      const theirs = join(root, 'theirs.xml');
      await writeFile(theirs, domainXml({ name, domainType: 'qemu', memory: 128, cpuCores: 1, arch: ARCH, disks: [{ driver: 'qcow2', source: join(root, 'theirs.qcow') }, { driver: 'raw', source: join(root, 'theirs.iso') }], interfaces: [] }));
      const run: CommandRunner = async (c, a, o) => {
        if (c === 'virsh' && a.includes('define')) await virsh('define', theirs);
        return runCommand(c, a, o);
      };
      try {
        const calls: [Status, string][] = [];
        const err = await rejection(withOpts({ run }, recordingLogger(lines)).createContainer({ machineId: '23' }, {}, 'jammy', network(), undefined, (s, i) => void calls.push([s, i])));
        expect((err as Error).message).to.match(/failed to defined the domain .*already exists with uuid/s);
        expect(await allDomains()).to.include(name);
        expect(await virsh('dumpxml', name)).to.contain(join(root, 'theirs.qcow'));
        expect((await traces(name)).filter((t) => !t.startsWith('domain'))).to.deep.equal([]);
      } finally {
        await removeDomain(name);
      }
    });

    it('removes what it made when virsh start fails (a bridge that is gone), domain included', async () => {
      const lines: string[] = [];
      const gone = `${BRIDGE_PREFIX}gone`;
      const sysClassNet = join(root, 'fake-sys-class-net');
      await mkdir(join(sysClassNet, gone, 'bridge'), { recursive: true });
      const mgr = withOpts({ sysClassNet }, recordingLogger(lines));
      const calls: [Status, string][] = [];
      const err = await rejection(mgr.createContainer({ machineId: '24' }, {}, 'jammy', bridgeNetworkConfig(gone, 0, []), undefined, (s, i) => void calls.push([s, i])));
      expect((err as Error).message).to.match(/^kvm container creation failed: failed to start domain "juju-\w+-24": .*Cannot get interface MTU on 'lxkvmgone'/s);
      expect(await traces(`${prefix()}24`)).to.deep.equal([]);
      expect(lines.some((l) => l.startsWith(`INFO create of "${prefix()}24" failed; removed what it made: domain "${prefix()}24"`))).to.equal(true);
      expect(lines.filter((l) => l.startsWith('ERROR'))).to.deep.equal([]);
    });

    it('removes the running domain and the rest when autostart fails', async () => {
      const lines: string[] = [];
      // libvirt cannot be made to refuse autostart from here: the failure is injected; the running domain to remove is real.
      const run: CommandRunner = (c, a, o) =>
        c === 'virsh' && a.includes('autostart')
          ? Promise.reject(new KvmCommandError(KvmErrorCode.COMMAND_FAILED, 'autostart refused', { command: c, args: a, exitCode: 1, stderr: '', stdout: '' }))
          : runCommand(c, a, o);
      const err = await failingCreate(withOpts({ run }, recordingLogger(lines)), '25', lines);
      expect((err as Error).message).to.equal(`kvm container creation failed: failed to autostart domain "${prefix()}25": autostart refused`);
      expect(lines.some((l) => l.startsWith(`INFO create of "${prefix()}25" failed; removed what it made: domain "${prefix()}25"`))).to.equal(true);
    });

    const abortPoints: [string, (c: string, a: readonly string[]) => boolean][] = [
      ['virsh domstate', (c, a) => c === 'virsh' && a.includes('domstate')],
      ['genisoimage', (c) => c === 'genisoimage'],
      ['qemu-img create', (c, a) => c === 'qemu-img' && a[0] === 'create'],
      ['virsh define', (c, a) => c === 'virsh' && a.includes('define')],
      ['virsh start', (c, a) => c === 'virsh' && a.includes('start')],
      ['virsh autostart', (c, a) => c === 'virsh' && a.includes('autostart')],
    ];
    let machine = 30;
    for (const [what, is] of abortPoints) {
      for (const when of ['while it runs', 'once it has finished']) {
        it(`removes what it made when aborted during ${what}, ${when}`, async () => {
          const lines: string[] = [];
          const ctl = new AbortController();
          const reason = new Error(`stopped during ${what}`);
          let fired = false;
          const run: CommandRunner = async (c, a, o) => {
            if (fired || !is(c, a)) return runCommand(c, a, o);
            fired = true;
            if (when === 'while it runs') {
              setImmediate(() => ctl.abort(reason));
              return runCommand(c, a, o);
            }
            await runCommand(c, a, { ...o, signal: undefined }).catch(() => undefined); // domstate fails for a new name
            ctl.abort(reason);
            throw reason;
          };
          const started = Date.now();
          const err = await failingCreate(withOpts({ run }, recordingLogger(lines)), String(machine++), lines, 'jammy', ctl.signal);
          expect(fired).to.equal(true);
          expect(err).to.equal(reason);
          const undone = lines.find((l) => l.includes('failed; removed what it made')) ?? 'nothing made';
          measured.push(`abort during ${what}, ${when}: ${Date.now() - started} ms; ${undone.replace(/^INFO create of "[^"]+" failed; /, '').replaceAll(root, '<tmp>')}`);
        });
      }
    }

    it('two destroys of one guest at once both succeed, through one manager and through two', async () => {
      const lines: string[] = [];
      const one = withOpts({}, recordingLogger(lines));
      const two = withOpts({}, recordingLogger(lines));
      const name = `${prefix()}60`;
      const started = Date.now();
      for (let i = 0; i < 6; i++) {
        await one.createContainer({ machineId: '60' }, {}, 'jammy', network());
        expect(await runningDomains()).to.include(name);
        const results = await Promise.allSettled([one.destroyContainer(name), (i % 2 === 0 ? one : two).destroyContainer(name)]);
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).to.deep.equal(['ok', 'ok']);
        expect(await traces(name)).to.deep.equal([]);
      }
      expect((await readdir(removedContainerDir)).filter((d) => d.startsWith(name)).sort()).to.deep.equal(
        [name, ...[1, 2, 3, 4, 5].map((n) => `${name}.${n}`)].sort(),
      );
      for (const d of await readdir(removedContainerDir)) {
        if (d.startsWith(name)) expect(await readdir(join(removedContainerDir, d)), d).to.include('user-data');
      }
      const races = lines.filter((l) => /^(INFO|ERROR)/.test(l) && !l.includes('Availability zone'));
      measured.push(
        `6 × (create, then 2 destroys at once): ${Date.now() - started} ms; ${races.length} INFO/ERROR lines of the races ` +
          `(${races.filter((l) => l.startsWith('ERROR')).length} ERROR), ` +
          `${lines.filter((l) => l.includes('was moved by another destroy')).length} directory moved by the other destroy`,
      );
    });

    for (const umask of [0, 0o077]) {
      it(`keeps the guest's files 0600 in a 0700 directory under umask ${umask.toString(8).padStart(3, '0')}, and the guest runs`, async () => {
        const mgr = newManager();
        const old = process.umask(umask);
        let id: string;
        try {
          ({ instance: { id } } = await mgr.createContainer({ machineId: umask === 0 ? '50' : '51' }, {}, 'jammy', network()));
        } finally {
          process.umask(old);
        }
        try {
          expect((await virsh('domstate', id)).trim()).to.equal('running');
          const mode = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8);
          const dir = join(containerDir, id);
          expect(await mode(dir)).to.equal('700');
          for (const f of ['user-data', 'meta-data', 'network-config', `${id}.xml`]) expect(await mode(join(dir, f)), f).to.equal('600');
          const iso = join(guestDir, `${id}-ds.iso`);
          expect(await mode(iso)).to.equal('600');
          expect(await mode(join(guestDir, `${id}.qcow`))).to.equal('600');
          expect(await isoVolumeId(iso)).to.equal('cidata');
          // libvirt's dynamic ownership gives the running guest's disks to the QEMU user: that is how QEMU reads a 0600 ISO.
          const qemuUid = Number((await sh('id', ['-u', 'libvirt-qemu'])).trim());
          expect((await stat(iso)).uid).to.equal(qemuUid);
        } finally {
          await mgr.destroyContainer(id);
        }
        expect(await traces(id)).to.deep.equal([]);
      });
    }
  });

  describe('image download through simplestreams on 127.0.0.1', () => {
    let image: Buffer;
    let resumeNock: () => void = () => undefined;

    before(async () => {
      resumeNock = pauseNock();
      const src = join(root, 'cloud.img');
      await sh('qemu-img', ['create', '-f', 'qcow2', src, '24M']);
      image = await readFile(src);
      mirror = await startSimplestreamsServer({
        https: true,
        streams: [
          {
            products: [
              { release: 'focal', version: '20.04', arch: ARCH, versions: { '20240101': [{ ftype: 'disk1.img', content: image }] } },
              {
                release: 'noble',
                version: '24.04',
                arch: ARCH,
                versions: { '20240101': [{ ftype: 'disk1.img', content: image, sha256: '0'.repeat(64) }] },
              },
            ],
          },
        ],
      });
    });
    after(() => resumeNock());

    it('downloads, checks and converts the image, then boots a guest on it', async () => {
      const mgr = newManager({ 'container-image-metadata-url': mirror?.baseUrl ?? '' }, mirror?.ca);
      const calls: [Status, string][] = [];
      const { instance } = await mgr.createContainer({ machineId: '1' }, {}, 'focal', network(), undefined, (s, i) => void calls.push([s, i]));
      const url = mirror?.url(`images/com.ubuntu.cloud_server_20.04_${ARCH}/20240101/disk1.img`) ?? '';
      const copying = calls.filter(([, info]) => info.startsWith('copying '));
      expect(copying.length).to.be.greaterThan(0);
      expect(copying.at(-1)?.[1]).to.match(new RegExp(`^copying ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 100% \\(.+/s\\)$`));
      expect(calls.at(-1)).to.deep.equal(['running', 'Container started']);
      const backing = join(guestDir, `focal-${ARCH}-backing-file.qcow`);
      // Juju's `qemu-img convert -f qcow2` writes raw.
      expect((await imageInfo(backing)).format).to.equal('raw');
      expect(await readdir(downloadDir)).to.deep.equal([]);
      expect(await runningDomains()).to.include(instance.id);
      expect((await imageInfo(join(guestDir, `${instance.id}.qcow`)))['backing-filename']).to.equal(backing);
      expect(sha256(image)).to.have.length(64);

      // A second guest of the same series uses the cached file: no new download.
      const before = mirror?.requests.length;
      await mgr.createContainer({ machineId: '2' }, {}, 'focal', network());
      expect(mirror?.requests.length).to.equal(before);
      await mgr.destroyContainer(instance.id);
      await mgr.destroyContainer(`juju-${modelUUID.slice(-6)}-2`);
      expect(existsSync(backing)).to.equal(true);
      expect((await stat(backing)).isFile()).to.equal(true);
    });

    it('removes the download on a checksum mismatch and creates no guest', async () => {
      const mgr = newManager({ 'container-image-metadata-url': mirror?.baseUrl ?? '' }, mirror?.ca);
      const calls: [Status, string][] = [];
      let err: unknown;
      try {
        await mgr.createContainer({ machineId: '3' }, {}, 'noble', network(), undefined, (s, i) => void calls.push([s, i]));
      } catch (e) {
        err = e;
      }
      const message = (err as Error).message;
      expect(message).to.match(
        new RegExp(`^acquiring container image: hash sum mismatch for ${downloadDir}/juju-kvm-disk1\\.img-[0-9a-f]+: ${sha256(image)} != ${'0'.repeat(64)}$`),
      );
      expect(calls.at(-1)).to.deep.equal(['provisioning error', `Creating container: ${message}`]);
      expect(await readdir(downloadDir)).to.deep.equal([]);
      expect(existsSync(join(guestDir, `noble-${ARCH}-backing-file.qcow`))).to.equal(false);
      expect(await allDomains()).to.not.include(`juju-${modelUUID.slice(-6)}-3`);
    });
  });

  describe('KvmInitialiser', () => {
    it('defines, builds, starts and autostarts the pool once, and gives the dir to libvirt-qemu', async () => {
      const pool = `${POOL_PREFIX}${randomBytes(3).toString('hex')}`;
      const poolDir = join(root, 'pool');
      const init = new KvmInitialiser({ guestDir: poolDir, poolName: pool, libvirtUri: URI });
      try {
        await init.initialise();
        const info = (await virsh('pool-info', pool)).replace(/[ \t]+/g, ' ');
        expect(info).to.contain('State: running');
        expect(info).to.contain('Autostart: yes');
        expect(await virsh('pool-dumpxml', pool)).to.contain(`<path>${poolDir}</path>`);
        const uid = Number((await sh('id', ['-u', 'libvirt-qemu'])).trim());
        expect((await stat(poolDir)).uid).to.equal(uid);
        // Already there: nothing to do, no error.
        await init.initialise();
        expect((await virsh('pool-info', pool)).replace(/[ \t]+/g, ' ')).to.contain('State: running');
      } finally {
        await quiet(virsh('pool-destroy', pool));
        await quiet(virsh('pool-undefine', pool));
      }
      expect(await virsh('pool-list', '--all', '--name')).to.not.contain(pool);
    });
  });
});
