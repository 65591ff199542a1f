/**
 * The client on the real 3-member cluster (scripts/cluster.sh): the cluster resource, placement with
 * `target` on each member (checked by reading `location` through another member), cluster-wide
 * listing, operations of other members waited on through the member the client talks to, and events
 * from every member on one subscription. Everything is named `lxdkit-spec-cl-<run>-*` and removed.
 */
import { expect } from 'chai';
import {
  LxdClient,
  LxdExtensionMissingError,
  clusterMemberWritable,
  isNotFound,
  type LifecycleEvent,
  type LxdEvent,
} from '../../lib/lxd/index.js';
import { uniqueSuffix } from '../helpers/lxd-env.js';
import { CLUSTER_IMAGE, MEMBERS, closeAll, memberSocket, removeClusterLeftovers, requireCluster, type Members } from '../helpers/cluster-env.js';

const PREFIX = 'lxdkit-spec-cl-';

describe('cluster: the client on a real 3-member cluster', function () {
  this.timeout(180_000);
  let members: Members;
  const run = `${PREFIX}${uniqueSuffix()}-`;
  const made = new Set<string>();

  before(async function () {
    members = await requireCluster(this);
    await removeClusterLeftovers(members.m1, PREFIX);
  });

  after(async function () {
    if (!members) return;
    for (const g of await members.m1.cluster.groups.list({ recursion: 0 }).catch(() => [] as string[])) {
      if (!g.startsWith(PREFIX)) continue;
      await members.m1.cluster.groups.update(g, { members: [] }).catch(() => {});
      await members.m1.cluster.groups.delete(g).catch(() => {});
    }
    for (const t of await members.m1.cluster.joinTokens.list().catch(() => [])) {
      if (t.serverName.startsWith(PREFIX)) await members.m1.cluster.joinTokens.revoke(t.serverName).catch(() => {});
    }
    await removeClusterLeftovers(members.m1, run).catch(() => {});
    await closeAll(members);
  });

  /** Creates (not starts) a container, through `via`, optionally targeted. */
  async function create(via: LxdClient, name: string, target?: string): Promise<string | undefined> {
    made.add(name);
    const op = await via.instances.create({ name, source: { type: 'image', alias: CLUSTER_IMAGE } }, target === undefined ? {} : { target });
    return (await op.wait({ timeoutMs: 120_000 })).location;
  }

  describe('the cluster resource', () => {
    it('every member answers for the cluster, and lists the same three members ONLINE', async () => {
      for (const m of MEMBERS) {
        const { value } = await members[m].cluster.get();
        expect(value.enabled, m).to.equal(true);
        expect(value.server_name, m).to.equal(m);
        const listed = await members[m].cluster.members.list();
        expect(listed.map((x) => [x.server_name, x.status, x.url]).sort(), m).to.deep.equal(MEMBERS.map((n, i) => [n, 'Online', `https://127.0.1.${i + 1}:8443`]));
      }
      expect((await members.m2.cluster.members.list({ recursion: 0 })).sort()).to.deep.equal([...MEMBERS]);
    });

    it('a member edited through one member (with its ETag) reads back changed through another', async () => {
      const before = await members.m1.cluster.members.get('m2');
      expect(before.etag).to.be.a('string');
      await members.m1.cluster.members.patch('m2', { description: `${run}second` });
      try {
        const after = (await members.m3.cluster.members.get('m2')).value;
        expect(after.description).to.equal(`${run}second`);
        expect(after.roles).to.deep.equal(before.value.roles);
        expect(after.groups).to.deep.equal(before.value.groups);
      } finally {
        const cur = await members.m1.cluster.members.get('m2');
        await members.m1.cluster.members.update('m2', { ...clusterMemberWritable(cur.value), description: before.value.description }, { etag: cur.etag });
      }
    });

    it('member state needs an extension LXD 5.0.2 lacks: a typed error', async () => {
      const err = await members.m1.cluster.members.state('m1').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdExtensionMissingError);
    });

    it('cluster groups: create, read through another member, update, rename, delete; a group is a placement target', async () => {
      const g = `${run}g`;
      await members.m1.cluster.groups.create({ name: g, description: 'spec group', members: ['m3'] });
      expect((await members.m2.cluster.groups.get(g)).value.members).to.deep.equal(['m3']);
      const where = await create(members.m2, `${run}grp`, `@${g}`);
      expect(where).to.equal('m3');
      await members.m1.cluster.groups.update(g, { description: 'spec group', members: ['m2', 'm3'] });
      expect((await members.m3.cluster.groups.get(g)).value.members.sort()).to.deep.equal(['m2', 'm3']);
      await members.m1.cluster.groups.rename(g, `${g}2`);
      expect(await members.m1.cluster.groups.list({ recursion: 0 })).to.include(`${g}2`).and.not.include(g);
      // LXD removes only empty groups
      await members.m1.cluster.groups.patch(`${g}2`, { members: [] });
      await members.m1.cluster.groups.delete(`${g}2`);
      expect(isNotFound(await members.m1.cluster.groups.get(`${g}2`).catch((e: unknown) => e))).to.equal(true);
    });

    it('join tokens: created, listed, decodable as lxc makes them, revoked', async () => {
      const name = `${run}new`;
      const t = await members.m1.cluster.joinTokens.create(name);
      const decoded = JSON.parse(Buffer.from(t.token, 'base64').toString('utf8')) as { server_name: string; addresses: string[]; fingerprint: string };
      expect(decoded.server_name).to.equal(name);
      expect(decoded.addresses).to.include.members(['127.0.1.1:8443', '127.0.1.2:8443', '127.0.1.3:8443']);
      expect(decoded.fingerprint).to.equal(t.fingerprint).and.match(/^[0-9a-f]{64}$/);
      expect((await members.m2.cluster.joinTokens.list()).map((x) => x.serverName)).to.include(name);
      await members.m1.cluster.joinTokens.revoke(name);
      expect((await members.m1.cluster.joinTokens.list()).map((x) => x.serverName)).to.not.include(name);
    });

    it('evacuate and restore a member (operations), seen through another member', async () => {
      await (await members.m1.cluster.members.evacuate('m3')).wait({ timeoutMs: 120_000 });
      try {
        expect((await members.m2.cluster.members.get('m3')).value.status).to.equal('Evacuated');
      } finally {
        await (await members.m1.cluster.members.restore('m3')).wait({ timeoutMs: 120_000 });
      }
      expect((await members.m2.cluster.members.get('m3')).value.status).to.equal('Online');
    });
  });

  describe('placement and listing', () => {
    it('target places an instance on each member; another member reads its location', async () => {
      for (const m of MEMBERS) {
        const name = `${run}on-${m}`;
        expect(await create(members.m1, name, m), name).to.equal(m);
        // read back through a member other than the one the client used and the one it landed on
        const other = MEMBERS.find((x) => x !== 'm1' && x !== m)!;
        expect((await members[other].instances.get(name)).value.location, `${name} read through ${other}`).to.equal(m);
      }
    });

    it('withTarget: a view of the client whose creates go to that member, and whose server is that member', async () => {
      const m3 = members.m1.withTarget('m3');
      expect(await create(m3, `${run}via-view`)).to.equal('m3');
      expect((await m3.server.info()).environment?.server_name).to.equal('m3');
      expect((await members.m1.server.get({ target: 'm2' })).value.environment?.server_name).to.equal('m2');
      expect((await members.m1.server.info()).environment?.server_name).to.equal('m1');
      await m3.close();
      // the view shares the parent's connections: the parent still works
      expect((await members.m1.instances.get(`${run}via-view`)).value.location).to.equal('m3');
    });

    it('without a target LXD picks the member, and the instance says which', async () => {
      const where = await create(members.m2, `${run}anywhere`);
      expect(MEMBERS).to.include(where);
      expect((await members.m3.instances.get(`${run}anywhere`)).value.location).to.equal(where);
    });

    it('listing through any one member covers the whole cluster, each instance with its location', async () => {
      for (const m of MEMBERS) {
        const mine = (await members[m].instances.list()).filter((i) => i.name.startsWith(run));
        const byName = Object.fromEntries(mine.map((i) => [i.name, i.location]));
        for (const on of MEMBERS) expect(byName[`${run}on-${on}`], `${m} lists ${run}on-${on}`).to.equal(on);
      }
    });
  });

  describe('operations and events across members', () => {
    it('an operation running on another member is waited on through the member the client talks to (events and /wait)', async () => {
      for (const useEvents of [true, false]) {
        const client = new LxdClient({ socketPath: memberSocket('m1'), useEvents });
        try {
          const name = `${run}op-${useEvents ? 'ev' : 'wait'}`;
          made.add(name);
          const op = await client.instances.create({ name, source: { type: 'image', alias: CLUSTER_IMAGE } }, { target: 'm3' });
          expect(op.member).to.equal('m3');
          const done = await op.wait({ timeoutMs: 120_000 });
          expect(done.status, `useEvents ${useEvents}`).to.equal('Success');
          expect(done.location).to.equal('m3');
          const start = await client.instances.setState(name, { action: 'start' });
          expect((await start.wait({ timeoutMs: 60_000 })).location).to.equal('m3');
        } finally {
          await client.close();
        }
      }
    });

    it("one subscription on m1 gets every member's events, each with its location", async () => {
      const sub = members.m1.events.subscribe({ types: ['lifecycle'] });
      const started = new Map<string, string | undefined>();
      const names = MEMBERS.map((m) => `${run}on-${m}`);
      sub.on('event', (e: LxdEvent) => {
        if (e.type !== 'lifecycle' || e.metadata.action !== 'instance-started') return;
        const name = (e as LifecycleEvent).metadata.source.split('/').pop()!.split('?')[0]!;
        if (names.includes(name)) started.set(name, e.location);
      });
      try {
        await sub.ready;
        // each started through the member it runs on, so the event is born there
        for (const m of MEMBERS) await (await members[m].instances.setState(`${run}on-${m}`, { action: 'start' })).wait({ timeoutMs: 60_000 });
        for (const until = Date.now() + 10_000; started.size < names.length && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
        expect(Object.fromEntries(started)).to.deep.equal(Object.fromEntries(MEMBERS.map((m) => [`${run}on-${m}`, m])));
      } finally {
        sub.close();
      }
    });
  });

  describe('clean-up', () => {
    it('removes what it made, through any member', async () => {
      let i = 0;
      for (const name of made) {
        const via = members[MEMBERS[i++ % 3]!];
        const inst = await via.instances.get(name).catch(() => undefined);
        if (!inst) continue;
        if (inst.value.status_code !== 102) await (await via.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
        await (await via.instances.delete(name)).wait({ timeoutMs: 60_000 });
      }
      expect((await members.m2.instances.list()).filter((x) => x.name.startsWith(run))).to.deep.equal([]);
    });
  });
});
