/**
 * Incus and projects (docs/client.md): one client for LXD and Incus, which tells them apart by the
 * server's own word; a project with features of its own, whose profiles and instances stay out of
 * `default`; every call of a project client carries the project. Needs a running LXD and a running
 * Incus (scripts/provision-host.sh starts both); everything it makes is removed.
 * Run: npx tsx docs/examples/client-incus-projects.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient, LxdNotFoundError, projectFeatures } from 'lxdkit';

const run = randomBytes(3).toString('hex');

const incus = new LxdClient({ server: 'incus' });  // $INCUS_SOCKET, $INCUS_DIR, /run/incus, /var/lib/incus
const lxd = new LxdClient({ server: 'lxd' });      // $LXD_SOCKET, $LXD_DIR, the snap socket, /var/lib/lxd
for (const client of [lxd, incus]) {
  const kind = await client.serverKind();          // 'lxd' | 'incus', from environment.server
  const { value } = await client.server.get();
  console.log(`${client.endpoint}: ${kind} ${value.environment?.server_version}, storage buckets: ${await client.server.hasExtension('storage_buckets')}`);
}

for (const client of [lxd, incus]) {
  const name = `lxdkit-example-${run}`;
  await client.projects.create({ name, description: 'example', config: { 'features.profiles': 'true', 'features.images': 'false' } });
  const tenant = client.withProject(name);         // every call carries ?project=<name>
  try {
    const { value: project, etag } = await client.projects.get(name);
    console.log(`project ${name}: features ${projectFeatures(project).join(', ')}`);
    await client.projects.update(name, { description: 'limited', config: { ...project.config, 'limits.instances': '5' } }, { etag });
    await client.projects.patch(name, { config: { 'limits.containers': '2' } }); // merged into the config, not replacing it
    console.log(`limits: ${JSON.stringify((await client.projects.state(name)).resources['containers'])}`);

    await tenant.profiles.create({ name: 'web', config: { 'limits.cpu': '1' } });
    console.log(`profiles in ${name}: ${(await tenant.profiles.list({ recursion: 0 })).join(', ')}`);
    console.log(`"web" in default: ${(await client.profiles.list({ recursion: 0 })).includes('web')}`);
    await tenant.profiles.delete('web');
  } finally {
    await tenant.close();
    await client.projects.delete(name);
  }

  // A project that does not exist is an error on every call, also where the server would answer an empty list.
  const ghost = client.withProject(`lxdkit-example-${run}-none`);
  try {
    await ghost.instances.list();
  } catch (err) {
    if (err instanceof LxdNotFoundError) console.log(`no such project: ${err.message}`);
    else throw err;
  } finally {
    await ghost.close();
  }
}
await lxd.close();
await incus.close();
