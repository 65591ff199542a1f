import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdConflictError, LxdPreconditionFailedError } from '../../../lib/lxd/index.js';
import { Recorder, Replayer, loadFixture } from '../../../lib/testing/index.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-rr-';

describeEachServer('record from the real daemon, replay without it', (server) => {
  let lxd: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeLeftovers(lxd, PREFIX);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-rr-'));
  });
  after(async function () {
    if (lxd) {
      await removeLeftovers(lxd, run);
      await lxd.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // One scenario, run first against the daemon (recording) and then against the replayer.
  async function scenario(client: LxdClient, name: string): Promise<string[]> {
    const seen: string[] = [];
    await client.profiles.create({ name: `${name}-p`, config: { 'user.k': 'v' } });
    const { etag } = await client.profiles.get(`${name}-p`);
    await client.profiles.update(`${name}-p`, { config: { 'user.k': 'w' } }, { etag: etag! });
    const stale = await client.profiles.update(`${name}-p`, { config: { 'user.k': 'x' } }, { etag: etag! }).catch((e: unknown) => e);
    seen.push(stale instanceof LxdPreconditionFailedError ? 'stale etag refused' : 'stale etag accepted');
    const dup = await client.profiles.create({ name: `${name}-p` }).catch((e: unknown) => e);
    seen.push(dup instanceof LxdConflictError ? 'duplicate is a conflict' : 'duplicate accepted');
    await (await client.instances.create({ name: `${name}-c`, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, profiles: ['default'] })).wait({ timeoutMs: 120_000 });
    await (await client.instances.setState(`${name}-c`, { action: 'start' })).wait({ timeoutMs: 60_000 });
    seen.push(`state ${(await client.instances.state(`${name}-c`)).value.status}`);
    await (await client.instances.setState(`${name}-c`, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
    await (await client.instances.delete(`${name}-c`)).wait({ timeoutMs: 60_000 });
    await client.profiles.delete(`${name}-p`);
    seen.push(`config ${JSON.stringify((await client.profiles.list()).some((p) => p.name === `${name}-p`))}`);
    return seen;
  }

  it('replays a recorded lifecycle with the same outcomes and no request left over', async function () {
    const file = join(dir, 'scenario.json');
    const rec = new Recorder({ server: server.kind, replace: { [run]: 'lxdkit-rr' } });
    expect(rec.socketPath).to.equal(server.socket);
    const live = new LxdClient({ socketPath: server.socket, dispatcher: rec.dispatcher, useEvents: false });
    let recorded: string[];
    try {
      recorded = await scenario(live, run);
      await rec.save(file, { description: 'profile and instance lifecycle' });
    } finally {
      await live.close();
      await rec.close();
    }
    expect(recorded).to.deep.equal(['stale etag refused', 'duplicate is a conflict', 'state Running', 'config false']);

    const fixture = await loadFixture(file);
    expect(JSON.stringify(fixture)).to.not.contain(run);
    expect(fixture.lxd.server).to.equal(server.kind);
    const replayer = new Replayer([fixture]);
    const offline = new LxdClient({ dispatcher: replayer.dispatcher, useEvents: false, socketPath: '/nonexistent/lxd.socket' });
    try {
      expect(await scenario(offline, 'lxdkit-rr')).to.deep.equal(recorded);
      replayer.assertDone();
    } finally {
      await offline.close();
      await replayer.close();
    }
  });
});
