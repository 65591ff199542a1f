/**
 * LxdManager in an LXD cluster (fake LXD): an availability zone that names a member places the
 * container there (as Juju's LXD provider maps zones to members), an explicit `target` wins, otherwise
 * LXD places it; the result says where it landed; listing carries each container's member; a member
 * that cannot be reached fails the create with a typed error naming it.
 */
import { expect } from 'chai';
import { ContainerError, ContainerErrorCode } from '../../../lib/errors.js';
import { LxdManager, LxdManagerError, LxdManagerErrorCode, type LxdManagerOptions } from '../../../lib/container/lxd/index.js';
import { LxdError, LxdErrorCode, type LxdClient } from '../../../lib/lxd/index.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { installWorld, type World } from './world.js';

const UUID = 'deadbeef-0bad-400d-8000-4b1d0d06f00d';
const FP = 'a'.repeat(64);
const MEMBERS = ['m1', 'm2', 'm3'];

describe('LxdManager in a cluster (fake LXD)', () => {
  let fake: FakeLxd;
  let world: World;
  let client: LxdClient;
  /** Where each instance went: the create's ?target=, else where "LXD" put it (m1). */
  let location: Map<string, string>;
  let clustered: boolean;

  beforeEach(async () => {
    fake = await startFakeLxd();
    world = installWorld(fake);
    world.images.set(FP, { fingerprint: FP, filename: 'busybox.tar.xz' });
    world.aliases.set('juju/focal/amd64', FP);
    location = new Map();
    clustered = true;
    fake.on('GET', '/1.0', () => sync(serverInfo({ clustered })));
    fake.on('GET', '/1.0/cluster/members', () => sync(MEMBERS.map((m) => `/1.0/cluster/members/${m}`)));
    // Creates remember their target; instances are read back with their location.
    fake.on('POST', '/1.0/instances', (r) => {
      const target = r.query.get('target');
      if (target === 'm3') return lxdError(500, 'Post "https://127.0.1.3:8443/1.0/instances?project=default&target=m3": Unable to connect to: 127.0.1.3:8443 ([dial tcp 127.0.1.3:8443: connect: connection refused])');
      const b = r.body as { name: string; config?: Record<string, string>; profiles?: string[] };
      world.instances.set(b.name, { name: b.name, type: 'container', status: 'Stopped', config: b.config ?? {}, devices: {}, profiles: b.profiles ?? ['default'], architecture: 'x86_64', body: b });
      location.set(b.name, clustered ? (target ?? 'm1') : 'none');
      return fake.operation();
    });
    const view = (name: string) => {
      const i = world.instances.get(name)!;
      return { name, type: 'container', status: i.status, status_code: i.status === 'Running' ? 103 : 102, config: i.config, devices: {}, profiles: i.profiles, location: location.get(name) };
    };
    fake.on('GET', '/1.0/instances/:name', (r) => (world.instances.has(r.params['name']!) ? sync(view(r.params['name']!)) : lxdError(404, 'Instance not found')));
    fake.on('GET', '/1.0/instances', () => sync([...world.instances.keys()].map(view)));
    client = fake.client();
  });
  afterEach(async () => {
    await fake.close();
  });

  const manager = (cfg: Record<string, string> = {}, opts: LxdManagerOptions = {}) =>
    new LxdManager({ 'model-uuid': UUID, ...cfg }, { client, hostArch: 'amd64', generateMacAddress: () => '00:16:3e:00:00:00', sleep: async () => {}, ...opts });
  const create = (mgr: LxdManager, machineId: string, target?: string) => mgr.createContainer({ machineId }, {}, 'focal', undefined, undefined, undefined, target === undefined ? {} : { target });
  const createTargets = () => fake.requestsTo('POST', '/1.0/instances').map((r) => r.query.get('target'));

  it('an availability zone that names a member places the container there and reports it', async () => {
    const r = await create(manager({ 'availability-zone': 'm2' }), '0');
    expect(createTargets()).to.deep.equal(['m2']);
    expect(r.instance.location).to.equal('m2');
    expect(r.hardware).to.deep.equal({ availabilityZone: 'm2' });
    expect(r.instance.lxdStatus).to.equal('Running');
  });

  it('an explicit target wins over the zone', async () => {
    const r = await create(manager({ 'availability-zone': 'm2' }), '1', 'm1');
    expect(createTargets()).to.deep.equal(['m1']);
    expect(r.hardware.availabilityZone).to.equal('m1');
  });

  it('no zone, or a zone that is no member: LXD places it, and the result says where', async () => {
    const plain = await create(manager(), '2');
    const elsewhere = await create(manager({ 'availability-zone': 'us-east-1a' }), '3');
    expect(createTargets()).to.deep.equal([null, null]);
    expect(plain.instance.location).to.equal('m1');
    expect(elsewhere.hardware.availabilityZone).to.equal('m1');
    // the members are read once per manager, and only when a zone has to be matched
    expect(fake.requestsTo('GET', '/1.0/cluster/members')).to.have.length(1);
  });

  it('a server that is not clustered: no target, no member lookup; the zone is reported as Juju does', async () => {
    clustered = false;
    const r = await create(manager({ 'availability-zone': 'zone-a' }), '4');
    expect(createTargets()).to.deep.equal([null]);
    expect(fake.requestsTo('GET', '/1.0/cluster/members')).to.have.length(0);
    expect(r.instance.location).to.equal(undefined);
    expect(r.hardware).to.deep.equal({ availabilityZone: 'zone-a' });
  });

  it('a member that cannot be reached: LXD_MANAGER_ERR_MEMBER_UNREACHABLE naming it, the status callback told, nothing made', async () => {
    const statuses: string[] = [];
    const err = await rejection(manager({ 'availability-zone': 'm3' }).createContainer({ machineId: '5' }, {}, 'focal', undefined, undefined, (s, info) => statuses.push(`${s}: ${info}`)));
    expect(LxdManagerError.is(err, LxdManagerErrorCode.MEMBER_UNREACHABLE)).to.equal(true);
    expect(err.message).to.match(/^cluster member "m3" \(127\.0\.1\.3:8443\) is unreachable: /);
    expect(LxdError.is((err as LxdManagerError).cause, LxdErrorCode.MEMBER_UNREACHABLE)).to.equal(true);
    expect(statuses.at(-1)).to.match(/^provisioning error: Creating container: cluster member "m3"/);
    expect(world.instances.size).to.equal(0);
  });

  it('listContainers: every member, each container with its member and the status LXD listed', async () => {
    const mgr = manager();
    await create(mgr, '0', 'm1');
    await create(mgr, '1', 'm2');
    world.instances.get('juju-06f00d-1')!.status = 'Stopped';
    const listed = await mgr.listContainers();
    expect(listed.map((i) => [i.id, i.location, i.lxdStatus])).to.deep.equal([
      ['juju-06f00d-0', 'm1', 'Running'],
      ['juju-06f00d-1', 'm2', 'Stopped'],
    ]);
  });

  it('a bad target is refused before any I/O', async () => {
    const before = fake.requests.length;
    const err = await rejection(create(manager(), '0', 'a/b'));
    expect(ContainerError.is(err, ContainerErrorCode.NOT_VALID)).to.equal(true);
    expect(fake.requests.length).to.equal(before);
  });
});
