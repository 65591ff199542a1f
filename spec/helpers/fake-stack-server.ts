/**
 * A simulated LXD for stack specs and the stack bench: the fake daemon of fake-lxd.ts with an
 * in-memory world (projects, storage pools, networks, profiles, custom volumes, image aliases,
 * instances) that answers the listings (recursion 0 and 1), the GETs (with ETags, and If-Match
 * checked on PUT: 412 on a stale one), creations, updates and deletions a stack makes. Every request
 * is recorded, so a spec can count listings.
 */
import { createHash } from 'node:crypto';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd, type FakeRequest, type FakeResponse } from './fake-lxd.js';

type Obj = Record<string, unknown> & { name: string };

export interface World {
  projects: Map<string, Obj>;
  pools: Map<string, Obj>;
  /** By project, then name (likewise below). */
  networks: Map<string, Map<string, Obj>>;
  profiles: Map<string, Map<string, Obj>>;
  /** By `project/pool`. */
  volumes: Map<string, Map<string, Obj>>;
  aliases: Map<string, Map<string, Obj>>;
  instances: Map<string, Map<string, Obj>>;
  /** Network ACLs and zones, by project. */
  acls: Map<string, Map<string, Obj>>;
  zones: Map<string, Map<string, Obj>>;
  /** Zone records, by `project/zone`. */
  records: Map<string, Map<string, Obj>>;
  /** Network forwards, by `project/network`, then listen address (`name` is the listen address). */
  forwards: Map<string, Map<string, Obj>>;
}

/** The API extensions of network ACLs, zones (with records) and forwards. */
export const NETWORK_EXTENSIONS: readonly string[] = ['network_acl', 'network_dns', 'network_dns_records', 'network_forward'];

export interface FakeStackServerOptions {
  /** The server's `api_extensions` (default: those of fake-lxd.ts's serverInfo, without the network ones). */
  extensions?: readonly string[];
  /** `lxd` (default) or `incus`. */
  server?: 'lxd' | 'incus';
}

export interface FakeStackServer {
  fake: FakeLxd;
  world: World;
  /** The GET requests with `recursion` made so far (listings). */
  listings(): FakeRequest[];
  /** Every request that changed something (not a GET). */
  writes(): FakeRequest[];
  close(): Promise<void>;
}

export function etagOf(o: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16)}"`;
}

function inner(map: Map<string, Map<string, Obj>>, key: string): Map<string, Obj> {
  let m = map.get(key);
  if (!m) {
    m = new Map();
    map.set(key, m);
  }
  return m;
}

const projectOf = (req: FakeRequest): string => req.query.get('project') ?? 'default';

/** A world with the `default` project, its `default` profile, the pool `default` and the bridge `lxdkitbr0`. */
export function emptyWorld(): World {
  const w: World = { projects: new Map(), pools: new Map(), networks: new Map(), profiles: new Map(), volumes: new Map(), aliases: new Map(), instances: new Map(), acls: new Map(), zones: new Map(), records: new Map(), forwards: new Map() };
  w.projects.set('default', { name: 'default', description: 'Default LXD project', config: { 'features.images': 'true', 'features.profiles': 'true', 'features.storage.volumes': 'true', 'features.networks': 'true' }, used_by: [] });
  w.pools.set('default', { name: 'default', driver: 'dir', description: '', config: { source: '/var/lib/lxd/storage-pools/default' }, status: 'Created', used_by: [] });
  inner(w.networks, 'default').set('lxdkitbr0', { name: 'lxdkitbr0', type: 'bridge', description: '', config: { 'ipv4.address': 'none', 'ipv6.address': 'none' }, managed: true, status: 'Created', used_by: [] });
  inner(w.profiles, 'default').set('default', { name: 'default', description: 'Default LXD profile', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'default' } }, used_by: [] });
  inner(w.aliases, 'default').set('lxdkit/busybox', { name: 'lxdkit/busybox', target: 'a'.repeat(64), description: '', type: 'container' });
  return w;
}

