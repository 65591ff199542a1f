/**
 * Operations, events and capabilities (docs/client.md): create and delete a container while a
 * lifecycle subscription reports what happens, through both a listener and `for await`.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/client-operations.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient, type EventGap } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const name = `lxdkit-example-ops-${randomBytes(3).toString('hex')}`;
const lxd = new LxdClient();

/** What a program that tracks instances does after a gap: read them all again. */
async function relistEverything(g: EventGap): Promise<void> {
  console.log(`events lost between ${g.since.toISOString()} and ${g.until.toISOString()}: ${(await lxd.instances.list({ recursion: 0 })).length} instances re-read`);
}

try {
  // Capabilities: gate on API extensions, never on the version string.
  if (await lxd.server.hasExtension('instance_create_start')) console.log('instances can be created running (start: true)');
  await lxd.server.requireExtension('network', 'creating networks'); // throws LxdExtensionMissingError

  const sub = lxd.events.subscribe({ types: ['lifecycle'] });
  await sub.ready;                       // events flow from here on
  sub.on('event', (e) => { if (e.type === 'lifecycle' && e.metadata.source === `/1.0/instances/${name}`) console.log(e.metadata.action, e.metadata.source); });
  sub.on('gap', (g) => void relistEverything(g));   // reconnected: events between g.since and g.until were lost
  const stop = setTimeout(() => sub.close(), 120_000); // never wait forever

  const work = (async () => {
    const op = await lxd.instances.create({ name, source: { type: 'image', alias: image } });
    const done = await op.wait({ timeoutMs: 300_000, onProgress: (p) => console.log(p.stage, p.percent) });
    console.log(`create: ${done.status} (${done.id})`);
    await (await lxd.instances.delete(name)).wait({ timeoutMs: 60_000 });
  })();
  work.catch(() => sub.close()); // a failure ends the loop below; `await work` rethrows it

  let seen = 0;
  for await (const e of sub) {
    // the same events, plus { type: 'gap' } items
    if (e.type !== 'lifecycle' || e.metadata.source !== `/1.0/instances/${name}`) continue;
    seen += 1;
    if (e.metadata.action === 'instance-deleted') break;
  }
  sub.close();
  clearTimeout(stop);
  await work;
  console.log(`${seen} lifecycle events of ${name} seen by for-await`);
} finally {
  await lxd.instances.delete(name).then((op) => op.wait()).catch(() => {});
  await lxd.close();
}
