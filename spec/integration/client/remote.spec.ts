import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdConnectionError, LxdForbiddenError, type LxdEvent } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';

const PREFIX = 'lxdkit-spec-rm-';

function makeCert(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

describe('LxdClient against a remote LXD over HTTPS on 127.0.0.1', function () {
  let local: LxdClient;
  let dir: string;
  let url: string;
  let serverCert: string;
  let trusted: { cert: string; key: string };
  let previousAddress: string | undefined;
  let fingerprint: string | undefined;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    local = await requireLxd(this);
    await removeLeftovers(local, PREFIX);
    for (const c of await local.certificates.list()) if (c.name.startsWith(PREFIX)) await local.certificates.delete(c.fingerprint);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-remote-'));
    trusted = makeCert(dir, run);
    const { value } = await local.server.get();
    previousAddress = typeof value.config['core.https_address'] === 'string' ? value.config['core.https_address'] : undefined;
    serverCert = value.environment?.certificate ?? '';
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    await local.server.patch({ config: { 'core.https_address': `127.0.0.1:${port}` } });
    await local.certificates.add({ certificate: trusted.cert, name: run });
    fingerprint = new X509Certificate(trusted.cert).fingerprint256.replace(/:/g, '').toLowerCase();
  });

  after(async function () {
    if (!local) return;
    await removeLeftovers(local, run).catch(() => {});
    if (fingerprint) await local.certificates.delete(fingerprint).catch(() => {});
    await local.server.patch({ config: { 'core.https_address': previousAddress ?? '' } });
    await local.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is trusted with the client certificate and the pinned server certificate', async function () {
    const remote = new LxdClient({ url, tls: { ...trusted, serverCert } });
    try {
      const { value } = await remote.server.get();
      expect(value.auth).to.equal('trusted');
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
});
