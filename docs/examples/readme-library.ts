/**
 * README.md's "The library": start an existing container through the client, then create and
 * destroy a container of a model with LxdManager. The container to start and the image alias the
 * manager needs (juju/<series>/<arch>, for a run-unique series) are made here from `lxdkit/busybox`
 * and removed at the end. Needs a running LXD prepared by scripts/provision-host.sh.
 * Run: npx tsx docs/examples/readme-library.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LxdClient, LxdManager, bridgeNetworkConfig, newInterfaceInfo } from 'lxdkit';
import { hostArch, isNotFound, localImageAlias } from 'lxdkit';

const ignoreNotFound = (err: unknown): void => {
  if (!isNotFound(err)) throw err;
};
const suffix = randomBytes(3).toString('hex');
const name = `lxdkit-example-readme-${suffix}`;
const series = `doc${suffix}`;
const alias = localImageAlias(series, hostArch());

// A typed LXD client: operations wait through the events websocket, errors have stable codes.
const lxd = new LxdClient();                         // the local socket, found as LXD's Go client finds it
const { value: busybox } = await lxd.images.getAlias('lxdkit/busybox');
await (await lxd.instances.create({ name, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait({ timeoutMs: 120_000 });
await lxd.images.createAlias({ name: alias, target: busybox.target });
try {
  const op = await lxd.instances.setState(name, { action: 'start' }); // an existing container
  await op.wait({ timeoutMs: 60_000 });                // LxdOperationError carries LXD's own text
  console.log(`${name}: ${(await lxd.instances.state(name)).value.status}`);

  // Juju's container manager on top of it.
  const manager = new LxdManager({ 'model-uuid': randomUUID() }, { client: lxd });
  const { instance } = await manager.createContainer(
    { machineId: '0', profiles: ['default'] }, { mem: 512 }, series, // the image: the local alias juju/<series>/<arch>
    bridgeNetworkConfig('lxdkitbr0', 0, [newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', parentInterfaceName: 'lxdkitbr0', configType: 'dhcp' })]),
    undefined,
    (status, info) => console.log(status, info),
  );
  console.log(String(instance));                       // lxd:juju-<last 6 of the model UUID>-0, as Juju names it
  await manager.destroyContainer(instance.id);
} finally {
  await lxd.instances.setState(name, { action: 'stop', force: true }).then((op) => op.wait({ timeoutMs: 60_000 })).catch(() => {});
  await lxd.instances.delete(name).then((op) => op.wait({ timeoutMs: 60_000 })).catch(ignoreNotFound);
  await lxd.images.deleteAlias(alias).catch(ignoreNotFound);
  await lxd.close();
}
