import { X509Certificate, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdConnectionError, LxdForbiddenError, type LxdEvent } from '../../../lib/lxd/index.js';
import { hostArch } from '../../../lib/container/arch.js';
import { Namespace } from '../../../lib/container/namespace.js';
import { ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { startConnectProxy } from '../../helpers/connect-proxy.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { makeCert, useHttpsListener } from '../../helpers/tls-test.js';

const PREFIX = 'lxdkit-spec-rm-';
/** Models of this spec end in this, so a killed run's containers (juju-ad0e7e-*) are found again. */
const MODEL_TAIL = 'ad0e7e';
/** Series aliases of this spec: juju/rmspec<hex>/<arch>. */
const SERIES_ALIAS = /^juju\/rmspec[0-9a-f]{6}\//;



describeEachServer('LxdClient against a remote server over HTTPS on 127.0.0.1', (server) => {
  const TEST_BRIDGE = server.bridge;
  let local: LxdClient;
  let dir: string;
  let url: string;
  let serverCert: string;
  let trusted: { cert: string; key: string };
  let release: () => Promise<void> = async () => {};
  let fingerprint: string | undefined;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    local = await requireServer(this, server);
    await removeLeftovers(local, PREFIX);
    for (const c of await local.certificates.list()) if (c.name.startsWith(PREFIX)) await local.certificates.delete(c.fingerprint);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-remote-'));
    trusted = makeCert(dir, run);
    const { value } = await local.server.get();
    serverCert = value.environment?.certificate ?? '';
    ({ url, release } = await useHttpsListener(local));
    await local.certificates.add({ certificate: trusted.cert, name: run });
    await removeLeftovers(local, `juju-${MODEL_TAIL}-`);
    for (const al of await local.images.listAliases()) if (SERIES_ALIAS.test(al.name)) await local.images.deleteAlias(al.name);
    fingerprint = new X509Certificate(trusted.cert).fingerprint256.replace(/:/g, '').toLowerCase();
  });

  after(async function () {
    if (!local) return;
    await removeLeftovers(local, run).catch(() => {});
    await removeLeftovers(local, `juju-${MODEL_TAIL}-`).catch(() => {});
    for (const al of await local.images.listAliases().catch(() => [])) if (SERIES_ALIAS.test(al.name)) await local.images.deleteAlias(al.name).catch(() => {});
    if (fingerprint) await local.certificates.delete(fingerprint).catch(() => {});
    await release();
    await local.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is trusted with the client certificate and the pinned server certificate', async function () {
    const remote = new LxdClient({ url, tls: { ...trusted, serverCert } });
    try {
      const { value } = await remote.server.get();
      expect(value.auth).to.equal('trusted');
      expect(await remote.serverKind(), 'which server it is, by its own word, over HTTPS too').to.equal(server.kind);
      expect(value.environment?.certificate).to.equal(serverCert);
    } finally {
      await remote.close();
    }
  });

  it('runs operations and receives events over wss', async function () {
    const remote = new LxdClient({ url, tls: { ...trusted, serverCert } });
    const name = `${run}-c`;
    const sub = remote.events.subscribe({ types: ['lifecycle'] });
    try {
      await sub.ready;
      const created = new Promise<Extract<LxdEvent, { type: 'lifecycle' }>>((resolve) => {
        sub.on('event', (e: LxdEvent) => {
          if (e.type === 'lifecycle' && e.metadata.action === 'instance-created' && e.metadata.source === `/1.0/instances/${name}`) resolve(e);
        });
      });
      const op = await (await remote.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
      expect(op.status_code).to.equal(200);
      expect((await created).metadata.action).to.equal('instance-created');
      await (await remote.instances.delete(name)).wait({ timeoutMs: 60_000 });
      expect(await remote.instances.list({ recursion: 0 })).to.not.include(name);
    } finally {
      sub.close();
      await remote.close();
    }
  });

  it('goes through an HTTPS proxy (CONNECT) named by HTTPS_PROXY: requests, an operation and events, TLS pinned end to end', async function () {
    // lxd.test resolves only through the proxy, so a call that did not go through it could not succeed;
    // nock (loaded by other specs of the suite) wraps node:https sockets and breaks the tunnel's upgrade
    const resumeNock = pauseNock();
    const proxy = await startConnectProxy({ hosts: { 'lxd.test': '127.0.0.1' } });
    const port = new URL(url).port;
    const remote = new LxdClient({ url: `https://lxd.test:${port}`, tls: { ...trusted, serverCert }, proxyEnv: { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' } });
    const name = `${run}-px`;
    const sub = remote.events.subscribe({ types: ['lifecycle'] });
    try {
      await sub.ready;
      const created = new Promise<void>((resolve) => {
        sub.on('event', (e: LxdEvent) => {
          if (e.type === 'lifecycle' && e.metadata.action === 'instance-created' && e.metadata.source === `/1.0/instances/${name}`) resolve();
        });
      });
      expect((await remote.server.get()).value.auth).to.equal('trusted');
      await (await remote.instances.create({ name, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
      await created;
      await (await remote.instances.delete(name)).wait({ timeoutMs: 60_000 });
      expect(proxy.requests.length).to.be.greaterThanOrEqual(2);
      expect(new Set(proxy.requests)).to.deep.equal(new Set([`CONNECT lxd.test:${port} HTTP/1.1`]));
    } finally {
      sub.close();
      await remote.close();
      await proxy.close();
      resumeNock();
    }
  });

  it('refuses a server whose certificate is not the pinned one', async function () {
    const other = makeCert(dir, `${run}-other`);
    const remote = new LxdClient({ url, tls: { ...trusted, serverCert: other.cert } });
    try {
      const err = await remote.server.get().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect((err as Error).message).to.contain(url);
    } finally {
      await remote.close();
    }
  });

  it('is untrusted with an unknown client certificate: instance calls are forbidden', async function () {
    const stranger = makeCert(dir, `${run}-stranger`);
    const remote = new LxdClient({ url, tls: { ...stranger, serverCert } });
    try {
      expect((await remote.server.get()).value.auth).to.equal('untrusted');
      const err = await remote.instances.list().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdForbiddenError);
    } finally {
      await remote.close();
    }
  });

  it('the lxdkit command works the remote: status, a model\'s container created, listed and destroyed; a wrong pin exits 6', async function () {
    this.timeout(180_000);
    ensureBuilt();
    const files = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key'), server: join(dir, 'server.crt'), wrong: join(dir, 'wrong.crt') };
    writeFileSync(files.cert, trusted.cert);
    writeFileSync(files.key, trusted.key, { mode: 0o600 });
    writeFileSync(files.server, serverCert);
    writeFileSync(files.wrong, makeCert(dir, `${run}-wrong`).cert);
    const remote = ['--remote', url, '--client-cert', files.cert, '--client-key', files.key, '--server-cert', files.server];
    // no socket: whatever the command does goes over HTTPS
    const env = { LXD_SOCKET: join(dir, 'no-such.socket') };

    const status = await lxdkit([...remote, 'status', '--json'], undefined, env);
    expect(status.code, status.stderr).to.equal(0);
    const s = JSON.parse(status.stdout) as { endpoint: string; server: { kind: string; apiVersion: string; auth?: string }; pools: { name: string }[] };
    expect([s.endpoint, s.server.kind]).to.deep.equal([url, server.kind]);
    expect(s.server.apiVersion).to.equal('1.0');
    expect(s.pools.map((p) => p.name)).to.include('default');

    const series = `rmspec${uniqueSuffix()}`;
    const { value: img } = await local.images.getAlias(TEST_IMAGE_ALIAS);
    await local.images.createAlias({ name: `juju/${series}/${hostArch()}`, target: img.target });
    const model = `${randomUUID().slice(0, -MODEL_TAIL.length)}${MODEL_TAIL}`;
    const name = new Namespace(model).hostname('0');
    const created = await lxdkit([...remote, 'container', 'create', '--model', model, '--machine', '0', '--series', series, '--bridge', TEST_BRIDGE, '--json'], undefined, env);
    expect(created.code, created.stderr).to.equal(0);
    expect(JSON.parse(created.stdout)).to.deep.include({ name, model, kind: 'lxd' });
    expect((await local.instances.get(name)).value.status).to.equal('Running');

    const listed = await lxdkit([...remote, 'container', 'list', '--model', model, '--json'], undefined, env);
    expect(listed.code, listed.stderr).to.equal(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((r) => r.name)).to.deep.equal([name]);

    const destroyed = await lxdkit([...remote, 'container', 'destroy', name], undefined, env);
    expect(destroyed.code, destroyed.stderr).to.equal(0);
    expect(await local.instances.list({ recursion: 0 })).to.not.include(name);

    const pinned = await lxdkit(['--remote', url, '--client-cert', files.cert, '--client-key', files.key, '--server-cert', files.wrong, 'status'], undefined, env);
    expect(pinned.code).to.equal(6);
    expect(pinned.stderr).to.contain(url);
  });
});
