/**
 * The built lxdkit command's toolbox (exec, file, snapshot, backup) against the real daemon.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { CLI, ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { removeLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';
import { SERVERS } from '../../helpers/servers.js';
import { removeProject, removeProjects } from '../../helpers/projects.js';
import { destroy, launch, processes } from '../../helpers/toolbox.js';

const PREFIX = 'lxdkit-spec-clt-';

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI with `input` on stdin (a pipe, so never a terminal). */
function withInput(args: string[], input: Buffer | string, opts: { onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(Buffer.concat(out).toString(), child);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

describe('lxdkit exec, file, snapshot, backup against the real daemon', function () {
  this.timeout(300_000);
  let client: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const c1 = `${run}-a`;

  before(async function () {
    client = await requireLxd(this);
    ensureBuilt();
    await removeLeftovers(client, PREFIX);
    await removeProjects(client, PREFIX);
    await launch(client, c1);
    dir = mkdtempSync(join(tmpdir(), `${run}-`));
  });

  after(async function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!client) return;
    await removeLeftovers(client, run);
    await client.close();
  });

  it("exec: lxdkit's exit status is the command's, and stdin, stdout and stderr go through", async function () {
    for (const status of [0, 3, 42]) {
      const r = await lxdkit(['exec', c1, '--', 'sh', '-c', `exit ${status}`]);
      expect(r.code, r.stderr).to.equal(status);
    }
    const input = randomBytes(300_000);
    const r = await withInput(['exec', c1, '--env', 'WHO=there', '--cwd', '/tmp', '--', 'sh', '-c', 'cat; echo "hi $WHO in $(pwd)" >&2; exit 5'], input);
    expect(r.code).to.equal(5);
    expect(r.stdout.equals(input), 'stdout is stdin, byte for byte').to.equal(true);
    expect(r.stderr).to.equal('hi there in /tmp\n');
  });

  it('exec: a missing program exits 127, a stopped instance 7, a missing instance 4', async function () {
    const missing = await lxdkit(['exec', c1, '--', 'no-such-program']);
    expect(missing.code).to.equal(127);
    expect(missing.stderr).to.match(/command not found: no-such-program/);
    expect((await lxdkit(['exec', `${run}-nothere`, '--', 'true'])).code).to.equal(4);
    const stopped = `${run}-s`;
    await launch(client, stopped, { start: false });
    try {
      const r = await lxdkit(['exec', stopped, '--', 'true']);
      expect(r.code).to.equal(7);
      expect(r.stderr).to.match(/not running/i);
    } finally {
      await destroy(client, stopped);
    }
  });

  it('exec: Ctrl-C (SIGINT) reaches the remote command, then lxdkit exits 130', async function () {
    let sent = false;
    const r = await withInput(['exec', c1, '--', 'sh', '-c', 'trap "echo got INT; exit 3" INT; echo ready; while :; do sleep 0.2; done'], '', {
      onStdout: (text, child) => {
        if (!sent && text.includes('ready')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(r.code).to.equal(130);
    expect(r.stdout.toString()).to.equal('ready\ngot INT\n');
    await new Promise((res) => setTimeout(res, 500));
    expect((await processes(client, c1)).filter((l) => /sleep|while/.test(l))).to.deep.equal([]);
  });

  it('exec -t: a pty even without a terminal', async function () {
    const r = await lxdkit(['exec', '-t', c1, '--', 'sh', '-c', 'tty; sleep 0.2']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^\/dev\/pts\/\d+\r\n$/);
  });

  it('exec -t with input that ends: the end reaches the command as a terminal Ctrl-D, so a command reading to the end (cat, wc) ends', async function () {
    // before, `cat` on a forced pty never saw the end of its input and lxdkit never returned
    this.timeout(60_000);
    const empty = await withInput(['exec', '-t', c1, '--', 'cat'], '');
    expect(empty.code, empty.stderr).to.equal(0);
    expect(empty.stdout.toString()).to.equal('');
    const lines = await withInput(['exec', '-t', c1, '--', 'wc', '-l'], 'one\ntwo\n');
    expect(lines.code, lines.stderr).to.equal(0);
    // the pty echoes what it is given, as a terminal does; then wc's count
    expect(lines.stdout.toString().trim().split(/\r?\n/).pop()!.trim()).to.equal('2');
    const partial = await withInput(['exec', '-t', c1, '--', 'sh', '-c', 'cat; echo "<end>"'], 'no newline');
    expect(partial.code, partial.stderr).to.equal(0);
    expect(partial.stdout.toString()).to.include('no newline').and.to.match(/<end>\r\n$/);
  });

  it('exec on a terminal: a pty, raw mode, no doubled carriage returns, the exit status, the terminal put back', async function () {
    // script(1) runs the command on a pty of its own, as a shell on a terminal would
    const cmd = `${process.execPath} ${CLI} exec ${c1} -- sh -c 'tty; echo done; sleep 0.3; exit 5'; echo "status=$?"; stty -a | grep -o -- '-\\?opost\\|-\\?icanon'`;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.out).to.match(/\/dev\/pts\/\d+\r\ndone\r\n/);
    expect(r.out).not.to.include('\r\r\n');
    expect(r.out).to.include('status=5');
    // after lxdkit, the terminal is cooked again (output processing and line editing on)
    expect(r.out).to.match(/\bopost\b/).and.match(/\bicanon\b/);
    expect(r.out).not.to.match(/-opost|-icanon/);
  });

  it('exec on Incus through --socket', async function () {
    const incus = SERVERS.find((s) => s.kind === 'incus')!;
    const r = await lxdkit(['--socket', incus.socket, 'exec', 'lxdkit-no-such-instance', '--', 'true']);
    expect(r.code, r.stderr).to.equal(4);
  });

  it('file push and pull round-trip a file and a tree; pull of a missing path exits 4', async function () {
    const local = join(dir, 'data.bin');
    writeFileSync(local, randomBytes(3 * 1024 * 1024));
    const push = await lxdkit(['file', 'push', '--mode', '0600', '--uid', '1000', local, `${c1}/root/`]);
    expect(push.code, push.stderr).to.equal(0);
    const back = join(dir, 'back.bin');
    const pull = await lxdkit(['file', 'pull', `${c1}/root/data.bin`, back]);
    expect(pull.code, pull.stderr).to.equal(0);
    const sum = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sum(back)).to.equal(sum(local));
    expect(statSync(back).mode & 0o777).to.equal(0o600);
    expect(await client.instances.files.stat(c1, '/root/data.bin')).to.deep.include({ uid: 1000, mode: 0o600 });

    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'a\n');
    writeFileSync(join(tree, 'sub', 'b.txt'), 'b\n');
    expect((await lxdkit(['file', 'push', '-r', tree, `${c1}/srv/`])).code, '/srv does not exist').to.equal(4);
    expect((await lxdkit(['file', 'push', '-r', '-p', tree, `${c1}/srv/`])).code, '-p makes it').to.equal(0);
    expect((await lxdkit(['file', 'push', tree, `${c1}/srv/`])).code, 'a directory needs -r').to.equal(3);
    const pulled = join(dir, 'pulled');
    mkdirSync(pulled);
    expect((await lxdkit(['file', 'pull', '-r', `${c1}/srv/tree`, pulled])).code).to.equal(0);
    expect(readFileSync(join(pulled, 'tree', 'sub', 'b.txt'), 'utf8')).to.equal('b\n');

    const toStdout = await lxdkit(['file', 'pull', `${c1}/srv/tree/a.txt`, '-']);
    expect(toStdout.stdout).to.equal('a\n');

    const missing = await lxdkit(['file', 'pull', `${c1}/no/such/file`, join(dir, 'x')]);
    expect(missing.code).to.equal(4);
    expect(missing.stderr).to.include('/no/such/file');

    expect((await lxdkit(['file', 'delete', '-r', `${c1}/srv/tree`])).code).to.equal(0);
    expect((await lxdkit(['file', 'delete', `${c1}/srv/tree`])).code).to.equal(4);
  });

  it('snapshot create, list --json, restore and delete', async function () {
    await client.instances.files.push(c1, '/root/note.txt', 'v1\n');
    expect((await lxdkit(['snapshot', 'create', c1, 'before', '--expiry', '7d'])).code).to.equal(0);
    const list = await lxdkit(['snapshot', 'list', c1, '--json']);
    expect(list.code).to.equal(0);
    const snaps = JSON.parse(list.stdout) as { name: string; expiresAt: string | null }[];
    expect(snaps.map((s) => s.name)).to.deep.equal(['before']);
    expect(new Date(snaps[0]!.expiresAt ?? 0).getTime()).to.be.greaterThan(Date.now() + 6 * 86_400_000);
    await client.instances.files.push(c1, '/root/note.txt', 'v2\n');
    expect((await lxdkit(['snapshot', 'restore', c1, 'before'])).code).to.equal(0);
    const f = await client.instances.files.pull(c1, '/root/note.txt');
    let text = '';
    for await (const chunk of f.body) text += String(chunk);
    expect(text).to.equal('v1\n');
    expect((await lxdkit(['snapshot', 'delete', c1, 'before'])).code).to.equal(0);
    expect((await lxdkit(['snapshot', 'delete', c1, 'before'])).code).to.equal(4);
    expect((await lxdkit(['snapshot', 'list', c1])).stdout).to.equal('(none)\n');
  });

  it('backup export and import --name', async function () {
    await client.instances.files.push(c1, '/root/exported.txt', 'exported\n');
    const file = join(dir, 'backup.tar.gz');
    const ex = await lxdkit(['backup', 'export', c1, file, '--instance-only']);
    expect(ex.code, ex.stderr).to.equal(0);
    expect(statSync(file).size).to.be.greaterThan(100_000);
    const copy = `${run}-copy`;
    try {
      const im = await lxdkit(['backup', 'import', file, '--name', copy, '--json']);
      expect(im.code, im.stderr).to.equal(0);
      expect(JSON.parse(im.stdout)).to.deep.include({ instance: copy });
      const f = await client.instances.files.pull(copy, '/root/exported.txt');
      let text = '';
      for await (const chunk of f.body) text += String(chunk);
      expect(text).to.equal('exported\n');
    } finally {
      await destroy(client, copy);
    }
  });

  it('snapshot create without a name and backup import without --name print the real names, in a project too', async function () {
    const project = `${run}-p`;
    // the project shares the default project's images and profiles
    await client.projects.create({ name: project, config: { 'features.images': 'false', 'features.profiles': 'false' } });
    const inside = client.withProject(project);
    try {
      await launch(inside, c1);
      const made = await lxdkit(['--project', project, 'snapshot', 'create', c1]);
      expect(made.code, made.stderr).to.equal(0);
      expect(made.stdout).to.equal(`created snapshot snap0 of ${c1}\n`);
      const json = await lxdkit(['--project', project, 'snapshot', 'create', c1, '--json']);
      expect(JSON.parse(json.stdout)).to.deep.equal({ instance: c1, snapshot: 'snap1' });
      expect((await inside.instances.snapshots.names(c1)).sort()).to.deep.equal(['snap0', 'snap1']);
      // a backup of the default project's c1, imported into the project under the name it holds
      const file = join(dir, 'to-project.tar.gz');
      expect((await lxdkit(['backup', 'export', c1, file, '--instance-only'])).code).to.equal(0);
      await destroy(inside, c1);
      const im = await lxdkit(['--project', project, 'backup', 'import', file]);
      expect(im.code, im.stderr).to.equal(0);
      expect(im.stdout).to.equal(`imported ${file} as instance ${c1}\n`);
    } finally {
      await inside.close();
      await removeProject(client, project);
    }
  });

  it('backup export refuses a directory, or a missing directory, with exit 3 before the server makes a backup', async function () {
    for (const target of [dir, join(dir, 'missing', 'x.tar.gz')]) {
      const r = await lxdkit(['backup', 'export', c1, target]);
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(/is a directory|does not exist/);
    }
    expect(await client.instances.backups.list(c1)).to.deep.equal([]);
  });
});
