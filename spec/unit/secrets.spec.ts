/**
 * Secrets never reach a log line or a fixture: one redaction rule (lib/logger.ts) serves the
 * library's redact(), the CLI's pino logger, ManagerConfig.warnAboutUnused and the fixture recorder.
 * Every spec puts a run-unique marker in each secret field and looks for it in what was written.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createCliLogger } from '../../lib/cli/log.js';
import { StringStream } from '../../lib/cli/io.js';
import { runCli } from '../../lib/cli/program.js';
import { ManagerConfig } from '../../lib/container/manager-config.js';
import { LxdClient } from '../../lib/lxd/client.js';
import { describeKeys, isRedactedKey, REDACTED, redact, redactText, type Logger } from '../../lib/logger.js';
import { loadFixture, type Fixture } from '../../lib/testing/fixture.js';
import { normaliseFixture } from '../../lib/testing/normalise.js';
import { Recorder } from '../../lib/testing/recorder.js';
import { Replayer } from '../../lib/testing/replayer.js';
import { lxdError, startFakeLxd, sync, type FakeLxd } from '../helpers/fake-lxd.js';

const marker = (): string => `lxdkit-secret-marker-${randomBytes(6).toString('hex')}`;
const pem = (m: string): string => `-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE${m}\n-----END EC PRIVATE KEY-----\n`;

/** Every kind of secret the rule covers, each holding `m`, next to values that must stay. */
function secrets(m: string) {
  return {
    config: {
      'user.user-data': `#cloud-config\npassword: ${m}\n`,
      'user.vendor-data': m,
      'user.network-config': m,
      'user.meta-data': m,
      'cloud-init.user-data': m,
      'cloud-init.vendor-data': m,
      'cloud-init.network-config': m,
      'environment.API_TOKEN': m,
      'core.trust_password': m,
      'limits.cpu': '2',
    },
    certificateAdd: { type: 'client', certificate: m, name: 'c', password: m, trust_token: m, token: m },
    tls: { key: m, cert: m, chain: pem(m), note: 'kept' },
    operation: { metadata: { fds: { '0': m, control: m }, secret: m, secrets: [m] } },
    instanceConfig: { machineId: '0', userData: m, 'user-data': m, vendorData: m, 'vendor-data': m },
  };
}

function streamLogger(): { logger: Logger; text: () => string } {
  const out = new StringStream();
  return { logger: pino({ level: 'trace' }, out) as unknown as Logger, text: () => out.text };
}

