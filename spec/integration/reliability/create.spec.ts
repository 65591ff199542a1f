/**
 * LxdManager under failure, on the real LXD daemon: a duplicate create (sequential and concurrent)
 * leaves the first container running; an abort at any point of a create rejects at once and, once
 * LXD's operations have ended, leaves no container of that call. Containers live in the namespace of
 * a model marked as this spec's (`deadbeef-…`); the series alias is this run's own.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { LxdManager, LxdManagerError, LxdManagerErrorCode } from '../../../lib/container/lxd/index.js';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, removeModelLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { rejection } from '../../helpers/rejection.js';
import { CLI, ensureBuilt } from '../../helpers/cli.js';

const MODEL_MARK = 'deadbeef-';
const PREFIX = 'lxdkit-spec-rel-';

describeEachServer('LxdManager under failure (real daemon)', function (server) {
  this.timeout(300_000);
  let lxd: LxdClient;
  const run = uniqueSuffix();
  const series = `lxdkitrel${run}`;
  const alias = `juju/${series}/amd64`;
  const model = `${MODEL_MARK}${randomUUID().slice(9)}`;
  let mgr: LxdManager;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeModelLeftovers(lxd, MODEL_MARK, PREFIX);
    const busybox = (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
    await lxd.images.createAlias({ name: alias, target: busybox, description: `${PREFIX}${run}` });
    mgr = new LxdManager({ 'model-uuid': model }, { client: lxd, hostArch: 'amd64' });
  });

  after(async function () {
    if (!lxd) return;
    await mgr?.settled();
    await removeModelLeftovers(lxd, model, PREFIX);
    await lxd.images.deleteAlias(alias).catch(() => {});
    await lxd.close();
  });

  async function state(name: string): Promise<string | undefined> {
    return (await lxd.instances.list()).find((i) => i.name === name)?.status;
  }

  it('a second create of the same machine is "already exists" and leaves the first container running', async function () {
    const { instance } = await mgr.createContainer({ machineId: '1' }, {}, series);
    const created = (await lxd.instances.get(instance.id)).value.created_at;
    const statuses: string[] = [];
    const err = await rejection(mgr.createContainer({ machineId: '1' }, {}, series, undefined, undefined, (s, i) => void statuses.push(`${s}: ${i}`)));
    expect(LxdManagerError.is(err, LxdManagerErrorCode.ALREADY_EXISTS), String(err)).to.equal(true);
    // the daemon's own words: LXD says "already exists", Incus that a database constraint failed
    const taken = server.kind === 'lxd' ? /already exists$/ : /UNIQUE constraint failed: instances\.project_id, instances\.name$/;
    expect(err.message).to.match(taken);
    expect(statuses.at(-1)).to.match(new RegExp(`^provisioning error: Creating container: .*${taken.source}`));
    await mgr.settled();
    expect(await state(instance.id)).to.equal('Running');
    // the very same container, not a new one of the same name
    expect((await lxd.instances.get(instance.id)).value.created_at).to.equal(created);
    await mgr.destroyContainer(instance.id);
  });

  it('two concurrent creates of one machine: one makes it, the other is "already exists", and the container runs', async function () {
    const results = await Promise.allSettled([mgr.createContainer({ machineId: '2' }, {}, series), mgr.createContainer({ machineId: '2' }, {}, series)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? 'created' : String(r.reason))).join('; ');
    expect(ok, outcomes).to.have.length(1);
    expect(failed, outcomes).to.have.length(1);
    expect(LxdManagerError.is(failed[0]!.reason, LxdManagerErrorCode.ALREADY_EXISTS), String(failed[0]!.reason)).to.equal(true);
    await mgr.settled();
    const name = mgr.namespace().hostname('2');
    expect(await state(name)).to.equal('Running');
    await mgr.destroyContainer(name);
  });

  for (const afterMs of [50, 150, 300, 600, 1_000]) {
    it(`an abort ${afterMs} ms into a create rejects within ~100 ms and leaves no container once LXD is done`, async function () {
      const machine = `5${afterMs}`;
      const name = mgr.namespace().hostname(machine);
      const controller = new AbortController();
      const reason = new Error(`spec abort at ${afterMs} ms`);
      const started = Date.now();
      const creating = mgr.createContainer({ machineId: machine }, {}, series, undefined, undefined, undefined, { signal: controller.signal });
      creating.catch(() => {});
      await new Promise((r) => setTimeout(r, afterMs));
      const abortedAt = Date.now();
      controller.abort(reason);
      const outcome = await creating.then(
        () => 'created',
        (e: unknown) => e,
      );
      const latency = Date.now() - abortedAt;
      if (outcome === 'created') {
        // it finished before the abort could land (a fast daemon); then it is the caller's container
        // (a timer may fire a millisecond early by the wall clock)
        expect(abortedAt - started).to.be.at.least(afterMs - 2);
        await mgr.destroyContainer(name);
        return;
      }
      expect(outcome).to.equal(reason);
      expect(latency, 'rejected promptly after the abort').to.be.below(150);
      await mgr.settled();
      expect(await state(name), 'no container of the aborted call is left').to.equal(undefined);
    });
  }

  it('an abort the moment LXD has accepted the start (its answer maybe not yet read) leaves no container once LXD is done', async function () {
    // The start request is sent, LXD makes the operation, and the abort lands while its answer may
    // still be on its way: the container must not be left running by a start nobody waited for.
    const sub = lxd.events.subscribe({ types: ['operation'] });
    try {
      await sub.ready;
      for (let round = 0; round < 6; round++) {
        const machine = `8${round}`;
        const name = mgr.namespace().hostname(machine);
        const controller = new AbortController();
        const reason = new Error('abort as the start is accepted');
        const onOperation = (e: { metadata?: unknown }): void => {
          const text = JSON.stringify(e.metadata ?? {});
          if (/"description":"Starting (instance|container)"/.test(text) && text.includes(`/1.0/instances/${name}`)) controller.abort(reason);
        };
        sub.on('event', onOperation);
        const outcome = await mgr
          .createContainer({ machineId: machine }, {}, series, undefined, undefined, undefined, { signal: controller.signal })
          .then(() => 'created', (e: unknown) => e);
        sub.off('event', onOperation);
        if (outcome === 'created') {
          // the start ended before its event arrived: the caller's container
          await mgr.destroyContainer(name);
          continue;
        }
        expect(outcome).to.equal(reason);
        await mgr.settled();
        expect(await state(name), `round ${round}: no container of the aborted call is left`).to.equal(undefined);
      }
    } finally {
      sub.close();
    }
  });

  it('a caller waiting on the image lock can abort too', async function () {
    // The image lock is held while an image is resolved; a second create queued behind a slow first one
    // gives up as soon as it is aborted.
    const controller = new AbortController();
    const first = mgr.createContainer({ machineId: '60' }, {}, series);
    const second = mgr.createContainer({ machineId: '61' }, {}, series, undefined, undefined, undefined, { signal: controller.signal });
    second.catch(() => {});
    const reason = new Error('gave up in the queue');
    controller.abort(reason);
    const at = Date.now();
    expect(await rejection(second)).to.equal(reason);
    expect(Date.now() - at).to.be.below(100);
    const { instance } = await first;
    await mgr.settled();
    expect(await state(mgr.namespace().hostname('61'))).to.equal(undefined);
    await mgr.destroyContainer(instance.id);
  });

  it('a create past its deadline rejects with a timeout and leaves nothing once LXD is done', async function () {
    const name = mgr.namespace().hostname('70');
    const err = await rejection(mgr.createContainer({ machineId: '70' }, {}, series, undefined, undefined, undefined, { timeoutMs: 200 }));
    expect(err).to.have.property('code', 'LXD_ERR_TIMEOUT');
    await mgr.settled();
    expect(await state(name)).to.equal(undefined);
  });

  it('refuses a deadline of 0 or Infinity before any I/O', async function () {
    for (const timeoutMs of [0, Infinity, -1, Number.NaN]) {
      const err = await rejection(mgr.createContainer({ machineId: '71' }, {}, series, undefined, undefined, undefined, { timeoutMs }));
      expect(err).to.have.property('code', 'CONTAINER_ERR_NOT_VALID');
    }
    expect(await state(mgr.namespace().hostname('71'))).to.equal(undefined);
  });
});

describe('lxdkit container create interrupted (real LXD)', function () {
  this.timeout(300_000);
  let lxd: LxdClient;
  const run = uniqueSuffix();
  const series = `lxdkitint${run}`;
  const alias = `juju/${series}/amd64`;
  const model = `${MODEL_MARK}${randomUUID().slice(9)}`;

  before(async function () {
    lxd = await requireLxd(this);
    ensureBuilt();
    const busybox = (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
    await lxd.images.createAlias({ name: alias, target: busybox, description: `${PREFIX}${run}` });
  });

  after(async function () {
    if (!lxd) return;
    await removeModelLeftovers(lxd, model, PREFIX);
    await lxd.images.deleteAlias(alias).catch(() => {});
    await lxd.close();
  });

  interface Outcome {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }

  /** Runs `container create` for `machine`, sends SIGINT when `interrupt` resolves, and waits for the exit. */
  async function interruptedCreate(machine: string, interrupt: () => Promise<void>): Promise<Outcome> {
    const child = spawn(process.execPath, [CLI, 'container', 'create', '--model', model, '--machine', machine, '--series', series], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    await Promise.race([interrupt(), exited]);
    child.kill('SIGINT');
    const { code, signal } = await exited;
    return { code, signal, stdout, stderr };
  }

  /**
   * What a Ctrl-C at an unknown point of a create may end in, each checked: the command finished first
   * (it printed the container, which is then the caller's, running: a signal in the process's last
   * milliseconds, as it exits, still ends it by the signal); the signal landed while Node was still
   * loading the command, before it handles signals and before any request (it dies of the signal and
   * made nothing); or the command stopped, removed what it made and exited 130.
   */
  async function checkInterrupted(machine: string, { code, signal, stdout, stderr }: Outcome): Promise<'finished' | 'before' | 'stopped'> {
    const name = `juju-${model.slice(-6)}-${machine}`;
    const left = (await lxd.instances.list()).find((i) => i.name === name);
    const said = `exit ${code ?? signal}; stdout ${JSON.stringify(stdout)}; stderr ${JSON.stringify(stderr)}`;
    if (stdout.includes(name) || code === 0) {
      expect(left?.status, said).to.equal('Running');
      await (await lxd.instances.setState(name, { action: 'stop', force: true })).wait();
      await (await lxd.instances.delete(name)).wait();
      return 'finished';
    }
    if (signal === 'SIGINT') {
      expect(left, `${name} was left behind by a command killed before it handled SIGINT (${said})`).to.equal(undefined);
      expect(stdout, said).to.equal('');
      return 'before';
    }
    expect(code, said).to.equal(130);
    expect(left, `${name} was left behind (${said})`).to.equal(undefined);
    return 'stopped';
  }

  for (const afterMs of [300, 900]) {
    it(`Ctrl-C ${afterMs} ms into a create: the command removes what it made and exits 130`, async function () {
      const machine = String(afterMs);
      const outcome = await interruptedCreate(machine, () => new Promise((r) => setTimeout(r, afterMs)));
      await checkInterrupted(machine, outcome);
    });
  }

  it('Ctrl-C as LXD reports the container made (before its start): the command removes it and exits 130', async function () {
    // Keyed to LXD's own lifecycle event rather than to a clock, so the interrupt lands mid-create
    // however fast or loaded the host is.
    const machine = '920';
    const name = `juju-${model.slice(-6)}-${machine}`;
    const sub = lxd.events.subscribe({ types: ['lifecycle'] });
    try {
      await sub.ready;
      const outcome = await interruptedCreate(
        machine,
        () =>
          new Promise<void>((resolve) => {
            sub.on('event', (e: { metadata?: unknown }) => {
              const text = JSON.stringify(e.metadata ?? {});
              if (text.includes('"action":"instance-created"') && text.includes(`/1.0/instances/${name}`)) resolve();
            });
          }),
      );
      expect(await checkInterrupted(machine, outcome)).to.equal('stopped');
    } finally {
      sub.close();
    }
  });

  it('Ctrl-C once the command printed its result: the container it reported stays, running', async function () {
    const machine = '950';
    const name = `juju-${model.slice(-6)}-${machine}`;
    const child = spawn(process.execPath, [CLI, 'container', 'create', '--model', model, '--machine', machine, '--series', series], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes(name)) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(stdout, stderr).to.include(name);
    // 0, or ended by the signal itself when it lands in the last milliseconds of the process's exit
    expect([0, null], `exit code ${code}; ${stderr}`).to.include(code);
    const made = (await lxd.instances.list()).find((i) => i.name === name);
    expect(made?.status).to.equal('Running');
    await (await lxd.instances.setState(name, { action: 'stop', force: true })).wait();
    await (await lxd.instances.delete(name)).wait();
  });
});
