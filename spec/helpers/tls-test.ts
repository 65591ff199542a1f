/**
 * TLS odds and ends of the remote specs: throwaway certificates and CAs (openssl), a free port on
 * 127.0.0.1, a listener that hangs up at once (it counts the connection attempts), a server's HTTPS
 * listener by the specs' rule, and the clean-up of certificates and trust tokens.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { LxdClient } from '../../lib/lxd/index.js';
import { removeLeftovers } from './lxd-env.js';

export interface TestCert {
  cert: string;
  key: string;
  /** SHA-256 of the certificate, lower-case hex without colons (as LXD names certificates). */
  fingerprint: string;
}

/** A self-signed EC certificate and its key for `cn`, written into `dir` and read back. */
export function makeCert(dir: string, cn: string, curve: 'prime256v1' | 'secp384r1' = 'secp384r1'): TestCert {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore', timeout: 30_000 });
  const pem = readFileSync(cert, 'utf8');
  return { cert: pem, key: readFileSync(key, 'utf8'), fingerprint: new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase() };
}

/** A certificate and key made by `makeSelfSigned` or `makeSigned`, as text and as the files in their directory. */
export interface TestPem {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** As `X509Certificate.fingerprint256` gives it (upper-case hex with colons). */
  fingerprint: string;
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 30_000 });
};

function readPem(dir: string, name: string): TestPem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), certFile, keyFile, fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** A self-signed P-256 certificate valid one day (a CA, or a server's own as LXD makes them), `san` its subjectAltName. */
export function makeSelfSigned(dir: string, name: string, san?: string): TestPem {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, ...(san ? ['-addext', `subjectAltName=${san}`] : []), '-keyout', `${name}.key`, '-out', `${name}.crt`]);
  return readPem(dir, name);
}

/** A P-256 certificate signed by `ca`, valid one day, with `san` as its subjectAltName. */
export function makeSigned(dir: string, name: string, ca: TestPem, san: string): TestPem {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  return readPem(dir, name);
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A listener on 127.0.0.1 that hangs up at once: a connection attempt is seen (and counted), and fails fast. */
export async function startHangUpListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The HTTPS listener of a spec (the rule every spec follows, since others use the listener at the same
 * time): a `core.https_address` already on 127.0.0.1 is used as it is and left alone; otherwise the
 * server listens on a free 127.0.0.1 port, and `release()` puts the previous value back.
 */
export async function useHttpsListener(lxd: LxdClient): Promise<{ url: string; release: () => Promise<void> }> {
  const { value } = await lxd.server.get();
  const previous = typeof value.config['core.https_address'] === 'string' ? value.config['core.https_address'] : '';
  if (/^127\.0\.0\.1:\d+$/.test(previous)) return { url: `https://${previous}`, release: async () => {} };
  const address = `127.0.0.1:${await freePort()}`;
  await lxd.server.patch({ config: { 'core.https_address': address } });
  return { url: `https://${address}`, release: () => lxd.server.patch({ config: { 'core.https_address': previous } }).then(() => undefined) };
}

/** Removes the instances, certificates and pending trust tokens whose names start with `prefix`. */
export async function removeCertificateLeftovers(lxd: LxdClient, prefix: string): Promise<void> {
  await removeLeftovers(lxd, prefix);
  for (const c of await lxd.certificates.list()) if (c.name.startsWith(prefix)) await lxd.certificates.delete(c.fingerprint);
  for (const t of await lxd.certificates.listTokens()) if (t.name.startsWith(prefix)) await lxd.certificates.revokeToken(t.name).catch(() => {});
}
