/**
 * Clusters (docs/cluster.md): the members of an LXD cluster, containers placed on members with
 * `target` and `withTarget`, events of every member on one subscription, and LxdManager placing a
 * model's machines by availability zone. Everything made here is removed.
 * Needs the test cluster (scripts/cluster.sh up): it talks to member m1's socket.
 * Run: npx tsx docs/examples/cluster.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LxdClient, LxdManager, hostArch, isMemberUnreachable, isNotFound, localImageAlias } from 'lxdkit';

const socketPath = process.env['LXDKIT_CLUSTER_M1_SOCKET'] ?? '/var/lib/lxdkit-cluster/m1/unix.socket';
const lxd = new LxdClient({ socketPath }); // any member answers for the whole cluster

const run = `lxdkit-example-cl-${randomBytes(3).toString('hex')}`;
const made: string[] = [];
const series = `doccl${randomBytes(3).toString('hex')}`;
const alias = localImageAlias(series, hostArch());
try {
  // The cluster and its members.
  const { value: cluster } = await lxd.cluster.get();
  console.log(`cluster member ${cluster.server_name} answers`);
  for (const m of await lxd.cluster.members.list()) console.log(`${m.server_name} ${m.status} ${m.url}`);

  // Events of every member arrive on one subscription, each with its location.
  const sub = lxd.events.subscribe({ types: ['lifecycle'] });
  sub.on('event', (e) => {
    if (e.type === 'lifecycle') console.log(`event from ${e.location}: ${e.metadata.action} ${e.metadata.source}`);
  });
  await sub.ready;

  // Placement: `target` on the call, or a client whose calls all go to one member.
  const op = await lxd.instances.create({ name: `${run}-a`, source: { type: 'image', alias: 'lxdkit/busybox' } }, { target: 'm2' });
  made.push(`${run}-a`);
  console.log(`${run}-a is on ${(await op.wait({ timeoutMs: 60_000 })).location}`); // m2
  const m3 = lxd.withTarget('m3');
  await (await m3.instances.create({ name: `${run}-b`, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait({ timeoutMs: 60_000 });
  made.push(`${run}-b`);
  console.log(`${run}-b is on ${(await lxd.instances.get(`${run}-b`)).value.location}`); // m3

  // Juju's zones are cluster members: a manager in zone m3 creates its containers on m3.
  const busybox = (await lxd.images.getAlias('lxdkit/busybox')).value.target;
  await lxd.images.createAlias({ name: alias, target: busybox });
  const manager = new LxdManager({ 'model-uuid': randomUUID(), 'availability-zone': 'm3' }, { client: lxd });
  const { instance, hardware } = await manager.createContainer({ machineId: '0' }, {}, series);
  made.push(instance.id);
  console.log(`${instance.id} runs on ${instance.location}; availability zone ${hardware.availabilityZone}`);
  for (const c of await manager.listContainers()) console.log(`${c.id}: ${c.lxdStatus} on ${c.location}`);

  // A member that cannot be reached is a typed error naming it.
  try {
    made.push(`${run}-c`);
    await (await lxd.instances.create({ name: `${run}-c`, source: { type: 'image', alias: 'lxdkit/busybox' } }, { target: 'm3' })).wait({ timeoutMs: 60_000 });
  } catch (err) {
    if (isMemberUnreachable(err)) console.log(`member ${err.member} is down; try another`);
    else throw err;
  }
  sub.close();
} finally {
  for (const name of made) {
    const inst = await lxd.instances.get(name).catch(() => undefined);
    if (!inst) continue;
    if (inst.value.status_code !== 102) await (await lxd.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
    await (await lxd.instances.delete(name)).wait({ timeoutMs: 60_000 });
  }
  await lxd.images.deleteAlias(alias).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
  await lxd.close();
}
