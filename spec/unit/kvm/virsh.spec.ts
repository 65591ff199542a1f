import { expect } from 'chai';
import { KvmCommandError, KvmErrorCode, Virsh, lookPath, runCommand } from '../../../lib/container/kvm/index.js';
import { failure, fakeRunner } from './fake-runner.js';
import { rejection } from '../../helpers/rejection.js';

describe('kvm runCommand', () => {
  it('returns stdout and stderr of a program that succeeds', async () => {
    expect(await runCommand('sh', ['-c', 'echo out; echo err >&2'])).to.deep.equal({ stdout: 'out\n', stderr: 'err\n' });
  });

  it('throws COMMAND_FAILED with the exit code and stderr', async () => {
    const err = await rejection(runCommand('sh', ['-c', 'echo "error: no such pool" >&2; exit 3']));
    expect(err).to.be.instanceOf(KvmCommandError);
    const e = err as KvmCommandError;
    expect(e.code).to.equal(KvmErrorCode.COMMAND_FAILED);
    expect(e.exitCode).to.equal(3);
    expect(e.stderr).to.equal('error: no such pool\n');
    expect(e.message).to.equal('`sh -c echo "error: no such pool" >&2; exit 3` failed (exit 3): error: no such pool');
  });

  it('throws COMMAND_NOT_FOUND for a program that is not installed', async () => {
    const err = await rejection(runCommand('lxdkit-no-such-program', []));
    expect(KvmCommandError.is(err, KvmErrorCode.COMMAND_NOT_FOUND)).to.equal(true);
    expect((err as Error).message).to.match(/^lxdkit-no-such-program not found: install it/);
  });

  it('kills a program that outlives its timeout', async () => {
    const err = await rejection(runCommand('sleep', ['30'], { timeoutMs: 100 }));
    expect(KvmCommandError.is(err, KvmErrorCode.TIMEOUT)).to.equal(true);
    expect((err as Error).message).to.equal('`sleep 30` did not finish within 100 ms and was killed');
  });

  it("rejects with the caller's abort reason", async () => {
    const ac = new AbortController();
    const reason = new Error('cancelled');
    const p = runCommand('sleep', ['30'], { signal: ac.signal });
    ac.abort(reason);
    expect(await rejection(p)).to.equal(reason);
    expect(await rejection(runCommand('true', [], { signal: ac.signal }))).to.equal(reason);
  });

  it('lookPath finds executables in PATH only', () => {
    expect(lookPath('sh')).to.equal(true);
    expect(lookPath('sh', '/nonexistent')).to.equal(false);
    expect(lookPath('lxdkit-no-such-program')).to.equal(false);
  });
});

describe('kvm Virsh', () => {
  it('passes the connection URI first', async () => {
    const run = fakeRunner();
    await new Virsh({ uri: 'qemu:///session', run }).start('d');
    await new Virsh({ run }).undefine('d');
    expect(run.lines()).to.deep.equal(['virsh -c qemu:///session start d', 'virsh -c qemu:///system undefine --nvram d']);
  });

  it("parses `virsh -q list --all` as Juju does: only rows with a numeric id", async () => {
    const run = fakeRunner(() => ({
      stdout: [' 1    juju-06f00d-0   running', ' 12   juju-06f00d-1   paused', ' -    juju-06f00d-2   shut off', ''].join('\n'),
    }));
    expect(await new Virsh({ run }).list()).to.deep.equal([
      { name: 'juju-06f00d-0', state: 'running' },
      { name: 'juju-06f00d-1', state: 'paused' },
    ]);
    expect(run.lines()).to.deep.equal(['virsh -c qemu:///system -q list --all']);
  });

  it('domState: the state, undefined for an unknown domain, other failures thrown', async () => {
    const run = fakeRunner((_c, args) => {
      if (args.includes('known')) return { stdout: 'shut off\n\n' };
      if (args.includes('gone')) return failure('virsh', args, "error: failed to get domain 'gone'\n");
      return failure('virsh', args, 'error: failed to connect to the hypervisor\n');
    });
    const v = new Virsh({ run });
    expect(await v.domState('known')).to.equal('shut off');
    expect(await v.domState('gone')).to.equal(undefined);
    expect(KvmCommandError.is(await rejection(v.domState('other')), KvmErrorCode.COMMAND_FAILED)).to.equal(true);
  });

  it('domUuid: the UUID, undefined for an unknown domain, other failures thrown', async () => {
    const run = fakeRunner((_c, args) => {
      if (args.includes('known')) return { stdout: '6f1c7c5e-2b1a-4c3e-9d1f-0a1b2c3d4e5f\n\n' };
      if (args.includes('gone')) return failure('virsh', args, "error: failed to get domain 'gone'\n");
      return failure('virsh', args, 'error: failed to connect to the hypervisor\n');
    });
    const v = new Virsh({ run });
    expect(await v.domUuid('known')).to.equal('6f1c7c5e-2b1a-4c3e-9d1f-0a1b2c3d4e5f');
    expect(await v.domUuid('gone')).to.equal(undefined);
    expect(KvmCommandError.is(await rejection(v.domUuid('other')), KvmErrorCode.COMMAND_FAILED)).to.equal(true);
    expect(run.lines()[0]).to.equal('virsh -c qemu:///system domuuid known');
  });

  it('poolInfo: parsed fields, or undefined when virsh fails', async () => {
    const run = fakeRunner((_c, args) =>
      args.includes('juju-pool')
        ? { stdout: 'Name:           juju-pool\nUUID:           x\nState:          running\nPersistent:     yes\nAutostart:      no\n' }
        : failure('virsh', args, 'error: failed to get pool'),
    );
    const v = new Virsh({ run });
    expect(await v.poolInfo('juju-pool')).to.deep.equal({ name: 'juju-pool', state: 'running', autostart: 'no' });
    expect(await v.poolInfo('missing')).to.equal(undefined);
  });
});
