/**
 * `plan(stack, client)`: what applying a stack would change, from one listing per kind (and project),
 * never one GET per resource. Every reference is checked, and cycles found, before anything is sent:
 * a stack that cannot be applied is refused here, so apply never stops half-way on bad input.
 */
import { setMaxListeners } from 'node:events';
import type { LxdClient } from '../lxd/client.js';
import type { ServerKind } from '../lxd/socket.js';
import { StackError, StackErrorCode } from './errors.js';
import { adapterOf, KINDS, ownsKind, PENDING_KINDS, projectFeature, projectOf, type FieldChange, type Found, type KindAdapter, type Ref } from './kinds.js';
import type { ItemSource, ProjectItem, Stack, StackKind } from './schema.js';

/** What a step of a plan does to one resource. */
export type StepAction = 'create' | 'update' | 'replace' | 'delete' | 'keep' | 'unchanged';

/** One resource in a plan. */
export interface PlanStep {
  /** `kind:key`, unique in the plan. */
  id: string;
  kind: StackKind;
  /** `name`, `project/name` or `project/pool/name`. */
  key: string;
  /** The project it is in (server-wide kinds: undefined). */
  project: string | undefined;
  action: StepAction;
  changes: FieldChange[];
  /** Why a resource prune would delete is kept, or a note on the step. */
  reason?: string;
  /** Where it is declared (absent for prune deletions). */
  source?: ItemSource;
  /** The declaration. */
  item?: unknown;
  /** What the server has (absent for creations). */
  current?: Found<unknown>;
  /** The ids of the steps this one waits for (what it refers to, its project). */
  deps: string[];
}

/** What `plan()` found: the stack, each step (create, update with its changes, replace, delete, keep, unchanged) and whether anything would change. */
export interface Plan {
  stack: string;
  server: ServerKind;
  prune: boolean;
  steps: PlanStep[];
  /** True when applying would change something (not only `unchanged` and `keep` steps). */
  changed: boolean;
  /** How many listing requests the plan made. */
  listings: number;
}

/** Options of `plan()`: `prune` (delete what the same stack made and no longer declares) and an AbortSignal. */
export interface PlanOptions {
  /** Delete what this stack created and no longer declares (never what it did not create). */
  prune?: boolean;
  signal?: AbortSignal;
}

/** Features a project made without them in its config gets (LXD and Incus alike). */
const NEW_PROJECT_FEATURES: Readonly<Record<string, string>> = { 'features.images': 'true', 'features.profiles': 'true', 'features.storage.volumes': 'true' };

const CHANGING: ReadonlySet<StepAction> = new Set(['create', 'update', 'replace', 'delete']);

/** A signal that follows `signal` and takes any number of listeners (undefined without one). */
export function listeningSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const follower = AbortSignal.any([signal]);
  setMaxListeners(0, follower);
  return follower;
}

/** Clients of each project, made once and closed together. */
export class ProjectClients {
  readonly #clients = new Map<string, LxdClient>();
  constructor(private readonly base: LxdClient) {}
  get = (project?: string): LxdClient => {
    if (project === undefined || project === (this.base.project ?? 'default')) return this.base;
    let c = this.#clients.get(project);
    if (!c) {
      c = this.base.withProject(project);
      this.#clients.set(project, c);
    }
    return c;
  };
  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}

/** The changes a creation makes: every field of the declaration. */
function creationChanges(item: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
    if (k === 'name' || k === 'project' || v === undefined) continue;
    if (Array.isArray(v)) out.push({ path: k, to: v.join(', ') });
    else if (typeof v === 'object' && v !== null) {
      for (const [sub, sv] of Object.entries(v as Record<string, unknown>)) {
        out.push({ path: `${k}.${sub}`, to: typeof sv === 'object' && sv !== null ? (sv as Record<string, string>) : String(sv) });
      }
    } else if (v !== '') out.push({ path: k, to: String(v) });
  }
  return out;
}

function replaces(adapter: KindAdapter, changes: readonly FieldChange[]): boolean {
  return changes.some((c) => adapter.immutable.some((p) => (p.endsWith('.') ? c.path.startsWith(p) : c.path === p)));
}

