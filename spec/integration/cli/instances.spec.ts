/**
 * The instance commands (`launch`, `list`, `info`, `start`…, `delete`, `rename`, `config`, `profile
 * assign`, `shell`, `console`) of the built command, on any instance name, against the real LXD 5.0.2
 * and Incus 6.0 (the same specs on both).
 */
import { execFile, spawn } from 'node:child_process';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { CLI, ensureBuilt, lxdkit as runLxdkit, type Run } from '../../helpers/cli.js';
import { removeLeftovers, TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { cli } from '../../unit/cli/helpers.js';

const PREFIX = 'lxdkit-spec-i20-';

/** The command with `input` on its stdin. */
function withInput(args: string[], input: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describeEachServer('lxdkit instance commands against the real daemon', function (server) {
  this.timeout(240_000);
  const lxdkit = (args: string[]): Promise<Run> => runLxdkit(['--server', server.kind, ...args]);
  let client: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}-`;
  const a = `${run}a`;
  const b = `${run}b`;

  before(async function () {
    client = await requireServer(this, server);
    ensureBuilt();
    await removeLeftovers(client, PREFIX);
  });

  after(async function () {
    if (!client) return;
    await removeLeftovers(client, run).catch(() => {});
    await client.close();
  });

  it('launch starts an instance from an image alias with -c and -p; init makes one stopped; a taken name exits 5', async () => {
    const l = await lxdkit(['launch', TEST_IMAGE_ALIAS, a, '-c', 'user.spec=i20', '-p', 'default', '--json']);
    expect(l.code, l.stderr).to.equal(0);
    expect(JSON.parse(l.stdout)).to.deep.include({ name: a, type: 'container', status: 'Running', profiles: ['default'] });
    const { value } = await client.instances.get(a);
    expect(value.config['user.spec']).to.equal('i20');
    const i = await lxdkit(['init', TEST_IMAGE_ALIAS, b]);
    expect(i.code, i.stderr).to.equal(0);
    expect(i.stdout).to.match(new RegExp(`^created ${b} \\(container, image [0-9a-f]{12}\\)$`, 'm'));
    expect((await client.instances.get(b)).value.status).to.equal('Stopped');
    const again = await lxdkit(['launch', TEST_IMAGE_ALIAS, b]);
    expect(again.code).to.equal(5);
    expect(again.stderr).to.contain('exists already');
    const missing = await lxdkit(['launch', `${run}no-such-image`, `${run}x`]);
    expect(missing.code).to.equal(4);
  });

  it('list filters by name and config key, in table, csv and json; info shows state, resources and snapshots', async () => {
    const t = await lxdkit(['list', run]);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout.split('\n')[0]).to.match(/^NAME +STATE +IPV4 +IPV6 +TYPE +SNAPSHOTS$/);
    expect(t.stdout).to.match(new RegExp(`^${a} +RUNNING +- +- +CONTAINER +0$`, 'm'));
    expect(t.stdout).to.match(new RegExp(`^${b} +STOPPED `, 'm'));
    const csv = await lxdkit(['list', run, 'user.spec=i20', '-c', 'n,s,user.spec', '-f', 'csv']);
    expect(csv.stdout).to.equal(`${a},RUNNING,i20\n`);
    const json = await lxdkit(['--json', 'list', `${run}.*`, 'status=stopped']);
    expect((JSON.parse(json.stdout) as { name: string }[]).map((r) => r.name)).to.deep.equal([b]);

    await (await client.instances.snapshots.create(a, { name: 'snap0' })).wait({ timeoutMs: 60_000 });
    const info = await lxdkit(['info', a]);
    expect(info.code, info.stderr).to.equal(0);
    expect(info.stdout).to.match(new RegExp(`^name: +${a}$`, 'm'));
    expect(info.stdout).to.match(/^status: +RUNNING$/m);
    expect(info.stdout).to.match(/^ {2}pid: +\d+$/m);
    expect(info.stdout).to.match(/^ {2}snap0 /m);
    const j = JSON.parse((await lxdkit(['--json', 'info', a])).stdout) as { status: string; processes: number; snapshots: { name: string }[] };
    expect(j.status).to.equal('Running');
    expect(j.processes).to.be.greaterThan(0);
    expect(j.snapshots.map((s) => s.name)).to.deep.equal(['snap0']);
    expect((await lxdkit(['info', `${run}nobody`])).code).to.equal(4);
  });

  it('pause, start, restart -f, stop on several instances: each failure reported, the others done, the first failure\'s exit code', async () => {
    const p = await lxdkit(['pause', a]);
    expect(p.code, p.stderr).to.equal(0);
    expect((await client.instances.get(a)).value.status).to.equal('Frozen');
    const s = await lxdkit(['start', a, `${run}ghost`, b]);
    expect(s.code).to.equal(4);
    expect(s.stdout).to.equal(`started ${a}\nstarted ${b}\n`);
    expect(s.stderr).to.contain(`lxdkit: ${run}ghost: instance "${run}ghost" not found`);
    expect((await client.instances.get(a)).value.status).to.equal('Running');
    expect((await client.instances.get(b)).value.status).to.equal('Running');
    const r = await lxdkit(['restart', '-f', a, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ name: a, ok: true }]);
    const st = await lxdkit(['stop', '-f', b]);
    expect(st.code, st.stderr).to.equal(0);
    expect((await client.instances.get(b)).value.status).to.equal('Stopped');
  });

  it('config set, get, unset, show; edit from stdin and in $EDITOR; a missing key exits 4', async () => {
    expect((await lxdkit(['config', 'set', a, 'user.one=1', 'user.two=2'])).code).to.equal(0);
    expect((await lxdkit(['config', 'get', a, 'user.one'])).stdout).to.equal('1\n');
    expect((await lxdkit(['config', 'set', a, 'user.three', 'three 3'])).code).to.equal(0);
    expect((await client.instances.get(a)).value.config).to.deep.include({ 'user.one': '1', 'user.two': '2', 'user.three': 'three 3' });
    expect((await lxdkit(['config', 'unset', a, 'user.two'])).code).to.equal(0);
    const gone = await lxdkit(['config', 'unset', a, 'user.two']);
    expect(gone.code).to.equal(4);
    const show = await lxdkit(['config', 'show', a]);
    expect(show.stdout).to.contain('  user.one: "1"\n');
    expect(show.stdout).to.match(/^profiles:\n- default$/m);

    const edited = await withInput(['--server', server.kind, 'config', 'edit', a], show.stdout.replace('user.one: "1"', 'user.one: "uno"'));
    expect(edited.code, edited.stderr).to.equal(0);
    expect(edited.stdout).to.equal(`updated ${a}\n`);
    expect((await client.instances.get(a)).value.config['user.one']).to.equal('uno');
    const same = await withInput(['--server', server.kind, 'config', 'edit', a], (await lxdkit(['config', 'show', a])).stdout);
    expect(same.stdout).to.equal(`unchanged ${a}\n`);
    const broken = await withInput(['--server', server.kind, 'config', 'edit', a], 'config: {}\ndevices: {}\nprofiles: []\nstatus: Running\n');
    expect(broken.code).to.equal(3);
    expect((await client.instances.get(a)).value.profiles).to.deep.equal(['default']);

    // $EDITOR on a temporary file (stdin is no terminal here, so in-process with no stdin)
    const viaEditor = await cli(['--server', server.kind, 'config', 'edit', a], { env: { EDITOR: "sed -i 's/user.one: uno/user.one: eins/'", PATH: process.env['PATH'] ?? '' } });
    expect(viaEditor.code, viaEditor.stderr).to.equal(0);
    expect((await client.instances.get(a)).value.config['user.one']).to.equal('eins');
    const failing = await cli(['--server', server.kind, 'config', 'edit', a], { env: { EDITOR: 'false', PATH: process.env['PATH'] ?? '' } });
    expect(failing.code).to.equal(3);
  });

  it('config device add, list, show, remove; profile add, remove, assign for any instance', async () => {
    expect((await lxdkit(['config', 'device', 'add', a, 'spec', 'disk', 'source=/tmp', 'path=/mnt/spec'])).code).to.equal(0);
    expect((await lxdkit(['config', 'device', 'list', a])).stdout).to.equal('spec\n');
    expect((await lxdkit(['config', 'device', 'show', a])).stdout).to.contain('spec:\n  path: /mnt/spec\n  source: /tmp\n  type: disk\n');
    expect((await lxdkit(['config', 'device', 'add', a, 'spec', 'disk', 'source=/tmp', 'path=/mnt/x'])).code).to.equal(5);
    expect((await lxdkit(['config', 'device', 'remove', a, 'root'])).code).to.equal(3); // from the default profile
    expect((await lxdkit(['config', 'device', 'remove', a, 'spec'])).code).to.equal(0);
    expect((await client.instances.get(a)).value.devices).to.deep.equal({});

    const prof = `${run}p`;
    await client.profiles.create({ name: prof, config: { 'user.from': 'profile' } });
    expect((await lxdkit(['profile', 'add', a, prof])).code).to.equal(0);
    expect((await client.instances.get(a)).value.profiles).to.deep.equal(['default', prof]);
    expect((await lxdkit(['profile', 'add', a, prof])).code).to.equal(5);
    expect((await lxdkit(['config', 'get', '-e', a, 'user.from'])).stdout).to.equal('profile\n');
    expect((await lxdkit(['profile', 'assign', a, `${prof},default`])).code).to.equal(0);
    expect((await client.instances.get(a)).value.profiles).to.deep.equal([prof, 'default']);
    expect((await lxdkit(['profile', 'remove', a, prof])).code).to.equal(0);
    expect((await lxdkit(['profile', 'remove', a, prof])).code).to.equal(4);
    expect((await client.instances.get(a)).value.profiles).to.deep.equal(['default']);
  });

  it('shell runs a login shell (su -l); console --show-log prints the console log', async () => {
    const sh = await withInput(['--server', server.kind, 'shell', a], 'echo "$0 $(pwd)"; exit 3\n');
    expect(sh.code, sh.stderr).to.equal(3);
    expect(sh.stdout).to.equal('-sh /root\n');
    const log = await lxdkit(['--json', 'console', a, '--show-log']);
    expect(log.code, log.stderr).to.equal(0);
    expect(JSON.parse(log.stdout)).to.have.property('log').that.is.a('string');
  });

  it('rename renames a stopped instance; delete refuses a running one without -f (exit 7), deletes it with -f, and NAME/SNAP deletes a snapshot', async () => {
    const c = `${run}c`;
    expect((await lxdkit(['rename', b, c])).code).to.equal(0);
    expect(await client.instances.list({ recursion: 0 })).to.include(c).and.not.include(b);
    const running = await lxdkit(['delete', a]);
    expect(running.code).to.equal(7);
    expect(running.stderr).to.contain('give -f');
    expect((await lxdkit(['delete', `${a}/snap0`])).code).to.equal(0);
    expect((await client.instances.snapshots.list(a)).map((s) => s.name)).to.deep.equal([]);
    const d = await lxdkit(['delete', '-f', a, c, `${run}ghost`]);
    expect(d.code).to.equal(4);
    expect(d.stdout).to.equal(`deleted ${a}\ndeleted ${c}\n`);
    const left = (await client.instances.list({ recursion: 0 })).filter((n) => n.startsWith(run));
    expect(left).to.deep.equal([]);
  });

  /** Runs launch and sends SIGINT once stderr shows `line`; resolves to the exit code and stderr. */
  function launchInterrupted(name: string, line: string): Promise<{ code: number | null; stderr: string; signalled: boolean }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, '--server', server.kind, 'launch', TEST_IMAGE_ALIAS, name], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let signalled = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!signalled && stderr.includes(line)) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('close', (code) => resolve({ code, stderr, signalled }));
    });
  }

  for (const phase of ['creating', 'starting'] as const) {
    it(`launch interrupted by Ctrl-C while ${phase}: removes the instance it made, says so, exits 130`, async () => {
      const name = `${run}int-${phase}`;
      const r = await launchInterrupted(name, `${phase} ${name}`);
      expect(r.signalled, r.stderr).to.equal(true);
      expect(r.code, r.stderr).to.equal(130);
      expect(r.stderr).to.contain(`interrupted: removing ${name}`);
      expect(r.stderr, r.stderr).to.match(new RegExp(`removed ${name}|${name} was not made`));
      expect(await client.instances.list({ recursion: 0 })).to.not.include(name);
    });
  }
});
