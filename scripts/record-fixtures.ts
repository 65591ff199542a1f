/**
 * Records fixtures/ from the real LXD daemon. Run by hand on a host with LXD (root or the lxd group):
 *
 *   npx tsx scripts/record-fixtures.ts            # every scenario
 *   npx tsx scripts/record-fixtures.ts profiles   # the scenarios whose name contains "profiles"
 *
 * Needs the storage pool `default` and the image alias `lxdkit/busybox` (scripts/provision-host.sh).
 * Everything it creates carries a run-unique prefix (`lxdkit-fx-<random>`), recorded as `lxdkit-fx`;
 * leftovers of an interrupted run are removed first. No network is used: the containers have no NIC
 * except one whose parent bridge does not exist (it never starts).
 */
import { randomBytes } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LxdClient } from '../lib/lxd/client.js';
import { isNotFound, LxdError } from '../lib/lxd/errors.js';
import type { Json } from '../lib/testing/fixture.js';
import { Recorder } from '../lib/testing/recorder.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'fixtures');
const BASE = 'lxdkit-fx';
const RUN = `${BASE}-${randomBytes(3).toString('hex')}`;
const ALIAS = 'lxdkit/busybox';
const MISSING_BRIDGE = 'lxdkitnobr0';
const OP_TIMEOUT = { timeoutMs: 120_000 };

const plain = new LxdClient({ useEvents: false });

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
}

interface Session {
  rec: Recorder;
  client: LxdClient;
}

/**
 * Runs `body` with a recording client and saves what it sent and got to fixtures/<file>. With
 * `websockets`, the client goes through the recorder's socket, which records exec sessions too.
 */
async function record(file: string, description: string, body: (s: Session) => Promise<void>, opts: { websockets?: boolean } = {}): Promise<void> {
  const rec = new Recorder({ replace: { [RUN]: BASE } });
  const client = opts.websockets ? new LxdClient({ socketPath: await rec.listen(), useEvents: false }) : new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
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
  const op = await client.instances.create({ name, source: { type: 'image', alias: ALIAS }, ...(devices ? { devices } : {}) });
  await op.wait(OP_TIMEOUT);
}

async function removeContainer(name: string): Promise<void> {
  try {
    const inst = (await plain.instances.get(name)).value;
    if (inst.status_code !== 102) await (await plain.instances.setState(name, { action: 'stop', force: true })).wait(OP_TIMEOUT);
    await (await plain.instances.delete(name)).wait(OP_TIMEOUT);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
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

  'profiles/crud': async () => {
    const name = `${RUN}-prof`;
    try {
      await record('profiles/crud.json', 'profile create, get (ETag), update with the ETag, update with a stale ETag (412), duplicate create (500 already exists), delete, get after delete (404)', async ({ client }) => {
        await client.profiles.create({ name, description: 'fixture profile', config: { 'limits.cpu': '1' } });
        const first = await client.profiles.get(name);
        await client.profiles.update(name, { description: 'updated', config: { 'limits.cpu': '2' }, devices: {} }, first.etag ? { etag: first.etag } : {});
        await client.profiles.get(name);
        await expectError(client.profiles.update(name, { description: 'stale', config: {}, devices: {} }, first.etag ? { etag: first.etag } : {}), 'stale update');
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

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = Object.keys(scenarios).filter((n) => only.length === 0 || only.some((o) => n.includes(o)));
  if (chosen.length === 0) throw new Error(`no scenario matches ${only.join(', ')}; scenarios: ${Object.keys(scenarios).join(', ')}`);
  const info = await plain.server.info();
  console.log(`recording from LXD ${info.environment?.server_version ?? '?'} (${info.api_extensions.length} API extensions), prefix ${RUN}`);
  await cleanup();
  try {
    for (const n of chosen) {
      console.log(`${n}:`);
      await scenarios[n]!();
    }
  } finally {
    await cleanup();
    await plain.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
