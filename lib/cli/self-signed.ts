/**
 * A client certificate made with node:crypto alone: an ECDSA P-384 key (as `lxc` and `incus` make
 * theirs) and a self-signed X.509 v3 certificate for TLS client authentication. node:crypto makes and
 * signs but has no certificate builder, so the certificate's DER is written here (a dozen ASN.1 types)
 * and signed with `crypto.sign`; the result is parsed back and its signature verified before use.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A positive INTEGER from big-endian bytes. */
function uint(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return tlv(0x02, (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_WITH_SHA384 = seq(oid('1.2.840.10045.4.3.3'));

export interface SelfSignedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/**
 * A new ECDSA P-384 key and a certificate for it, self-signed, valid from a day ago for `days`
 * (default ten years, as `lxc` makes its client certificate), for TLS client and server authentication.
 */
export function makeSelfSignedCertificate(commonName: string, opts: { days?: number; now?: Date } = {}): SelfSignedCertificate {
  const now = opts.now ?? new Date();
  const days = opts.days ?? 3650;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const name = seq(set(seq(oid('2.5.4.10'), utf8('lxdkit'))), set(seq(oid('2.5.4.3'), utf8(commonName.slice(0, 64) || 'lxdkit'))));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const extensions = seq(
    // basicConstraints (critical): not a CA
    seq(oid('2.5.29.19'), bool(true), octets(seq())),
    // keyUsage (critical): digitalSignature
    seq(oid('2.5.29.15'), bool(true), octets(tlv(0x03, Buffer.from([0x07, 0x80])))),
    // extKeyUsage: clientAuth, serverAuth
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.2'), oid('1.3.6.1.5.5.7.3.1')))),
  );
  const tbs = seq(
    tlv(0xa0, uint(Buffer.from([2]))), // v3
    uint(serial),
    ECDSA_WITH_SHA384,
    name,
    seq(time(new Date(now.getTime() - 86_400_000)), time(new Date(now.getTime() + days * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, extensions),
  );
  const signature = sign('sha384', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, ECDSA_WITH_SHA384, tlv(0x03, Buffer.from([0]), signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  const x509 = new X509Certificate(cert);
  if (!x509.verify(publicKey)) throw new Error('the new client certificate does not verify with its own key');
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
