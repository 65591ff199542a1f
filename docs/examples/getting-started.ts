/**
 * Getting started: ask LXD about itself, then create, list and destroy one container of a model
 * with LxdManager. Needs a running LXD prepared by scripts/provision-host.sh (the `lxdkit/busybox`
 * image and the address-less bridge `lxdkitbr0`).
 * Run: npx tsx docs/examples/getting-started.ts
 */
import { randomUUID } from 'node:crypto';
import { LxdClient, LxdManager, hostArch, isNotFound, localImageAlias, type NetworkConfig } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const bridge = process.env['LXDKIT_TEST_BRIDGE'] ?? 'lxdkitbr0';

const lxd = new LxdClient();
const { value: server } = await lxd.server.get();
console.log(`LXD ${server.environment?.server_version} with ${server.api_extensions.length} API extensions`);

// The manager finds the image for a series through the local alias juju/<series>/<arch>.
const series = `example${randomUUID().slice(0, 6)}`;
const alias = localImageAlias(series, hostArch());
const { value: busybox } = await lxd.images.getAlias(image);
await lxd.images.createAlias({ name: alias, target: busybox.target });

const manager = new LxdManager({ 'model-uuid': randomUUID() }, { client: lxd, ensureDefaultBridgeIPv4: false });
const network: NetworkConfig = { networkType: 'bridge', device: bridge, mtu: 0, interfaces: [] };
try {
  const { instance } = await manager.createContainer({ machineId: '0' }, { mem: 256 }, series, network, undefined, (status, info) =>
    console.log(`  ${status}: ${info}`),
  );
  console.log(`created ${String(instance)}: ${(await instance.status()).message}`);
  console.log('model containers:', (await manager.listContainers()).map((c) => c.id));
  await manager.destroyContainer(instance.id);
  console.log(`destroyed ${instance.id}`);
} finally {
  await lxd.images.deleteAlias(alias).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
  await lxd.close();
}
