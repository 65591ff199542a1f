/**
 * The container core without a daemon: names, directories, NIC devices, constraints, cloud-init
 * and charm profile names. Run: npx tsx docs/examples/container-core.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudInitNetworkConfigDisabled,
  ManagerConfig,
  Namespace,
  applyLxdConstraints,
  bridgeNetworkConfig,
  cloudInitUserData,
  devicesFromInterfaceInfo,
  newDirectory,
  newInterfaceInfo,
  removeDirectory,
} from 'lxdkit';
import { lxdProfileNames, profileName, validateProfile } from 'lxdkit';

const cfg = new ManagerConfig({ 'model-uuid': 'f47ac10b-58cc-4372-a567-0e02b2c3d479' });
const ns = new Namespace(cfg.popValue('model-uuid'));
const name = ns.hostname('0/lxd/1');

const eth0 = newInterfaceInfo({
  interfaceName: 'eth0',
  interfaceType: 'ethernet',
  parentInterfaceName: 'lxdbr0',
  macAddress: '00:16:3e:00:00:01',
  configType: 'dhcp',
});
const net = bridgeNetworkConfig('lxdbr0', 0, [eth0]);
const { devices } = devicesFromInterfaceInfo(net.interfaces);
const spec = applyLxdConstraints('5.0.2', { cores: 2, mem: 2048 }, {
  config: {
    'user.user-data': cloudInitUserData({ machineId: '0/lxd/1' }, net),
    'user.network-config': CloudInitNetworkConfigDisabled,
  },
  devices,
});
console.log(name, Object.keys(spec.devices ?? {}), spec.config['limits.memory']);

const charmProfile = profileName('default', 'mysql', 12);
validateProfile({ config: {}, description: '', devices: { kvm: { type: 'unix-char', path: '/dev/kvm' } } });
console.log(lxdProfileNames(['default', charmProfile]));

const root = await mkdtemp(join(tmpdir(), 'lxdkit-example-'));
try {
  const dirs = { containerDir: join(root, 'containers'), removedContainerDir: join(root, 'removed') };
  await newDirectory(name, dirs);
  console.log(await removeDirectory(name, dirs));
} finally {
  await rm(root, { recursive: true, force: true });
}
