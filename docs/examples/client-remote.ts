/**
 * Connecting (docs/client.md): the local socket, per-project clients, and a remote LXD over HTTPS
 * with a client certificate and a pinned server certificate. The "remote" is this host's LXD,
 * listening for the example on 127.0.0.1 at a free port; a fresh client certificate (openssl) is
 * trusted for the run. Afterwards the server's `core.https_address` is restored and the certificate
 * removed. Needs a running LXD and openssl.
 * Run: npx tsx docs/examples/client-remote.ts
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxdClient } from 'lxdkit';

const lxd = new LxdClient();                       // local socket, found on first use
const p = new LxdClient({ project: 'staging' });   // every call carries ?project=staging
const q = lxd.withProject('other');                // same connections, another project
console.log(`clients for the projects ${lxd.project ?? 'default'}, ${p.project}, ${q.project}: nothing was sent yet`);
await p.close();

/** A TCP port that is free on 127.0.0.1 right now. */
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

// The set-up a real remote would already have: a listening address, a client certificate, the server's certificate.
const name = `lxdkit-example-remote-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'lxdkit-example-remote-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-nodes', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.crt'), '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
const { value: local } = await lxd.server.get();
writeFileSync(join(dir, 'server.crt'), local.environment?.certificate ?? '');
// Reuse a listener that 127.0.0.1 reaches; otherwise listen on a free port for the run, and restore it afterwards.
const previousAddress = typeof local.config['core.https_address'] === 'string' ? local.config['core.https_address'] : '';
const reusable = /^(127\.0\.0\.1|0\.0\.0\.0|\[::\]|)?:(\d+)$/.exec(previousAddress);
const port = reusable ? Number(reusable[2]) : await freePort();
const url = `https://127.0.0.1:${port}`;
if (!reusable) await lxd.server.patch({ config: { 'core.https_address': `127.0.0.1:${port}` } });
const fingerprint = new X509Certificate(readFileSync(join(dir, 'client.crt'))).fingerprint256.replace(/:/g, '').toLowerCase();
try {
  // Trust the client certificate, from a client the server already trusts (or: lxc config trust add client.crt).
  await lxd.certificates.add({ certificate: readFileSync(join(dir, 'client.crt'), 'utf8'), name });
  const remote = new LxdClient({
    url,                                           // e.g. https://10.0.0.5:8443
    tls: { cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')), serverCert: readFileSync(join(dir, 'server.crt')) },
  });
  const { value: server } = await remote.server.get();
  console.log(`${url}: auth ${server.auth}, LXD ${server.environment?.server_version}`); // auth trusted
  console.log(`${(await remote.instances.list({ recursion: 0 })).length} instances seen over HTTPS`);
  await remote.close();
} finally {
  await lxd.certificates.delete(fingerprint).catch(() => {});
  if (!reusable) await lxd.server.patch({ config: { 'core.https_address': previousAddress } });
  rmSync(dir, { recursive: true, force: true });
  await lxd.close();
}
