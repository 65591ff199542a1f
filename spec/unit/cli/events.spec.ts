/**
 * `lxdkit --project P events`: LXD sends a project's subscribers the server-wide events too (every
 * `logging` event has no project). They are left out under "(project P)" unless --server-events.
 */
import { expect } from 'chai';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { describeEvent } from '../../../lib/cli/commands/events.js';
import type { LxdEvent } from '../../../lib/lxd/schemas.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { cli, type CliRun } from './helpers.js';

const at = '2026-12-05T08:54:53.774413331Z';
/** As LXD 5.0.2 and Incus 6.0 send them: a logging event has no `project` at all. */
const logging = { type: 'logging', timestamp: at, metadata: { message: 'Started container', level: 'info', context: { instance: 'someone-elses', project: 'other' } }, location: 'none' };
const lifecycle = (project: string, source: string) => ({ type: 'lifecycle', timestamp: at, metadata: { action: 'profile-created', source, context: {} }, location: 'none', project });

describe('cli: events and projects (fake LXD)', () => {
  let fake: FakeLxd;
  beforeEach(async () => {
    fake = await startFakeLxd();
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Runs `lxdkit GLOBAL… events EVENTS… --count N`, and sends it two server-wide and two events of p1. */
  async function events(global: string[], options: string[], count: number): Promise<CliRun> {
    // The socket of an earlier run of the same spec may still be closing: wait for this run's own.
    const earlier = new Set(fake.eventClients);
    const running = cli([...global, '--socket', fake.socketPath, 'events', ...options, '--count', String(count), '--for', '20']);
    let ended = false;
    void running.finally(() => (ended = true));
    const mine = () => [...fake.eventClients].filter((ws) => !earlier.has(ws));
    while (mine().length === 0 && !ended) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    for (const msg of [logging, lifecycle('p1', '/1.0/profiles/a?project=p1'), logging, lifecycle('p1', '/1.0/profiles/b?project=p1')]) {
      for (const ws of mine()) ws.send(JSON.stringify(msg));
    }
    return running;
  }

  const printed = (r: CliRun): [string, string | undefined][] => r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; project?: string }).map((e) => [e.type, e.project]);

  it('--project P prints only the events of P and says that server-wide ones are left out', async () => {
    const r = await events(['--project', 'p1'], [], 2);
    expect(r.code, r.stderr).to.equal(ExitCode.OK);
    expect(printed(r)).to.deep.equal([['lifecycle', 'p1'], ['lifecycle', 'p1']]);
    expect(r.stderr).to.contain('(project p1; server-wide events left out, --server-events shows them)');
    expect(fake.eventQueries.at(-1)?.get('project')).to.equal('p1');
  });

  it('--server-events keeps them and says so; without --project everything is shown, as LXD sends it', async () => {
    const kept = await events(['--project', 'p1'], ['--server-events'], 4);
    expect(kept.code, kept.stderr).to.equal(ExitCode.OK);
    expect(printed(kept)).to.deep.equal([['logging', undefined], ['lifecycle', 'p1'], ['logging', undefined], ['lifecycle', 'p1']]);
    expect(kept.stderr).to.contain('(project p1, and server-wide events)');
    const all = await events([], [], 4);
    expect(all.code, all.stderr).to.equal(ExitCode.OK);
    expect(printed(all).map(([t]) => t)).to.deep.equal(['logging', 'lifecycle', 'logging', 'lifecycle']);
    expect(all.stderr).not.to.contain('project');
  });

  it('--type logging with --project and without --server-events is a usage error, before any I/O', async () => {
    const r = await cli(['--project', 'p1', '--socket', '/nonexistent/lxd.socket', 'events', '--type', 'logging']);
    expect(r.code).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.contain('logging events are server-wide, none belongs to a project; add --server-events to see them');
  });

  it('a terminal line marks a server-wide event under a project', () => {
    const e = logging as unknown as LxdEvent;
    expect(describeEvent(e, { markServerWide: true })).to.equal('08:54:53 logging info Started container [server-wide]');
    expect(describeEvent(e)).to.equal('08:54:53 logging info Started container');
    expect(describeEvent(lifecycle('p1', '/1.0/profiles/a') as unknown as LxdEvent, { markServerWide: true })).to.equal('08:54:53 lifecycle profile-created /1.0/profiles/a [p1]');
  });
});
