import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Agent } from 'undici';
import {
  LxdApiError,
  LxdClient,
  LxdConflictError,
  LxdConnectionError,
  LxdNotFoundError,
  LxdOperationError,
  LxdPreconditionFailedError,
  LxdValidationError,
  type LxdEvent,
  type OperationProgress,
} from '../../../lib/lxd/index.js';
import { IMAGE_DIR, TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-cl-';

describeEachServer('LxdClient against the real daemon', (server) => {
  let lxd: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeLeftovers(lxd, PREFIX);
  });

  after(async function () {
    if (lxd) {
      await removeLeftovers(lxd, run);
      await lxd.close();
    }
  });

  it('reads the server with its ETag and extensions, and knows which server it is by the server\'s own word', async function () {
    const { value, etag } = await lxd.server.get();
    expect(value.environment?.server).to.equal(server.kind);
    expect(await lxd.serverKind()).to.equal(server.kind);
    expect(value.api_version).to.equal('1.0');
    expect(value.auth).to.equal('trusted');
    expect(etag).to.match(/^"[0-9a-f]{64}"$/);
    expect(await lxd.server.hasExtension('instances')).to.equal(true);
    expect(await lxd.server.hasExtension('no_such_extension_anywhere')).to.equal(false);
  });

  for (const useEvents of [true, false]) {
    it(`creates, starts, stops and deletes a busybox container through Operation.wait (${useEvents ? 'events' : '/wait'})`, async function () {
      const client = new LxdClient({ socketPath: server.socket, useEvents });
      const name = `${run}-${useEvents ? 'ev' : 'wt'}`;
      try {
        const progress: OperationProgress[] = [];
        const created = await (await client.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, profiles: ['default'] })).wait({ timeoutMs: 120_000, onProgress: (p) => progress.push(p) });
        expect(created.status_code).to.equal(200);
        expect(created.resources?.['instances']).to.deep.equal([`/1.0/instances/${name}`]);
        if (useEvents) expect(progress.length, 'unpack progress arrives through events').to.be.greaterThan(0);

        const { value: inst, etag } = await client.instances.get(name);
        expect(inst.status).to.equal('Stopped');
        expect(etag).to.match(/^"[0-9a-f]{64}"$/);

        await (await client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });
        const running = await client.instances.state(name);
        expect(running.value.status_code).to.equal(103);
        expect(running.value.pid).to.be.greaterThan(0);

        await (await client.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 });
        expect((await client.instances.state(name)).value.status).to.equal('Stopped');

        await (await client.instances.delete(name)).wait({ timeoutMs: 60_000 });
        const err = await client.instances.get(name).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(LxdNotFoundError);
        expect((err as LxdNotFoundError).status).to.equal(404);
      } finally {
        await client.close();
      }
    });
  }

  it('receives a lifecycle event for an instance it created', async function () {
    const name = `${run}-evt`;
    const sub = lxd.events.subscribe({ types: ['lifecycle'] });
    try {
      await sub.ready;
      const got = new Promise<LxdEvent>((resolve) => {
        sub.on('event', (e: LxdEvent) => {
          if (e.type === 'lifecycle' && e.metadata.action === 'instance-created' && e.metadata.source === `/1.0/instances/${name}`) resolve(e);
        });
      });
      await (await lxd.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
      const event = await got;
      expect(event.type).to.equal('lifecycle');
      expect(Date.parse(event.timestamp)).to.be.greaterThan(0);
    } finally {
      sub.close();
      await (await lxd.instances.delete(name)).wait().catch(() => {});
    }
  });

  it('lists instances with recursion 0, 1 and 2 and a filter', async function () {
    const name = `${run}-ls`;
    await (await lxd.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
    try {
      expect(await lxd.instances.list({ recursion: 0 })).to.include(name);
      const objs = await lxd.instances.list();
      expect(objs.find((i) => i.name === name)?.status).to.equal('Stopped');
      const full = await lxd.instances.list({ recursion: 2, filter: `name eq ${name}` });
      expect(full.map((i) => i.name)).to.deep.equal([name]);
      expect(full[0]?.state?.status).to.equal('Stopped');
    } finally {
      await (await lxd.instances.delete(name)).wait();
    }
  });

  it('rejects a profile update with a stale ETag (412) and leaves the profile unchanged', async function () {
    const name = `${run}-etag`;
    await lxd.profiles.create({ name, config: { 'user.a': '1' } });
    try {
      const first = await lxd.profiles.get(name);
      await lxd.profiles.update(name, { config: { 'user.a': '2' } }, { etag: first.etag! });
      const err = await lxd.profiles.update(name, { config: { 'user.a': '3' } }, { etag: first.etag! }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdPreconditionFailedError);
      expect((err as LxdPreconditionFailedError).status).to.equal(412);
      expect((err as LxdPreconditionFailedError).code).to.equal('LXD_ERR_ETAG_MISMATCH');
      expect((await lxd.profiles.get(name)).value.config).to.deep.equal({ 'user.a': '2' });
    } finally {
      await lxd.profiles.delete(name);
    }
  });

  it('reports a duplicate profile as a conflict (LXD and Incus answer 500 "already exists")', async function () {
    const name = `${run}-dup`;
    await lxd.profiles.create({ name });
    try {
      const err = await lxd.profiles.create({ name }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdConflictError);
      expect((err as LxdConflictError).lxdMessage).to.match(/already exists/);
      expect((err as LxdConflictError).status).to.equal(500);
    } finally {
      await lxd.profiles.delete(name);
    }
  });

  it('surfaces a failed operation with LXD\'s own error text', async function () {
    const name = `${run}-fail`;
    await (await lxd.instances.create({
      name,
      source: { type: 'image', alias: TEST_IMAGE_ALIAS },
      devices: { eth0: { type: 'nic', nictype: 'bridged', parent: `nobr${uniqueSuffix(2)}`, name: 'eth0' } },
    })).wait({ timeoutMs: 120_000 });
    try {
      const err = await (await lxd.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      const opErr = err as LxdOperationError;
      expect(opErr.operation.status_code).to.equal(400);
      expect(opErr.message).to.equal(opErr.operation.err);
      expect(opErr.message).to.match(/Failed to start device "eth0"/);
    } finally {
      await (await lxd.instances.delete(name)).wait();
    }
  });

  it('reports a wrong socket path as a connection error that names it', async function () {
    const path = join(tmpdir(), `lxdkit-no-such-${uniqueSuffix()}.socket`);
    const client = new LxdClient({ socketPath: path });
    const err = await client.server.get().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdConnectionError);
    expect((err as LxdConnectionError).code).to.equal('LXD_ERR_CONNECTION');
    expect((err as LxdConnectionError).syscallCode).to.equal('ENOENT');
    expect((err as Error).message).to.contain(path);
    await client.close();
  });

  it('refuses bad input before any I/O', async function () {
    const client = new LxdClient({ socketPath: '/nonexistent/socket' });
    for (const call of [
      () => client.instances.create({ name: '1bad', source: { type: 'image', alias: 'x' } }),
      () => client.instances.setState('ok', { action: 'explode' as 'start' }),
      () => client.profiles.create({ name: 'a/b' }),
      () => client.profiles.create({ name: 'p', config: { 'limits.cpu': 2 as unknown as string } }),
      () => client.networks.create({ name: 'much-too-long-bridge-name' }),
    ]) {
      let err: unknown;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect(err, String(call)).to.be.instanceOf(LxdValidationError);
    }
    await client.close();
  });

  it('imports an image streamed from split tarballs, aliases it and deletes it', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'lxdkit-img-'));
    try {
      // a metadata tarball of our own (unique description) gives a fresh fingerprint
      mkdirSync(join(dir, 'meta'));
      execFileSync('tar', ['-xJf', join(IMAGE_DIR, 'busybox-metadata.tar.xz'), '-C', join(dir, 'meta')]);
      const yaml = readFileSync(join(dir, 'meta', 'metadata.yaml'), 'utf8');
      writeFileSync(join(dir, 'meta', 'metadata.yaml'), `${yaml.trimEnd()}\n# ${run}\n`);
      execFileSync('tar', ['-cJf', join(dir, 'meta.tar.xz'), '-C', join(dir, 'meta'), '.']);
      const alias = `${run}/img`;
      const sent: { sentBytes: number; totalBytes: number }[] = [];
      const files = { metadata: join(dir, 'meta.tar.xz'), rootfs: join(IMAGE_DIR, 'busybox-rootfs.tar.xz') };
      const image = await lxd.images.import(files, {
        aliases: [alias],
        timeoutMs: 120_000,
        onUploadProgress: (p) => {
          sent.push(p);
          if (sent.length === 1) throw new Error('a broken progress callback must not break the upload');
        },
      });
      try {
        // upload progress: rising to the whole body, which is both files plus the multipart framing
        const fileBytes = statSync(files.metadata).size + statSync(files.rootfs).size;
        expect(sent.length).to.be.greaterThan(1);
        const total = sent[0]!.totalBytes;
        expect(total).to.be.greaterThan(fileBytes).and.lessThan(fileBytes + 1024);
        expect(sent.every((p, i) => p.totalBytes === total && (i === 0 || p.sentBytes > sent[i - 1]!.sentBytes))).to.equal(true);
        expect(sent.at(-1)!.sentBytes).to.equal(total);
        expect(image.fingerprint).to.match(/^[0-9a-f]{64}$/);
        expect(image.aliases.map((a) => a.name)).to.include(alias);
        expect((await lxd.images.getAlias(alias)).value.target).to.equal(image.fingerprint);
      } finally {
        await (await lxd.images.delete(image.fingerprint)).wait();
      }
      expect(await lxd.images.getAlias(alias).catch((e: unknown) => e)).to.be.instanceOf(LxdNotFoundError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uploads a multi-MiB unified image intact, through its own agent and through a caller\'s dispatcher', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'lxdkit-img-'));
    const agent = new Agent({ connect: { socketPath: lxd.endpoint } });
    const other = new LxdClient({ socketPath: server.socket, dispatcher: agent });
    try {
      // an uncompressed tarball of 3 MiB of random bytes: a dozen 256 KiB chunks, so the upload's
      // ring of buffers comes round several times
      mkdirSync(join(dir, 'rootfs'));
      writeFileSync(join(dir, 'metadata.yaml'), `architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: ${run}-unified\n`);
      for (const [i, client] of [lxd, other].entries()) {
        writeFileSync(join(dir, 'rootfs', 'blob'), randomBytes(3 * 1024 * 1024 + i));
        execFileSync('tar', ['-cf', join(dir, 'image.tar'), '-C', dir, 'metadata.yaml', 'rootfs']);
        const tarball = readFileSync(join(dir, 'image.tar'));
        const want = createHash('sha256').update(tarball).digest('hex');
        const sent: { sentBytes: number; totalBytes: number }[] = [];
        const image = await client.images.import({ unified: join(dir, 'image.tar') }, { aliases: [`${run}/unified-${i}`], timeoutMs: 120_000, onUploadProgress: (p) => sent.push(p) });
        try {
          expect(image.fingerprint, 'LXD hashed the bytes it received').to.equal(want);
          expect(sent.at(-1)).to.deep.equal({ sentBytes: tarball.length, totalBytes: tarball.length });
          expect(sent.length).to.equal(Math.ceil(tarball.length / (256 * 1024)));
        } finally {
          await (await client.images.delete(image.fingerprint)).wait();
        }
      }
    } finally {
      await other.close();
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the raw status, LXD error code and request in API errors', async function () {
    const err = await lxd.profiles.get(`${run}-missing`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdApiError);
    const e = err as LxdApiError;
    expect([e.status, e.errorCode, e.method, e.path]).to.deep.equal([404, 404, 'GET', `/1.0/profiles/${run}-missing`]);
  });
});
