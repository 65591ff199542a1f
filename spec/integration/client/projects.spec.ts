/**
 * `client.projects` and the client's project, on LXD 5.0.2 and on Incus 6.0: the collection verbs,
 * isolation of profiles and instances from `default`, and every resource (events, the operations
 * hub, operation lists) scoped to the client's project. Projects are named `lxdkit-spec-pj-*` and
 * removed with everything in them.
 */
import { expect } from 'chai';
import {
  LxdApiError,
  LxdClient,
  LxdConflictError,
  LxdExtensionMissingError,
  LxdNotFoundError,
  LxdPreconditionFailedError,
  LxdValidationError,
  projectFeatures,
  type LxdEvent,
} from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { removeProject, removeProjects } from '../../helpers/projects.js';
import { rejection } from '../../helpers/rejection.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { uniqueSuffix } from '../../helpers/lxd-env.js';

const PREFIX = 'lxdkit-spec-pj-';
/** A logger that keeps the path of every request the client logs. */
function pathLogger(): { logger: Logger; paths: string[] } {
  const paths: string[] = [];
  const log = (a: unknown, b?: string): void => {
    if (b === 'lxd request' && a && typeof a === 'object') paths.push(String((a as { path?: unknown }).path));
  };
  const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
  return { logger, paths };
}

/** An instance with an empty root file system: created and deleted, never started (no image needed). */
const emptyInstance = (name: string) => ({ name, source: { type: 'none' as const }, devices: { root: { type: 'disk', path: '/', pool: 'default' } } });

