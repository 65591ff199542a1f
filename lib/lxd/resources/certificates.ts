/**
 * `/1.0/certificates`: the certificates a server trusts, declared (list, get with its ETag, update,
 * patch, delete), and the hand-written verbs: `add` (trust a certificate, or redeem a trust token) and
 * the trust tokens (`createToken`, `listTokens`, `revokeToken`).
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { LxdNotFoundError, LxdResponseValidationError, LxdValidationError } from '../errors.js';
import { lxdPath } from '../path.js';
import { CollectionCore, type CollectionDecl, type ListOptions } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import { OperationListSchema, OperationSchema, type OperationData } from '../schemas.js';
import { validateBody, validateSegment } from '../validate.js';
import { requireExtension, type Api, type CallOptions, type EtagOptions, type WithEtag } from './base.js';

/** Loose schema of a trusted certificate (`GET /1.0/certificates/{fingerprint}`). */
export const CertificateSchema = lazySchema(() => z.looseObject({
  fingerprint: z.string(),
  name: z.string().default(''),
  type: z.string().default('client'),
  restricted: z.boolean().default(false),
  projects: z.array(z.string()).nullish(),
  certificate: z.string().optional(),
  /** Incus (`certificate_description`). */
  description: z.string().optional(),
}));
/** A trusted certificate (loose: unknown fields kept). */
export type LxdCertificate = Closed<z.infer<typeof CertificateSchema>>;

const CertificateType = lazySchema(() => z.enum(['client', 'metrics'], { error: 'the type must be "client" or "metrics"' }));

/**
 * Strict schema of the body of `POST /1.0/certificates`: a PEM certificate to trust, or a token (or LXD 5.0 trust password) to redeem.
 */
export const CertificatesPostSchema = lazySchema(() => z
  .strictObject({
    /** PEM certificate (the base64 DER body is accepted too). Left out when redeeming a token or a password over HTTPS: the server trusts the client's own TLS certificate. */
    certificate: z.string().min(1, 'a PEM certificate is required').optional(),
    name: z.string().optional(),
    type: CertificateType.default('client'),
    restricted: z.boolean().optional(),
    projects: z.array(z.string()).optional(),
    /** Incus only (extension `certificate_description`). */
    description: z.string().optional(),
    /** LXD 5.0's trust password (`core.trust_password`). Incus has none: use a trust token. */
    password: z.string().min(1).optional(),
    /**
     * A trust token (`certificates.createToken()` on the server, or `lxc config trust add`), redeemed
     * by a client the server does not trust yet: sent as LXD 5.0 reads it (`password`) or as Incus and
     * newer LXD read it (`trust_token`).
     */
    token: z.string().min(1).optional(),
  })
  .refine((b) => b.certificate !== undefined || b.token !== undefined || b.password !== undefined, { message: 'a PEM certificate is required (or a token to redeem)', path: ['certificate'] }));
/** The body of `certificates.add()` (strict: what lxdkit sends), before its defaults (`type` client). */
export type CertificatesPost = z.input<typeof CertificatesPostSchema>;

