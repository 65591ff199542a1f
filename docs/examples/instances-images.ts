/**
 * Instances and images beyond CRUD (docs/client.md, "Instances and images beyond CRUD"): in a project
 * of its own, two busybox containers started with one bulk state change, a template added to one of
 * them, its console attached, then an image published from it and exported into a directory.
 * Needs a running LXD (scripts/provision-host.sh); everything it makes is removed.
 * Run: npx tsx docs/examples/instances-images.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from 'lxdkit';

const run = randomBytes(3).toString('hex');
const lxd = new LxdClient();
const projectName = `lxdkit-example-instx-${run}`;
// a project of its own: setStateAll changes every instance of the client's project
await lxd.projects.create({ name: projectName, config: { 'features.images': 'false', 'features.profiles': 'false' } });
const client = lxd.withProject(projectName);
const names = [`web-${run}`, `db-${run}`];
const dir = await mkdtemp(join(tmpdir(), 'lxdkit-example-'));
let fingerprint: string | undefined;
try {
  for (const name of names) await (await client.instances.create({ name, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait();

  await (await client.instances.setStateAll({ action: 'start' })).wait();       // one operation for all of them
  console.log((await client.instances.list()).map((i) => `${i.name}: ${i.status}`).join(', '));

  const name = names[0]!;
  await client.instances.templates.put(name, 'motd.tpl', 'Welcome to {{ container.name }}\n');
  const { value: metadata } = await client.instances.metadata.get(name);
  console.log(`templates: ${(await client.instances.templates.list(name)).join(', ')}; os: ${metadata.properties['os']}`);

  const session = await client.instances.console.attach(name);
  session.output.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  await session.write('\r');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await session.close();                                                          // detaches; the instance keeps running

  await (await client.instances.setStateAll({ action: 'stop', force: true })).wait();
  const published = await (await client.images.publish({ source: { type: 'instance', name }, properties: { description: 'web, published' } })).wait();
  fingerprint = published.metadata?.['fingerprint'] as string;
  const { files } = await client.images.export(fingerprint, dir);                 // one file, or metadata + rootfs
  console.log(`\nexported: ${files.map((f) => `${f.part} ${f.size} bytes`).join(', ')}`);
} finally {
  if (fingerprint) await (await lxd.images.delete(fingerprint)).wait().catch(() => {});
  for (const name of names) {
    await (await client.instances.setState(name, { action: 'stop', force: true })).wait().catch(() => {});
    await (await client.instances.delete(name)).wait().catch(() => {});
  }
  await lxd.projects.delete(projectName).catch(() => {});
  await rm(dir, { recursive: true, force: true });
  await client.close();
  await lxd.close();
}
