import { expect } from 'chai';
import { existsSync, renameSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nock from 'nock';
import { join } from 'node:path';
import { ContainerError } from '../../../lib/errors.js';
import { KvmError, KvmErrorCode, KvmManager, type KvmManagerOptions } from '../../../lib/container/kvm/index.js';
import { ManagerConfig } from '../../../lib/container/manager-config.js';
import { bridgeNetworkConfig, newInterfaceInfo } from '../../../lib/container/network.js';
import type { Status } from '../../../lib/container/types.js';
import type { Logger } from '../../../lib/logger.js';
import { failure, fakeHost, fakeRunner, type Handler } from './fake-runner.js';
import { rejection } from '../../helpers/rejection.js';

const UUID = 'deadbeef-0bad-400d-8000-4b1d0d06f00d';
const NAME = 'juju-06f00d-0';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (a: unknown, b?: unknown) => void lines.push(`${level} ${typeof a === 'string' ? a : String(b)}`);
  const logger: Logger = {
    trace: log('TRACE'),
    debug: log('DEBUG'),
    info: log('INFO'),
    warn: log('WARN'),
    error: log('ERROR'),
    child: () => logger,
  };
  return logger;
}

// Answers like libvirt and qemu-img do for a guest that gets created and started.
const happy: Handler = (command, args) => {
  if (command === 'qemu-img' && args[0] === 'info') return { stdout: JSON.stringify({ format: 'raw', 'virtual-size': 1 }) };
  if (command === 'virsh' && args.includes('domstate')) return failure('virsh', args, `error: failed to get domain '${args.at(-1)}'`);
  return undefined;
};