/** A PEM certificate (`-----BEGIN CERTIFICATE-----`), as PUT and PATCH want it. */
const Pem = lazySchema(() => z.string().refine(
  (s) => {
    if (!/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(s)) return false;
    try {
      new X509Certificate(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'give the certificate as PEM (-----BEGIN CERTIFICATE-----): the servers read PEM here' },
));

/** `PUT /1.0/certificates/{fingerprint}`: replaces the writable fields. */
export const CertificatePutSchema = lazySchema(() => z.strictObject({
  name: z.string(),
  type: CertificateType,
  restricted: z.boolean().optional(),
  projects: z.array(z.string()).optional(),
  certificate: Pem.optional(),
  /** Incus only (extension `certificate_description`). */
  description: z.string().optional(),
}));
/** The body of `PUT /1.0/certificates/{fingerprint}` (strict: what lxdkit sends). */
export type CertificatePut = Closed<z.infer<typeof CertificatePutSchema>>;

/** `PATCH /1.0/certificates/{fingerprint}`: merges the fields given. */
export const CertificatePatchSchema = lazySchema(() => CertificatePutSchema.partial());
/** The body of `PATCH /1.0/certificates/{fingerprint}` (strict: what lxdkit sends). */
export type CertificatePatch = Closed<z.infer<typeof CertificatePatchSchema>>;

/** Fingerprints: the SHA-256 of the certificate, in hex (a prefix of it is accepted by the servers). */
export function validateFingerprint(value: unknown, field = 'certificate fingerprint'): string {
  validateSegment(value, field);
  if (!/^[0-9a-fA-F]+$/.test(value as string)) throw new LxdValidationError(field, `"${String(value)}" is not a certificate fingerprint: give its SHA-256 in hex`);
  return value as string;
}

/** `/1.0/certificates`, declared (`add` and the tokens are written by hand). */
export const CERTIFICATES: CollectionDecl<LxdCertificate, never, CertificatePut, CertificatePatch> = {
  name: 'client.certificates',
  path: '/1.0/certificates',
  itemPath: '/1.0/certificates/{fingerprint}',
  what: 'certificate',
  schema: CertificateSchema,
  put: CertificatePutSchema,
  patch: CertificatePatchSchema,
  verbs: ['list', 'get', 'delete'],
  writes: 'sync-or-operation',
  nameKey: false,
  validateName: validateFingerprint,
  project: false,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/** The metadata of a trust token's operation (`POST /1.0/certificates` with `token: true`). */
const TokenMetadataSchema = lazySchema(() => z.looseObject({
  request: z.looseObject({ name: z.string() }),
  secret: z.string(),
  fingerprint: z.string(),
  addresses: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  expiresAt: z.string().optional(),
}));

/** A trust token: what a new client needs to be trusted (`certificates.add({ token })`). */
export interface CertificateToken {
  /** The name the client's certificate will be trusted as. */
  name: string;
  /** The token as `lxc config trust add` prints it (base64 JSON: name, fingerprint, addresses, secret, expiry). Secret: never log it. */
  token: string;
  /** The addresses the server listens on (`core.https_address`). */
  addresses: string[];
  /** The fingerprint of the server's certificate (the client pins it). */
  fingerprint: string;
  /** When the token expires (`core.remote_token_expiry`), if it does. */
  expiresAt: string | undefined;
  /** The id of the token's operation (revoking the token deletes it). */
  operationId: string;
}

/** Go's zero time, as `time.Time` marshals it: a token that never expires. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function certificateToken(op: OperationData): CertificateToken | undefined {
  // A used or revoked token's operation is listed for a few seconds more, finished; cluster join tokens carry `resources.cluster`.
  if (op.class !== 'token' || op.status_code >= 200 || (op.resources && 'cluster' in op.resources)) return undefined;
  const md = TokenMetadataSchema.safeParse(op.metadata);
  if (!md.success) return undefined;
  const { request, secret, fingerprint, addresses, expiresAt } = md.data;
  return { name: request.name, token: encodeCertificateToken({ name: request.name, fingerprint, addresses, secret, expiresAt }), addresses: [...addresses], fingerprint, expiresAt, operationId: op.id };
}

/** What a trust token carries (`decodeCertificateToken`). */
export interface DecodedCertificateToken {
  /** The name the client's certificate will be trusted as. */
  name: string;
  /** The SHA-256 fingerprint (lower-case hex) of the server's certificate: a client checks the server it reaches against it. */
  fingerprint: string;
  /** The addresses the server listened on when the token was made (`host:port`). */
  addresses: string[];
  /** The secret. Never log it. */
  secret: string;
  /** When the token expires; undefined when it does not. */
  expiresAt: string | undefined;
}

/** The longest token read: a real one is a few hundred bytes. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The JSON inside a token, as the servers' `CertificateAddToken` marshals it. */
const TokenJsonSchema = lazySchema(() => z.looseObject({
  client_name: z.string().min(1).max(256),
  fingerprint: z.string().regex(/^[0-9a-fA-F]{64}$/, 'is not a SHA-256 fingerprint'),
  addresses: z
    .array(z.string().max(300))
    .max(64)
    .nullish()
    .transform((v) => v ?? []),
  secret: z.string().min(1).max(1024),
  expires_at: z.string().max(64).optional(),
}));

/** The token for `t`: base64 of the same JSON, in the same order, as the servers' own CertificateAddToken.String(). */
function encodeCertificateToken(t: Omit<DecodedCertificateToken, 'addresses'> & { addresses: readonly string[] }): string {
  const json = JSON.stringify({ client_name: t.name, fingerprint: t.fingerprint, addresses: t.addresses, secret: t.secret, expires_at: t.expiresAt ?? ZERO_TIME });
  return Buffer.from(json).toString('base64');
}

/**
 * Reads a trust token as `lxc config trust add`, `incus config trust add` or `certificates.createToken()`
 * print it (base64 JSON: client name, server fingerprint, addresses, secret, expiry). Throws
 * `LxdValidationError` (field `token`) for anything else; the secret is never quoted in a message.
 */
export function decodeCertificateToken(token: unknown): DecodedCertificateToken {
  if (typeof token !== 'string' || token.trim() === '') throw new LxdValidationError('token', 'give the trust token that "lxc config trust add" or "incus config trust add" printed');
  const t = token.trim();
  if (t.length > MAX_TOKEN_LENGTH) throw new LxdValidationError('token', `is ${t.length} characters long: a trust token is a few hundred`);
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) throw new LxdValidationError('token', 'is not a trust token (base64 text expected)');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64').toString('utf8'));
  } catch {
    throw new LxdValidationError('token', 'is not a trust token (its base64 does not hold JSON)');
  }
  const r = TokenJsonSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new LxdValidationError('token', `is not a trust token: ${issue ? `${issue.path.join('.') || 'the JSON'} ${issue.message}` : 'unexpected JSON'}`);
  }
  const d = r.data;
  return { name: d.client_name, fingerprint: d.fingerprint.toLowerCase(), addresses: [...d.addresses], secret: d.secret, expiresAt: d.expires_at === undefined || d.expires_at === ZERO_TIME ? undefined : d.expires_at };
}

