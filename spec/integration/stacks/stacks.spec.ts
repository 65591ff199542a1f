/**
 * Stacks on the real LXD and Incus: apply, a second plan that finds nothing (exit 0), drift made with
 * `lxc` / `incus` (plan exits 2, apply repairs it), prune that spares what was made by hand, an export
 * that plans to zero changes, bad input that changes nothing, and an interrupted apply that the next
 * apply converges. Everything lives in a project `lxdkit-spec-stk-<random>` (and a bridge
 * `lxstk<random>` without any address), removed afterwards with the leftovers of earlier runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { isNotFound, type LxdClient } from '../../../lib/lxd/index.js';
import { apply, loadStack, plan, stackFromObject } from '../../../lib/stacks/index.js';
import { cli } from '../../unit/cli/helpers.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { IMAGE_DIR, TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { rejection } from '../../helpers/rejection.js';

const execFileP = promisify(execFile);

/** Runs `lxc` / `incus` with stdin closed (`lxc init` reads a config from a stdin that is not a terminal). */
async function run(tool: string, args: string[]): Promise<void> {
  const p = execFileP(tool, args, { timeout: 60_000 });
  p.child.stdin?.end();
  await p;
}
const PREFIX = 'lxdkit-spec-stk-';
const NET_PREFIX = 'lxstk';
const OP = { timeoutMs: 120_000 };

/** Removes a project of this spec with everything in it (instances, custom volumes, profiles but `default`). */
async function removeStackProject(client: LxdClient, project: string): Promise<void> {
  const inside = client.withProject(project);
  try {
    for (const inst of await inside.instances.list()) {
      if (inst.status !== 'Stopped') await (await inside.instances.setState(inst.name, { action: 'stop', force: true })).wait(OP).catch(() => {});
      await (await inside.instances.delete(inst.name)).wait(OP);
    }
    for (const pool of await client.storagePools.list({ recursion: 0 })) {
      for (const v of await inside.storageVolumes.list(pool, { type: 'custom', recursion: 0 })) await (await inside.storageVolumes.delete(pool, v)).wait(OP);
    }
    for (const name of await inside.profiles.list({ recursion: 0 })) if (name !== 'default') await inside.profiles.delete(name);
    if ((await client.projects.get(project)).value.config['features.images'] === 'true') {
      for (const image of await inside.images.list()) await (await inside.images.delete(image.fingerprint)).wait(OP);
    }
    await client.projects.delete(project);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  } finally {
    await inside.close();
  }
}

async function removeLeftovers(client: LxdClient): Promise<void> {
  for (const name of await client.projects.list({ recursion: 0 })) if (name.startsWith(PREFIX)) await removeStackProject(client, name);
  for (const n of await client.networks.list()) if (n.managed && n.name.startsWith(NET_PREFIX)) await client.networks.delete(n.name);
}

function stackText(name: string, project: string, network: string, opts: { withC2?: boolean; extra?: string } = {}): string {
  return `name: ${name}
projects:
  - name: ${project}
    description: stack spec
    config:
      features.images: "false"
      features.profiles: "true"
      features.storage.volumes: "true"
networks:
  - name: ${network}
    type: bridge
    config:
      ipv4.address: none
      ipv6.address: none
storage_volumes:
  - pool: default
    name: data
    project: ${project}
profiles:
  - name: default
    project: ${project}
    devices:
      root: { type: disk, path: /, pool: default }
  - name: small
    project: ${project}
    config:
      limits.processes: "200"
instances:
  - name: c1
    project: ${project}
    image: ${TEST_IMAGE_ALIAS}
    profiles: [default, small]
    devices:
      data: { type: disk, pool: default, source: data, path: /data }
${opts.withC2 === false ? '' : `  - name: c2
    project: ${project}
    image: ${TEST_IMAGE_ALIAS}
    state: stopped
`}${opts.extra ?? ''}`;
}

