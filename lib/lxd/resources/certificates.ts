import { z } from 'zod';
import { lxdPath } from '../path.js';
import { validateBody, validateSegment } from '../validate.js';
import { Api, type CallOptions } from './base.js';

export const CertificateSchema = z.looseObject({
  fingerprint: z.string(),
  name: z.string().default(''),
  type: z.string().default('client'),
  restricted: z.boolean().default(false),
  projects: z.array(z.string()).nullish(),
  certificate: z.string().optional(),
});
export type LxdCertificate = z.infer<typeof CertificateSchema>;

export const CertificatesPostSchema = z.strictObject({
  /** PEM certificate (the base64 DER body is accepted too). */
  certificate: z.string().min(1, 'a PEM certificate is required'),
  name: z.string().optional(),
  type: z.enum(['client', 'metrics']).default('client'),
  restricted: z.boolean().optional(),
  projects: z.array(z.string()).optional(),
  password: z.string().optional(),
});
export type CertificatesPost = z.input<typeof CertificatesPostSchema>;

function derBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** `/1.0/certificates`: the client certificates a remote LXD trusts. */
export class CertificatesResource {
  constructor(private readonly api: Api) {}

  async list(opts: CallOptions = {}): Promise<LxdCertificate[]> {
    return (await this.api.sync('GET', '/1.0/certificates', z.array(CertificateSchema), { ...opts, query: { recursion: 1 }, noProject: true })).value;
  }

  /** Trusts a client certificate (LXD wants the base64 DER body; PEM is converted). */
  async add(body: CertificatesPost, opts: CallOptions = {}): Promise<void> {
    const b = validateBody(CertificatesPostSchema, body, 'certificate');
    await this.api.call('POST', '/1.0/certificates', { ...opts, noProject: true, body: { ...b, certificate: derBase64(b.certificate) } });
  }

  async delete(fingerprint: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(fingerprint, 'certificate fingerprint');
    await this.api.call('DELETE', lxdPath`/1.0/certificates/${fingerprint}`, { ...opts, noProject: true });
  }
}
