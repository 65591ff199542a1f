/**
 * Certificates (get, update, patch, trust tokens, the token's field per server), warnings, the server's
 * resources and configuration metadata, the cluster certificate and the metrics endpoint, against the
 * fake LXD: the requests sent, the answers read, the input refused before any I/O. What the host's real
 * servers can run is in spec/integration/client/certificates-warnings-metrics.spec.ts.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LxdClient, LxdConnectionError, LxdErrorCode, LxdExtensionMissingError, LxdForbiddenError, LxdNotFoundError, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/index.js';
import { asyncAnswer, operationObject, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { makeCert } from '../../helpers/tls-test.js';

const FP = 'a'.repeat(64);
const LXD_502 = ['certificate_update', 'certificate_token', 'warnings', 'metrics', 'resources', 'clustering_update_cert', 'remote_token_expiry'];
const INCUS_604 = [...LXD_502, 'metadata_configuration', 'certificate_description'];

function incusInfo(extensions = INCUS_604): Record<string, unknown> {
  const info = serverInfo({ extensions }) as Record<string, unknown>;
  return { ...info, environment: { ...(info['environment'] as object), server: 'incus', server_version: '6.0.4' } };
}

/** What an untrusted client sees of `GET /1.0`: no environment, so no server name. */
function untrustedInfo(extensions: string[]): Record<string, unknown> {
  return { config: {}, api_extensions: extensions, api_status: 'stable', api_version: '1.0', auth: 'untrusted', public: false, auth_methods: ['tls'] };
}


function tokenOp(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return operationObject({
    class: 'token',
    description: 'Executing operation',
    status: 'Running',
    status_code: 103,
    metadata: { request: { name, type: 'client', restricted: false, projects: [], certificate: '', password: '', token: true }, secret: `secret-of-${name}`, fingerprint: 'f'.repeat(64), addresses: ['127.0.0.1:8443'], expiresAt: '2026-12-06T12:00:00.123456789Z' },
    ...overrides,
  });
}

