/**
 * Every snippet of docs/container.md, in the page's order: error codes, constants, directories,
 * ManagerConfig, interfaces, Namespace, the shared helpers, cloud-init and lxdprofile. The values
 * the page states are checked with node:assert, so the page cannot drift from the code. No daemon
 * needed. Run: npx tsx docs/examples/container-reference.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Imported as the page's snippets show them.
import { ContainerError, ContainerErrorCode, Namespace } from 'lxdkit';
import { ConfigModelUUID, ManagerConfig } from 'lxdkit';
import {
  CloudInitNetworkConfigDisabled,
  annotateErrorStatus,
  applyLxdConstraints,
  bridgeNetworkConfig,
  cloudInitUserData,
  containersSupported,
  devicesFromInterfaceInfo,
  fallbackInterfaceInfo,
  generateVirtualMacAddress,
  hostArch,
  interfaceInfoFromDevices,
  isEmptyProfile,
  lxdProfileNames,
  matchProfileNameByAppName,
  newDirectory,
  newInterfaceInfo,
  newNicDevice,
  normaliseArch,
  parseConstraintsToStartParams,
  profileName,
  profileReplaceRevision,
  profileRevision,
  removeDirectory,
  upgradeStatusTerminal,
  validateCreateArgs,
  validateProfile,
  type Logger,
  type ProfilePost,
} from 'lxdkit';

/** A pino-compatible logger that prints `LEVEL message` lines, so the page's log lines show. */
function consoleLogger(): Logger {
  const at =
    (level: string) =>
    (a: string | Record<string, unknown>, b?: string): void =>
      console.log(`  ${level} ${typeof a === 'string' ? a : (b ?? '')}`);
  const logger: Logger = { trace: at('TRACE'), debug: at('DEBUG'), info: at('INFO'), warn: at('WARNING'), error: at('ERROR'), child: () => logger };
  return logger;
}
const logger = consoleLogger();

// Errors: stable codes, Juju's texts.
try {
  new Namespace('foo');
} catch (err) {
  if (ContainerError.is(err, ContainerErrorCode.NOT_VALID)) console.error(err.message); // model ID "foo" is not a valid model
}

// Constants.
{
  const cfg = new ManagerConfig({ [ConfigModelUUID]: 'f47ac10b-58cc-4372-a567-0e02b2c3d479' });
  assert.equal(cfg.get(ConfigModelUUID), 'f47ac10b-58cc-4372-a567-0e02b2c3d479');
}

// Directories, under a temp root.
const root = await mkdtemp(join(tmpdir(), 'lxdkit-example-dirs-'));
try {
  const dir = await newDirectory('juju-06f00d-0', { containerDir: join(root, 'containers') });
  assert.equal(dir, join(root, 'containers', 'juju-06f00d-0'));

  const dirs = { containerDir: join(root, 'containers'), removedContainerDir: join(root, 'removed') };
  assert.equal(await removeDirectory('juju-06f00d-0', dirs), join(root, 'removed', 'juju-06f00d-0'));
  await newDirectory('juju-06f00d-0', dirs);
  assert.equal(await removeDirectory('juju-06f00d-0', dirs), join(root, 'removed', 'juju-06f00d-0.1'));
  console.log(`directories: created and removed twice under ${root}`);
} finally {
  await rm(root, { recursive: true, force: true });
}

// ManagerConfig.
{
  const uuid = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
  const cfg = new ManagerConfig({ 'model-uuid': uuid, shazam: 'Captain Marvel' });
  assert.equal(cfg.popValue('model-uuid'), uuid);
  assert.equal(cfg.popValue('model-uuid'), '');
  cfg.warnAboutUnused(logger); // INFO unused config option: "shazam" -> "Captain Marvel"
}