/** Options of a new trust token. */
export interface CreateTokenOptions extends CallOptions {
  /** Restrict the client to `projects`. */
  restricted?: boolean;
  projects?: string[];
}

/**
 * Incus, by its own word (trusted clients), or by an extension LXD never had: an untrusted client's
 * `GET /1.0` has no `environment`, and a token is redeemed by an untrusted client.
 */
async function isIncus(api: Api, opts: CallOptions): Promise<boolean> {
  return (await api.ctx.serverKind(opts)) === 'incus' || (await api.ctx.hasExtension('certificate_description', opts));
}

function derBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** `client.certificates`: the certificates a server trusts, and its trust tokens. */
export class CertificatesResource {
  readonly #core: CollectionCore<LxdCertificate, never, CertificatePut, CertificatePatch>;

  constructor(private readonly api: Api) {
    this.#core = new CollectionCore(api, CERTIFICATES);
  }

  /** The trusted certificates (`recursion: 0`: their fingerprints). */
  list(opts?: ListOptions & { recursion?: 1 }): Promise<LxdCertificate[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions = {}): Promise<LxdCertificate[] | string[]> {
    return this.#core.list('/1.0/certificates', opts);
  }

  /** One certificate (its PEM in `certificate`) with its ETag. */
  async get(fingerprint: string, opts: CallOptions = {}): Promise<WithEtag<LxdCertificate>> {
    return this.#core.get(this.#core.item('/1.0/certificates', fingerprint), opts);
  }

  /**
   * Trusts a certificate (LXD wants the base64 DER body; PEM is converted), or, from a client the server
   * does not trust yet, redeems a trust token (`token`) or LXD 5.0's trust password (`password`): the
   * server then trusts the client's own TLS certificate. The token goes as `password` to LXD 5.0 and as
   * `trust_token` to Incus and to LXD with `explicit_trust_token`; Incus has no trust password, and a
   * `password` for it is refused before the request. A `description` needs `certificate_description`.
   */
  async add(body: CertificatesPost, opts: CallOptions = {}): Promise<void> {
    const b = validateBody(CertificatesPostSchema, body, 'certificate');
    const { token, password, certificate, ...rest } = b;
    if (token !== undefined && password !== undefined) throw new LxdValidationError('certificate.password', 'give either a trust token or a trust password, not both');
    const wire: Record<string, unknown> = { ...rest };
    if (certificate !== undefined) wire['certificate'] = derBase64(certificate);
    if (b.description !== undefined) await requireExtension(this.api, 'certificate_description', 'a certificate description', opts);
    if (token !== undefined) {
      const trustToken = (await this.api.ctx.hasExtension('explicit_trust_token', opts)) || (await isIncus(this.api, opts));
      wire[trustToken ? 'trust_token' : 'password'] = token;
    } else if (password !== undefined) {
      if (await isIncus(this.api, opts)) throw new LxdValidationError('certificate.password', 'Incus has no trust password: create a trust token on the server (certificates.createToken(), or incus config trust add) and give it as token');
      wire['password'] = password;
    }
    await this.api.call('POST', '/1.0/certificates', { ...opts, noProject: true, body: wire });
  }

