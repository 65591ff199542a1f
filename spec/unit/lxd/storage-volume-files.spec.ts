/**
 * `client.storageVolumes.files`: the files of a custom volume (Incus ≥ 6.0.5, `custom_volume_sftp`,
 * which the host's Incus 6.0.4 lacks), on a fake Incus serving a tree at the volume's files endpoint
 * with `X-Incus-*` headers. The same code as `instances.files` serves it, so the same hostile listings
 * are refused; the extension, names and paths are checked before any request.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { LxdExtensionMissingError } from '../../../lib/lxd/errors.js';
import { dir, file, link, serveFiles } from '../../helpers/fake-files.js';
import { serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const AT = '/1.0/storage-pools/:pool/volumes/custom/:volume/files';
/** What Incus 6.0.5 has of the file extensions, and the volumes' one. */
const FILES = ['storage', 'directory_manipulation', 'file_delete', 'file_append', 'file_symlinks', 'custom_volume_sftp'];

function incus(extensions: string[]): unknown {
  const base = serverInfo({ extensions }) as { environment: Record<string, unknown> };
  return { ...base, environment: { ...base.environment, server: 'incus', server_version: '6.0.5' } };
}

describe('lxd: storageVolumes.files (fake Incus)', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  let local: string;

  before(async () => {
    local = await mkdtemp(join(tmpdir(), 'lxdkit-spec-storx-files-'));
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(incus(FILES)));
    serveFiles(fake, '/data', dir([['a.txt', file('hello', 0o640)], ['sub', dir([['b.txt', file('deep')]])], ['l', link('a.txt')]]), { at: AT, kind: 'incus' });
    fake.on('POST', AT, () => sync(null));
    fake.on('DELETE', AT, () => sync(null));
    client = fake.client();
  });

  after(async () => {
    await client.close();
    await fake.close();
    await rm(local, { recursive: true, force: true });
  });

  beforeEach(() => {
    fake.requests.length = 0;
  });

  const sent = () => fake.requests.filter((q) => q.path !== '/1.0').map((q) => `${q.method} ${q.path}?path=${q.query.get('path')}`);

  it('stat, pull, list and pullRecursive read the volume\'s files at its endpoint', async () => {
    expect(await client.storageVolumes.files.stat('pool1', 'vol1', '/data/a.txt')).to.deep.equal({ type: 'file', uid: 0, gid: 0, mode: 0o640 });
    const pulled = await client.storageVolumes.files.pull('pool1', 'vol1', '/data/a.txt');
    const chunks: Buffer[] = [];
    for await (const c of pulled.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal('hello');
    expect(await client.storageVolumes.files.list('pool1', 'vol1', '/data')).to.deep.equal(['a.txt', 'sub', 'l']);
    const got = await client.storageVolumes.files.pullRecursive('pool1', 'vol1', '/data', join(local, 'tree'));
    expect([got.files, got.symlinks]).to.deep.equal([2, 1]);
    expect(await readFile(join(local, 'tree', 'sub', 'b.txt'), 'utf8')).to.equal('deep');
    expect(sent().slice(0, 3)).to.deep.equal([
      'HEAD /1.0/storage-pools/pool1/volumes/custom/vol1/files?path=/data/a.txt',
      'GET /1.0/storage-pools/pool1/volumes/custom/vol1/files?path=/data/a.txt',
      'GET /1.0/storage-pools/pool1/volumes/custom/vol1/files?path=/data',
    ]);
  });

  it('push, mkdir, symlink and delete write with Incus\'s own headers', async () => {
    await client.storageVolumes.files.push('pool1', 'vol1', '/data/new.txt', 'content', { mode: 0o600, uid: 1000, gid: 1000 });
    await client.storageVolumes.files.mkdir('pool1', 'vol1', '/data/dir');
    await client.storageVolumes.files.symlink('pool1', 'vol1', '/data/ln', 'new.txt');
    await client.storageVolumes.files.delete('pool1', 'vol1', '/data/new.txt');
    const posts = fake.requests.filter((q) => q.method === 'POST');
    expect(posts.map((q) => [q.query.get('path'), q.headers['x-incus-type'], q.headers['x-lxd-type']])).to.deep.equal([
      ['/data/new.txt', 'file', undefined],
      ['/data/dir', 'directory', undefined],
      ['/data/ln', 'symlink', undefined],
    ]);
    expect([posts[0]!.body, posts[0]!.headers['x-incus-mode'], posts[0]!.headers['x-incus-uid']]).to.deep.equal(['content', '0600', '1000']);
    expect(sent().at(-1)).to.equal('DELETE /1.0/storage-pools/pool1/volumes/custom/vol1/files?path=/data/new.txt');
  });

  it('a hostile listing is refused as for an instance: nothing written outside the destination', async () => {
    serveFiles(fake, '/evil', dir([['..', file('up')], ['ok', file('fine')]]), { at: AT, kind: 'incus' });
    const dest = join(local, 'evil');
    const err = await client.storageVolumes.files.pullRecursive('pool1', 'vol1', '/evil', dest, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'LXD_ERR_INVALID_RESPONSE');
    expect(await readdir(local)).to.not.include('up');
  });

  it('bad names and paths are refused before any request; a server without custom_volume_sftp gets LxdExtensionMissingError', async () => {
    const bad: (() => Promise<unknown>)[] = [
      () => client.storageVolumes.files.stat('pool1', 'a/b', '/x'),
      () => client.storageVolumes.files.stat('p/q', 'vol1', '/x'),
      () => client.storageVolumes.files.pull('pool1', 'vol1', 'relative'),
      () => client.storageVolumes.files.push('pool1', 'vol1', '/x\0y', 'z'),
      () => client.storageVolumes.files.delete('pool1', 'vol1', ''),
    ];
    for (const call of bad) expect(await call().catch((e: unknown) => e), String(call)).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
    expect(fake.requests).to.deep.equal([]);
    fake.on('GET', '/1.0', () => sync(incus(FILES.filter((e) => e !== 'custom_volume_sftp'))));
    const old = fake.client();
    try {
      for (const call of [() => old.storageVolumes.files.list('pool1', 'vol1', '/data'), () => old.storageVolumes.files.push('pool1', 'vol1', '/data/x', 'y'), () => old.storageVolumes.files.pushFile('pool1', 'vol1', join(local, 'nope'), '/data/x')]) {
        expect(await call().catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'custom_volume_sftp');
      }
      expect(sent()).to.deep.equal([]);
    } finally {
      fake.on('GET', '/1.0', () => sync(incus(FILES)));
      await old.close();
    }
  });
});
