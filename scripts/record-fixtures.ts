/**
 * Records fixtures/ from the real daemons. Run by hand on a host with LXD and Incus (root):
 *
 *   npx tsx scripts/record-fixtures.ts                   # every scenario, from LXD into fixtures/
 *   npx tsx scripts/record-fixtures.ts --server incus    # the same scenarios from Incus into fixtures/incus/
 *   npx tsx scripts/record-fixtures.ts profiles          # the scenarios whose name contains "profiles"
 *   npx tsx scripts/record-fixtures.ts cluster           # the cluster scenarios, from the test cluster
 *
 * The cluster scenarios (fixtures/cluster/) run only when asked for by name: they need the test
 * cluster up (scripts/cluster.sh up; as root, since one of them SIGKILLs member m3 and starts it
 * again with scripts/cluster.sh up) and talk to member m1 ($LXDKIT_CLUSTER_M1_SOCKET).
 *
 * Needs the storage pool `default` and the image alias `lxdkit/busybox` (scripts/provision-host.sh).
 * Everything it creates carries a run-unique prefix (`lxdkit-fx-<random>`), recorded as `lxdkit-fx`;
 * leftovers of an interrupted run are removed first. No network is used: the containers have no NIC
 * except one whose parent bridge does not exist (it never starts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LxdClient } from '../lib/lxd/client.js';
import { isNotFound, LxdError } from '../lib/lxd/errors.js';
import { resolveSocketPath, type ServerKind } from '../lib/lxd/socket.js';
import type { Json } from '../lib/testing/fixture.js';
import { Recorder } from '../lib/testing/recorder.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `--server lxd|incus` (default lxd), and the scenario filters. */
function parseArgs(argv: readonly string[]): { server: ServerKind; only: string[] } {
  const only: string[] = [];
  let server: ServerKind = 'lxd';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = a === '--server' ? argv[++i] : a.startsWith('--server=') ? a.slice('--server='.length) : undefined;
    if (value === undefined) {
      only.push(a);
      continue;
    }
    if (value !== 'lxd' && value !== 'incus') throw new Error(`--server: "${value}" is not a server: give lxd or incus`);
    server = value;
  }
  return { server, only };
}

const ARGS = parseArgs(process.argv.slice(2));
/** LXD's fixtures are fixtures/<group>/<case>.json; Incus's the same under fixtures/incus/. */
const FIXTURES = join(ROOT, 'fixtures', ...(ARGS.server === 'incus' ? ['incus'] : []));
const SOCKET = resolveSocketPath(undefined, process.env, ARGS.server);
const BASE = 'lxdkit-fx';
const RUN = `${BASE}-${randomBytes(3).toString('hex')}`;
const ALIAS = 'lxdkit/busybox';
const MISSING_BRIDGE = 'lxdkitnobr0';
const OP_TIMEOUT = { timeoutMs: 120_000 };

const plain = new LxdClient({ socketPath: SOCKET, useEvents: false });
const CLUSTER_SOCKET = process.env['LXDKIT_CLUSTER_M1_SOCKET'] ?? '/var/lib/lxdkit-cluster/m1/unix.socket';
const memberSocket = (m: string): string => CLUSTER_SOCKET.replace(/\/m1\/unix\.socket$/, `/${m}/unix.socket`);
/** The test cluster's m1, for the cluster scenarios' own set-up and clean-up (created when first used). */
let clusterClient: LxdClient | undefined;
const cluster = (): LxdClient => (clusterClient ??= new LxdClient({ socketPath: CLUSTER_SOCKET, useEvents: false }));

async function expectError(p: Promise<unknown>, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (LxdError.is(err)) {
      console.log(`  ${what}: ${err.code}: ${err.message}`);
      return;
    }
    throw err;
  }
  throw new Error(`${what}: expected an error, got success`);
}

