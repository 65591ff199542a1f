/**
 * The real LXD daemon is killed (SIGKILL) while operations are waited on, stays down for a while, and
 * is started again. Waits through events and through `/wait` must end with the real outcome or the
 * typed "lost in a daemon restart" error, never before the daemon is back; a process that used a
 * client across the drop exits on its own right after `close()`. The daemon is started again by the
 * host scripts' own `ensure_lxd`, as the test command starts it.
 *
 * Containers are named `lxdkit-spec-restart-*`; their clean stop never ends (init ignores the halt
 * signal), so a stop operation is running when the daemon dies.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { LxdClient, LxdOperationError, LxdOperationLostError, type OperationData } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';
import { settle, type Settled } from '../../helpers/rejection.js';

const execFileP = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const PREFIX = 'lxdkit-spec-restart-';

/** The daemon serving the default socket, started again as the host scripts start it. */
async function startLxd(): Promise<void> {
  const env = { ...process.env };
  delete env['LXD_DIR'];
  delete env['LXD_SOCKET'];
  await execFileP('bash', ['-c', '. scripts/lib-host.sh && ensure_lxd'], { cwd: ROOT, env, timeout: 150_000 });
}

/** Lines of a child's stdout, awaited one by one. */
function lines(child: ChildProcess): (match: RegExp, timeoutMs: number) => Promise<string> {
  const seen: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    seen.push(l);
    for (const w of waiters.splice(0)) w();
  });
  return async (match, timeoutMs) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find((l) => match.test(l));
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`child did not print ${match} within ${timeoutMs} ms; it printed: ${JSON.stringify(seen)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
}

describe('a daemon restart in the middle of waits (real LXD, SIGKILL)', function () {
  this.timeout(300_000);
  const run = uniqueSuffix();
  const names = ['events', 'wait', 'child'].map((k) => `${PREFIX}${k}-${run}`);
  let admin: LxdClient;
  let viaEvents: Settled<OperationData>;
  let viaWait: Settled<OperationData>;
  let restartedAt = 0;
  let child: { code: number | null; closedLine: string; exitMs: number };

  before(async function () {
    admin = await requireLxd(this);
    await removeLeftovers(admin, PREFIX);
    for (const name of names) {
      await (await admin.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, config: { 'raw.lxc': 'lxc.signal.halt=SIGURG' } })).wait({ timeoutMs: 120_000 });
      await (await admin.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 120_000 });
    }
    const pid = ((await admin.query('GET', '/1.0')).metadata as { environment: { server_pid: number } }).environment.server_pid;

    const proc = spawn(process.execPath, ['--import', 'tsx/esm', join(ROOT, 'spec', 'helpers', 'events-drop-child.ts')], {
      cwd: ROOT,
      env: { ...process.env, LXDKIT_SPEC_CONTAINER: names[2] },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const line = lines(proc);
    await line(/^ready$/, 30_000);

    const events = new LxdClient();
    const polling = new LxdClient({ useEvents: false });
    // clean stops that never end on their own: the operations are running when the daemon dies
    const waitingEvents = settle((await events.instances.setState(names[0]!, { action: 'stop', timeout: 90 })).wait({ timeoutMs: 120_000 }));
    const waitingPoll = settle((await polling.instances.setState(names[1]!, { action: 'stop', timeout: 90 })).wait({ timeoutMs: 120_000 }));
    await new Promise((r) => setTimeout(r, 500));

    process.kill(pid, 'SIGKILL');
    await line(/^disconnected$/, 10_000);
    // down for a while: nothing may give up in this time
    await new Promise((r) => setTimeout(r, 3_000));
    restartedAt = Date.now();
    await startLxd();

    [viaEvents, viaWait] = await Promise.all([waitingEvents, waitingPoll]);
    await events.close();
    await polling.close();

    await line(/^reconnected$/, 30_000);
    proc.stdin!.write('close\n');
    const closedLine = await line(/^closed /, 10_000);
    const closedAt = Date.now();
    const code = await exited;
    child = { code, closedLine, exitMs: Date.now() - closedAt };
  });

  after(async function () {
    if (!admin) return;
    await startLxd();
    await admin.close();
    const lxd = new LxdClient();
    await removeLeftovers(lxd, PREFIX);
    await lxd.close();
  });

  for (const [how, get] of [
    ['the events socket', () => viaEvents],
    ['/wait long-polls', () => viaWait],
  ] as const) {
    it(`a wait through ${how} ends after the daemon is back, with the outcome or the typed restart error`, function () {
      const s = get();
      expect(s.at, 'settled only once the daemon was being started again').to.be.at.least(restartedAt);
      if (s.error !== undefined) {
        const e = s.error;
        const typed = (e instanceof LxdOperationLostError && e.daemonRestarted) || e instanceof LxdOperationError;
        expect(typed, `not a typed outcome: ${String(e)}`).to.equal(true);
        if (e instanceof LxdOperationLostError) expect(e.message).to.contain('lost in a daemon restart');
      } else {
        expect(s.value?.status_code).to.equal(200);
      }
    });
  }

  it('a process that used a client across the events-socket drop exits on its own right after close()', function () {
    expect(child.closedLine).to.match(/^closed /);
    expect(child.code).to.equal(0);
    expect(child.exitMs, 'exit after close()').to.be.below(1_000);
  });
});