/** `/1.0/instances/c1?project=p` as the key of what it names (`instances`, `p/c1`), for `used_by` entries. */
function usedByKey(url: string): { kind: StackKind; key: string } | undefined {
  const [path = '', query = ''] = url.split('?');
  const project = new URLSearchParams(query).get('project') ?? 'default';
  const m = /^\/1\.0\/(instances|profiles|networks)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  return { kind: m[1] as StackKind, key: `${project}/${decodeURIComponent(m[2]!)}` };
}

/** What a step is called in messages: `profile "web" (project p)`. */
export function describeStep(s: Pick<PlanStep, 'kind' | 'key' | 'project'>): string {
  const what = adapterOf(s.kind)?.what ?? s.kind;
  const name = s.project === undefined ? s.key : s.key.slice(s.project.length + 1);
  return `${what} "${name}"${s.project !== undefined && s.project !== 'default' ? ` (project ${s.project})` : ''}`;
}

/**
 * Reads what the server has and decides what to do with each resource of the stack. Nothing is
 * changed. Throws `StackError` (`STACK_ERR_REFERENCE`, `STACK_ERR_CYCLE`, `STACK_ERR_UNSUPPORTED`)
 * for a stack that cannot be applied.
 */
export async function plan(stack: Stack, client: LxdClient, opts: PlanOptions = {}): Promise<Plan> {
  for (const kind of PENDING_KINDS) {
    const first = stack.items[kind][0];
    if (first) {
      throw new StackError(StackErrorCode.UNSUPPORTED, `${kind} are accepted in a stack but this version of lxdkit cannot plan them yet (see docs/stacks.md); take them out of the stack`, {
        source: first.source,
        key: kind,
      });
    }
  }
  // the listings run side by side, each waiting on the signal: one listener on the caller's signal, however many they are
  const signal = listeningSignal(opts.signal);
  const clients = new ProjectClients(client);
  try {
    const info = await client.server.info({ signal });
    const server: ServerKind = info.environment?.server === 'incus' ? 'incus' : 'lxd';
    const extensions = new Set(info.api_extensions);
    checkServerSupport(stack, server, extensions, `${server} ${info.environment?.server_version ?? ''}`.trim());
    let listings = 0;
    const current = new Map<StackKind, Map<string, Found<unknown>>>();
    const put = (kind: StackKind, found: Found<unknown>[]): void => {
      current.set(kind, new Map(found.map((f) => [f.key, f])));
    };
    const projectsAdapter = adapterOf('projects')!;
    const poolsAdapter = adapterOf('storage_pools')!;
    const scope0 = { client: clients.get, projects: [], pools: [], signal };
    const [projects, pools] = await Promise.all([projectsAdapter.list(scope0), poolsAdapter.list(scope0)]);
    listings += 2;
    put('projects', projects);
    put('storage_pools', pools);

    // what each project holds of its own: the server's config, or the stack's for a new project
    const projectConfig = new Map<string, Record<string, string>>();
    for (const p of projects) projectConfig.set(p.key, (p.value as ProjectItem).config);
    for (const { value } of stack.items.projects) {
      if (!projectConfig.has(value.name)) projectConfig.set(value.name, { ...NEW_PROJECT_FEATURES, ...value.config });
    }
    const effective = (adapter: KindAdapter, project: string): string | undefined => {
      const feature = projectFeature(adapter, extensions);
      if (feature === undefined) return undefined;
      return ownsKind(feature, project, projectConfig.get(project)) ? project : 'default';
    };
    const existing = new Set(projects.map((p) => p.key));
    const owned = projects.filter((p) => projectsAdapter.owner(p.value) === stack.name).map((p) => p.key);
    const stackProjects = KINDS.filter((a) => a.feature !== undefined).flatMap((a) => stack.items[a.kind].map((i) => projectOf(i.value)));
    const scan = [...new Set(['default', ...stackProjects, ...owned])].filter((p) => existing.has(p));

    // one listing per kind and (effective) project
    await Promise.all(
      KINDS.filter((a) => a.kind !== 'projects' && a.kind !== 'storage_pools').map(async (a) => {
        // a kind the server does not have: nothing of it exists (and the stack declares none, checked above)
        if (a.extension !== undefined && !extensions.has(a.extension)) return put(a.kind, []);
        // nothing refers to a forward: without one in the stack and without prune, there is nothing to compare
        if (a.kind === 'network_forwards' && stack.items.network_forwards.length === 0 && !opts.prune) return put(a.kind, []);
        const inProjects = [...new Set(scan.map((p) => effective(a, p)!))];
        listings += a.kind === 'storage_volumes' ? inProjects.length * pools.length : inProjects.length;
        put(a.kind, await a.list({ client: clients.get, projects: inProjects, pools: pools.map((p) => p.key), signal, listed: (n) => (listings += n) }));
      }),
    );

    // the declarations, each in its effective project
    interface Desired {
      adapter: KindAdapter;
      item: unknown;
      source: ItemSource;
      project: string | undefined;
      key: string;
      id: string;
    }
    const desired = new Map<string, Desired>();
    for (const adapter of KINDS) {
      for (const { value, source } of stack.items[adapter.kind]) {
        const own = projectOf(value);
        if (adapter.feature !== undefined && own !== 'default' && !existing.has(own) && !stack.items.projects.some((p) => p.value.name === own)) {
          throw new StackError(StackErrorCode.REFERENCE, `project "${own}" is neither in the stack nor on the server`, { source, key: `${source.key}.project` });
        }
        const project = effective(adapter, own);
        const key = adapter.key(value as never, project ?? '');
        desired.set(`${adapter.kind}:${key}`, { adapter, item: value, source, project, key, id: `${adapter.kind}:${key}` });
      }
    }

    // references: to the stack or to the server
    const refsOf = new Map<string, string[]>();
    for (const d of desired.values()) {
      const own = projectOf(d.item);
      const refs: Ref[] = d.adapter.refs(d.item as never, own);
      if (d.adapter.feature !== undefined && own !== 'default') refs.push({ kind: 'projects', key: own, path: 'project' });
      const ids: string[] = [];
      const exists = current.get(d.adapter.kind)?.has(d.key) === true;
      for (const r of refs) {
        if (r.createOnly && exists) continue;
        const target = adapterOf(r.kind)!;
        let key = r.key;
        if (target.feature !== undefined) {
          const slash = key.indexOf('/');
          key = `${effective(target, key.slice(0, slash))}${key.slice(slash)}`;
        }
        const id = `${r.kind}:${key}`;
        if (desired.has(id)) ids.push(id);
        else if (!current.get(r.kind)?.has(key)) {
          const project = target.feature !== undefined ? key.slice(0, key.indexOf('/')) : undefined;
          const name = project === undefined ? key : key.slice(project.length + 1);
          throw new StackError(StackErrorCode.REFERENCE, `${target.what} "${name}"${project !== undefined && project !== 'default' ? ` (project ${project})` : ''} is neither in the stack nor on the server`, {
            source: d.source,
            key: `${d.source.key}.${r.path}`,
          });
        }
      }
      refsOf.set(d.id, ids);
    }
    findCycle(desired, refsOf);

    const steps: PlanStep[] = [];
    for (const d of desired.values()) {
      const found = current.get(d.adapter.kind)?.get(d.key);
      const base = { id: d.id, kind: d.adapter.kind, key: d.key, project: d.project, source: d.source, item: d.item, deps: refsOf.get(d.id) ?? [] };
      if (!found && d.adapter.kind === 'profiles' && d.key === `${d.project}/default`) {
        // a new project's own `default` profile exists as soon as the project does: empty, updated in place
        const empty: Found<unknown> = { key: d.key, project: d.project, value: { name: 'default', description: '', config: {}, devices: {}, used_by: [] } };
        const changes = d.adapter.diff(empty.value as never, d.item as never);
        steps.push({ ...base, action: changes.length ? 'update' : 'unchanged', changes, current: empty });
        continue;
      }
      // pending on some members of a cluster only (an apply stopped between them and the global create): created again
      if (!found || (found.value as { status?: unknown }).status === 'Pending') {
        steps.push({ ...base, action: 'create', changes: d.adapter.blank !== undefined ? d.adapter.diff(d.adapter.blank as never, d.item as never) : creationChanges(d.item) });
        continue;
      }
      const changes = d.adapter.diff(found.value as never, d.item as never);
      const action: StepAction = changes.length === 0 ? 'unchanged' : replaces(d.adapter, changes) ? 'replace' : 'update';
      steps.push({ ...base, action, changes, current: found });
    }

    if (opts.prune) prune(stack.name, steps, desired, current);
    steps.sort((a, b) => adapterOf(a.kind)!.tier - adapterOf(b.kind)!.tier);
    return { stack: stack.name, server, prune: opts.prune === true, steps, changed: steps.some((s) => CHANGING.has(s.action)), listings };
  } finally {
    await clients.close();
  }
}