/** Starts the simulated server over `world`. */
export async function startFakeStackServer(world: World = emptyWorld(), opts: FakeStackServerOptions = {}): Promise<FakeStackServer> {
  const fake = await startFakeLxd();
  if (opts.extensions !== undefined || opts.server !== undefined) {
    const info = serverInfo(opts.extensions ? { extensions: [...opts.extensions] } : {}) as Record<string, unknown>;
    const environment = { ...(info['environment'] as Record<string, unknown>), ...(opts.server === 'incus' ? { server: 'incus', server_name: 'incus', server_version: '6.0.4' } : {}) };
    fake.on('GET', '/1.0', () => sync({ ...info, environment }));
  }
  const list = (items: Iterable<Obj>, req: FakeRequest, base: string): FakeResponse =>
    req.query.get('recursion') === '1' ? sync([...items]) : sync([...items].map((o) => `${base}/${encodeURIComponent(o.name)}`));
  const one = (o: Obj | undefined, what: string): FakeResponse => (o ? sync(o, { etag: etagOf(o) }) : lxdError(404, `${what} not found`));
  const put = (o: Obj | undefined, req: FakeRequest, what: string, async = false): FakeResponse => {
    if (!o) return lxdError(404, `${what} not found`);
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== etagOf(o)) return lxdError(412, 'ETag doesn\'t match');
    Object.assign(o, req.body as object);
    return async ? fake.operation() : sync(null);
  };
  const create = (map: Map<string, Obj>, req: FakeRequest, extra: Record<string, unknown>, async = false): FakeResponse => {
    const body = req.body as Obj;
    if (map.has(body.name)) return lxdError(409, 'already exists');
    map.set(body.name, { description: '', config: {}, used_by: [], ...extra, ...body });
    return async ? fake.operation() : sync(null);
  };
  const remove = (map: Map<string, Obj>, name: string, what: string, async = false): FakeResponse => (map.delete(name) ? (async ? fake.operation() : sync(null)) : lxdError(404, `${what} not found`));

  fake.on('GET', '/1.0/projects', (req) => list(world.projects.values(), req, '/1.0/projects'));
  fake.on('GET', '/1.0/projects/:name', (req) => one(world.projects.get(req.params['name']!), 'Project'));
  fake.on('POST', '/1.0/projects', (req) => {
    const r = create(world.projects, req, { config: {} });
    const name = (req.body as Obj).name;
    inner(world.profiles, name).set('default', { name: 'default', description: `Default LXD profile for project ${name}`, config: {}, devices: {}, used_by: [] });
    const p = world.projects.get(name)!;
    p['config'] = { 'features.images': 'true', 'features.profiles': 'true', 'features.storage.volumes': 'true', ...(p['config'] as object) };
    return r;
  });
  fake.on('PUT', '/1.0/projects/:name', (req) => put(world.projects.get(req.params['name']!), req, 'Project'));
  fake.on('DELETE', '/1.0/projects/:name', (req) => remove(world.projects, req.params['name']!, 'Project'));

  fake.on('GET', '/1.0/storage-pools', (req) => list(world.pools.values(), req, '/1.0/storage-pools'));
  fake.on('GET', '/1.0/storage-pools/:name', (req) => one(world.pools.get(req.params['name']!), 'Storage pool'));
  fake.on('POST', '/1.0/storage-pools', (req) => create(world.pools, req, { status: 'Created' }));
  fake.on('PUT', '/1.0/storage-pools/:name', (req) => put(world.pools.get(req.params['name']!), req, 'Storage pool'));
  fake.on('DELETE', '/1.0/storage-pools/:name', (req) => remove(world.pools, req.params['name']!, 'Storage pool'));

  for (const [path, map, what, async, extra] of [
    ['/1.0/networks', world.networks, 'Network', false, { managed: true, type: 'bridge' }],
    ['/1.0/profiles', world.profiles, 'Profile', false, { devices: {} }],
    ['/1.0/instances', world.instances, 'Instance', true, { status: 'Stopped', status_code: 102, type: 'container', devices: {}, profiles: ['default'] }],
  ] as const) {
    fake.on('GET', path, (req) => list(inner(map, projectOf(req)).values(), req, path));
    fake.on('GET', `${path}/:name`, (req) => one(inner(map, projectOf(req)).get(req.params['name']!), what));
    fake.on('POST', path, (req) => {
      if (path === '/1.0/instances') delete (req.body as Record<string, unknown>)['source'];
      return create(inner(map, projectOf(req)), req, extra, async);
    });
    fake.on('PUT', `${path}/:name`, (req) => put(inner(map, projectOf(req)).get(req.params['name']!), req, what, async));
    fake.on('DELETE', `${path}/:name`, (req) => remove(inner(map, projectOf(req)), req.params['name']!, what, async));
  }
  fake.on('PUT', '/1.0/instances/:name/state', (req) => {
    const i = inner(world.instances, projectOf(req)).get(req.params['name']!);
    if (!i) return lxdError(404, 'Instance not found');
    const running = (req.body as { action: string }).action === 'start';
    Object.assign(i, { status: running ? 'Running' : 'Stopped', status_code: running ? 103 : 102 });
    return fake.operation();
  });

  const vols = (req: FakeRequest): Map<string, Obj> => inner(world.volumes, `${projectOf(req)}/${req.params['pool']}`);
  fake.on('GET', '/1.0/storage-pools/:pool/volumes/custom', (req) => list(vols(req).values(), req, `/1.0/storage-pools/${req.params['pool']}/volumes/custom`));
  fake.on('GET', '/1.0/storage-pools/:pool/volumes/custom/:name', (req) => one(vols(req).get(req.params['name']!), 'Storage volume'));
  fake.on('POST', '/1.0/storage-pools/:pool/volumes/custom', (req) => create(vols(req), req, { type: 'custom', content_type: 'filesystem', location: 'none' }, true));
  fake.on('POST', '/1.0/storage-pools/:pool/volumes', (req) => create(vols(req), req, { type: 'custom', content_type: 'filesystem', location: 'none' }, true));
  fake.on('PUT', '/1.0/storage-pools/:pool/volumes/custom/:name', (req) => put(vols(req).get(req.params['name']!), req, 'Storage volume', true));
  fake.on('DELETE', '/1.0/storage-pools/:pool/volumes/custom/:name', (req) => remove(vols(req), req.params['name']!, 'Storage volume', true));

  for (const [path, map, what] of [
    ['/1.0/network-acls', world.acls, 'Network ACL'],
    ['/1.0/network-zones', world.zones, 'Network zone'],
  ] as const) {
    fake.on('GET', path, (req) => list(inner(map, projectOf(req)).values(), req, path));
    fake.on('GET', `${path}/:name`, (req) => one(inner(map, projectOf(req)).get(req.params['name']!), what));
    fake.on('POST', path, (req) => create(inner(map, projectOf(req)), req, path === '/1.0/network-acls' ? { ingress: [], egress: [] } : {}));
    fake.on('PUT', `${path}/:name`, (req) => put(inner(map, projectOf(req)).get(req.params['name']!), req, what));
    fake.on('DELETE', `${path}/:name`, (req) => {
      const key = `${projectOf(req)}/${req.params['name']}`;
      if (path === '/1.0/network-zones' && (world.records.get(key)?.size ?? 0) > 0) return lxdError(400, 'Network zone has records');
      return remove(inner(map, projectOf(req)), req.params['name']!, what);
    });
  }
  const records = (req: FakeRequest): Map<string, Obj> => inner(world.records, `${projectOf(req)}/${req.params['zone']}`);
  const zoneExists = (req: FakeRequest): boolean => inner(world.zones, projectOf(req)).has(req.params['zone']!);
  fake.on('GET', '/1.0/network-zones/:zone/records', (req) => (zoneExists(req) ? list(records(req).values(), req, `/1.0/network-zones/${req.params['zone']}/records`) : lxdError(404, 'Network zone not found')));
  fake.on('GET', '/1.0/network-zones/:zone/records/:name', (req) => one(records(req).get(req.params['name']!), 'Network zone record'));
  fake.on('POST', '/1.0/network-zones/:zone/records', (req) => (zoneExists(req) ? create(records(req), req, { entries: [] }) : lxdError(404, 'Network zone not found')));
  fake.on('PUT', '/1.0/network-zones/:zone/records/:name', (req) => put(records(req).get(req.params['name']!), req, 'Network zone record'));
  fake.on('DELETE', '/1.0/network-zones/:zone/records/:name', (req) => remove(records(req), req.params['name']!, 'Network zone record'));

  // forwards: named by their listen address
  const forwards = (req: FakeRequest): Map<string, Obj> => inner(world.forwards, `${projectOf(req)}/${req.params['net']}`);
  const netExists = (req: FakeRequest): boolean => inner(world.networks, projectOf(req)).has(req.params['net']!);
  const shown = (o: Obj): Record<string, unknown> => {
    const { name, ...rest } = o;
    return { listen_address: name, location: '', ...rest };
  };
  fake.on('GET', '/1.0/networks/:net/forwards', (req) => {
    if (!netExists(req)) return lxdError(404, 'Network not found');
    const all = [...forwards(req).values()];
    return req.query.get('recursion') === '1' ? sync(all.map(shown)) : sync(all.map((o) => `/1.0/networks/${req.params['net']}/forwards/${o.name}`));
  });
  fake.on('GET', '/1.0/networks/:net/forwards/:addr', (req) => {
    const o = forwards(req).get(decodeURIComponent(req.params['addr']!));
    return o ? sync(shown(o), { etag: etagOf(o) }) : lxdError(404, 'Network forward not found');
  });
  fake.on('POST', '/1.0/networks/:net/forwards', (req) => {
    if (!netExists(req)) return lxdError(404, 'Network not found');
    const { listen_address, ...rest } = req.body as { listen_address: string } & Record<string, unknown>;
    const map = forwards(req);
    if (map.has(listen_address)) return lxdError(409, 'already exists');
    map.set(listen_address, { description: '', config: {}, ports: [], ...rest, name: listen_address });
    return sync(null);
  });
  fake.on('PUT', '/1.0/networks/:net/forwards/:addr', (req) => put(forwards(req).get(decodeURIComponent(req.params['addr']!)), req, 'Network forward'));
  fake.on('DELETE', '/1.0/networks/:net/forwards/:addr', (req) => remove(forwards(req), decodeURIComponent(req.params['addr']!), 'Network forward'));

  fake.on('GET', '/1.0/images/aliases', (req) => list(inner(world.aliases, projectOf(req)).values(), req, '/1.0/images/aliases'));

  return {
    fake,
    world,
    listings: () => fake.requests.filter((r) => r.method === 'GET' && r.query.has('recursion')),
    writes: () => fake.requests.filter((r) => r.method !== 'GET'),
    close: () => fake.close(),
  };
}

