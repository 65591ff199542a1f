/**
 * Migration between servers (docs/client.md, "Migration between servers"): a custom volume copied
 * from one server to another with `storageVolumes.migrate` in relay mode (this process carries the
 * data, so the servers need no network between them), then moved back. Here both clients talk to the
 * host's LXD (a copy under a new name); give `to` a client of another server (`new LxdClient({ url, tls })`)
 * to cross servers. Needs a running LXD; everything it makes is removed.
 * Run: npx tsx docs/examples/migration.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient } from 'lxdkit';

const source = new LxdClient();
const target = new LxdClient();                               // e.g. new LxdClient({ url: 'https://10.0.0.5:8443', tls })
const name = `lxdkit-example-mig-${randomBytes(3).toString('hex')}`;
try {
  await (await source.storageVolumes.create('default', { name, description: 'data' })).wait();
  const copy = await source.storageVolumes.migrate('default', name, {
    to: target,
    mode: 'relay',                                            // or 'pull' (default), 'push': the servers connect to each other
    newName: `${name}-copy`,
    onProgress: (p) => console.log(`${p.side}: ${p.text}`),
  });
  console.log(`copied to ${copy.pool}/${copy.name} (${copy.mode})`);
  const moved = await target.storageVolumes.migrate('default', `${name}-copy`, { to: source, mode: 'relay', newName: `${name}-moved`, move: true });
  console.log(`moved to ${moved.pool}/${moved.name}; the copy is gone: ${!(await target.storageVolumes.list('default', { type: 'custom', recursion: 0 })).includes(`${name}-copy`)}`);
} finally {
  for (const v of [name, `${name}-copy`, `${name}-moved`]) await source.storageVolumes.delete('default', v).then((op) => op.wait()).catch(() => {});
  await source.close();
  await target.close();
}
