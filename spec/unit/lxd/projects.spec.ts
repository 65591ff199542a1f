import { expect } from 'chai';
import {
  LxdClient,
  LxdExtensionMissingError,
  LxdNotFoundError,
  LxdPreconditionFailedError,
  LxdValidationError,
  projectFeatures,
} from '../../../lib/lxd/index.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';

const project = (name: string, config: Record<string, string> = {}, description = '') => ({ name, description, config, used_by: [] });

describe('projects (fake LXD)', function () {
  let fake: FakeLxd;
  const clients: LxdClient[] = [];
  const client = (opts: ConstructorParameters<typeof LxdClient>[0] = {}): LxdClient => {
    const c = new LxdClient({ socketPath: fake.socketPath, useEvents: false, ...opts });
    clients.push(c);
    return c;
  };

  beforeEach(async function () {
    fake = await startFakeLxd();
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    await fake.close();
  });

  const checks = () => fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/1.0/projects/'));

  it('checks the client\'s project once, before its first call, shared by calls made at once; never for default or no project', async function () {
    fake.on('GET', '/1.0/instances', () => sync([]));
    fake.on('GET', '/1.0/profiles', () => sync([]));
    const blue = client({ project: 'blue' });
    await Promise.all([blue.instances.list(), blue.profiles.list(), blue.instances.list()]);
    await blue.instances.list();
    expect(checks().map((r) => r.path)).to.deep.equal(['/1.0/projects/blue']);
    expect(fake.requests.filter((r) => r.path === '/1.0/instances').every((r) => r.query.get('project') === 'blue')).to.equal(true);
    // another client of the same project checks for itself; default and no project are never checked
    await blue.withProject('green').instances.list();
    await client({ project: 'default' }).instances.list();
    await client().instances.list();
    expect(checks().map((r) => r.path)).to.deep.equal(['/1.0/projects/blue', '/1.0/projects/green']);
    // all projects: no check
    await client({ project: 'red' }).instances.list({ allProjects: true });
    expect(checks()).to.have.length(2);
  });

  it('a project that does not exist: LxdNotFoundError naming it on every call, the events socket never opened; checked again next time', async function () {
    let exists = false;
    fake.on('GET', '/1.0/projects/:name', (req) => (exists ? sync(project(req.params['name']!)) : lxdError(404, 'Project not found')));
    fake.on('GET', '/1.0/instances', () => sync([]));
    const ghost = client({ project: 'ghost' });
    const err = await rejection(ghost.instances.list());
    expect(err).to.be.instanceOf(LxdNotFoundError);
    expect((err as LxdNotFoundError).project).to.equal('ghost');
    expect(err.message).to.equal('GET /1.0/projects/ghost: Project not found (HTTP 404)');
    expect(fake.requests.some((r) => r.path === '/1.0/instances'), 'the list itself was never sent').to.equal(false);
    const sub = ghost.events.subscribe();
    expect(await rejection(sub.ready)).to.be.instanceOf(LxdNotFoundError);
    expect(fake.eventQueries).to.deep.equal([]);
    exists = true;
    expect(await ghost.instances.list()).to.deep.equal([]);
    expect(checks()).to.have.length(3);
  });

  it('one caller aborting does not fail the others waiting on the same check', async function () {
    fake.on('GET', '/1.0/projects/:name', (req) => ({ ...sync(project(req.params['name']!)), delayMs: 150 }));
    fake.on('GET', '/1.0/instances', () => sync([]));
    const blue = client({ project: 'blue' });
    const ac = new AbortController();
    const first = blue.instances.list({ signal: ac.signal });
    const second = blue.instances.list();
    ac.abort(new Error('mine'));
    expect((await rejection(first)).message).to.equal('mine');
    expect(await second).to.deep.equal([]);
    expect(checks()).to.have.length(1);
  });

  it('project calls carry no project= whatever the client\'s project; create validates names before any request', async function () {
    fake.on('GET', '/1.0/projects', () => sync([project('default'), project('p1', { 'features.images': 'true', 'features.profiles': 'false' })]));
    fake.on('POST', '/1.0/projects', () => sync(null, { status: 201 }));
    fake.on('GET', '/1.0/projects/:name/state', () => sync({ resources: { instances: { Limit: -1, Usage: 2 } } }));
    const blue = client({ project: 'blue' });
    const list = await blue.projects.list();
    expect(list.map((p) => p.name)).to.deep.equal(['default', 'p1']);
    expect(projectFeatures(list[1]!)).to.deep.equal(['images']);
    await blue.projects.create({ name: 'p2', config: { 'features.images': 'false' } });
    expect((await blue.projects.state('p1')).resources['instances']).to.deep.equal({ Limit: -1, Usage: 2 });
    expect(fake.requests.every((r) => r.query.get('project') === null)).to.equal(true);
    expect(fake.requestsTo('POST', '/1.0/projects')[0]?.body).to.deep.equal({ name: 'p2', config: { 'features.images': 'false' } });
    const before = fake.requests.length;
    for (const bad of ['a b', 'a_b', 'a/b', '', '..']) expect(await rejection(blue.projects.create({ name: bad })), bad).to.be.instanceOf(LxdValidationError);
    expect(await rejection(blue.projects.create({ name: 'ok', config: { 'limits.cpu': 2 as unknown as string } }))).to.be.instanceOf(LxdValidationError);
    expect(fake.requests.length).to.equal(before);
  });

  it('patch merges: it reads the project and PUTs the merged config with the ETag it read (the servers\' PATCH would replace the config)', async function () {
    let config: Record<string, string> = { 'features.profiles': 'true', 'limits.instances': '3' };
    let etag = 1;
    fake.on('GET', '/1.0/projects/p1', () => sync(project('p1', config, 'd'), { etag: `"e${etag}"` }));
    fake.on('PUT', '/1.0/projects/p1', (req) => {
      if (req.headers['if-match'] !== `"e${etag}"`) return lxdError(412, 'ETag doesn\'t match');
      config = (req.body as { config: Record<string, string> }).config;
      etag += 1;
      return sync(null);
    });
    const c = client();
    await c.projects.patch('p1', { config: { 'limits.containers': '2' } });
    expect(config).to.deep.equal({ 'features.profiles': 'true', 'limits.instances': '3', 'limits.containers': '2' });
    expect(fake.requestsTo('PUT', '/1.0/projects/p1')[0]?.body).to.deep.equal({ description: 'd', config });
    expect(fake.requestsTo('PATCH', '/1.0/projects/p1')).to.deep.equal([]);
    // the caller's ETag is the one sent: a stale one is refused
    expect(await rejection(c.projects.patch('p1', { description: 'x' }, { etag: '"e1"' }))).to.be.instanceOf(LxdPreconditionFailedError);
  });

  it('patch without an ETag merges again when the project changed in between (3 tries)', async function () {
    let puts = 0;
    fake.on('GET', '/1.0/projects/p1', () => sync(project('p1', { a: '1' }), { etag: '"e"' }));
    fake.on('PUT', '/1.0/projects/p1', () => (++puts < 3 ? lxdError(412, 'ETag doesn\'t match') : sync(null)));
    await client().projects.patch('p1', { config: { b: '2' } });
    expect(puts).to.equal(3);
    puts = -10;
    expect(await rejection(client().projects.patch('p1', { config: { b: '2' } }))).to.be.instanceOf(LxdPreconditionFailedError);
  });

  it('operations.list({ allProjects }) needs operations_get_query_all_projects: without it (LXD 5.0.2) it refuses instead of listing default\'s only', async function () {
    fake.on('GET', '/1.0/operations', () => sync({}));
    const err = await rejection(client().operations.list({ allProjects: true }));
    expect(err).to.be.instanceOf(LxdExtensionMissingError);
    expect(fake.requestsTo('GET', '/1.0/operations')).to.deep.equal([]);
    fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['operations_get_query_all_projects'] })));
    expect(await client().operations.list({ allProjects: true })).to.deep.equal([]);
    expect(fake.requestsTo('GET', '/1.0/operations')[0]?.query.get('all-projects')).to.equal('true');
  });
});
