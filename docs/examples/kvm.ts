/**
 * KvmInitialiser and KvmManager (docs/kvm.md) on the real libvirtd: a storage pool of its own, one
 * guest created from a small backing file made here (no image download), listed, refused a second
 * time, and destroyed.
 * The guest boots nothing; its NIC is on a bridge made for the run that has no address. The pool,
 * the bridge, the guest and every file (one temp dir) are removed at the end.
 * Needs a running libvirtd (qemu:///system), qemu-img, genisoimage and ip, as root.
 * Run: npx tsx docs/examples/kvm.ts
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KvmError, KvmErrorCode, KvmInitialiser, KvmManager, bridgeNetworkConfig, errorText } from 'lxdkit';
import { hostArch } from 'lxdkit';

const sh = async (cmd: string, ...args: string[]): Promise<string> => (await promisify(execFile)(cmd, args, { timeout: 120_000 })).stdout;
const quiet = (p: Promise<unknown>): Promise<unknown> => p.catch(() => undefined);

const suffix = randomBytes(3).toString('hex');
const root = await mkdtemp(join(tmpdir(), 'lxdkit-example-kvm-'));
await chmod(root, 0o755); // QEMU runs as libvirt-qemu: it must walk down to the guest files
const guestDir = join(root, 'guests');
const containerDir = join(root, 'containers');
const removedContainerDir = join(root, 'removed-containers');
const pool = `lxdkit-example-kvm-${suffix}`;
const bridge = `lxkdoc${suffix}`;
const modelUUID = randomUUID();
let created: string | undefined;
try {
  // A bridge with no address (never give it one), and no network behind it.
  await sh('ip', 'link', 'add', bridge, 'type', 'bridge');
  await sh('ip', 'link', 'set', bridge, 'up');

  await new KvmInitialiser({ guestDir, poolName: pool }).initialise();  // packages if missing, then a dir pool over guestDir
  // The image cache: a backing file for the series is used as it is (no download). A tiny empty disk here.
  await sh('qemu-img', 'create', '-f', 'qcow2', join(guestDir, `jammy-${hostArch()}-backing-file.qcow`), '16M');

  const kvm = new KvmManager({ 'model-uuid': modelUUID }, { guestDir, containerDir, removedContainerDir });
  const { instance, hardware } = await kvm.createContainer(
    { machineId: '0/kvm/1', userData: { packages: ['htop'] } },
    { mem: 1024, cores: 1, rootDisk: 4 * 1024 },                    // MiB, as in Juju
    'jammy',
    bridgeNetworkConfig(bridge, 0, []),                              // an existing bridge
    undefined,
    (status, info) => console.log(status, info),
  );
  created = instance.id;
  console.log(String(instance), hardware);                           // kvm:juju-xxxxxx-0-kvm-1 { arch: 'amd64', mem: 1024, ... }
  console.log((await kvm.listContainers()).map((i) => i.id));        // the namespace's running domains
  const again = await kvm.createContainer({ machineId: '0/kvm/1' }, {}, 'jammy').catch((err: unknown) => err);
  if (!KvmError.is(again, KvmErrorCode.ALREADY_EXISTS)) throw new Error(`expected ALREADY_EXISTS, got ${String(again)}`);
  console.log(errorText(again));                                     // container "juju-xxxxxx-0-kvm-1" already exists: libvirt has a domain of that name (running)
  await kvm.destroyContainer(instance.id);
  created = undefined;
  console.log(`destroyed; running domains of the model: ${(await kvm.listContainers()).length}`);
} finally {
  if (created) {
    await quiet(sh('virsh', '-c', 'qemu:///system', 'destroy', created));
    await quiet(sh('virsh', '-c', 'qemu:///system', 'undefine', '--nvram', created));
  }
  await quiet(sh('virsh', '-c', 'qemu:///system', 'pool-destroy', pool));
  await quiet(sh('virsh', '-c', 'qemu:///system', 'pool-undefine', pool));
  await quiet(sh('ip', 'link', 'del', bridge));
  await rm(root, { recursive: true, force: true });
}
