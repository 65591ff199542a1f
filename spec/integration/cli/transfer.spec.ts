/**
 * What crosses servers and projects, on the host's real LXD 5.0.2 and Incus 6.0.4: `image copy`,
 * `image export`, `image refresh`, `publish`, and `copy` / `move` of instances, between the local
 * socket and a saved remote of the same daemon over its HTTPS listener on 127.0.0.1 (added with a real
 * trust token, saved with a project of its own so that a copy is a real transfer), and between the
 * host's LXD and Incus. The commands run in-process with a temporary XDG_CONFIG_HOME. Everything made
 * on the servers is named `lxdkit-spec-xfer-…` (projects, instances, aliases, certificates).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { StringStream } from '../../../lib/cli/io.js';
import { runCli } from '../../../lib/cli/program.js';
import { silentLogger } from '../../../lib/logger.js';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { removeProject, removeProjects } from '../../helpers/projects.js';
import { removeCertificateLeftovers, useHttpsListener } from '../../helpers/tls-test.js';
import { describeEachServer, requireServer, SERVERS, type TestServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-xfer-';

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs lxdkit in-process with `xdg` as its configuration and `server` as "local". */
async function runIn(xdg: string, server: TestServer, args: string[], signal?: AbortSignal): Promise<Cli> {
  const stdout = new StringStream();
  const stderr = new StringStream();
  const env = { XDG_CONFIG_HOME: xdg, LXDKIT_SERVER: server.kind, HOME: join(xdg, 'home') };
  const code = await runCli(args, { stdout, stderr, env, cwd: xdg }, { logger: silentLogger, ...(signal ? { signal } : {}) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Deletes the images of `client` that carry an alias starting with `prefix`. */
async function removeImages(client: LxdClient, prefix: string): Promise<void> {
  for (const image of await client.images.list()) {
    if (image.aliases.some((a) => a.name.startsWith(prefix))) await (await client.images.delete(image.fingerprint)).wait({ timeoutMs: 60_000 });
  }
}

/** A project with images of its own and the default project's profiles: a copy into it is a real transfer. */
async function makeProject(client: LxdClient, name: string): Promise<void> {
  await client.projects.create({ name, config: { 'features.images': 'true', 'features.profiles': 'false' } });
}

describeEachServer('lxdkit image copy|export|refresh, publish, copy and move across remotes', (server) => {
  let lxd: LxdClient;
  let xdg: string;
  let url: string;
  let release: () => Promise<void> = async () => {};
  const run = `${PREFIX}${uniqueSuffix()}`;
  const project = `${run}-p`;
  const cli = (args: string[], signal?: AbortSignal): Promise<Cli> => runIn(xdg, server, args, signal);

  before(async function () {
    this.timeout(180_000);
    lxd = await requireServer(this, server);
    await removeCertificateLeftovers(lxd, PREFIX);
    await removeImages(lxd, PREFIX);
    await removeProjects(lxd, PREFIX);
    xdg = mkdtempSync(join(tmpdir(), 'lxdkit-xfer-'));
    ({ url, release } = await useHttpsListener(lxd));
    await makeProject(lxd, project);
    // "self": this daemon over HTTPS, in the spec's project
    const token = await lxd.certificates.createToken(`${run}-self`);
    const added = await cli(['--project', project, 'remote', 'add', 'self', url, '--token', token.token]);
    expect(added.code, added.stderr).to.equal(ExitCode.OK);
  });

  after(async function () {
    this.timeout(180_000);
    if (!lxd) return;
    await removeProject(lxd, project).catch(() => {});
    await removeImages(lxd, run).catch(() => {});
    await removeCertificateLeftovers(lxd, run).catch(() => {});
    await release();
    await lxd.close();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
  });

  it('image export: into a directory with the server\'s names, or a named file (split: FILE and FILE.root); never overwrites; a missing directory exits 3 before any transfer', async function () {
    this.timeout(120_000);
    const dir = join(xdg, 'export');
    mkdirSync(dir);
    const { value: fp } = { value: (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target };
    const intoDir = await cli(['image', 'export', TEST_IMAGE_ALIAS, dir, '--json']);
    expect(intoDir.code, intoDir.stderr).to.equal(ExitCode.OK);
    const files = (JSON.parse(intoDir.stdout) as { fingerprint: string; files: { part: string; path: string; size: number }[] });
    expect(files.fingerprint).to.equal(fp);
    expect(files.files.map((f) => f.part)).to.deep.equal(['metadata', 'rootfs']);
    expect(readdirSync(dir).sort()).to.deep.equal(files.files.map((f) => f.path.slice(dir.length + 1)).sort());
    for (const f of files.files) expect(statSync(f.path).size).to.equal(f.size);

    const named = join(dir, 'bb.tar');
    const file = await cli(['image', 'export', `local:${fp.slice(0, 12)}`, named]);
    expect(file.code, file.stderr).to.equal(ExitCode.OK);
    expect(statSync(named).size).to.equal(files.files[0]!.size);
    expect(statSync(`${named}.root`).size).to.equal(files.files[1]!.size);
    expect(readdirSync(dir).filter((n) => n.startsWith('.')), 'no temporary directory left').to.deep.equal([]);

    // the target exists: refused, untouched
    writeFileSync(join(dir, 'taken'), 'mine');
    const taken = await cli(['image', 'export', TEST_IMAGE_ALIAS, join(dir, 'taken')]);
    expect(taken.code).to.equal(ExitCode.CONFLICT);
    expect(taken.stderr).to.contain('exists already');
    const again = await cli(['image', 'export', TEST_IMAGE_ALIAS, named]);
    expect(again.code).to.equal(ExitCode.CONFLICT);
    const missing = await cli(['image', 'export', TEST_IMAGE_ALIAS, join(dir, 'no', 'such', 'f.tar')]);
    expect(missing.code).to.equal(ExitCode.INVALID_INPUT);
    expect(missing.stderr).to.contain('no such directory');
    expect(existsSync(join(dir, 'no'))).to.equal(false);
    const noImage = await cli(['image', 'export', `${run}-none`, dir]);
    expect(noImage.code).to.equal(ExitCode.NOT_FOUND);
  });

  it('image copy local: → self: (another project over HTTPS): carried and uploaded, with --alias and --copy-aliases; a second copy sends nothing', async function () {
    this.timeout(180_000);
    const fp = (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
    const inProject = lxd.withProject(project);
    try {
      const copied = await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'self:', '--alias', `${run}-a1`, '--copy-aliases', '--json']);
      expect(copied.code, copied.stderr).to.equal(ExitCode.OK);
      expect(JSON.parse(copied.stdout)).to.deep.equal({ fingerprint: fp, target: 'self', aliases: [`${run}-a1`, TEST_IMAGE_ALIAS], copied: true });
      const there = (await inProject.images.get(fp)).value;
      expect(there.aliases.map((a) => a.name).sort()).to.deep.equal([`${run}-a1`, TEST_IMAGE_ALIAS].sort());
      const twice = await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'self:', '--alias', `${run}-a2`]);
      expect(twice.code, twice.stderr).to.equal(ExitCode.OK);
      expect(twice.stdout).to.contain('already there');
      expect((await inProject.images.getAlias(`${run}-a2`)).value.target).to.equal(fp);
      // and back: self: → local:, an image this project has on the default project's side already
      const back = await cli(['image', 'copy', `self:${run}-a1`, 'local:', '--alias', `${run}-back`]);
      expect(back.code, back.stderr).to.equal(ExitCode.OK);
      expect((await lxd.images.getAlias(`${run}-back`)).value.target).to.equal(fp);
      await lxd.images.deleteAlias(`${run}-back`);
    } finally {
      await inProject.close();
    }
  });

  it('image copy: the target must be REMOTE: (exit 2), an unknown remote exits 4, a bad alias exits 3, all before any I/O', async () => {
    expect((await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'self'])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'self:x'])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'nowhere:'])).code).to.equal(ExitCode.NOT_FOUND);
    expect((await cli(['image', 'copy', TEST_IMAGE_ALIAS, 'self:', '--alias', '..'])).code).to.equal(ExitCode.INVALID_INPUT);
  });

  it('image refresh: an image with no image server to refresh from is reported, the others still tried, the exit code the first failure\'s', async function () {
    this.timeout(60_000);
    const r = await cli(['image', 'refresh', `${run}-none`, TEST_IMAGE_ALIAS]);
    expect(r.code).to.equal(ExitCode.NOT_FOUND);
    expect(r.stderr).to.contain(`image ${run}-none:`).and.to.contain(`image ${TEST_IMAGE_ALIAS}:`);
    const one = await cli(['image', 'refresh', TEST_IMAGE_ALIAS]);
    expect(one.code, 'a local image has no source to refresh from').to.equal(ExitCode.LXD_FAILED);
  });

  it('publish NAME --alias A, NAME/SNAP, and to another server (self:); a running instance is refused without --force', async function () {
    this.timeout(240_000);
    const c = `${run}-pub`;
    await (await lxd.instances.create({ name: c, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
    await (await lxd.instances.snapshots.create(c, { name: 's0' })).wait({ timeoutMs: 60_000 });
    const published = await cli(['publish', c, '--alias', `${run}-img`, 'description=spec image', '--json']);
    expect(published.code, published.stderr).to.equal(ExitCode.OK);
    const fp = (JSON.parse(published.stdout) as { fingerprint: string }).fingerprint;
    const image = (await lxd.images.get(fp)).value;
    expect(image.aliases.map((a) => a.name)).to.deep.equal([`${run}-img`]);
    expect(image.properties['description']).to.equal('spec image');

    const snap = await cli(['publish', `${c}/s0`, '--alias', `${run}-snapimg`, 'description=from s0']);
    expect(snap.code, snap.stderr).to.equal(ExitCode.OK);
    expect(snap.stdout).to.match(/^published .*\/s0 as image [0-9a-f]{12} \(aliases /);
    expect((await lxd.images.getAlias(`${run}-snapimg`)).value.target).to.match(/^[0-9a-f]{64}$/);

    const remote = await cli(['publish', `${c}/s0`, 'self:', '--alias', `${run}-remote`, 'description=for self', '--json']);
    expect(remote.code, remote.stderr).to.equal(ExitCode.OK);
    const rfp = (JSON.parse(remote.stdout) as { fingerprint: string }).fingerprint;
    const inProject = lxd.withProject(project);
    try {
      expect((await inProject.images.getAlias(`${run}-remote`)).value.target).to.equal(rfp);
      expect((await lxd.images.list()).map((i) => i.fingerprint), 'deleted from the instance\'s server').to.not.include(rfp);
    } finally {
      await inProject.close();
    }

    await (await lxd.instances.setState(c, { action: 'start' })).wait({ timeoutMs: 60_000 });
    const running = await cli(['publish', c, '--alias', `${run}-running`]);
    expect(running.code).to.equal(ExitCode.INVALID_INPUT);
    expect(running.stderr).to.contain('--force');
    expect((await lxd.images.listAliases()).map((a) => a.name)).to.not.include(`${run}-running`);
    const missing = await cli(['publish', `${run}-none`, '--alias', `${run}-x`]);
    expect(missing.code).to.equal(ExitCode.NOT_FOUND);
  });

  it('copy and move on one server: a copy (and of a snapshot) made by the server, a move that renames; a taken name exits 5; a copy to itself exits 2', async function () {
    this.timeout(240_000);
    const c = `${run}-one`;
    await (await lxd.instances.create({ name: c, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, config: { 'user.spec': 'xfer' } })).wait({ timeoutMs: 120_000 });
    await (await lxd.instances.snapshots.create(c, { name: 's0' })).wait({ timeoutMs: 60_000 });
    const copied = await cli(['copy', c, `${c}-2`, '--json']);
    expect(copied.code, copied.stderr).to.equal(ExitCode.OK);
    expect(JSON.parse(copied.stdout)).to.include({ source: c, target: `${c}-2`, mode: 'server' });
    const two = (await lxd.instances.get(`${c}-2`)).value;
    expect([two.status, two.config['user.spec']]).to.deep.equal(['Stopped', 'xfer']);
    expect((await lxd.instances.snapshots.list(`${c}-2`)).map((x) => x.name)).to.deep.equal(['s0']);
    const fromSnap = await cli(['copy', `local:${c}/s0`, `${c}-3`, '--instance-only']);
    expect(fromSnap.code, fromSnap.stderr).to.equal(ExitCode.OK);
    expect((await lxd.instances.snapshots.list(`${c}-3`))).to.deep.equal([]);
    const moved = await cli(['move', `${c}-3`, `${c}-4`]);
    expect(moved.code, moved.stderr).to.equal(ExitCode.OK);
    expect(moved.stdout).to.equal(`moved ${c}-3 to ${c}-4\n`);
    expect((await lxd.instances.list({ recursion: 0 })).filter((n) => n.startsWith(c)).sort()).to.deep.equal([c, `${c}-2`, `${c}-4`]);
    const taken = await cli(['copy', c, `${c}-2`]);
    expect(taken.code).to.equal(ExitCode.CONFLICT);
    expect(taken.stderr).to.contain('exists already');
    expect((await cli(['copy', c, c])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['move', `${c}/s0`, `${c}-5`])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['copy', `${c}/s0`, `self:${c}-5`])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['copy', c, `${c}-5`, '--mode', 'fast'])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['copy', `${run}-none`, `${c}-5`])).code).to.equal(ExitCode.NOT_FOUND);
  });

  it('copy and move across remotes (local: → self:, another project over HTTPS) through instances.migrate: pull, push and relay; a move deletes the source', async function () {
    this.timeout(300_000);
    const c = `${run}-mig`;
    await (await lxd.instances.create({ name: c, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, config: { 'user.spec': 'mig' } })).wait({ timeoutMs: 120_000 });
    await (await lxd.instances.snapshots.create(c, { name: 's0' })).wait({ timeoutMs: 60_000 });
    const inProject = lxd.withProject(project);
    try {
      for (const mode of ['pull', 'push', 'relay'] as const) {
        const r = await cli(['copy', c, `self:${c}-${mode}`, '--mode', mode, '--json']);
        expect(r.code, `${mode}: ${r.stderr}`).to.equal(ExitCode.OK);
        expect(JSON.parse(r.stdout)).to.include({ source: c, target: `self:${c}-${mode}`, mode });
        const there = (await inProject.instances.get(`${c}-${mode}`)).value;
        expect(there.config['user.spec']).to.equal('mig');
        expect((await inProject.instances.snapshots.list(`${c}-${mode}`)).map((x) => x.name)).to.deep.equal(['s0']);
      }
      // REMOTE: alone keeps the name; the name is taken there now: exit 5, nothing touched
      const same = await cli(['copy', c, 'self:', '--instance-only']);
      expect(same.code, same.stderr).to.equal(ExitCode.OK);
      expect(await inProject.instances.snapshots.list(c)).to.deep.equal([]);
      const taken = await cli(['copy', c, 'self:']);
      expect(taken.code).to.equal(ExitCode.CONFLICT);
      // move: there, and the source is gone
      const moved = await cli(['move', c, `self:${c}-moved`]);
      expect(moved.code, moved.stderr).to.equal(ExitCode.OK);
      expect((await inProject.instances.get(`${c}-moved`)).value.config['user.spec']).to.equal('mig');
      expect((await lxd.instances.list({ recursion: 0 }))).to.not.include(c);
      // and back to the default project
      const back = await cli(['move', `self:${c}-moved`, `local:${c}`]);
      expect(back.code, back.stderr).to.equal(ExitCode.OK);
      expect((await lxd.instances.get(c)).value.config['user.spec']).to.equal('mig');
      expect((await inProject.instances.list({ recursion: 0 }))).to.not.include(`${c}-moved`);
      // a running instance moves only stopped
      await (await lxd.instances.setState(c, { action: 'start' })).wait({ timeoutMs: 60_000 });
      const running = await cli(['move', c, `self:${c}-run`]);
      expect(running.code).to.equal(ExitCode.INVALID_INPUT);
      expect(running.stderr).to.contain('stop it first');
    } finally {
      await inProject.close();
    }
  });
});

