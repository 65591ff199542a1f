/**
 * LxdManager and LxdInitialiser (docs/manager.md): create one container of a model from a local
 * image on the address-less bridge `lxdkitbr0`, print the status callbacks, list the model's
 * containers, destroy it; drive a manager through the `Manager` interface; then let the initialiser
 * prepare a profile of its own on a new address-less bridge. Everything made here is removed.
 * Needs a running LXD prepared by scripts/provision-host.sh (`lxdkit/busybox`, `lxdkitbr0`).
 * Run: npx tsx docs/examples/manager.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LxdClient, LxdInitialiser, LxdManager, bridgeNetworkConfig, generateVirtualMacAddress, hostArch, isNotFound, localImageAlias, newInterfaceInfo } from 'lxdkit';
import type { Manager, StatusCallback } from 'lxdkit';

const ignoreNotFound = (err: unknown): void => {
  if (!isNotFound(err)) throw err;
};

const client = new LxdClient();
// The manager looks for the local alias juju/<series>/<arch> first; point one at a test image.
const series = `doc${randomBytes(3).toString('hex')}`; // a run-unique series: no one else uses its alias
const alias = localImageAlias(series, hostArch()); // juju/<series>/amd64
const busybox = (await client.images.getAlias('lxdkit/busybox')).value.target;
await client.images.createAlias({ name: alias, target: busybox });

const suffix = randomBytes(3).toString('hex');
const profile = `lxdkit-example-init-${suffix}`;
const bridge = `lxdkdoc${suffix}`;
try {
  const mgr = new LxdManager({ 'model-uuid': randomUUID(), 'availability-zone': 'zone-1' }, { client, ensureDefaultBridgeIPv4: false });
  const eth0 = newInterfaceInfo({
    interfaceName: 'eth0', interfaceType: 'ethernet', configType: 'dhcp',
    parentInterfaceName: 'lxdkitbr0', macAddress: generateVirtualMacAddress(), mtu: 1500,
  });
  const { instance, hardware } = await mgr.createContainer(
    { machineId: '0/lxd/0', profiles: ['default'] },
    { cores: 1, mem: 256 },                       // MiB, as in Juju
    series,
    bridgeNetworkConfig('lxdkitbr0', 0, [eth0]),
    undefined,
    (status, info) => console.log(status, info),
  );
  try {
    console.log(String(instance), hardware);        // lxd:juju-xxxxxx-0-lxd-0 { availabilityZone: 'zone-1' }
    console.log((await mgr.listContainers()).map((c) => c.id));
  } finally {
    await mgr.destroyContainer(instance.id);
  }

  // Any Manager (LxdManager, KvmManager, your own) through the interface.
  const report: StatusCallback = (status, info) => console.log(status, info); // 'allocating', 'Creating container spec'
  async function start(manager: Manager, series: string) {
    return manager.createContainer({ machineId: '0/lxd/1' }, { cores: 2, mem: 2048 }, series, undefined, undefined, report);
  }
  const other = await start(mgr, series);
  console.log(`${other.instance.id}: ${(await other.instance.status()).message}`);
  await mgr.destroyContainer(other.instance.id);
  console.log('model containers left:', (await mgr.listContainers()).length);

  // The initialiser, on a profile of its own: a root disk, and a NIC on a new bridge without addresses.
  await client.profiles.create({ name: profile, description: 'lxdkit docs example (removed at the end)' });
  const init = new LxdInitialiser({ client, profile, bridgeName: bridge, bridgeConfig: { 'ipv4.address': 'none', 'ipv6.address': 'none' } });
  await init.initialise();
  const { value: prepared } = await client.profiles.get(profile);
  console.log(`profile ${profile} on bridge ${init.localBridgeName}: devices ${Object.keys(prepared.devices).sort().join(', ')}`);
} finally {
  await client.profiles.delete(profile).catch(ignoreNotFound);
  await client.networks.delete(bridge).catch(ignoreNotFound);
  await client.images.deleteAlias(alias).catch(ignoreNotFound);
  await client.close();
}