async function cleanup(): Promise<void> {
  for (const name of await plain.instances.list({ recursion: 0 })) {
    if (!name.startsWith(`${BASE}-`)) continue;
    const inst = (await plain.instances.get(name)).value;
    if (inst.status_code !== 102) await (await plain.instances.setState(name, { action: 'stop', force: true })).wait(OP_TIMEOUT).catch(() => undefined);
    await (await plain.instances.delete(name)).wait(OP_TIMEOUT).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    console.log(`  removed leftover instance ${name}`);
  }
  for (const name of await plain.profiles.list({ recursion: 0 })) {
    if (!name.startsWith(`${BASE}-`)) continue;
    await plain.profiles.delete(name);
    console.log(`  removed leftover profile ${name}`);
  }
  for (const name of await plain.projects.list({ recursion: 0 })) {
    if (!name.startsWith(`${BASE}-`)) continue;
    await plain.projects.delete(name);
    console.log(`  removed leftover project ${name}`);
  }
}

interface Session {
  rec: Recorder;
  client: LxdClient;
}

/**
 * Runs `body` with a recording client and saves what it sent and got to fixtures/<file>. With
 * `websockets`, the client goes through the recorder's socket, which records exec sessions too.
 */
async function record(file: string, description: string, body: (s: Session) => Promise<void>, opts: { socketPath?: string; websockets?: boolean } = {}): Promise<void> {
  const socketPath = opts.socketPath ?? SOCKET;
  const rec = new Recorder({ socketPath, replace: { [RUN]: BASE } });
  const client = opts.websockets ? new LxdClient({ socketPath: await rec.listen(), useEvents: false }) : new LxdClient({ socketPath, dispatcher: rec.dispatcher, useEvents: false });
  try {
    await body({ rec, client });
    const out = join(FIXTURES, file);
    const fx = await rec.save(out, { description });
    console.log(`wrote ${relative(ROOT, out)}: ${fx.interactions.length} interactions${fx.events ? `, ${fx.events.reduce((n, s) => n + s.messages.length, 0)} events` : ''}`);
  } finally {
    await client.close();
    await rec.close();
  }
}

async function createContainer(client: LxdClient, name: string, devices?: Record<string, Record<string, string>>): Promise<void> {
  const op = await client.instances.create({ name, source: { type: 'image', alias: ALIAS }, devices });
  await op.wait(OP_TIMEOUT);
}

