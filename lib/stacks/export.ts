/**
 * `exportStack(client)`: the server's current state written as a stack that `plan` finds equal.
 */
import { stringify } from 'yaml';
import type { LxdClient } from '../lxd/client.js';
import { StackError, StackErrorCode } from './errors.js';
import { adapterOf, KINDS, ownsKind, projectFeature, type Found } from './kinds.js';
import { listeningSignal, ProjectClients } from './plan.js';
import type { ProjectItem, StackFile, StackKind } from './schema.js';

/** Options of `exportStack()`: the projects to export (default all), the stack name, an AbortSignal. */
export interface StackExportOptions {
  /**
   * Only these projects and what is in them (server-wide storage pools are then left out: the
   * stack refers to them). Default: every project, and the storage pools.
   */
  projects?: readonly string[];
  /** The stack's name (default `exported`). */
  name?: string;
  signal?: AbortSignal;
}

/**
 * Reads the server (one listing per kind and project) and returns the stack that describes it.
 * Image aliases are not written (a stack names images by their files or their source, which the
 * server does not keep); instances name the image they were made from by its fingerprint.
 */
export async function exportStack(client: LxdClient, opts: StackExportOptions = {}): Promise<StackFile & { name: string }> {
  // the listings run side by side, each waiting on the signal: one listener on the caller's signal, however many they are
  const signal = listeningSignal(opts.signal);
  const clients = new ProjectClients(client);
  try {
    const scope0 = { client: clients.get, projects: [], pools: [], signal };
    const [projects, pools, info] = await Promise.all([adapterOf('projects')!.list(scope0), adapterOf('storage_pools')!.list(scope0), client.server.info({ signal })]);
    const only = opts.projects ? new Set(opts.projects) : undefined;
    for (const p of only ?? []) {
      if (!projects.some((f) => f.key === p)) throw new StackError(StackErrorCode.REFERENCE, `project "${p}" is not on the server`, { key: 'projects' });
    }
    const chosen = projects.filter((p) => !only || only.has(p.key));
    const extensions = new Set(info.api_extensions);
    const out: Record<string, unknown[]> = {};
    const add = (kind: StackKind, found: readonly Found<unknown>[]): void => {
      const a = adapterOf(kind)!;
      const items = found.map((f) => a.exportItem(f as never)).filter((i) => i !== undefined);
      if (items.length) out[kind] = items;
    };
    add('projects', chosen);
    if (!only) add('storage_pools', pools);
    for (const a of KINDS) {
      if (a.feature === undefined) continue;
      // a kind the server does not have (no API extension for it): nothing to write
      if (a.extension !== undefined && !extensions.has(a.extension)) continue;
      // a project's own resources of this kind; without the feature they are the default project's
      const feature = projectFeature(a, extensions);
      const inProjects = chosen.filter((p) => ownsKind(feature, p.key, (p.value as ProjectItem).config)).map((p) => p.key);
      if (inProjects.length === 0) continue;
      add(a.kind, await a.list({ client: clients.get, projects: inProjects, pools: pools.map((p) => p.key), signal }));
    }
    return { name: opts.name ?? 'exported', ...out } as StackFile & { name: string };
  } finally {
    await clients.close();
  }
}

/** A stack as YAML (the file `lxdkit export` writes). */
export function stackYaml(stack: StackFile): string {
  return stringify(stack, { lineWidth: 0 });
}
