/**
 * Pulls from a server that lies (#18): hostile entry names, symlinks in the destination, modes with
 * setuid/setgid/sticky bits, FIFOs that never answer, names of 239-255 bytes, local paths the system
 * refuses. Served by the fake LXD on a temporary unix socket; everything local is under one temp
 * directory whose parts outside the destination are compared before and after.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExitCode, exitCodeFor } from '../../../lib/cli/exit-codes.js';
import { LxdError, LxdErrorCode, LxdLocalFileError, LxdResponseValidationError, LxdTimeoutError, type LxdClient, type PullWarning } from '../../../lib/lxd/index.js';
import { dir, fifo, file, link, serveFiles, type FakeFiles } from '../../helpers/fake-files.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';
import { snapshotTree } from '../../helpers/host-tree.js';
import { StringStream } from '../../../lib/cli/io.js';
import { runCli } from '../../../lib/cli/program.js';
import { silentLogger, type Logger } from '../../../lib/logger.js';
import { cli } from '../cli/helpers.js';

describe('files: pulls from a hostile server (#18)', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;
  let work: string;
  let dest: string;
  let outside: string;
  let tree: FakeFiles;
  let resumeNock: () => void = () => undefined;

  before(() => {
    resumeNock = pauseNock();
  });
  after(() => resumeNock());

  beforeEach(async () => {
    fake = await startFakeLxd();
    lxd = fake.client();
    work = await mkdtemp(join(tmpdir(), 'lxdkit-files18-'));
    // deep enough that "../../x" from the destination still lands inside `work`
    dest = join(work, 'l1', 'l2', 'dest');
    outside = join(work, 'outside');
    await mkdir(dest, { recursive: true });
    await mkdir(outside, { mode: 0o700 });
    await chmod(outside, 0o700);
    await writeFile(join(outside, 'secret'), 'the host secret\n', { mode: 0o600 });
    tree = serveFiles(fake, '/t', dir([]));
  });
  afterEach(async () => {
    await fake.close();
    await rm(work, { recursive: true, force: true });
  });

  describe('entry names (finding 2)', function () {
    const hostile: [string, string][] = [
      ['an empty name', ''],
      ['".."', '..'],
      ['"../../x"', '../../x'],
      ['"sub/../../x"', 'sub/../../x'],
      ['a name with "/"', 'a/b'],
      ['a name with NUL', 'a\0b'],
    ];
    for (const [what, name] of hostile) {
      it(`refuses a listing with ${what}: LXD_ERR_INVALID_RESPONSE, nothing written outside the destination`, async function () {
        tree.set(dir([['ok', file('fine\n')], [name, file('planted\n')]]));
        const before = await snapshotTree(work, dest);
        const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
        expect(LxdError.is(err, LxdErrorCode.INVALID_RESPONSE), String(err)).to.equal(true);
        expect(err).to.be.instanceOf(LxdResponseValidationError);
        expect(await snapshotTree(work, dest)).to.deep.equal(before);
        // refused before any entry is fetched
        expect(await readdir(dest)).to.deep.equal([]);
      });
    }

    it('refuses a "." entry at once instead of walking the same directory forever', async function () {
      tree.set(dir([['.', dir([])], ['f', file('x')]]));
      const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { signal: AbortSignal.timeout(3000) }).catch((e: unknown) => e);
      expect(LxdError.is(err, LxdErrorCode.INVALID_RESPONSE), String(err)).to.equal(true);
      expect(tree.asked.length).to.be.lessThan(5);
    });

    it('refuses a listing that names an entry twice', async function () {
      tree.set(dir([['twice', file('one')], ['twice', file('two')]]));
      const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
      expect(LxdError.is(err, LxdErrorCode.INVALID_RESPONSE), String(err)).to.equal(true);
      expect((err as Error).message).to.contain('listed twice');
    });

    it('list() and a recursive delete refuse such a listing too (a ".." entry would delete outside the path)', async function () {
      tree.set(dir([['..', file('up')]]));
      expect(LxdError.is(await lxd.instances.files.list('c1', '/t').catch((e: unknown) => e), LxdErrorCode.INVALID_RESPONSE)).to.equal(true);
      fake.on('GET', '/1.0', () => ({ body: { type: 'sync', status: 'Success', status_code: 200, metadata: { api_extensions: ['file_delete'], environment: { server: 'lxd', server_version: '5.0.2' } } } }));
      const c = fake.client();
      const err = await c.instances.files.delete('c1', '/t', { recursive: true }).catch((e: unknown) => e);
      expect(LxdError.is(err, LxdErrorCode.INVALID_RESPONSE), String(err)).to.equal(true);
      expect(fake.requests.filter((r) => r.method === 'DELETE')).to.deep.equal([]);
    });
  });

  describe('symlinks already in the destination (finding 1)', function () {
    it('replaces a local symlink where the instance now has a directory: the link goes, its target is untouched', async function () {
      // the first pull made sync/x a symlink to a host directory; the container then made x a directory
      tree.set(dir([['sync', dir([['x', link(outside)]])]]));
      await lxd.instances.files.pullRecursive('c1', '/t', dest);
      expect(await readlink(join(dest, 'sync', 'x'))).to.equal(outside);
      tree.set(dir([['sync', dir([['x', dir([['secret', file('overwritten\n', 0o666)], ['owned', file('planted\n', 0o4777)]], 0o777)]])]]));
      const before = await snapshotTree(work, dest);
      const warnings: PullWarning[] = [];
      const got = await lxd.instances.files.pullRecursive('c1', '/t', dest, { onWarning: (w) => warnings.push(w) });
      expect(await snapshotTree(work, dest)).to.deep.equal(before);
      expect((await stat(outside)).mode & 0o7777).to.equal(0o700);
      expect(await readFile(join(outside, 'secret'), 'utf8')).to.equal('the host secret\n');
      expect((await lstat(join(dest, 'sync', 'x'))).isDirectory()).to.equal(true);
      expect(await readFile(join(dest, 'sync', 'x', 'secret'), 'utf8')).to.equal('overwritten\n');
      expect(got).to.deep.include({ files: 2, directories: 3 });
      expect(warnings.map((w) => [w.action, w.path, w.localPath])).to.deep.equal([['replaced', '/t/sync/x', join(dest, 'sync', 'x')]]);
    });

    it('replaces a local symlink where the instance has a file, never writing through it', async function () {
      await symlink(join(outside, 'secret'), join(dest, 'f'));
      await symlink(outside, join(dest, 'sub'));
      tree.set(dir([['f', file('from the instance\n', 0o777)], ['sub', dir([['deeper', dir([['g', file('g\n')]])]])]]));
      const before = await snapshotTree(work, dest);
      await lxd.instances.files.pullRecursive('c1', '/t', dest);
      expect(await snapshotTree(work, dest)).to.deep.equal(before);
      expect((await lstat(join(dest, 'f'))).isFile()).to.equal(true);
      expect(await readFile(join(dest, 'f'), 'utf8')).to.equal('from the instance\n');
      expect(await readFile(join(dest, 'sub', 'deeper', 'g'), 'utf8')).to.equal('g\n');
    });

    it('pullFile replaces a symlink at the local path instead of writing through it', async function () {
      await symlink(join(outside, 'secret'), join(dest, 'f'));
      tree.set(dir([['f', file('new\n')]]));
      const before = await snapshotTree(work, dest);
      await lxd.instances.files.pullFile('c1', '/t/f', join(dest, 'f'));
      expect(await snapshotTree(work, dest)).to.deep.equal(before);
      expect(await readFile(join(dest, 'f'), 'utf8')).to.equal('new\n');
    });

    it('refuses to put a file where a local directory holds something (LXD_ERR_LOCAL_FILE); an empty one is replaced', async function () {
      await mkdir(join(dest, 'full'));
      await writeFile(join(dest, 'full', 'keep'), 'mine');
      await mkdir(join(dest, 'empty'));
      tree.set(dir([['empty', file('e')], ['full', file('f')]]));
      const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { concurrency: 1 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdLocalFileError);
      expect((err as LxdLocalFileError).localPath).to.equal(join(dest, 'full'));
      expect(exitCodeFor(err)).to.equal(ExitCode.INVALID_INPUT);
      expect(await readFile(join(dest, 'full', 'keep'), 'utf8')).to.equal('mine');
      expect(await readFile(join(dest, 'empty'), 'utf8')).to.equal('e');
    });
  });

  describe('modes (finding 9)', function () {
    it('applies at most 0o777: no setuid, setgid or sticky bit on the host', async function () {
      tree.set(dir([['suid', file('#!/bin/sh\n', 0o4755)], ['sgid', file('x', 0o2711)], ['d', dir([['f', file('y', 0o6777)]], 0o3777)]], 0o1777));
      await lxd.instances.files.pullRecursive('c1', '/t', dest);
      const mode = async (p: string): Promise<number> => (await stat(join(dest, p))).mode & 0o7777;
      expect(await mode('suid')).to.equal(0o755);
      expect(await mode('sgid')).to.equal(0o711);
      expect(await mode('d')).to.equal(0o777);
      expect(await mode('d/f')).to.equal(0o777);
      expect(await mode('.')).to.equal(0o777);
      const info = await lxd.instances.files.pullFile('c1', '/t/suid', join(dest, 'one'));
      expect(info.mode, 'the metadata says what the server said').to.equal(0o4755);
      expect(await mode('one')).to.equal(0o755);
    });
  });

  describe('FIFOs and other special files (finding 7)', function () {
    it('skips an entry that sends no data within stallTimeoutMs (a FIFO, as LXD serves one), with a warning', async function () {
      tree.set(dir([['a', file('a\n')], ['pipe', fifo()], ['z', dir([['b', file('b\n')]])]]));
      const warnings: PullWarning[] = [];
      const got = await lxd.instances.files.pullRecursive('c1', '/t', dest, { stallTimeoutMs: 300, onWarning: (w) => warnings.push(w), signal: AbortSignal.timeout(10_000) });
      expect(got).to.deep.equal({ files: 2, directories: 2, symlinks: 0, bytes: 4, skipped: 1 });
      expect(warnings.map((w) => [w.action, w.path])).to.deep.equal([['skipped', '/t/pipe']]);
      expect(warnings[0]!.message).to.contain('FIFO');
      expect((await readdir(dest)).sort()).to.deep.equal(['a', 'z']);
    });

    it('skips an entry whose type is neither file, directory nor symlink', async function () {
      tree.set(dir([['a', file('a\n')], ['sock', { type: 'special', header: 'socket' }]]));
      const got = await lxd.instances.files.pullRecursive('c1', '/t', dest, { signal: AbortSignal.timeout(10_000) });
      expect(got).to.deep.include({ files: 1, skipped: 1 });
      expect(await readdir(dest)).to.deep.equal(['a']);
    });

    it('fails pullFile() and pull() of a FIFO with LxdTimeoutError after stallTimeoutMs, leaving nothing', async function () {
      tree.set(dir([['pipe', fifo()]]));
      const one = await lxd.instances.files.pullFile('c1', '/t/pipe', join(dest, 'pipe'), { stallTimeoutMs: 300, signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
      expect(one).to.be.instanceOf(LxdTimeoutError);
      expect((one as LxdTimeoutError).timeoutMs).to.equal(300);
      expect(exitCodeFor(one)).to.equal(ExitCode.TIMEOUT);
      const stream = await lxd.instances.files.pull('c1', '/t/pipe', { stallTimeoutMs: 300, signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
      expect(stream).to.be.instanceOf(LxdTimeoutError);
      expect(await readdir(dest)).to.deep.equal([]);
    });

    it('fails, not skips, when the server stops answering altogether', async function () {
      tree.set(dir([['pipe', fifo()]]));
      fake.on('HEAD', '/1.0/instances/:name/files', (req) => (req.query.get('path') === '/t' ? { body: '', headers: { 'x-lxd-type': 'directory', 'x-lxd-uid': '0', 'x-lxd-gid': '0', 'x-lxd-mode': '0755' } } : new Promise(() => undefined)));
      const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { stallTimeoutMs: 300, signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdTimeoutError);
    });
  });

  describe('long names and local paths the system refuses (findings 6 and 13)', function () {
    for (const bytes of [239, 250, 255]) {
      it(`pulls a file whose name is ${bytes} bytes long`, async function () {
        const name = 'é'.repeat(Math.floor(bytes / 2)) + 'n'.repeat(bytes % 2);
        expect(Buffer.byteLength(name)).to.equal(bytes);
        tree.set(dir([[name, file('long\n')]]));
        await lxd.instances.files.pullRecursive('c1', '/t', dest);
        expect(await readFile(join(dest, name), 'utf8')).to.equal('long\n');
        await lxd.instances.files.pullFile('c1', `/t/${name}`, join(work, name));
        expect(await readFile(join(work, name), 'utf8')).to.equal('long\n');
        expect((await readdir(dest)).filter((n) => n.startsWith('.'))).to.deep.equal([]);
      });
    }

    it('reports a local name too long as LXD_ERR_LOCAL_FILE (exit 3), through the CLI too', async function () {
      tree.set(dir([['f', file('x')]]));
      const long = join(dest, 'n'.repeat(300));
      const err = await lxd.instances.files.pullFile('c1', '/t/f', long).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdLocalFileError);
      expect(err).to.deep.include({ code: 'LXD_ERR_LOCAL_FILE', syscallCode: 'ENAMETOOLONG', localPath: long });
      expect(exitCodeFor(err)).to.equal(ExitCode.INVALID_INPUT);
      const r = await cli(['--socket', fake.socketPath, 'file', 'pull', 'c1/t/f', long]);
      expect(r.code, r.stderr).to.equal(ExitCode.INVALID_INPUT);
      expect(r.stderr).to.contain('too long');
      // any ENAMETOOLONG the CLI meets has its documented code, not "unexpected failure"
      expect(exitCodeFor(Object.assign(new Error('ENAMETOOLONG: name too long, open'), { code: 'ENAMETOOLONG' }))).to.equal(ExitCode.INVALID_INPUT);
    });
  });

  it('the CLI skips a FIFO of pull -r after --stall-timeout and logs a warning', async function () {
    tree.set(dir([['a', file('a\n')], ['pipe', fifo()]]));
    const warned: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (a: unknown, b?: string) => void warned.push(typeof a === 'string' ? a : (b ?? '')), child: () => logger };
    const stderr = new StringStream();
    const code = await runCli(['--socket', fake.socketPath, 'file', 'pull', '-r', '--stall-timeout', '0.3', 'c1/t', dest], { stdout: new StringStream(), stderr, env: {}, cwd: work }, { logger });
    expect(code, stderr.text).to.equal(0);
    expect(await readdir(join(dest, 't'))).to.deep.equal(['a']);
    expect(warned.join('\n')).to.match(/\/t\/pipe in c1: no data within 300 ms, skipped/);
  });
});
