/**
 * Projects a spec makes: removed with everything in them (instances, images, profiles but `default`),
 * also the leftovers of a killed run (every project whose name starts with the spec's prefix).
 */
import { isNotFound, type LxdClient } from '../../lib/lxd/index.js';

/** Deletes `project` with its instances, images and profiles; a project that is not there is fine. */
export async function removeProject(client: LxdClient, project: string): Promise<void> {
  const inside = client.withProject(project);
  try {
    for (const inst of await inside.instances.list()) {
      if (inst.status_code !== 102) await (await inside.instances.setState(inst.name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
      await (await inside.instances.delete(inst.name)).wait({ timeoutMs: 60_000 });
    }
    const { value } = await client.projects.get(project);
    if (value.config['features.images'] === 'true') {
      for (const image of await inside.images.list()) await (await inside.images.delete(image.fingerprint)).wait({ timeoutMs: 60_000 });
    }
    if (value.config['features.profiles'] === 'true') {
      for (const name of await inside.profiles.list({ recursion: 0 })) if (name !== 'default') await inside.profiles.delete(name);
    }
    await client.projects.delete(project);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  } finally {
    await inside.close();
  }
}

/** Removes every project whose name starts with `prefix`. */
export async function removeProjects(client: LxdClient, prefix: string): Promise<void> {
  for (const name of await client.projects.list({ recursion: 0 })) if (name.startsWith(prefix)) await removeProject(client, name);
}
