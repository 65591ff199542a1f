/**
 * The checks on a remote's URL and TLS options, made before any I/O by `new LxdClient()` and by the
 * CLI's `--remote`. A remote is reached over HTTPS and authenticated by client certificate only:
 * a user name or password in the URL is refused, and never repeated in a message.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { LxdValidationError } from './errors.js';
import type { TlsOptions } from './transport.js';

/**
 * `text` with the user information of a URL (`user:password@`) replaced by `***@`, for messages.
 * It works on text that is not a valid URL too: the authority is what follows the scheme and any
 * slashes or backslashes (as WHATWG URL parsing reads `https:user@host` and `https:\\user@host`),
 * up to the first `/`, `\`, `?` or `#`; its user information runs to its last `@`.
 */
export function redactUrlUserInfo(text: string): string {
  return text.replace(/^([^:/?#@]*:[/\\]*)[^/\\?#]*@/, '$1***@');
}

/**
 * Parses and checks a remote URL: an absolute `https://` URL without user information. Throws
 * `LxdValidationError` (field `field`) whose message never holds a user name or password.
 */
export function checkRemoteUrl(url: unknown, field = 'url'): URL {
  if (typeof url !== 'string' || url === '') throw new LxdValidationError(field, 'give the remote as a URL, e.g. https://10.0.0.5:8443');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LxdValidationError(field, `"${redactUrlUserInfo(url)}" is not a URL; give e.g. https://10.0.0.5:8443`);
  }
  if (u.username !== '' || u.password !== '' || /^[^:/?#@]*:[/\\]*[^/\\?#]*@/.test(url)) {
    throw new LxdValidationError(
      field,
      `"${redactUrlUserInfo(url)}" holds a user name or password: a remote authenticates with a client certificate (tls.cert and tls.key, or --client-cert and --client-key), never with a password in its URL; remove the "user:password@" part`,
    );
  }
  // LXD only speaks HTTPS to remotes, and credentials must never cross the network in clear.
  if (u.protocol !== 'https:') throw new LxdValidationError(field, `"${url}" must be an https:// URL: lxdkit speaks only HTTPS to a remote LXD`);
  return u;
}

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' || Buffer.isBuffer(value)) && value.length > 0;
}

function checkCertificate(value: unknown, field: string): void {
  if (!isPem(value)) throw new LxdValidationError(field, 'give a PEM certificate (a string or a Buffer)');
  try {
    new X509Certificate(value);
  } catch {
    throw new LxdValidationError(field, 'is not a PEM certificate ("-----BEGIN CERTIFICATE-----")');
  }
}

/**
 * Checks a remote's TLS options before any I/O: the client certificate and key, the pinned server
 * certificate and the CAs must each parse. The key is never quoted in a message.
 */
export function checkTlsOptions(tls: unknown, field = 'tls'): asserts tls is TlsOptions {
  if (typeof tls !== 'object' || tls === null) throw new LxdValidationError(field, 'give { cert, key, serverCert?, ca? } (PEM)');
  const t = tls as Record<string, unknown>;
  checkCertificate(t['cert'], `${field}.cert`);
  if (!isPem(t['key'])) throw new LxdValidationError(`${field}.key`, 'give the PEM private key of the client certificate (a string or a Buffer)');
  try {
    createPrivateKey(t['key']);
  } catch {
    throw new LxdValidationError(`${field}.key`, 'is not an unencrypted PEM private key ("-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----")');
  }
  if (t['serverCert'] !== undefined) checkCertificate(t['serverCert'], `${field}.serverCert`);
  if (t['ca'] !== undefined) {
    const cas: unknown[] = Array.isArray(t['ca']) ? t['ca'] : [t['ca']];
    if (cas.length === 0) throw new LxdValidationError(`${field}.ca`, 'is empty: give at least one PEM CA certificate, or leave ca out');
    cas.forEach((ca, i) => checkCertificate(ca, Array.isArray(t['ca']) ? `${field}.ca[${i}]` : `${field}.ca`));
  }
}