describeEachServer('stacks: plan, apply, drift, prune, export', function (server) {
  let client: LxdClient;
  let dir: string;
  const suffix = uniqueSuffix();
  const project = `${PREFIX}${suffix}`;
  const network = `${NET_PREFIX}${suffix}`;
  const name = `${PREFIX}${suffix}`;
  const tool = server.kind === 'incus' ? 'incus' : 'lxc';
  const lxdkit = (...args: string[]) => cli(['--server', server.kind, ...args], { cwd: dir });

  before(async function () {
    client = await requireServer(this, server);
    await removeLeftovers(client);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-spec-stk-'));
    writeFileSync(join(dir, 'stack.yaml'), stackText(name, project, network));
  });
  after(async function () {
    if (!client) return;
    await removeLeftovers(client);
    await client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bad input changes nothing: an unknown key, a missing reference (exit 3)', async function () {
    writeFileSync(join(dir, 'typo.yaml'), stackText(name, project, network).replace('instances:', 'instancs:'));
    const typo = await lxdkit('apply', 'typo.yaml');
    expect(typo.code, typo.stderr).to.equal(3);
    expect(typo.stderr).to.match(/typo\.yaml:\d+: instancs: unknown key/);
    writeFileSync(join(dir, 'ref.yaml'), stackText(name, project, network).replace('profiles: [default, small]', 'profiles: [default, small, nope]'));
    const ref = await lxdkit('apply', 'ref.yaml');
    expect(ref.code, ref.stderr).to.equal(3);
    expect(ref.stderr).to.match(/ref\.yaml:\d+: instances\.0\.profiles\.2: profile "nope" \(project lxdkit-spec-stk-\w+\) is neither in the stack nor on the server/);
    expect(await client.projects.list({ recursion: 0 })).to.not.include(project);
    expect((await client.networks.list({ recursion: 0 })).includes(network)).to.equal(false);
  });

  it('plan exits 2 on a fresh server, apply makes everything, a second plan exits 0', async function () {
    const before = await lxdkit('plan', 'stack.yaml');
    expect(before.code, before.stderr).to.equal(2);
    const applied = await lxdkit('apply', 'stack.yaml');
    expect(applied.code, applied.stderr).to.equal(0);
    const inside = client.withProject(project);
    try {
      const c1 = (await inside.instances.get('c1')).value;
      expect(c1.status).to.equal('Running');
      expect(c1.config['user.lxdkit.stack']).to.equal(name);
      expect((await inside.instances.get('c2')).value.status).to.equal('Stopped');
      expect((await client.networks.get(network)).value.config).to.include({ 'ipv4.address': 'none', 'ipv6.address': 'none' });
    } finally {
      await inside.close();
    }
    const again = await lxdkit('plan', 'stack.yaml');
    expect(again.code, again.stdout).to.equal(0);
  });

  it(`a change made with ${tool} makes plan exit 2, and apply repairs it`, async function () {
    await run(tool, ['profile', 'set', 'small', 'limits.processes', '300', '--project', project]);
    await run(tool, ['stop', 'c1', '--force', '--project', project]);
    const drift = await lxdkit('--json', 'plan', 'stack.yaml');
    expect(drift.code).to.equal(2);
    const steps = (JSON.parse(drift.stdout) as { steps: { key: string; action: string; changes: unknown[] }[] }).steps
      .filter((s) => s.action !== 'unchanged')
      .map((s) => ({ key: s.key, action: s.action, changes: s.changes }));
    expect(steps).to.deep.equal([
      { key: `${project}/small`, action: 'update', changes: [{ path: 'config.limits.processes', from: '300', to: '200' }] },
      { key: `${project}/c1`, action: 'update', changes: [{ path: 'state', from: 'stopped', to: 'running' }] },
    ]);
    expect((await lxdkit('apply', 'stack.yaml')).code).to.equal(0);
    expect((await lxdkit('plan', 'stack.yaml')).code).to.equal(0);
  });

  it('export --project writes a stack that plans to zero changes', async function () {
    const e = await lxdkit('export', '--project', project, '--name', name, '-o', 'exported.yaml');
    expect(e.code, e.stderr).to.equal(0);
    const p = await lxdkit('plan', 'exported.yaml');
    expect(p.code, p.stdout).to.equal(0);
  });

  it('an interrupted apply leaves a line for each step it began, and the next apply converges', async function () {
    const extra = ['c3', 'c4', 'c5'].map((n) => `  - name: ${n}\n    project: ${project}\n    image: ${TEST_IMAGE_ALIAS}\n`).join('');
    writeFileSync(join(dir, 'more.yaml'), stackText(name, project, network, { extra }));
    const stack = await loadStack(join(dir, 'more.yaml'));
    const ac = new AbortController();
    const begun: string[] = [];
    const finished: string[] = [];
    const err = await rejection(
      apply(await plan(stack, client), client, {
        signal: ac.signal,
        concurrency: 1,
        onProgress: (e) => {
          if (e.phase === 'start') begun.push(e.step.key);
          if (e.phase === 'done') {
            finished.push(e.step.key);
            ac.abort();
          }
        },
      }),
    );
    expect(err.name).to.equal('AbortError');
    expect(finished).to.have.length(1);
    const inside = client.withProject(project);
    try {
      const names = await inside.instances.list({ recursion: 0 });
      // whatever exists of the new ones was reported as begun
      for (const n of ['c3', 'c4', 'c5']) if (names.includes(n)) expect(begun).to.include(`${project}/${n}`);
    } finally {
      await inside.close();
    }
    const next = await plan(stack, client);
    expect(next.changed).to.equal(true);
    await apply(next, client);
    expect((await plan(stack, client)).changed).to.equal(false);
  });

  it('prune removes what the stack made and no longer declares, and spares what was made by hand', async function () {
    await run(tool, ['init', TEST_IMAGE_ALIAS, 'hand', '--project', project]);
    await run(tool, ['profile', 'create', 'hand-profile', '--project', project]);
    writeFileSync(join(dir, 'less.yaml'), stackText(name, project, network, { withC2: false }));
    const p = await lxdkit('--json', 'plan', '--prune', 'less.yaml');
    expect(p.code).to.equal(2);
    const deletes = (JSON.parse(p.stdout) as { steps: { key: string; action: string }[] }).steps.filter((s) => s.action === 'delete').map((s) => s.key);
    expect(deletes.sort()).to.deep.equal([`${project}/c2`, `${project}/c3`, `${project}/c4`, `${project}/c5`]);
    expect((await lxdkit('apply', '--prune', 'less.yaml')).code).to.equal(0);
    const inside = client.withProject(project);
    try {
      expect((await inside.instances.list({ recursion: 0 })).sort()).to.deep.equal(['c1', 'hand']);
      expect(await inside.profiles.list({ recursion: 0 })).to.include('hand-profile');
    } finally {
      await inside.close();
    }
    // an empty stack of the same name: the project is kept, it still holds what was made by hand
    writeFileSync(join(dir, 'empty.yaml'), `name: ${name}\n`);
    const empty = await lxdkit('--json', 'plan', '--prune', 'empty.yaml');
    const steps = (JSON.parse(empty.stdout) as { steps: { kind: string; action: string; reason?: string }[] }).steps;
    const proj = steps.find((s) => s.kind === 'projects')!;
    expect(proj.action).to.equal('keep');
    expect(proj.reason).to.match(/still holds .*instance "hand"/);
    expect((await lxdkit('apply', '--prune', 'empty.yaml')).code).to.equal(0);
    expect(await client.projects.list({ recursion: 0 })).to.include(project);
    expect((await client.networks.list({ recursion: 0 })).includes(network)).to.equal(false);
  });
});

