/**
 * Instances and images beyond CRUD, on the host's real LXD 5.0.2 and Incus 6.0.4: the bulk state
 * change, moves to another pool and project, metadata and templates, rebuild, the console, and image
 * export, publish, secret and refresh. Everything made here is named `lxdkit-spec-instx-…` and lives in
 * two projects of its own (so the bulk state change touches no one else's instances); a second `dir`
 * pool is made for the move and removed after.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdExtensionMissingError, LxdLocalFileError, LxdOperationError, LxdValidationError, type LxdClient } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { removeProjects } from '../../helpers/projects.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-instx-';
const UNIFIED_ALIAS = `${TEST_IMAGE_ALIAS}-unified`;

async function removeInstxLeftovers(lxd: LxdClient, prefix: string): Promise<void> {
  await removeProjects(lxd, prefix);
  await removeLeftovers(lxd, prefix);
  for (const name of await lxd.storagePools.list({ recursion: 0 })) if (name.startsWith(prefix)) await lxd.storagePools.delete(name);
}

const status = async (c: LxdClient, name: string): Promise<string> => (await c.instances.state(name)).value.status;

describeEachServer('instances and images beyond CRUD', function (server) {
  this.timeout(300_000);
  let lxd: LxdClient;
  let pa: LxdClient;
  let pb: LxdClient;
  const run = uniqueSuffix();
  const projA = `${PREFIX}${run}-a`;
  const projB = `${PREFIX}${run}-b`;

  const launch = async (c: LxdClient, name: string, start = false): Promise<void> => {
    await (await c.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
    if (start) await (await c.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });
  };

  before(async function () {
    lxd = await requireServer(this, server);
    await removeInstxLeftovers(lxd, PREFIX);
    // projects that use the default project's images and profiles
    for (const name of [projA, projB]) await lxd.projects.create({ name, config: { 'features.images': 'false', 'features.profiles': 'false' } });
    pa = lxd.withProject(projA);
    pb = lxd.withProject(projB);
  });

  after(async function () {
    if (!lxd) return;
    await pa?.close();
    await pb?.close();
    await removeInstxLeftovers(lxd, `${PREFIX}${run}`);
    await lxd.close();
  });

  it('setStateAll starts and stops every instance of the project in one operation, and no other', async () => {
    const names = [1, 2, 3].map((i) => `${PREFIX}${run}-bulk${i}`);
    const other = `${PREFIX}${run}-other`;
    await Promise.all([...names.map((n) => launch(pa, n)), launch(pb, other)]);
    await (await pa.instances.setStateAll({ action: 'start' })).wait({ timeoutMs: 120_000 });
    expect(await Promise.all(names.map((n) => status(pa, n)))).to.deep.equal(['Running', 'Running', 'Running']);
    expect(await status(pb, other)).to.equal('Stopped');
    await (await pa.instances.setStateAll({ action: 'stop', force: true })).wait({ timeoutMs: 120_000 });
    expect(await Promise.all(names.map((n) => status(pa, n)))).to.deep.equal(['Stopped', 'Stopped', 'Stopped']);
    expect(await pa.instances.setStateAll({ action: 'explode' as 'start' }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
    await Promise.all([...names.map(async (n) => (await pa.instances.delete(n)).wait()), (await pb.instances.delete(other)).wait()]);
  });

  it('move: to another storage pool and back, then to another project under a new name', async () => {
    const pool = `${PREFIX}${run}-pool`;
    const name = `${PREFIX}${run}-mv`;
    await lxd.storagePools.create({ name: pool, driver: 'dir', description: 'made by a spec' });
    await launch(pa, name);
    const rootPool = async (c: LxdClient, n: string): Promise<string | undefined> => (await c.instances.get(n)).value.expanded_devices?.['root']?.['pool'];
    expect(await rootPool(pa, name)).to.equal('default');
    await (await pa.instances.move(name, { pool })).wait({ timeoutMs: 120_000 });
    expect(await rootPool(pa, name)).to.equal(pool);
    expect(await pa.storageVolumes.list(pool, { type: 'container', recursion: 0 })).to.include(name);
    await (await pa.instances.move(name, { pool: 'default' })).wait({ timeoutMs: 120_000 });
    expect(await rootPool(pa, name)).to.equal('default');
    await lxd.storagePools.delete(pool);

    const moved = `${name}-b`;
    await (await pa.instances.move(name, { project: projB, newName: moved })).wait({ timeoutMs: 120_000 });
    expect(await pa.instances.list({ recursion: 0 })).to.not.include(name);
    expect(await pb.instances.list({ recursion: 0 })).to.include(moved);
    // a new name alone is a rename
    await (await pb.instances.move(moved, { newName: name })).wait();
    expect(await pb.instances.list({ recursion: 0 })).to.include(name);
    expect(await pb.instances.move(name, {}).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
    await (await pb.instances.delete(name)).wait();
  });

  it('metadata: get with its ETag, update, patch; templates: put, list, get, delete; hostile template names refused', async () => {
    const name = `${PREFIX}${run}-meta`;
    await launch(pa, name);
    const { value, etag } = await pa.instances.metadata.get(name);
    expect(value.properties['os']).to.equal('busybox');
    expect(Object.values(value.templates).map((t) => t.template)).to.include('hostname.tpl');
    expect(etag).to.be.a('string');
    const templates = Object.fromEntries(Object.entries(value.templates).map(([k, t]) => [k, { when: t.when as ('create' | 'copy' | 'start' | 'rename')[], template: t.template, create_only: t.create_only, properties: t.properties }]));
    await pa.instances.metadata.update(name, { architecture: value.architecture, creation_date: value.creation_date, properties: { ...value.properties, description: 'updated by a spec' }, templates }, { etag });
    expect((await pa.instances.metadata.get(name)).value.properties['description']).to.equal('updated by a spec');
    // neither server checks If-Match on the metadata: the ETag changes with it all the same
    expect((await pa.instances.metadata.get(name)).etag).to.not.equal(etag);
    await pa.instances.metadata.patch(name, { properties: { 'lxdkit.spec': 'patched' } });
    const patched = (await pa.instances.metadata.get(name)).value;
    expect(patched.properties['lxdkit.spec']).to.equal('patched');

    await pa.instances.templates.put(name, 'motd.tpl', 'Hello {{ container.name }}\n');
    expect(await pa.instances.templates.list(name)).to.have.members(['hostname.tpl', 'motd.tpl']);
    expect(await pa.instances.templates.get(name, 'motd.tpl')).to.equal('Hello {{ container.name }}\n');
    await pa.instances.templates.delete(name, 'motd.tpl');
    expect(await pa.instances.templates.list(name)).to.deep.equal(['hostname.tpl']);
    for (const bad of ['../hostname.tpl', 'a/b.tpl', '..', '', 'x\0y']) {
      expect(await pa.instances.templates.get(name, bad).catch((e: unknown) => e), bad).to.be.instanceOf(LxdValidationError);
      expect(await pa.instances.templates.put(name, bad, 'x').catch((e: unknown) => e), bad).to.be.instanceOf(LxdValidationError);
    }
    await (await pa.instances.delete(name)).wait();
  });

  it('rebuild: a new root disk from the image or an empty one on Incus; the missing-extension error on LXD 5.0.2', async () => {
    const name = `${PREFIX}${run}-rebuild`;
    await launch(pa, name);
    if (server.kind === 'lxd') {
      const err = await pa.instances.rebuild(name, { source: { type: 'image', alias: TEST_IMAGE_ALIAS } }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdExtensionMissingError);
      expect((err as LxdExtensionMissingError).extension).to.equal('instances_rebuild');
    } else {
      // a file written into the instance is gone after a rebuild from the image
      await pa.instances.files.push(name, '/root/lxdkit-marker', 'here');
      await (await pa.instances.rebuild(name, { source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
      expect(await pa.instances.files.stat(name, '/root/lxdkit-marker').catch((e: unknown) => e)).to.be.instanceOf(Error);
      await (await pa.instances.rebuild(name, { source: { type: 'none' } })).wait({ timeoutMs: 120_000 });
      expect(await pa.instances.files.stat(name, '/bin/busybox').catch((e: unknown) => e)).to.be.instanceOf(Error);
    }
    await (await pa.instances.delete(name)).wait();
  });

  it('console.attach: what is typed comes back from the console; an abort detaches and the instance keeps running', async () => {
    const name = `${PREFIX}${run}-console`;
    await launch(pa, name, true);
    const ac = new AbortController();
    const session = await pa.instances.console.attach(name, { signal: ac.signal });
    try {
      let out = '';
      session.output.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      const ended = new Promise<void>((resolve) => session.output.once('end', resolve));
      const marker = `lxdkit-${run}-echo`;
      // the server relays input a moment after the websockets connect: type until the echo comes
      const deadline = Date.now() + 20_000;
      while (!out.includes(marker) && Date.now() < deadline) {
        await session.write(`${marker}\r`);
        for (let i = 0; i < 10 && !out.includes(marker); i++) await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).to.include(marker);
      ac.abort();
      await ended;
    } finally {
      await session.close();
    }
    expect(await session.write('more').catch((e: unknown) => e)).to.be.instanceOf(Error);
    // the console operation has ended (finished operations stay listed for 5 s) and the instance still runs
    const op = await pa.operations.get(session.operationId).catch(() => undefined);
    expect(op?.status ?? 'gone').to.not.equal('Running');
    expect(await status(pa, name)).to.equal('Running');
    await (await pa.instances.setState(name, { action: 'stop', force: true })).wait();
    await (await pa.instances.delete(name)).wait();
  });

  it('images.export: a split image gives its metadata then its rootfs, a unified image one file; each hashes to the fingerprint; nothing is replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), `${PREFIX}export-`));
    try {
      const split = (await lxd.images.getAlias(TEST_IMAGE_ALIAS)).value.target;
      const { files } = await lxd.images.export(split, dir);
      expect(files.map((f) => f.part)).to.deep.equal(['metadata', 'rootfs']);
      const hash = createHash('sha256');
      for (const f of files) hash.update(await readFile(f.path));
      expect(hash.digest('hex')).to.equal(split);
      const unified = (await lxd.images.getAlias(UNIFIED_ALIAS)).value.target;
      const one = await lxd.images.export(unified, dir);
      expect(one.files.map((f) => f.part)).to.deep.equal(['unified']);
      expect(createHash('sha256').update(await readFile(one.files[0]!.path)).digest('hex')).to.equal(unified);
      // a second export into the same directory replaces nothing and leaves no temporary file
      await writeFile(one.files[0]!.path, 'mine');
      expect(await lxd.images.export(unified, dir).catch((e: unknown) => e)).to.be.instanceOf(LxdLocalFileError);
      expect(await readFile(one.files[0]!.path, 'utf8')).to.equal('mine');
      expect((await readdir(dir)).sort()).to.deep.equal([...files, ...one.files].map((f) => f.path.slice(dir.length + 1)).sort());
      expect(await lxd.images.export(unified, join(dir, 'missing')).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('images.publish from an instance and from a snapshot, with aliases and properties; secret; refresh', async () => {
    const name = `${PREFIX}${run}-pub`;
    await launch(pa, name);
    await (await pa.instances.snapshots.create(name, { name: 'snap0' })).wait();
    const alias = `${PREFIX}${run}-img`;
    const done = await (await pa.images.publish({ source: { type: 'instance', name }, aliases: [alias], properties: { description: `${PREFIX}published` } })).wait({ timeoutMs: 120_000 });
    const fp = done.metadata?.['fingerprint'] as string;
    expect(fp).to.match(/^[0-9a-f]{64}$/);
    const img = (await lxd.images.get(fp)).value;
    expect([img.properties['description'], img.aliases.map((a) => a.name)]).to.deep.equal([`${PREFIX}published`, [alias]]);
    const fromSnap = await (await pa.images.publish({ source: { type: 'snapshot', name: `${name}/snap0` }, aliases: [`${alias}-snap`] })).wait({ timeoutMs: 120_000 });
    const fp2 = fromSnap.metadata?.['fingerprint'] as string;
    expect((await lxd.images.getAlias(`${alias}-snap`)).value.target).to.equal(fp2);
    expect(await pa.images.publish({ source: { type: 'snapshot', name } }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);

    const { secret, operationId } = await lxd.images.secret(fp);
    expect(secret).to.match(/^[0-9a-f]{16,}$/);
    expect((await lxd.operations.list()).map((o) => o.id)).to.include(operationId);
    await lxd.operations.cancel(operationId);

    // a published image has no image server to look for a newer version on: both servers say so
    const refreshed = await (await lxd.images.refresh(fp)).wait({ timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(refreshed).to.be.instanceOf(LxdOperationError);
    expect((refreshed as LxdOperationError).message).to.match(/Image source not found/);

    for (const f of [fp, fp2]) await (await lxd.images.delete(f)).wait();
    await (await pa.instances.delete(name)).wait();
  });
});
