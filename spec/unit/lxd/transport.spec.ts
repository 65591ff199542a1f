import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockAgent } from 'undici';
import {
  LxdApiError,
  LxdClient,
  LxdConflictError,
  LxdConnectionError,
  LxdError,
  LxdForbiddenError,
  LxdNotFoundError,
  LxdPreconditionFailedError,
  LxdResponseValidationError,
  LxdTimeoutError,
  LxdValidationError,
} from '../../../lib/lxd/index.js';
import { asyncAnswer, lxdError, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const profile = (name: string) => ({ name, description: '', config: {}, devices: {}, used_by: [] });

describe('lxd transport and envelope', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
  });

  it('decodes a sync envelope and returns the ETag of a single-object GET', async function () {
    fake.on('GET', '/1.0/profiles/p1', () => ({ ...sync(profile('p1')), headers: { etag: '"abc"' } }));
    const r = await lxd.profiles.get('p1');
    expect(r.value.name).to.equal('p1');
    expect(r.etag).to.equal('"abc"');
  });

  it('sends If-Match only when an ETag is given', async function () {
    fake.on('PUT', '/1.0/profiles/p1', () => sync({}));
    await lxd.profiles.update('p1', { config: {} }, { etag: '"e1"' });
    await lxd.profiles.update('p1', { config: {} });
    const [withTag, without] = fake.requestsTo('PUT', '/1.0/profiles/p1');
    expect(withTag?.headers['if-match']).to.equal('"e1"');
    expect(without?.headers['if-match']).to.equal(undefined);
  });

  it('accepts 201 Created with a Location header', async function () {
    fake.on('POST', '/1.0/profiles', () => ({ ...sync(null, { status: 201 }), headers: { location: '/1.0/profiles/p2' } }));
    await lxd.profiles.create({ name: 'p2' });
    expect(fake.requestsTo('POST', '/1.0/profiles')[0]?.body).to.deep.equal({ name: 'p2' });
  });

  const cases: [string, number, number, string, new (...a: never[]) => LxdApiError, string][] = [
    ['404', 404, 404, 'Profile not found', LxdNotFoundError, 'LXD_ERR_NOT_FOUND'],
    ['409', 409, 409, 'Instance "c1" already exists', LxdConflictError, 'LXD_ERR_CONFLICT'],
    ['500 already exists', 500, 500, 'Error inserting "p" into database: The profile already exists', LxdConflictError, 'LXD_ERR_CONFLICT'],
    ['500 Incus duplicate', 500, 500, 'Failed creating project "p": Failed adding database record: Failed to create "projects" entry: UNIQUE constraint failed: projects.name', LxdConflictError, 'LXD_ERR_CONFLICT'],
    ['412', 412, 412, 'ETag doesn\'t match: a vs b', LxdPreconditionFailedError, 'LXD_ERR_ETAG_MISMATCH'],
    ['403', 403, 403, 'not authorized', LxdForbiddenError, 'LXD_ERR_FORBIDDEN'],
    ['500', 500, 500, 'Invalid filter', LxdApiError, 'LXD_ERR_API'],
  ];
  for (const [label, status, code, message, cls, errCode] of cases) {
    it(`maps an error envelope (${label}) to ${cls.name} with status, code, method and path`, async function () {
      fake.on('GET', '/1.0/profiles/x', () => lxdError(status, message, code));
      const err = await lxd.profiles.get('x').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(cls);
      const e = err as LxdApiError;
      expect([e.code, e.status, e.errorCode, e.method, e.path, e.lxdMessage]).to.deep.equal([errCode, status, code, 'GET', '/1.0/profiles/x', message]);
      expect(LxdError.is(e)).to.equal(true);
    });
  }

  it('tolerates a non-JSON error body (GET /1.0/events without an upgrade answers text/plain 400)', async function () {
    fake.on('GET', '/1.0/profiles/x', () => ({ status: 400, body: 'Bad Request\n' }));
    const err = await lxd.profiles.get('x').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdApiError);
    expect((err as LxdApiError).status).to.equal(400);
    expect((err as LxdApiError).lxdMessage).to.equal('Bad Request');
  });

  it('reports a malformed success body as an invalid response', async function () {
    fake.on('GET', '/1.0/profiles/x', () => sync({ name: 42 }));
    const err = await lxd.profiles.get('x').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdResponseValidationError);
    expect((err as LxdResponseValidationError).code).to.equal('LXD_ERR_INVALID_RESPONSE');
    expect((err as Error).message).to.contain('name');
  });

  it('keeps unknown response fields (newer LXD) instead of failing', async function () {
    fake.on('GET', '/1.0/profiles/x', () => sync({ ...profile('x'), brand_new_field: { a: 1 } }));
    const { value } = await lxd.profiles.get('x');
    expect((value as Record<string, unknown>)['brand_new_field']).to.deep.equal({ a: 1 });
  });

  it('adds the project to every call and escapes path segments', async function () {
    const p = new LxdClient({ socketPath: fake.socketPath, useEvents: false, project: 'blue' });
    fake.on('GET', /^\/1\.0\/images\/aliases\/.*/, () => sync({ name: 'juju/focal/amd64', target: 'f', description: '' }));
    fake.on('GET', '/1.0/instances', () => sync([]));
    await p.images.getAlias('juju/focal/amd64');
    await p.instances.list({ filter: 'status eq Running' });
    const [check, alias, list] = fake.requests;
    // the project is checked once, before the first call in it
    expect(check?.path).to.equal('/1.0/projects/blue');
    expect(check?.query.get('project')).to.equal(null);
    expect(fake.requests.filter((r) => r.path.startsWith('/1.0/projects/'))).to.have.length(1);
    expect(alias?.path).to.equal('/1.0/images/aliases/juju%2Ffocal%2Famd64');
    expect(alias?.query.get('project')).to.equal('blue');
    expect(list?.query.get('project')).to.equal('blue');
    expect(list?.query.get('filter')).to.equal('status eq Running');
    expect(list?.query.get('recursion')).to.equal('1');
    await p.close();
  });

  it('gives up at the per-request deadline with LxdTimeoutError', async function () {
    fake.on('GET', '/1.0/profiles/slow', () => ({ ...sync(profile('slow')), delayMs: 2_000 }));
    const err = await lxd.profiles.get('slow', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdTimeoutError);
    expect((err as LxdTimeoutError).timeoutMs).to.equal(100);
    expect((err as Error).message).to.contain('GET /1.0/profiles/slow');
  });

  it('rethrows the caller\'s own abort reason unwrapped', async function () {
    fake.on('GET', '/1.0/profiles/slow', () => ({ ...sync(profile('slow')), delayMs: 2_000 }));
    const ac = new AbortController();
    const reason = new Error('user cancelled');
    setTimeout(() => ac.abort(reason), 50);
    const err = await lxd.profiles.get('slow', { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).to.equal(reason);
  });

  describe('a daemon that stalls in the middle of a body', function () {
    // A broken deadline would leave the request waiting for ever: each wait here has a guard of its own
    // that fails in seconds and says which deadline did not fire, instead of mocha's 120 s time-out.
    this.timeout(10_000);
    const GUARD_MS = 3_000;
    function guarded<T>(what: string, promise: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const guard = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${GUARD_MS} ms, so it never fired`)), GUARD_MS);
      });
      return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
    }
    let server: Server;
    let dir: string;
    let socketPath: string;
    let closedConnections: number;

    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-stall-'));
      socketPath = join(dir, 'unix.socket');
      closedConnections = 0;
      server = createServer((req, res) => {
        req.socket.once('close', () => closedConnections++);
        if (req.url?.startsWith('/1.0/profiles/ok')) {
          res.writeHead(200, { 'content-type': 'application/json', etag: '"e1"' });
          // three chunks, to show the body is reassembled
          const body = JSON.stringify(sync(profile('ok')).body);
          res.write(body.slice(0, 10));
          setTimeout(() => {
            res.write(body.slice(10, 40));
            res.end(body.slice(40));
          }, 20);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"sync","status":"Success","status_code":200,"metadata":{"name":');
        // ...and never finishes
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    });
    afterEach(async function () {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });

    it('reassembles a body that arrives in pieces and keeps its ETag', async function () {
      const c = new LxdClient({ socketPath, useEvents: false });
      const r = await c.profiles.get('ok');
      expect(r.value.name).to.equal('ok');
      expect(r.etag).to.equal('"e1"');
      await c.close();
    });

    it('gives up at the deadline with LxdTimeoutError and drops the connection', async function () {
      const c = new LxdClient({ socketPath, useEvents: false });
      const started = Date.now();
      const err = await guarded('the 150 ms deadline of a request whose body stalls', c.profiles.get('stalls', { timeoutMs: 150 }).catch((e: unknown) => e));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(Date.now() - started).to.be.lessThan(2_000);
      // the half-read connection is not reused: the server sees it close
      for (let i = 0; i < 50 && closedConnections === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(closedConnections).to.equal(1);
      await c.close();
    });

    it('rethrows the caller\'s abort reason mid-body, and a signal aborted beforehand sends nothing', async function () {
      const c = new LxdClient({ socketPath, useEvents: false });
      const ac = new AbortController();
      const reason = new Error('user cancelled');
      setTimeout(() => ac.abort(reason), 80);
      expect(await guarded("the caller's abort of a request whose body stalls", c.profiles.get('stalls', { signal: ac.signal }).catch((e: unknown) => e))).to.equal(reason);
      let requests = 0;
      server.on('request', () => requests++);
      expect(await c.profiles.get('ok', { signal: ac.signal }).catch((e: unknown) => e)).to.equal(reason);
      expect(requests).to.equal(0);
      await c.close();
    });
  });

  it('names the socket and says what to do when permission is denied', async function () {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent.get('http://unix.socket').intercept({ path: '/1.0' }).replyWithError(Object.assign(new Error('connect EACCES /var/lib/lxd/unix.socket'), { code: 'EACCES' }));
    const c = new LxdClient({ dispatcher: agent, socketPath: '/var/lib/lxd/unix.socket' });
    const err = await c.server.get().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdConnectionError);
    expect((err as Error).message).to.equal('LXD socket /var/lib/lxd/unix.socket: permission denied; run as root or join the lxd group');
    await agent.close();
  });

  it('query() makes raw calls for endpoints lxdkit does not model', async function () {
    fake.on('GET', '/1.0/warnings', () => ({ ...sync([{ uuid: 'w1' }]), headers: { etag: '"w"' } }));
    fake.on('POST', '/1.0/instances/c1/backups', () => asyncAnswer({ id: 'op1', class: 'task', status: 'Running', status_code: 103 }));
    const plain = await lxd.query('GET', '/1.0/warnings', { query: { recursion: 1 } });
    expect(plain).to.deep.include({ status: 200, type: 'sync', metadata: [{ uuid: 'w1' }], etag: '"w"' });
    expect(fake.requests[0]?.query.get('recursion')).to.equal('1');
    const background = await lxd.query('POST', '/1.0/instances/c1/backups', { body: { name: 'b1' } });
    expect(background.type).to.equal('async');
    expect(background.operation?.id).to.equal('op1');
    const err = await lxd.query('GET', 'http://elsewhere/').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdValidationError);
    expect(fake.requests).to.have.length(2);
  });
});
