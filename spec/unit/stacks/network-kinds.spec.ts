import { expect } from 'chai';
import { apply, exportStack, plan, stackFromObject, parseStackText, mergeStacks, StackError, StackErrorCode, STACK_MARKER, type Plan } from '../../../lib/stacks/index.js';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { serverInfo } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { emptyWorld, etagOf, NETWORK_EXTENSIONS, startFakeStackServer, type FakeStackServer } from '../../helpers/fake-stack-server.js';

const stackOf = (text: string) => mergeStacks([parseStackText(text, 'stack.yaml')]);
const actions = (p: Plan) => p.steps.map((s) => `${s.action} ${s.id}`);
const baseExtensions = (serverInfo() as { api_extensions: string[] }).api_extensions;
const changing = (p: Plan) => p.steps.filter((s) => s.action !== 'unchanged').map((s) => `${s.action} ${s.id} ${JSON.stringify(s.changes)}`);

describe('stacks: network ACLs, zones with records and forwards on a simulated server', () => {
  let server: FakeStackServer;
  let client: LxdClient;
  const start = async (extensions: readonly string[] = [...baseExtensions, ...NETWORK_EXTENSIONS], kind: 'lxd' | 'incus' = 'lxd') => {
    server = await startFakeStackServer(emptyWorld(), { extensions, server: kind });
    client = server.fake.client();
  };
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  const acls = [
    'name: s1',
    'network_acls:',
    '  - name: web',
    '    description: web traffic',
    '    ingress:',
    '      - { action: allow, protocol: tcp, destination_port: "80,443" }',
    '    egress:',
    '      - { action: drop, destination: 192.0.2.0/24 }',
    'networks:',
    '  - name: br-web',
    '    config: { ipv4.address: none, ipv6.address: none, security.acls: web }',
    'profiles:',
    '  - name: nic',
    '    devices:',
    '      eth0: { type: nic, network: br-web, security.acls: web }',
    '',
  ].join('\n');

  it('creates ACLs before the networks and NICs that name them, plans nothing after, repairs drift with the ETag, prunes only its own', async () => {
    await start();
    const p = await plan(stackOf(acls), client);
    expect(actions(p)).to.deep.equal(['create network_acls:default/web', 'create networks:default/br-web', 'create profiles:default/nic']);
    expect(p.steps[1]!.deps).to.deep.equal(['network_acls:default/web']);
    // a creation shows the rules as they read, not as objects
    expect(p.steps[0]!.changes).to.deep.equal([
      { path: 'description', from: '', to: 'web traffic' },
      { path: 'ingress', from: '(none)', to: 'allow tcp port 80,443' },
      { path: 'egress', from: '(none)', to: 'drop to 192.0.2.0/24' },
    ]);
    expect(p.steps[2]!.deps).to.deep.equal(['networks:default/br-web', 'network_acls:default/web']);
    await apply(p, client);
    const web = server.world.acls.get('default')!.get('web')!;
    expect(web['config']).to.deep.equal({ [STACK_MARKER]: 's1' });
    expect(web['ingress']).to.deep.equal([{ action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '80,443' }]);
    const posts = server.fake.requests.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(posts.indexOf('/1.0/network-acls')).to.be.lessThan(posts.indexOf('/1.0/networks'));
    expect((await plan(stackOf(acls), client)).changed).to.equal(false);

    // drift: a rule changed by hand, and a config key
    web['ingress'] = [{ action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '22' }];
    const drift = await plan(stackOf(acls), client);
    expect(changing(drift)).to.deep.equal([`update network_acls:default/web ${JSON.stringify([{ path: 'ingress', from: 'allow tcp port 22', to: 'allow tcp port 80,443' }])}`]);
    const etag = etagOf(web);
    await apply(drift, client);
    expect(server.fake.requests.find((r) => r.method === 'PUT' && r.path === '/1.0/network-acls/web')!.headers['if-match']).to.equal(etag);
    expect(web['ingress']).to.deep.equal([{ action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '80,443' }]);
    expect(web['config']).to.deep.equal({ [STACK_MARKER]: 's1' });
    expect((await plan(stackOf(acls), client)).changed).to.equal(false);

    // prune: its own ACL goes (after the network that used it), one made by hand stays
    server.world.acls.get('default')!.set('hand', { name: 'hand', description: '', config: {}, ingress: [], egress: [], used_by: [] });
    const pruned = await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(actions(pruned)).to.deep.equal(['delete network_acls:default/web', 'delete networks:default/br-web', 'delete profiles:default/nic']);
    await apply(pruned, client);
    const deletes = server.fake.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
    expect(deletes.indexOf('/1.0/networks/br-web')).to.be.lessThan(deletes.indexOf('/1.0/network-acls/web'));
    expect([...server.world.acls.get('default')!.keys()]).to.deep.equal(['hand']);
  });

  const zones = [
    'name: s1',
    'network_zones:',
    '  - name: lxdkit.example',
    '    config: { dns.nameservers: ns1.lxdkit.example }',
    '    records:',
    '      - name: www',
    '        entries: [{ type: A, value: 192.0.2.10 }, { type: AAAA, value: "2001:db8::10", ttl: 300 }]',
    '      - name: mail',
    '        description: mail server',
    '        entries: [{ type: A, value: 192.0.2.25 }]',
    'networks:',
    '  - name: br-dns',
    '    config: { ipv4.address: none, ipv6.address: none, dns.zone.forward: lxdkit.example }',
    '',
  ].join('\n');

  it('creates a zone with its records, repairs a record changed by hand, deletes a record taken out of the stack but not one made by hand', async () => {
    await start();
    const p = await plan(stackOf(zones), client);
    expect(actions(p)).to.deep.equal(['create network_zones:default/lxdkit.example', 'create networks:default/br-dns']);
    expect(p.steps[1]!.deps).to.deep.equal(['network_zones:default/lxdkit.example']);
    expect(p.steps[0]!.changes.map((c) => `${c.path}: ${String(c.to)}`)).to.deep.equal([
      'config.dns.nameservers: ns1.lxdkit.example',
      'records.www: A 192.0.2.10, AAAA 2001:db8::10 (ttl 300)',
      'records.mail: A 192.0.2.25',
    ]);
    await apply(p, client);
    const records = server.world.records.get('default/lxdkit.example')!;
    expect([...records.keys()]).to.deep.equal(['www', 'mail']);
    expect(records.get('www')).to.deep.include({ entries: [{ type: 'A', value: '192.0.2.10' }, { type: 'AAAA', value: '2001:db8::10', ttl: 300 }], config: { [STACK_MARKER]: 's1' } });
    expect(server.world.zones.get('default')!.get('lxdkit.example')!['config']).to.deep.equal({ 'dns.nameservers': 'ns1.lxdkit.example', [STACK_MARKER]: 's1' });
    expect((await plan(stackOf(zones), client)).changed).to.equal(false);

    // drift in a record, and a record made by hand
    records.get('www')!['entries'] = [{ type: 'A', value: '192.0.2.99' }];
    records.set('hand', { name: 'hand', description: '', entries: [{ type: 'TXT', value: 'x' }], config: {} });
    const drift = await plan(stackOf(zones), client);
    expect(changing(drift)).to.deep.equal([
      `update network_zones:default/lxdkit.example ${JSON.stringify([{ path: 'records.www.entries', from: 'A 192.0.2.99', to: 'A 192.0.2.10, AAAA 2001:db8::10 (ttl 300)' }])}`,
    ]);
    await apply(drift, client);
    expect(records.get('www')!['entries']).to.deep.equal([{ type: 'A', value: '192.0.2.10' }, { type: 'AAAA', value: '2001:db8::10', ttl: 300 }]);
    expect((await plan(stackOf(zones), client)).changed).to.equal(false);

    // `mail` taken out of the stack: deleted; `hand` stays
    const fewer = zones.replace(/      - name: mail\n.*\n.*\n/, '');
    const less = await plan(stackOf(fewer), client);
    expect(changing(less)).to.deep.equal([`update network_zones:default/lxdkit.example ${JSON.stringify([{ path: 'records.mail', from: 'A 192.0.2.25' }])}`]);
    await apply(less, client);
    expect([...records.keys()].sort()).to.deep.equal(['hand', 'www']);

    // export plans to zero, records included
    const exported = await exportStack(client, { name: 'again' });
    expect((exported.network_zones as { records: { name: string }[] }[])[0]!.records.map((r) => r.name).sort()).to.deep.equal(['hand', 'www']);
    expect(changing(await plan(stackFromObject(exported), client))).to.deep.equal([]);

    // prune keeps a zone that holds a record made by hand, and says why; without it, its records go first, then the zone
    const kept = await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(actions(kept)).to.deep.equal(['keep network_zones:default/lxdkit.example', 'delete networks:default/br-dns']);
    expect(kept.steps[0]!.reason).to.equal('holds 1 record the stack did not create (hand)');
    await apply(kept, client);
    expect(records.has('hand')).to.equal(true);
    records.delete('hand');
    await apply(await plan(stackOf('name: s1\n'), client, { prune: true }), client);
    expect(server.world.zones.get('default')!.size).to.equal(0);
    expect(server.world.networks.get('default')!.has('br-dns')).to.equal(false);
  });

  it('creates a forward on its network, keyed by network and listen address, and repairs its ports', async () => {
    await start();
    const text = [
      'name: s1',
      'network_forwards:',
      '  - network: lxdkitbr0',
      '    listen_address: 192.0.2.1',
      '    ports:',
      '      - { protocol: tcp, listen_port: "80", target_address: 192.0.2.2, target_port: "8080" }',
      '',
    ].join('\n');
    const p = await plan(stackOf(text), client);
    expect(actions(p)).to.deep.equal(['create network_forwards:default/lxdkitbr0/192.0.2.1']);
    await apply(p, client);
    const fwd = server.world.forwards.get('default/lxdkitbr0')!.get('192.0.2.1')!;
    expect(fwd['ports']).to.deep.equal([{ protocol: 'tcp', listen_port: '80', target_address: '192.0.2.2', target_port: '8080' }]);
    expect(fwd['config']).to.deep.equal({ [STACK_MARKER]: 's1' });
    expect((await plan(stackOf(text), client)).changed).to.equal(false);
    fwd['ports'] = [];
    const drift = await plan(stackOf(text), client);
    expect(changing(drift)).to.deep.equal([`update network_forwards:default/lxdkitbr0/192.0.2.1 ${JSON.stringify([{ path: 'ports', from: '(none)', to: 'tcp/80 → 192.0.2.2:8080' }])}`]);
    await apply(drift, client);
    expect(changing(await plan(stackFromObject(await exportStack(client, { name: 'again' })), client))).to.deep.equal([]);
    await apply(await plan(stackOf('name: s1\n'), client, { prune: true }), client);
    expect(server.world.forwards.get('default/lxdkitbr0')!.size).to.equal(0);
  });

  it('counts every listing it makes: records per zone, forwards per network, still no GET per resource', async () => {
    await start();
    await apply(await plan(stackOf(zones), client), client);
    const before = server.fake.requests.length;
    const p = await plan(stackOf(zones), client, { prune: true });
    const made = server.fake.requests.slice(before).filter((r) => r.path !== '/1.0');
    expect(made.every((r) => r.method === 'GET' && r.query.get('recursion') === '1'), made.map((r) => r.path).join(' ')).to.equal(true);
    expect(made.map((r) => r.path).filter((x) => x.startsWith('/1.0/network'))).to.have.members([
      '/1.0/network-acls', '/1.0/network-zones', '/1.0/network-zones/lxdkit.example/records', '/1.0/networks', '/1.0/networks',
      '/1.0/networks/lxdkitbr0/forwards', '/1.0/networks/br-dns/forwards',
    ]);
    expect(p.listings).to.equal(made.length);
    // forwards are listed only for a stack that has some, or for prune: nothing else refers to them
    const after = server.fake.requests.length;
    const plain = await plan(stackOf('name: s1\n'), client);
    const paths = server.fake.requests.slice(after).map((r) => r.path);
    expect(paths.filter((x) => x.endsWith('/forwards'))).to.deep.equal([]);
    expect(plain.listings).to.equal(paths.filter((x) => x !== '/1.0').length);
    const pruning = server.fake.requests.length;
    await plan(stackOf('name: s1\n'), client, { prune: true });
    expect(server.fake.requests.slice(pruning).filter((r) => r.path.endsWith('/forwards'))).to.have.length(2);
  });

  it('refuses references to an ACL, a zone or a forward\'s network that are nowhere, before any change', async () => {
    await start();
    const cases: [string, RegExp][] = [
      ['name: s1\nnetworks:\n  - name: n\n    config: { security.acls: "a, missing" }\nnetwork_acls:\n  - name: a\n', /stack\.yaml:3: networks\.0\.config\.security\.acls: network ACL "missing" is neither in the stack nor on the server/],
      ['name: s1\nprofiles:\n  - name: p\n    devices:\n      eth0: { type: nic, network: lxdkitbr0, security.acls: nope }\n', /profiles\.0\.devices\.eth0\.security\.acls: network ACL "nope" is neither/],
      ['name: s1\nnetworks:\n  - name: n\n    config: { dns.zone.forward: nope.example }\n', /networks\.0\.config\.dns\.zone\.forward: network zone "nope\.example" is neither/],
      ['name: s1\nnetwork_forwards:\n  - network: nope\n    listen_address: 192.0.2.1\n', /network_forwards\.0\.network: network "nope" is neither/],
    ];
    for (const [text, message] of cases) {
      const err = await rejection(plan(stackOf(text), client));
      expect(StackError.is(err, StackErrorCode.REFERENCE), err.message).to.equal(true);
      expect(err.message).to.match(message);
    }
    expect(server.writes()).to.deep.equal([]);
  });

  it('says which items a server lacks the API extension for, each with its file and line, before any change', async () => {
    await start(baseExtensions);
    const text = `${zones}network_acls:\n  - name: a\nnetwork_forwards:\n  - network: lxdkitbr0\n    listen_address: 192.0.2.1\nprofiles:\n  - name: p\n`;
    const err = await rejection(plan(stackOf(text), client));
    expect(StackError.is(err, StackErrorCode.UNSUPPORTED)).to.equal(true);
    const lines = err.message.split('\n').slice(1);
    expect(lines).to.deep.equal([
      '  stack.yaml:15: network_acls.0: network ACL needs the API extension "network_acl", which this server does not have',
      '  stack.yaml:3: network_zones.0: network zone needs the API extension "network_dns", which this server does not have',
      '  stack.yaml:17: network_forwards.0: network forward needs the API extension "network_forward", which this server does not have',
    ]);
    expect(server.writes()).to.deep.equal([]);
    // without any of them in the stack, the server is not asked for those kinds at all
    const p = await plan(stackOf('name: s1\nprofiles:\n  - name: p\n'), client);
    expect(actions(p)).to.deep.equal(['create profiles:default/p']);
    expect(server.fake.requests.some((r) => r.path.startsWith('/1.0/network-'))).to.equal(false);
  });

  it('names the keys only the other server has, and a stateless ACL rule where the extension is missing', async () => {
    const text = [
      'name: s1',
      'projects:',
      '  - name: p',
      '    config: { features.networks.zones: "true" }',
      'profiles:',
      '  - name: a',
      '    config: { security.guestapi: "false" }',
      '  - name: b',
      '    config: { security.devlxd: "false" }',
      'network_acls:',
      '  - name: s',
      '    ingress: [{ action: allow-stateless }]',
      '',
    ].join('\n');
    await start([...baseExtensions, ...NETWORK_EXTENSIONS], 'lxd');
    const onLxd = await rejection(plan(stackOf(text), client));
    expect(StackError.is(onLxd, StackErrorCode.UNSUPPORTED)).to.equal(true);
    expect(onLxd.message.split('\n').slice(1)).to.deep.equal([
      '  stack.yaml:3: projects.0.config.features.networks.zones: needs the API extension "projects_networks_zones", which this server does not have (without it, zones follow features.networks)',
      '  stack.yaml:6: profiles.0.config.security.guestapi: only Incus has this key (LXD calls it security.devlxd)',
      '  stack.yaml:11: network_acls.0.ingress.0.action: needs the API extension "network_acl_stateless", which this server does not have',
    ]);
    expect(server.writes()).to.deep.equal([]);
    await client.close();
    await server.close();

    await start([...baseExtensions, ...NETWORK_EXTENSIONS, 'projects_networks_zones', 'network_acl_stateless'], 'incus');
    const onIncus = await rejection(plan(stackOf(text), client));
    expect(onIncus.message.split('\n').slice(1)).to.deep.equal(['  stack.yaml:8: profiles.1.config.security.devlxd: only LXD has this key (Incus calls it security.guestapi)']);
    expect(server.writes()).to.deep.equal([]);
  });
});

