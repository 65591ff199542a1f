import { expect } from 'chai';
import { ManagerConfig } from '../../../lib/container/manager-config.js';
import { bridgeNetworkConfig } from '../../../lib/container/network.js';
import { newInterfaceInfo } from '../../../lib/container/network.js';
import type { NetworkConfig, Status } from '../../../lib/container/types.js';
import { LxdManager, LxdManagerError, LxdManagerErrorCode, type ImageRemote, type ImageSource, type LxdManagerOptions } from '../../../lib/container/lxd/index.js';
import { CloudInitNetworkConfigDisabled } from '../../../lib/container/cloudinit.js';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { captureLogger } from '../container/capture-logger.js';
import { installWorld, type World } from './world.js';
import { rejection } from '../../helpers/rejection.js';
import { ContainerError, ContainerErrorCode } from '../../../lib/errors.js';

const UUID = 'deadbeef-0bad-400d-8000-4b1d0d06f00d';
const FP = 'a'.repeat(64);
const REMOTE_FP = 'b'.repeat(64);

function eth(name: string, parent: string, extra: Partial<Parameters<typeof newInterfaceInfo>[0]> = {}) {
  return newInterfaceInfo({ interfaceName: name, interfaceType: 'ethernet', configType: 'dhcp', parentInterfaceName: parent, ...extra });
}

/** An image remote serving one alias → fingerprint, recording lookups. */
function stubRemote(aliases: Record<string, string>, log: string[] = []): (s: ImageSource) => ImageRemote {
  return (source) => ({
    aliasTarget: async (a) => {
      log.push(`alias ${source.host} ${a}`);
      return aliases[`${source.host} ${a}`];
    },
    image: async (fp) => {
      log.push(`image ${source.host} ${fp}`);
      return Object.values(aliases).includes(fp) ? { fingerprint: fp, architecture: 'amd64', aliases: [] } : undefined;
    },
  });
}