/** A key (or a prefix of keys, ending in `.`) that only some servers accept. */
export interface KeySupport {
  kinds: readonly StackKind[];
  /** Where in an item: `config` (its config) or `devices` (any device's keys). */
  in: 'config' | 'devices';
  key: string;
  /** The API extension the server needs. */
  extension?: string;
  /** Only this server accepts it. */
  server?: ServerKind;
  /** What to write instead, for the message. */
  hint?: string;
}

/**
 * The keys known to exist on only one of LXD and Incus (or only with an API extension). Checked by
 * `plan` before anything is sent, so apply never stops on one of them half-way.
 */
export const KEY_SUPPORT: readonly KeySupport[] = [
  { kinds: ['projects'], in: 'config', key: 'features.networks.zones', extension: 'projects_networks_zones', hint: 'without it, zones follow features.networks' },
  { kinds: ['projects'], in: 'config', key: 'limits.disk.pool.', extension: 'projects_limits_disk_pool' },
  { kinds: ['instances', 'profiles'], in: 'config', key: 'security.guestapi', server: 'incus', hint: 'LXD calls it security.devlxd' },
  { kinds: ['instances', 'profiles'], in: 'config', key: 'security.devlxd', server: 'lxd', hint: 'Incus calls it security.guestapi' },
];