describe('lxdkit image copy, copy and move between the host\'s LXD and Incus (a saved remote of each over HTTPS)', function () {
  this.timeout(240_000);
  const [lxdServer, incusServer] = SERVERS as [TestServer, TestServer];
  let lxd: LxdClient;
  let incus: LxdClient;
  let xdg: string;
  const releases: (() => Promise<void>)[] = [];
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    lxd = await requireServer(this, lxdServer);
    incus = await requireServer(this, incusServer);
    xdg = mkdtempSync(join(tmpdir(), 'lxdkit-xfer2-'));
    for (const [name, client, server] of [['lxd', lxd, lxdServer], ['incus', incus, incusServer]] as const) {
      await removeCertificateLeftovers(client, PREFIX);
      await removeImages(client, PREFIX);
      const { url, release } = await useHttpsListener(client);
      releases.push(release);
      const token = await client.certificates.createToken(`${run}-${name}`);
      const added = await runIn(xdg, server, ['remote', 'add', name, url, '--token', token.token]);
      expect(added.code, added.stderr).to.equal(ExitCode.OK);
    }
  });

  after(async function () {
    for (const c of [lxd, incus]) {
      if (!c) continue;
      await removeImages(c, run).catch(() => {});
      await removeCertificateLeftovers(c, run).catch(() => {});
    }
    for (const r of releases) await r().catch(() => {});
    await lxd?.close();
    await incus?.close();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
  });

  it('an image published on LXD goes to Incus and one published on Incus to LXD, fingerprints kept', async () => {
    for (const [from, to, client, other] of [['lxd', 'incus', lxd, incus], ['incus', 'lxd', incus, lxd]] as const) {
      const c = `${run}-${from}`;
      await (await client.instances.create({ name: c, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
      try {
        const pub = await runIn(xdg, lxdServer, ['publish', `${from}:${c}`, '--alias', `${run}-${from}-img`, '--json']);
        expect(pub.code, pub.stderr).to.equal(ExitCode.OK);
        const fp = (JSON.parse(pub.stdout) as { fingerprint: string }).fingerprint;
        const copied = await runIn(xdg, lxdServer, ['image', 'copy', `${from}:${run}-${from}-img`, `${to}:`, '--copy-aliases']);
        expect(copied.code, copied.stderr).to.equal(ExitCode.OK);
        expect((await other.images.getAlias(`${run}-${from}-img`)).value.target).to.equal(fp);
      } finally {
        await (await client.instances.delete(c)).wait({ timeoutMs: 60_000 }).catch(() => {});
      }
    }
  });

  it('copy of an instance from LXD to Incus and back, in pull, push and relay mode; move from Incus to LXD deletes the source', async () => {
    const c = `${run}-cross`;
    await (await lxd.instances.create({ name: c, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, config: { 'user.spec': 'cross' } })).wait({ timeoutMs: 120_000 });
    try {
      for (const mode of ['pull', 'push', 'relay']) {
        const there = await runIn(xdg, lxdServer, ['copy', `lxd:${c}`, `incus:${c}-${mode}`, '--mode', mode]);
        expect(there.code, `${mode}: ${there.stderr}`).to.equal(ExitCode.OK);
        expect((await incus.instances.get(`${c}-${mode}`)).value.config['user.spec']).to.equal('cross');
        const back = await runIn(xdg, lxdServer, ['copy', `incus:${c}-${mode}`, `lxd:${c}-${mode}-back`, '--mode', mode]);
        expect(back.code, `${mode} back: ${back.stderr}`).to.equal(ExitCode.OK);
        expect((await lxd.instances.get(`${c}-${mode}-back`)).value.config['user.spec']).to.equal('cross');
      }
      const moved = await runIn(xdg, lxdServer, ['move', `incus:${c}-pull`, `lxd:${c}-moved`]);
      expect(moved.code, moved.stderr).to.equal(ExitCode.OK);
      expect(await incus.instances.list({ recursion: 0 })).to.not.include(`${c}-pull`);
      expect((await lxd.instances.get(`${c}-moved`)).value.config['user.spec']).to.equal('cross');
    } finally {
      for (const n of await lxd.instances.list({ recursion: 0 })) if (n.startsWith(c)) await (await lxd.instances.delete(n)).wait({ timeoutMs: 60_000 }).catch(() => {});
      for (const n of await incus.instances.list({ recursion: 0 })) if (n.startsWith(c)) await (await incus.instances.delete(n)).wait({ timeoutMs: 60_000 }).catch(() => {});
    }
  });
});
