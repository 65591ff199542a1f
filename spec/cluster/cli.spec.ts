/**
 * The built lxdkit command (dist/cli/main.js) against the real 3-member cluster: `cluster members`,
 * `status` with the members, `--target` placing a container, and `demo --cluster` spreading a model
 * over the members. The spec's model ends in `c1c11e` (containers juju-c1c11e-*).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { hostArch } from '../../lib/container/arch.js';
import { ensureBuilt, lxdkit } from '../helpers/cli.js';
import { uniqueSuffix } from '../helpers/lxd-env.js';
import { CLUSTER_IMAGE, MEMBERS, closeAll, memberSocket, removeClusterLeftovers, requireCluster, type Members } from '../helpers/cluster-env.js';

const MODEL_TAIL = 'c1c11e';

describe('cluster: the lxdkit command on a real 3-member cluster', function () {
  this.timeout(180_000);
  let members: Members;
  const m1 = ['--socket', memberSocket('m1')];
  const series = `clc${uniqueSuffix()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const model = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;

  before(async function () {
    members = await requireCluster(this);
    ensureBuilt();
    await removeClusterLeftovers(members.m1, `juju-${MODEL_TAIL}-`);
    // a demo killed half-way leaves its containers (juju-<random>-N) and its alias behind
    for (const i of await members.m1.instances.list()) {
      if (/^juju-[0-9a-f]{6}-\d+$/.test(i.name) && (i.config['user.juju-model'] ?? '') !== '') await removeClusterLeftovers(members.m1, i.name);
    }
    const target = (await members.m1.images.getAlias(CLUSTER_IMAGE)).value.target;
    await members.m1.images.createAlias({ name: alias, target, description: `lxdkit-spec-clc (the spec's series)` });
  });

  after(async function () {
    if (!members) return;
    await removeClusterLeftovers(members.m1, `juju-${MODEL_TAIL}-`).catch(() => {});
    await members.m1.images.deleteAlias(alias).catch(() => {});
    await closeAll(members);
  });

  it('cluster members --json: every member with its name, status and url; the table for people too', async () => {
    const r = await lxdkit(['cluster', 'members', '--json', ...m1]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { name: string; status: string; url: string }[];
    expect(out.map((m) => [m.name, m.status, m.url]).sort()).to.deep.equal(MEMBERS.map((m, i) => [m, 'Online', `https://127.0.1.${i + 1}:8443`]));
    const human = await lxdkit(['cluster', 'members', '--socket', memberSocket('m2')]);
    for (const m of MEMBERS) expect(human.stdout).to.match(new RegExp(`^${m}\\s+Online\\s+https://127\\.0\\.1\\.${m.slice(1)}:8443`, 'm'));
  });

  it('status shows the members and their state', async () => {
    const r = await lxdkit(['status', '--json', ...m1]);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout) as { server: { name: string }; cluster?: { members: { name: string; status: string }[] } };
    expect(s.server.name).to.equal('m1');
    expect(s.cluster?.members.map((m) => [m.name, m.status]).sort()).to.deep.equal(MEMBERS.map((m) => [m, 'Online']));
    expect((await lxdkit(['status', ...m1])).stdout).to.contain('Cluster members:');
    // --target: that member's own view of the server
    expect((JSON.parse((await lxdkit(['status', '--json', '--target', 'm3', ...m1])).stdout) as { server: { name: string } }).server.name).to.equal('m3');
  });

  it('--target places the container; create and list say where it runs; destroy through another member', async () => {
    const c = await lxdkit(['container', 'create', '--model', model, '--machine', '0', '--series', series, '--json', '--target', 'm2', ...m1]);
    expect(c.code, c.stderr).to.equal(0);
    const created = JSON.parse(c.stdout) as { name: string; location: string; hardware: { availabilityZone: string } };
    expect([created.location, created.hardware.availabilityZone]).to.deep.equal(['m2', 'm2']);
    expect((await members.m3.instances.get(created.name)).value.location).to.equal('m2');
    const l = await lxdkit(['container', 'list', '--model', model, '--json', '--socket', memberSocket('m3')]);
    expect((JSON.parse(l.stdout) as { name: string; location: string }[]).map((x) => [x.name, x.location])).to.deep.equal([[created.name, 'm2']]);
    expect((await lxdkit(['container', 'list', '--model', model, ...m1])).stdout).to.match(/MEMBER/);
    const d = await lxdkit(['container', 'destroy', created.name, '--socket', memberSocket('m3')]);
    expect(d.code, d.stderr).to.equal(0);
  });

  it('demo --cluster spreads the containers over the members, shows where each runs, and leaves nothing', async () => {
    const r = await lxdkit(['demo', '--cluster', '--count', '3', '--json', ...m1]);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout) as { zones: string[]; landed: Record<string, string>; listed: { name: string; location: string }[]; destroyed: string[]; created: string[]; bridge: string; aliasCreated: boolean };
    expect(s.bridge).to.equal('lxdkitcbr0');
    expect([...s.zones].sort()).to.deep.equal([...MEMBERS]);
    expect(Object.values(s.landed).sort()).to.deep.equal([...MEMBERS]);
    expect(s.listed.map((x) => x.location).sort()).to.deep.equal([...MEMBERS]);
    expect(s.destroyed.sort()).to.deep.equal(s.created.sort());
    const left = (await members.m2.instances.list()).filter((i) => s.created.includes(i.name));
    expect(left).to.deep.equal([]);
    const human = await lxdkit(['demo', '--cluster', '--count', '2', '--no-progress', ...m1]);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout).to.match(/cluster members \(availability zones\): m\d, m\d, m\d/);
    expect(human.stdout).to.match(/created juju-[0-9a-f]{6}-0 on m\d/);
    expect(human.stdout).to.match(/NAME\s+STATUS\s+MEMBER\s+PROFILES/);
  });
});
