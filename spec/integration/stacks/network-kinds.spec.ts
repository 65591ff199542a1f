/**
 * Network ACLs and network zones with their records in stacks, on the real LXD and Incus: apply, a
 * second plan that finds nothing (exit 0), drift made with `lxc` / `incus` (plan exits 2, apply
 * repairs it), prune that spares an ACL made by hand, an export that plans to zero changes; and a key
 * only the other server has, named by the plan before any change. Everything is named
 * `lxdkit-spec-stk2-<random>` (the bridge `lxstk2<random>`, without any address) and removed
 * afterwards with the leftovers of earlier runs. Forwards need an addressed network: they are specified
 * on the simulated server only (spec/unit/stacks/network-kinds.spec.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { exportStack, parseStackText, mergeStacks, plan, stackFromObject, StackError, StackErrorCode } from '../../../lib/stacks/index.js';
import { cli } from '../../unit/cli/helpers.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { uniqueSuffix } from '../../helpers/lxd-env.js';
import { rejection } from '../../helpers/rejection.js';

const execFileP = promisify(execFile);
async function run(tool: string, args: string[]): Promise<void> {
  const p = execFileP(tool, args, { timeout: 60_000 });
  p.child.stdin?.end();
  await p;
}
const PREFIX = 'lxdkit-spec-stk2-';
const NET_PREFIX = 'lxstk2';

async function removeLeftovers(client: LxdClient): Promise<void> {
  for (const n of await client.networks.list()) if (n.managed && n.name.startsWith(NET_PREFIX)) await client.networks.delete(n.name);
  for (const z of await client.networkZones.list()) {
    if (!z.name.startsWith(PREFIX)) continue;
    for (const r of await client.networkZones.records.list(z.name, { recursion: 0 })) await client.networkZones.records.delete(z.name, r);
    await client.networkZones.delete(z.name);
  }
  for (const a of await client.networkAcls.list({ recursion: 0 })) if (a.startsWith(PREFIX)) await client.networkAcls.delete(a);
  for (const p of await client.profiles.list({ recursion: 0 })) if (p.startsWith(PREFIX)) await client.profiles.delete(p);
}

function stackText(name: string, acl: string, zone: string, network: string, opts: { withMail?: boolean } = {}): string {
  return `name: ${name}
network_acls:
  - name: ${acl}
    description: web traffic
    ingress:
      - { action: allow, protocol: tcp, destination_port: "80,443" }
    egress:
      - { action: drop, destination: 192.0.2.0/24 }
network_zones:
  - name: ${zone}
    description: stack zone
    records:
      - name: www
        entries: [{ type: A, value: 192.0.2.10 }, { type: AAAA, value: "2001:db8::10", ttl: 300 }]
${opts.withMail === false ? '' : `      - name: mail
        description: mail
        entries: [{ type: A, value: 192.0.2.25 }]
`}networks:
  - name: ${network}
    config:
      ipv4.address: none
      ipv6.address: none
      security.acls: ${acl}
      dns.zone.forward: ${zone}
`;
}

describeEachServer('stacks: network ACLs and zones with records', function (server) {
  let client: LxdClient;
  let dir: string;
  const suffix = uniqueSuffix();
  const name = `${PREFIX}${suffix}`;
  const acl = `${PREFIX}${suffix}`;
  const zone = `${PREFIX}${suffix}.example`;
  const network = `${NET_PREFIX}${suffix}`;
  const tool = server.kind === 'incus' ? 'incus' : 'lxc';
  const lxdkit = (...args: string[]) => cli(['--server', server.kind, ...args], { cwd: dir });

  before(async function () {
    client = await requireServer(this, server);
    await removeLeftovers(client);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-spec-stk2-'));
    writeFileSync(join(dir, 'stack.yaml'), stackText(name, acl, zone, network));
  });
  after(async function () {
    if (!client) return;
    await removeLeftovers(client);
    await client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('plan exits 2, apply makes the ACL, the zone with its records and the network that names them, a second plan exits 0', async function () {
    const before = await lxdkit('plan', 'stack.yaml');
    expect(before.code, before.stderr).to.equal(2);
    const applied = await lxdkit('apply', 'stack.yaml');
    expect(applied.code, applied.stderr).to.equal(0);
    const a = (await client.networkAcls.get(acl)).value;
    expect(a.config['user.lxdkit.stack']).to.equal(name);
    expect(a.ingress.map((r) => [r.action, r.protocol, r.destination_port])).to.deep.equal([['allow', 'tcp', '80,443']]);
    const records = await client.networkZones.records.list(zone);
    expect(records.map((r) => r.name).sort()).to.deep.equal(['mail', 'www']);
    expect(records.find((r) => r.name === 'www')!.config['user.lxdkit.stack']).to.equal(name);
    expect((await client.networks.get(network)).value.config).to.include({ 'security.acls': acl, 'dns.zone.forward': zone, 'ipv4.address': 'none' });
    const again = await lxdkit('plan', 'stack.yaml');
    expect(again.code, again.stdout).to.equal(0);
  });

  it(`a change made with ${tool} makes plan exit 2, and apply repairs it`, async function () {
    await run(tool, ['network', 'acl', 'rule', 'add', acl, 'ingress', 'action=allow', 'protocol=tcp', 'destination_port=22']);
    await run(tool, ['network', 'zone', 'record', 'entry', 'add', zone, 'www', 'TXT', 'drift']);
    const drift = await lxdkit('--json', 'plan', 'stack.yaml');
    expect(drift.code, drift.stderr).to.equal(2);
    const steps = (JSON.parse(drift.stdout) as { steps: { kind: string; action: string; changes: { path: string }[] }[] }).steps.filter((s) => s.action !== 'unchanged');
    expect(steps.map((s) => `${s.action} ${s.kind} ${s.changes.map((c) => c.path).join(',')}`)).to.deep.equal(['update network_acls ingress', 'update network_zones records.www.entries']);
    const fixed = await lxdkit('apply', 'stack.yaml');
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect((await client.networkAcls.get(acl)).value.ingress).to.have.length(1);
    expect((await client.networkZones.records.get(zone, 'www')).value.entries.map((e) => e.type)).to.deep.equal(['A', 'AAAA']);
    expect((await lxdkit('plan', 'stack.yaml')).code).to.equal(0);
  });

  it('export writes ACLs and zones with their records as a stack that plans to zero changes', async function () {
    const exported = await exportStack(client, { projects: ['default'], name });
    // only this spec's resources: other resources on the shared server change under it
    const mine = {
      name,
      network_acls: (exported.network_acls ?? []).filter((a) => a.name === acl),
      network_zones: (exported.network_zones ?? []).filter((z) => z.name === zone),
      networks: (exported.networks ?? []).filter((n) => n.name === network),
    };
    expect(mine.network_zones[0]!.records.map((r) => r.name).sort()).to.deep.equal(['mail', 'www']);
    const p = await plan(stackFromObject(mine), client);
    expect(p.steps.filter((s) => s.action !== 'unchanged').map((s) => `${s.action} ${s.id} ${JSON.stringify(s.changes)}`)).to.deep.equal([]);
    expect(p.steps).to.have.length(3);
  });

  it('prune removes a record and what the stack made, spares an ACL and a record made by hand, and keeps the zone that holds it', async function () {
    await run(tool, ['network', 'acl', 'create', `${acl}-hand`]);
    await run(tool, ['network', 'zone', 'record', 'create', zone, 'hand']);
    writeFileSync(join(dir, 'less.yaml'), stackText(name, acl, zone, network, { withMail: false }));
    expect((await lxdkit('apply', '--prune', 'less.yaml')).code).to.equal(0);
    expect((await client.networkZones.records.list(zone, { recursion: 0 })).sort()).to.deep.equal(['hand', 'www']);
    writeFileSync(join(dir, 'empty.yaml'), `name: ${name}\n`);
    const planned = async () => {
      const r = await lxdkit('--json', 'plan', '--prune', 'empty.yaml');
      return (JSON.parse(r.stdout) as { steps: { kind: string; key: string; action: string; reason?: string }[] }).steps.map((s) => `${s.action} ${s.kind}:${s.key}${s.reason ? ` (${s.reason})` : ''}`);
    };
    expect(await planned()).to.deep.equal([
      `delete network_acls:default/${acl}`,
      `keep network_zones:default/${zone} (holds 1 record the stack did not create (hand))`,
      `delete networks:default/${network}`,
    ]);
    const pruned = await lxdkit('apply', '--prune', 'empty.yaml');
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect(await client.networkAcls.list({ recursion: 0 })).to.include(`${acl}-hand`).and.not.include(acl);
    expect((await client.networkZones.records.list(zone, { recursion: 0 })).sort()).to.deep.equal(['hand', 'www']);
    expect((await client.networks.list({ recursion: 0 })).includes(network)).to.equal(false);
    // once the record made by hand is gone, the zone goes with its own records
    await run(tool, ['network', 'zone', 'record', 'delete', zone, 'hand']);
    expect(await planned()).to.deep.equal([`delete network_zones:default/${zone}`]);
    expect((await lxdkit('apply', '--prune', 'empty.yaml')).code).to.equal(0);
    expect((await client.networkZones.list({ recursion: 0 })).includes(zone)).to.equal(false);
    await run(tool, ['network', 'acl', 'delete', `${acl}-hand`]);
  });

  it('a key only the other server has is named by the plan, with its file and line, and nothing is made', async function () {
    const other = server.kind === 'incus' ? 'security.devlxd' : 'security.guestapi';
    const text = `name: ${name}\nprofiles:\n  - name: ${PREFIX}${suffix}-p\n    config:\n      ${other}: "false"\n      limits.processes: "100"\n`;
    const err = await rejection(plan(mergeStacks([parseStackText(text, 'keys.yaml')]), client));
    expect(StackError.is(err, StackErrorCode.UNSUPPORTED), err.message).to.equal(true);
    expect(err.message).to.contain(`keys.yaml:3: profiles.0.config.${other}: only ${server.kind === 'incus' ? 'LXD' : 'Incus'} has this key`);
    writeFileSync(join(dir, 'keys.yaml'), text);
    const cliRun = await lxdkit('apply', 'keys.yaml');
    expect(cliRun.code, cliRun.stderr).to.equal(3);
    expect(await client.profiles.list({ recursion: 0 })).to.not.include(`${PREFIX}${suffix}-p`);
  });
});

describeEachServer('stacks: the project that holds a zone', function (server) {
  let client: LxdClient;
  let dir: string;
  const suffix = uniqueSuffix();
  const name = `${PREFIX}pz-${suffix}`;
  const project = `${PREFIX}pz-${suffix}`;
  const zone = `${PREFIX}pz-${suffix}.example`;
  const lxdkit = (...args: string[]) => cli(['--server', server.kind, ...args], { cwd: dir });
  // LXD 5.0.2 lacks `projects_networks_zones`: its zones follow `features.networks`; Incus has it, and a
  // project without `features.networks.zones` uses the default project's zones
  let zonesOfTheirOwn = false;

  async function removeProjectLeftovers(): Promise<void> {
    for (const p of await client.projects.list({ recursion: 0 })) {
      if (!p.startsWith(`${PREFIX}pz-`)) continue;
      for (const z of await client.withProject(p).networkZones.list({ recursion: 0 })) if (z.startsWith(`${PREFIX}pz-`)) await client.withProject(p).networkZones.delete(z);
      await client.projects.delete(p);
    }
    for (const z of await client.networkZones.list({ recursion: 0 })) if (z.startsWith(`${PREFIX}pz-`)) await client.networkZones.delete(z);
  }

  before(async function () {
    client = await requireServer(this, server);
    zonesOfTheirOwn = (await client.server.info()).api_extensions.includes('projects_networks_zones');
    await removeProjectLeftovers();
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-spec-stk2-'));
  });
  after(async function () {
    if (!client) return;
    await removeProjectLeftovers();
    await client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stack = (features: Record<string, string>): string => `name: ${name}
projects:
  - name: ${project}
    config: ${JSON.stringify(features)}
network_zones:
  - name: ${zone}
    project: ${project}
    description: zone of ${project}
`;

  it('a project with features.networks but not features.networks.zones: the zone lands where the server puts it, and a second plan exits 0', async function () {
    writeFileSync(join(dir, 'networks.yaml'), stack({ 'features.networks': 'true' }));
    const applied = await lxdkit('apply', 'networks.yaml');
    expect(applied.code, applied.stdout + applied.stderr).to.equal(0);
    const expected = zonesOfTheirOwn ? 'default' : project;
    const holder = (await client.withProject(expected).networkZones.list({ recursion: 0 })).includes(zone);
    expect(holder, `the zone is in project ${expected}`).to.equal(true);
    const again = await lxdkit('--json', 'plan', 'networks.yaml');
    expect(again.code, again.stdout).to.equal(0);
    await prune();
  });

  it('on a server with projects_networks_zones, features.networks.zones gives the project a zone of its own', async function () {
    if (!zonesOfTheirOwn) {
      // LXD 5.0.2: the key does not exist there, and the plan says so before any change (exit 3)
      writeFileSync(join(dir, 'zones.yaml'), stack({ 'features.networks.zones': 'true' }));
      const refused = await lxdkit('plan', 'zones.yaml');
      expect(refused.code, refused.stderr).to.equal(3);
      expect(refused.stderr).to.include('features.networks.zones');
      return;
    }
    writeFileSync(join(dir, 'zones.yaml'), stack({ 'features.networks.zones': 'true' }));
    const applied = await lxdkit('apply', 'zones.yaml');
    expect(applied.code, applied.stdout + applied.stderr).to.equal(0);
    expect(await client.withProject(project).networkZones.list({ recursion: 0 })).to.include(zone);
    expect(await client.networkZones.list({ recursion: 0 })).not.to.include(zone);
    const again = await lxdkit('plan', 'zones.yaml');
    expect(again.code, again.stdout).to.equal(0);
    await prune();
  });

  /** `apply --prune` of an empty stack of the same name removes the zone and the project. */
  async function prune(): Promise<void> {
    writeFileSync(join(dir, 'empty.yaml'), `name: ${name}\n`);
    const pruned = await lxdkit('apply', '--prune', 'empty.yaml');
    expect(pruned.code, pruned.stdout + pruned.stderr).to.equal(0);
    expect(await client.projects.list({ recursion: 0 })).not.to.include(project);
    for (const p of ['default', project]) {
      const zones = await client.withProject(p).networkZones.list({ recursion: 0 }).catch(() => [] as string[]);
      expect(zones, `zones of ${p}`).not.to.include(zone);
    }
  }
});