/** Every part of a stack the server cannot take: a kind, a key or a value it lacks the API extension (or the server) for. */
export function unsupportedItems(stack: Stack, server: ServerKind, extensions: ReadonlySet<string>): { source: ItemSource; key: string; why: string }[] {
  const out: { source: ItemSource; key: string; why: string }[] = [];
  const lacks = (ext: string): string => `needs the API extension "${ext}", which this server does not have`;
  for (const a of KINDS) {
    for (const { value, source } of stack.items[a.kind]) {
      if (a.extension !== undefined && !extensions.has(a.extension)) {
        out.push({ source, key: source.key, why: `${a.what} ${lacks(a.extension)}` });
        continue;
      }
      const item = value as { config?: Record<string, string>; devices?: Record<string, Record<string, string>> };
      for (const rule of KEY_SUPPORT) {
        if (!rule.kinds.includes(a.kind)) continue;
        const maps: [string, Record<string, string>][] = rule.in === 'config' ? [['config', item.config ?? {}]] : Object.entries(item.devices ?? {}).map(([n, d]) => [`devices.${n}`, d]);
        for (const [at, map] of maps) {
          for (const k of Object.keys(map)) {
            if (!(rule.key.endsWith('.') ? k.startsWith(rule.key) : k === rule.key)) continue;
            const hint = rule.hint ? ` (${rule.hint})` : '';
            if (rule.extension !== undefined && !extensions.has(rule.extension)) out.push({ source, key: `${source.key}.${at}.${k}`, why: `${lacks(rule.extension)}${hint}` });
            else if (rule.server !== undefined && rule.server !== server) out.push({ source, key: `${source.key}.${at}.${k}`, why: `only ${rule.server === 'lxd' ? 'LXD' : 'Incus'} has this key${hint}` });
          }
        }
      }
    }
  }
  if (extensions.has('network_dns') && !extensions.has('network_dns_records')) {
    for (const { value, source } of stack.items.network_zones) if (value.records.length) out.push({ source, key: `${source.key}.records`, why: lacks('network_dns_records') });
  }
  if (extensions.has('network_acl') && !extensions.has('network_acl_stateless')) {
    for (const { value, source } of stack.items.network_acls) {
      for (const dir of ['ingress', 'egress'] as const) {
        value[dir].forEach((r, n) => {
          if (r.action === 'allow-stateless') out.push({ source, key: `${source.key}.${dir}.${n}.action`, why: lacks('network_acl_stateless') });
        });
      }
    }
  }
  return out;
}

