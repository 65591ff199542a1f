/**
 * `npx tsx bench/stacks.ts [--real] [--count N]`: what a stack plan costs.
 *
 * 1. Simulated (no daemon): `plan` of a stack of 500 instances, 50 profiles and 50 volumes, all
 *    unchanged, against the simulated server of spec/helpers/fake-stack-server.ts. Prints the median
 *    plan time (target: under 1 s) and the requests made: one listing per kind, no GET per resource.
 * 2. With `--real` (LXD must run): in a project `lxdkit-bench-stk-<random>`, `apply` of N (default 20)
 *    busybox containers, started, against a shell script of the same `lxc` commands (project create,
 *    root disk, `lxc init` and `lxc start` of each, one after the other); then `plan` of the N against
 *    the time of its listing requests alone. Everything made is removed.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { LxdClient } from '../lib/lxd/client.js';
import { apply, plan, stackFromObject } from '../lib/stacks/index.js';
import { scaleWorld, startFakeStackServer } from '../spec/helpers/fake-stack-server.js';

const sh = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function simulated(): Promise<void> {
  const { world, stack } = scaleWorld(500, 50, 50);
  const server = await startFakeStackServer(world);
  const client = server.fake.client();
  try {
    const s = stackFromObject(stack);
    await plan(s, client); // warm-up: the first call reads GET /1.0
    const ms: number[] = [];
    let listings = 0;
    let other = 0;
    for (let i = 0; i < 7; i++) {
      const before = server.fake.requests.length;
      const t = performance.now();
      const p = await plan(s, client);
      ms.push(performance.now() - t);
      if (p.changed) throw new Error('the simulated stack should plan to no changes');
      const made = server.fake.requests.slice(before);
      listings = made.filter((r) => r.method === 'GET' && r.query.get('recursion') === '1').length;
      other = made.length - listings;
    }
    console.log(`simulated: plan of 500 instances, 50 profiles, 50 volumes (unchanged): ${median(ms).toFixed(0)} ms median of 7 (target < 1000 ms); ${listings} listing requests, ${other} other requests`);
  } finally {
    await client.close();
    await server.close();
  }
}

async function lxc(...args: string[]): Promise<void> {
  const p = sh('lxc', args, { timeout: 120_000 });
  p.child.stdin?.end();
  await p;
}

async function real(count: number): Promise<void> {
  const client = new LxdClient();
  const run = randomBytes(3).toString('hex');
  const pStack = `lxdkit-bench-stk-${run}-a`;
  const pShell = `lxdkit-bench-stk-${run}-b`;
  const names = Array.from({ length: count }, (_, i) => `c${i}`);
  const stackObject = {
    name: `lxdkit-bench-stk-${run}`,
    projects: [{ name: pStack, config: { 'features.images': 'false' } }],
    profiles: [{ name: 'default', project: pStack, devices: { root: { type: 'disk', path: '/', pool: 'default' } } }],
    instances: names.map((name) => ({ name, project: pStack, image: 'lxdkit/busybox' })),
  };
  try {
    let t = performance.now();
    const s = stackFromObject(stackObject);
    await apply(await plan(s, client), client);
    const applyMs = performance.now() - t;

    t = performance.now();
    await lxc('project', 'create', pShell, '-c', 'features.images=false');
    await lxc('profile', 'device', 'add', 'default', 'root', 'disk', 'path=/', 'pool=default', '--project', pShell);
    for (const n of names) await lxc('init', 'lxdkit/busybox', n, '--project', pShell);
    for (const n of names) await lxc('start', n, '--project', pShell);
    const shellMs = performance.now() - t;
    console.log(`real LXD: apply of ${count} containers (created and started): lxdkit ${(applyMs / 1000).toFixed(1)} s, shell script of lxc commands ${(shellMs / 1000).toFixed(1)} s (lxdkit ÷ shell ×${(applyMs / shellMs).toFixed(2)})`);

    const planMs: number[] = [];
    const listMs: number[] = [];
    const inside = client.withProject(pStack);
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      const p = await plan(s, client);
      planMs.push(performance.now() - t);
      if (p.changed) throw new Error('the applied stack should plan to no changes');
      t = performance.now();
      // the listings plan makes, alone
      await Promise.all([client.projects.list(), client.storagePools.list(), client.networks.list(), client.profiles.list(), client.images.listAliases(), client.instances.list(), client.storageVolumes.list('default', { type: 'custom' }),
        inside.networks.list(), inside.profiles.list(), inside.instances.list(), inside.storageVolumes.list('default', { type: 'custom' })]);
      listMs.push(performance.now() - t);
    }
    await inside.close();
    console.log(`real LXD: plan of ${count} instances ${median(planMs).toFixed(0)} ms, its listing requests alone ${median(listMs).toFixed(0)} ms (median of 5)`);
  } finally {
    await apply(await plan(stackFromObject({ name: stackObject.name }), client, { prune: true }), client).catch((err: unknown) => console.error('clean-up:', err));
    for (const n of names) await lxc('delete', '--force', n, '--project', pShell).catch(() => {});
    await lxc('project', 'delete', pShell).catch(() => {});
    await client.close();
  }
}

await simulated();
if (process.argv.includes('--real')) {
  const i = process.argv.indexOf('--count');
  await real(i > 0 ? Number(process.argv[i + 1]) : 20);
}
