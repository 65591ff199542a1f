/**
 * A small stateful LXD on the fake server for the manager specs: images and aliases, profiles
 * (with ETags), networks, storage pools and instances (create / start / stop / delete), with knobs
 * to make steps fail.
 */
import { lxdError, sync, type FakeLxd, type FakeRequest, type FakeResponse, type OperationSpec } from '../../helpers/fake-lxd.js';

export interface WorldInstance {
  name: string;
  type: string;
  status: 'Running' | 'Stopped';
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  profiles: string[];
  architecture: string;
  body: Record<string, unknown>;
}

export interface World {
  aliases: Map<string, string>;
  images: Map<string, { fingerprint: string; filename: string }>;
  profiles: Map<string, { name: string; description: string; config: Record<string, string>; devices: Record<string, Record<string, string>>; etag: number }>;
  networks: Map<string, { name: string; type: string; managed: boolean; config: Record<string, string>; etag: number }>;
  pools: string[];
  instances: Map<string, WorldInstance>;
  /** Knobs: make the next matching step fail with this LXD text. */
  fail: {
    start?: string;
    /** Refuse this many start requests (HTTP 400) with the daemon's "busy" text (LXD's way). */
    startBusy?: number;
    /** Fail this many start operations with the daemon's "busy" text (Incus's way: the request is accepted). */
    startOpBusy?: number;
    create?: string;
    createRequest?: string;
    deleteOp?: string[];
    deleteRequest?: { status: number; message: string };
    /** Refuse this many deletes with LXD's "Instance is running", the instance started again meanwhile. */
    deleteRunning?: number;
    copy?: string;
    instanceUpdate?: string;
    getAfterStart?: string;
  };
  /** Progress metadata the image copy reports before finishing. */
  copyProgress: Record<string, unknown>[];
  /** Bodies of image copies (POST /1.0/images). */
  copies: unknown[];
}

const etagOf = (n: number): string => `"etag-${n}"`;

