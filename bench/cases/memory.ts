/**
 * Case 5, memory: import a large, incompressible unified image tarball and take the client's peak
 * RSS (the worker's own `process.resourceUsage().maxRSS`; getrusage for pylxd and lxc).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient, isNotFound } from '../../lib/index.js';
import { measured, randomId, run, worker, pylxd, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

const MiB = 1 << 20;

interface Imported {
  wallMs: number;
  fingerprint: string;
  maxRssKiB: number;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/** A unified image tarball: metadata.yaml, then rootfs/ with one file of random bytes. */
async function makeTarball(dir: string, sizeBytes: number, description: string): Promise<string> {
  await mkdir(join(dir, 'rootfs'), { recursive: true });
  await writeFile(
    join(dir, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: ${description}\n  os: lxdkit-bench\n`,
  );
  const blob = join(dir, 'rootfs', 'random.bin');
  const d = await run('dd', ['if=/dev/urandom', `of=${blob}`, `bs=${MiB}`, `count=${Math.ceil(sizeBytes / MiB)}`, 'iflag=fullblock', 'status=none'], { cwd: dir });
  if (d.code !== 0) throw new Error(`dd failed: ${d.stderr}`);
  const tarball = join(dir, 'image.tar');
  const t = await run('tar', ['-cf', tarball, '-C', dir, 'metadata.yaml', 'rootfs'], { cwd: dir });
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`);
  await rm(join(dir, 'rootfs'), { recursive: true, force: true });
  return tarball;
}

/** Deletes the images an earlier run of this mode left behind (their description carries the prefix). */
export async function removeLeftoverImages(socketPath: string, modePrefix: string, log: (m: string) => void): Promise<void> {
  const client = new LxdClient({ socketPath });
  try {
    for (const img of await client.images.list()) {
      if (!(img.properties?.['description'] ?? '').startsWith(modePrefix)) continue;
      log(`removing leftover image ${img.fingerprint.slice(0, 12)}`);
      await (await client.images.delete(img.fingerprint)).wait({ timeoutMs: 300_000 });
    }
  } finally {
    await client.close();
  }
}

export async function memory(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const size = quick ? 16 * MiB : 1024 * MiB;
  const dir = join(tmpdir(), `${ctx.modePrefix}${randomId()}`);
  const need = 3 * size + 512 * MiB;
  for (const where of [tmpdir(), '/var/lib/lxd']) {
    const free = await freeBytes(where).catch(() => Number.POSITIVE_INFINITY);
    if (free < need) throw new Error(`not enough free disk under ${where}: ${(free / MiB).toFixed(0)} MiB, the memory case needs ${(need / MiB).toFixed(0)} MiB`);
  }
  const client = new LxdClient({ socketPath: ctx.socketPath });
  const samples: Sample[] = [];
  const wall: Sample[] = [];
  const description = `${ctx.modePrefix}${randomId()}`;
  try {
    const t0 = performance.now();
    const tarball = await makeTarball(dir, size, description);
    const fingerprint = await sha256File(tarball);
    ctx.log(`case 5: generated a ${(size / MiB).toFixed(0)} MiB tarball in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const dropImage = async (): Promise<void> => {
      try {
        await (await client.images.delete(fingerprint)).wait({ timeoutMs: 300_000 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    await dropImage();
    const rss = (who: string, kib: number, how: string): void => {
      samples.push({ variant: `${(size / MiB).toFixed(0)} MiB image`, contender: who, metric: 'rss', unit: 'MiB', values: [kib / 1024], how });
    };
    const took = (who: string, ms: number): void => {
      wall.push({ variant: `${(size / MiB).toFixed(0)} MiB image`, contender: who, metric: 'wall', unit: 'ms', values: [ms], how: 'upload + LXD unpack' });
    };
    const base = await worker<{ maxRssKiB: number }>('baseline', { socketPath: ctx.socketPath });
    rss('lxdkit baseline', base.maxRssKiB, 'worker loading lxdkit, one GET');
    const args = { socketPath: ctx.socketPath, file: tarball };
    for (const who of [LXDKIT, 'raw undici']) {
      const out = await worker<Imported>('import', { ...args, contender: who === LXDKIT ? 'lxdkit' : 'undici' });
      if (out.fingerprint !== fingerprint) throw new Error(`${who} imported ${out.fingerprint}, expected ${fingerprint}`);
      rss(who, out.maxRssKiB, who === LXDKIT ? 'images.import({ unified })' : 'request(body: createReadStream)');
      took(who, out.wallMs);
      await dropImage();
      ctx.log(`case 5 ${who}: peak RSS ${(out.maxRssKiB / 1024).toFixed(0)} MiB`);
    }
    const py = await pylxd<Imported>('import', args);
    if (py.fingerprint !== fingerprint) throw new Error(`pylxd imported ${py.fingerprint}, expected ${fingerprint}`);
    rss('pylxd', py.maxRssKiB, 'client.images.create(open(f).read())');
    took('pylxd', py.wallMs);
    await dropImage();
    const lxc = await measured('lxc', ['image', 'import', tarball]);
    rss('lxc', lxc.maxRssKiB, '`lxc image import FILE`');
    took('lxc', lxc.wallMs);
    await dropImage();
  } finally {
    await rm(dir, { recursive: true, force: true });
    await client.close();
  }
  const lx = samples.find((s) => s.contender === LXDKIT)!.values[0]!;
  return {
    id: 'memory',
    title: `5. Memory: importing a ${(size / MiB).toFixed(0)} MiB incompressible image tarball`,
    samples: [...samples, ...wall],
    checks: [{ target: 'peak RSS of the lxdkit client under 100 MB', met: lx * MiB < 100e6, detail: `${lx.toFixed(0)} MiB = ${((lx * MiB) / 1e6).toFixed(0)} MB` }],
    notes: [
      'One run per client (peak RSS barely varies); the image is deleted between clients. The tarball is metadata.yaml plus a rootfs with one file from /dev/urandom, uncompressed.',
      "The Node workers are bench/worker.ts bundled to plain JavaScript (no TypeScript loader); the baseline row is such a worker that loads lxdkit and makes one request: the fixed cost of Node plus lxdkit's module graph before any upload. pylxd 2.2.10's `images.create` takes the image as bytes, so it must be read into memory.",
    ],
  };
}
