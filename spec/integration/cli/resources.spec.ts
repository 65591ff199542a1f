/**
 * The built lxdkit command's image, network and storage commands against the real LXD and Incus
 * (`--server lxd` / `--server incus`), the same specs on both. Everything made is named with
 * `lxdkit-spec-cr-`, except bridges, whose kernel names hold 15 characters at most: `lxdcr` and six
 * hex digits. Bridges get no address (`ipv4.address=none ipv6.address=none`); the storage pool is a
 * `dir` pool under a temporary directory.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isNotFound, type LxdClient } from '../../../lib/lxd/index.js';
import { CLI, ensureBuilt, type Run } from '../../helpers/cli.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-cr-';
const BRIDGE_MARK = /^lxdcr[0-9a-f]{6}$/;

/** The built CLI as a subprocess, with `input` on its stdin (then closed). */
function runCli(args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Removes what a killed run of this spec left on `client`: its instances, volumes, pools, networks, ACLs, zones and aliases. */
async function removeOwnLeftovers(client: LxdClient): Promise<void> {
  await removeLeftovers(client, PREFIX);
  for (const pool of await client.storagePools.list()) {
    if (!pool.name.startsWith(PREFIX)) continue;
    for (const v of await client.storageVolumes.list(pool.name, { type: 'custom' })) {
      if (v.name.includes('/')) continue;
      await (await client.storageVolumes.delete(pool.name, v.name)).wait();
    }
    await client.storagePools.delete(pool.name);
  }
  for (const net of await client.networks.list()) if (BRIDGE_MARK.test(net.name) && net.managed) await client.networks.delete(net.name);
  for (const acl of await client.networkAcls.list()) if (acl.name.startsWith(PREFIX)) await client.networkAcls.delete(acl.name);
  for (const zone of await client.networkZones.list()) if (zone.name.startsWith(PREFIX)) await client.networkZones.delete(zone.name);
  for (const a of await client.images.listAliases()) if (a.name.startsWith(PREFIX)) await client.images.deleteAlias(a.name);
}

describeEachServer('lxdkit image, network and storage commands', function (server) {
  this.timeout(180_000);
  const lxdkit = (args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> => runCli(['--server', server.kind, ...args], input, env);
  let client: LxdClient;
  let dir: string;
  const hex = uniqueSuffix();
  const run = `${PREFIX}${hex}-`;
  const pool = `${run}pool`;
  const inst = `${run}c`;
  const bridge = `lxdcr${hex}`;

  before(async function () {
    client = await requireServer(this, server);
    ensureBuilt();
    await removeOwnLeftovers(client);
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    await (await client.instances.create({ name: inst, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
  });

  after(async function () {
    if (!client) return;
    await removeOwnLeftovers(client).catch((err: unknown) => console.warn(`    cleanup: ${(err as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  });

  it('storage create|list|show|delete: a dir pool under a temporary directory', async () => {
    // an empty directory that exists (neither server makes it)
    const source = join(dir, 'pool');
    mkdirSync(source);
    const made = await lxdkit(['storage', 'create', pool, 'dir', `source=${source}`, '--description', 'spec pool']);
    expect(made.code, made.stderr).to.equal(0);
    const csv = await lxdkit(['storage', 'list', '--format', 'csv']);
    expect(csv.code, csv.stderr).to.equal(0);
    expect(csv.stdout.split('\n')).to.include(`${pool},dir,${source},spec pool,0,CREATED`);
    const show = await lxdkit(['storage', 'show', pool]);
    expect(show.code, show.stderr).to.equal(0);
    expect(show.stdout).to.match(new RegExp(`^driver: dir$`, 'm'));
    expect(show.stdout).to.contain(`  source: ${source}\n`);
    const json = JSON.parse((await lxdkit(['storage', 'list', '--json'])).stdout) as { name: string; driver: string }[];
    expect(json.find((p) => p.name === pool)?.driver).to.equal('dir');
    const missing = await lxdkit(['storage', 'show', `${run}nopool`]);
    expect(missing.code).to.equal(4);
  });

  it('storage volume create|set|get|show|list|snapshot|copy|move|delete', async () => {
    const v = `${run}v`;
    expect((await lxdkit(['storage', 'volume', 'create', pool, v, 'user.a=1'])).code).to.equal(0);
    const set = await lxdkit(['storage', 'volume', 'set', pool, v, 'user.b', 'two words']);
    expect(set.code, set.stderr).to.equal(0);
    expect((await lxdkit(['storage', 'volume', 'get', pool, v, 'user.b'])).stdout).to.equal('two words\n');
    expect((await lxdkit(['storage', 'volume', 'get', pool, `custom/${v}`, 'user.a'])).stdout).to.equal('1\n');
    expect((await lxdkit(['storage', 'volume', 'get', pool, v, 'user.none'])).stdout).to.equal('\n');
    const unset = await lxdkit(['storage', 'volume', 'set', pool, v, 'user.a=']);
    expect(unset.code, unset.stderr).to.equal(0);
    expect((await client.storageVolumes.get(pool, v)).value.config).to.deep.equal({ 'user.b': 'two words' });
    const show = await lxdkit(['storage', 'volume', 'show', pool, v]);
    expect(show.stdout).to.contain(`name: ${v}\n`);
    expect(show.stdout).to.contain('type: custom\n');

    const snap = await lxdkit(['storage', 'volume', 'snapshot', pool, v, 'snap0', '--json']);
    expect(snap.code, snap.stderr).to.equal(0);
    expect(JSON.parse(snap.stdout)).to.deep.include({ snapshot: 'snap0' });
    expect(await client.storageVolumes.snapshots.list(pool, v, { recursion: 0 })).to.deep.equal(['snap0']);

    const copy = await lxdkit(['storage', 'volume', 'copy', `${pool}/${v}`, `${pool}/${run}w`, '--volume-only']);
    expect(copy.code, copy.stderr).to.equal(0);
    expect((await client.storageVolumes.get(pool, `${run}w`)).value.config).to.deep.include({ 'user.b': 'two words' });
    expect(await client.storageVolumes.snapshots.list(pool, `${run}w`, { recursion: 0 })).to.deep.equal([]);
    const move = await lxdkit(['storage', 'volume', 'move', `${pool}/${run}w`, `${pool}/${run}x`]);
    expect(move.code, move.stderr).to.equal(0);
    const list = JSON.parse((await lxdkit(['storage', 'volume', 'list', pool, '--type', 'custom', '--format', 'json'])).stdout) as { name: string }[];
    expect(list.map((l) => l.name).sort()).to.deep.equal([v, `${v}/snap0`, `${run}x`].sort());
    const del = await lxdkit(['storage', 'volume', 'delete', pool, `${run}x`]);
    expect(del.code, del.stderr).to.equal(0);
    expect((await lxdkit(['storage', 'volume', 'show', pool, `${run}x`])).code).to.equal(4);
  });

  it('storage volume export|import: a backup tarball on disk, and a new volume from it', async () => {
    const file = join(dir, 'vol.tar.gz');
    const exp = await lxdkit(['storage', 'volume', 'export', pool, `${run}v`, file]);
    expect(exp.code, exp.stderr).to.equal(0);
    expect(statSync(file).size).to.be.greaterThan(0);
    expect(await client.storageVolumes.backups.list(pool, `${run}v`, { recursion: 0 })).to.deep.equal([]);
    const imp = await lxdkit(['storage', 'volume', 'import', pool, file, `${run}y`]);
    expect(imp.code, imp.stderr).to.equal(0);
    expect((await client.storageVolumes.get(pool, `${run}y`)).value.config).to.deep.include({ 'user.b': 'two words' });
    const dirTarget = await lxdkit(['storage', 'volume', 'export', pool, `${run}v`, dir]);
    expect(dirTarget.code).to.equal(3);
  });

  it('storage volume attach|detach: a disk device of the instance, written with its ETag', async () => {
    const att = await lxdkit(['storage', 'volume', 'attach', pool, `${run}v`, inst, 'data', '/mnt/data']);
    expect(att.code, att.stderr).to.equal(0);
    expect((await client.instances.get(inst)).value.devices['data']).to.deep.equal({ type: 'disk', pool, source: `${run}v`, path: '/mnt/data' });
    const again = await lxdkit(['storage', 'volume', 'attach', pool, `${run}v`, inst, 'data', '/mnt/other']);
    expect(again.code).to.equal(5);
    const noPath = await lxdkit(['storage', 'volume', 'attach', pool, `${run}v`, inst, 'data2']);
    expect(noPath.code).to.equal(2);
    const det = await lxdkit(['storage', 'volume', 'detach', pool, `${run}v`, inst]);
    expect(det.code, det.stderr).to.equal(0);
    expect((await client.instances.get(inst)).value.devices).to.not.have.property('data');
    expect((await lxdkit(['storage', 'volume', 'detach', pool, `${run}v`, inst])).code).to.equal(4);
  });

  it('network create|list|show|set|get|edit|delete: a bridge without addresses', async () => {
    const refused = await lxdkit(['network', 'create', bridge]);
    expect(refused.code).to.equal(2);
    expect(await client.networks.list({ recursion: 0 })).to.not.include(bridge);
    const made = await lxdkit(['network', 'create', bridge, 'ipv4.address=none', 'ipv6.address=none', '--description', 'spec']);
    expect(made.code, made.stderr).to.equal(0);
    const csv = await lxdkit(['network', 'list', '--format', 'csv']);
    expect(csv.stdout.split('\n')).to.include(`${bridge},bridge,YES,none,none,spec,0,CREATED`);
    const yaml = await lxdkit(['network', 'list', '--format', 'yaml']);
    expect(yaml.stdout).to.contain(`name: ${bridge}\n`);
    const show = await lxdkit(['network', 'show', bridge]);
    expect(show.stdout).to.contain('  ipv4.address: none\n');
    expect((await lxdkit(['network', 'set', bridge, 'user.k', 'v1'])).code).to.equal(0);
    expect((await lxdkit(['network', 'get', bridge, 'user.k'])).stdout).to.equal('v1\n');

    const edited = show.stdout.replace('description: spec', 'description: edited').replace('  ipv4.address: none\n', '  ipv4.address: none\n  user.e: "x"\n');
    const edit = await lxdkit(['network', 'edit', bridge], edited);
    expect(edit.code, edit.stderr).to.equal(0);
    const net = (await client.networks.get(bridge)).value;
    expect(net.description).to.equal('edited');
    // the YAML is what the network now has: user.k (set after it was shown) is gone
    expect(net.config).to.deep.equal({ 'ipv4.address': 'none', 'ipv6.address': 'none', 'user.e': 'x' });
    const bad = await lxdkit(['network', 'edit', bridge], 'config:\n  ipv4.address: [none\n');
    expect(bad.code).to.equal(3);
    expect((await client.networks.get(bridge)).value.description).to.equal('edited');
  });

  it('network attach|detach: a NIC on the bridge, then none', async () => {
    const att = await lxdkit(['network', 'attach', bridge, inst, 'eth9', 'eth9']);
    expect(att.code, att.stderr).to.equal(0);
    expect((await client.instances.get(inst)).value.devices['eth9']).to.deep.equal({ type: 'nic', network: bridge, name: 'eth9' });
    const det = await lxdkit(['network', 'detach', bridge, inst]);
    expect(det.code, det.stderr).to.equal(0);
    expect((await client.instances.get(inst)).value.devices).to.not.have.property('eth9');
    expect((await lxdkit(['network', 'detach', bridge, inst])).code).to.equal(4);
  });

  it('network forward list|show on the bridge: none there, a missing one exits 4', async () => {
    const list = await lxdkit(['network', 'forward', 'list', bridge, '--format', 'json']);
    expect(list.code, list.stderr).to.equal(0);
    expect(JSON.parse(list.stdout)).to.deep.equal([]);
    expect((await lxdkit(['network', 'forward', 'show', bridge, '192.0.2.1'])).code).to.equal(4);
    expect((await lxdkit(['network', 'forward', 'show', bridge, 'nope'])).code).to.equal(3);
  });

  it('network acl create|list|show|edit|delete', async () => {
    const acl = `${run}acl`;
    expect((await lxdkit(['network', 'acl', 'create', acl, 'user.a=1', '--description', 'd1'])).code).to.equal(0);
    const list = JSON.parse((await lxdkit(['network', 'acl', 'list', '--format', 'json'])).stdout) as { name: string; description: string }[];
    expect(list.find((a) => a.name === acl)?.description).to.equal('d1');
    const show = await lxdkit(['network', 'acl', 'show', acl]);
    expect(show.stdout).to.contain(`name: ${acl}\n`);
    const rule = 'ingress:\n  - action: drop\n    state: enabled\n    protocol: tcp\n    destination_port: "22"\n';
    const edit = await lxdkit(['network', 'acl', 'edit', acl], `description: d2\nconfig:\n  user.a: "2"\n${rule}`);
    expect(edit.code, edit.stderr).to.equal(0);
    const got = (await client.networkAcls.get(acl)).value;
    expect(got.description).to.equal('d2');
    expect(got.config).to.deep.equal({ 'user.a': '2' });
    expect(got.ingress).to.have.length(1);
    expect(got.ingress[0]).to.deep.include({ action: 'drop', destination_port: '22' });
    expect((await lxdkit(['network', 'acl', 'delete', acl])).code).to.equal(0);
    expect((await lxdkit(['network', 'acl', 'show', acl])).code).to.equal(4);
  });

  it('network zone create|list|show|edit|delete', async () => {
    const zone = `${run}zone.example.net`;
    const made = await lxdkit(['network', 'zone', 'create', zone, '--description', 'z1']);
    expect(made.code, made.stderr).to.equal(0);
    const csv = await lxdkit(['network', 'zone', 'list', '--format', 'csv']);
    expect(csv.stdout.split('\n')).to.include(`${zone},z1,0`);
    expect((await lxdkit(['network', 'zone', 'show', zone])).stdout).to.contain(`name: ${zone}\n`);
    const edit = await lxdkit(['network', 'zone', 'edit', zone], 'description: z2\nconfig:\n  user.z: "1"\n');
    expect(edit.code, edit.stderr).to.equal(0);
    expect((await client.networkZones.get(zone)).value).to.deep.include({ description: 'z2', config: { 'user.z': '1' } });
    expect((await lxdkit(['network', 'zone', 'delete', zone])).code).to.equal(0);
    await client.networkZones.get(zone).then(
      () => expect.fail('the zone is still there'),
      (err: unknown) => expect(isNotFound(err)).to.equal(true),
    );
  });

  it('network delete removes the bridge', async () => {
    expect((await lxdkit(['network', 'delete', bridge])).code).to.equal(0);
    expect(await client.networks.list({ recursion: 0 })).to.not.include(bridge);
  });

  it('image list|info and image alias create|list|delete', async () => {
    const csv = await lxdkit(['image', 'list', TEST_IMAGE_ALIAS, '--format', 'csv']);
    expect(csv.code, csv.stderr).to.equal(0);
    const target = (await client.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
    expect(csv.stdout.split('\n').filter(Boolean).map((l) => l.split(',')[1])).to.include(target.slice(0, 12));
    const info = await lxdkit(['image', 'info', TEST_IMAGE_ALIAS]);
    expect(info.stdout).to.match(new RegExp(`^fingerprint: +${target}$`, 'm'));
    const alias = `${run}alias`;
    const made = await lxdkit(['image', 'alias', 'create', alias, target.slice(0, 16), '--description', 'spec']);
    expect(made.code, made.stderr).to.equal(0);
    expect((await client.images.getAlias(alias)).value.target).to.equal(target);
    const list = JSON.parse((await lxdkit(['image', 'alias', 'list', run, '--format', 'json'])).stdout) as { name: string; target: string }[];
    expect(list).to.have.length(1);
    expect(list[0]).to.deep.include({ name: alias, target });
    expect((await lxdkit(['image', 'alias', 'delete', alias])).code).to.equal(0);
    expect((await lxdkit(['image', 'info', alias])).code).to.equal(4);
    const del = await lxdkit(['image', 'delete', `${run}none`]);
    expect(del.code).to.equal(4);
  });

  it('--project: a project that does not exist exits 4', async () => {
    const r = await lxdkit(['--project', `${run}noproject`, 'storage', 'volume', 'list', 'default']);
    expect(r.code, r.stderr).to.equal(4);
    expect(r.stderr).to.match(/project/i);
  });

  it('storage delete removes the emptied pool', async () => {
    for (const { name } of await client.storageVolumes.list(pool, { type: 'custom' })) {
      if (!name.includes('/')) expect((await lxdkit(['storage', 'volume', 'delete', pool, name])).code).to.equal(0);
    }
    const del = await lxdkit(['storage', 'delete', pool]);
    expect(del.code, del.stderr).to.equal(0);
    expect(await client.storagePools.list({ recursion: 0 })).to.not.include(pool);
  });
});