export function installWorld(fake: FakeLxd): World {
  const w: World = {
    aliases: new Map(),
    images: new Map(),
    profiles: new Map([['default', { name: 'default', description: 'Default LXD profile', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'default' } }, etag: 1 }]]),
    networks: new Map(),
    pools: ['default'],
    instances: new Map(),
    fail: {},
    copyProgress: [],
    copies: [],
  };
  const op = (spec: OperationSpec = {}): FakeResponse => fake.operation(spec);

  fake.on('GET', '/1.0/images/aliases/:name', (r) => {
    const t = w.aliases.get(r.params['name'] ?? '');
    return t ? sync({ name: r.params['name'], target: t, description: '', type: 'container' }) : lxdError(404, 'not found');
  });
  fake.on('POST', '/1.0/images/aliases', (r) => {
    const b = r.body as { name: string; target: string };
    if (w.aliases.has(b.name)) return lxdError(409, 'Alias already exists');
    w.aliases.set(b.name, b.target);
    return sync({});
  });
  fake.on('GET', '/1.0/images/:fp', (r) => {
    const img = w.images.get(r.params['fp'] ?? '');
    return img ? sync({ ...img, size: 1, architecture: 'x86_64', public: false, properties: {}, aliases: [] }) : lxdError(404, 'Image not found');
  });
  fake.on('POST', '/1.0/images', (r) => {
    w.copies.push(r.body);
    if (w.fail.copy) return op({ err: w.fail.copy, progress: w.copyProgress });
    const b = r.body as { source: { fingerprint: string }; aliases?: { name: string }[] };
    const fp = b.source.fingerprint;
    w.images.set(fp, { fingerprint: fp, filename: `${fp.slice(0, 8)}.tar.xz` });
    for (const a of b.aliases ?? []) w.aliases.set(a.name, fp);
    return op({ progress: w.copyProgress, metadata: { fingerprint: fp } });
  });

  fake.on('GET', '/1.0/profiles', () => sync([...w.profiles.keys()].map((n) => `/1.0/profiles/${n}`)));
  fake.on('GET', '/1.0/profiles/:name', (r) => {
    const p = w.profiles.get(r.params['name'] ?? '');
    return p ? sync({ name: p.name, description: p.description, config: p.config, devices: p.devices, used_by: [] }, { etag: etagOf(p.etag) }) : lxdError(404, 'Profile not found');
  });
  fake.on('POST', '/1.0/profiles', (r) => {
    const b = r.body as { name: string; description?: string; config?: Record<string, string>; devices?: Record<string, Record<string, string>> };
    if (w.profiles.has(b.name)) return lxdError(500, 'Error inserting "x" into database: The profile already exists');
    w.profiles.set(b.name, { name: b.name, description: b.description ?? '', config: b.config ?? {}, devices: b.devices ?? {}, etag: 1 });
    return sync({}, { status: 201 });
  });
  fake.on('PUT', '/1.0/profiles/:name', (r) => {
    const p = w.profiles.get(r.params['name'] ?? '');
    if (!p) return lxdError(404, 'Profile not found');
    if (r.headers['if-match'] !== undefined && r.headers['if-match'] !== etagOf(p.etag)) return lxdError(412, 'ETag doesn\'t match');
    const b = r.body as { description?: string; config?: Record<string, string>; devices?: Record<string, Record<string, string>> };
    Object.assign(p, { description: b.description ?? '', config: b.config ?? {}, devices: b.devices ?? {}, etag: p.etag + 1 });
    return sync({});
  });
  fake.on('DELETE', '/1.0/profiles/:name', (r) => {
    const name = r.params['name'] ?? '';
    if (!w.profiles.has(name)) return lxdError(404, 'Profile not found');
    if ([...w.instances.values()].some((i) => i.profiles.includes(name))) return lxdError(400, 'Profile is currently in use');
    w.profiles.delete(name);
    return sync({});
  });

  fake.on('GET', '/1.0/networks/:name', (r) => {
    const n = w.networks.get(r.params['name'] ?? '');
    return n ? sync({ name: n.name, type: n.type, managed: n.managed, config: n.config, description: '', used_by: [] }, { etag: etagOf(n.etag) }) : lxdError(404, 'Network not found');
  });
  fake.on('PUT', '/1.0/networks/:name', (r) => {
    const n = w.networks.get(r.params['name'] ?? '');
    if (!n) return lxdError(404, 'Network not found');
    n.config = (r.body as { config: Record<string, string> }).config;
    n.etag += 1;
    return sync({});
  });
  fake.on('POST', '/1.0/networks', (r) => {
    const b = r.body as { name: string; type: string; config: Record<string, string> };
    w.networks.set(b.name, { name: b.name, type: b.type, managed: true, config: b.config, etag: 1 });
    return sync({}, { status: 201 });
  });
  fake.on('GET', '/1.0/storage-pools', () => sync(w.pools.map((p) => `/1.0/storage-pools/${p}`)));
  fake.on('POST', '/1.0/storage-pools', (r) => {
    w.pools.push((r.body as { name: string }).name);
    return sync({}, { status: 201 });
  });

  const view = (i: WorldInstance) => ({
    name: i.name,
    type: i.type,
    architecture: i.architecture,
    config: i.config,
    devices: i.devices,
    ephemeral: false,
    profiles: i.profiles,
    stateful: false,
    description: '',
    status: i.status,
    status_code: i.status === 'Running' ? 103 : 102,
  });
  fake.on('GET', '/1.0/instances', () => sync([...w.instances.values()].map(view)));
  fake.on('POST', '/1.0/instances', (r: FakeRequest) => {
    if (w.fail.createRequest) return lxdError(400, w.fail.createRequest);
    const b = r.body as { name: string; config?: Record<string, string>; devices?: Record<string, Record<string, string>>; profiles?: string[]; architecture?: string };
    if (w.fail.create) return op({ err: w.fail.create });
    w.instances.set(b.name, {
      name: b.name,
      type: 'container',
      status: 'Stopped',
      config: b.config ?? {},
      devices: b.devices ?? {},
      profiles: b.profiles ?? ['default'],
      architecture: b.architecture ?? 'x86_64',
      body: r.body as Record<string, unknown>,
    });
    return op();
  });
  fake.on('GET', '/1.0/instances/:name', (r) => {
    const i = w.instances.get(r.params['name'] ?? '');
    if (i && i.status === 'Running' && w.fail.getAfterStart) return lxdError(500, w.fail.getAfterStart);
    return i ? sync(view(i), { etag: '"inst-etag"' }) : lxdError(404, 'Instance not found');
  });
  fake.on('PUT', '/1.0/instances/:name', (r) => {
    const i = w.instances.get(r.params['name'] ?? '');
    if (!i) return lxdError(404, 'Instance not found');
    if (w.fail.instanceUpdate) return op({ err: w.fail.instanceUpdate });
    i.profiles = (r.body as { profiles: string[] }).profiles;
    return op({ description: 'Updating instance' });
  });
  fake.on('GET', '/1.0/instances/:name/state', (r) => {
    const i = w.instances.get(r.params['name'] ?? '');
    return i ? sync({ status: i.status, status_code: i.status === 'Running' ? 103 : 102, pid: 1, processes: 1 }, { etag: '"state-etag"' }) : lxdError(404, 'Instance not found');
  });
  fake.on('PUT', '/1.0/instances/:name/state', (r) => {
    const i = w.instances.get(r.params['name'] ?? '');
    if (!i) return lxdError(404, 'Instance not found');
    const action = (r.body as { action: string }).action;
    if (action === 'start') {
      if (w.fail.startBusy) {
        w.fail.startBusy -= 1;
        return lxdError(400, 'Failed to create instance start operation: Instance is busy running a "create" operation');
      }
      if (w.fail.start) return op({ err: w.fail.start });
      if (w.fail.startOpBusy) {
        w.fail.startOpBusy -= 1;
        return op({ err: 'Failed to create instance start operation: Instance is busy running a "create" operation' });
      }
      i.status = 'Running';
    } else if (action === 'stop') {
      i.status = 'Stopped';
    }
    return op();
  });
  fake.on('DELETE', '/1.0/instances/:name', (r) => {
    if (w.fail.deleteRequest) return lxdError(w.fail.deleteRequest.status, w.fail.deleteRequest.message);
    const name = r.params['name'] ?? '';
    const running = w.instances.get(name);
    if (running && w.fail.deleteRunning) {
      w.fail.deleteRunning -= 1;
      running.status = 'Running';
      return lxdError(400, 'Instance is running');
    }
    if (!w.instances.has(name)) return lxdError(404, 'Instance not found');
    const failure = w.fail.deleteOp?.shift();
    if (failure) return op({ err: failure });
    w.instances.delete(name);
    return op();
  });
  return w;
}
