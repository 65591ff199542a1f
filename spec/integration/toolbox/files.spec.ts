/**
 * instances.files on the real daemons (LXD 5.0.2 and Incus), in busybox containers: streamed pushes
 * and pulls, metadata headers (X-LXD-* on LXD, X-Incus-* on Incus), directories, symlinks, trees.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { LxdNotFoundError, LxdValidationError, type LxdClient, type TransferProgress } from '../../../lib/lxd/index.js';
import { removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { launch } from '../../helpers/toolbox.js';

const PREFIX = 'lxdkit-spec-fi-';

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describeEachServer('instances.files', (server) => {
  let lxd: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const c1 = `${run}-a`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeLeftovers(lxd, PREFIX);
    await launch(lxd, c1);
    dir = await mkdtemp(join(tmpdir(), `${run}-`));
  });

  after(async function () {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (!lxd) return;
    await removeLeftovers(lxd, run);
    await lxd.close();
  });

  it('pushes and pulls back a 200 MiB file: the same SHA-256, mode and owner', async function () {
    const local = join(dir, 'big.bin');
    execFileSync('dd', ['if=/dev/urandom', `of=${local}`, 'bs=1M', 'count=200', 'status=none']);
    const progress: TransferProgress[] = [];
    await lxd.instances.files.pushFile(c1, local, '/tmp/big.bin', { mode: 0o640, uid: 1000, gid: 1001, onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)).to.deep.include({ bytes: 200 * 1024 * 1024, totalBytes: 200 * 1024 * 1024 });
    const inside = await lxd.instances.execOutput(c1, { command: ['sha256sum', '/tmp/big.bin'] });
    const back = join(dir, 'big.back');
    const info = await lxd.instances.files.pullFile(c1, '/tmp/big.bin', back);
    const sum = await sha256File(local);
    expect(inside.stdout.toString().split(' ')[0]).to.equal(sum);
    expect(await sha256File(back)).to.equal(sum);
    expect(info).to.deep.equal({ type: 'file', uid: 1000, gid: 1001, mode: 0o640, size: 200 * 1024 * 1024 });
    expect((await stat(back)).mode & 0o777).to.equal(0o640);
    expect(await lxd.instances.files.stat(c1, '/tmp/big.bin')).to.deep.equal({ type: 'file', uid: 1000, gid: 1001, mode: 0o640 });
    await lxd.instances.files.delete(c1, '/tmp/big.bin');
  });

  it('round-trips a directory tree of 500 small files, with modes and a symlink', async function () {
    const src = join(dir, 'tree');
    for (let d = 0; d < 10; d++) {
      await mkdir(join(src, `d${d}`, 'inner'), { recursive: true });
      for (let f = 0; f < 50; f++) {
        const at = f % 2 ? join(src, `d${d}`, 'inner', `f${f}.txt`) : join(src, `d${d}`, `f${f}.txt`);
        await writeFile(at, `file ${d}/${f}\n`.repeat(f + 1));
      }
    }
    await chmod(join(src, 'd3', 'f0.txt'), 0o600);
    await chmod(join(src, 'd4'), 0o700);
    await symlink('d1/f2.txt', join(src, 'link'));
    this.timeout(300_000);
    const pushed = await lxd.instances.files.pushRecursive(c1, src, '/root/tree');
    expect(pushed.files).to.equal(500);
    expect(pushed.symlinks).to.equal(1);
    expect(pushed.directories).to.equal(21);
    const count = await lxd.instances.execOutput(c1, { command: ['sh', '-c', 'find /root/tree -type f | wc -l'] });
    expect(count.stdout.toString().trim()).to.equal('500');

    const back = join(dir, 'tree-back');
    const pulled = await lxd.instances.files.pullRecursive(c1, '/root/tree', back);
    expect(pulled).to.deep.include({ files: 500, symlinks: 1, directories: 21 });
    const list = async (root: string, at = ''): Promise<string[]> => {
      const out: string[] = [];
      for (const e of (await readdir(join(root, at), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const rel = join(at, e.name);
        const st = await lstat(join(root, rel));
        if (e.isDirectory()) out.push(`${rel}/ ${(st.mode & 0o777).toString(8)}`, ...(await list(root, rel)));
        else if (e.isSymbolicLink()) out.push(`${rel} -> ${await readlink(join(root, rel))}`);
        else out.push(`${rel} ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(join(root, rel))).digest('hex')}`);
      }
      return out;
    };
    const [got, want] = [await list(back), await list(src)];
    expect(got.filter((l) => !want.includes(l)), 'pulled, not pushed').to.deep.equal([]);
    expect(want.filter((l) => !got.includes(l)), 'pushed, not pulled').to.deep.equal([]);
    expect(got).to.deep.equal(want);
    await lxd.instances.files.delete(c1, '/root/tree', { recursive: true });
    expect(await lxd.instances.files.stat(c1, '/root/tree').catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
  });

  it('pushes a stream, a string and an append; lists, makes directories with parents, makes symlinks', async function () {
    await lxd.instances.files.push(c1, '/tmp/streamed.txt', Readable.from([Buffer.from('one '), Buffer.from('two')]), { mode: '0600' });
    await lxd.instances.files.push(c1, '/tmp/streamed.txt', '\nthree', { write: 'append' });
    const pulled = await lxd.instances.files.pull(c1, '/tmp/streamed.txt');
    const chunks: Buffer[] = [];
    for await (const c of pulled.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal('one two\nthree');
    expect(pulled.mode).to.equal(0o600);

    await lxd.instances.files.mkdir(c1, '/srv/a/b/c', { parents: true, mode: 0o750, uid: 1000 });
    expect(await lxd.instances.files.stat(c1, '/srv/a/b/c')).to.deep.equal({ type: 'directory', uid: 1000, gid: 0, mode: 0o750 });
    expect(await lxd.instances.files.list(c1, '/srv/a')).to.deep.equal(['b']);

    await lxd.instances.files.symlink(c1, '/srv/link', '/etc/hostname');
    const link = await lxd.instances.files.pull(c1, '/srv/link');
    expect(link.type).to.equal('symlink');
    const target: Buffer[] = [];
    for await (const c of link.body) target.push(c as Buffer);
    expect(Buffer.concat(target).toString()).to.equal('/etc/hostname');

    await lxd.instances.files.delete(c1, '/srv/link');
    await lxd.instances.files.delete(c1, '/srv/a', { recursive: true });
    expect(await lxd.instances.files.list(c1, '/srv')).to.deep.equal([]);
  });

  it('says NOT_FOUND for a missing path, and refuses a directory to pull() and a file to list()', async function () {
    const missing = await lxd.instances.files.pull(c1, '/no/such/file').catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(LxdNotFoundError);
    expect((missing as LxdNotFoundError).code).to.equal('LXD_ERR_NOT_FOUND');
    expect(await lxd.instances.files.delete(c1, '/no/such/file').catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
    expect(await lxd.instances.files.pull(c1, '/etc').catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
    expect(await lxd.instances.files.list(c1, '/etc/hostname').catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
  });

  it('validates paths before any I/O (even for an instance that does not exist)', async function () {
    for (const path of ['relative/path', '', '/a\0b']) {
      const err = await lxd.instances.files.pull(`${run}-nothere`, path).catch((e: unknown) => e);
      expect(err, JSON.stringify(path)).to.be.instanceOf(LxdValidationError);
    }
    expect(await lxd.instances.files.push(c1, '/tmp/x', 'x', { mode: '999' }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
  });
});
