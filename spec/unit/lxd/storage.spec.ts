/**
 * Storage beyond volumes' CRUD, on a fake server shaped by the specs: volume backups and their
 * import, pool resources, the full-volume recursion variants, snapshot PATCH, and Incus's buckets
 * with their keys and backups (which need an S3 server, MinIO, that the host does not run). Each call
 * sends exactly the (method, path) of its row of the route table; extensions and bad input are
 * refused before any request.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { LxdExtensionMissingError } from '../../../lib/lxd/errors.js';
import { ROUTES } from '../../../lib/lxd/routes/table.js';
import { key } from '../../../scripts/api-doc.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const EXTENSIONS = ['storage', 'resources', 'custom_volume_backup', 'backup_override_name', 'backup_compression_algorithm', 'storage_volume_full', 'storage_buckets', 'storage_bucket_full', 'storage_bucket_backup'];

function info(kind: 'lxd' | 'incus', extensions = EXTENSIONS): unknown {
  const base = serverInfo({ extensions }) as { environment: Record<string, unknown> };
  return { ...base, environment: { ...base.environment, server: kind, server_version: kind === 'incus' ? '6.0.4' : '5.0.2' } };
}

const BUCKET = { name: 'bucket1', description: '', config: { size: '1GiB' }, s3_url: 'http://127.0.0.1:8555/bucket1', location: 'none', project: 'default' };
const KEY = { name: 'admin', description: '', role: 'admin', 'access-key': 'AK', 'secret-key': 'SK' };
const BACKUP = { name: 'b0', created_at: '2026-01-01T00:00:00Z', expires_at: '2026-02-01T00:00:00Z' };

describe('lxd: storage beyond volumes (fake server)', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-spec-storx-'));
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(info('incus')));
    fake.on('GET', /^\/1\.0\/storage-pools\//, (q) => {
      if (q.path.endsWith('/resources')) return sync({ space: { used: 10, total: 100 }, inodes: { used: 1, total: 50 } });
      if (q.path.endsWith('/export')) return { body: 'tarball bytes' };
      if (/\/keys\/[^/]+$/.test(q.path)) return sync(KEY, { etag: '"k"' });
      if (/\/backups\/[^/]+$/.test(q.path)) return sync({ ...BACKUP, name: 'vol1/b0' }, { etag: '"b"' });
      if (/\/buckets\/[^/]+$/.test(q.path)) return sync(q.query.get('recursion') === '1' ? { ...BUCKET, keys: [KEY], backups: [BACKUP] } : BUCKET, { etag: '"e"' });
      if (/\/volumes\/custom\/[^/]+$/.test(q.path)) return sync({ name: 'vol1', type: 'custom', config: {}, snapshots: [{ name: 'vol1/s0' }], backups: null, state: { usage: { used: 4096 } } }, { etag: '"v"' });
      if (q.query.get('recursion') === '2') return sync(q.path.endsWith('/buckets') ? [{ ...BUCKET, keys: null }] : [{ name: 'vol1', type: 'custom' }]);
      return sync([]);
    });
    for (const m of ['PUT', 'PATCH', 'DELETE']) fake.on(m, /^\/1\.0\/storage-pools\//, () => sync(null));
    fake.on('POST', /^\/1\.0\/storage-pools\//, (q) => (/\/(buckets|keys)$/.test(q.path) ? sync(KEY) : /\/backups(\/[^/]+)?$/.test(q.path) || /\/volumes\/custom$/.test(q.path) ? fake.operation() : sync(null)));
    client = fake.client();
  });

  after(async () => {
    await client.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    fake.requests.length = 0;
  });

  /** The requests after the server's info, as `METHOD path`. */
  const sent = () => fake.requests.filter((q) => q.path !== '/1.0' && !q.path.startsWith('/1.0/operations/'));

  it('each typed route sends the (method, path) of its row, with its recursion', async () => {
    const file = (n: string) => join(dir, n);
    await writeFile(file('in.tar.gz'), 'backup tarball');
    const calls: [() => Promise<unknown>, string, string?][] = [
      [() => client.storagePools.resources('p'), 'GET /1.0/storage-pools/{name}/resources'],
      [() => client.storageVolumes.backups.list('p', 'vol1', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups'],
      [() => client.storageVolumes.backups.list('p', 'vol1'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups?recursion=1'],
      [() => client.storageVolumes.backups.create('p', 'vol1', { name: 'b0' }), 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups'],
      [() => client.storageVolumes.backups.get('p', 'vol1', 'b0'), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}'],
      [() => client.storageVolumes.backups.rename('p', 'vol1', 'b0', 'b1'), 'POST /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}'],
      [() => client.storageVolumes.backups.delete('p', 'vol1', 'b0'), 'DELETE /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}'],
      [() => client.storageVolumes.backups.export('p', 'vol1', 'b0', file('out.tar.gz')), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/backups/{backupName}/export'],
      [() => client.storageVolumes.importBackup('p', file('in.tar.gz'), { name: 'vol2' }), 'POST /1.0/storage-pools/{poolName}/volumes/{type}'],
      [() => client.storageVolumes.snapshots.patch('p', 'vol1', 's0', { description: 'd' }), 'PATCH /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}/snapshots/{snapshotName}'],
      [() => client.storageVolumes.list('p', { type: 'custom', recursion: 2 }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}?recursion=2'],
      [() => client.storageVolumes.get('p', 'vol1', { recursion: 1 }), 'GET /1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}?recursion=1'],
      [() => client.storageBuckets.list('p', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/buckets'],
      [() => client.storageBuckets.list('p'), 'GET /1.0/storage-pools/{poolName}/buckets?recursion=1'],
      [() => client.storageBuckets.list('p', { recursion: 2 }), 'GET /1.0/storage-pools/{poolName}/buckets?recursion=2'],
      [() => client.storageBuckets.create('p', { name: 'bucket1' }), 'POST /1.0/storage-pools/{poolName}/buckets'],
      [() => client.storageBuckets.get('p', 'bucket1'), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}'],
      [() => client.storageBuckets.get('p', 'bucket1', { recursion: 1 }), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}?recursion=1'],
      [() => client.storageBuckets.update('p', 'bucket1', { config: { size: '2GiB' } }), 'PUT /1.0/storage-pools/{name}/buckets/{bucketName}'],
      [() => client.storageBuckets.patch('p', 'bucket1', { description: 'd' }), 'PATCH /1.0/storage-pools/{name}/buckets/{bucketName}'],
      [() => client.storageBuckets.delete('p', 'bucket1'), 'DELETE /1.0/storage-pools/{name}/buckets/{bucketName}'],
      [() => client.storageBuckets.keys.list('p', 'bucket1', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys'],
      [() => client.storageBuckets.keys.list('p', 'bucket1'), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys?recursion=1'],
      [() => client.storageBuckets.keys.create('p', 'bucket1', { name: 'k1', role: 'read-only' }), 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys'],
      [() => client.storageBuckets.keys.get('p', 'bucket1', 'k1'), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/keys/{keyName}'],
      [() => client.storageBuckets.keys.update('p', 'bucket1', 'k1', { role: 'admin' }), 'PUT /1.0/storage-pools/{name}/buckets/{bucketName}/keys/{keyName}'],
      [() => client.storageBuckets.keys.delete('p', 'bucket1', 'k1'), 'DELETE /1.0/storage-pools/{name}/buckets/{bucketName}/keys/{keyName}'],
      [() => client.storageBuckets.backups.list('p', 'bucket1', { recursion: 0 }), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups'],
      [() => client.storageBuckets.backups.list('p', 'bucket1'), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups?recursion=1'],
      [() => client.storageBuckets.backups.create('p', 'bucket1', { name: 'b0' }), 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups'],
      [() => client.storageBuckets.backups.get('p', 'bucket1', 'b0'), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}'],
      [() => client.storageBuckets.backups.rename('p', 'bucket1', 'b0', 'b1'), 'POST /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}'],
      [() => client.storageBuckets.backups.delete('p', 'bucket1', 'b0'), 'DELETE /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}'],
      [() => client.storageBuckets.backups.export('p', 'bucket1', 'b0', file('bucket.tar.gz')), 'GET /1.0/storage-pools/{poolName}/buckets/{bucketName}/backups/{backupName}/export'],
    ];
    const values: Record<string, string> = { name: 'p', poolName: 'p', type: 'custom', volumeName: 'vol1', snapshotName: 's0', backupName: 'b0', bucketName: 'bucket1', keyName: 'k1' };
    for (const [call, pair] of calls) {
      const route = ROUTES.find((r) => key(r.method, r.path) === pair);
      expect(route?.name, pair).to.be.a('string');
      fake.requests.length = 0;
      const out = await call();
      if (out && typeof out === 'object' && 'wait' in out) await (out as { wait(): Promise<unknown> }).wait();
      const [method, path] = pair.split(' ') as [string, string];
      const got = sent();
      expect(got.map((q) => `${q.method} ${q.path}`), pair).to.deep.equal([`${method} ${path.split('?')[0]!.replace(/\{(\w+)\}/g, (_, k: string) => values[k]!)}`]);
      const recursion = /\?recursion=(\d)/.exec(path)?.[1] ?? null;
      expect(got[0]!.query.get('recursion'), pair).to.equal(recursion);
      // pool resources are server-wide; the rest carry no project here (the client has none)
      expect(got[0]!.query.get('project'), pair).to.equal(null);
    }
  });

  it('sends strict bodies: a backup with its expiry, a bucket and a key as the specs name their fields', async () => {
    await client.storageVolumes.backups.create('p', 'vol1', { name: 'b0', volumeOnly: true, compressionAlgorithm: 'zstd', expiresAt: '2030-01-01T00:00:00Z' });
    await client.storageBuckets.create('p', { name: 'bucket1', description: 'd', config: { size: '1GiB' } });
    await client.storageBuckets.keys.create('p', 'bucket1', { name: 'k1', role: 'read-only', 'access-key': 'A' });
    await client.storageBuckets.backups.create('p', 'bucket1', { expiresAt: new Date('2030-01-01T00:00:00Z') });
    expect(sent().map((q) => q.body)).to.deep.equal([
      { name: 'b0', expires_at: '2030-01-01T00:00:00.000Z', volume_only: true, compression_algorithm: 'zstd' },
      { name: 'bucket1', description: 'd', config: { size: '1GiB' } },
      { name: 'k1', role: 'read-only', 'access-key': 'A' },
      { expires_at: '2030-01-01T00:00:00.000Z' },
    ]);
  });

  it('parses the answers: a backup named `volume/backup`, a bucket\'s credentials, the full volume and bucket', async () => {
    expect((await client.storageVolumes.backups.get('p', 'vol1', 'b0')).value).to.include({ name: 'b0', volume_only: false, optimized_storage: false });
    expect(await client.storageBuckets.create('p', { name: 'bucket1' })).to.include({ 'access-key': 'AK', 'secret-key': 'SK', role: 'admin' });
    const full = (await client.storageVolumes.get('p', 'vol1', { recursion: 1 })).value;
    expect([full.snapshots.map((s) => s.name), full.backups, full.state?.usage?.used]).to.deep.equal([['s0'], [], 4096]);
    const bucket = (await client.storageBuckets.get('p', 'bucket1', { recursion: 1 })).value;
    expect([bucket.keys.map((k) => k.name), bucket.backups.map((x) => x.name), bucket.s3_url]).to.deep.equal([['admin'], ['b0'], BUCKET.s3_url]);
    expect((await client.storageBuckets.list('p', { recursion: 2 }))[0]!.keys).to.deep.equal([]);
    expect(await client.storagePools.resources('p')).to.deep.equal({ space: { used: 10, total: 100 }, inodes: { used: 1, total: 50 } });
  });

  it('importBackup streams the file with the server\'s own name header (X-Incus-name on Incus, X-LXD-name on LXD)', async () => {
    const tarball = join(dir, 'import.tar.gz');
    await writeFile(tarball, 'a volume backup');
    await (await client.storageVolumes.importBackup('default', tarball, { name: 'vol2' })).wait();
    const [incus] = sent();
    expect([incus!.headers['content-type'], incus!.headers['x-incus-name'], incus!.headers['x-lxd-name'], incus!.body]).to.deep.equal(['application/octet-stream', 'vol2', undefined, 'a volume backup']);
    fake.on('GET', '/1.0', () => sync(info('lxd')));
    const lxd = fake.client();
    try {
      fake.requests.length = 0;
      await (await lxd.storageVolumes.importBackup('default', tarball)).wait();
      const [req] = sent();
      expect([req!.path, req!.headers['x-lxd-name'], req!.body]).to.deep.equal(['/1.0/storage-pools/default/volumes/custom', undefined, 'a volume backup']);
      fake.requests.length = 0;
      await (await lxd.storageVolumes.importBackup('default', tarball, { name: 'vol3' })).wait();
      expect(sent()[0]!.headers['x-lxd-name']).to.equal('vol3');
    } finally {
      fake.on('GET', '/1.0', () => sync(info('incus')));
      await lxd.close();
    }
  });

  it('export writes the tarball into place (mode 0600) and leaves nothing behind when the server refuses', async () => {
    const out = join(dir, 'exported.tar.gz');
    expect(await client.storageVolumes.backups.export('p', 'vol1', 'b0', out)).to.deep.equal({ size: 'tarball bytes'.length });
    expect(await readFile(out, 'utf8')).to.equal('tarball bytes');
    expect((await stat(out)).mode & 0o777).to.equal(0o600);
    fake.on('GET', '/1.0/storage-pools/p/volumes/custom/vol1/backups/gone/export', () => lxdError(404, 'Storage volume backup not found'));
    const sub = join(dir, 'refused');
    await mkdir(sub);
    const err = await client.storageVolumes.backups.export('p', 'vol1', 'gone', join(sub, 'x.tar.gz')).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'LXD_ERR_NOT_FOUND');
    expect(await readdir(sub)).to.deep.equal([]);
  });

  it('refuses bad input before any request', async () => {
    const bad: (() => Promise<unknown>)[] = [
      () => client.storageVolumes.backups.list('p', 'a/b'),
      () => client.storageVolumes.backups.get('p', 'vol1', '..'),
      () => client.storageVolumes.backups.create('p', 'vol1', { name: 'x/y' }),
      () => client.storageVolumes.backups.create('p', 'vol1', { expiresAt: 'not a date' }),
      () => client.storageVolumes.backups.rename('p', 'vol1', 'b0', ''),
      () => client.storageVolumes.backups.export('p', 'vol1', 'b0', dir),
      () => client.storageVolumes.backups.export('p', 'vol1', 'b0', join(dir, 'missing-dir', 'x.tar.gz')),
      () => client.storageVolumes.backups.export('p', 'vol1', 'b0', join(dir, 'x.tar.gz'), { timeoutMs: -1 }),
      () => client.storageVolumes.importBackup('p', join(dir, 'no-such-file.tar.gz')),
      () => client.storageVolumes.importBackup('p', dir),
      () => client.storageVolumes.importBackup('p/q', join(dir, 'in.tar.gz')),
      () => client.storageVolumes.importBackup('p', join(dir, 'in.tar.gz'), { name: 'a/b' }),
      () => client.storageVolumes.list('p', { recursion: 2 } as never),
      () => client.storageVolumes.snapshots.patch('p', 'vol1', 's0', { expiresAt: 'never' }),
      () => client.storagePools.resources('..'),
      () => client.storageBuckets.get('p', 'Upper'),
      () => client.storageBuckets.create('p', { name: 'ab' }),
      () => client.storageBuckets.create('p', { name: 'bucket1', config: { size: 1 as never } }),
      () => client.storageBuckets.create('p', { name: 'bucket1', extra: true } as never),
      () => client.storageBuckets.list('p/q'),
      () => client.storageBuckets.keys.create('p', 'bucket1', { role: 'owner' as never }),
      () => client.storageBuckets.keys.get('p', 'bucket1', 'a/b'),
      () => client.storageBuckets.backups.export('p', 'bucket1', 'b0', dir),
    ];
    for (const call of bad) {
      const err = await call().catch((e: unknown) => e);
      expect(err, String(call)).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
    }
    expect(sent()).to.deep.equal([]);
  });

  it('an export to a target that cannot be written is refused with no request at all, not even for the server\'s extensions', async () => {
    const fresh = fake.client();
    try {
      fake.requests.length = 0;
      for (const call of [() => fresh.storageVolumes.backups.export('p', 'vol1', 'b0', dir), () => fresh.storageBuckets.backups.export('p', 'bucket1', 'b0', join(dir, 'missing-dir', 'x.tar.gz'))]) {
        expect(await call().catch((e: unknown) => e)).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
      }
      expect(fake.requests).to.deep.equal([]);
    } finally {
      await fresh.close();
    }
  });

  it('a server without the extension gets LxdExtensionMissingError and no request', async () => {
    fake.on('GET', '/1.0', () => sync(info('lxd', ['storage'])));
    const old = fake.client();
    try {
      const tarball = join(dir, 'in.tar.gz');
      const calls: [() => Promise<unknown>, string][] = [
        [() => old.storagePools.resources('p'), 'resources'],
        [() => old.storageVolumes.backups.list('p', 'vol1'), 'custom_volume_backup'],
        [() => old.storageVolumes.backups.create('p', 'vol1'), 'custom_volume_backup'],
        [() => old.storageVolumes.backups.export('p', 'vol1', 'b0', join(dir, 'never.tar.gz')), 'custom_volume_backup'],
        [() => old.storageVolumes.importBackup('p', tarball), 'custom_volume_backup'],
        [() => old.storageVolumes.get('p', 'vol1', { recursion: 1 }), 'storage_volume_full'],
        [() => old.storageVolumes.list('p', { type: 'custom', recursion: 2 }), 'storage_volume_full'],
        [() => old.storageBuckets.list('p'), 'storage_buckets'],
        [() => old.storageBuckets.create('p', { name: 'bucket1' }), 'storage_buckets'],
        [() => old.storageBuckets.delete('p', 'bucket1'), 'storage_buckets'],
        [() => old.storageBuckets.keys.create('p', 'bucket1'), 'storage_buckets'],
        [() => old.storageBuckets.backups.create('p', 'bucket1'), 'storage_bucket_backup'],
        [() => old.storageBuckets.backups.export('p', 'bucket1', 'b0', join(dir, 'never.tar.gz')), 'storage_bucket_backup'],
      ];
      for (const [call, extension] of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err, extension).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', extension);
      }
      expect(sent()).to.deep.equal([]);
      expect(await readdir(dir)).to.not.include('never.tar.gz');
      // the volume import asks for backup_override_name only when it renames
      fake.on('GET', '/1.0', () => sync(info('lxd', ['storage', 'custom_volume_backup'])));
      const mid = fake.client();
      try {
        expect(await mid.storageVolumes.importBackup('p', tarball, { name: 'vol2' }).catch((e: unknown) => e)).to.have.property('extension', 'backup_override_name');
        expect(await mid.storageVolumes.backups.create('p', 'vol1', { compressionAlgorithm: 'zstd' }).catch((e: unknown) => e)).to.have.property('extension', 'backup_compression_algorithm');
        expect(sent()).to.deep.equal([]);
      } finally {
        await mid.close();
      }
    } finally {
      fake.on('GET', '/1.0', () => sync(info('incus')));
      await old.close();
    }
  });
});