describe('LxdManager (fake LXD)', () => {
  let fake: FakeLxd;
  let world: World;
  let client: LxdClient;

  beforeEach(async () => {
    fake = await startFakeLxd();
    world = installWorld(fake);
    client = fake.client();
  });
  afterEach(async () => {
    await fake.close();
  });

  const manager = (cfg: Record<string, string> = {}, opts: LxdManagerOptions = {}) =>
    new LxdManager({ 'model-uuid': UUID, ...cfg }, { client, hostArch: 'amd64', generateMacAddress: () => '00:16:3e:00:00:00', sleep: async () => {}, ...opts });

  const withLocalImage = () => {
    world.images.set(FP, { fingerprint: FP, filename: 'busybox.tar.xz' });
    world.aliases.set('juju/focal/amd64', FP);
  };

  describe('constructor', () => {
    it('requires a model UUID and validates it', () => {
      expect(() => new LxdManager({}, { client })).to.throw('model UUID is required');
      expect(() => new LxdManager({ 'model-uuid': 'nope' }, { client })).to.throw('model ID "nope" is not a valid model');
    });

    it('pops its keys in order, logs the empty availability zone and warns about unused keys', () => {
      const { logger, entries } = captureLogger();
      const cfg = new ManagerConfig({ 'model-uuid': UUID, 'lxd-snap-channel': 'latest/stable', 'log-dir': '/var/log/juju', shazam: 'Captain Marvel' });
      const mgr = new LxdManager(cfg, { client, logger });
      expect(cfg.keys()).to.deep.equal(['log-dir', 'shazam']); // Juju's WarnAboutUnused only logs
      expect(entries.map((e) => `${e.level} ${String(e.bindings['module'])} ${e.msg}`)).to.deep.equal([
        'info juju.container.lxd Availability zone will be empty for this container manager',
        'info juju.container unused config option: "log-dir" -> "/var/log/juju"',
        'info juju.container unused config option: "shazam" -> "Captain Marvel"',
      ]);
      expect(mgr.namespace().prefix()).to.equal('juju-06f00d-');
      expect(mgr.isInitialized()).to.equal(true);
    });

    it('does not log when an availability zone is given, and copies a plain record', () => {
      const { logger, entries } = captureLogger();
      const record = { 'model-uuid': UUID, 'availability-zone': 'zone-a' };
      const mgr = new LxdManager(record, { client, logger });
      expect(entries).to.deep.equal([]);
      expect(record).to.have.property('model-uuid');
      expect(mgr.availabilityZone).to.equal('zone-a');
    });

    it('builds image sources from the metadata URL and stream', () => {
      expect(manager().imageSources().map((s) => s.host)).to.deep.equal(['https://cloud-images.ubuntu.com/releases', 'https://cloud-images.ubuntu.com/daily']);
      expect(manager({ 'container-image-stream': 'daily' }).imageSources().map((s) => s.host)).to.deep.equal(['https://cloud-images.ubuntu.com/daily']);
      expect(manager({ 'container-image-metadata-url': 'http://images.example/x' }).imageSources()).to.deep.equal([
        { name: 'images.example/x', host: 'https://images.example/x', protocol: 'simplestreams' },
        { name: 'cloud-images.ubuntu.com', host: 'https://cloud-images.ubuntu.com/releases', protocol: 'simplestreams' },
        { name: 'cloud-images.ubuntu.com', host: 'https://cloud-images.ubuntu.com/daily', protocol: 'simplestreams' },
      ]);
    });
  });

  describe('createContainer', () => {
    it('creates and starts a container from the local alias, with Juju config, devices and callbacks', async () => {
      withLocalImage();
      const calls: [Status, string][] = [];
      const net = bridgeNetworkConfig('lxdbr0', 0, [
        eth('eth0', 'br-a', { macAddress: '00:16:3e:11:22:33', mtu: 9000, addresses: [{ value: '10.0.0.5', cidr: '10.0.0.0/24' }] }),
        eth('eth1', 'br-b', { macAddress: '00:16:3e:11:22:44', addresses: [{ value: '10.0.1.5', cidr: '10.0.1.0/24' }] }),
      ]);
      const { logger, entries } = captureLogger();
      const mgr = manager({ 'availability-zone': 'az1' }, { logger });
      const { instance, hardware } = await mgr.createContainer(
        { machineId: '1/lxd/2', profiles: ['default', 'juju-model-app-1'], userData: { runcmd: ['echo hi'] } },
        { cores: 2, mem: 1024 },
        'focal',
        net,
        undefined,
        (s, i) => void calls.push([s, i]),
      );
      expect(calls).to.deep.equal([
        ['allocating', 'Creating container spec'],
        ['allocating', 'acquiring LXD image'],
        ['allocating', 'Creating container'],
        ['running', 'Container started'],
      ]);
      expect(instance.id).to.equal('juju-06f00d-1-lxd-2');
      expect(String(instance)).to.equal('lxd:juju-06f00d-1-lxd-2');
      expect(hardware).to.deep.equal({ availabilityZone: 'az1' });
      const c = world.instances.get('juju-06f00d-1-lxd-2')!;
      expect(c.status).to.equal('Running');
      expect(c.body).to.deep.include({ name: 'juju-06f00d-1-lxd-2', ephemeral: false, profiles: ['default', 'juju-model-app-1'], source: { type: 'image', fingerprint: FP } });
      expect(c.devices).to.deep.equal({
        eth0: { type: 'nic', nictype: 'bridged', name: 'eth0', parent: 'br-a', hwaddr: '00:16:3e:11:22:33', mtu: '9000' },
        eth1: { type: 'nic', nictype: 'bridged', name: 'eth1', parent: 'br-b', hwaddr: '00:16:3e:11:22:44' },
      });
      expect(Object.keys(c.config).sort()).to.deep.equal(['boot.autostart', 'limits.cpu', 'limits.memory', 'user.juju-model', 'user.network-config', 'user.user-data']);
      expect(c.config).to.deep.include({ 'boot.autostart': 'true', 'user.juju-model': UUID, 'user.network-config': CloudInitNetworkConfigDisabled, 'limits.cpu': '2', 'limits.memory': '1024MiB' });
      expect(c.config['user.user-data']).to.match(/^#cloud-config\n/).and.to.include('macaddress: 00:16:3e:11:22:33').and.to.include('echo hi');
      expect(entries.map((e) => e.msg)).to.include('starting new container "juju-06f00d-1-lxd-2" (image "busybox.tar.xz")');
      // the start request is Juju's
      const start = fake.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/state'));
      expect(start?.body).to.deep.equal({ action: 'start', timeout: -1, force: false, stateful: false });
    });

    it('sends instance type, architecture and root disk constraints, and MB for an LXD older than 3.10', async () => {
      fake.on('GET', '/1.0', async () => (await import('../../helpers/fake-lxd.js')).sync((await import('../../helpers/fake-lxd.js')).serverInfo({ version: '3.0.3' })));
      withLocalImage();
      await manager().createContainer({ machineId: '3' }, { mem: 512, rootDisk: 2048, rootDiskSource: 'fast', instanceType: 't2.micro', arch: 'amd64' }, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      const c = world.instances.get('juju-06f00d-3')!;
      expect(c.body).to.deep.include({ instance_type: 't2.micro', architecture: 'amd64' });
      expect(c.config['limits.memory']).to.equal('512MB');
      expect(c.devices['root']).to.deep.equal({ type: 'disk', pool: 'fast', path: '/', size: '2048MB' });
    });

    // Pending until lib/container/lxd/manager.ts calls validateCreateArgs() first in #containerSpec.
    it('refuses mistyped arguments with CONTAINER_ERR_NOT_VALID naming the field, before any I/O', async () => {
      withLocalImage();
      const spoilt = bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]);
      (spoilt.interfaces[0] as unknown as Record<string, unknown>)['interfaceName'] = 5;
      const noDevice = { networkType: 'bridge', mtu: 0, interfaces: [] } as unknown as NetworkConfig;
      const cases: [Parameters<LxdManager['createContainer']>, string][] = [
        [[{ machineId: '9' }, {}, 'focal', spoilt], 'network.interfaces[0].interfaceName: expected string, got number'],
        [[{ machineId: '9' }, {}, 'focal', noDevice], 'network.device: expected string, got undefined'],
        [[{ machineId: 9 } as never, {}, 'focal'], 'instanceConfig.machineId: expected string, got number'],
        [[{ machineId: '9', profiles: 'default' } as never, {}, 'focal'], 'instanceConfig.profiles: expected array, got string'],
        [[{ machineId: '9' }, { mem: '512' } as never, 'focal'], 'constraints.mem: expected number, got string'],
        [[{ machineId: '9' }, {}, undefined as never], 'series is required'],
      ];
      for (const [[ic, cons, series, network], message] of cases) {
        fake.requests.length = 0;
        const calls: [Status, string][] = [];
        const err = await rejection(manager().createContainer(ic, cons, series, network, undefined, (s, i) => void calls.push([s, i])));
        expect(ContainerError.is(err, ContainerErrorCode.NOT_VALID), String(err)).to.equal(true);
        expect((err as Error).message).to.equal(message);
        expect(calls).to.deep.equal([
          ['allocating', 'Creating container spec'],
          ['provisioning error', `Creating container spec: ${message}`],
        ]);
        expect(fake.calls()).to.deep.equal([]);
      }
    });

    it('uses the network device with a generated MAC when there are no interfaces', async () => {
      withLocalImage();
      await manager().createContainer({ machineId: '4' }, {}, 'focal', { networkType: 'bridge', device: 'br9', mtu: 1400, interfaces: [] });
      expect(world.instances.get('juju-06f00d-4')!.devices).to.deep.equal({ eth0: { type: 'nic', nictype: 'bridged', name: 'eth0', parent: 'br9', hwaddr: '00:16:3e:00:00:00', mtu: '1400' } });
    });

    it("falls back to the default profile's NICs, generating missing MACs, and writes matching cloud-init", async () => {
      withLocalImage();
      world.profiles.get('default')!.devices = {
        root: { type: 'disk', path: '/', pool: 'default' },
        eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0', host_name: 'keep-me' },
        eth1: { type: 'nic', nictype: 'bridged', parent: 'br1', hwaddr: '00:16:3e:aa:bb:cc' },
      };
      const net = { networkType: 'bridge', device: '', mtu: 0, interfaces: [] };
      await manager().createContainer({ machineId: '5' }, {}, 'focal', net);
      const c = world.instances.get('juju-06f00d-5')!;
      expect(c.devices).to.deep.equal({
        eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdbr0', host_name: 'keep-me', hwaddr: '00:16:3e:00:00:00' },
        eth1: { type: 'nic', nictype: 'bridged', parent: 'br1', hwaddr: '00:16:3e:aa:bb:cc' },
      });
      expect(c.config['user.user-data']).to.include('macaddress: 00:16:3e:00:00:00').and.to.include('macaddress: 00:16:3e:aa:bb:cc');
      expect(net.interfaces).to.deep.equal([]); // the caller's config is not modified
    });

    it('gives lxdbr0 "auto" IPv4 when it is the only parent without a CIDR', async () => {
      withLocalImage();
      world.networks.set('lxdbr0', { name: 'lxdbr0', type: 'bridge', managed: true, config: { 'ipv4.address': 'none', 'ipv6.address': 'none' }, etag: 7 });
      const { logger, entries } = captureLogger();
      await manager({}, { logger }).createContainer({ machineId: '6' }, {}, 'focal', bridgeNetworkConfig('lxdbr0', 0, [eth('eth0', 'lxdbr0')]));
      expect(world.networks.get('lxdbr0')!.config).to.deep.equal({ 'ipv4.address': 'auto', 'ipv4.nat': 'true', 'ipv6.address': 'none' });
      const put = fake.requests.find((r) => r.method === 'PUT' && r.path === '/1.0/networks/lxdbr0');
      expect(put?.headers['if-match']).to.equal('"etag-7"');
      expect(entries.map((e) => e.msg)).to.include('added "auto" IPv4 configuration to default LXD bridge');
    });

    it('leaves a bridge that has IPv4 alone, and warns about other parents without a CIDR', async () => {
      withLocalImage();
      world.networks.set('lxdbr0', { name: 'lxdbr0', type: 'bridge', managed: true, config: { 'ipv4.address': '10.1.1.1/24' }, etag: 1 });
      await manager().createContainer({ machineId: '7' }, {}, 'focal', bridgeNetworkConfig('lxdbr0', 0, [eth('eth0', 'lxdbr0')]));
      expect(fake.requests.some((r) => r.method === 'PUT' && r.path.startsWith('/1.0/networks'))).to.equal(false);
      const { logger, entries } = captureLogger();
      await manager({}, { logger }).createContainer({ machineId: '8' }, {}, 'focal', bridgeNetworkConfig('x', 0, [eth('eth0', 'br-a'), eth('eth1', 'br-b')]));
      expect(entries.filter((e) => e.level === 'warn').map((e) => e.msg)).to.deep.equal(['no CIDR was detected for the following networks: [br-a br-b]']);
    });

    it('copies the image from the first source that has it, under the local alias, with progress callbacks', async () => {
      world.copyProgress = [{ download_progress: 'rootfs: 50% (1.00MB/s)' }, { download_progress: 'rootfs: 100% (2.00MB/s)' }];
      const lookups: string[] = [];
      const calls: string[] = [];
      const mgr = manager({ 'container-image-metadata-url': 'https://mirror.example/ss' }, {
        openImageRemote: stubRemote({ 'https://cloud-images.ubuntu.com/releases focal/amd64': REMOTE_FP }, lookups),
        imageMetadataCertificate: 'PEM',
      });
      await mgr.createContainer({ machineId: '9' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]), undefined, (s, i) => void calls.push(`${s}: ${i}`));
      expect(lookups).to.deep.equal(['alias https://mirror.example/ss focal/amd64', 'alias https://cloud-images.ubuntu.com/releases focal/amd64', `image https://cloud-images.ubuntu.com/releases ${REMOTE_FP}`]);
      expect(world.copies).to.deep.equal([
        { source: { type: 'image', mode: 'pull', server: 'https://cloud-images.ubuntu.com/releases', protocol: 'simplestreams', fingerprint: REMOTE_FP }, aliases: [{ name: 'juju/focal/amd64' }], auto_update: false, public: false },
      ]);
      expect(calls).to.deep.equal([
        'allocating: Creating container spec',
        'allocating: acquiring LXD image',
        'allocating: Retrieving image: rootfs: 50% (1.00MB/s)',
        'allocating: Retrieving image: rootfs: 100% (2.00MB/s)',
        'allocating: Creating container',
        'running: Container started',
      ]);
      expect(world.aliases.get('juju/focal/amd64')).to.equal(REMOTE_FP);
      expect((world.instances.get('juju-06f00d-9')!.body['source'] as { fingerprint: string }).fingerprint).to.equal(REMOTE_FP);
    });

    it('sends the metadata server certificate with the copy, and points the alias itself without image_create_aliases', async () => {
      const { sync, serverInfo } = await import('../../helpers/fake-lxd.js');
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network'] })));
      const mgr = manager({ 'container-image-metadata-url': 'https://mirror.example/ss' }, { openImageRemote: stubRemote({ 'https://mirror.example/ss focal/amd64': REMOTE_FP }), imageMetadataCertificate: 'PEM' });
      await mgr.createContainer({ machineId: '10' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      expect(world.copies[0]).to.deep.equal({ source: { type: 'image', mode: 'pull', server: 'https://mirror.example/ss', protocol: 'simplestreams', fingerprint: REMOTE_FP, certificate: 'PEM' }, auto_update: false, public: false });
      expect(fake.calls()).to.include('POST /1.0/images/aliases');
      expect(world.aliases.get('juju/focal/amd64')).to.equal(REMOTE_FP);
    });

    it('falls through to the remotes when the local alias points at a missing image, retrying that target (Juju quirk)', async () => {
      world.aliases.set('juju/focal/amd64', REMOTE_FP);
      const lookups: string[] = [];
      const remote = (source: ImageSource): ImageRemote => ({
        aliasTarget: async () => undefined,
        image: async (fp) => {
          lookups.push(`${source.host} ${fp}`);
          return source.host.endsWith('/daily') ? { fingerprint: fp, architecture: 'amd64', aliases: [] } : undefined;
        },
      });
      fake.on('POST', '/1.0/images', (r) => {
        world.copies.push(r.body);
        world.images.set(REMOTE_FP, { fingerprint: REMOTE_FP, filename: 'x' });
        return fake.operation();
      });
      await manager({}, { openImageRemote: remote }).createContainer({ machineId: '11' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      expect(lookups).to.deep.equal([`https://cloud-images.ubuntu.com/releases ${REMOTE_FP}`, `https://cloud-images.ubuntu.com/daily ${REMOTE_FP}`]);
    });

    it('reports "no matching image found" and unsupported series as spec errors', async () => {
      const calls: string[] = [];
      const err = await rejection(manager({}, { openImageRemote: stubRemote({}) }).createContainer({ machineId: '12' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]), undefined, (s, i) => void calls.push(`${s}: ${i}`)));
      expect(err.message).to.equal('acquiring LXD image: no matching image found');
      expect(LxdManagerError.is(err, LxdManagerErrorCode.IMAGE_NOT_FOUND)).to.equal(true);
      expect(calls).to.deep.equal(['allocating: Creating container spec', 'allocating: acquiring LXD image', 'provisioning error: Creating container spec: acquiring LXD image: no matching image found']);
      const e2 = await rejection(manager().createContainer({ machineId: '12' }, {}, 'pldlinux', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(e2.message).to.match(/.*series: "pldlinux".*/);
      const e3 = await rejection(manager({}, { hostArch: 'arm64' }).createContainer({ machineId: '12' }, {}, 'centos7', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(e3.message).to.equal('acquiring LXD image: series "centos7" not supported');
      expect(world.instances.size).to.equal(0);
    });

    it('reports a failed image copy with LXD\'s text', async () => {
      world.fail.copy = 'Failed getting remote image info: boom';
      const err = await rejection(manager({}, { openImageRemote: stubRemote({ 'https://cloud-images.ubuntu.com/releases focal/amd64': REMOTE_FP }) }).createContainer({ machineId: '13' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(err.message).to.equal('acquiring LXD image: Failed getting remote image info: boom');
    });

    it('refuses bad input before any I/O, with Juju\'s texts', async () => {
      const calls: string[] = [];
      const cb = (s: Status, i: string) => void calls.push(`${s}: ${i}`);
      const e1 = await rejection(manager().createContainer({ machineId: 'x/y' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]), undefined, cb));
      expect(e1.message).to.equal('machine ID "x/y" is not a valid machine');
      expect(calls).to.deep.equal(['allocating: Creating container spec', 'provisioning error: Creating container spec: machine ID "x/y" is not a valid machine']);
      const e2 = await rejection(manager().createContainer({ machineId: '1' }, {}, 'focal', bridgeNetworkConfig('br0', 0)));
      expect(e2.message).to.equal('parent interface name is empty');
      const e3 = await rejection(manager().createContainer({ machineId: '1' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [newInterfaceInfo({ interfaceName: 'bond0', interfaceType: 'bond', parentInterfaceName: 'x' })])));
      expect(e3.message).to.equal('interface type "bond" not supported');
      const e4 = await rejection(manager({ 'container-image-metadata-url': 'relative/dir' }).createContainer({ machineId: '1' }, {}, 'focal'));
      expect(e4.message).to.equal('generating image metadata source: relative/dir is not an absolute path');
      expect(fake.calls()).to.deep.equal([]);
    });

    it('removes the container when it fails to start and returns the start error', async () => {
      withLocalImage();
      world.fail.start = 'Failed to start device "eth0": Parent device "nope" doesn\'t exist';
      const calls: string[] = [];
      const err = await rejection(manager().createContainer({ machineId: '14' }, {}, 'focal', bridgeNetworkConfig('nope', 0, [eth('eth0', 'nope')]), undefined, (s, i) => void calls.push(`${s}: ${i}`)));
      expect(err.message).to.equal(world.fail.start);
      expect(LxdManagerError.is(err, LxdManagerErrorCode.START)).to.equal(true);
      expect(calls.at(-1)).to.equal(`provisioning error: Creating container: ${world.fail.start}`);
      expect(world.instances.size).to.equal(0);
      expect(fake.calls().slice(-3)).to.deep.equal(['PUT /1.0/instances/juju-06f00d-14/state', 'GET /1.0/instances/juju-06f00d-14/state', 'DELETE /1.0/instances/juju-06f00d-14']);
    });

    it('logs a failed removal after an unsuccessful start', async () => {
      withLocalImage();
      world.fail.start = 'no start';
      world.fail.deleteRequest = { status: 500, message: 'disk busy' };
      const { logger, entries } = captureLogger();
      const err = await rejection(manager({}, { logger }).createContainer({ machineId: '15' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(err.message).to.equal('no start');
      expect(entries.filter((e) => e.level === 'error').map((e) => e.msg)).to.deep.equal(['failed to remove container after unsuccessful start: disk busy']);
    });

    it('sends MiB to a server with the instances API extension whatever its version says (Incus numbers its own versions from 0.1)', async () => {
      const { sync, serverInfo } = await import('../../helpers/fake-lxd.js');
      const info = serverInfo({ version: '0.7', extensions: ['instances', 'network'] }) as { environment: Record<string, unknown> };
      fake.on('GET', '/1.0', () => sync({ ...info, environment: { ...info.environment, server: 'incus' } }));
      withLocalImage();
      await manager().createContainer({ machineId: '4' }, { mem: 512, rootDisk: 2048 }, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      const c = world.instances.get('juju-06f00d-4')!;
      expect(c.config['limits.memory']).to.equal('512MiB');
      expect(c.devices['root']).to.deep.include({ size: '2048MiB' });
    });

    it('a create operation that fails because the name is taken is "already exists", in LXD\'s words or Incus\'s', async () => {
      withLocalImage();
      for (const text of ['Instance "juju-06f00d-17" already exists', 'Failed creating instance record: Add instance info to the database: Failed to create "instances" entry: UNIQUE constraint failed: instances.project_id, instances.name']) {
        world.fail.create = text;
        const err = await rejection(manager().createContainer({ machineId: '17' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
        expect(LxdManagerError.is(err, LxdManagerErrorCode.ALREADY_EXISTS), text).to.equal(true);
        expect(err.message).to.equal(text);
      }
      delete world.fail.create;
    });

    it('starts again while the daemon says the instance is busy with another create (a concurrent create of the name failing), and gives up after 8 tries', async () => {
      withLocalImage();
      world.fail.startBusy = 3;
      const { instance } = await manager().createContainer({ machineId: '18' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      expect(world.instances.get(instance.id)?.status).to.equal('Running');
      expect(fake.requests.filter((r) => r.method === 'PUT' && r.path === `/1.0/instances/${instance.id}/state`)).to.have.length(4);
      world.fail.startBusy = 100;
      const err = await rejection(manager().createContainer({ machineId: '19' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(LxdManagerError.is(err, LxdManagerErrorCode.START)).to.equal(true);
      expect(err.message).to.match(/busy running a "create" operation$/);
      expect(fake.requests.filter((r) => r.method === 'PUT' && r.path === '/1.0/instances/juju-06f00d-19/state' && (r.body as { action: string }).action === 'start')).to.have.length(8);
      expect(world.instances.has('juju-06f00d-19'), 'the container it made is removed').to.equal(false);
      delete world.fail.startBusy;
    });

    it('starts again when the start operation itself fails as busy (Incus), keeping the container it made', async () => {
      withLocalImage();
      world.fail.startOpBusy = 2;
      const { instance } = await manager().createContainer({ machineId: '20' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      expect(world.instances.get(instance.id)?.status).to.equal('Running');
      expect(fake.requests.filter((r) => r.method === 'PUT' && r.path === `/1.0/instances/${instance.id}/state`)).to.have.length(3);
      delete world.fail.startOpBusy;
    });

    it('reports create failures and removes a container that exists when a later step fails', async () => {
      withLocalImage();
      world.fail.createRequest = 'Requested profile "nope" doesn\'t exist';
      const e1 = await rejection(manager().createContainer({ machineId: '16', profiles: ['nope'] }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(e1.message).to.equal('Requested profile "nope" doesn\'t exist');
      expect(LxdManagerError.is(e1, LxdManagerErrorCode.CREATE)).to.equal(true);
      delete world.fail.createRequest;
      world.fail.create = 'Failed creating instance from image: unpack failed';
      const e2 = await rejection(manager().createContainer({ machineId: '16' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(e2.message).to.equal('Failed creating instance from image: unpack failed');
      delete world.fail.create;
      world.fail.getAfterStart = 'database is locked';
      const e3 = await rejection(manager().createContainer({ machineId: '16' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])));
      expect(e3.message).to.equal('database is locked');
      expect(world.instances.size).to.equal(0);
    });

    it('serialises image copies: many concurrent creates copy the image once and all finish', async () => {
      const mgr = manager({}, { openImageRemote: stubRemote({ 'https://cloud-images.ubuntu.com/releases focal/amd64': REMOTE_FP }) });
      const other = manager({}, { openImageRemote: stubRemote({ 'https://cloud-images.ubuntu.com/releases focal/amd64': REMOTE_FP }) });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? mgr : other).createContainer({ machineId: String(i) }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]))),
      );
      expect(results.map((r) => r.instance.id).sort()).to.deep.equal(Array.from({ length: 8 }, (_, i) => `juju-06f00d-${i}`).sort());
      expect(world.copies).to.have.length(1);
      expect(world.instances.size).to.equal(8);
    });
  });

  describe('destroyContainer', () => {
    beforeEach(async () => {
      withLocalImage();
      await manager().createContainer({ machineId: '0' }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')]));
      fake.requests.length = 0;
    });

    it('force-stops a running container with the state ETag, then deletes it', async () => {
      await manager().destroyContainer('juju-06f00d-0');
      expect(fake.calls()).to.deep.equal(['GET /1.0/instances/juju-06f00d-0/state', 'PUT /1.0/instances/juju-06f00d-0/state', 'DELETE /1.0/instances/juju-06f00d-0']);
      const stop = fake.requests.find((r) => r.method === 'PUT');
      expect(stop?.body).to.deep.equal({ action: 'stop', timeout: -1, force: true, stateful: false });
      expect(stop?.headers['if-match']).to.equal('"state-etag"');
      expect(world.instances.size).to.equal(0);
    });

    it('does not stop a stopped container', async () => {
      world.instances.get('juju-06f00d-0')!.status = 'Stopped';
      await manager().destroyContainer('juju-06f00d-0');
      expect(fake.calls()).to.deep.equal(['GET /1.0/instances/juju-06f00d-0/state', 'DELETE /1.0/instances/juju-06f00d-0']);
    });

    it('retries a failed delete 3 times, 2 s apart, and returns the last failure', async () => {
      const sleeps: number[] = [];
      world.fail.deleteOp = ['busy 1', 'busy 2', 'busy 3'];
      const err = await rejection(manager({}, { sleep: async (ms) => void sleeps.push(ms) }).destroyContainer('juju-06f00d-0'));
      expect(err.message).to.equal('busy 3');
      expect(sleeps).to.deep.equal([2000, 2000]);
      expect(fake.calls().filter((c) => c.startsWith('DELETE'))).to.have.length(3);
      world.fail.deleteOp = ['busy'];
      await manager({ }, { sleep: async (ms) => void sleeps.push(ms) }).destroyContainer('juju-06f00d-0');
      expect(world.instances.size).to.equal(0);
    });

    it('does not retry a refused delete request; a delete that finds nothing counts as done', async () => {
      world.fail.deleteRequest = { status: 400, message: 'Failed to delete: disk busy' };
      const err = await rejection(manager().destroyContainer('juju-06f00d-0'));
      expect(err.message).to.equal('Failed to delete: disk busy');
      expect(fake.calls().filter((c) => c.startsWith('DELETE'))).to.have.length(1);
      world.fail.deleteRequest = { status: 404, message: 'Instance not found' };
      await manager().destroyContainer('juju-06f00d-0');
    });

    it('a delete refused because the container runs again (a start still under way) stops it again, up to 3 tries', async () => {
      world.fail.deleteRunning = 1;
      await manager().destroyContainer('juju-06f00d-0');
      expect(world.instances.has('juju-06f00d-0')).to.equal(false);
      const calls = fake.calls().filter((c) => !c.startsWith('GET /1.0/operations'));
      expect(calls.filter((c) => c.startsWith('DELETE'))).to.have.length(2);
      expect(calls.filter((c) => c.startsWith('PUT /1.0/instances/juju-06f00d-0/state'))).to.have.length(2);
      world.instances.set('juju-06f00d-1', { name: 'juju-06f00d-1', type: 'container', status: 'Running', config: {}, devices: {}, profiles: [], architecture: 'x86_64', body: {} });
      world.fail.deleteRunning = 5;
      const err = await rejection(manager().destroyContainer('juju-06f00d-1'));
      expect(LxdManagerError.is(err, LxdManagerErrorCode.REMOVE)).to.equal(true);
      expect(err.message).to.equal('Instance is running');
      expect(world.fail.deleteRunning, 'three deletes were tried').to.equal(2);
    });

    it('reports an unknown container as an error (the state lookup fails, as in Juju)', async () => {
      const err = await rejection(manager().destroyContainer('juju-06f00d-99'));
      expect(err.message).to.equal('Instance not found');
    });

    it('removeContainers reports every failure', async () => {
      const { logger, entries } = captureLogger();
      const err = await rejection(manager({}, { logger }).removeContainers(['juju-06f00d-0', 'ghost-1', 'ghost-2']));
      expect(err.message).to.equal('failed to remove containers: ghost-1, ghost-2');
      expect(entries.filter((e) => e.level === 'error').map((e) => e.msg)).to.deep.equal(['removing container "ghost-1": Instance not found', 'removing container "ghost-2": Instance not found']);
      expect(world.instances.size).to.equal(0);
    });
  });

  describe('listContainers', () => {
    it('lists the namespace\'s containers in any state, in server order, with one request', async () => {
      const add = (name: string, status: 'Running' | 'Stopped', type = 'container') =>
        world.instances.set(name, { name, type, status, config: {}, devices: {}, profiles: [], architecture: 'x86_64', body: {} });
      add('juju-06f00d-2', 'Stopped');
      add('juju-06f00d', 'Running');
      add('juju-06f00dx-1', 'Running');
      add('juju-06f00d-0', 'Running');
      add('juju-06f00d-9', 'Running', 'virtual-machine');
      add('other', 'Running');
      const list = await manager().listContainers();
      expect(list.map((i) => i.id)).to.deep.equal(['juju-06f00d-2', 'juju-06f00d-0']);
      expect(fake.calls()).to.deep.equal(['GET /1.0/instances']);
      expect(fake.requests.at(-1)?.query.get('recursion')).to.equal('1');
      expect(await list[0]!.status()).to.deep.equal({ status: '', message: 'Stopped' });
      expect(await list[1]!.status()).to.deep.equal({ status: 'running', message: 'Running' });
      world.instances.delete('juju-06f00d-0');
      expect(await list[1]!.status()).to.deep.equal({ status: '', message: 'could not get status: Instance not found' });
    });
  });

  describe('profiles', () => {
    const profile = { config: { 'security.nesting': 'true' }, description: 'app', devices: { gpu: { type: 'gpu' } } };

    beforeEach(async () => {
      withLocalImage();
      await manager().createContainer({ machineId: '0', profiles: ['default', 'juju-m-app-1'] }, {}, 'focal', bridgeNetworkConfig('br0', 0, [eth('eth0', 'br0')])).catch(() => undefined);
      world.instances.set('juju-06f00d-0', { name: 'juju-06f00d-0', type: 'container', status: 'Running', config: {}, devices: {}, profiles: ['default', 'juju-m-app-1'], architecture: 'x86_64', body: {} });
      world.profiles.set('juju-m-app-1', { name: 'juju-m-app-1', description: '', config: {}, devices: {}, etag: 1 });
      fake.requests.length = 0;
    });

    it('lxdProfileNames returns the container\'s profiles as they are', async () => {
      expect(await manager().lxdProfileNames('juju-06f00d-0')).to.deep.equal(['default', 'juju-m-app-1']);
      expect((await rejection(manager().lxdProfileNames('juju-06f00d-7'))).message).to.equal('Instance not found');
    });

    it('maybeWriteLXDProfile writes a missing profile once and never overwrites', async () => {
      const { logger, entries } = captureLogger();
      const mgr = manager({}, { logger });
      await mgr.maybeWriteLXDProfile('juju-m-app-2', profile);
      expect(world.profiles.get('juju-m-app-2')).to.deep.include({ description: 'app', config: profile.config, devices: profile.devices });
      await mgr.maybeWriteLXDProfile('juju-m-app-2', { config: {}, description: 'changed', devices: {} });
      expect(world.profiles.get('juju-m-app-2')!.description).to.equal('app');
      expect(entries.map((e) => e.msg)).to.include('lxd profile "juju-m-app-2" already exists, not written again');
      expect(fake.calls()).to.deep.equal(['GET /1.0/profiles', 'POST /1.0/profiles', 'GET /1.0/profiles/juju-m-app-2', 'GET /1.0/profiles']);
    });

    it('maybeWriteLXDProfile logs the written profile by key names only, never a value', async () => {
      const { logger, entries } = captureLogger();
      const marker = 'lxdkit-secret-marker-profile';
      await manager({}, { logger }).maybeWriteLXDProfile('juju-m-app-4', { config: { 'user.user-data': marker, 'limits.cpu': '1' }, description: 'app', devices: { eth0: { type: 'nic', parent: marker } } });
      const line = entries.map((e) => e.msg).find((m) => m.startsWith('wrote lxd profile "juju-m-app-4"'));
      expect(line).to.contain('user.user-data').and.to.contain('limits.cpu').and.to.contain('eth0');
      expect(JSON.stringify(entries)).not.to.contain(marker);
    });

    it('maybeWriteLXDProfile is serialised: concurrent writes of one profile create it once', async () => {
      const mgr = manager();
      await Promise.all([1, 2, 3].map(() => mgr.maybeWriteLXDProfile('juju-m-app-3', profile)));
      expect(fake.calls().filter((c) => c === 'POST /1.0/profiles')).to.have.length(1);
    });

    it('assignLXDProfiles writes, replaces the list, deletes the old profile and re-reads', async () => {
      const got = await manager().assignLXDProfiles('juju-06f00d-0', ['default', 'juju-m-app-2'], [{ name: 'juju-m-app-1' }, { name: 'juju-m-app-2', profile }]);
      expect(got).to.deep.equal(['default', 'juju-m-app-2']);
      expect(world.profiles.has('juju-m-app-1')).to.equal(false);
      expect(fake.calls()).to.deep.equal([
        'GET /1.0/profiles',
        'POST /1.0/profiles',
        'GET /1.0/profiles/juju-m-app-2',
        'GET /1.0/instances/juju-06f00d-0',
        'PUT /1.0/instances/juju-06f00d-0',
        'DELETE /1.0/profiles/juju-m-app-1',
        'GET /1.0/instances/juju-06f00d-0',
      ]);
      const put = fake.requests.find((r) => r.method === 'PUT');
      expect(put?.headers['if-match']).to.equal('"inst-etag"');
      expect(put?.body).to.deep.include({ profiles: ['default', 'juju-m-app-2'] });
    });

    it('ignores a failed profile delete (in use)', async () => {
      world.instances.set('juju-06f00d-1', { name: 'juju-06f00d-1', type: 'container', status: 'Running', config: {}, devices: {}, profiles: ['juju-m-app-1'], architecture: 'x86_64', body: {} });
      const got = await manager().assignLXDProfiles('juju-06f00d-0', ['default'], [{ name: 'juju-m-app-1', profile: null }]);
      expect(got).to.deep.equal(['default']);
      expect(world.profiles.has('juju-m-app-1')).to.equal(true);
    });

    it('reports update failures with Juju\'s texts and the current profiles, deleting nothing', async () => {
      world.fail.instanceUpdate = 'boom';
      const err = (await rejection(manager().assignLXDProfiles('juju-06f00d-0', ['default'], [{ name: 'juju-m-app-1' }]))) as LxdManagerError;
      expect(err.message).to.equal('update failed: boom');
      expect(err.currentProfiles).to.deep.equal(['default', 'juju-m-app-1']);
      expect(world.profiles.has('juju-m-app-1')).to.equal(true);
      const e2 = (await rejection(manager().assignLXDProfiles('juju-06f00d-5', ['default'], []))) as LxdManagerError;
      expect(e2.message).to.equal('failed to get "juju-06f00d-5": Instance not found');
      expect(e2.currentProfiles).to.equal(undefined);
    });
  });
});
