/**
 * What a directory tree on the host holds, for specs that prove a pull changed nothing outside its
 * destination.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Every path under `root` but `skip`, with its type, mode and content (or target), sorted. */
export async function snapshotTree(root: string, skip: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const name of (await readdir(at)).sort()) {
      const p = join(at, name);
      if (p === skip) continue;
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.push(`${p} -> ${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.push(`${p}/ ${mode}`);
        await walk(p);
      } else out.push(`${p} ${mode} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
    }
  };
  await walk(root);
  return out;
}

export type TreeEntry = [string, Awaited<ReturnType<typeof lstat>>];

/** Every entry under `root`: [path, lstat]. */
export async function treeEntries(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const name of await readdir(at)) {
      const p = join(at, name);
      const st = await lstat(p);
      out.push([p, st]);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}