async function removeContainer(name: string, client = plain): Promise<void> {
  try {
    const inst = (await client.instances.get(name)).value;
    if (inst.status_code !== 102) await (await client.instances.setState(name, { action: 'stop', force: true })).wait(OP_TIMEOUT);
    await (await client.instances.delete(name)).wait(OP_TIMEOUT);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function cleanupCluster(): Promise<void> {
  for (const name of await cluster().instances.list({ recursion: 0 })) {
    if (!name.startsWith(`${BASE}-`)) continue;
    await removeContainer(name, cluster());
    console.log(`  removed leftover instance ${name} from the cluster`);
  }
}

/** Starts a container on `member` of the test cluster (set-up, not recorded). */
async function clusterContainer(name: string, member: string, start: boolean): Promise<void> {
  await (await cluster().instances.create({ name, source: { type: 'image', alias: ALIAS } }, { target: member })).wait(OP_TIMEOUT);
  if (start) await (await cluster().instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT);
}

const execFileP = promisify(execFile);

/** SIGKILLs a member's daemon (its pid from its own GET /1.0, never from the process name). */
async function killMember(member: string): Promise<void> {
  const c = new LxdClient({ socketPath: memberSocket(member) });
  try {
    const pid = (await c.server.get()).value.environment?.server_pid;
    if (typeof pid !== 'number' || pid <= 1) throw new Error(`${member}: no server_pid`);
    process.kill(pid, 'SIGKILL');
  } finally {
    await c.close();
  }
  await new Promise((r) => setTimeout(r, 1_000));
}

async function clusterUp(): Promise<void> {
  await execFileP('bash', [join(ROOT, 'scripts', 'cluster.sh'), 'up'], { timeout: 240_000 });
}

const scenarios: Record<string, () => Promise<void>> = {
  'server/get': () =>
    record('server/get.json', 'GET /1.0 with its ETag', async ({ client }) => {
      await client.server.get();
    }),

  'instances/lifecycle': async () => {
    const name = `${RUN}-life`;
    try {
      await record('instances/lifecycle.json', 'create from lxdkit/busybox, get, start, state, stop, delete; operations waited with /wait', async ({ client }) => {
        await createContainer(client, name);
        await client.instances.get(name);
        await (await client.instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT);
        await client.instances.state(name);
        await (await client.instances.setState(name, { action: 'stop', force: true })).wait(OP_TIMEOUT);
        await (await client.instances.delete(name)).wait(OP_TIMEOUT);
      });
    } finally {
      await removeContainer(name);
    }
  },

  'instances/list': async () => {
    const name = `${RUN}-list`;
    await createContainer(plain, name);
    try {
      await record('instances/list.json', `instance list at recursion 0, 1 and 2, filtered to one stopped container (filter "name eq ${BASE}-list")`, async ({ client }) => {
        const filter = `name eq ${name}`;
        await client.instances.list({ recursion: 0, filter });
        await client.instances.list({ recursion: 1, filter });
        await client.instances.list({ recursion: 2, filter });
      });
    } finally {
      await removeContainer(name);
    }
  },

  'instances/failed-start': async () => {
    const name = `${RUN}-fail`;
    await createContainer(plain, name, { eth0: { type: 'nic', nictype: 'bridged', parent: MISSING_BRIDGE, name: 'eth0' } });
    try {
      await record('instances/failed-start.json', `start of a container whose NIC parent "${MISSING_BRIDGE}" does not exist: the operation fails`, async ({ client }) => {
        await expectError((await client.instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT), 'start');
      });
    } finally {
      await removeContainer(name);
    }
  },

  'instances/duplicate': async () => {
    const name = `${RUN}-dup`;
    await createContainer(plain, name);
    try {
      await record('instances/duplicate.json', 'a second create of an instance name that exists', async ({ client }) => {
        await expectError(createContainer(client, name), 'duplicate create');
      });
    } finally {
      await removeContainer(name);
    }
  },

  'profiles/crud': async () => {
    const name = `${RUN}-prof`;
    try {
      await record('profiles/crud.json', 'profile create, get (ETag), update with the ETag, update with a stale ETag (412), duplicate create (500 already exists), delete, get after delete (404)', async ({ client }) => {
        await client.profiles.create({ name, description: 'fixture profile', config: { 'limits.cpu': '1' } });
        const first = await client.profiles.get(name);
        await client.profiles.update(name, { description: 'updated', config: { 'limits.cpu': '2' }, devices: {} }, { etag: first.etag });
        await client.profiles.get(name);
        await expectError(client.profiles.update(name, { description: 'stale', config: {}, devices: {} }, { etag: first.etag }), 'stale update');
        await expectError(client.profiles.create({ name }), 'duplicate create');
        await client.profiles.delete(name);
        await expectError(client.profiles.get(name), 'get after delete');
      });
    } finally {
      await plain.profiles.delete(name).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  },

  'images/aliases': () =>
    record('images/aliases.json', `image alias list and GET of ${ALIAS}`, async ({ client }) => {
      await client.images.listAliases();
      await client.images.getAlias(ALIAS);
    }),

  'operations/wait-timeout': async () => {
    const name = `${RUN}-wt`;
    await createContainer(plain, name);
    try {
      await (await plain.instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT);
      await record(
        'operations/wait-timeout.json',
        'a clean stop that cannot finish (BusyBox init ignores the halt signal) with a 3 s timeout: /wait?timeout=1 while it runs, then the wait for its end',
        async ({ client }) => {
          const stop = await client.instances.setState(name, { action: 'stop', timeout: 3 });
          await client.query('GET', `/1.0/operations/${stop.id}/wait?timeout=1`).catch((err: unknown) => expectError(Promise.reject(err), '/wait timeout'));
          await stop.wait(OP_TIMEOUT).catch((err: unknown) => expectError(Promise.reject(err), 'clean stop'));
        },
      );
    } finally {
      await removeContainer(name);
    }
  },

  'projects/crud': async () => {
    const name = `${RUN}-proj`;
    try {
      await record(
        'projects/crud.json',
        'project create with features, get (ETag), update with the ETag, update with a stale ETag (412), patch (lxdkit reads and PUTs the merged config), state, duplicate create, create with features.storage.buckets, rename (an operation), delete, get after delete (404)',
        async ({ client }) => {
          await client.projects.create({ name, description: 'fixture project', config: { 'features.images': 'false', 'features.profiles': 'true' } });
          const first = await client.projects.get(name);
          await client.projects.update(name, { description: 'updated', config: { ...first.value.config, 'limits.instances': '3' } }, first.etag ? { etag: first.etag } : {});
          await expectError(client.projects.update(name, { description: 'stale', config: {} }, first.etag ? { etag: first.etag } : {}), 'stale update');
          await client.projects.patch(name, { config: { 'limits.containers': '2' } });
          await client.projects.state(name);
          await expectError(client.projects.create({ name }), 'duplicate create');
          await client.projects.create({ name: `${name}-bk`, config: { 'features.storage.buckets': 'true' } }).then(
            () => client.projects.delete(`${name}-bk`),
            (err: unknown) => expectError(Promise.reject(err), 'storage buckets'),
          );
          await client.projects.rename(name, `${name}-b`);
          await client.projects.delete(`${name}-b`);
          await expectError(client.projects.get(`${name}-b`), 'get after delete');
        },
      );
    } finally {
      for (const p of [name, `${name}-b`, `${name}-bk`]) {
        await plain.projects.delete(p).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
    }
  },

  'projects/unknown': () =>
    record(
      'projects/unknown.json',
      'calls in a project that does not exist, sent as they are (lxdkit itself checks the project first): instance and operation lists answer as if it existed, an instance in it is "not found", profiles and images say the project is not',
      async ({ client }) => {
        const p = `${RUN}-none`;
        await client.query('GET', `/1.0/instances?project=${p}`);
        await expectError(client.query('GET', `/1.0/instances/${RUN}-missing?project=${p}`), 'instance');
        await expectError(client.query('GET', `/1.0/profiles?project=${p}`), 'profiles');
        await expectError(client.query('GET', `/1.0/images?project=${p}`), 'images');
        // the events endpoint without an upgrade: the project is checked before the upgrade
        await expectError(client['transport'].request('GET', '/1.0/events', { query: { project: p } }), 'events');
        await expectError(client.projects.get(p), 'project');
      },
    ),

  'errors/not-found': () =>
    record('errors/not-found.json', 'GETs of an instance, a profile, an operation and an image alias that do not exist (404)', async ({ client }) => {
      await expectError(client.instances.get(`${RUN}-missing`), 'instance');
      await expectError(client.profiles.get(`${RUN}-missing`), 'profile');
      await expectError(client.operations.get('00000000-0000-0000-0000-000000000000'), 'operation');
      await expectError(client.images.getAlias(`${RUN}-missing`), 'alias');
    }),

  'errors/events-without-upgrade': () =>
    record('errors/events-without-upgrade.json', 'GET /1.0/events without a websocket upgrade: LXD answers a text/plain 400', async ({ client }) => {
      // the client has no plain GET of /1.0/events; its transport is used directly to record LXD's answer
      await expectError(client['transport'].request('GET', '/1.0/events'), 'events without upgrade');
    }),

  'exec/session': async () => {
    const name = `${RUN}-exec`;
    await createContainer(plain, name);
    await (await plain.instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT);
    try {
      await record(
        'exec/session.json',
        'exec sessions over websockets: `cat; echo err >&2; exit 3` fed "hello exec" (exit 3), a missing program (exit 127, then HEADs along PATH), `stty size` on a 100x30 pty',
        async ({ client }) => {
          const r = await client.instances.execOutput(name, { command: ['sh', '-c', 'cat; echo err >&2; exit 3'], stdin: 'hello exec\n' });
          console.log(`  cat: exit ${r.exitCode}, ${r.stdout.length} bytes out, ${r.stderr.length} bytes err`);
          await expectError(client.instances.execOutput(name, { command: ['no-such-program'] }), 'missing program');
          // the pty's last output can be lost on LXD 5.0.2 when the command ends at once: it lingers
          const t = await client.instances.execOutput(name, { command: ['sh', '-c', 'stty size; sleep 0.3'], interactive: true, width: 100, height: 30 });
          console.log(`  pty: ${JSON.stringify(t.stdout.toString())}`);
        },
        { websockets: true },
      );
    } finally {
      await removeContainer(name);
    }
  },

  'files/transfer': async () => {
    const name = `${RUN}-files`;
    await createContainer(plain, name);
    try {
      await record('files/transfer.json', 'file push (bytes that are not UTF-8, mode 0640, uid 1000), stat, pull, a directory made and listed, deletes, and a pull of a missing path (404)', async ({ client }) => {
        const bytes = Buffer.from([0, 1, 2, 3, 0xfe, 0xff, 0x80, 10]);
        await client.instances.files.push(name, '/root/data.bin', bytes, { mode: 0o640, uid: 1000, gid: 1000 });
        await client.instances.files.stat(name, '/root/data.bin');
        const pulled = await client.instances.files.pull(name, '/root/data.bin');
        for await (const _ of pulled.body) void _;
        await client.instances.files.mkdir(name, '/root/dir', { mode: 0o750 });
        await client.instances.files.push(name, '/root/dir/note.txt', 'a note\n');
        await client.instances.files.list(name, '/root/dir');
        await client.instances.files.delete(name, '/root/dir', { recursive: true });
        await expectError(client.instances.files.pull(name, '/root/missing'), 'missing file');
      });
    } finally {
      await removeContainer(name);
    }
  },

  'events/lifecycle': async () => {
    const name = `${RUN}-ev`;
    try {
      await record('events/lifecycle.json', 'lifecycle events of one container: created, started, stopped, deleted (only events about it are kept)', async ({ rec, client }) => {
        await rec.recordEvents(
          { types: ['lifecycle'], filter: (m: Json) => JSON.stringify(m).includes(name) },
          async () => {
            await createContainer(client, name);
            await (await client.instances.setState(name, { action: 'start' })).wait(OP_TIMEOUT);
            await (await client.instances.setState(name, { action: 'stop', force: true })).wait(OP_TIMEOUT);
            await (await client.instances.delete(name)).wait(OP_TIMEOUT);
          },
        );
      });
    } finally {
      await removeContainer(name);
    }
  },
};

/** Recorded from the test cluster (scripts/cluster.sh), through member m1; only when asked for by name. */
const clusterScenarios: Record<string, () => Promise<void>> = {
  'cluster/members': () =>
    record(
      'cluster/members.json',
      'a 3-member cluster as member m1 describes it: GET /1.0 (clustered), the cluster, its members (names and objects), one member with its ETag, the cluster groups',
      async ({ client }) => {
        await client.server.get();
        await client.cluster.get();
        await client.cluster.members.list({ recursion: 0 });
        await client.cluster.members.list();
        await client.cluster.members.get('m2');
        await client.cluster.groups.list();
      },
      { socketPath: CLUSTER_SOCKET },
    ),

  'cluster/instances': async () => {
    const names = ['m1', 'm2', 'm3'].map((m) => `${RUN}-on-${m}`);
    try {
      await record(
        'cluster/instances.json',
        'one container created on each member with ?target= through m1 (each create waited with /wait: the operations of m2 and m3 are answered by m1), then the cluster-wide listing at recursion 1 and one instance read through m1',
        async ({ client }) => {
          for (const [i, name] of names.entries()) await (await client.instances.create({ name, source: { type: 'image', alias: ALIAS } }, { target: `m${i + 1}` })).wait(OP_TIMEOUT);
          await client.instances.list({ recursion: 1 });
          await client.instances.get(names[2]!);
        },
        { socketPath: CLUSTER_SOCKET },
      );
    } finally {
      for (const n of names) await removeContainer(n, cluster());
    }
  },

  'cluster/events': async () => {
    const names = ['m1', 'm2', 'm3'].map((m) => `${RUN}-ev-${m}`);
    try {
      for (const [i, n] of names.entries()) await clusterContainer(n, `m${i + 1}`, false);
      await record(
        'cluster/events.json',
        "the type=lifecycle stream of member m1 while a container on each member is started and stopped: every member's events, each with its location (only events about these containers are kept)",
        async ({ rec, client }) => {
          await rec.recordEvents({ types: ['lifecycle'], filter: (m: Json) => JSON.stringify(m).includes(`${RUN}-ev-`) }, async () => {
            for (const n of names) await (await client.instances.setState(n, { action: 'start' })).wait(OP_TIMEOUT);
            for (const n of names) await (await client.instances.setState(n, { action: 'stop', force: true })).wait(OP_TIMEOUT);
          });
        },
        { socketPath: CLUSTER_SOCKET },
      );
    } finally {
      for (const n of names) await removeContainer(n, cluster());
    }
  },

  'cluster/member-down': async () => {
    const down = `${RUN}-down`;
    const up = `${RUN}-up`;
    let killed = false;
    try {
      await clusterContainer(down, 'm3', true);
      await clusterContainer(up, 'm2', true);
      // an operation that runs on m3 for minutes
      const exec = await cluster().query('POST', `/1.0/instances/${down}/exec`, { body: { command: ['sleep', '600'], 'wait-for-websocket': false, interactive: false, 'record-output': false } });
      const opId = exec.operation!.id;
      await killMember('m3');
      killed = true;
      await record(
        'cluster/member-down.json',
        'member m3 SIGKILLed, asked through m1: a create targeted at m3 (500 "Unable to connect"), the listing (m3\'s container in status Error), the operation running on m3 and the container on m3 (500s: LXD cannot forward to m3)',
        async ({ client }) => {
          await expectError(client.instances.create({ name: `${RUN}-nope`, source: { type: 'image', alias: ALIAS } }, { target: 'm3' }), 'create on m3');
          await client.instances.list({ recursion: 1 });
          await expectError(client.operations.get(opId), 'operation on m3');
          await expectError(client.instances.get(down), 'instance on m3');
        },
        { socketPath: CLUSTER_SOCKET },
      );
    } finally {
      if (killed) await clusterUp();
      await removeContainer(down, cluster());
      await removeContainer(up, cluster());
    }
  },
};

async function main(): Promise<void> {
  const { only, server } = ARGS;
  const all = { ...scenarios, ...clusterScenarios };
  // The cluster scenarios run only when asked for: they need the test cluster.
  const chosen = Object.keys(all).filter((n) => (only.length === 0 ? n in scenarios : only.some((o) => n.includes(o))));
  if (chosen.length === 0) throw new Error(`no scenario matches ${only.join(', ')}; scenarios: ${Object.keys(all).join(', ')}`);
  const onHost = chosen.some((n) => n in scenarios);
  const onCluster = chosen.some((n) => n in clusterScenarios);
  if (onHost) {
    const info = await plain.server.info();
    if ((await plain.serverKind()) !== server) throw new Error(`${SOCKET} is not ${server}'s socket: it answers as ${await plain.serverKind()}`);
    console.log(`recording from ${server === 'incus' ? 'Incus' : 'LXD'} ${info.environment?.server_version ?? '?'} at ${SOCKET} (${info.api_extensions.length} API extensions) into ${relative(ROOT, FIXTURES)}/, prefix ${RUN}`);
    await cleanup();
  }
  if (onCluster) {
    const info = await cluster().server.info();
    console.log(`recording from the test cluster (m1): LXD ${info.environment?.server_version ?? '?'} (${info.api_extensions.length} API extensions), prefix ${RUN}`);
    await cleanupCluster();
  }
  try {
    for (const n of chosen) {
      console.log(`${n}:`);
      await all[n]!();
    }
  } finally {
    if (onHost) await cleanup();
    if (onCluster) await cleanupCluster();
    await plain.close();
    await clusterClient?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
