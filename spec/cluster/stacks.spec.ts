/**
 * Stacks on the real 3-member cluster: a storage pool is created pending on each member, then
 * globally, plans to nothing afterwards, and prune removes it. (A managed bridge would be one kernel
 * device claimed by the three members that share this host: networks on a cluster are specified on
 * the simulated server only, spec/unit/stacks/network-kinds.spec.ts.) Names `lxdkit-spec-stk2-<random>`.
 */
import { expect } from 'chai';
import type { LxdClient } from '../../lib/lxd/index.js';
import { apply, parseStackText, mergeStacks, plan, STACK_MARKER } from '../../lib/stacks/index.js';
import { uniqueSuffix } from '../helpers/lxd-env.js';
import { MEMBERS, closeAll, requireCluster, type Members } from '../helpers/cluster-env.js';

const PREFIX = 'lxdkit-spec-stk2-';
const stackOf = (text: string) => mergeStacks([parseStackText(text, 'stack.yaml')]);

async function removePools(client: LxdClient): Promise<void> {
  for (const p of await client.storagePools.list({ recursion: 0 })) if (p.startsWith(PREFIX)) await client.storagePools.delete(p);
}

describe('cluster: stacks create pools pending on each member, then globally', function () {
  this.timeout(180_000);
  let members: Members;
  const pool = `${PREFIX}${uniqueSuffix()}`;
  const text = `name: ${pool}\nstorage_pools:\n  - name: ${pool}\n    driver: dir\n    description: stack pool\n    config: { rsync.bwlimit: "10" }\n`;

  before(async function () {
    members = await requireCluster(this);
    await removePools(members.m1);
  });
  after(async function () {
    if (!members) return;
    await removePools(members.m1).catch(() => {});
    await closeAll(members);
  });

  it('apply makes the pool on every member, a second plan finds nothing, prune deletes it', async () => {
    const first = await plan(stackOf(text), members.m2);
    expect(first.steps.map((s) => `${s.action} ${s.id}`)).to.deep.equal([`create storage_pools:${pool}`]);
    await apply(first, members.m2);
    const { value } = await members.m1.storagePools.get(pool);
    expect(value.status).to.equal('Created');
    expect(value.config).to.include({ 'rsync.bwlimit': '10', [STACK_MARKER]: pool });
    for (const m of MEMBERS) {
      const mine = (await members[m].storagePools.get(pool, { target: m })).value;
      expect(mine.config['source'], m).to.contain(`/var/lib/lxdkit-cluster/${m}/`);
    }
    expect((await plan(stackOf(text), members.m3)).changed).to.equal(false);
    const pruned = await plan(stackOf(`name: ${pool}\n`), members.m1, { prune: true });
    expect(pruned.steps.map((s) => `${s.action} ${s.id}`)).to.deep.equal([`delete storage_pools:${pool}`]);
    await apply(pruned, members.m1);
    expect(await members.m1.storagePools.list({ recursion: 0 })).to.not.include(pool);
  });

  it('a pool left pending on some members by an interrupted apply is planned as a create, and the next apply finishes it', async () => {
    await members.m1.storagePools.create({ name: pool, driver: 'dir', config: {} }, { target: 'm1' });
    expect((await members.m1.storagePools.get(pool)).value.status).to.equal('Pending');
    const p = await plan(stackOf(text), members.m1);
    expect(p.steps.map((s) => `${s.action} ${s.id}`)).to.deep.equal([`create storage_pools:${pool}`]);
    await apply(p, members.m1);
    expect((await members.m1.storagePools.get(pool)).value.status).to.equal('Created');
    expect((await plan(stackOf(text), members.m1)).changed).to.equal(false);
  });
});
