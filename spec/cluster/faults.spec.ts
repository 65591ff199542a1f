/**
 * One member of the real 3-member cluster (m3) is SIGKILLed while work runs on it, then started again
 * with scripts/cluster.sh up. Through the same clients, never restarted:
 *   - a create targeted at m3 fails at once with a typed error naming m3 (client and manager);
 *   - creates on m1 and m2 go on working;
 *   - listing answers, with m3's instances as LXD reports them (status Error, location m3);
 *   - an Operation.wait for work on m3 ends with a typed error naming m3, through events and /wait;
 *   - once m3 is back, listing shows its container running again, creates on m3 work, and an events
 *     subscription opened before the kill carries m3's events again.
 * The member's pid comes from its own GET /1.0 (never from the process name: the host's LXD runs too).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { hostArch } from '../../lib/container/arch.js';
import { LxdManager, LxdManagerError, LxdManagerErrorCode } from '../../lib/container/lxd/index.js';
import { LxdClient, LxdMemberUnreachableError, isMemberUnreachable, type LxdEvent, type Operation, type OperationData } from '../../lib/lxd/index.js';
import { uniqueSuffix } from '../helpers/lxd-env.js';
import { settle, type Settled } from '../helpers/rejection.js';
import { CLUSTER_IMAGE, clusterScript, closeAll, killMember, memberSocket, removeClusterLeftovers, requireCluster, type Members } from '../helpers/cluster-env.js';

const PREFIX = 'lxdkit-spec-clf-';
const MODEL_TAIL = 'c1fa17';

async function within<T>(ms: number, what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('cluster: a member killed mid-run (SIGKILL) and started again', function () {
  this.timeout(300_000);
  let members: Members;
  /** The clients under test: on m1, with events (the default) and with /wait. */
  let lxd: LxdClient;
  let lxdWait: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}-`;
  const series = `clf${uniqueSuffix()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const model = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
  const events: LxdEvent[] = [];
  let sub: ReturnType<LxdClient['events']['subscribe']> | undefined;
  let killedAt = 0;
  let waitEvents: Promise<Settled<OperationData>>;
  let waitPoll: Promise<Settled<OperationData>>;

  const create = async (client: LxdClient, name: string, target: string, start = false): Promise<OperationData> => {
    const done = await (await client.instances.create({ name, source: { type: 'image', alias: CLUSTER_IMAGE } }, { target })).wait({ timeoutMs: 60_000 });
    if (start) await (await client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });
    return done;
  };
  /** A command that runs for minutes on the container: an operation that stays Running on its member. */
  const longRunning = async (client: LxdClient, name: string): Promise<Operation> =>
    (await client.query('POST', `/1.0/instances/${name}/exec`, { body: { command: ['sleep', '600'], 'wait-for-websocket': false, interactive: false, 'record-output': false } })).operation!;

  before(async function () {
    members = await requireCluster(this);
    await removeClusterLeftovers(members.m1, PREFIX);
    await removeClusterLeftovers(members.m1, `juju-${MODEL_TAIL}-`);
    const target = (await members.m1.images.getAlias(CLUSTER_IMAGE)).value.target;
    await members.m1.images.createAlias({ name: alias, target, description: `${run} (the spec's series)` });
    lxd = new LxdClient({ socketPath: memberSocket('m1') });
    lxdWait = new LxdClient({ socketPath: memberSocket('m1'), useEvents: false });
    await create(lxd, `${run}m3`, 'm3', true);
    await create(lxd, `${run}m2`, 'm2', true);
    sub = lxd.events.subscribe({ types: ['lifecycle'] });
    sub.on('event', (e) => events.push(e));
    await sub.ready;
    const opE = await longRunning(lxd, `${run}m3`);
    const opW = await longRunning(lxdWait, `${run}m3`);
    expect([opE.member, opW.member]).to.deep.equal(['m3', 'm3']);
    waitEvents = settle(opE.wait({ timeoutMs: 240_000 }));
    waitPoll = settle(opW.wait({ timeoutMs: 240_000 }));
    await new Promise((r) => setTimeout(r, 500));
    await killMember('m3');
    killedAt = Date.now();
  });

  after(async function () {
    sub?.close();
    // the cluster goes back to three members whatever happened above
    if (killedAt) await clusterScript('up').catch((err: unknown) => console.error(String(err)));
    if (members) {
      await removeClusterLeftovers(members.m1, run).catch((err: unknown) => console.error(`leftovers: ${String(err)}`));
      await removeClusterLeftovers(members.m1, `juju-${MODEL_TAIL}-`).catch(() => {});
      await members.m1.images.deleteAlias(alias).catch(() => {});
    }
    await lxd?.close();
    await lxdWait?.close();
    await closeAll(members);
  });

  it('a create targeted at the lost member fails at once with a typed error naming it', async () => {
    const t0 = Date.now();
    const err = await create(lxd, `${run}nope`, 'm3').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdMemberUnreachableError);
    expect((err as LxdMemberUnreachableError).member).to.equal('m3');
    expect((err as LxdMemberUnreachableError).address).to.equal('127.0.1.3:8443');
    expect(Date.now() - t0).to.be.below(15_000);
  });

  it("the manager's create in the lost member's zone fails within its deadline, naming the member", async () => {
    const mgr = new LxdManager({ 'model-uuid': model, 'availability-zone': 'm3' }, { client: lxd });
    const statuses: string[] = [];
    const t0 = Date.now();
    const err = await mgr.createContainer({ machineId: '0' }, {}, series, undefined, undefined, (s, info) => statuses.push(`${s}: ${info}`), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(LxdManagerError.is(err, LxdManagerErrorCode.MEMBER_UNREACHABLE), String(err)).to.equal(true);
    expect((err as Error).message).to.match(/^cluster member "m3" \(127\.0\.1\.3:8443\) is unreachable: /);
    expect(statuses.at(-1)).to.match(/^provisioning error: Creating container: cluster member "m3"/);
    expect(Date.now() - t0).to.be.below(60_000);
  });

  it('creates on the other members keep working (client and manager)', async () => {
    expect((await create(lxd, `${run}new-m1`, 'm1')).location).to.equal('m1');
    expect((await create(lxdWait, `${run}new-m2`, 'm2')).location).to.equal('m2');
    const r = await new LxdManager({ 'model-uuid': model, 'availability-zone': 'm2' }, { client: lxd }).createContainer({ machineId: '1' }, {}, series);
    expect(r.instance.location).to.equal('m2');
  });

  it("listing answers, and shows the lost member's instances as LXD reports them", async () => {
    const t0 = Date.now();
    const mine = Object.fromEntries((await lxd.instances.list()).filter((i) => i.name.startsWith(run)).map((i) => [i.name, [i.status, i.location]]));
    expect(Date.now() - t0).to.be.below(10_000);
    expect(mine[`${run}m3`]).to.deep.equal(['Error', 'm3']);
    expect(mine[`${run}m2`]).to.deep.equal(['Running', 'm2']);
    const listed = await new LxdManager({ 'model-uuid': model }, { client: lxd }).listContainers();
    expect(listed.map((i) => [i.id, i.location, i.lxdStatus])).to.deep.equal([[`juju-${MODEL_TAIL}-1`, 'm2', 'Running']]);
    expect((await lxd.cluster.members.list({ recursion: 0 })).sort()).to.deep.equal(['m1', 'm2', 'm3']);
  });

  it('an Operation.wait for work on the lost member ends with a typed error naming it, through events and through /wait', async () => {
    const [ev, poll] = await Promise.all([waitEvents, waitPoll]);
    for (const [how, s] of [['events', ev], ['/wait', poll]] as const) {
      expect(isMemberUnreachable(s.error), `${how}: ${String(s.error ?? s.value?.status)}`).to.equal(true);
      expect((s.error as LxdMemberUnreachableError).member, how).to.equal('m3');
      // far from the wait's own deadline (240 s): the wait noticed the member, it did not time out
      expect(s.at - killedAt, how).to.be.below(30_000);
    }
  });

  it('after the member is started again, the same clients recover: listing, creates on it, and events from it', async function () {
    await clusterScript('up');
    const running = await within(60_000, `${run}m3 listed Running again`, async () => {
      const i = (await lxd.instances.list()).find((x) => x.name === `${run}m3`);
      return i?.status === 'Running' ? i : undefined;
    });
    expect(running.location).to.equal('m3');
    // m1 reconnects its event link to m3 on its next heartbeat; until then LXD still says m3 is unreachable
    const after = await within(60_000, 'a create on m3', async () => create(lxd, `${run}back`, 'm3', true));
    expect(after.location).to.equal('m3');
    await within(30_000, 'an instance-started event from m3 on the subscription opened before the kill', async () =>
      events.some((e) => e.type === 'lifecycle' && e.metadata.action === 'instance-started' && e.metadata.source.includes(`${run}back`) && e.location === 'm3') ? true : undefined,
    );
    const r = await new LxdManager({ 'model-uuid': model, 'availability-zone': 'm3' }, { client: lxd }).createContainer({ machineId: '2' }, {}, series);
    expect(r.instance.location).to.equal('m3');
  });
});
