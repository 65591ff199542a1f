/**
 * LxdManager on the real 3-member cluster: an availability zone that names a member puts the container
 * there (Juju's LXD provider maps zones to members), an explicit target wins, no zone leaves it to
 * LXD; the result says where it landed, which another member confirms; listContainers through any
 * member covers the cluster. The spec's model ends in `c1a5e0`, so a killed run's containers
 * (juju-c1a5e0-*) are found again.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { hostArch } from '../../lib/container/arch.js';
import { LxdManager } from '../../lib/container/lxd/index.js';
import { uniqueSuffix } from '../helpers/lxd-env.js';
import { CLUSTER_IMAGE, MEMBERS, closeAll, removeClusterLeftovers, requireCluster, type Members } from '../helpers/cluster-env.js';

const PREFIX = 'lxdkit-spec-clm-';
const MODEL_TAIL = 'c1a5e0';

describe('cluster: LxdManager on a real 3-member cluster', function () {
  this.timeout(180_000);
  let members: Members;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const series = `clm${uniqueSuffix()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const model = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
  const prefix = `juju-${MODEL_TAIL}-`;

  before(async function () {
    members = await requireCluster(this);
    await removeClusterLeftovers(members.m1, prefix);
    await removeClusterLeftovers(members.m1, PREFIX);
    const target = (await members.m1.images.getAlias(CLUSTER_IMAGE)).value.target;
    await members.m1.images.createAlias({ name: alias, target, description: `${run} (the spec's series)` });
  });

  after(async function () {
    if (!members) return;
    await removeClusterLeftovers(members.m1, prefix).catch(() => {});
    await members.m1.images.deleteAlias(alias).catch(() => {});
    await closeAll(members);
  });

  const manager = (cfg: Record<string, string> = {}, via = members.m1) => new LxdManager({ 'model-uuid': model, ...cfg }, { client: via });

  it("a zone naming a member puts the container on it; the result and another member's read agree", async () => {
    for (const [i, m] of MEMBERS.entries()) {
      const r = await manager({ 'availability-zone': m }).createContainer({ machineId: String(i) }, {}, series);
      expect(r.instance.location, `zone ${m}`).to.equal(m);
      expect(r.hardware.availabilityZone).to.equal(m);
      const seenFrom = MEMBERS.find((x) => x !== 'm1' && x !== m)!;
      const got = (await members[seenFrom].instances.get(r.instance.id)).value;
      expect([got.location, got.status], `${r.instance.id} read through ${seenFrom}`).to.deep.equal([m, 'Running']);
    }
  });

  it('an explicit target wins over the zone; no zone leaves placement to LXD and reports where it went', async () => {
    const explicit = await manager({ 'availability-zone': 'm1' }).createContainer({ machineId: '3' }, {}, series, undefined, undefined, undefined, { target: 'm2' });
    expect(explicit.instance.location).to.equal('m2');
    const free = await manager().createContainer({ machineId: '4' }, {}, series);
    expect(MEMBERS).to.include(free.instance.location);
    expect(free.hardware.availabilityZone).to.equal(free.instance.location);
    expect((await members.m3.instances.get(free.instance.id)).value.location).to.equal(free.instance.location);
  });

  it('listContainers through any member covers the whole cluster, with each container\'s member', async () => {
    const want = { [`${prefix}0`]: 'm1', [`${prefix}1`]: 'm2', [`${prefix}2`]: 'm3', [`${prefix}3`]: 'm2' };
    for (const m of MEMBERS) {
      const listed = await manager({}, members[m]).listContainers();
      const byId = Object.fromEntries(listed.map((i) => [i.id, i.location]));
      for (const [id, where] of Object.entries(want)) expect(byId[id], `${id} listed through ${m}`).to.equal(where);
      expect(listed).to.have.length(5);
      for (const i of listed) expect(i.lxdStatus).to.equal('Running');
    }
  });

  it('destroys every container through a member other than the one that made it', async () => {
    const mgr = manager({}, members.m3);
    for (const i of await mgr.listContainers()) await mgr.destroyContainer(i.id);
    expect(await manager({}, members.m2).listContainers()).to.deep.equal([]);
  });
});
