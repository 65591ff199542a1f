import { expect } from 'chai';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvmError, backingFilePath, ensureCachedImage, humanizeBytes, imageFType } from '../../../lib/container/kvm/index.js';
import type { Status } from '../../../lib/container/types.js';
import { pauseNock, sha256, startSimplestreamsServer, type SimplestreamsServer } from '../../helpers/simplestreams-server.js';
import { failure, fakeRunner } from './fake-runner.js';
import { rejection } from '../../helpers/rejection.js';

// `qemu-img convert -f qcow2 <src> <dst>` done as a copy.
const convertByCopy = fakeRunner(async (_c, args) => {
  await copyFile(args[3] ?? '', args[4] ?? '');
  return undefined;
});

describe('kvm image cache', () => {
  const image = Buffer.alloc(300 * 1024, 7);
  let server: SimplestreamsServer;
  let root: string;
  let guestDir: string;
  let downloadDir: string;
  let resumeNock: () => void;

  before(async () => {
    resumeNock = pauseNock();
    server = await startSimplestreamsServer({
      streams: [
        {
          products: [
            { release: 'focal', version: '20.04', arch: 'amd64', versions: { '20240101': [{ ftype: 'disk1.img', content: image }] } },
            { release: 'jammy', version: '22.04', arch: 'amd64', versions: { '20240101': [{ ftype: 'disk1.img', content: image, sha256: 'f'.repeat(64) }] } },
            { release: 'focal', version: '20.04', arch: 'arm64', versions: { '20240101': [{ ftype: 'uefi1.img', content: image }] } },
          ],
        },
        { contentId: 'com.ubuntu.cloud:daily:download', products: [{ release: 'noble', arch: 'amd64', versions: { '1': [{ ftype: 'disk1.img', content: 'daily' }] } }] },
      ],
    });
  });
  after(async () => {
    await server.close();
    resumeNock();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lxdkit-kvm-cache-'));
    guestDir = join(root, 'guests');
    downloadDir = root;
    await mkdir(guestDir);
    convertByCopy.calls.length = 0;
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const params = (series: string, extra: Partial<Parameters<typeof ensureCachedImage>[0]> = {}) => ({
    series,
    arch: 'amd64',
    stream: '',
    source: server.baseUrl,
    guestDir,
    ...extra,
  });

  it('uses an existing backing file as it is', async () => {
    await writeFile(backingFilePath(guestDir, 'focal', 'amd64'), 'mine');
    const before = server.requests.length;
    expect(await ensureCachedImage(params('focal'), { run: convertByCopy })).to.equal(join(guestDir, 'focal-amd64-backing-file.qcow'));
    expect(server.requests.length).to.equal(before);
    expect(convertByCopy.calls).to.deep.equal([]);
  });

  it('downloads with progress, converts with qemu-img into place and removes the download', async () => {
    const calls: [Status, string][] = [];
    const path = await ensureCachedImage(params('focal', { callback: (s, i) => void calls.push([s, i]) }), { run: convertByCopy, downloadDir });
    expect(await readFile(path)).to.deep.equal(image);
    const url = server.url('images/com.ubuntu.cloud_server_20.04_amd64/20240101/disk1.img');
    expect(calls.length).to.be.greaterThan(0);
    const pcts = calls.map(([s, info]) => {
      expect(s).to.equal('allocating');
      const m = /^copying (\S+) (\d+)% \((\d+(?:\.\d)? [kMGT]?B)\/s\)$/.exec(info);
      expect(m, info).to.not.equal(null);
      expect(m?.[1]).to.equal(url);
      return Number(m?.[2]);
    });
    expect(pcts.at(-1)).to.equal(100);
    expect(new Set(pcts).size).to.equal(pcts.length); // only when the percentage changes
    const [convert] = convertByCopy.calls;
    expect(convert?.command).to.equal('qemu-img');
    expect(convert?.args.slice(0, 3)).to.deep.equal(['convert', '-f', 'qcow2']);
    expect(convert?.args[3]).to.match(new RegExp(`^${root}/juju-kvm-disk1\\.img-[0-9a-f]{12}$`));
    expect(convert?.args[4]).to.match(new RegExp(`^${path}\\.partial-[0-9a-f]{12}$`));
    expect((await readdir(root)).sort()).to.deep.equal(['guests']);
    expect(await readdir(guestDir)).to.deep.equal(['focal-amd64-backing-file.qcow']);
  });

  it('fetches one image at a time', async () => {
    const count = () => server.requests.filter((r) => r.endsWith('20.04_amd64/20240101/disk1.img')).length;
    const before = count();
    const [a, b] = await Promise.all([
      ensureCachedImage(params('focal'), { run: convertByCopy, downloadDir }),
      ensureCachedImage(params('focal'), { run: convertByCopy, downloadDir }),
    ]);
    expect(a).to.equal(b);
    expect(count() - before).to.equal(1);
  });

  it("removes the download on a checksum mismatch, with Juju's text", async () => {
    const err = await rejection(ensureCachedImage(params('jammy'), { run: convertByCopy, downloadDir }));
    expect(KvmError.is(err, 'KVM_ERR_IMAGE')).to.equal(true);
    expect((err as Error).message).to.match(
      new RegExp(`^hash sum mismatch for ${root}/juju-kvm-disk1\\.img-[0-9a-f]{12}: ${sha256(image)} != ${'f'.repeat(64)}$`),
    );
    expect((await readdir(root)).sort()).to.deep.equal(['guests']);
    expect(await readdir(guestDir)).to.deep.equal([]);
  });

  it('removes the partial backing file when qemu-img fails', async () => {
    const run = fakeRunner(async (c, a) => {
      await writeFile(a[4] ?? '', 'half');
      return failure(c, a, 'qemu-img: Could not open: Image is not in qcow2 format');
    });
    const err = await rejection(ensureCachedImage(params('focal'), { run, downloadDir }));
    expect((err as Error).message).to.match(/^`qemu-img convert -f qcow2 .*` failed \(exit 1\): qemu-img: Could not open/);
    expect((await readdir(root)).sort()).to.deep.equal(['guests']);
    expect(await readdir(guestDir)).to.deep.equal([]);
  });

  it('looks up uefi1.img on arm64 and the daily content id for the daily stream', async () => {
    expect(imageFType('arm64')).to.equal('uefi1.img');
    expect(imageFType('amd64')).to.equal('disk1.img');
    await ensureCachedImage(params('focal', { arch: 'arm64' }), { run: convertByCopy, downloadDir });
    expect(await readdir(guestDir)).to.deep.equal(['focal-arm64-backing-file.qcow']);
    const err = await rejection(ensureCachedImage(params('noble'), { run: convertByCopy, downloadDir }));
    expect((err as Error).message).to.equal(`no image found for noble amd64 with disk1.img in com.ubuntu.cloud:released:download at ${server.baseUrl}`);
    await ensureCachedImage(params('noble', { stream: 'daily' }), { run: convertByCopy, downloadDir });
    expect(await readFile(backingFilePath(guestDir, 'noble', 'amd64'), 'utf8')).to.equal('daily');
  });

  it('formats rates as go-humanize does', () => {
    expect(humanizeBytes(5)).to.equal('5 B');
    expect(humanizeBytes(820)).to.equal('820 B');
    expect(humanizeBytes(1500)).to.equal('1.5 kB');
    expect(humanizeBytes(82_000_000)).to.equal('82 MB');
  });
});