describe('stacks: plan and export with a signal', () => {
  it('does not overload the caller\'s signal with listeners, however many listings run side by side', async () => {
    const world = emptyWorld();
    // many networks: one forwards listing each, side by side
    for (let i = 0; i < 20; i++) world.networks.get('default')!.set(`br${i}`, { name: `br${i}`, type: 'bridge', description: '', config: {}, managed: true, status: 'Created', used_by: [] });
    const server = await startFakeStackServer(world, { extensions: [...baseExtensions, ...NETWORK_EXTENSIONS] });
    const client = server.fake.client();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const signal = new AbortController().signal;
      await plan(stackOf('name: s1\n'), client, { signal });
      await exportStack(client, { signal });
      await new Promise((r) => setImmediate(r));
      expect(warnings).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await client.close();
      await server.close();
    }
  });
});

describe('stacks: pools and networks on a cluster', () => {
  it('are created pending on each member with its own keys, then globally with the rest; on one server with one request', async () => {
    const server = await startFakeStackServer(emptyWorld());
    server.fake.on('GET', '/1.0', () => ({ body: { type: 'sync', status: 'Success', status_code: 200, metadata: serverInfo({ clustered: true }) } }));
    server.fake.on('GET', '/1.0/cluster/members', () => ({
      body: { type: 'sync', status: 'Success', status_code: 200, metadata: ['m1', 'm2'].map((n) => ({ server_name: n, url: `https://127.0.1.1:8443`, status: 'Online', roles: [], groups: [] })) },
    }));
    // a member's pending part, then the global create that needs one on every member
    const pending = new Map<string, string[]>();
    // as a member shows it: the global config with its own keys
    const memberConfig = new Map<string, Record<string, string>>();
    for (const [path, map] of [['/1.0/storage-pools', server.world.pools], ['/1.0/networks', server.world.networks.get('default')!]] as const) {
      server.fake.on('POST', path, (req) => {
        const body = req.body as { name: string; config: Record<string, string> };
        const target = req.query.get('target');
        if (target !== null) {
          pending.set(body.name, [...(pending.get(body.name) ?? []), target]);
          memberConfig.set(body.name, body.config);
          return { body: { type: 'sync', status: 'Success', status_code: 200, metadata: null } };
        }
        if ((pending.get(body.name) ?? []).length !== 2) return { status: 400, body: { type: 'error', error: 'Pool not pending on any node (use --target <node> first)', error_code: 400 } };
        map.set(body.name, { description: '', used_by: [], status: 'Created', managed: true, type: 'bridge', ...body, config: { ...memberConfig.get(body.name), ...body.config } });
        return { body: { type: 'sync', status: 'Success', status_code: 200, metadata: null } };
      });
    }
    const client = server.fake.client();
    try {
      const text = 'name: s1\nstorage_pools:\n  - name: fast\n    driver: dir\n    config: { source: /srv/fast, rsync.bwlimit: "10" }\nnetworks:\n  - name: brc\n    config: { ipv4.address: none, ipv6.address: none, bridge.external_interfaces: eth9 }\n';
      await apply(await plan(stackOf(text), client), client);
      const posts = (path: string) =>
        server.fake.requests.filter((r) => r.method === 'POST' && r.path === path).map((r) => `${r.query.get('target') ?? 'global'} ${JSON.stringify((r.body as { config: unknown }).config)}`);
      expect(posts('/1.0/storage-pools')).to.deep.equal(['m1 {"source":"/srv/fast"}', 'm2 {"source":"/srv/fast"}', `global {"rsync.bwlimit":"10","${STACK_MARKER}":"s1"}`]);
      expect(posts('/1.0/networks')).to.deep.equal(['m1 {"bridge.external_interfaces":"eth9"}', 'm2 {"bridge.external_interfaces":"eth9"}', `global {"ipv4.address":"none","ipv6.address":"none","${STACK_MARKER}":"s1"}`]);
      // a pool left pending by an interrupted apply is created again
      server.world.pools.set('half', { name: 'half', driver: 'dir', description: '', config: {}, status: 'Pending', locations: ['m1'], used_by: [] });
      pending.set('half', ['m1']);
      const pools = 'name: s1\nstorage_pools:\n  - name: fast\n    driver: dir\n    config: { source: /srv/fast, rsync.bwlimit: "10" }\n  - name: half\n    driver: dir\n';
      const again = await plan(stackOf(pools), client);
      expect(again.steps.filter((s) => s.action !== 'unchanged').map((s) => `${s.action} ${s.id}`)).to.deep.equal(['create storage_pools:half']);
      // the next apply passes over the member it is pending on
      server.world.pools.get('half')!['status'] = 'Pending';
      const before = server.fake.requests.length;
      server.fake.on('GET', '/1.0/storage-pools/half', () => ({ body: { type: 'sync', status: 'Success', status_code: 200, metadata: { name: 'half', driver: 'dir', description: '', config: {}, status: 'Pending', locations: ['m1'], used_by: [] } } }));
      server.world.pools.delete('half');
      await apply(again, client);
      const made = server.fake.requests.slice(before).filter((r) => r.method === 'POST').map((r) => r.query.get('target') ?? 'global');
      expect(made).to.deep.equal(['m2', 'global']);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
