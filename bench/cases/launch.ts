/**
 * Case 3, launch throughput: create and start N containers 4 at a time through
 * `LxdManager.createContainer` against `lxd-benchmark launch --count N --parallel 4` on the same
 * image, in the same project. Both sides run in batches of 4 (lxd-benchmark waits for each batch).
 */
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient, hostArch } from '../../lib/index.js';
import { emptyProject, measured, median, randomId, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Launch {
  wallMs: number;
  cpuMs: number;
  names: string[];
  requests: number;
}

async function runningCount(client: LxdClient): Promise<number> {
  return (await client.instances.list({ recursion: 1 })).filter((i) => i.status_code === 103).length;
}

export async function launch(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const count = quick ? 2 : 20;
  const parallel = quick ? 2 : 4;
  const repeats = quick ? 1 : 3;
  // the manager's image comes from the local alias juju/<series>/<arch>: point it at busybox
  const series = `${ctx.modePrefix}${randomId()}`;
  const alias = `juju/${series}/${hostArch()}`;
  const global = new LxdClient({ socketPath: ctx.socketPath });
  const busybox = await global.images.getAlias(ctx.imageAlias);
  await global.images.pointAlias(alias, busybox.value.target);
  const report = join(tmpdir(), `${ctx.modePrefix}${randomId()}.csv`);
  const lx: Launch[] = [];
  const lc: Launch[] = [];
  const CLIENT = 'lxdkit client only';
  const lb: { batchMs: number; wallMs: number; cpuMs: number }[] = [];
  try {
    for (let r = 0; r < repeats; r++) {
      const order = r % 2 === 0 ? ['lxd-benchmark', LXDKIT, CLIENT] : [CLIENT, LXDKIT, 'lxd-benchmark'];
      for (const who of order) {
        if (who === CLIENT) {
          lc.push(await worker<Launch>('launch-client', { socketPath: ctx.socketPath, project: ctx.project, alias: ctx.imageAlias, count, parallel }));
        } else if (who === LXDKIT) {
          const out = await worker<Launch>('launch', { socketPath: ctx.socketPath, project: ctx.project, uuid: randomUUID(), count, parallel, series });
          lx.push(out);
        } else {
          await rm(report, { force: true });
          const m = await measured('lxd-benchmark', ['launch', '--project', ctx.project, '--count', String(count), '--parallel', String(parallel), '--report-file', report, ctx.imageAlias]);
          const csv = (await readFile(report, 'utf8')).trim().split('\n');
          const last = csv.at(-1)?.split(',') ?? [];
          if (last[4] !== 'true') throw new Error(`lxd-benchmark reported failure: ${csv.at(-1)}\n${m.stdout.slice(-1000)}`);
          lb.push({ batchMs: Number(last[1]), wallMs: m.wallMs, cpuMs: m.cpuMs });
        }
        const running = await runningCount(ctx.client);
        if (running !== count) throw new Error(`${who} left ${running} running containers instead of ${count}`);
        await emptyProject(ctx.socketPath, ctx.project);
        ctx.log(`case 3 run ${r + 1}/${repeats}: ${who} ${(who === LXDKIT ? lx.at(-1)!.wallMs : who === CLIENT ? lc.at(-1)!.wallMs : lb.at(-1)!.batchMs).toFixed(0)} ms`);
      }
    }
  } finally {
    await rm(report, { force: true });
    await global.images.deleteAlias(alias).catch(() => {});
    await global.close();
  }
  const variant = `${count} containers, ${parallel} at a time`;
  const samples: Sample[] = [
    { variant, contender: LXDKIT, metric: 'wall', unit: 'ms', values: lx.map((x) => x.wallMs), how: 'LxdManager.createContainer, batches' },
    { variant, contender: 'lxd-benchmark', metric: 'wall', unit: 'ms', values: lb.map((x) => x.batchMs), how: 'its own batch timer' },
    { variant, contender: CLIENT, metric: 'wall', unit: 'ms', values: lc.map((x) => x.wallMs), how: 'LxdClient create + start, as lxd-benchmark does' },
    { variant, contender: LXDKIT, metric: 'cpu', unit: 'ms', values: lx.map((x) => x.cpuMs), how: 'client process, batch only' },
    { variant, contender: 'lxd-benchmark', metric: 'cpu', unit: 'ms', values: lb.map((x) => x.cpuMs), how: 'whole process' },
    { variant, contender: CLIENT, metric: 'cpu', unit: 'ms', values: lc.map((x) => x.cpuMs), how: 'client process, batch only' },
  ];
  const ratio = median(lx.map((x) => x.wallMs)) / median(lb.map((x) => x.batchMs));
  const perContainer = (lx[0]?.requests ?? Number.NaN) / count;
  const clientRatio = median(lc.map((x) => x.wallMs)) / median(lb.map((x) => x.batchMs));
  return {
    id: 'launch',
    title: `3. Launch throughput: create + start ${count} containers, ${parallel} at a time`,
    samples,
    checks: [
      { target: 'LxdManager.createContainer / lxd-benchmark wall time ≤ 1.05', met: ratio <= 1.05, detail: `×${ratio.toFixed(2)}` },
      { target: '(diagnostic) LxdClient create + start / lxd-benchmark wall time ≤ 1.05', met: clientRatio <= 1.05, detail: `×${clientRatio.toFixed(2)}` },
    ],
    notes: [
      `${repeats} runs each, alternating which goes first; every run starts from an empty project and is checked to leave ${count} running containers, which are then removed (untimed).`,
      `lxd-benchmark's time is its own batch timer (from the first create to the last start, after its image lookup); lxdkit's is the same span in the worker. LxdManager makes ${perContainer.toFixed(1)} HTTP requests per container (image alias + image + default profile + create + start + one operation re-check per wait + final GET; GET /1.0 once) and sends Juju's config (cloud-init user-data, network-config, autostart, model); the client-only row makes ${((lc[0]?.requests ?? Number.NaN) / count).toFixed(1)} (create + start + one re-check per wait) with one config key, like lxd-benchmark (which waits through events too).`,
    ],
  };
}
