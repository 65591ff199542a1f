/**
 * The cluster parts of the CLI against the fake LXD: `cluster members` (table and --json), `status`
 * with the members, `--target` reaching the client as `withTarget`.
 */
import { expect } from 'chai';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { cli } from './helpers.js';

const members = [
  { server_name: 'm1', url: 'https://127.0.1.1:8443', status: 'Online', message: 'Fully operational', roles: ['database-leader', 'database'], groups: ['default'], database: true, architecture: 'x86_64', failure_domain: 'default', description: '', config: {} },
  { server_name: 'm3', url: 'https://127.0.1.3:8443', status: 'Offline', message: 'No heartbeat for 25s', roles: ['database'], groups: ['default'], database: true, architecture: 'x86_64', failure_domain: 'default', description: '', config: {} },
];

describe('cli: clusters (fake LXD)', () => {
  let fake: FakeLxd;
  let clustered: boolean;

  beforeEach(async () => {
    fake = await startFakeLxd();
    clustered = true;
    fake.on('GET', '/1.0', () => sync(serverInfo({ clustered })));
    fake.on('GET', '/1.0/cluster/members', () => sync(members));
    fake.on('GET', '/1.0/storage-pools', () => sync([]));
    fake.on('GET', '/1.0/networks', () => sync([]));
    fake.on('GET', '/1.0/instances', () =>
      sync([
        { name: 'a', status: 'Running', status_code: 103, type: 'container', location: 'm1' },
        { name: 'b', status: 'Error', status_code: 112, type: 'container', location: 'm3' },
        { name: 'c', status: 'Stopped', status_code: 102, type: 'container', location: 'm3' },
      ]),
    );
  });
  afterEach(async () => {
    await fake.close();
  });

  it('cluster members --json: an array with name, status and url of each member', async () => {
    const r = await cli(['cluster', 'members', '--json', '--socket', fake.socketPath]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { name: string; status: string; url: string; roles: string[] }[];
    expect(out.map((m) => [m.name, m.status, m.url])).to.deep.equal([
      ['m1', 'Online', 'https://127.0.1.1:8443'],
      ['m3', 'Offline', 'https://127.0.1.3:8443'],
    ]);
    expect(out[0]?.roles).to.deep.equal(['database-leader', 'database']);
  });

  it('cluster members: a table for people; a server that is not clustered exits 4 saying so', async () => {
    const r = await cli(['cluster', 'members', '--socket', fake.socketPath]);
    expect(r.stdout.split('\n')[0]).to.match(/^NAME\s+STATUS\s+URL\s+ROLES\s+GROUPS\s+MESSAGE$/);
    expect(r.stdout).to.match(/m3\s+Offline\s+https:\/\/127\.0\.1\.3:8443/);
    clustered = false;
    const no = await cli(['cluster', 'members', '--socket', fake.socketPath]);
    expect(no.code).to.equal(ExitCode.NOT_FOUND);
    expect(no.stderr).to.contain('is not a member of an LXD cluster');
  });

  it('status shows the members, their state and their instances when the server is clustered, and only then', async () => {
    const r = await cli(['status', '--json', '--socket', fake.socketPath]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { cluster?: { members: { name: string; status: string; instances: number }[] } };
    expect(report.cluster?.members.map((m) => [m.name, m.status, m.instances])).to.deep.equal([
      ['m1', 'Online', 1],
      ['m3', 'Offline', 2],
    ]);
    const human = await cli(['status', '--socket', fake.socketPath]);
    expect(human.stdout).to.contain('Cluster members:');
    expect(human.stdout).to.match(/m3\s+Offline\s+\S+\s+database\s+default\s+2\s+No heartbeat for 25s/);
    clustered = false;
    const single = await cli(['status', '--json', '--socket', fake.socketPath]);
    expect(JSON.parse(single.stdout)).to.not.have.property('cluster');
    expect(fake.requestsTo('GET', '/1.0/cluster/members')).to.have.length(2);
  });

  it('demo refuses a bridge whose interface has an address (an unmanaged bridge has no config to say so), and --cluster off a cluster', async () => {
    fake.on('GET', '/1.0', () => sync(serverInfo({ clustered, extensions: ['network', 'network_state', 'clustering'] })));
    fake.on('GET', '/1.0/networks/:name', (r) => sync({ name: r.params['name'], type: 'bridge', managed: false, config: {}, used_by: [] }));
    let addresses = [{ family: 'inet6', address: 'fe80::1', netmask: '64', scope: 'link' }, { family: 'inet', address: '10.9.8.7', netmask: '24', scope: 'global' }];
    fake.on('GET', '/1.0/networks/:name/state', () => sync({ addresses, state: 'up', type: 'broadcast' }));
    const r = await cli(['demo', '--bridge', 'brx', '--socket', fake.socketPath]);
    expect(r.code).to.equal(ExitCode.INVALID_INPUT);
    expect(r.stderr).to.contain('bridge brx has addresses (10.9.8.7)');
    addresses = addresses.slice(0, 1);
    clustered = false;
    const off = await cli(['demo', '--cluster', '--bridge', 'brx', '--socket', fake.socketPath]);
    expect(off.code).to.equal(ExitCode.INVALID_INPUT);
    expect(off.stderr).to.contain('--cluster:');
    expect(fake.requests.filter((q) => q.method !== 'GET')).to.deep.equal([]);
  });

  it('--target reaches LXD as ?target= on the calls of the command', async () => {
    const r = await cli(['status', '--json', '--target', 'm3', '--socket', fake.socketPath]);
    expect(r.code, r.stderr).to.equal(0);
    for (const path of ['/1.0', '/1.0/instances', '/1.0/storage-pools']) {
      expect(fake.requestsTo('GET', path).map((q) => q.query.get('target')), path).to.deep.equal(['m3']);
    }
    const bad = await cli(['status', '--target', 'a/b', '--socket', fake.socketPath]);
    expect(bad.code).to.equal(ExitCode.INVALID_INPUT);
  });
});
