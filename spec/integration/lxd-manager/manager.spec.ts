/**
 * LxdManager and LxdInitialiser against the real LXD daemon. Containers live in a namespace of a
 * random model UUID marked as this spec's (`c0ffee00-…`); networks are address-less bridges named
 * `lxdks-*`; profiles, decoys and images carry `lxdkit-spec-mgr-`. Leftovers of killed runs are
 * removed first. No traffic leaves 127.0.0.1: image sources other than loopback are refused.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { CloudInitNetworkConfigDisabled } from '../../../lib/container/cloudinit.js';
import { LxdInitialiser, LxdManager, SimplestreamsImageServer, type ImageSource } from '../../../lib/container/lxd/index.js';
import { bridgeNetworkConfig, newInterfaceInfo } from '../../../lib/container/network.js';
import { isNotFound, type LxdClient } from '../../../lib/lxd/index.js';
import { IMAGE_DIR, TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { sha256, startSimplestreamsServer, type SimplestreamsServer } from '../../helpers/simplestreams-server.js';
import { rejection } from '../../helpers/rejection.js';

const execFileP = promisify(execFile);
const MODEL_MARK = 'c0ffee00-';
const PREFIX = 'lxdkit-spec-mgr-';
const NET_PREFIX = 'lxdks-';

/** A model UUID this spec recognises as its own. */
const specModel = (): string => `${MODEL_MARK}${randomUUID().slice(9)}`;

/** Only loopback image servers: no spec may reach the internet. */
const loopbackOnly = (source: ImageSource) => {
  if (!/^https:\/\/127\.0\.0\.1[:/]/.test(source.host)) throw new Error(`refusing non-loopback image source ${source.host}`);
  return new SimplestreamsImageServer(source);
};

