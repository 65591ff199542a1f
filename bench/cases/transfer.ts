/**
 * Case 7, file transfer: push a large file of random bytes into a running container and pull it back,
 * through lxdkit (`files.pushFile` / `files.pullFile`, streamed), `lxc file push/pull` and pylxd
 * (`files.put` / `files.get`, which hold the file in memory). Peak RSS of each client's process, and
 * wall time; every pulled copy is checked against the original's SHA-256.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measured, pylxd, randomId, run, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

const MiB = 1 << 20;

interface Moved {
  wallMs: number;
  maxRssKiB: number;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function transfer(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const size = quick ? 16 * MiB : 1024 * MiB;
  const dir = join(tmpdir(), `${ctx.modePrefix}${randomId()}`);
  const need = 3 * size + 512 * MiB;
  for (const where of [tmpdir(), '/var/lib/lxd']) {
    const s = await statfs(where).catch(() => undefined);
    const free = s ? s.bavail * s.bsize : Number.POSITIVE_INFINITY;
    if (free < need) throw new Error(`not enough free disk under ${where}: ${(free / MiB).toFixed(0)} MiB, the transfer case needs ${(need / MiB).toFixed(0)} MiB`);
  }
  const name = 'bench-files';
  const remote = '/root/bench.bin';
  await (await ctx.client.instances.create({ name, type: 'container', source: { type: 'image', alias: ctx.imageAlias } })).wait({ timeoutMs: 120_000 });
  await (await ctx.client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 120_000 });
  const rss: Sample[] = [];
  const wall: Sample[] = [];
  const label = `${(size / MiB).toFixed(0)} MiB`;
  try {
    await mkdir(dir, { recursive: true });
    const source = join(dir, 'source.bin');
    const d = await run('dd', ['if=/dev/urandom', `of=${source}`, `bs=${MiB}`, `count=${size / MiB}`, 'iflag=fullblock', 'status=none']);
    if (d.code !== 0) throw new Error(`dd failed: ${d.stderr}`);
    const sum = await sha256File(source);
    const note = (variant: string, who: string, m: Moved, how: string): void => {
      rss.push({ variant: `${variant} ${label}`, contender: who, metric: 'rss', unit: 'MiB', values: [m.maxRssKiB / 1024], how });
      wall.push({ variant: `${variant} ${label}`, contender: who, metric: 'wall', unit: 'ms', values: [m.wallMs], how });
      ctx.log(`case 7 ${variant} ${who}: ${(m.wallMs / 1000).toFixed(1)} s, peak RSS ${(m.maxRssKiB / 1024).toFixed(0)} MiB`);
    };
    const args = { socketPath: ctx.socketPath, project: ctx.project, name, path: remote };
    const checkPulled = async (who: string, file: string): Promise<void> => {
      const got = await sha256File(file);
      if (got !== sum) throw new Error(`${who} pulled a file whose SHA-256 is ${got}, not ${sum}`);
      await rm(file, { force: true });
    };
    const lxc = (verb: 'push' | 'pull', a: string, b: string): Promise<Moved> =>
      measured('lxc', ['file', verb, '--project', ctx.project, a, b]).then((m) => ({ wallMs: m.wallMs, maxRssKiB: m.maxRssKiB }));
    for (const who of [LXDKIT, 'lxc', 'pylxd']) {
      const pulled = join(dir, `pulled-${who}.bin`);
      if (who === LXDKIT) {
        note('push', who, await worker<Moved>('push', { ...args, file: source }), 'files.pushFile() (streamed)');
        note('pull', who, await worker<Moved>('pull', { ...args, file: pulled }), 'files.pullFile() (streamed)');
      } else if (who === 'lxc') {
        note('push', who, await lxc('push', source, `${name}${remote}`), '`lxc file push`');
        note('pull', who, await lxc('pull', `${name}${remote}`, pulled), '`lxc file pull`');
      } else {
        note('push', who, await pylxd<Moved>('push', { ...args, file: source }), 'files.put(path, open(f).read())');
        note('pull', who, await pylxd<Moved>('pull', { ...args, file: pulled }), 'files.get(path), written out');
      }
      await checkPulled(who, pulled);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const peak = (variant: string): number => rss.find((s) => s.contender === LXDKIT && s.variant === `${variant} ${label}`)?.values[0] ?? Number.NaN;
  const pushRss = peak('push');
  const pullRss = peak('pull');
  return {
    id: 'transfer',
    title: `7. File transfer: push and pull a ${label} file of random bytes`,
    samples: [...rss, ...wall],
    checks: [
      { target: 'push: peak RSS of the lxdkit client under 100 MB', met: pushRss * MiB < 100e6, detail: `${pushRss.toFixed(0)} MiB = ${((pushRss * MiB) / 1e6).toFixed(0)} MB` },
      { target: 'pull: peak RSS of the lxdkit client under 100 MB', met: pullRss * MiB < 100e6, detail: `${pullRss.toFixed(0)} MiB = ${((pullRss * MiB) / 1e6).toFixed(0)} MB` },
    ],
    notes: [
      'One run per client and direction; each pulled copy is checked against the SHA-256 of the file pushed. The lxdkit rows are bench/worker.ts processes (bundled JavaScript, no TypeScript loader); the peak RSS is the whole process (Node, lxdkit, the transfer).',
      "pylxd 2.2.10's `files.put` takes the content as bytes and `files.get` returns it as bytes: the file is read into memory.",
    ],
  };
}
