/**
 * Record and replay (docs/testing.md): record two fixtures against the real LXD (create and delete
 * one container; the same with its lifecycle events while it starts), then replay the first through
 * a dispatcher and the second on a unix socket, events included, with no daemon involved.
 * Fixtures are written under test/fixtures/ of a temp dir, which is removed at the end.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/testing-record-replay.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from 'lxdkit';
import { Recorder, Replayer, startReplayServer, loadFixture } from 'lxdkit/testing';

const work = await mkdtemp(join(tmpdir(), 'lxdkit-example-fixtures-'));
process.chdir(work); // the fixture paths below are relative, as in a project
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// Recording: once, on a host with LXD.
// a run-unique prefix, so that a recording never collides with anything on the daemon...
const run = `myapp-test-${randomBytes(3).toString('hex')}`;
// ...recorded as a stable name, so that the test can use it
const rec = new Recorder({ replace: { [run]: 'myapp-test' } });
const client = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
try {
  const op = await client.instances.create({ name: `${run}-c1`, source: { type: 'image', alias: 'lxdkit/busybox' } });
  await op.wait({ timeoutMs: 120_000 });
  await (await client.instances.delete(`${run}-c1`)).wait({ timeoutMs: 120_000 });
  const created = await rec.save('test/fixtures/create.json', { description: 'create and delete one container' });
  console.log(`recorded test/fixtures/create.json: ${created.interactions.length} interactions`);

  // The same with the lifecycle events while the container starts.
  rec.reset();
  await (await client.instances.create({ name: `${run}-c1`, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait({ timeoutMs: 120_000 });
  await rec.recordEvents(
    { types: ['lifecycle'], filter: (m) => JSON.stringify(m).includes(run) },
    async () => {
      await (await client.instances.setState(`${run}-c1`, { action: 'start' })).wait();
    },
  );
  await (await client.instances.setState(`${run}-c1`, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
  await (await client.instances.delete(`${run}-c1`)).wait({ timeoutMs: 60_000 });
  const events = await rec.save('test/fixtures/events.json', { description: 'create, start (with its lifecycle events), stop and delete one container' });
  console.log(`recorded test/fixtures/events.json: ${events.interactions.length} interactions, ${events.events?.[0]?.messages.length ?? 0} events`);
} finally {
  const plain = new LxdClient();
  await plain.instances.setState(`${run}-c1`, { action: 'stop', force: true }).then((op) => op.wait()).catch(() => {});
  await plain.instances.delete(`${run}-c1`).then((op) => op.wait()).catch(() => {});
  await plain.close();
  await client.close();
  await rec.close();
}

// Replaying with a dispatcher: in a test (mocha's it(), node:test's test(), ...), no daemon needed.
{
  const replayer = new Replayer(await loadFixture('test/fixtures/create.json'));
  const client = new LxdClient({ dispatcher: replayer.dispatcher, useEvents: false });
  try {
    const done = await (await client.instances.create({ name: 'myapp-test-c1', source: { type: 'image', alias: 'lxdkit/busybox' } })).wait();
    assert.equal(done.status_code, 200);
    await (await client.instances.delete('myapp-test-c1')).wait();
    replayer.assertDone(); // nothing unmatched, every recorded interaction used
    console.log('replayed create.json through a dispatcher');
  } finally {
    await client.close();
    await replayer.close();
  }
}

// Replaying on a socket: the client unmodified, events included.
{
  const server = await startReplayServer([await loadFixture('test/fixtures/events.json')]);
  const client = new LxdClient({ socketPath: server.socketPath }); // or LXD_SOCKET=server.socketPath for code you don't construct
  const sub = client.events.subscribe({ types: ['lifecycle'] });
  sub.on('event', (e) => console.log(e.type, e.metadata));
  await sub.ready;
  // ... the code under test ...
  await (await client.instances.create({ name: 'myapp-test-c1', source: { type: 'image', alias: 'lxdkit/busybox' } })).wait();
  await (await client.instances.setState('myapp-test-c1', { action: 'start' })).wait();
  await (await client.instances.setState('myapp-test-c1', { action: 'stop', force: true })).wait();
  await (await client.instances.delete('myapp-test-c1')).wait();
  sub.close();
  server.replayer.assertDone();
  await client.close();
  await server.close();
  console.log('replayed events.json on a socket');
}