/** A world of `n` instances, `profiles` profiles and `volumes` volumes in the default project, and the stack that declares exactly them. */
export function scaleWorld(n: number, profiles: number, volumes: number): { world: World; stack: Record<string, unknown> } {
  const world = emptyWorld();
  const stack: { name: string; profiles: unknown[]; storage_volumes: unknown[]; instances: unknown[] } = { name: 'scale', profiles: [], storage_volumes: [], instances: [] };
  for (let i = 0; i < profiles; i++) {
    const p = { name: `p${i}`, description: `profile ${i}`, config: { 'limits.cpu': '1', 'user.lxdkit.stack': 'scale' }, devices: {} };
    inner(world.profiles, 'default').set(p.name, { ...p, used_by: [] });
    stack.profiles.push({ name: p.name, description: p.description, config: { 'limits.cpu': '1' } });
  }
  for (let i = 0; i < volumes; i++) {
    inner(world.volumes, 'default/default').set(`v${i}`, { name: `v${i}`, type: 'custom', content_type: 'filesystem', description: '', config: { 'user.lxdkit.stack': 'scale' }, used_by: [], location: 'none' });
    stack.storage_volumes.push({ pool: 'default', name: `v${i}` });
  }
  for (let i = 0; i < n; i++) {
    const profilesOf = ['default', `p${i % profiles}`];
    inner(world.instances, 'default').set(`c${i}`, {
      name: `c${i}`, type: 'container', description: '', status: 'Running', status_code: 103, profiles: profilesOf,
      config: { 'user.lxdkit.stack': 'scale', 'volatile.base_image': 'a'.repeat(64), 'image.os': 'busybox' }, devices: {},
    });
    stack.instances.push({ name: `c${i}`, image: 'lxdkit/busybox', profiles: profilesOf });
  }
  return { world, stack };
}