describeEachServer('projects', (server) => {
  let lxd: LxdClient;
  const run = `${PREFIX}${uniqueSuffix()}`;

  before(async function () {
    lxd = await requireServer(this, server);
    await removeProjects(lxd, PREFIX);
  });

  after(async function () {
    if (!lxd) return;
    await removeProjects(lxd, run);
    await lxd.close();
  });

  it('creates a project with features, reads it with its ETag, updates (a stale ETag is refused), patches, renames, reads its state and deletes it', async function () {
    const name = `${run}-crud`;
    await lxd.projects.create({ name, description: 'spec', config: { 'features.images': 'false', 'features.profiles': 'true' } });
    try {
      const first = await lxd.projects.get(name);
      expect(first.etag).to.match(/^"[0-9a-f]{64}"$/);
      expect(first.value).to.deep.include({ name, description: 'spec' });
      // features left out take the server's defaults: storage volumes of its own on both servers
      expect(projectFeatures(first.value)).to.include.members(['profiles', 'storage.volumes']).and.not.include('images');
      expect(first.value.used_by).to.deep.equal([`/1.0/profiles/default?project=${name}`]);
      expect(await lxd.projects.list({ recursion: 0 })).to.include.members(['default', name]);
      expect((await lxd.projects.list()).find((p) => p.name === name)?.description).to.equal('spec');

      await lxd.projects.update(name, { description: 'updated', config: { ...first.value.config, 'limits.instances': '3' } }, { etag: first.etag! });
      const stale = await rejection(lxd.projects.update(name, { description: 'stale', config: first.value.config }, { etag: first.etag! }));
      expect(stale).to.be.instanceOf(LxdPreconditionFailedError);
      // merged, although the servers' own PATCH would replace the whole config
      await lxd.projects.patch(name, { config: { 'limits.containers': '2' } });
      const second = (await lxd.projects.get(name)).value;
      expect(second.description).to.equal('updated');
      expect(second.config).to.deep.include({ 'limits.instances': '3', 'limits.containers': '2', 'features.profiles': 'true', 'features.images': 'false' });

      const state = await lxd.projects.state(name);
      expect(state.resources['instances']).to.deep.equal({ Limit: 3, Usage: 0 });
      expect(state.resources['containers']).to.deep.equal({ Limit: 2, Usage: 0 });

      await lxd.projects.rename(name, `${name}-b`);
      expect(await rejection(lxd.projects.get(name))).to.be.instanceOf(LxdNotFoundError);
      expect((await lxd.projects.get(`${name}-b`)).value.description).to.equal('updated');
      await lxd.projects.delete(`${name}-b`);
      expect(await lxd.projects.list({ recursion: 0 })).to.not.include(`${name}-b`);
    } finally {
      await removeProject(lxd, name);
      await removeProject(lxd, `${name}-b`);
    }
  });

  it('refuses a duplicate project as a conflict and bad names before any request', async function () {
    const name = `${run}-dup`;
    await lxd.projects.create({ name });
    try {
      const dup = await rejection(lxd.projects.create({ name }));
      expect(dup).to.be.instanceOf(LxdConflictError);
      for (const bad of ['', 'a/b', 'a b', 'a_b', '*', '..', `a"b`]) {
        expect(await rejection(lxd.projects.create({ name: bad })), bad).to.be.instanceOf(LxdValidationError);
      }
      expect(() => new LxdClient({ project: 'a_b' })).to.throw(LxdValidationError);
    } finally {
      await removeProject(lxd, name);
    }
  });

  it('storage buckets: a feature of Incus (extension storage_buckets) that LXD 5.0.2 refuses as an unknown project key', async function () {
    const name = `${run}-bk`;
    const buckets = await lxd.server.hasExtension('storage_buckets');
    expect(buckets, 'LXD 5.0.2 has no storage buckets; Incus 6.0 has them').to.equal(server.kind === 'incus');
    try {
      if (buckets) {
        await lxd.projects.create({ name, config: { 'features.storage.buckets': 'true' } });
        expect(projectFeatures((await lxd.projects.get(name)).value)).to.include('storage.buckets');
      } else {
        const err = await rejection(lxd.projects.create({ name, config: { 'features.storage.buckets': 'true' } }));
        expect(err).to.be.instanceOf(LxdApiError);
        expect((err as LxdApiError).status).to.equal(400);
        expect((err as LxdApiError).lxdMessage).to.equal('Invalid project configuration key "features.storage.buckets"');
      }
    } finally {
      await removeProject(lxd, name);
    }
  });

  it('a project that does not exist is reported on every call, where the servers answer lists with nothing', async function () {
    const name = `${run}-none`;
    // what the servers do: an empty instance list and an operation map, no error
    expect((await lxd.query('GET', `/1.0/instances?project=${name}`)).metadata).to.deep.equal([]);
    expect((await lxd.query('GET', `/1.0/operations?project=${name}`)).status).to.equal(200);
    // an instance of it: LXD 5.0.2 says the instance is not found, Incus that the project is not
    const raw = await rejection(lxd.query('GET', `/1.0/instances/x1?project=${name}`));
    expect((raw as LxdNotFoundError).lxdMessage).to.equal(server.kind === 'lxd' ? 'Instance not found' : 'Project not found');

    // what lxdkit does: asks once whether the project exists, and says it does not
    const ghost = new LxdClient({ socketPath: server.socket, project: name });
    try {
      for (const call of [() => ghost.instances.list(), () => ghost.operations.list(), () => ghost.instances.get('x1'), () => ghost.profiles.list(), () => ghost.server.get()]) {
        const err = await rejection(call());
        expect(err, String(call)).to.be.instanceOf(LxdNotFoundError);
        expect((err as LxdNotFoundError).project).to.equal(name);
        expect((err as LxdNotFoundError).path).to.equal(`/1.0/projects/${name}`);
        expect(err.message).to.match(/Project not found/);
      }
      const sub = ghost.events.subscribe({ types: ['lifecycle'] });
      expect(await rejection(sub.ready)).to.be.instanceOf(LxdNotFoundError);
      expect(sub.isClosed).to.equal(true);
      // a failed check is not remembered: once the project exists, the same client works
      await lxd.projects.create({ name });
      expect(await ghost.instances.list()).to.deep.equal([]);
      const later = ghost.events.subscribe({ types: ['lifecycle'] });
      await later.ready;
      later.close();
    } finally {
      await ghost.close();
      await removeProject(lxd, name);
    }
  });

  it('a project of its own isolates its profiles and instances from default, checked by listing both', async function () {
    const name = `${run}-iso`;
    await lxd.projects.create({ name, config: { 'features.profiles': 'true', 'features.images': 'true' } });
    const inside = lxd.withProject(name);
    const profile = `${run}-prof`;
    const inst = `${run}-inst`;
    const outsideProfile = `${run}-outside`;
    try {
      await inside.profiles.create({ name: profile, description: 'only in the project' });
      await (await inside.instances.create(emptyInstance(inst))).wait({ timeoutMs: 60_000 });
      await lxd.profiles.create({ name: outsideProfile });

      expect(await inside.profiles.list({ recursion: 0 })).to.have.members(['default', profile]);
      expect(await lxd.profiles.list({ recursion: 0 })).to.include(outsideProfile).and.not.include(profile);
      expect(await inside.instances.list({ recursion: 0 })).to.deep.equal([inst]);
      expect(await lxd.instances.list({ recursion: 0 })).to.not.include(inst);
      // its default profile is its own, and empty
      expect((await inside.profiles.get('default')).value).to.deep.include({ config: {}, devices: {} });
      // images of its own: default's test image is not there
      expect(await inside.images.listAliases()).to.deep.equal([]);
      // the same name may live in both projects
      await (await lxd.instances.create(emptyInstance(inst))).wait({ timeoutMs: 60_000 });
      expect((await lxd.instances.get(inst)).value.project ?? 'default').to.equal('default');
      expect((await inside.instances.get(inst)).value.project).to.equal(name);
      // every project at once
      const all = await lxd.instances.list({ allProjects: true });
      expect(all.filter((i) => i.name === inst).map((i) => i.project).sort()).to.deep.equal(['default', name].sort());
    } finally {
      await (await lxd.instances.delete(inst)).wait().catch(() => {});
      await lxd.profiles.delete(outsideProfile).catch(() => {});
      await inside.close();
      await removeProject(lxd, name);
    }
  });

  it('events, the operations hub and operation lists follow the client\'s project', async function () {
    const name = `${run}-ev`;
    await lxd.projects.create({ name, config: { 'features.profiles': 'true', 'features.images': 'true', 'features.storage.volumes': 'true' } });
    const requests = pathLogger();
    const inside = new LxdClient({ socketPath: server.socket, project: name, logger: requests.logger });
    const polling = new LxdClient({ socketPath: server.socket, project: name, logger: requests.logger, useEvents: false });
    const inst = `${run}-evi`;
    const seen = { project: [] as LxdEvent[], other: [] as LxdEvent[] };
    const inProject = inside.events.subscribe({ types: ['lifecycle', 'operation'] });
    const inDefault = lxd.events.subscribe({ types: ['lifecycle', 'operation'] });
    try {
      await Promise.all([inProject.ready, inDefault.ready]);
      inProject.on('event', (e) => seen.project.push(e));
      inDefault.on('event', (e) => {
        if (JSON.stringify(e).includes(inst)) seen.other.push(e);
      });
      const op = await inside.instances.create(emptyInstance(inst));
      const done = await op.wait({ timeoutMs: 60_000 });
      expect(done.status_code).to.equal(200);
      // the operation is listed in the project (for 5 s after it ended), not in default
      const [mine, theirs, all] = await Promise.all([inside.operations.list(), lxd.operations.list(), lxd.operations.list({ allProjects: true }).catch((e: unknown) => e)]);
      expect(mine.map((o) => o.id)).to.include(op.id);
      expect(theirs.map((o) => o.id)).to.not.include(op.id);
      // every project's: Incus has the extension; LXD 5.0.2 would ignore all-projects and list default's only
      if (await lxd.server.hasExtension('operations_get_query_all_projects')) {
        expect(server.kind).to.equal('incus');
        expect((all as { id: string }[]).map((o) => o.id)).to.include(op.id);
      } else {
        expect(server.kind).to.equal('lxd');
        expect(all).to.be.instanceOf(LxdExtensionMissingError);
      }
      // waited through the project's own operation events (a socket of another project would hear
      // nothing and the wait would time out): no /wait long-poll was sent
      expect(requests.paths).to.include('/1.0/instances');
      expect(requests.paths.filter((p) => p.endsWith('/wait'))).to.deep.equal([]);
      // without events the same wait long-polls the project's operation
      await (await polling.instances.create(emptyInstance(`${inst}-p`))).wait({ timeoutMs: 60_000 });
      expect(requests.paths.filter((p) => p.endsWith('/wait')).length).to.be.greaterThan(0);
      await (await polling.instances.delete(`${inst}-p`)).wait({ timeoutMs: 60_000 });
      await (await inside.instances.delete(inst)).wait({ timeoutMs: 60_000 });
      const until = Date.now() + 5_000;
      while (!seen.project.some((e) => e.type === 'lifecycle' && e.metadata.action === 'instance-deleted') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const actions = seen.project.flatMap((e) => (e.type === 'lifecycle' ? [e.metadata.action] : []));
      expect(actions).to.include.members(['instance-created', 'instance-deleted']);
      expect(seen.project.every((e) => e.project === name)).to.equal(true);
      expect(seen.project.some((e) => e.type === 'operation' && e.metadata.id === op.id)).to.equal(true);
      expect(seen.other, 'default\'s subscription hears nothing of the project').to.deep.equal([]);
    } finally {
      inProject.close();
      inDefault.close();
      await inside.close();
      await polling.close();
      await removeProject(lxd, name);
    }
  });
});