  /** PUT: replaces the writable fields (`certificate` as PEM; pass the ETag of a `get()` to refuse a concurrent change). */
  async update(fingerprint: string, body: CertificatePut, opts: EtagOptions = {}): Promise<void> {
    const path = this.#core.item('/1.0/certificates', fingerprint);
    const b = validateBody(CertificatePutSchema, body, 'certificate');
    await this.#write('PUT', path, b, opts);
  }

  /** PATCH: merges the fields given. */
  async patch(fingerprint: string, body: CertificatePatch, opts: EtagOptions = {}): Promise<void> {
    const path = this.#core.item('/1.0/certificates', fingerprint);
    const b = validateBody(CertificatePatchSchema, body, 'certificate');
    await this.#write('PATCH', path, b, opts);
  }

  async #write(method: 'PUT' | 'PATCH', path: string, b: CertificatePatch, opts: EtagOptions): Promise<void> {
    await requireExtension(this.api, 'certificate_update', `client.certificates.${method === 'PUT' ? 'update' : 'patch'}`, opts);
    if (b.description !== undefined) await requireExtension(this.api, 'certificate_description', 'a certificate description', opts);
    await this.#core.write(method, path, b, opts);
  }

  /**
   * DELETE /1.0/certificates/{fingerprint}: the server stops trusting it (`LxdNotFoundError` when it does not).
   */
  async delete(fingerprint: string, opts: CallOptions = {}): Promise<void> {
    await this.#core.write('DELETE', this.#core.item('/1.0/certificates', fingerprint), undefined, opts);
  }

  /**
   * A trust token for a new client named `name` (extension `certificate_token`): the server must listen
   * on the network (`core.https_address`). The token's operation lives until the token is redeemed or
   * revoked; it is read, never waited on.
   */
  async createToken(name: string, opts: CreateTokenOptions = {}): Promise<CertificateToken> {
    const { restricted, projects, ...call } = opts;
    if (typeof name !== 'string' || name === '') throw new LxdValidationError('certificate name', 'a trust token needs the name of the client it is for');
    const body = validateBody(z.strictObject({ name: z.string(), type: z.literal('client'), token: z.literal(true), restricted: z.boolean().optional(), projects: z.array(z.string()).optional() }), { name, type: 'client', token: true, restricted, projects }, 'certificate token');
    await requireExtension(this.api, 'certificate_token', 'client.certificates.createToken', call);
    const { value: op } = await this.api.sync('POST', '/1.0/certificates', OperationSchema, { ...call, noProject: true, body });
    const token = certificateToken(op);
    if (!token) {
      const md = TokenMetadataSchema.safeParse(op.metadata);
      const issues = md.success ? [{ path: ['class'], message: `a running token operation was expected, got class "${op.class}", status ${op.status_code}` }] : md.error.issues.map((i) => ({ path: ['metadata', ...i.path], message: i.message }));
      throw new LxdResponseValidationError('POST', '/1.0/certificates', issues);
    }
    return token;
  }

  /** The trust tokens not redeemed yet (the running `token` operations of the default project). */
  async listTokens(opts: CallOptions = {}): Promise<CertificateToken[]> {
    await requireExtension(this.api, 'certificate_token', 'client.certificates.listTokens', opts);
    const r = await this.api.sync('GET', '/1.0/operations', OperationListSchema, { ...opts, noProject: true, query: { recursion: 1 } });
    return Object.values(r.value)
      .flatMap((ops) => ops ?? [])
      .map(certificateToken)
      .filter((t): t is CertificateToken => t !== undefined);
  }

  /** Revokes the token(s) for `name`; `LxdNotFoundError` when there is none. */
  async revokeToken(name: string, opts: CallOptions = {}): Promise<void> {
    if (typeof name !== 'string' || name === '') throw new LxdValidationError('certificate name', 'give the name the trust token was made for');
    const mine = (await this.listTokens(opts)).filter((t) => t.name === name);
    if (mine.length === 0) throw new LxdNotFoundError({ status: 404, errorCode: 404, method: 'DELETE', path: '/1.0/operations', lxdMessage: `no trust token for "${name}"` });
    for (const t of mine) await this.api.call('DELETE', lxdPath`/1.0/operations/${t.operationId}`, { ...opts, noProject: true });
  }
}