// Network config.
const eth0 = newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', parentInterfaceName: 'lxdbr0', configType: 'dhcp' });
{
  const [eth0] = fallbackInterfaceInfo();
  eth0!.parentInterfaceName = 'lxdbr0';
  assert.deepEqual(eth0, newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', parentInterfaceName: 'lxdbr0', configType: 'dhcp' }));
}
const net = bridgeNetworkConfig('lxdbr0', 0, [eth0]);

// Checking what a JavaScript caller passes.
{
  const args = validateCreateArgs({ instanceConfig: { machineId: '0' }, constraints: { mem: 2048 }, series: 'jammy', network: net });
  assert.deepEqual(args, { instanceConfig: { machineId: '0' }, constraints: { mem: 2048 }, series: 'jammy', network: net });
  const fromJs = JSON.parse('{"networkType": "bridge", "device": "br0", "mtu": 0, "interfaces": [{"interfaceName": 0}]}');
  assert.throws(() => validateCreateArgs({ instanceConfig: { machineId: '0' }, constraints: {}, series: 'jammy', network: fromJs }), {
    code: 'CONTAINER_ERR_NOT_VALID',
    message: 'network.interfaces[0].deviceIndex: expected number, got undefined',
  });
  assert.throws(() => bridgeNetworkConfig('br0', '1500' as unknown as number), { message: 'mtu: expected number, got string' });
}

if (!(await containersSupported())) console.log('this host is itself a container: no nested LXD');
else console.log('containers supported on this host');

// Namespace.
{
  const ns = new Namespace('f47ac10b-58cc-4372-a567-0e02b2c3d479');
  assert.equal(ns.hostname('2/lxd/4'), 'juju-c3d479-2-lxd-4');
  assert.equal(ns.machineTag('juju-c3d479-2-lxd-4').id, '2/lxd/4');
  assert.equal(ns.machineTag('juju-c3d479-2-lxd-4').toString(), 'machine-2-lxd-4');
  console.log(`namespace ${ns.prefix()}*: ${ns.hostname('2/lxd/4')}`);
}

// Arch and MAC addresses.
assert.equal(normaliseArch('x86_64'), 'amd64');
console.log(hostArch()); // 'amd64' on an x86_64 host
console.log(generateVirtualMacAddress()); // e.g. 00:16:3e:5a:0c:f1
assert.equal(generateVirtualMacAddress((n) => new Uint8Array(n)), '00:16:3e:00:00:00');

// NIC devices.
assert.deepEqual(newNicDevice('eth1', 'br-eth1', '', 1492), { type: 'nic', nictype: 'bridged', name: 'eth1', parent: 'br-eth1', mtu: '1492' });
const { devices, unknownParents } = devicesFromInterfaceInfo(net.interfaces);
console.log(`devices ${Object.keys(devices).join(', ')}; unknown parents: [${unknownParents.join(' ')}]`);
console.log(interfaceInfoFromDevices({ eth0: { type: 'nic', parent: 'lxdbr0', hwaddr: '00:16:3e:00:00:00' } }).map((i) => `${i.interfaceName} on ${i.parentInterfaceName}`));

// Constraints.
assert.deepEqual(applyLxdConstraints('5.0.2', { cores: 2, mem: 2048, rootDisk: 10240 }, { config: {} }), {
  config: { 'limits.cpu': '2', 'limits.memory': '2048MiB' },
  devices: { root: { type: 'disk', pool: 'default', path: '/', size: '10240MiB' } },
});
assert.deepEqual(parseConstraintsToStartParams({ mem: 256, rootDisk: 20480, arch: 'armhf' }, logger), { memory: 512, cpuCores: 1, rootDisk: 20 });
// INFO arch constraint of "armhf" being ignored as not supported

// cloud-init.
const userData = cloudInitUserData({ machineId: '0', userData: '#cloud-config\npackages: [jq]\n' }, net);
const config = { 'user.user-data': userData, 'user.network-config': CloudInitNetworkConfigDisabled };
console.log(`user data: ${config['user.user-data'].split('\n')[0]} (${config['user.user-data'].length} bytes); network config: ${config['user.network-config'].trim()}`);

// lxdprofile.
const posts: ProfilePost[] = [
  { name: 'juju-default-mysql-11' }, // delete the old revision afterwards
  { name: 'juju-default-mysql-12', profile: { config: {}, description: 'mysql', devices: { kvm: { type: 'unix-char', path: '/dev/kvm' } } } },
];
for (const post of posts) if (post.profile) validateProfile(post.profile);
console.log(posts.map((p) => `${p.name}: ${p.profile ? 'write' : 'delete'}`));

assert.throws(() => validateProfile({ config: { 'limits.cpu': '2' }, description: '', devices: {} }), { message: 'invalid lxd-profile: contains config value "limits.cpu"' });
assert.equal(isEmptyProfile({ config: {}, description: 'only words', devices: {} }), true);

assert.equal(profileName('default', 'mysql', 12), 'juju-default-mysql-12');
assert.deepEqual(lxdProfileNames(['default', 'juju-a-b-1', 'juju-c-d-2', 'juju-a-b-1']), ['juju-c-d-2', 'juju-a-b-1']);
assert.equal(profileRevision('juju-default-mysql-12'), 12);
assert.equal(profileReplaceRevision('juju-default-mysql-12', 13), 'juju-default-mysql-13');
assert.equal(matchProfileNameByAppName(['default', 'juju-foo-bar-2'], 'bar'), 'juju-foo-bar-2');

assert.equal(annotateErrorStatus(new Error('boom')), 'Error: boom');
assert.equal(upgradeStatusTerminal('Error: boom'), true);

console.log('every value stated in docs/container.md holds');
