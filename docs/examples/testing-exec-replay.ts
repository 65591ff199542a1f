/**
 * Recording and replaying exec sessions and file transfers (docs/testing.md): the code under test
 * runs a command and pushes and pulls a file, once against the real LXD through the recorder's
 * socket, then offline against the replay server, with the same outcome.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/testing-exec-replay.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from 'lxdkit';
import { Recorder, loadFixture, startReplayServer } from 'lxdkit/testing';

/** The code under test: a command and a file in an instance. */
async function deploy(client: LxdClient, instance: string): Promise<{ checksum: string; config: string }> {
  await client.instances.files.push(instance, '/etc/app.conf', 'port 8080\n', { mode: 0o640 });
  const r = await client.instances.execOutput(instance, { command: ['sha256sum', '/etc/app.conf'] });
  const f = await client.instances.files.pull(instance, '/etc/app.conf');
  let config = '';
  for await (const chunk of f.body) config += String(chunk);
  return { checksum: r.stdout.toString().split(' ')[0] ?? '', config };
}

const run = `myapp-test-${randomBytes(3).toString('hex')}`;
const lxd = new LxdClient();
const fixture = join(tmpdir(), `${run}.json`);
try {
  await (await lxd.instances.create({ name: `${run}-c1`, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait({ timeoutMs: 120_000 });
  await (await lxd.instances.setState(`${run}-c1`, { action: 'start' })).wait();

  // Recording: the client talks to the recorder's socket, which passes everything on to the daemon and
  // keeps the requests, the answers and every frame of the exec websockets.
  const rec = new Recorder({ replace: { [run]: 'myapp-test' } });
  const recording = new LxdClient({ socketPath: await rec.listen(), useEvents: false });
  let live;
  try {
    live = await deploy(recording, `${run}-c1`);
    await rec.save(fixture, { description: 'deploy: push a config, checksum it, pull it back' });
  } finally {
    await recording.close();
    await rec.close();
  }

  // Replaying: the same code against the replay server, no daemon involved.
  const server = await startReplayServer(await loadFixture(fixture));
  const client = new LxdClient({ socketPath: server.socketPath });
  try {
    assert.deepEqual(await deploy(client, 'myapp-test-c1'), live);
    server.replayer.assertDone(); // every request and every websocket frame as recorded
    console.log(`replayed: ${JSON.stringify(live)}`);
  } finally {
    await client.close();
    await server.close();
  }
} finally {
  await rm(fixture, { force: true });
  await lxd.instances.setState(`${run}-c1`, { action: 'stop', force: true }).then((op) => op.wait()).catch(() => {});
  await lxd.instances.delete(`${run}-c1`).then((op) => op.wait()).catch(() => {});
  await lxd.close();
}