describe('secrets never reach logs or fixtures', () => {
  describe('the rule', () => {
    it('redact() hides every secret field, keeps the keys and every other value', () => {
      const m = marker();
      const out = redact(secrets(m)) as ReturnType<typeof secrets>;
      expect(JSON.stringify(out)).not.to.contain(m);
      expect(Object.keys(out.config)).to.deep.equal(Object.keys(secrets(m).config));
      expect(out.config['limits.cpu']).to.equal('2');
      expect(out.config['user.user-data']).to.equal(REDACTED);
      expect(out.tls).to.deep.equal({ key: REDACTED, cert: REDACTED, chain: REDACTED, note: 'kept' });
      expect(out.operation.metadata.fds).to.equal(REDACTED);
    });

    it("redact() hides the values of an exec's environment (request body, operation metadata), not LXD's own variables nor the server's environment", () => {
      const m = marker();
      const env = { DB_PASSWORD: m, HOME: '/root', PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', USER: 'root', TERM: 'xterm', EMPTY: '' };
      const body = { command: ['sh', '-c', 'echo $DB_PASSWORD'], environment: env, interactive: false };
      const event = { type: 'operation', metadata: { id: 'x', description: 'Executing command', metadata: { ...body, fds: { '0': m } } } };
      const out = redact({ body, event, list: [event.metadata] }) as { body: typeof body; event: typeof event };
      expect(JSON.stringify(out)).not.to.contain(m);
      expect(out.body.environment).to.deep.equal({ ...env, DB_PASSWORD: REDACTED });
      expect(out.body.command).to.deep.equal(body.command);
      // without a command beside it, `environment` is something else (GET /1.0's server environment)
      const server = { environment: { server: 'lxd', server_version: '5.0.2', kernel: 'Linux' } };
      expect(redact(server)).to.deep.equal(server);
      // a hostile environment that is not a map is hidden whole; a PEM key under a kept name too
      expect(redact({ command: ['x'], environment: m })).to.deep.equal({ command: ['x'], environment: REDACTED });
      expect(redact({ command: ['x'], environment: { PATH: pem(m) } })).to.deep.equal({ command: ['x'], environment: { PATH: REDACTED } });
    });

    it('matches config keys by prefix (user., cloud-init., environment.) and exact names, nothing else', () => {
      for (const k of ['user.x', 'user.user-data', 'cloud-init.anything', 'environment.HOME', 'core.trust_password', 'password', 'fds', 'key', 'token']) expect(isRedactedKey(k), k).to.equal(true);
      for (const k of ['limits.cpu', 'volatile.cloud-init.instance-id', 'environment', 'security.nesting', 'users', 'keys', 'name']) expect(isRedactedKey(k), k).to.equal(false);
    });

    it('finds PEM private keys under any key, in strings, and leaves public certificates in text', () => {
      const m = marker();
      expect(JSON.stringify(redact({ anything: [{ deep: pem(m) }] }))).not.to.contain(m);
      const line = `loaded ${pem(m)}and -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----`;
      expect(redactText(line)).to.equal('loaded [redacted]\nand -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----');
      expect(redactText(`cut ${pem(m).slice(0, 40)}`)).to.equal('cut [redacted]');
    });

    it('keeps errors and dates as they are, survives cycles, and redacts what is nested too deep', () => {
      const err = new Error('boom');
      const when = new Date(0);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      const out = redact({ err, when, cyclic }) as Record<string, Record<string, unknown>>;
      expect(out['err']).to.equal(err);
      expect(out['when']).to.equal(when);
      expect(out['cyclic']).to.deep.equal({ a: 1, self: '[circular]' });
      const m = marker();
      let deep: unknown = m;
      for (let i = 0; i < 50; i++) deep = { x: deep };
      expect(JSON.stringify(redact(deep))).not.to.contain(m);
    });

    it('describeKeys() names the keys of a config/devices map and never a value', () => {
      const m = marker();
      const text = describeKeys({ config: { 'limits.cpu': '2', 'user.user-data': m }, devices: { eth0: { type: 'nic', parent: m }, root: { path: '/', pool: 'default', type: 'disk' } } });
      expect(text).to.equal('{"config":["limits.cpu","user.user-data"],"devices":{"eth0":["type","parent"],"root":["path","pool","type"]}}');
      expect(describeKeys({ 'user.user-data': m, 'limits.cpu': '1' })).to.equal('["user.user-data","limits.cpu"]');
      expect(describeKeys({ description: m, config: {} })).to.equal('{"description":"…","config":[]}');
    });
  });

  describe('log lines', () => {
    let fake: FakeLxd;
    let m: string;
    beforeEach(async () => {
      m = marker();
      fake = await startFakeLxd();
    });
    afterEach(() => fake.close());

    it('the library logs no request or response body: a pino logger on a stream sees none of the secrets sent and received', async () => {
      const s = secrets(m);
      fake.on('POST', '/1.0/profiles', () => sync(null));
      fake.on('GET', '/1.0/profiles/:name', () => sync({ name: 'p', description: '', config: s.config, devices: {}, used_by: [] }, { etag: '"e1"' }));
      fake.on('POST', '/1.0/instances', () => fake.operation({ metadata: s.operation.metadata }));
      fake.on('GET', '/1.0/instances/:name', () => sync({ name: 'c1', config: s.config, expanded_config: s.config, devices: {}, expanded_devices: {}, profiles: [], status: 'Stopped', status_code: 102, type: 'container', architecture: 'x86_64', created_at: '2020-01-01T00:00:00Z', last_used_at: '2020-01-01T00:00:00Z', location: 'none', ephemeral: false, stateful: false, description: '', project: 'default' }));
      fake.on('POST', '/1.0/certificates', () => sync(null));
      fake.on('PUT', '/1.0/profiles/:name', () => lxdError(400, 'refused'));
      const { logger, text } = streamLogger();
      const client = new LxdClient({ socketPath: fake.socketPath, logger, useEvents: false });
      try {
        await client.profiles.create({ name: 'p', config: s.config });
        await client.profiles.get('p');
        await client.profiles.update('p', { config: s.config, devices: {}, description: '' }).catch(() => undefined);
        await (await client.instances.create({ name: 'c1', config: s.config, source: { type: 'image', alias: 'a', secret: m } })).wait();
        await client.instances.get('c1');
        await client.certificates.add({ certificate: m, password: m });
      } finally {
        await client.close();
      }
      expect(text()).to.contain('lxd request'); // the logger did log every call
      expect(text().split('\n').filter((l) => l.includes('lxd request')).length).to.be.at.least(6);
      expect(text()).not.to.contain(m);
    });

    it("ManagerConfig.warnAboutUnused keeps Juju's text but never a secret key's value", () => {
      const { logger, text } = streamLogger();
      new ManagerConfig({ shazam: 'Captain Marvel', 'user.user-data': m, 'environment.TOKEN': m, password: m }).warnAboutUnused(logger);
      const lines = text().trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(lines).to.deep.equal([
        'unused config option: "shazam" -> "Captain Marvel"',
        'unused config option: "user.user-data" -> "[redacted]"',
        'unused config option: "environment.TOKEN" -> "[redacted]"',
        'unused config option: "password" -> "[redacted]"',
      ]);
      expect(text()).not.to.contain(m);
    });

    it("the CLI's pino logger redacts logged objects, child bindings and PEM keys in messages", async () => {
      const out = new StringStream();
      const log = await createCliLogger({ level: 'trace', pretty: false, stream: out });
      const s = secrets(m);
      log.debug({ body: s }, 'request body');
      log.child({ module: 'outer', token: m }).child({ profile: { config: s.config } }).info('with bindings');
      log.warn(`key file: ${pem(m)}`);
      log.error({ err: new Error('failed'), tls: s.tls }, 'error line');
      const lines = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l['msg'])).to.deep.equal(['request body', 'with bindings', 'key file: [redacted]\n', 'error line']);
      expect(out.text).not.to.contain(m);
      // structure and ordinary values stay; the err serializer still sees an Error
      expect((lines[0]!['body'] as { config: Record<string, string> }).config['limits.cpu']).to.equal('2');
      expect((lines[1]!['profile'] as { config: Record<string, string> }).config['user.user-data']).to.equal(REDACTED);
      expect(lines[1]).to.deep.include({ module: 'outer', token: REDACTED }); // a grandchild keeps its parent's (redacted) bindings
      expect((lines[3]!['err'] as { message: string; type: string })).to.deep.include({ message: 'failed', type: 'Error' });
    });

    it('lxdkit profile apply at trace level writes none of the secrets of a profile file to its log', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lxdkit-secrets-'));
      try {
        const file = join(dir, 'p.yaml');
        await writeFile(file, `name: p\nconfig:\n  user.user-data: "${m}"\n  cloud-init.vendor-data: "${m}"\n  environment.TOKEN: "${m}"\n  limits.cpu: "1"\n`);
        fake.on('GET', '/1.0/profiles/:name', () => lxdError(404, 'Profile not found'));
        fake.on('POST', '/1.0/profiles', () => sync(null));
        const log = new StringStream();
        const logger = await createCliLogger({ level: 'trace', pretty: false, stream: log });
        const stdout = new StringStream();
        const stderr = new StringStream();
        const code = await runCli(['--socket', fake.socketPath, 'profile', 'apply', file], { stdout, stderr, env: {}, cwd: dir }, { logger });
        expect(code, stderr.text).to.equal(0);
        expect(fake.requestsTo('POST', '/1.0/profiles')[0]?.body).to.deep.include({ name: 'p' });
        expect(log.text).to.contain('lxd request');
        expect(log.text + stderr.text + stdout.text).not.to.contain(m);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('fixtures', () => {
    let fake: FakeLxd;
    let dir: string;
    beforeEach(async () => {
      fake = await startFakeLxd();
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-secrets-fx-'));
    });
    afterEach(async () => {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('normaliseFixture() redacts every secret field, whatever redactKeys says about the prefixes', () => {
      const m = marker();
      const s = secrets(m);
      const fx = {
        format: 1 as const,
        lxd: { version: '5.0.2', api_extensions_count: 1 },
        recordedAt: '2026-01-01T00:00:00Z',
        interactions: [
          { request: { method: 'POST', path: '/1.0/certificates', query: {}, body: s.certificateAdd }, response: { status: 200, headers: {}, body: { metadata: s.operation } } },
          { request: { method: 'PUT', path: '/1.0/instances/c', query: {}, body: { config: s.config } }, response: { status: 200, headers: {}, body: { metadata: { tls: s.tls } } } },
        ],
      };
      expect(JSON.stringify(normaliseFixture(fx, { hostname: 'h' }))).not.to.contain(m);
      const narrow = JSON.stringify(normaliseFixture(fx, { hostname: 'h', redactKeys: [] }));
      expect(narrow).to.contain(m); // the exact-name list was overridden...
      const parsed = JSON.parse(narrow) as { interactions: { request: { body: { config?: Record<string, string> } } }[] };
      const config = parsed.interactions[1]!.request.body.config!;
      // ...but config prefixes and private keys are redacted whatever the list
      expect(Object.entries(config).filter(([k]) => k !== 'core.trust_password' && k !== 'limits.cpu').every(([, v]) => v === REDACTED)).to.equal(true);
      expect(narrow).not.to.contain('PRIVATE KEY');
    });

    it('a recorded fixture file holds none of the secrets, and it replays with the real values sent', async () => {
      const m = marker();
      const s = secrets(m);
      fake.on('POST', '/1.0/profiles', () => sync(null));
      fake.on('GET', '/1.0/profiles/:name', () => sync({ name: 'p', description: '', config: s.config, devices: {}, used_by: [] }, { etag: '"e1"' }));
      fake.on('POST', '/1.0/instances', () => fake.operation({ metadata: s.operation.metadata }));
      fake.on('POST', '/1.0/certificates', () => sync(null));
      const scenario = async (client: LxdClient): Promise<void> => {
        await client.profiles.create({ name: 'p', config: s.config });
        await client.profiles.get('p');
        await (await client.instances.create({ name: 'c1', config: s.config, source: { type: 'image', alias: 'a' } })).wait();
        await client.certificates.add({ certificate: 'MIIB', password: m });
      };
      const rec = new Recorder({ socketPath: fake.socketPath });
      const client = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
      const file = join(dir, 'secrets.json');
      try {
        await scenario(client);
        await rec.save(file);
      } finally {
        await client.close();
        await rec.close();
      }
      const text = await readFile(file, 'utf8');
      expect(text).to.contain('"user.user-data": "[redacted]"');
      expect(text).to.contain('"limits.cpu": "2"');
      expect(text).not.to.contain(m);

      const replayer = new Replayer(await loadFixture(file));
      const replay = new LxdClient({ dispatcher: replayer.dispatcher, useEvents: false });
      try {
        await scenario(replay);
        replayer.assertDone();
      } finally {
        await replay.close();
        await replayer.close();
      }
    });

    it("normaliseFixture() redacts an exec's environment wherever the fixture holds it: request, answers, operation lists, events", () => {
      const m = marker();
      const op = (status: string) => ({ id: '3f6c1a2e-9b7d-4c55-8e21-0a1b2c3d4e5f', class: 'websocket', description: 'Executing command', status, metadata: { command: ['sh'], environment: { DB_PASSWORD: m, PATH: '/bin' }, fds: { '0': 'fd0' } } });
      const fx: Fixture = {
        format: 1 as const,
        lxd: { version: '5.0.2', api_extensions_count: 1 },
        recordedAt: '2026-01-01T00:00:00Z',
        interactions: [
          { request: { method: 'POST', path: '/1.0/instances/c/exec', query: {}, body: { command: ['sh'], environment: { DB_PASSWORD: m }, 'wait-for-websocket': true } }, response: { status: 202, headers: {}, body: { type: 'async', metadata: op('Running') } } },
          { request: { method: 'GET', path: '/1.0/operations/3f6c1a2e-9b7d-4c55-8e21-0a1b2c3d4e5f/wait', query: {} }, response: { status: 200, headers: {}, body: { type: 'sync', metadata: { ...op('Success'), metadata: { ...op('Success').metadata, return: 0 } } } } },
          { request: { method: 'GET', path: '/1.0/operations', query: { recursion: '1' } }, response: { status: 200, headers: {}, body: { type: 'sync', metadata: { running: [op('Running')] } } } },
          { request: { method: 'GET', path: '/1.0', query: {} }, response: { status: 200, headers: {}, body: { type: 'sync', metadata: { environment: { server: 'lxd', server_version: '5.0.2' } } } } },
        ],
        events: [{ path: '/1.0/events' as const, query: { type: 'operation' }, messages: [{ after: 0, message: { type: 'operation', metadata: op('Running') } }] }],
      };
      const out = normaliseFixture(fx, { hostname: 'h', redactKeys: [] });
      const text = JSON.stringify(out);
      expect(text).not.to.contain(m);
      expect(text.split('"DB_PASSWORD":"[redacted]"').length - 1).to.equal(5); // body, answer, /wait, list, event
      expect(text.split('"PATH":"/bin"').length - 1).to.equal(4);
      expect(text).to.contain('"server_version":"5.0.2"');
      expect(normaliseFixture(out, { hostname: 'h', redactKeys: [] })).to.deep.equal(out);
      // the replayed client sends its real environment, which matches the redacted one
      const replayer = new Replayer(out);
      expect(replayer.handle({ method: 'POST', path: '/1.0/instances/c/exec', body: JSON.stringify({ command: ['sh'], environment: { DB_PASSWORD: 'the real one' }, 'wait-for-websocket': true }) }).status).to.equal(202);
      void replayer.close();
    });

    it('a replay mismatch does not echo the secrets sent', async () => {
      const m = marker();
      const replayer = new Replayer({
        format: 1,
        lxd: { version: '5.0.2', api_extensions_count: 1 },
        recordedAt: '2000-01-01T00:00:00Z',
        interactions: [{ request: { method: 'POST', path: '/1.0/profiles', query: {}, body: { name: 'p', config: { 'user.user-data': REDACTED } } }, response: { status: 200, headers: {}, body: { type: 'sync', metadata: null } } }],
      });
      const res = replayer.handle({ method: 'POST', path: '/1.0/profiles', body: JSON.stringify({ name: 'q', config: { 'user.user-data': m } }) });
      expect(res.status).to.equal(500);
      expect(res.body).to.contain('the body differs');
      expect(res.body).not.to.contain(m);
      // a recorded [redacted] matches any string, but not a missing key or another type
      expect(replayer.handle({ method: 'POST', path: '/1.0/profiles', body: JSON.stringify({ name: 'p', config: {} }) }).status).to.equal(500);
      expect(replayer.handle({ method: 'POST', path: '/1.0/profiles', body: JSON.stringify({ name: 'p', config: { 'user.user-data': 1 } }) }).status).to.equal(500);
      expect(replayer.handle({ method: 'POST', path: '/1.0/profiles', body: JSON.stringify({ name: 'p', config: { 'user.user-data': m } }) }).status).to.equal(200);
      await replayer.close();
    });
  });
});