async function forceDelete(lxd: LxdClient, name: string): Promise<void> {
  try {
    const st = await lxd.instances.state(name);
    if (st.value.status_code !== 102) await (await lxd.instances.setState(name, { action: 'stop', force: true, timeout: -1 })).wait({ timeoutMs: 60_000 });
    await (await lxd.instances.delete(name)).wait({ timeoutMs: 60_000 });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes a project of this spec with everything in it (instances, images). */
async function removeProject(lxd: LxdClient, project: string): Promise<void> {
  const inside = lxd.withProject(project);
  try {
    for (const inst of await inside.instances.list()) await forceDelete(inside, inst.name);
    for (const image of await inside.images.list()) await (await inside.images.delete(image.fingerprint)).wait({ timeoutMs: 60_000 });
    await lxd.query('DELETE', `/1.0/projects/${encodeURIComponent(project)}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  } finally {
    await inside.close();
  }
}

async function removeLeftovers(lxd: LxdClient, marker = PREFIX, model = MODEL_MARK): Promise<void> {
  const projects = (await lxd.query('GET', '/1.0/projects')).metadata as string[];
  for (const url of projects) {
    const name = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
    if (name.startsWith(marker)) await removeProject(lxd, name);
  }
  for (const inst of await lxd.instances.list()) {
    const mine = inst.name.startsWith(marker) || (inst.name.startsWith('juju-') && (inst.config['user.juju-model'] ?? '').startsWith(model));
    if (mine) await forceDelete(lxd, inst.name);
  }
  for (const name of await lxd.profiles.list({ recursion: 0 })) if (name.startsWith(marker)) await lxd.profiles.delete(name).catch(() => {});
  for (const name of await lxd.networks.list({ recursion: 0 })) if (name.startsWith(NET_PREFIX)) await lxd.networks.delete(name).catch(() => {});
  for (const image of await lxd.images.list()) {
    if ((image.properties['description'] ?? '').startsWith(marker)) await (await lxd.images.delete(image.fingerprint)).wait({ timeoutMs: 60_000 }).catch(() => {});
  }
  // the run's Juju aliases (juju/lxdkitspec<run>/amd64) carry the marker in their description
  for (const alias of await lxd.images.listAliases()) if (alias.description.startsWith(marker)) await lxd.images.deleteAlias(alias.name).catch(() => {});
}

const eth = (name: string, parent: string, mac: string, mtu: number) =>
  newInterfaceInfo({ interfaceName: name, interfaceType: 'ethernet', configType: 'dhcp', parentInterfaceName: parent, macAddress: mac, mtu });

describeEachServer('LxdManager against the real daemon', (server) => {
  const TEST_BRIDGE = server.bridge;
  const kind = server.kind;
  let lxd: LxdClient;
  const run = uniqueSuffix();
  const bridge = `${NET_PREFIX}${run}`;
  const model = specModel();
  let mgr: LxdManager;
  let busybox: string;
  // A series of this run only: the host may hold juju/focal/amd64 (or any Juju alias) for its own use.
  const series = `lxdkitspec${run}`;
  const localAlias = `juju/${series}/amd64`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeLeftovers(lxd);
    busybox = (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
    // the local alias Juju looks for, pointing at the busybox test image
    await lxd.images.createAlias({ name: localAlias, target: busybox, description: `${PREFIX}${run}` });
    await lxd.networks.create({ name: bridge, type: 'bridge', config: { 'ipv4.address': 'none', 'ipv6.address': 'none' } });
    mgr = new LxdManager({ 'model-uuid': model, 'availability-zone': 'zone-1' }, { client: lxd, hostArch: 'amd64', openImageRemote: loopbackOnly });
  });

  after(async function () {
    if (!lxd) return;
    await removeLeftovers(lxd, PREFIX, model);
    await lxd.networks.delete(bridge).catch(() => {});
    await lxd.images.deleteAlias(localAlias).catch(() => {});
    await lxd.close();
  });

  const macs = (i: number) => [`00:16:3e:5e:${run.slice(0, 2)}:${(2 * i).toString(16).padStart(2, '0')}`, `00:16:3e:5e:${run.slice(0, 2)}:${(2 * i + 1).toString(16).padStart(2, '0')}`] as const;

  it('creates three containers at once, each with two bridged NICs (MAC and MTU as given), with Juju\'s config', async function () {
    const statuses: string[][] = [[], [], []];
    const results = await Promise.all(
      [0, 1, 2].map((i) => {
        const [m0, m1] = macs(i);
        const net = bridgeNetworkConfig(bridge, 0, [eth('eth0', bridge, m0, 9000), eth('eth1', TEST_BRIDGE, m1, 1400)]);
        return mgr.createContainer({ machineId: `${i}/lxd/${i}`, profiles: ['default'] }, { cores: 1, mem: 256 }, series, net, undefined, (s, info) => void statuses[i]!.push(`${s}: ${info}`));
      }),
    );
    const prefix = mgr.namespace().prefix();
    expect(results.map((r) => r.instance.id)).to.deep.equal([0, 1, 2].map((i) => `${prefix}${i}-lxd-${i}`));
    for (const [i, r] of results.entries()) {
      expect(String(r.instance)).to.equal(`lxd:${r.instance.id}`);
      expect(r.hardware).to.deep.equal({ availabilityZone: 'zone-1' });
      expect(statuses[i]).to.deep.equal(['allocating: Creating container spec', 'allocating: acquiring LXD image', 'allocating: Creating container', 'running: Container started']);
      const [m0, m1] = macs(i);
      const c = (await lxd.instances.get(r.instance.id)).value;
      expect(c.status).to.equal('Running');
      expect(c.profiles).to.deep.equal(['default']);
      expect(c.devices).to.deep.equal({
        eth0: { type: 'nic', nictype: 'bridged', name: 'eth0', parent: bridge, hwaddr: m0, mtu: '9000' },
        eth1: { type: 'nic', nictype: 'bridged', name: 'eth1', parent: TEST_BRIDGE, hwaddr: m1, mtu: '1400' },
      });
      const juju = Object.fromEntries(Object.entries(c.config).filter(([k]) => !k.startsWith('volatile.') && !k.startsWith('image.')));
      expect(Object.keys(juju).sort()).to.deep.equal(['boot.autostart', 'limits.cpu', 'limits.memory', 'user.juju-model', 'user.network-config', 'user.user-data']);
      expect(juju).to.deep.include({ 'boot.autostart': 'true', 'user.juju-model': model, 'user.network-config': CloudInitNetworkConfigDisabled, 'limits.cpu': '1', 'limits.memory': '256MiB' });
      expect(juju['user.user-data']).to.match(/^#cloud-config\n/).and.to.include(`macaddress: ${m0}`).and.to.include(`macaddress: ${m1}`).and.to.include('mtu: 9000');
      expect(c.config['volatile.base_image']).to.equal(busybox);
      // the NICs really are up with the MAC and MTU asked for
      const state = (await lxd.instances.state(r.instance.id)).value;
      expect(state.network?.['eth0']).to.deep.include({ hwaddr: m0, mtu: 9000 });
      expect(state.network?.['eth1']).to.deep.include({ hwaddr: m1, mtu: 1400 });
      expect(await r.instance.status()).to.deep.equal({ status: 'running', message: 'Running' });
    }
  });

  it('lists exactly the namespace\'s containers (any state) among decoys sharing part of the prefix', async function () {
    const prefix = mgr.namespace().prefix(); // juju-xxxxxx-
    const stem = prefix.slice(0, -1); // juju-xxxxxx
    const decoys = [`${stem}x${run}`, `${stem.slice(0, -1)}-${run}`, `${PREFIX}${run}-${prefix}9`];
    for (const name of decoys) {
      await (await lxd.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, config: { 'user.juju-model': model } })).wait({ timeoutMs: 120_000 });
    }
    await (await lxd.instances.setState(`${prefix}1-lxd-1`, { action: 'stop', force: true, timeout: -1 })).wait({ timeoutMs: 60_000 });
    const all = (await lxd.instances.list()).map((i) => i.name).filter((n) => n.startsWith(prefix));
    const listed = (await mgr.listContainers()).map((i) => i.id);
    expect(listed).to.deep.equal(all);
    expect([...listed].sort()).to.deep.equal([0, 1, 2].map((i) => `${prefix}${i}-lxd-${i}`));
    for (const d of decoys) await forceDelete(lxd, d);
  });

  it('writes and assigns a profile, then replaces it and removes the old one', async function () {
    const id = `${mgr.namespace().prefix()}0-lxd-0`;
    const p1 = `${PREFIX}${run}-app-1`;
    const p2 = `${PREFIX}${run}-app-2`;
    const profile = (rev: string) => ({ config: { 'user.app-rev': rev }, description: `app ${rev}`, devices: {} });
    expect(await mgr.assignLXDProfiles(id, ['default', p1], [{ name: p1, profile: profile('1') }])).to.deep.equal(['default', p1]);
    expect(await mgr.lxdProfileNames(id)).to.deep.equal(['default', p1]);
    expect((await lxd.instances.get(id)).value.expanded_config?.['user.app-rev']).to.equal('1');
    // an existing profile is never overwritten
    await mgr.maybeWriteLXDProfile(p1, profile('changed'));
    expect((await lxd.profiles.get(p1)).value.description).to.equal('app 1');
    const got = await mgr.assignLXDProfiles(id, ['default', p2], [{ name: p1 }, { name: p2, profile: profile('2') }]);
    expect(got).to.deep.equal(['default', p2]);
    expect(await lxd.profiles.list({ recursion: 0 })).to.not.include(p1);
    expect((await lxd.instances.get(id)).value.expanded_config?.['user.app-rev']).to.equal('2');
  });

  it('removes the container when it fails to start, and returns LXD\'s start error', async function () {
    const missing = `${NET_PREFIX}no${run}`;
    const calls: string[] = [];
    const err = await rejection(
      mgr.createContainer({ machineId: '7' }, {}, series, bridgeNetworkConfig(missing, 0, [eth('eth0', missing, '00:16:3e:00:00:07', 0)]), undefined, (s, i) => void calls.push(`${s}: ${i}`)),
    );
    expect(err.message).to.include('Failed to start device "eth0"');
    expect(calls.at(-1)).to.equal(`provisioning error: Creating container: ${err.message}`);
    const names = (await lxd.instances.list()).map((i) => i.name);
    expect(names).to.not.include(`${mgr.namespace().prefix()}7`);
  });

  it('destroys every container (running or stopped) and they are gone', async function () {
    for (const inst of await mgr.listContainers()) await mgr.destroyContainer(inst.id);
    expect(await mgr.listContainers()).to.deep.equal([]);
    // Juju reports the daemon's text: Incus names the instance and project in it
    const id = `${mgr.namespace().prefix()}0-lxd-0`;
    expect((await rejection(mgr.destroyContainer(id))).message).to.equal(kind === 'lxd' ? 'Instance not found' : `Failed to fetch instance "${id}" in project "default": Instance not found`);
  });

  describe('the remote image path', function () {
    let images: SimplestreamsServer;
    let dir: string;
    let fingerprint: string;
    const series = 'jammy';
    const alias = `juju/${series}/amd64`;
    // The pull needs a real series, whose alias the host may hold: the spec works in a project of its
    // own, with its own images and aliases, and never sees or touches the host's.
    const project = `${PREFIX}${run}`;
    let inProject: LxdClient;

    before(async function () {
      await lxd.query('POST', '/1.0/projects', { body: { name: project, description: `${PREFIX}${run}`, config: { 'features.images': 'true', 'features.profiles': 'false', 'features.storage.volumes': 'false' } } });
      inProject = lxd.withProject(project);
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-spec-mgr-img-'));
      // metadata tarballs unique to this run, so the daemon has to download the image; one for each
      // daemon, as images.linuxcontainers.org publishes them (lxd.tar.xz, incus.tar.xz), so that the
      // fingerprint says which one the manager chose
      const root = await readFile(join(IMAGE_DIR, 'busybox-rootfs.tar.xz'));
      const metas: Record<string, Buffer> = {};
      for (const daemon of ['lxd', 'incus']) {
        await writeFile(
          join(dir, 'metadata.yaml'),
          `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  os: busybox\n  description: "${PREFIX}${run} for ${daemon}"\n`,
        );
        await execFileP('tar', ['-cJf', join(dir, `${daemon}.tar.xz`), '-C', dir, 'metadata.yaml'], { timeout: 30_000 });
        metas[daemon] = await readFile(join(dir, `${daemon}.tar.xz`));
      }
      const fingerprints = Object.fromEntries(Object.entries(metas).map(([daemon, meta]) => [daemon, sha256(Buffer.concat([meta, root]))]));
      fingerprint = fingerprints[kind]!;
      images = await startSimplestreamsServer({
        https: true,
        streams: [
          {
            contentId: 'images',
            products: [
              {
                name: `busybox:${series}:amd64:default`,
                release: series,
                version: '22.04',
                arch: 'amd64',
                aliases: `22.04,${series}`,
                versions: {
                  '20240101_0000': [
                    ...Object.entries(metas).map(([daemon, meta]) => ({ ftype: `${daemon}.tar.xz`, name: `${daemon}.tar.xz`, content: meta, extra: { combined_rootxz_sha256: fingerprints[daemon], combined_sha256: fingerprints[daemon] } })),
                    { ftype: 'root.tar.xz', name: 'root.tar.xz', content: root },
                  ],
                },
              },
            ],
          },
        ],
      });
    });

    after(async function () {
      await images?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      if (!lxd) return;
      await removeProject(lxd, project);
    });

    it('pulls the image from a simplestreams server on 127.0.0.1 into the local store under juju/<series>/<arch> (the daemon\'s own metadata item: lxd.tar.xz on LXD, incus.tar.xz on Incus)', async function () {
      const remoteMgr = new LxdManager(
        { 'model-uuid': model, 'container-image-metadata-url': images.baseUrl, 'container-image-stream': 'released' },
        { client: inProject, hostArch: 'amd64', imageMetadataCertificate: images.ca!, openImageRemote: loopbackOnly },
      );
      const calls: string[] = [];
      const { instance } = await remoteMgr.createContainer(
        { machineId: '20' },
        {},
        series,
        bridgeNetworkConfig(bridge, 0, [eth('eth0', bridge, '00:16:3e:00:00:20', 0)]),
        undefined,
        (s, i) => void calls.push(`${s}: ${i}`),
      );
      expect((await inProject.images.getAlias(alias)).value.target).to.equal(fingerprint);
      expect((await inProject.instances.get(instance.id)).value.config['volatile.base_image']).to.equal(fingerprint);
      expect(calls.slice(0, 2)).to.deep.equal(['allocating: Creating container spec', 'allocating: acquiring LXD image']);
      const progress = calls.filter((c) => c.startsWith('allocating: Retrieving image: '));
      expect(progress.length).to.be.greaterThan(0);
      expect(calls.slice(-2)).to.deep.equal(['allocating: Creating container', 'running: Container started']);
      expect(images.requests).to.include('streams/v1/index.json');
      await remoteMgr.destroyContainer(instance.id);
      // a second create finds the local alias and does not copy again
      const before = images.requests.length;
      const second = await remoteMgr.createContainer({ machineId: '21' }, {}, series, bridgeNetworkConfig(bridge, 0, [eth('eth0', bridge, '00:16:3e:00:00:21', 0)]));
      expect(images.requests.length).to.equal(before);
      await remoteMgr.destroyContainer(second.instance.id);
    });
  });
});

describeEachServer('LxdInitialiser against the real daemon', (server) => {
  let lxd: LxdClient;
  const run = uniqueSuffix();
  const profile = `${PREFIX}${run}-init`;
  const bridge = `${NET_PREFIX}i${run}`;

  before(async function () {
    lxd = await requireServer(this, server);
    await lxd.profiles.create({ name: profile, description: 'initialiser spec', config: {}, devices: {} });
  });

  after(async function () {
    if (!lxd) return;
    await lxd.profiles.delete(profile).catch(() => {});
    await lxd.networks.delete(bridge).catch(() => {});
    await lxd.close();
  });

  it('gives an empty profile a root disk and a NIC on a new address-less bridge, through the API', async function () {
    const init = new LxdInitialiser({ client: lxd, profile, bridgeName: bridge, bridgeConfig: { 'ipv4.address': 'none', 'ipv6.address': 'none' } });
    await init.initialise();
    expect(init.localBridgeName).to.equal(bridge);
    const net = (await lxd.networks.get(bridge)).value;
    expect(net).to.deep.include({ type: 'bridge', managed: true });
    expect(net.config).to.deep.include({ 'ipv4.address': 'none', 'ipv6.address': 'none' });
    expect((await lxd.profiles.get(profile)).value.devices).to.deep.equal({
      root: { type: 'disk', path: '/', pool: 'default' },
      eth0: { type: 'nic', nictype: 'bridged', parent: bridge },
    });
    // a second run finds everything in place and changes nothing
    const { etag } = await lxd.profiles.get(profile);
    await new LxdInitialiser({ client: lxd, profile, bridgeName: bridge, bridgeConfig: { 'ipv4.address': 'none', 'ipv6.address': 'none' } }).initialise();
    expect((await lxd.profiles.get(profile)).etag).to.equal(etag);
  });
});
