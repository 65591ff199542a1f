import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvmInitialiser, kvmPackages, kvmPrograms, lookPath } from '../../../lib/container/kvm/index.js';
import { failure, fakeRunner } from './fake-runner.js';

const POOL_RUNNING = 'Name:           juju-pool\nState:          running\nAutostart:      yes\n';

describe('KvmInitialiser (unit, fake commands)', () => {
  let root: string;
  let savedPath: string | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lxdkit-kvm-init-'));
    savedPath = process.env['PATH'];
  });
  afterEach(async () => {
    process.env['PATH'] = savedPath;
    await rm(root, { recursive: true, force: true });
  });

  it("defines, builds, starts and autostarts a missing pool with Juju's commands", async () => {
    const guestDir = join(root, 'guests');
    const run = fakeRunner((c, a) => (a.includes('pool-info') ? failure(c, a, 'error: failed to get pool') : undefined));
    await new KvmInitialiser({ guestDir, run, chownGuestDir: false, packages: ['p'] }).initialise();
    const virsh = run.lines().filter((l) => l.startsWith('virsh'));
    expect(virsh).to.deep.equal([
      'virsh -c qemu:///system pool-info juju-pool',
      `virsh -c qemu:///system pool-define-as juju-pool dir - - - - ${guestDir}`,
      'virsh -c qemu:///system pool-build juju-pool',
      'virsh -c qemu:///system pool-start juju-pool',
      'virsh -c qemu:///system pool-autostart juju-pool',
    ]);
    expect(existsSync(guestDir)).to.equal(true);
  });

  it('only starts a stopped pool, and only autostarts one that does not autostart', async () => {
    const run = fakeRunner((_c, a) => (a.includes('pool-info') ? { stdout: 'Name: juju-pool\nState: inactive\nAutostart: yes\n' } : undefined));
    await new KvmInitialiser({ guestDir: root, run, chownGuestDir: false, packages: ['p'] }).initialise();
    expect(run.lines().filter((l) => l.startsWith('virsh'))).to.deep.equal([
      'virsh -c qemu:///system pool-info juju-pool',
      'virsh -c qemu:///system pool-build juju-pool',
      'virsh -c qemu:///system pool-start juju-pool',
    ]);
  });

  it('skips package installation when every program is there, and installs when one is missing', async function () {
    if (!kvmPrograms('amd64').every((p) => lookPath(p, `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`))) {
      // The first half needs the programs installed (scripts/provision-host.sh installs them).
      if (process.env['CI']) throw new Error('CI: the KVM programs are not installed');
      this.skip();
    }
    const run = fakeRunner((_c, a) => (a.includes('pool-info') ? { stdout: POOL_RUNNING } : undefined));
    await new KvmInitialiser({ guestDir: root, run, chownGuestDir: false, arch: 'amd64' }).initialise();
    expect(run.lines()).to.deep.equal(['virsh -c qemu:///system pool-info juju-pool']);

    process.env['PATH'] = join(root, 'empty-bin'); // virsh, qemu-img, genisoimage are in /usr/bin
    const run2 = fakeRunner((_c, a) => (a.includes('pool-info') ? { stdout: POOL_RUNNING } : undefined));
    await new KvmInitialiser({ guestDir: root, run: run2, chownGuestDir: false, arch: 'amd64', packages: ['qemu-kvm', 'genisoimage'] }).initialise();
    expect(run2.lines()[0]).to.equal(
      'apt-get --option=Dpkg::Options::=--force-confold --option=Dpkg::options::=--force-unsafe-io --assume-yes --quiet install qemu-kvm genisoimage',
    );
  });

  it('reports a failed installation with the command and its stderr', async () => {
    process.env['PATH'] = join(root, 'empty-bin');
    const run = fakeRunner((c, a) => (c === 'apt-get' ? failure(c, a, 'E: Unable to locate package qemu-kvm', 100) : undefined));
    let err: unknown;
    try {
      await new KvmInitialiser({ guestDir: root, run, packages: ['qemu-kvm'] }).initialise();
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/^installing KVM packages: `apt-get .* install qemu-kvm` failed \(exit 100\): E: Unable to locate package qemu-kvm$/);
  });

  it("lists Juju's packages, with Debian's qemu-system package where there is no qemu-kvm", () => {
    expect(kvmPackages('amd64', 'ubuntu')).to.deep.equal(['qemu-kvm', 'qemu-utils', 'genisoimage', 'libvirt-daemon-system', 'libvirt-clients']);
    expect(kvmPackages('arm64', 'ubuntu')).to.deep.equal(['qemu-efi', 'qemu-kvm', 'qemu-utils', 'genisoimage', 'libvirt-daemon-system', 'libvirt-clients']);
    expect(kvmPackages('amd64', 'debian')[0]).to.equal('qemu-system-x86');
  });
});