describeEachServer('stacks: an image alias from a local file', function (server) {
  let client: LxdClient;
  let dir: string;
  const project = `${PREFIX}img-${uniqueSuffix()}`;
  const name = project;

  before(async function () {
    client = await requireServer(this, server);
    for (const p of await client.projects.list({ recursion: 0 })) if (p.startsWith(`${PREFIX}img-`)) await removeStackProject(client, p);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-spec-stk-'));
    writeFileSync(
      join(dir, 'images.yaml'),
      `name: ${name}\nprojects:\n  - name: ${project}\nprofiles:\n  - name: default\n    project: ${project}\n    devices:\n      root: { type: disk, path: /, pool: default }\nimages:\n  - alias: stk/busybox\n    project: ${project}\n    file: ${join(IMAGE_DIR, 'busybox-unified.tar.xz')}\ninstances:\n  - name: from-file\n    project: ${project}\n    image: stk/busybox\n    state: stopped\n`,
    );
  });
  after(async function () {
    if (!client) return;
    await removeStackProject(client, project);
    await client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports the file, points the alias with its marker, plans nothing after, and prune takes the image too', async function () {
    const stack = await loadStack(join(dir, 'images.yaml'));
    await apply(await plan(stack, client), client);
    const inside = client.withProject(project);
    try {
      const alias = (await inside.images.getAlias('stk/busybox')).value;
      expect(alias.description).to.equal(`(lxdkit.stack=${name})`);
      expect((await inside.images.get(alias.target)).value.properties['lxdkit.stack']).to.equal(name);
      expect((await inside.instances.get('from-file')).value.status).to.equal('Stopped');
      expect((await plan(stack, client)).changed).to.equal(false);
      // an empty stack of the same name, with prune: the instance, the alias, the image it imported, the project
      await apply(await plan(stackFromObject({ name }), client, { prune: true }), client);
      expect(await client.projects.list({ recursion: 0 })).to.not.include(project);
    } finally {
      await inside.close();
    }
  });
});

