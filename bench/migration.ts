/**
 * Migration between servers: a custom volume of 1 GiB of random bytes (a `block` volume, filled from
 * /dev/urandom) copied from the host's LXD to the test cluster (scripts/cluster.sh) by
 * `storageVolumes.migrate` in relay mode (the data goes through this client) and in pull mode (the
 * cluster pulls from the host's HTTPS listener), beside `lxc storage volume copy` between the same two
 * servers (pull, lxc's default). Each run is a fresh process (lxdkit: a bundled worker; lxc: under
 * bench/peers/measure.py): wall time, client CPU and the client's peak RSS. Every copy is deleted
 * (untimed) before the next run.
 *
 * The host's LXD listens on 127.0.0.1 for the run (a `core.https_address` already on 127.0.0.1 is kept;
 * otherwise one is set and emptied afterwards); each side trusts the other's certificate for the run;
 * lxc gets a configuration directory of its own (LXD_CONF), a client certificate made for the run and
 * trusted by the cluster, and the cluster as a remote of a unique name; all removed afterwards.
 *
 *   npm run bench -- --migration          writes the "Migration between servers" section of bench/RESULTS.md
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient, isNotFound } from '../lib/index.js';
import { clusterSocket } from './cluster-launch.js';
import { defaultSocket, measured, median, randomId, run, worker, type Mode } from './harness.js';

const MiB = 1 << 20;
const PREFIX = 'lxdkit-bench-mig-';
const HOST_POOL = 'default';
const CLUSTER_POOL = 'local';

export interface MigrationRun {
  client: 'lxdkit relay' | 'lxdkit pull' | 'lxc storage volume copy';
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
}

export interface MigrationBenchResult {
  mode: Mode;
  sizeMiB: number;
  repeats: number;
  runs: MigrationRun[];
  /** Peak RSS of a worker that only loads lxdkit and makes one request. */
  baselineKiB: number;
  version: string;
  date: string;
  load: [number, number];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function removeVolume(c: LxdClient, pool: string, name: string): Promise<void> {
  await c.storageVolumes.delete(pool, name).then((op) => op.wait({ timeoutMs: 300_000 }), (err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

async function removeLeftovers(c: LxdClient, pool: string): Promise<void> {
  for (const v of await c.storageVolumes.list(pool, { type: 'custom', recursion: 0 })) if (v.startsWith(PREFIX)) await removeVolume(c, pool, v);
  for (const cert of await c.certificates.list()) if (cert.name.startsWith(PREFIX)) await c.certificates.delete(cert.fingerprint);
}

export async function runMigrationBench(opts: { mode: Mode; log?: (m: string) => void }): Promise<MigrationBenchResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const quick = opts.mode === 'quick';
  const sizeMiB = quick ? 64 : 1024;
  const repeats = quick ? 1 : 3;
  const load0 = loadavg()[0]!;
  const host = new LxdClient({ socketPath: defaultSocket() });
  const cluster = new LxdClient({ socketPath: clusterSocket() });
  const id = randomId();
  const vol = `${PREFIX}${id}`;
  const remote = `${PREFIX}${id}`;
  const conf = await mkdtemp(join(tmpdir(), PREFIX));
  const lxcEnv = [`LXD_CONF=${conf}`];
  let restoreHttps = false;
  const trusted: { client: LxdClient; fingerprint: string }[] = [];
  const runs: MigrationRun[] = [];
  try {
    await removeLeftovers(host, HOST_POOL);
    await removeLeftovers(cluster, CLUSTER_POOL);
    const addr = String((await host.server.get()).value.config['core.https_address'] ?? '');
    if (!/^127\.0\.0\.1:\d+$/.test(addr)) {
      if (addr !== '') throw new Error(`the host LXD listens on ${addr}, not on 127.0.0.1: leaving it alone`);
      await host.server.patch({ config: { 'core.https_address': `127.0.0.1:${await freePort()}` } });
      restoreHttps = true;
    }
    const hostEnv = (await host.server.get()).value.environment;
    const clusterEnv = (await cluster.server.get()).value.environment;
    // lxc's own client certificate for the run, trusted by the cluster
    const key = join(conf, 'client.key');
    const crt = join(conf, 'client.crt');
    const g = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', `/CN=${PREFIX}${id}`]);
    if (g.code !== 0) throw new Error(`openssl failed: ${g.stderr}`);
    const lxcCert = await readFile(crt, 'utf8');
    for (const [c, cert] of [
      [cluster, hostEnv?.certificate],
      [host, clusterEnv?.certificate],
      [cluster, lxcCert],
    ] as const) {
      if (!cert) throw new Error('GET /1.0 gave no certificate');
      const before = new Set((await c.certificates.list()).map((x) => x.fingerprint));
      try {
        await c.certificates.add({ certificate: cert, name: `${PREFIX}${id}`, type: 'client' });
      } catch (err) {
        if (!/already exists/i.test((err as Error).message)) throw err;
      }
      for (const x of await c.certificates.list()) if (!before.has(x.fingerprint)) trusted.push({ client: c, fingerprint: x.fingerprint });
    }
    const ra = await run('env', [...lxcEnv, 'lxc', 'remote', 'add', remote, 'https://127.0.1.1:8443', '--accept-certificate']);
    if (ra.code !== 0) throw new Error(`lxc remote add failed: ${ra.stderr}`);

    log(`migration: filling a ${sizeMiB} MiB volume with random bytes`);
    await (await host.storageVolumes.create(HOST_POOL, { name: vol, content_type: 'block', config: { size: `${sizeMiB}MiB` } })).wait();
    const img = `/var/lib/lxd/storage-pools/${HOST_POOL}/custom/default_${vol}/root.img`;
    const dd = await run('dd', ['if=/dev/urandom', `of=${img}`, `bs=${MiB}`, `count=${sizeMiB}`, 'iflag=fullblock', 'conv=notrunc', 'status=none']);
    if (dd.code !== 0) throw new Error(`dd failed: ${dd.stderr}`);

    const baseline = await worker<{ maxRssKiB: number }>('baseline', { socketPath: defaultSocket() });
    const copy = `${vol}-copy`;
    for (let i = 0; i < repeats; i++) {
      const order = i % 2 === 0 ? (['relay', 'pull', 'lxc'] as const) : (['lxc', 'pull', 'relay'] as const);
      for (const which of order) {
        log(`migration: run ${i + 1}/${repeats}, ${which}`);
        if (which === 'lxc') {
          const m = await measured('env', [...lxcEnv, 'lxc', 'storage', 'volume', 'copy', `local:${HOST_POOL}/${vol}`, `${remote}:${CLUSTER_POOL}/${copy}`]);
          runs.push({ client: 'lxc storage volume copy', wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKiB: m.maxRssKiB });
        } else {
          const r = await worker<{ wallMs: number; cpuMs: number; maxRssKiB: number }>('migrate-volume', { source: defaultSocket(), target: clusterSocket(), pool: HOST_POOL, name: vol, newName: copy, mode: which });
          runs.push({ client: which === 'relay' ? 'lxdkit relay' : 'lxdkit pull', ...r });
        }
        const got = (await cluster.storageVolumes.get(CLUSTER_POOL, copy)).value;
        if (got.content_type !== 'block') throw new Error(`the copy is ${got.content_type}, not block`);
        await removeVolume(cluster, CLUSTER_POOL, copy);
      }
    }
    return { mode: opts.mode, sizeMiB, repeats, runs, baselineKiB: baseline.maxRssKiB, version: String((await host.server.info()).environment?.server_version ?? '?'), date: new Date().toISOString(), load: [load0, loadavg()[0]!] };
  } finally {
    await run('env', [...lxcEnv, 'lxc', 'remote', 'remove', remote]).catch(() => undefined);
    await rm(conf, { recursive: true, force: true });
    await removeLeftovers(cluster, CLUSTER_POOL).catch(() => undefined);
    await removeLeftovers(host, HOST_POOL).catch(() => undefined);
    for (const t of trusted) await t.client.certificates.delete(t.fingerprint).catch(() => undefined);
    if (restoreHttps) await host.server.patch({ config: { 'core.https_address': '' } }).catch(() => undefined);
    await host.close();
    await cluster.close();
  }
}

export function renderMigration(r: MigrationBenchResult): string {
  const clients = ['lxdkit relay', 'lxdkit pull', 'lxc storage volume copy'] as const;
  const of = (c: (typeof clients)[number]) => r.runs.filter((x) => x.client === c);
  const wall = (c: (typeof clients)[number]) => median(of(c).map((x) => x.wallMs));
  const mb = (kib: number) => `${(kib / 1024).toFixed(0)} MiB = ${((kib * 1024) / 1e6).toFixed(0)} MB`;
  const relayRss = Math.max(...of('lxdkit relay').map((x) => x.maxRssKiB));
  const rows = clients.map((c) => {
    const xs = of(c);
    const w = wall(c);
    return `| ${c.startsWith('lxdkit') ? `**${c}**` : c} | ${w.toFixed(0)} ms (n=${xs.length}) | ${((r.sizeMiB * MiB) / 1e6 / (w / 1000)).toFixed(0)} MB/s | ${median(xs.map((x) => x.cpuMs)).toFixed(0)} ms | ${mb(Math.max(...xs.map((x) => x.maxRssKiB)))} | ×${(w / wall('lxc storage volume copy')).toFixed(2)} |`;
  });
  return [
    `## Migration between servers: a ${r.sizeMiB} MiB custom volume, host LXD → test cluster`,
    '',
    `Generated by \`npm run bench -- --migration\` (${r.mode} mode) on ${r.date.slice(0, 10)}: the host's LXD ${r.version} (dir pool) to member m1 of the test cluster of \`scripts/cluster.sh\` (LXD ${r.version}, dir pool), both on this one 2-core host, over loopback. Load average (1 min): ${r.load[0].toFixed(2)} at the start, ${r.load[1].toFixed(2)} at the end.`,
    '',
    '| target | result | met |',
    '|---|---|---|',
    `| relay: peak RSS of the lxdkit client under 100 MB | ${mb(relayRss)} | ${(relayRss * 1024) / 1e6 < 100 ? '✓' : '✗'} |`,
    '',
    '| client | wall (median) | throughput | client CPU (median) | client peak RSS (max) | ÷ lxc (wall) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `- The volume is a \`block\` volume of ${r.sizeMiB} MiB of random bytes; each client copies it to the cluster's \`local\` pool under the same new name, which is deleted (untimed) after each run; ${r.repeats} run(s) of each, alternating the order.`,
    `- lxdkit: \`storageVolumes.migrate(pool, name, { to, mode, newName })\` in a fresh bundled worker process (its fixed cost, loading lxdkit and one request, is ${mb(r.baselineKiB)}); relay carries every byte through the client's two websockets, with a 1 MiB high-water mark per direction, zero-masked frames (no copy per frame) and a young-generation garbage collection every 8 MiB relayed; pull only makes the requests and waits while the cluster pulls from the host's HTTPS listener.`,
    '- lxc: `lxc storage volume copy local:default/VOL REMOTE:local/VOL-copy` (pull, its default), with the cluster added as a remote of a name of the run, under bench/peers/measure.py.',
  ].join('\n');
}
