/**
 * Snapshots, backups, the console log and the log files on the real daemons (LXD 5.0.2 and Incus).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdNotFoundError, LxdValidationError, type LxdClient, type OperationProgress, type TransferProgress } from '../../../lib/lxd/index.js';
import { uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer } from '../../helpers/servers.js';
import { destroy, useContainer } from '../../helpers/toolbox.js';

const PREFIX = 'lxdkit-spec-sb-';
const OP = { timeoutMs: 180_000 };

async function read(lxd: LxdClient, instance: string, path: string): Promise<string> {
  const f = await lxd.instances.files.pull(instance, path);
  const chunks: Buffer[] = [];
  for await (const c of f.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describeEachServer('instances.snapshots, backups, console', (server) => {
  const box = useContainer(server, PREFIX, { tempDir: true });
  const { run, name: c1 } = box;
  let lxd: LxdClient;
  let dir: string;
  before(() => ({ lxd, dir } = box));

  it('restores a snapshot: a file deleted after it comes back', async function () {
    await lxd.instances.files.push(c1, '/root/keep.txt', 'precious\n');
    const expires = new Date(Date.now() + 24 * 3600_000);
    expires.setMilliseconds(0);
    await (await lxd.instances.snapshots.create(c1, { name: 'before', expiresAt: expires })).wait(OP);
    const { value: snap, etag } = await lxd.instances.snapshots.get(c1, 'before');
    expect(snap.name).to.equal('before');
    expect(new Date(snap.expires_at ?? '').getTime()).to.equal(expires.getTime());
    expect(etag).to.be.a('string');
    expect((await lxd.instances.snapshots.list(c1)).map((s) => s.name)).to.deep.equal(['before']);

    await lxd.instances.files.delete(c1, '/root/keep.txt');
    expect(await lxd.instances.files.stat(c1, '/root/keep.txt').catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
    await (await lxd.instances.snapshots.restore(c1, 'before')).wait(OP);
    expect(await read(lxd, c1, '/root/keep.txt')).to.equal('precious\n');
    expect((await lxd.instances.state(c1)).value.status).to.equal('Running');
  });

  it('renames, re-dates and deletes snapshots, each as an operation', async function () {
    await (await lxd.instances.snapshots.create(c1, { name: 'tmp' })).wait(OP);
    await (await lxd.instances.snapshots.rename(c1, 'tmp', 'tmp2')).wait(OP);
    expect(await lxd.instances.snapshots.names(c1)).to.include('tmp2').and.not.include('tmp');
    const later = new Date(Date.now() + 48 * 3600_000);
    later.setMilliseconds(0);
    await (await lxd.instances.snapshots.update(c1, 'tmp2', { expiresAt: later })).wait(OP);
    expect(new Date((await lxd.instances.snapshots.get(c1, 'tmp2')).value.expires_at ?? '').getTime()).to.equal(later.getTime());
    await (await lxd.instances.snapshots.delete(c1, 'tmp2')).wait(OP);
    expect(await lxd.instances.snapshots.get(c1, 'tmp2').catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
    expect(await lxd.instances.snapshots.create(c1, { name: 'a/b' }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
  });

  it('never reaches another snapshot than the one named: a name with "%" is refused before any request (the server decodes it twice)', async function () {
    // the server itself takes "%76ictim" (lxc can make one); lxdkit must not delete "victim" for it
    await (await lxd.instances.snapshots.create(c1, { name: 'victim' })).wait(OP);
    const made = await lxd.query('POST', `/1.0/instances/${c1}/snapshots`, { body: { name: '%76ictim' } });
    await made.operation!.wait(OP);
    try {
      expect(await lxd.instances.snapshots.names(c1), 'names as the server holds them').to.include.members(['%76ictim', 'victim']);
      const calls: (() => Promise<unknown>)[] = [
        () => lxd.instances.snapshots.delete(c1, '%76ictim'),
        () => lxd.instances.snapshots.get(c1, '%76ictim'),
        () => lxd.instances.snapshots.restore(c1, '%76ictim'),
        () => lxd.instances.snapshots.rename(c1, '%76ictim', 'other'),
        () => lxd.instances.snapshots.update(c1, '%76ictim', { expiresAt: null }),
        () => lxd.instances.snapshots.create(c1, { name: '%2e%2e' }),
        () => lxd.instances.snapshots.rename(c1, 'victim', '%2e%2e'),
      ];
      for (const call of calls) {
        const err = await Promise.resolve().then(call).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(LxdValidationError);
        expect((err as Error).message).to.match(/decode a snapshot name in the URL twice/);
      }
      expect((await lxd.instances.snapshots.get(c1, 'victim')).value.name).to.equal('victim');
      expect(await lxd.instances.snapshots.names(c1)).to.include.members(['%76ictim', 'victim']);
    } finally {
      await (await lxd.instances.snapshots.delete(c1, 'victim')).wait(OP);
      // "%76ictim" cannot be deleted by name through either server (it decodes to "victim"): it goes with the instance
    }
  });

  it('take() without a name resolves to the name the server picked', async function () {
    const picked = await lxd.instances.snapshots.take(c1);
    expect(picked).to.be.a('string').and.match(/^snap\d+$/);
    expect(await lxd.instances.snapshots.names(c1)).to.include(picked);
    expect(await lxd.instances.snapshots.take(c1, { name: 'given' })).to.equal('given');
    for (const n of [picked!, 'given']) await (await lxd.instances.snapshots.delete(c1, n)).wait(OP);
  });

  it('exports a backup and imports it as a new instance that holds the same file', async function () {
    this.timeout(300_000);
    await lxd.instances.files.push(c1, '/root/backed-up.txt', 'in the backup\n', { mode: 0o600, uid: 1000 });
    const file = join(dir, 'c1.tar.gz');
    const made: OperationProgress[] = [];
    const downloaded: TransferProgress[] = [];
    const { size } = await lxd.instances.backups.export(c1, file, { instanceOnly: true, onProgress: (p) => made.push(p), onDownloadProgress: (p) => downloaded.push(p) });
    expect(size).to.equal((await stat(file)).size);
    expect(size).to.be.greaterThan(100_000);
    expect(downloaded.at(-1)?.bytes).to.equal(size);
    expect(await lxd.instances.backups.list(c1), 'export deletes its backup from the server').to.deep.equal([]);

    const copy = `${run}-b`;
    const uploaded: TransferProgress[] = [];
    const op = await lxd.instances.createFromBackup(file, { name: copy, pool: 'default', onProgress: (p) => uploaded.push(p) });
    await op.wait(OP);
    expect(uploaded.at(-1)).to.deep.equal({ bytes: size, totalBytes: size });
    try {
      expect((await lxd.instances.get(copy)).value.status).to.equal('Stopped');
      expect(await read(lxd, copy, '/root/backed-up.txt')).to.equal('in the backup\n');
      expect(await lxd.instances.files.stat(copy, '/root/backed-up.txt')).to.deep.include({ mode: 0o600, uid: 1000 });
    } finally {
      await destroy(lxd, copy);
    }
  });

  it('creates, lists, renames, streams and deletes backups', async function () {
    this.timeout(300_000);
    await (await lxd.instances.backups.create(c1, { name: 'bk', instanceOnly: true, compressionAlgorithm: 'none' })).wait(OP);
    const [bk] = await lxd.instances.backups.list(c1);
    expect(bk).to.deep.include({ name: 'bk', instance_only: true });
    await (await lxd.instances.backups.rename(c1, 'bk', 'bk2')).wait(OP);
    expect((await lxd.instances.backups.get(c1, 'bk2')).value.name).to.equal('bk2');
    const { size, body } = await lxd.instances.backups.download(c1, 'bk2');
    let got = 0;
    let head = Buffer.alloc(0);
    for await (const chunk of body) {
      if (head.length < 512) head = Buffer.concat([head, chunk as Buffer]);
      got += (chunk as Buffer).length;
    }
    expect(got).to.equal(size);
    // uncompressed: a tar archive ("ustar" at offset 257)
    expect(head.subarray(257, 262).toString()).to.equal('ustar');
    await (await lxd.instances.backups.delete(c1, 'bk2')).wait(OP);
    expect(await lxd.instances.backups.list(c1)).to.deep.equal([]);
  });

  it('reads and clears the console log', async function () {
    // LXD 5.0.2 answers a running container's empty console buffer with a 500 ("open : no such
    // file or directory"); lxdkit reads that as an empty log, as Incus answers it
    await lxd.instances.console.clearLog(c1);
    expect(await lxd.instances.console.log(c1)).to.equal('');
    const marker = `console-${uniqueSuffix()}`;
    await lxd.instances.execOutput(c1, { command: ['sh', '-c', `echo ${marker} > /dev/console`] });
    expect(await lxd.instances.console.log(c1)).to.include(marker);
    await lxd.instances.console.clearLog(c1);
    expect(await lxd.instances.console.log(c1)).to.equal('');
    expect(await lxd.instances.console.log(`${run}-nothere`).catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
  });

  it('lists and reads the instance log files', async function () {
    const logs = await lxd.instances.logs.list(c1);
    expect(logs).to.include('lxc.log');
    const text = await lxd.instances.logs.read(c1, 'lxc.log');
    expect(text).to.be.a('string');
    expect(await lxd.instances.logs.read(c1, '../etc').catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
  });
});