describe('KvmManager (unit, fake commands)', () => {
  let root: string;
  let opts: KvmManagerOptions & { containerDir: string; removedContainerDir: string; guestDir: string; sysClassNet: string };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lxdkit-kvm-unit-'));
    opts = {
      containerDir: join(root, 'containers'),
      removedContainerDir: join(root, 'removed'),
      guestDir: join(root, 'guests'),
      sysClassNet: join(root, 'net'),
      domainType: 'qemu',
      arch: 'amd64',
    };
    await mkdir(join(opts.sysClassNet, 'br0', 'bridge'), { recursive: true });
    await mkdir(join(opts.sysClassNet, 'eth9'), { recursive: true }); // a device that is not a bridge
    await mkdir(opts.guestDir, { recursive: true });
    await writeFile(join(opts.guestDir, 'jammy-amd64-backing-file.qcow'), 'backing');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('constructor', () => {
    it("pops Juju's keys in order and reports the rest", () => {
      const lines: string[] = [];
      const cfg = new ManagerConfig({
        'model-uuid': UUID,
        'log-dir': '/srv/log',
        'container-image-metadata-url': 'http://127.0.0.1:1/m/',
        'container-image-stream': 'daily',
        'lxd-snap-channel': 'latest/stable',
      });
      const mgr = new KvmManager(cfg, { logger: recordingLogger(lines) });
      expect(mgr.namespace().prefix()).to.equal('juju-06f00d-');
      expect(mgr.logDir).to.equal('/srv/log');
      expect(mgr.imageMetadataURL).to.equal('http://127.0.0.1:1/m/');
      expect(mgr.imageStream).to.equal('daily');
      expect(cfg.keys()).to.deep.equal(['lxd-snap-channel']);
      expect(lines).to.deep.equal([
        'INFO Availability zone will be empty for this container manager',
        'INFO unused config option: "lxd-snap-channel" -> "latest/stable"',
      ]);
    });

    it('defaults log-dir and requires a model UUID', () => {
      expect(new KvmManager({ 'model-uuid': UUID }).logDir).to.equal('/var/log/juju');
      expect(() => new KvmManager({})).to.throw(ContainerError, 'model UUID is required').with.property('code', 'CONTAINER_ERR_NOT_VALID');
      expect(() => new KvmManager({ 'model-uuid': 'nope' })).to.throw(ContainerError, 'model ID "nope" is not a valid model');
    });

    it('chooses the domain type from /dev/kvm unless told', async () => {
      const dev = join(root, 'kvm');
      expect(new KvmManager({ 'model-uuid': UUID }, { kvmDevice: dev }).domainType()).to.equal('qemu');
      await writeFile(dev, '');
      expect(new KvmManager({ 'model-uuid': UUID }, { kvmDevice: dev }).domainType()).to.equal('kvm');
      expect(new KvmManager({ 'model-uuid': UUID }, { kvmDevice: dev, domainType: 'qemu' }).domainType()).to.equal('qemu');
    });
  });

  describe('createContainer', () => {
    const net = () => bridgeNetworkConfig('br0', 0, [newInterfaceInfo({ interfaceName: 'eth0', macAddress: '52:54:00:AA:BB:CC', configType: 'dhcp' })]);

    it("runs Juju's commands in order, writes Juju's files and reports Juju's statuses", async () => {
      const run = fakeRunner(happy);
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const calls: [Status, string][] = [];
      const { instance, hardware } = await mgr.createContainer(
        { machineId: '0', userData: { packages: ['htop'] } },
        { mem: 2048, cores: 2, rootDisk: 10 * 1024 },
        'jammy',
        net(),
        undefined,
        (s, i) => void calls.push([s, i]),
      );
      const g = opts.guestDir;
      const dir = join(opts.containerDir, NAME);
      expect(run.lines()).to.deep.equal([
        `virsh -c qemu:///system domstate ${NAME}`,
        `genisoimage -output ${g}/${NAME}-ds.iso -volid cidata -joliet -rock user-data meta-data network-config`,
        `qemu-img info --output=json ${g}/jammy-amd64-backing-file.qcow`,
        `qemu-img create -b ${g}/jammy-amd64-backing-file.qcow -F raw -f qcow2 ${g}/${NAME}.qcow 10G`,
        `virsh -c qemu:///system define ${dir}/${NAME}.xml`,
        `virsh -c qemu:///system start ${NAME}`,
        `virsh -c qemu:///system autostart ${NAME}`,
      ]);
      expect(run.calls[1]?.cwd).to.equal(dir);
      expect(calls).to.deep.equal([
        ['allocating', 'Creating container; it might take some time'],
        ['allocating', 'Creating instance'],
        ['allocating', 'Starting instance'],
        ['running', 'Container started'],
      ]);
      expect(String(instance)).to.equal(`kvm:${NAME}`);
      expect(hardware).to.deep.equal({ arch: 'amd64', mem: 2048, rootDisk: 10240, cpuCores: 2 });
      const userData = await readFile(join(dir, 'user-data'), 'utf8');
      expect(userData).to.match(/^#cloud-config\n/);
      expect(userData).to.contain(`hostname: ${NAME}\n`);
      expect(userData).to.contain('- htop');
      expect(userData).to.contain('macaddress: 52:54:00:AA:BB:CC');
      expect(JSON.parse(await readFile(join(dir, 'meta-data'), 'utf8'))['instance-id']).to.match(/^[0-9a-f-]{36}$/);
      expect(await readFile(join(dir, 'network-config'), 'utf8')).to.equal('config: "disabled"\n');
      const xml = await readFile(join(dir, `${NAME}.xml`), 'utf8');
      expect(xml).to.match(/^<domain type="qemu">/);
      expect(xml).to.contain('<mac address="52:54:00:aa:bb:cc"/>');
      expect(xml).to.contain('<source bridge="br0"/>');
      expect(xml).to.contain('<memory unit="MiB">2048</memory>');
    });

    it('goes on when the status callback throws', async () => {
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run: fakeRunner(happy) });
      const { instance } = await mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, () => {
        throw new Error('callback broke');
      });
      expect(instance.id).to.equal(NAME);
    });

    it('raises constraints below the minimum, as Juju does', async () => {
      const run = fakeRunner(happy);
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const { hardware } = await mgr.createContainer({ machineId: '0' }, { mem: 100, cores: 0, rootDisk: 100 }, 'jammy');
      expect(hardware).to.deep.equal({ arch: 'amd64', mem: 512, rootDisk: 2048, cpuCores: 1 });
      expect(run.lines()).to.include(`qemu-img create -b ${opts.guestDir}/jammy-amd64-backing-file.qcow -F raw -f qcow2 ${opts.guestDir}/${NAME}.qcow 2G`);
    });

    const badInput: [string, Parameters<KvmManager['createContainer']>, string][] = [
      [
        'a non-bridge network',
        [{ machineId: '0' }, {}, 'jammy', { ...bridgeNetworkConfig('br0', 0), networkType: 'ethernet' }],
        'kvm container creation failed: Non-bridge network devices not yet supported',
      ],
      [
        'a bad MAC',
        [{ machineId: '0' }, {}, 'jammy', bridgeNetworkConfig('br0', 0, [newInterfaceInfo({ interfaceName: 'eth0', macAddress: '52:54:00:zz:00:01' })])],
        'kvm container creation failed: invalid MAC address "52:54:00:zz:00:01" for interface "eth0": expected a unicast address like "52:54:00:12:34:56"',
      ],
      [
        'a multicast MAC',
        [{ machineId: '0' }, {}, 'jammy', bridgeNetworkConfig('br0', 0, [newInterfaceInfo({ interfaceName: 'eth0', macAddress: '01:00:5e:00:00:01' })])],
        'kvm container creation failed: invalid MAC address "01:00:5e:00:00:01" for interface "eth0": expected a unicast address like "52:54:00:12:34:56"',
      ],
      [
        'a missing parent bridge',
        [{ machineId: '0' }, {}, 'jammy', bridgeNetworkConfig('br404', 0)],
        'kvm container creation failed: parent bridge "br404" of interface "eth0" does not exist (it must be an existing Linux or Open vSwitch bridge)',
      ],
      [
        'a parent that is not a bridge',
        [{ machineId: '0' }, {}, 'jammy', bridgeNetworkConfig('eth9', 0)],
        'kvm container creation failed: parent bridge "eth9" of interface "eth0" does not exist (it must be an existing Linux or Open vSwitch bridge)',
      ],
      [
        'an empty parent',
        [{ machineId: '0' }, {}, 'jammy', bridgeNetworkConfig('', 0)],
        'kvm container creation failed: parent interface name is empty for interface "eth0"',
      ],
      ['a negative constraint', [{ machineId: '0' }, { mem: -1 }, 'jammy'], 'constraint mem must be a non-negative integer, got -1'],
      ['a series that is no name', [{ machineId: '0' }, {}, '../etc'], 'invalid series "../etc": expected a name like "jammy"'],
      ['user data that is not a mapping', [{ machineId: '0', userData: '- a\n- b\n' }, {}, 'jammy'], 'failed to write user data: cloud-init user data must be a #cloud-config YAML mapping'],
    ];
    for (const [what, args, message] of badInput) {
      it(`refuses ${what} before writing anything`, async () => {
        const run = fakeRunner(happy);
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
        const calls: [Status, string][] = [];
        const [ic, cons, series, network] = args;
        const err = await rejection(mgr.createContainer(ic, cons, series, network, undefined, (s, i) => void calls.push([s, i])));
        expect((err as Error).message).to.equal(message);
        expect(calls).to.deep.equal([['provisioning error', `Creating container: ${message}`]]);
        expect(run.calls).to.deep.equal([]);
        expect(existsSync(opts.containerDir)).to.equal(false);
      });
    }

    // Pending until lib/container/kvm/manager.ts calls validateCreateArgs() first in createContainer.
    it('refuses mistyped arguments with CONTAINER_ERR_NOT_VALID naming the field, before anything is run or written, without a callback', async () => {
      const spoilt = bridgeNetworkConfig('br0', 0, [newInterfaceInfo({ interfaceName: 'eth0' })]);
      (spoilt.interfaces[0] as unknown as Record<string, unknown>)['macAddress'] = 0x525400;
      const cases: [Parameters<KvmManager['createContainer']>, string][] = [
        [[{ machineId: '0' }, {}, 'jammy', spoilt], 'network.interfaces[0].macAddress: expected string, got number'],
        [[{ machineId: 0 } as never, {}, 'jammy'], 'instanceConfig.machineId: expected string, got number'],
        [[{ machineId: '0', userData: 42 } as never, {}, 'jammy'], 'instanceConfig.userData: expected string or object, got number'],
        [[{ machineId: '0' }, { tags: 'a' } as never, 'jammy'], 'constraints.tags: expected array, got string'],
        [[{ machineId: '0' }, {}, undefined as never], 'series is required'],
      ];
      for (const [[ic, cons, series, network], message] of cases) {
        const run = fakeRunner(happy);
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
        const calls: unknown[] = [];
        const err = await rejection(mgr.createContainer(ic, cons, series, network, undefined, (...a) => void calls.push(a)));
        expect(err).to.be.instanceOf(ContainerError);
        expect((err as Error).message).to.equal(message);
        expect(calls).to.deep.equal([]);
        expect(run.calls).to.deep.equal([]);
        expect(existsSync(opts.containerDir)).to.equal(false);
      }
    });

    it('returns a bad machine id without a callback', async () => {
      const calls: unknown[] = [];
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run: fakeRunner(happy) });
      const err = await rejection(mgr.createContainer({ machineId: '0/kvm/01' }, {}, 'jammy', undefined, undefined, (...a) => void calls.push(a)));
      expect(err).to.be.instanceOf(ContainerError);
      expect((err as Error).message).to.equal('machine ID "0/kvm/01" is not a valid machine');
      expect(calls).to.deep.equal([]);
    });

    it("wraps a failing virsh start in Juju's texts and removes what it made (Juju leaves it)", async () => {
      const lines: string[] = [];
      const { run, domains } = fakeHost((c, a, _o, next) => (c === 'virsh' && a.includes('start') ? failure(c, a, 'error: Failed to start domain') : next()));
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger: recordingLogger(lines) });
      const calls: [Status, string][] = [];
      const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, (s, i) => void calls.push([s, i])));
      const message = `kvm container creation failed: failed to start domain "${NAME}": \`virsh -c qemu:///system start ${NAME}\` failed (exit 1): error: Failed to start domain`;
      expect((err as Error).message).to.equal(message);
      expect((err as KvmError).code).to.equal('KVM_ERR_COMMAND_FAILED');
      expect(calls.at(-1)).to.deep.equal(['provisioning error', `Creating container: ${message}`]);
      expect(run.lines().some((l) => l.includes('autostart'))).to.equal(false);
      expect(run.lines().slice(-4)).to.deep.equal([
        `virsh -c qemu:///system domuuid ${NAME}`,
        `virsh -c qemu:///system domstate ${NAME}`,
        `virsh -c qemu:///system undefine --nvram ${NAME}`,
        `virsh -c qemu:///system domuuid ${NAME}`,
      ]);
      expect([...domains.keys()]).to.deep.equal([]);
      expect(await readdir(opts.guestDir)).to.deep.equal(['jammy-amd64-backing-file.qcow']);
      expect(await readdir(opts.containerDir)).to.deep.equal([]);
      const g = opts.guestDir;
      expect(lines).to.include(
        `INFO create of "${NAME}" failed; removed what it made: domain "${NAME}", ${g}/${NAME}-ds.iso, ${g}/${NAME}.qcow, ${join(opts.containerDir, NAME)}`,
      );
    });

    it("wraps a failing autostart in Juju's texts", async () => {
      const run = fakeRunner((c, a, o) => (c === 'virsh' && a.includes('autostart') ? failure(c, a, 'error: nope') : happy(c, a, o)));
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy'));
      expect((err as Error).message).to.equal(
        `kvm container creation failed: failed to autostart domain "${NAME}": \`virsh -c qemu:///system autostart ${NAME}\` failed (exit 1): error: nope`,
      );
    });
  });

  describe('a create that fails removes what it made, and only that', () => {
    /** Everything a create can leave: domains, guest files, container dirs. */
    async function leftovers(domains: Map<string, unknown>): Promise<{ domains: string[]; guests: string[]; containers: string[] }> {
      return {
        domains: [...domains.keys()],
        guests: (await readdir(opts.guestDir)).sort(),
        containers: existsSync(opts.containerDir) ? await readdir(opts.containerDir) : [],
      };
    }
    const clean = { domains: [], guests: ['jammy-amd64-backing-file.qcow'], containers: [] };

    // [what fails, the command (and first argument) it is, the error's text after Juju's prefix]
    const failures: [string, (c: string, a: string[]) => boolean, string][] = [
      ['genisoimage', (c) => c === 'genisoimage', `failed to write data source volume for "${NAME}"`],
      ['qemu-img info', (c, a) => c === 'qemu-img' && a[0] === 'info', `failed to write root volume for "${NAME}"`],
      ['qemu-img create', (c, a) => c === 'qemu-img' && a[0] === 'create', `failed to write root volume for "${NAME}"`],
      ['virsh define', (c, a) => c === 'virsh' && a.includes('define'), `failed to defined the domain for "${NAME}" from`],
      ['virsh start', (c, a) => c === 'virsh' && a.includes('start'), `failed to start domain "${NAME}"`],
      ['virsh autostart', (c, a) => c === 'virsh' && a.includes('autostart'), `failed to autostart domain "${NAME}"`],
    ];
    for (const [what, is, text] of failures) {
      it(`when ${what} fails`, async () => {
        const lines: string[] = [];
        const { run, domains } = fakeHost((c, a, _o, next) => (is(c, a) ? failure(c, a, 'error: broken') : next()));
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger: recordingLogger(lines) });
        const calls: [Status, string][] = [];
        const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, (s, i) => void calls.push([s, i])));
        expect(KvmError.is(err, KvmErrorCode.COMMAND_FAILED), String(err)).to.equal(true);
        expect((err as Error).message).to.match(new RegExp(`^kvm container creation failed: ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*error: broken$`));
        expect(calls.at(-1)).to.deep.equal(['provisioning error', `Creating container: ${(err as Error).message}`]);
        expect(await leftovers(domains)).to.deep.equal(clean);
        expect(lines.filter((l) => l.startsWith('ERROR'))).to.deep.equal([]);
        expect(lines.some((l) => l.startsWith(`INFO create of "${NAME}" failed; removed what it made: `))).to.equal(true);
      });
    }

    it('when the image cannot be had', async () => {
      nock.disableNetConnect();
      try {
        nock('http://mirror.example.test').get('/my/streams/v1/index.json').reply(404);
        const { run, domains } = fakeHost();
        const mgr = new KvmManager({ 'model-uuid': UUID, 'container-image-metadata-url': 'http://mirror.example.test/my' }, { ...opts, run });
        const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'focal'));
        expect(KvmError.is(err, KvmErrorCode.IMAGE)).to.equal(true);
        expect(await leftovers(domains)).to.deep.equal(clean);
      } finally {
        nock.cleanAll();
        nock.enableNetConnect();
      }
    });

    // Aborted while a command runs, after it has done its work: the worst case, what it did is unknown.
    const steps: [string, (c: string, a: string[]) => boolean][] = [
      ['virsh domstate (the name check)', (c, a) => c === 'virsh' && a.includes('domstate')],
      ...failures.map(([what, is]): [string, (c: string, a: string[]) => boolean] => [what, is]),
    ];
    for (const [what, is] of steps) {
      it(`when aborted during ${what}`, async () => {
        const ctl = new AbortController();
        const reason = new Error('stop now');
        let aborted = false;
        const { run, domains } = fakeHost(async (c, a, _o, next) => {
          if (aborted || !is(c, a)) return next();
          aborted = true;
          await next();
          ctl.abort(reason);
          return reason;
        });
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
        const calls: [Status, string][] = [];
        const err = await rejection(
          mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, (s, i) => void calls.push([s, i]), { signal: ctl.signal }),
        );
        expect(err).to.equal(reason);
        expect(calls.at(-1)).to.deep.equal(['provisioning error', 'Creating container: stop now']);
        expect(await leftovers(domains)).to.deep.equal(clean);
      });
    }

    for (const status of ['Creating container; it might take some time', 'Creating instance', 'Starting instance']) {
      it(`when aborted at "${status}"`, async () => {
        const ctl = new AbortController();
        const { run, domains } = fakeHost();
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
        const err = await rejection(
          mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, (_s, i) => i === status && ctl.abort(new Error('stop')), {
            signal: ctl.signal,
          }),
        );
        expect((err as Error).message).to.equal('stop');
        expect(await leftovers(domains)).to.deep.equal(clean);
      });
    }

    it('logs what it could not remove, and still throws the error of the create', async () => {
      const lines: string[] = [];
      const { run, domains } = fakeHost((c, a, _o, next) => {
        if (c === 'virsh' && a.includes('start')) return failure(c, a, 'error: no start');
        if (c === 'virsh' && a.includes('undefine')) return failure(c, a, 'error: busy');
        return next();
      });
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger: recordingLogger(lines) });
      const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy'));
      expect((err as Error).message).to.match(/failed to start domain .*error: no start$/);
      expect([...domains.keys()]).to.deep.equal([NAME]);
      expect(lines).to.include(`ERROR failed to remove domain "${NAME}" of the failed create of "${NAME}": libvirt still has it; it is left behind`);
      expect(lines.filter((l) => l.startsWith('INFO create of'))[0]).to.not.contain(`domain "${NAME}"`);
      expect(await readdir(opts.guestDir)).to.deep.equal(['jammy-amd64-backing-file.qcow']);
    });

    it('never undefines a domain of the same name that another caller defined meanwhile', async () => {
      const theirs = { uuid: '11111111-2222-4333-8444-555555555555', state: 'running' as const, autostart: false };
      const { run, domains } = fakeHost((c, a, _o, next) => {
        if (c === 'virsh' && a.includes('define')) domains.set(NAME, theirs);
        return next();
      });
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy'));
      expect((err as Error).message).to.contain('already exists with uuid 11111111-2222-4333-8444-555555555555');
      expect(domains.get(NAME)).to.equal(theirs);
      expect(run.lines().filter((l) => /destroy|undefine/.test(l))).to.deep.equal([]);
    });
  });

  describe('a create for a name that is taken', () => {
    /** A snapshot of every file under the temp root: path, mode, content. */
    async function snapshot(): Promise<string[]> {
      const out: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
          const p = join(dir, e.name);
          const st = await stat(p);
          out.push(`${p} ${st.mode.toString(8)} ${e.isDirectory() ? 'dir' : (await readFile(p)).toString('base64')}`);
          if (e.isDirectory()) await walk(p);
        }
      };
      await walk(root);
      return out;
    }

    it('fails with KVM_ERR_ALREADY_EXISTS while the first guest runs, and touches nothing', async () => {
      const { run, domains } = fakeHost();
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      await mgr.createContainer({ machineId: '0' }, {}, 'jammy');
      const before = await snapshot();
      const first = { ...domains.get(NAME) };
      const n = run.calls.length;
      const calls: [Status, string][] = [];
      const err = await rejection(mgr.createContainer({ machineId: '0' }, {}, 'jammy', undefined, undefined, (s, i) => void calls.push([s, i])));
      const message = `container "${NAME}" already exists: libvirt has a domain of that name (running)`;
      expect(KvmError.is(err, KvmErrorCode.ALREADY_EXISTS)).to.equal(true);
      expect((err as Error).message).to.equal(message);
      expect(calls).to.deep.equal([['provisioning error', `Creating container: ${message}`]]);
      expect(run.lines().slice(n)).to.deep.equal([`virsh -c qemu:///system domstate ${NAME}`]);
      expect(await snapshot()).to.deep.equal(before);
      expect(domains.get(NAME)).to.deep.equal(first);
    });

    it('fails when only the container directory is there, and leaves it as it is', async () => {
      const dir = join(opts.containerDir, NAME);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'user-data'), 'theirs');
      const before = await snapshot();
      const { run, domains } = fakeHost();
      const err = await rejection(new KvmManager({ 'model-uuid': UUID }, { ...opts, run }).createContainer({ machineId: '0' }, {}, 'jammy'));
      expect(KvmError.is(err, KvmErrorCode.ALREADY_EXISTS)).to.equal(true);
      expect((err as Error).message).to.equal(`container "${NAME}" already exists: ${dir} exists`);
      expect(await snapshot()).to.deep.equal(before);
      expect(domains.size).to.equal(0);
    });

    for (const file of [`${NAME}-ds.iso`, `${NAME}.qcow`]) {
      it(`fails when only ${file.slice(NAME.length)} is there, and removes only its own directory`, async () => {
        await mkdir(opts.containerDir, { recursive: true });
        await writeFile(join(opts.guestDir, file), 'theirs', { mode: 0o644 });
        const before = await snapshot();
        const { run } = fakeHost();
        const err = await rejection(new KvmManager({ 'model-uuid': UUID }, { ...opts, run }).createContainer({ machineId: '0' }, {}, 'jammy'));
        expect(KvmError.is(err, KvmErrorCode.ALREADY_EXISTS)).to.equal(true);
        expect((err as Error).message).to.equal(`container "${NAME}" already exists: ${join(opts.guestDir, file)} exists`);
        expect(await snapshot()).to.deep.equal(before);
        expect(run.lines()).to.deep.equal([`virsh -c qemu:///system domstate ${NAME}`]);
      });
    }

    it('lets one of two concurrent creates of one machine win; the other fails and leaves it be', async () => {
      const { run, domains } = fakeHost();
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const other = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const results = await Promise.allSettled([
        mgr.createContainer({ machineId: '0' }, {}, 'jammy'),
        mgr.createContainer({ machineId: '0' }, {}, 'jammy'),
        other.createContainer({ machineId: '0' }, {}, 'jammy'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect(KvmError.is(r.reason, KvmErrorCode.ALREADY_EXISTS), String(r.reason)).to.equal(true);
      expect(domains.get(NAME)).to.include({ state: 'running', autostart: true });
      expect((await readdir(join(opts.containerDir, NAME))).sort()).to.deep.equal([`${NAME}.xml`, 'meta-data', 'network-config', 'user-data']);
      expect((await readdir(opts.guestDir)).sort()).to.deep.equal(['jammy-amd64-backing-file.qcow', `${NAME}-ds.iso`, `${NAME}.qcow`]);
      expect(await readFile(join(opts.guestDir, `${NAME}.qcow`), 'utf8')).to.equal('QCOW overlay');
    });
  });

  describe('file modes', () => {
    for (const umask of [0, 0o022, 0o077, 0o277]) {
      it(`keeps the guest's files 0600 in a 0700 directory under umask ${umask.toString(8).padStart(3, '0')}`, async () => {
        const { run } = fakeHost();
        const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
        const old = process.umask(umask);
        try {
          await mgr.createContainer({ machineId: '0', userData: { password: 'secret' } }, {}, 'jammy');
        } finally {
          process.umask(old);
        }
        const dir = join(opts.containerDir, NAME);
        const mode = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8);
        expect(await mode(dir)).to.equal('700');
        for (const f of ['user-data', 'meta-data', 'network-config', `${NAME}.xml`]) expect(await mode(join(dir, f)), f).to.equal('600');
        expect(await mode(join(opts.guestDir, `${NAME}-ds.iso`))).to.equal('600');
        expect(await mode(join(opts.guestDir, `${NAME}.qcow`))).to.equal('600');
        expect(await readFile(join(opts.guestDir, `${NAME}-ds.iso`), 'utf8')).to.equal('ISO 9660');
      });
    }
  });

  describe('create and destroy of one name', () => {
    it('a destroy that comes during a create waits for it, then removes the guest', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const { run, domains } = fakeHost(async (c, _a, _o, next) => {
        if (c === 'genisoimage') await gate;
        return next();
      });
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const create = mgr.createContainer({ machineId: '0' }, {}, 'jammy');
      while (!run.lines().some((l) => l.startsWith('genisoimage'))) await new Promise((r) => setImmediate(r));
      const destroy = mgr.destroyContainer(NAME);
      await new Promise((r) => setTimeout(r, 20));
      expect(run.lines().filter((l) => l.includes('destroy') || l.includes('undefine'))).to.deep.equal([]);
      release();
      await create;
      await destroy;
      expect(domains.size).to.equal(0);
      expect(await readdir(opts.guestDir)).to.deep.equal(['jammy-amd64-backing-file.qcow']);
      expect(await readdir(opts.containerDir)).to.deep.equal([]);
      expect(await readdir(opts.removedContainerDir)).to.deep.equal([NAME]);
    });

    it('stops waiting when its signal aborts', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const { run, domains } = fakeHost(async (c, _a, _o, next) => {
        if (c === 'genisoimage') await gate;
        return next();
      });
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const create = mgr.createContainer({ machineId: '0' }, {}, 'jammy');
      while (!run.lines().some((l) => l.startsWith('genisoimage'))) await new Promise((r) => setImmediate(r));
      const ctl = new AbortController();
      const destroy = mgr.destroyContainer(NAME, { signal: ctl.signal });
      const third = mgr.destroyContainer(NAME);
      ctl.abort(new Error('enough'));
      expect(((await rejection(destroy)) as Error).message).to.equal('enough');
      // The third call still waits for the create, not for the aborted one.
      await new Promise((r) => setTimeout(r, 20));
      expect(domains.get(NAME)).to.equal(undefined);
      release();
      await create;
      await third;
      expect(domains.size).to.equal(0);
    });
  });

  describe('image source', () => {
    afterEach(() => {
      nock.cleanAll();
      nock.enableNetConnect();
    });

    it("uses cloud-images' <stream> mirror for a non-default stream, and the metadata URL verbatim", async () => {
      nock.disableNetConnect();
      nock('http://cloud-images.ubuntu.com').get('/daily/streams/v1/index.json').reply(404);
      nock('http://mirror.example.test').get('/my/streams/v1/index.json').reply(404);
      const daily = new KvmManager({ 'model-uuid': UUID, 'container-image-stream': 'daily' }, { ...opts, run: fakeRunner(happy) });
      expect(((await rejection(daily.createContainer({ machineId: '0' }, {}, 'focal'))) as Error).message).to.equal(
        'acquiring container image: got 404 fetching simplestreams document http://cloud-images.ubuntu.com/daily/streams/v1/index.json',
      );
      const custom = new KvmManager(
        { 'model-uuid': UUID, 'container-image-stream': 'daily', 'container-image-metadata-url': 'http://mirror.example.test/my' },
        { ...opts, run: fakeRunner(happy) },
      );
      expect(((await rejection(custom.createContainer({ machineId: '1' }, {}, 'focal'))) as Error).message).to.equal(
        'acquiring container image: got 404 fetching simplestreams document http://mirror.example.test/my/streams/v1/index.json',
      );
    });
  });

  describe('listContainers', () => {
    it("returns the namespace's running domains only", async () => {
      const run = fakeRunner(() => ({
        stdout: [' 1  juju-06f00d-0  running', ' 2  juju-06f00d-1  paused', ' 3  juju-abcdef-0  running', ' -  juju-06f00d-2  shut off'].join('\n'),
      }));
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      const list = await mgr.listContainers();
      expect(list.map(String)).to.deep.equal(['kvm:juju-06f00d-0']);
    });
  });

  describe('destroyContainer', () => {
    it('destroys and undefines the domain, removes overlay and ISO, keeps the backing file, moves the directory', async () => {
      let state: string | undefined = 'running';
      const run = fakeRunner((c, a) => {
        if (a.includes('domstate')) return state === undefined ? failure(c, a, "error: failed to get domain 'x'") : { stdout: `${state}\n` };
        if (a.includes('undefine')) state = undefined;
        return undefined;
      });
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      await mkdir(join(opts.containerDir, NAME), { recursive: true });
      await writeFile(join(opts.containerDir, NAME, 'user-data'), '#cloud-config\n');
      await writeFile(join(opts.guestDir, `${NAME}.qcow`), '');
      await writeFile(join(opts.guestDir, `${NAME}-ds.iso`), '');
      await mgr.destroyContainer(NAME);
      expect(run.lines()).to.deep.equal([
        `virsh -c qemu:///system domstate ${NAME}`,
        `virsh -c qemu:///system destroy ${NAME}`,
        `virsh -c qemu:///system undefine --nvram ${NAME}`,
      ]);
      expect(await readdir(opts.guestDir)).to.deep.equal(['jammy-amd64-backing-file.qcow']);
      expect(await readdir(opts.removedContainerDir)).to.deep.equal([NAME]);
      expect(existsSync(join(opts.removedContainerDir, NAME, 'user-data'))).to.equal(true);

      // Again: nothing left to do, no error.
      await mgr.destroyContainer(NAME);
      expect(run.lines().slice(3)).to.deep.equal([`virsh -c qemu:///system domstate ${NAME}`]);
      expect(await readdir(opts.removedContainerDir)).to.deep.equal([NAME]);
    });

    it('undefines a shut-off domain without destroying it', async () => {
      const run = fakeRunner((_c, a) => (a.includes('domstate') ? { stdout: 'shut off\n' } : undefined));
      await new KvmManager({ 'model-uuid': UUID }, { ...opts, run }).destroyContainer(NAME);
      expect(run.lines()).to.deep.equal([`virsh -c qemu:///system domstate ${NAME}`, `virsh -c qemu:///system undefine --nvram ${NAME}`]);
    });

    it("logs Juju's INFO lines and fails when the domain stays defined", async () => {
      const lines: string[] = [];
      const run = fakeRunner((c, a) => (a.includes('domstate') ? { stdout: 'running\n' } : failure(c, a, 'error: busy')));
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger: recordingLogger(lines) });
      const err = await rejection(mgr.destroyContainer(NAME));
      expect((err as Error).message).to.equal(
        `domain "${NAME}" is still defined: \`virsh -c qemu:///system undefine --nvram ${NAME}\` failed (exit 1): error: busy`,
      );
      expect(lines).to.include(`INFO \`virsh destroy ${NAME}\` failed: "\`virsh -c qemu:///system destroy ${NAME}\` failed (exit 1): error: busy"`);
    });

    for (const managers of [1, 2]) {
      it(`two destroys at once through ${managers === 1 ? 'one manager' : 'two managers (as two processes would)'} both succeed`, async () => {
        const lines: string[] = [];
        const { run, domains } = fakeHost();
        const mgrs = [1, 2].map(() => new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger: recordingLogger(lines) }));
        for (let i = 0; i < 5; i++) {
          await mgrs[0]!.createContainer({ machineId: '0' }, {}, 'jammy');
          await Promise.all([mgrs[0]!.destroyContainer(NAME), mgrs[managers - 1]!.destroyContainer(NAME)]);
          expect(domains.size).to.equal(0);
          expect(await readdir(opts.guestDir)).to.deep.equal(['jammy-amd64-backing-file.qcow']);
          expect(await readdir(opts.containerDir)).to.deep.equal([]);
        }
        // Each guest's directory moved once: NAME, NAME.1, … NAME.4, no reservation left behind.
        expect((await readdir(opts.removedContainerDir)).sort()).to.deep.equal([NAME, ...[1, 2, 3, 4].map((n) => `${NAME}.${n}`)]);
        if (managers === 1) expect(lines.filter((l) => /^(INFO|ERROR)/.test(l) && !l.includes('Availability zone'))).to.deep.equal([]);
      });
    }

    it('succeeds when another process moves the container directory away just before it does', async () => {
      const { run } = fakeHost();
      const lines: string[] = [];
      const dir = join(opts.containerDir, NAME);
      const elsewhere = join(root, 'moved-by-the-other');
      let armed = false;
      // removeDirectory takes its logger's child first: the moment to play the other process.
      const logger = { ...recordingLogger(lines), child: () => {
        if (armed) {
          armed = false;
          renameSync(dir, elsewhere);
        }
        return recordingLogger(lines);
      } };
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run, logger });
      await mgr.createContainer({ machineId: '0' }, {}, 'jammy');
      armed = true;
      await mgr.destroyContainer(NAME);
      expect(armed).to.equal(false);
      expect(existsSync(dir)).to.equal(false);
      expect(await readdir(elsewhere)).to.include('user-data');
      expect(await readdir(opts.removedContainerDir)).to.deep.equal([]);
      expect(lines).to.include(`DEBUG container directory ${dir} was moved by another destroy`);
    });

    it('refuses a domain outside the namespace or a name with a path in it', async () => {
      const run = fakeRunner();
      const mgr = new KvmManager({ 'model-uuid': UUID }, { ...opts, run });
      expect(((await rejection(mgr.destroyContainer('juju-abcdef-0'))) as Error).message).to.equal(
        'instance "juju-abcdef-0" is not in namespace "juju-06f00d-"',
      );
      expect(await rejection(mgr.destroyContainer('juju-06f00d-0/../../x'))).to.be.instanceOf(ContainerError);
      expect(run.calls).to.deep.equal([]);
    });
  });
});