function checkServerSupport(stack: Stack, server: ServerKind, extensions: ReadonlySet<string>, version: string): void {
  const bad = unsupportedItems(stack, server, extensions);
  if (bad.length === 0) return;
  const lines = bad.map((b) => `  ${b.source.file}:${b.source.line}: ${b.key}: ${b.why}`).join('\n');
  throw new StackError(StackErrorCode.UNSUPPORTED, `this server (${version}) cannot take ${bad.length} part${bad.length > 1 ? 's' : ''} of the stack; nothing was changed:\n${lines}`, {
    source: bad[0]!.source,
    key: bad[0]!.key,
  });
}

/** Adds a delete (or a keep, with the reason) for each resource the stack created and no longer declares. */
function prune(stack: string, steps: PlanStep[], desired: ReadonlyMap<string, unknown>, current: ReadonlyMap<StackKind, Map<string, Found<unknown>>>): void {
  const doomed: { adapter: KindAdapter; found: Found<unknown> }[] = [];
  for (const adapter of KINDS) {
    for (const found of current.get(adapter.kind)?.values() ?? []) {
      if (adapter.owner(found.value) !== stack || desired.has(`${adapter.kind}:${found.key}`)) continue;
      doomed.push({ adapter, found });
    }
  }
  const gone = new Set(doomed.map((d) => `${d.adapter.kind}:${d.found.key}`));
  const goneUrl = (url: string): boolean => {
    const k = usedByKey(url);
    return k !== undefined && gone.has(`${k.kind}:${k.key}`);
  };
  const kept = new Set<string>();
  for (const { adapter, found } of doomed) {
    if (adapter.kind === 'projects') continue;
    const why = adapter.inUse?.(found.value, goneUrl);
    const base = { id: `${adapter.kind}:${found.key}`, kind: adapter.kind, key: found.key, project: found.project, current: found, deps: [] };
    if (why) {
      kept.add(base.id);
      steps.push({ ...base, action: 'keep', changes: [], reason: why });
    } else {
      steps.push({ ...base, action: 'delete', changes: [] });
    }
  }
  // a project goes only when nothing is left in it but what the plan deletes (and its default profile)
  for (const { adapter, found } of doomed) {
    if (adapter.kind !== 'projects') continue;
    const left: string[] = [];
    for (const [kind, map] of current) {
      if (kind === 'projects') continue;
      for (const f of map.values()) {
        if (f.project !== found.key) continue;
        const id = `${kind}:${f.key}`;
        if (kind === 'profiles' && f.key === `${found.key}/default`) continue;
        if (!gone.has(id) || kept.has(id)) left.push(describeStep({ kind, key: f.key, project: f.project }));
      }
    }
    const base = { id: `projects:${found.key}`, kind: adapter.kind, key: found.key, project: undefined, current: found, deps: [] };
    if (left.length) steps.push({ ...base, action: 'keep', changes: [], reason: `still holds ${left.length} resource${left.length > 1 ? 's' : ''} the stack did not create or keeps: ${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''}` });
    else steps.push({ ...base, action: 'delete', changes: [] });
  }
}

/** Throws `STACK_ERR_CYCLE` naming each resource of the first cycle found among the declarations. */
function findCycle(desired: ReadonlyMap<string, { source: ItemSource; id: string }>, refs: ReadonlyMap<string, string[]>): void {
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = [...path.slice(path.indexOf(id)), id];
      const first = desired.get(id)!;
      const text = cycle.map((c) => `${c} (${desired.get(c)!.source.file}:${desired.get(c)!.source.line})`).join(' → ');
      throw new StackError(StackErrorCode.CYCLE, `a dependency cycle: ${text}`, { source: first.source, key: first.source.key });
    }
    state.set(id, 1);
    path.push(id);
    for (const r of refs.get(id) ?? []) visit(r);
    path.pop();
    state.set(id, 2);
  };
  for (const id of desired.keys()) visit(id);
}