describe('certificates, warnings, resources, metrics (fake LXD)', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  let dir: string;
  let pem: { cert: string; key: string };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-certx-'));
    pem = makeCert(dir, 'lxdkit-spec-certx-a', 'prime256v1');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: LXD_502 })));
    client = fake.client();
  });
  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  const sent = () => fake.requests.filter((r) => r.path !== '/1.0' && !r.path.startsWith('/1.0/projects/')).map((r) => `${r.method} ${r.path}${r.query.size ? `?${r.query.toString()}` : ''}`);

  describe('client.certificates', () => {
    it('get: one certificate with its ETag; list: objects or fingerprints', async () => {
      fake.on('GET', '/1.0/certificates/:fp', (r) => sync({ fingerprint: r.params['fp'], name: 'c', type: 'client', restricted: true, projects: ['p1'], certificate: pem.cert }, { etag: '"cert-etag"' }));
      fake.on('GET', '/1.0/certificates', (r) => sync(r.query.get('recursion') === '1' ? [{ fingerprint: FP, name: 'c', type: 'client', restricted: false, projects: null }] : [`/1.0/certificates/${FP}`]));
      const { value, etag } = await client.certificates.get(FP);
      expect([value.fingerprint, value.restricted, value.projects, etag]).to.deep.equal([FP, true, ['p1'], '"cert-etag"']);
      expect(await client.certificates.list({ recursion: 0 })).to.deep.equal([FP]);
      expect((await client.certificates.list())[0]?.fingerprint).to.equal(FP);
      expect(sent()).to.deep.equal([`GET /1.0/certificates/${FP}`, 'GET /1.0/certificates', 'GET /1.0/certificates?recursion=1']);
    });

    it('update (PUT, with If-Match) and patch (PATCH) send the fields as given, the certificate as PEM', async () => {
      fake.on('PUT', '/1.0/certificates/:fp', () => sync(null));
      fake.on('PATCH', '/1.0/certificates/:fp', () => sync(null));
      await client.certificates.update(FP, { name: 'n', type: 'client', restricted: true, projects: ['default'], certificate: pem.cert }, { etag: '"e1"' });
      await client.certificates.patch(FP, { name: 'renamed' });
      const [put, patch] = fake.requests.filter((r) => r.method !== 'GET');
      expect(put?.body).to.deep.equal({ name: 'n', type: 'client', restricted: true, projects: ['default'], certificate: pem.cert });
      expect(put?.headers['if-match']).to.equal('"e1"');
      expect(patch?.body).to.deep.equal({ name: 'renamed' });
      expect(put?.query.has('project')).to.equal(false);
    });

    it('update refuses, before any request: a certificate that is not PEM (LXD 5.0.2 would fail on it), an unknown key, a type it cannot set, a fingerprint that is not hex', async () => {
      const der = pem.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
      for (const bad of [
        () => client.certificates.update(FP, { name: 'n', type: 'client', certificate: der }),
        () => client.certificates.update(FP, { name: 'n', type: 'client', bogus: 1 } as never),
        () => client.certificates.patch(FP, { type: 'server' as never }),
        () => client.certificates.patch('../x', { name: 'n' }),
        () => client.certificates.get('zz'),
        () => client.certificates.delete(''),
      ]) {
        const err = await rejection(bad());
        expect(err, String(err)).to.be.instanceOf(LxdValidationError);
      }
      expect(fake.requests).to.deep.equal([]);
    });

    it('update and patch need certificate_update, a description needs certificate_description: checked before the request', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['certificate_token'] })));
      const err = await rejection(client.certificates.patch(FP, { name: 'n' }));
      expect(err).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'certificate_update');
      const described = await rejection(new LxdClient({ socketPath: fake.socketPath, useEvents: false }).certificates.add({ certificate: pem.cert, description: 'd' }));
      expect(described).to.have.property('extension', 'certificate_description');
      expect(sent()).to.deep.equal([]);
    });

    it('delete: DELETE /1.0/certificates/{fingerprint}, never project-scoped', async () => {
      fake.on('DELETE', '/1.0/certificates/:fp', () => sync(null));
      const scoped = client.withProject('p1');
      await scoped.certificates.delete(FP);
      expect(sent()).to.deep.equal([`DELETE /1.0/certificates/${FP}`]);
    });
  });

  describe('trust tokens', () => {
    it('createToken: POST { name, type: client, token: true }; the token is what lxc prints (base64 JSON: client_name, fingerprint, addresses, secret, expires_at)', async () => {
      fake.on('POST', '/1.0/certificates', () => asyncAnswer(tokenOp('lxdkit-spec-certx-t1')));
      const t = await client.certificates.createToken('lxdkit-spec-certx-t1', { restricted: true, projects: ['default'] });
      expect(fake.requestsTo('POST', '/1.0/certificates')[0]?.body).to.deep.equal({ name: 'lxdkit-spec-certx-t1', type: 'client', token: true, restricted: true, projects: ['default'] });
      expect(Buffer.from(t.token, 'base64').toString()).to.equal(
        JSON.stringify({ client_name: 'lxdkit-spec-certx-t1', fingerprint: 'f'.repeat(64), addresses: ['127.0.0.1:8443'], secret: 'secret-of-lxdkit-spec-certx-t1', expires_at: '2026-12-06T12:00:00.123456789Z' }),
      );
      expect([t.name, t.fingerprint, t.addresses, t.expiresAt]).to.deep.equal(['lxdkit-spec-certx-t1', 'f'.repeat(64), ['127.0.0.1:8443'], '2026-12-06T12:00:00.123456789Z']);
      // no waiting on the token's operation: it runs until the token is used
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations'))).to.deep.equal([]);
    });

    it('a token that never expires carries Go\'s zero time, as the servers write it', async () => {
      const op = tokenOp('t2');
      delete (op['metadata'] as Record<string, unknown>)['expiresAt'];
      fake.on('POST', '/1.0/certificates', () => asyncAnswer(op));
      const t = await client.certificates.createToken('t2');
      expect((JSON.parse(Buffer.from(t.token, 'base64').toString()) as Record<string, unknown>)['expires_at']).to.equal('0001-01-01T00:00:00Z');
      expect(t.expiresAt).to.equal(undefined);
    });

    it('listTokens: the running token operations, not cluster join tokens nor finished ones; revokeToken deletes the operations of that name', async () => {
      const mine = tokenOp('t3');
      const used = tokenOp('t3', { status: 'Success', status_code: 200 });
      const join = tokenOp('t4', { resources: { cluster: ['/1.0/cluster'] } });
      const other = operationObject({ class: 'task' });
      fake.on('GET', '/1.0/operations', () => sync({ running: [mine, join, other], success: [used] }));
      fake.on('DELETE', '/1.0/operations/:id', () => sync(null));
      expect((await client.certificates.listTokens()).map((t) => t.name)).to.deep.equal(['t3']);
      await client.certificates.revokeToken('t3');
      expect(sent()).to.deep.equal(['GET /1.0/operations?recursion=1', 'GET /1.0/operations?recursion=1', `DELETE /1.0/operations/${String(mine['id'])}`]);
      expect(await rejection(client.certificates.revokeToken('nobody'))).to.be.instanceOf(LxdNotFoundError);
    });

    it('createToken: an answer without a usable token (a lying server) is LxdResponseValidationError, saying what is missing', async () => {
      const op = tokenOp('t5');
      delete (op['metadata'] as Record<string, unknown>)['secret'];
      fake.on('POST', '/1.0/certificates', () => asyncAnswer(op));
      const err = await rejection(client.certificates.createToken('t5'));
      expect(err).to.be.instanceOf(LxdResponseValidationError);
      expect(err.message).to.contain('metadata.secret');
      fake.on('POST', '/1.0/certificates', () => asyncAnswer(tokenOp('t5', { class: 'task' })));
      expect((await rejection(client.certificates.createToken('t5'))).message).to.contain('a running token operation was expected');
    });

    it('createToken needs certificate_token: checked before the request', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: [] })));
      expect(await rejection(client.certificates.createToken('t'))).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'certificate_token');
      expect(await rejection(client.certificates.listTokens())).to.be.instanceOf(LxdExtensionMissingError);
      expect(await rejection(client.certificates.createToken(''))).to.be.instanceOf(LxdValidationError);
      expect(sent()).to.deep.equal([]);
    });

    const servers: [string, () => Record<string, unknown>, string][] = [
      ['LXD 5.0 (trusted view)', () => serverInfo({ extensions: LXD_502 }) as Record<string, unknown>, 'password'],
      ['LXD 5.0 (untrusted view)', () => untrustedInfo(LXD_502), 'password'],
      ['LXD with explicit_trust_token', () => serverInfo({ extensions: [...LXD_502, 'explicit_trust_token'] }) as Record<string, unknown>, 'trust_token'],
      ['Incus 6.0 (trusted view)', () => incusInfo(), 'trust_token'],
      ['Incus 6.0 (untrusted view: no environment)', () => untrustedInfo(INCUS_604), 'trust_token'],
    ];
    for (const [what, info, field] of servers) {
      it(`add({ token }) redeems a token as ${what} reads it: ${field}, and no certificate (the server takes the TLS one)`, async () => {
        fake.on('GET', '/1.0', () => sync(info()));
        fake.on('POST', '/1.0/certificates', () => sync(null));
        await client.certificates.add({ token: 'dG9rZW4=' });
        expect(fake.requestsTo('POST', '/1.0/certificates')[0]?.body).to.deep.equal({ type: 'client', [field]: 'dG9rZW4=' });
      });
    }

    it('add({ password }) is refused for Incus, which has no trust password, before the request; a token and a password together are refused', async () => {
      fake.on('GET', '/1.0', () => sync(incusInfo()));
      const err = await rejection(client.certificates.add({ certificate: pem.cert, password: 'pw' }));
      expect(err).to.be.instanceOf(LxdValidationError);
      expect(err.message).to.match(/Incus has no trust password.*token/);
      expect(LxdValidationError.prototype.isPrototypeOf(await rejection(client.certificates.add({ token: 't', password: 'pw' })))).to.equal(true);
      expect(await rejection(client.certificates.add({} as never))).to.have.property('code', LxdErrorCode.INVALID_ARGUMENT);
      expect(fake.requestsTo('POST', '/1.0/certificates')).to.deep.equal([]);
    });

    it('add({ certificate, password }) on LXD 5.0: the DER body and the password as LXD 5.0 reads them', async () => {
      fake.on('POST', '/1.0/certificates', () => sync(null));
      await client.certificates.add({ certificate: pem.cert, password: 'pw', name: 'n' });
      const body = fake.requestsTo('POST', '/1.0/certificates')[0]?.body as Record<string, unknown>;
      expect(body).to.deep.equal({ certificate: pem.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), name: 'n', type: 'client', password: 'pw' });
    });
  });

  describe('client.warnings', () => {
    const warning = (uuid: string) => ({ uuid, status: 'new', type: 'AppArmor support has been disabled', severity: 'low', count: 3, last_message: 'Disabled because of missing kernel support', first_seen_at: '2026-12-05T11:58:00Z', last_seen_at: '2026-12-05T11:58:00Z', location: 'none', project: '', entity_url: '' });
    const U = '1d3274b7-90ad-43e7-8445-9b07281d4db2';

    it('list, get with its ETag, update and patch { status }, delete', async () => {
      fake.on('GET', '/1.0/warnings', (r) => sync(r.query.get('recursion') === '1' ? [warning(U)] : [`/1.0/warnings/${U}`]));
      fake.on('GET', '/1.0/warnings/:uuid', (r) => sync(warning(r.params['uuid']!), { etag: '"w1"' }));
      for (const m of ['PUT', 'PATCH', 'DELETE']) fake.on(m, '/1.0/warnings/:uuid', () => sync(null));
      const [w] = await client.warnings.list();
      expect([w?.uuid, w?.status, w?.severity, w?.count, w?.last_message]).to.deep.equal([U, 'new', 'low', 3, 'Disabled because of missing kernel support']);
      expect(await client.warnings.list({ recursion: 0 })).to.deep.equal([U]);
      const { value, etag } = await client.warnings.get(U);
      expect([value.type, etag]).to.deep.equal(['AppArmor support has been disabled', '"w1"']);
      await client.warnings.update(U, { status: 'acknowledged' }, { etag });
      await client.warnings.patch(U, { status: 'new' });
      await client.warnings.delete(U);
      expect(sent()).to.deep.equal(['GET /1.0/warnings?recursion=1', 'GET /1.0/warnings', `GET /1.0/warnings/${U}`, `PUT /1.0/warnings/${U}`, `PATCH /1.0/warnings/${U}`, `DELETE /1.0/warnings/${U}`]);
      expect(fake.requestsTo('PUT', `/1.0/warnings/${U}`)[0]?.body).to.deep.equal({ status: 'acknowledged' });
      expect(fake.requestsTo('PUT', `/1.0/warnings/${U}`)[0]?.headers['if-match']).to.equal('"w1"');
    });

    it('a client of a project lists that project\'s warnings', async () => {
      fake.on('GET', '/1.0/warnings', () => sync([]));
      await client.withProject('p1').warnings.list();
      expect(fake.requestsTo('GET', '/1.0/warnings')[0]?.query.get('project')).to.equal('p1');
    });

    it('refuses before any request: a status the server keeps for itself, an unknown key, a uuid that is not one; needs the warnings extension', async () => {
      for (const bad of [() => client.warnings.update(U, { status: 'resolved' as never }), () => client.warnings.patch(U, { status: 'new', count: 1 } as never), () => client.warnings.get('../etc'), () => client.warnings.delete('x y')]) {
        expect(await rejection(bad())).to.be.instanceOf(LxdValidationError);
      }
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: [] })));
      expect(await rejection(client.warnings.list())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'warnings');
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('client.server.resources and configurationMetadata', () => {
    it('resources: GET /1.0/resources (server-wide, target passed on), read loosely', async () => {
      fake.on('GET', '/1.0/resources', () => sync({ cpu: { architecture: 'x86_64', total: 2, sockets: [{ socket: 0, cores: [] }] }, memory: { used: 1, total: 2, hugepages_total: 0 }, gpu: { cards: [], total: 0 }, future_field: { x: 1 } }));
      const r = await client.withProject('p1').server.resources({ target: 'm1' });
      expect([r.cpu.architecture, r.cpu.total, r.memory.total]).to.deep.equal(['x86_64', 2, 2]);
      expect(r).to.have.property('future_field');
      expect(sent()).to.deep.equal(['GET /1.0/resources?target=m1']);
    });

    it('resources refuses an answer without cpu or memory', async () => {
      fake.on('GET', '/1.0/resources', () => sync({ cpu: { total: 'two' } }));
      expect(await rejection(client.server.resources())).to.be.instanceOf(LxdResponseValidationError);
    });

    it('configurationMetadata: Incus\'s key documentation; LXD 5.0 has no metadata_configuration: refused before the request', async () => {
      expect(await rejection(client.server.configurationMetadata())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'metadata_configuration');
      expect(sent()).to.deep.equal([]);
      fake.on('GET', '/1.0', () => sync(incusInfo()));
      fake.on('GET', '/1.0/metadata/configuration', () => sync({ configs: { server: { core: { keys: [{ 'core.https_address': { type: 'string', shortdesc: 'Address to bind for the remote API' } }] } } } }));
      const md = await new LxdClient({ socketPath: fake.socketPath, useEvents: false }).server.configurationMetadata();
      expect(md.configs['server']?.['core']?.keys?.[0]?.['core.https_address']?.shortdesc).to.equal('Address to bind for the remote API');
    });
  });

  describe('client.cluster.updateCertificate', () => {
    it('PUT /1.0/cluster/certificate with the PEM certificate and its key', async () => {
      fake.on('PUT', '/1.0/cluster/certificate', () => sync(null));
      await client.cluster.updateCertificate({ cluster_certificate: pem.cert, cluster_certificate_key: pem.key });
      expect(fake.requestsTo('PUT', '/1.0/cluster/certificate')[0]?.body).to.deep.equal({ cluster_certificate: pem.cert, cluster_certificate_key: pem.key });
    });

    it('refuses before any request: a certificate or key that is not PEM, a key of another certificate, a missing extension', async () => {
      const other = makeCert(dir, 'lxdkit-spec-certx-b', 'prime256v1');
      const der = pem.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
      for (const [body, field] of [
        [{ cluster_certificate: der, cluster_certificate_key: pem.key }, 'cluster_certificate'],
        [{ cluster_certificate: pem.cert, cluster_certificate_key: 'not a key' }, 'cluster_certificate_key'],
        [{ cluster_certificate: pem.cert, cluster_certificate_key: other.key }, 'cluster_certificate_key'],
      ] as const) {
        const err = await rejection(client.cluster.updateCertificate(body));
        expect(err).to.be.instanceOf(LxdValidationError);
        expect((err as LxdValidationError).field).to.contain(field);
        expect(err.message, 'the key is never repeated').to.not.contain('PRIVATE KEY-----\n');
      }
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: [] })));
      expect(await rejection(client.cluster.updateCertificate({ cluster_certificate: pem.cert, cluster_certificate_key: pem.key }))).to.be.instanceOf(LxdExtensionMissingError);
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('client.metrics', () => {
    it('get: the text and its samples, project-scoped', async () => {
      const text = '# HELP lxd_cpu_seconds_total The total number of CPU time used in seconds.\n# TYPE lxd_cpu_seconds_total counter\nlxd_cpu_seconds_total{cpu="0",mode="system",name="c1",project="p1",type="container"} 12.5\n# EOF\n';
      fake.on('GET', '/1.0/metrics', () => ({ status: 200, body: text }));
      const m = await client.withProject('p1').metrics.get();
      expect(m.text).to.equal(text);
      expect(m.samples).to.have.length(1);
      expect({ ...m.samples[0]!, labels: { ...m.samples[0]!.labels } }).to.deep.equal({ name: 'lxd_cpu_seconds_total', labels: { cpu: '0', mode: 'system', name: 'c1', project: 'p1', type: 'container' }, value: 12.5 });
      expect(m.types['lxd_cpu_seconds_total']).to.equal('counter');
      expect(fake.requestsTo('GET', '/1.0/metrics')[0]?.query.get('project')).to.equal('p1');
    });

    it('a text the format does not allow, or bytes that are not UTF-8, are LXD_ERR_INVALID_RESPONSE naming the line', async () => {
      fake.on('GET', '/1.0/metrics', () => ({ status: 200, body: 'ok 1\nbad{a="1",a="2"} 1\n' }));
      const err = await rejection(client.metrics.get());
      expect(err).to.be.instanceOf(LxdResponseValidationError);
      expect(err.message).to.contain('line 2').and.contain('"a" is given twice');
      fake.on('GET', '/1.0/metrics', () => ({ status: 200, body: Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0x0a]) as unknown as string }));
      expect(await rejection(client.metrics.get())).to.be.instanceOf(LxdResponseValidationError);
    });

    it('needs the metrics extension: checked before the request', async () => {
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: [] })));
      expect(await rejection(client.metrics.get())).to.be.instanceOf(LxdExtensionMissingError).and.have.property('extension', 'metrics');
      expect(sent()).to.deep.equal([]);
    });
  });

  describe('a token refused over HTTPS', () => {
    it('is the server\'s 403 (LxdForbiddenError), not a TLS failure, though its text speaks of a certificate', async () => {
      const serverPem = makeCert(dir, 'lxdkit-spec-certx-server', 'prime256v1');
      const srv = https.createServer({ cert: serverPem.cert, key: serverPem.key, requestCert: true, rejectUnauthorized: false }, (req, res) => {
        const envelope =
          req.url?.split('?')[0] === '/1.0'
            ? { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: untrustedInfo(LXD_502) }
            : { type: 'error', status: '', status_code: 0, operation: '', error_code: 403, error: 'No matching certificate add operation found', metadata: null };
        res.writeHead(envelope.type === 'error' ? 403 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(envelope));
      });
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      const remote = new LxdClient({ url: `https://127.0.0.1:${(srv.address() as AddressInfo).port}`, tls: { cert: pem.cert, key: pem.key, serverCert: serverPem.cert } });
      try {
        const err = await rejection(remote.certificates.add({ token: 'dG9rZW4=' }));
        expect(err, String(err)).to.be.instanceOf(LxdForbiddenError);
        expect(err).to.not.be.instanceOf(LxdConnectionError);
        expect(err.message).to.contain('No matching certificate add operation found');
      } finally {
        await remote.close();
        await new Promise((resolve) => srv.close(resolve));
      }
    });
  });
});
