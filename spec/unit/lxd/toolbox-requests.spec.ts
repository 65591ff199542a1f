/**
 * What the toolbox sends (snapshots, backups, files): bodies, headers per server, and clean-up on
 * failure, against the fake daemon.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdExtensionMissingError, LxdNotFoundError, LxdValidationError } from '../../../lib/lxd/index.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const ALL = ['container_backup', 'backup_override_name', 'backup_compression_algorithm', 'snapshot_expiry', 'snapshot_expiry_creation', 'file_delete', 'file_append', 'file_symlinks', 'directory_manipulation', 'container_exec_user_group_cwd', 'container_exec_recording'];

function info(kind: 'lxd' | 'incus', extensions = ALL): unknown {
  const i = serverInfo({ extensions }) as { environment: Record<string, unknown> };
  i.environment['server'] = kind;
  return i;
}

describe('toolbox requests', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;
  let dir: string;

  beforeEach(async function () {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(info('lxd')));
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-tbx-'));
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots: create with an RFC 3339 expiry, restore through PUT {restore}, rename and delete', async function () {
    for (const [m, p] of [['POST', '/1.0/instances/c1/snapshots'], ['PUT', '/1.0/instances/c1'], ['POST', '/1.0/instances/c1/snapshots/s1'], ['DELETE', '/1.0/instances/c1/snapshots/s2']] as const) {
      fake.on(m, p, () => fake.operation());
    }
    await (await lxd.instances.snapshots.create('c1', { name: 's1', expiresAt: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) })).wait();
    await (await lxd.instances.snapshots.restore('c1', 's1')).wait();
    await (await lxd.instances.snapshots.rename('c1', 's1', 's2')).wait();
    await (await lxd.instances.snapshots.delete('c1', 's2')).wait();
    expect(fake.requestsTo('POST', '/1.0/instances/c1/snapshots')[0]?.body).to.deep.equal({ name: 's1', expires_at: '2030-01-02T03:04:05.000Z' });
    expect(fake.requestsTo('PUT', '/1.0/instances/c1')[0]?.body).to.deep.equal({ restore: 's1' });
    expect(fake.requestsTo('POST', '/1.0/instances/c1/snapshots/s1')[0]?.body).to.deep.equal({ name: 's2' });
    expect(await lxd.instances.snapshots.create('c1', { expiresAt: 'not a date' }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
  });

  it('refuses a snapshot name holding "%" before any request: LXD and Incus decode it twice', async function () {
    const calls: (() => Promise<unknown>)[] = [
      () => lxd.instances.snapshots.delete('c1', '%76ictim'),
      () => lxd.instances.snapshots.get('c1', '%76ictim'),
      () => lxd.instances.snapshots.restore('c1', '%76ictim'),
      () => lxd.instances.snapshots.rename('c1', 'victim', '%2e%2e'),
      () => lxd.instances.snapshots.update('c1', '50%', { expiresAt: null }),
      () => lxd.instances.snapshots.create('c1', { name: '%2e%2e' }),
      () => lxd.instances.snapshots.take('c1', { name: '%' }),
    ];
    for (const call of calls) {
      const err = await Promise.resolve().then(call).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdValidationError);
      expect((err as Error).message).to.match(/holds "%"/);
    }
    expect(fake.requests).to.deep.equal([]);
  });

  it('lists snapshot names from the objects, not from URLs that hold "%" unescaped', async function () {
    fake.on('GET', '/1.0/instances/c1/snapshots', (req) =>
      sync(req.query.get('recursion') === '1' ? [{ name: '%76ictim' }, { name: 'victim' }] : ['/1.0/instances/c1/snapshots/%76ictim', '/1.0/instances/c1/snapshots/victim']),
    );
    expect(await lxd.instances.snapshots.names('c1')).to.deep.equal(['%76ictim', 'victim']);
  });

  it("take() resolves to the snapshot's name: from the operation's resources (Incus, ?project= dropped), else the one new in the listing (LXD 5.0.2)", async function () {
    const p1 = lxd.withProject('p1');
    const listings: string[][] = [];
    fake.on('GET', '/1.0/instances/c1/snapshots', () => sync((listings.shift() ?? []).map((name) => ({ name }))));
    const take = async (resources: Record<string, string[]> | undefined, before: string[], after: string[]): Promise<string | undefined> => {
      listings.push(before, after);
      fake.on('POST', '/1.0/instances/c1/snapshots', () => fake.operation(resources ? { resources } : {}));
      return p1.instances.snapshots.take('c1');
    };
    // LXD 5.0.2: the operation names only the instance
    expect(await take({ instances: ['/1.0/instances/c1?project=p1'] }, ['snap0'], ['snap0', 'snap1'])).to.equal('snap1');
    // Incus: instances_snapshots names it, even when another client took one meanwhile
    expect(await take({ instances: ['/1.0/instances/c1?project=p1'], instances_snapshots: ['/1.0/instances/c1/snapshots/snap3?project=p1'] }, [], ['snap2', 'snap3'])).to.equal('snap3');
    // two new ones and no resource: it cannot tell
    expect(await take(undefined, [], ['a', 'b'])).to.equal(undefined);
    expect(fake.requestsTo('POST', '/1.0/instances/c1/snapshots').map((r) => r.body)).to.deep.equal([{}, {}, {}]);
    expect(fake.requestsTo('POST', '/1.0/instances/c1/snapshots').every((r) => r.query.get('project') === 'p1')).to.equal(true);
    // a name given is the name, with no listing
    const listed = fake.requestsTo('GET', '/1.0/instances/c1/snapshots').length;
    expect(await p1.instances.snapshots.take('c1', { name: 'mine' })).to.equal('mine');
    expect(fake.requestsTo('GET', '/1.0/instances/c1/snapshots').length).to.equal(listed);
    await p1.close();
  });

  for (const kind of ['lxd', 'incus'] as const) {
    it(`createFromBackup streams the file with ${kind === 'lxd' ? 'X-LXD' : 'X-Incus'}-name and -pool`, async function () {
      fake.on('GET', '/1.0', () => sync(info(kind)));
      let body = Buffer.alloc(0);
      fake.on('POST', '/1.0/instances', (req) => {
        body = Buffer.from(String(req.body));
        return fake.operation();
      });
      const file = join(dir, 'backup.tar.gz');
      await writeFile(file, 'pretend tarball');
      await (await lxd.instances.createFromBackup(file, { name: 'copy', pool: 'default' })).wait();
      const [req] = fake.requestsTo('POST', '/1.0/instances');
      const prefix = kind === 'lxd' ? 'x-lxd' : 'x-incus';
      expect(req?.headers[`${prefix}-name`]).to.equal('copy');
      expect(req?.headers[`${prefix}-pool`]).to.equal('default');
      expect(req?.headers['content-type']).to.equal('application/octet-stream');
      expect(body.toString()).to.equal('pretend tarball');
    });
  }

  it('createFromBackup with a new name needs backup_override_name', async function () {
    fake.on('GET', '/1.0', () => sync(info('lxd', ['container_backup'])));
    const file = join(dir, 'b.tar');
    await writeFile(file, 'x');
    expect(await lxd.instances.createFromBackup(file, { name: 'copy' }).catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError);
    expect(fake.requestsTo('POST', '/1.0/instances')).to.deep.equal([]);
  });

  it('backups.export: a 30-day expiry by default, the tarball into the file, and the backup deleted even when the download fails', async function () {
    fake.on('POST', '/1.0/instances/c1/backups', () => fake.operation());
    fake.on('DELETE', '/1.0/instances/c1/backups/:name', () => fake.operation());
    fake.on('GET', '/1.0/instances/c1/backups/:name/export', () => ({ status: 200, body: 'TARBALL', headers: { 'content-type': 'application/octet-stream' } }));
    const file = join(dir, 'out.tar.gz');
    const { size } = await lxd.instances.backups.export('c1', file, { name: 'bk1' });
    expect(size).to.equal(7);
    expect(await readFile(file, 'utf8')).to.equal('TARBALL');
    const sent = fake.requestsTo('POST', '/1.0/instances/c1/backups')[0]?.body as { name: string; expires_at: string };
    expect(sent.name).to.equal('bk1');
    expect(new Date(sent.expires_at).getTime() - Date.now()).to.be.within(29 * 24 * 3600_000, 31 * 24 * 3600_000);
    expect(fake.requestsTo('DELETE', '/1.0/instances/c1/backups/bk1')).to.have.length(1);

    fake.on('GET', '/1.0/instances/c1/backups/:name/export', () => lxdError(404, 'Not Found'));
    expect(await lxd.instances.backups.export('c1', join(dir, 'x.tar'), { name: 'bk2' }).catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
    expect(fake.requestsTo('DELETE', '/1.0/instances/c1/backups/bk2')).to.have.length(1);
  });

  it('backups.export and downloadToFile check the target before the server makes or sends anything', async function () {
    fake.on('POST', '/1.0/instances/c1/backups', () => fake.operation());
    fake.on('DELETE', '/1.0/instances/c1/backups/:name', () => fake.operation());
    fake.on('GET', '/1.0/instances/c1/backups/:name/export', () => ({ status: 200, body: 'TARBALL', headers: { 'content-type': 'application/octet-stream' } }));
    await mkdir(join(dir, 'existing-dir'));
    await writeFile(join(dir, 'a-file'), 'not a directory');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const refused: [string, RegExp][] = [
      [join(dir, 'existing-dir'), /is a directory/],
      [`${join(dir, 'existing-dir')}/`, /names a directory/],
      [join(dir, 'missing', 'out.tar.gz'), /directory .* does not exist/],
      [join(dir, 'a-file', 'out.tar.gz'), /is not a directory/],
      [join(dir, 'fifo'), /not a regular file/],
      [join(dir, 'x'.repeat(256)), /longer than 255 bytes/],
    ];
    for (const [target, why] of refused) {
      for (const call of [() => lxd.instances.backups.export('c1', target), () => lxd.instances.backups.downloadToFile('c1', 'bk', target)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err, target).to.be.instanceOf(LxdValidationError);
        expect((err as LxdValidationError).field).to.equal('file');
        expect((err as Error).message, target).to.match(why);
      }
    }
    expect(fake.requests.filter((r) => r.path !== '/1.0'), 'no request at all').to.deep.equal([]);
    expect((await readdir(dir)).sort()).to.deep.equal(['a-file', 'existing-dir', 'fifo']);
    expect(await readdir(join(dir, 'existing-dir'))).to.deep.equal([]);

    // a name of 250 bytes: the temporary name beside it stays within the 255-byte limit
    const long = join(dir, 'y'.repeat(250));
    expect((await lxd.instances.backups.export('c1', long, { name: 'bk3' })).size).to.equal(7);
    expect(await readFile(long, 'utf8')).to.equal('TARBALL');
    expect((await readdir(dir)).sort()).to.deep.equal(['a-file', 'existing-dir', 'fifo', 'y'.repeat(250)]);
  });

  it('files: octet-stream bodies with X-LXD-* headers, an octal mode, mkdir -p one level at a time', async function () {
    fake.on('POST', '/1.0/instances/c1/files', () => sync({}));
    await lxd.instances.files.push('c1', '/etc/motd', 'hi', { mode: 0o640, uid: 5, gid: 6, write: 'append' });
    await lxd.instances.files.mkdir('c1', '/srv/a/b', { parents: true, mode: '0700' });
    const reqs = fake.requestsTo('POST', '/1.0/instances/c1/files');
    expect(reqs[0]?.query.get('path')).to.equal('/etc/motd');
    expect(reqs[0]?.headers).to.deep.include({ 'content-type': 'application/octet-stream', 'x-lxd-mode': '0640', 'x-lxd-uid': '5', 'x-lxd-gid': '6', 'x-lxd-type': 'file', 'x-lxd-write': 'append' });
    expect(reqs.slice(1).map((r) => `${r.query.get('path')} ${String(r.headers['x-lxd-type'])} ${String(r.headers['x-lxd-mode'])}`)).to.deep.equal(['/srv directory 0700', '/srv/a directory 0700', '/srv/a/b directory 0700']);
  });
});
