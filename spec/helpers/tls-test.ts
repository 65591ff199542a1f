/**
 * TLS odds and ends of the remote specs: throwaway client certificates (openssl), a free port on
 * 127.0.0.1, and a listener that hangs up at once (it counts the connection attempts).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

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
