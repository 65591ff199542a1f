/**
 * The built lxdkit command (dist/cli/main.js) run as a subprocess against the real daemons: LXD
 * 5.0.2 and Incus 6.0 (`--server lxd` / `--server incus`), the same specs on both.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { hostArch } from '../../../lib/container/arch.js';
import { Namespace } from '../../../lib/container/namespace.js';
import { isNotFound, type LxdClient } from '../../../lib/lxd/index.js';
import { rejection } from '../../helpers/rejection.js';
import { CLI, ensureBuilt, lxdkit as runLxdkit, type Run } from '../../helpers/cli.js';
import { IMAGE_DIR, TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { removeProject, removeProjects } from '../../helpers/projects.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-cli-';
/** The spec's models all end in this, so a killed run's containers (juju-c11c0d-*) are found again. */
const MODEL_TAIL = 'c11c0d';

function profileText(name: string, config: Record<string, string>, description = 'spec'): string {
  const lines = Object.entries(config).map(([k, v]) => `  ${k}: "${v}"`);
  return `config:${lines.length ? `\n${lines.join('\n')}` : ' {}'}\ndescription: ${description}\ndevices: {}\nname: ${name}\nused_by: []\n`;
}

describeEachServer('lxdkit command against the real daemon', function (server) {
  this.timeout(180_000);
  /** The command, pointed at this suite's server. */
  const lxdkit = (args: string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<Run> => runLxdkit(['--server', server.kind, ...args], cwd, env);
  const TEST_BRIDGE = server.bridge;
  let client: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}-`;
  const a = `${run}a`;
  const b = `${run}b`;
  const series = `spec${uniqueSuffix()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const model = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
  const container = new Namespace(model).hostname('0');

  before(async function () {
    client = await requireServer(this, server);
    ensureBuilt();
    await removeProjects(client, PREFIX);
    await removeLeftovers(client, PREFIX);
    await removeLeftovers(client, `juju-${MODEL_TAIL}-`);
    for (const al of await client.images.listAliases()) if (/^juju\/spec[0-9a-f]{6}\//.test(al.name)) await client.images.deleteAlias(al.name);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-spec-cli-'));
  });

  after(async function () {
    if (!client) return;
    await removeProjects(client, run).catch(() => {});
    await removeLeftovers(client, `juju-${MODEL_TAIL}-`).catch(() => {});
    await removeLeftovers(client, run).catch(() => {});
    await client.images.deleteAlias(alias).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  });

  it('status names the server it talks to; --json parses and describes it', async () => {
    const { value: info } = await client.server.get();
    const human = await lxdkit(['status']);
    expect(human.code, human.stderr).to.equal(0);
    const label = server.kind === 'incus' ? 'Incus' : 'LXD';
    expect(human.stdout.split('\n')[0]).to.match(new RegExp(`^${label}: +${info.environment?.server_version?.replace(/\./g, '\\.')} \\(API 1\\.0, stable\\)$`));
    expect(human.stdout).to.contain(`endpoint:       ${server.socket}`);
    const r = await lxdkit(['status', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout) as { endpoint: string; server: { kind: string; extensions: string[]; apiVersion: string }; pools: { name: string }[]; networks: { name: string; ipv4: string }[] };
    expect(s.server.kind).to.equal(server.kind);
    expect(s.endpoint).to.equal(server.socket);
    expect(s.server.apiVersion).to.equal('1.0');
    expect(s.server.extensions).to.include('instances');
    expect(s.pools.map((p) => p.name)).to.include('default');
    expect(s.networks.find((n) => n.name === TEST_BRIDGE)?.ipv4).to.equal('none');
  });

  it('profile apply creates, then reports everything unchanged (idempotent)', async () => {
    writeFileSync(join(dir, 'a.yaml'), profileText(a, { 'security.nesting': 'true' }));
    writeFileSync(join(dir, 'b.yaml'), profileText(b, {}));
    const first = await lxdkit(['profile', 'apply', dir, '--json']);
    expect(first.code, first.stderr).to.equal(0);
    const r1 = JSON.parse(first.stdout) as { profiles: { name: string; result: string }[]; summary: Record<string, number> };
    expect(r1.profiles.map((p) => [p.name, p.result])).to.deep.equal([[a, 'created'], [b, 'created']]);
    expect((await client.profiles.get(a)).value.config).to.deep.equal({ 'security.nesting': 'true' });
    const second = await lxdkit(['profile', 'apply', dir]);
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout).to.match(/^unchanged +lxdkit-spec-cli-/m);
    expect(second.stdout.trim().split('\n').at(-1)).to.equal('2 unchanged');
  });

  it('diff shows the change, --dry-run changes nothing, apply updates with the change', async () => {
    writeFileSync(join(dir, 'a.yaml'), profileText(a, { 'security.nesting': 'false' }, 'changed'));
    const before = await client.profiles.get(a);
    const diff = await lxdkit(['profile', 'diff', dir, '--exit-code']);
    expect(diff.code).to.equal(10);
    expect(diff.stdout).to.contain(`--- lxd: profile ${a}\n+++ ${join(dir, 'a.yaml')}\n`);
    const lines = diff.stdout.split('\n');
    for (const l of ['-   security.nesting: "true"', '+   security.nesting: "false"', '- description: spec', '+ description: changed', '  devices: {}', `  name: ${a}`]) {
      expect(lines, diff.stdout).to.include(l);
    }
    expect(diff.stdout).to.contain(`${b}: unchanged`);

    const dry = await lxdkit(['profile', 'apply', dir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).to.equal(0);
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; profiles: { name: string; result: string; changes: { path: string }[] }[] };
    expect(plan.dryRun).to.equal(true);
    expect(plan.profiles.find((p) => p.name === a)).to.deep.include({ result: 'update' });
    expect(plan.profiles.find((p) => p.name === a)!.changes.map((c) => c.path)).to.deep.equal(['description', 'config.security.nesting']);
    const after = await client.profiles.get(a);
    expect(after.etag).to.equal(before.etag);
    expect(after.value.config).to.deep.equal({ 'security.nesting': 'true' });

    const apply = await lxdkit(['profile', 'apply', dir]);
    expect(apply.code, apply.stderr).to.equal(0);
    expect(apply.stdout).to.match(new RegExp(`^updated +${a} .*\\(description, config\\.security\\.nesting\\)$`, 'm'));
    expect((await client.profiles.get(a)).value).to.deep.include({ description: 'changed', config: { 'security.nesting': 'false' } });
    expect((await lxdkit(['profile', 'diff', dir, '--exit-code'])).code).to.equal(0);
  });

  it('a broken YAML file exits 3 naming the file and line, and nothing changes', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'lxdkit-spec-cli-broken-'));
    try {
      const c = `${run}c`;
      writeFileSync(join(broken, 'a-good.yaml'), profileText(c, {}));
      writeFileSync(join(broken, 'b-broken.yaml'), `name: ${run}d\nconfig:\n  limits.cpu: "1"\n  limits.memory: [512MiB\n`);
      const r = await lxdkit(['profile', 'apply', '.'], broken);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/^lxdkit: b-broken\.yaml:\d+: YAML syntax: /m);
      expect(r.stdout).to.equal('');
      const names = await client.profiles.list({ recursion: 0 });
      expect(names).to.not.include(c);
      const schema = await lxdkit(['profile', 'apply', join(broken, 'a-good.yaml')]);
      expect(schema.code).to.equal(0);
      writeFileSync(join(broken, 'a-good.yaml'), `name: ${c}\ndescription: x\nconfig:\n  security.nesting: true\n`);
      const typed = await lxdkit(['profile', 'apply', join(broken, 'a-good.yaml'), '--json']);
      expect(typed.code).to.equal(3);
      expect(typed.stderr).to.contain('a-good.yaml:4: config.security.nesting: must be a string: quote it ("true")');
      expect(JSON.parse(typed.stdout)).to.deep.include({ error: { message: `${join(broken, 'a-good.yaml')}:4: config.security.nesting: must be a string: quote it ("true")`, exitCode: 3 } });
      expect((await client.profiles.get(c)).value.description).to.equal('spec');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('apply --prune deletes only unlisted profiles with the prefix', async () => {
    const stray = `${run}stray`;
    await client.profiles.create({ name: stray, description: 'not in any file' });
    const r = await lxdkit(['profile', 'apply', dir, '--prune', '--prune-prefix', run, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { profiles: { name: string; result: string }[] };
    expect(out.profiles.filter((p) => p.result === 'deleted').map((p) => p.name)).to.deep.equal([`${run}c`, stray]);
    const names = await client.profiles.list({ recursion: 0 });
    expect(names).to.include.members([a, b, 'default']);
    expect(names).to.not.include(stray);
  });

  it('events prints a lifecycle event for a container the CLI creates; containers are listed, get a profile and are destroyed', async () => {
    const { value: img } = await client.images.getAlias(TEST_IMAGE_ALIAS);
    await client.images.createAlias({ name: alias, target: img.target });

    const events = spawn(process.execPath, [CLI, '--server', server.kind, 'events', '--type', 'lifecycle'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    events.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => events.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        events.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening for lifecycle events')) resolve();
        });
        events.on('exit', () => reject(new Error(`events exited early: ${err}`)));
      });

      const created = await lxdkit(['container', 'create', '--model', model, '--machine', '0', '--series', series, '--bridge', TEST_BRIDGE, '--mtu', '1400', '--json']);
      expect(created.code, created.stderr).to.equal(0);
      expect(JSON.parse(created.stdout)).to.deep.include({ name: container, instance: `lxd:${container}`, model, kind: 'lxd' });
      const { value: inst } = await client.instances.get(container);
      expect(inst.devices['eth0']).to.deep.include({ type: 'nic', parent: TEST_BRIDGE, mtu: '1400' });

      const deadline = Date.now() + 30_000;
      let createdEvent: { type: string; metadata: { action: string; source: string } } | undefined;
      while (!createdEvent && Date.now() < deadline) {
        createdEvent = out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as { type: string; metadata: { action: string; source: string } })
          .find((e) => e.metadata.action === 'instance-created' && e.metadata.source.endsWith(`/instances/${container}`));
        if (!createdEvent) await new Promise((r) => setTimeout(r, 100));
      }
      expect(createdEvent, `events output:\n${out}`).to.not.equal(undefined);
      expect(createdEvent!.type).to.equal('lifecycle');
    } finally {
      events.kill('SIGINT');
    }
    expect(await exited).to.equal(0);

    const list = await lxdkit(['container', 'list', '--model', model, '--json']);
    expect(list.code, list.stderr).to.equal(0);
    expect(JSON.parse(list.stdout)).to.deep.equal([
      { name: container, status: 'Running', type: 'container', profiles: ['default'], created: (await client.instances.get(container)).value.created_at, machine: '0' },
    ]);

    const assigned = await lxdkit(['container', 'profiles', container, '--assign', 'default', a, '--json']);
    expect(assigned.code, assigned.stderr).to.equal(0);
    expect(JSON.parse(assigned.stdout)).to.deep.equal({ name: container, profiles: ['default', a] });
    expect((await client.instances.get(container)).value.profiles).to.deep.equal(['default', a]);

    const gone = await lxdkit(['container', 'destroy', container]);
    expect(gone.code, gone.stderr).to.equal(0);
    expect(gone.stdout).to.equal(`destroyed ${container}\n`);
    try {
      await client.instances.get(container);
      expect.fail('the container should be gone');
    } catch (e) {
      expect(isNotFound(e)).to.equal(true);
    }
    const again = await lxdkit(['container', 'destroy', container]);
    expect(again.code).to.equal(4);
  });

  it('profile show prints what apply reads back as unchanged; profile list --json has it', async () => {
    const shown = await lxdkit(['profile', 'show', b]);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.equal(`config: {}\ndescription: spec\ndevices: {}\nname: ${b}\nused_by: []\n`);
    writeFileSync(join(dir, 'shown.yml'), shown.stdout);
    const r = await lxdkit(['profile', 'diff', join(dir, 'shown.yml'), '--exit-code']);
    expect(r.code, r.stdout).to.equal(0);
    const list = JSON.parse((await lxdkit(['profile', 'list', '--json'])).stdout) as { name: string }[];
    expect(list.map((p) => p.name)).to.include.members(['default', a, b]);
    expect((await lxdkit(['profile', 'show', `${run}missing`])).code).to.equal(4);
  });

  it('image import streams a unified tarball and points the alias at it', async () => {
    const src = mkdtempSync(join(tmpdir(), 'lxdkit-spec-cli-img-'));
    const imgAlias = `${run}img`;
    let fingerprint: string | undefined;
    try {
      writeFileSync(join(src, 'metadata.yaml'), `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: lxdkit spec ${run}\n`);
      execFileSync('mkdir', ['-p', join(src, 'rootfs', 'etc')]);
      writeFileSync(join(src, 'rootfs', 'etc', 'hostname'), `${run}\n`);
      execFileSync('tar', ['-C', src, '-cJf', join(src, 'image.tar.xz'), 'metadata.yaml', 'rootfs']);
      const r = await lxdkit(['image', 'import', join(src, 'image.tar.xz'), '--alias', imgAlias, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { fingerprint: string; aliases: string[]; description: string };
      fingerprint = out.fingerprint;
      expect(out.aliases).to.deep.equal([imgAlias]);
      expect(out.description).to.equal(`lxdkit spec ${run}`);
      expect((await client.images.getAlias(imgAlias)).value.target).to.equal(fingerprint);
    } finally {
      await client.images.deleteAlias(imgAlias).catch(() => {});
      if (fingerprint) await (await client.images.delete(fingerprint)).wait({ timeoutMs: 60_000 });
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('demo creates, lists, assigns and destroys, leaving nothing behind', async () => {
    // no --bridge: the demo takes this server's test bridge
    const r = await lxdkit(['demo', '--count', '2', '--profile', a, '--image', TEST_IMAGE_ALIAS, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout) as { server: string; bridge: string; model: string; namespace: string; created: string[]; listed: { name: string; status: string }[]; assigned: string[]; destroyed: string[]; alias: string; aliasCreated: boolean };
    expect([s.server, s.bridge]).to.deep.equal([server.kind, TEST_BRIDGE]);
    const ns = new Namespace(s.model);
    expect(s.created).to.deep.equal([ns.hostname('0'), ns.hostname('1')]);
    expect(s.listed.map((c) => c.status)).to.deep.equal(['Running', 'Running']);
    expect(s.assigned).to.deep.equal(['default', a]);
    expect(s.destroyed).to.deep.equal(s.created);
    const left = (await client.instances.list({ recursion: 0 })).filter((n) => n.startsWith(s.namespace));
    expect(left).to.deep.equal([]);
    if (s.aliasCreated) {
      try {
        await client.images.getAlias(s.alias);
        expect.fail('the demo should have removed the alias it created');
      } catch (e) {
        expect(isNotFound(e)).to.equal(true);
      }
    }
  });

  it('operations --json parses', async () => {
    const r = await lxdkit(['operations', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.be.an('array');
  });

  it('--project: profile apply --create-project makes the project, every command then works in it, and it isolates profiles and instances from default', async () => {
    const project = `${run}proj`;
    const inside = client.withProject(project);
    const files = mkdtempSync(join(tmpdir(), 'lxdkit-spec-cli-proj-'));
    const mine = `${run}in`;
    const pModel = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
    const pContainer = new Namespace(pModel).hostname('0');
    const pSeries = `spec${uniqueSuffix()}`;
    const P = ['--project', project];
    try {
      // the project's own default profile gets what an instance needs: a root disk and a NIC
      writeFileSync(join(files, 'default.yaml'), `config: {}\ndescription: ${project} default\ndevices:\n  root:\n    type: disk\n    path: /\n    pool: default\n  eth0:\n    type: nic\n    nictype: bridged\n    parent: ${TEST_BRIDGE}\nname: default\nused_by: []\n`);
      writeFileSync(join(files, 'in.yaml'), profileText(mine, { 'user.where': 'inside' }));
      expect((await lxdkit([...P, 'profile', 'list'])).code, 'the project does not exist yet').to.equal(4);
      const dry = await lxdkit([...P, 'profile', 'apply', files, '--create-project', '--dry-run']);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stdout.split('\n')[0]).to.equal(`would be created project ${project}`);
      expect((await client.projects.list({ recursion: 0 }))).to.not.include(project);
      const applied = await lxdkit([...P, 'profile', 'apply', files, '--create-project', '--json']);
      expect(applied.code, applied.stderr).to.equal(0);
      const ap = JSON.parse(applied.stdout) as { project: { name: string; result: string }; profiles: { name: string; result: string }[] };
      expect(ap.project).to.deep.equal({ name: project, result: 'created' });
      expect(ap.profiles.map((p) => [p.name, p.result])).to.deep.equal([['default', 'updated'], [mine, 'created']]);
      // the server's default features: profiles and images of its own
      expect((await client.projects.get(project)).value.config).to.deep.include({ 'features.profiles': 'true', 'features.images': 'true' });
      const again = await lxdkit([...P, 'profile', 'apply', files, '--create-project']);
      expect(again.stdout.split('\n')[0]).to.equal(`unchanged project ${project}`);
      expect((await lxdkit([...P, 'profile', 'diff', files, '--exit-code'])).code).to.equal(0);
      expect((await lxdkit([...P, 'profile', 'show', mine])).stdout).to.contain('user.where: inside');

      // profiles: listed in the project, not in default (and default's not in the project)
      const listIn = JSON.parse((await lxdkit([...P, 'profile', 'list', '--json'])).stdout) as { name: string }[];
      const listOut = JSON.parse((await lxdkit(['profile', 'list', '--json'])).stdout) as { name: string }[];
      expect(listIn.map((p) => p.name)).to.have.members(['default', mine]);
      expect(listOut.map((p) => p.name)).to.include(a).and.not.include(mine);
      expect((await lxdkit(['profile', 'show', mine])).code).to.equal(4);

      // images of its own: the image imported into the project, under the alias the manager looks for
      const alias = `juju/${pSeries}/${hostArch()}`;
      const imported = await lxdkit([...P, 'image', 'import', join(IMAGE_DIR, 'busybox-unified.tar.xz'), '--alias', alias, '--json']);
      expect(imported.code, imported.stderr).to.equal(0);
      expect((await inside.images.getAlias(alias)).value.target).to.equal((JSON.parse(imported.stdout) as { fingerprint: string }).fingerprint);
      expect(await rejection(client.images.getAlias(alias))).to.satisfy(isNotFound);

      // a container of a model in the project
      const created = await lxdkit([...P, 'container', 'create', '--model', pModel, '--machine', '0', '--series', pSeries, '--profile', mine, '--json']);
      expect(created.code, created.stderr).to.equal(0);
      expect((await inside.instances.get(pContainer)).value).to.deep.include({ status: 'Running', profiles: ['default', mine], project });
      const listedIn = JSON.parse((await lxdkit([...P, 'container', 'list', '--model', pModel, '--json'])).stdout) as { name: string }[];
      const listedOut = JSON.parse((await lxdkit(['container', 'list', '--model', pModel, '--json'])).stdout) as { name: string }[];
      expect(listedIn.map((c) => c.name)).to.deep.equal([pContainer]);
      expect(listedOut).to.deep.equal([]);
      expect(await client.instances.list({ recursion: 0 })).to.not.include(pContainer);
      const status = JSON.parse((await lxdkit([...P, 'status', '--json'])).stdout) as { project: string; instances: { total: number } };
      expect([status.project, status.instances.total]).to.deep.equal([project, 1]);
      expect(JSON.parse((await lxdkit([...P, 'operations', '--json'])).stdout)).to.be.an('array');

      // events of the project: a profile assignment in it is heard
      const events = spawn(process.execPath, [CLI, '--server', server.kind, ...P, 'events', '--type', 'lifecycle', '--count', '1', '--for', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      events.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => events.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        events.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening for lifecycle events')) resolve();
        });
        events.on('exit', () => reject(new Error(`events exited early: ${err}`)));
      });
      expect(err).to.contain(`(project ${project};`);
      const assigned = await lxdkit([...P, 'container', 'profiles', pContainer, '--assign', 'default', '--json']);
      expect(assigned.code, assigned.stderr).to.equal(0);
      expect(await exited).to.equal(0);
      const event = JSON.parse(out.trim()) as { project: string; metadata: { action: string; source: string } };
      expect(event.project).to.equal(project);
      expect(event.metadata.source).to.match(new RegExp(`/instances/${pContainer}`));

      const destroyed = await lxdkit([...P, 'container', 'destroy', pContainer]);
      expect(destroyed.code, destroyed.stderr).to.equal(0);
      expect(await inside.instances.list({ recursion: 0 })).to.deep.equal([]);

      // the demo in the project, with the project's image and profile
      const demo = await lxdkit([...P, 'demo', '--count', '1', '--image', alias, '--profile', mine, '--json']);
      expect(demo.code, demo.stderr).to.equal(0);
      const d = JSON.parse(demo.stdout) as { project: string; created: string[]; assigned: string[]; destroyed: string[] };
      expect(d.project).to.equal(project);
      expect(d.assigned).to.deep.equal(['default', mine]);
      expect(d.destroyed).to.deep.equal(d.created);
    } finally {
      await inside.close();
      await removeProject(client, project);
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('--project of a project that does not exist: exit 4 naming it, for lists the servers would answer empty', async () => {
    const ghost = `${run}ghost`;
    for (const args of [['container', 'list', '--model', model], ['operations'], ['status']]) {
      const r = await lxdkit(['--project', ghost, ...args]);
      expect(r.code, args.join(' ')).to.equal(4);
      expect(r.stderr).to.contain(`/1.0/projects/${ghost}: Project not found`);
    }
  });
});
