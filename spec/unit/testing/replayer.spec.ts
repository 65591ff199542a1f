import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { LxdClient } from '../../../lib/lxd/client.js';
import { LxdApiError, LxdEventsError, LxdNotFoundError } from '../../../lib/lxd/errors.js';
import { FixtureError, loadFixture, parseFixture } from '../../../lib/testing/fixture.js';
import { Replayer, ReplayMismatchError } from '../../../lib/testing/replayer.js';
import { startReplayServer } from '../../../lib/testing/server.js';
import { fixture, fixturePath, replay, type Replay } from '../fixtures/replay.js';
import { rejection } from '../../helpers/rejection.js';

describe('testing: Replayer', () => {
  let r: Replay;
  beforeEach(async () => {
    r = await replay('profiles/crud');
  });
  afterEach(() => r.close());

  it('an unrecorded request gets an LXD error naming it and the closest recorded request, and is reported', async () => {
    const err = await rejection(r.client.profiles.get('lxdkit-fx-other'));
    expect(err).to.be.instanceOf(LxdApiError);
    const msg = (err as LxdApiError).lxdMessage;
    expect(msg).to.include('no recorded interaction for GET /1.0/profiles/lxdkit-fx-other (GET /1.0/profiles/{name}, served by client.profiles.get)');
    expect(msg).to.include('it was never recorded');
    expect(msg).to.include('closest recorded: GET /1.0/profiles/lxdkit-fx-prof');
    expect(r.replayer.unmatched()).to.have.length(1);
    expect(r.replayer.unmatched()[0]).to.deep.include({ method: 'GET', path: '/1.0/profiles/lxdkit-fx-other' });
    const done = (() => {
      try {
        r.replayer.assertDone();
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(done).to.be.instanceOf(ReplayMismatchError);
    expect((done as ReplayMismatchError).message).to.include('unmatched: GET /1.0/profiles/lxdkit-fx-other');
    expect((done as ReplayMismatchError).pending).to.have.length(r.fixture.interactions.length);
    expect(() => r.replayer.assertDone({ allowPending: true })).to.throw(ReplayMismatchError);
  });

  it('an unrecorded request names the route and method of the table that serve it, or says that no spec has it', async () => {
    const zone = await rejection(r.client.query('GET', '/1.0/network-zones/example.com/records/www'));
    expect((zone as LxdApiError).lxdMessage).to.include('(GET /1.0/network-zones/{zone}/records/{name}, served by client.networkZones.records.get)');
    const raw = await rejection(r.client.query('GET', '/1.0/not-an-endpoint/x'));
    expect((raw as LxdApiError).lxdMessage).to.include("(not a path of LXD 5.0's or Incus 6.0's API)");
    const method = await rejection(r.client.query('PUT', '/1.0/operations'));
    expect((method as LxdApiError).lxdMessage).to.include("(no PUT on this path in LXD 5.0's or Incus 6.0's API)");
  });

  it('a request whose body differs from the recorded one is unmatched and the reason shows both bodies', async () => {
    const err = await rejection(r.client.profiles.create({ name: 'lxdkit-fx-prof', description: 'something else' }));
    const msg = (err as LxdApiError).lxdMessage;
    expect(msg).to.include('the body differs');
    expect(msg).to.include('"description":"something else"');
    expect(msg).to.include('"description":"fixture profile"');
  });

  it('answers identical requests in recorded order, each once; one more than recorded is reported as used up', async () => {
    const { client } = r;
    await client.profiles.create({ name: 'lxdkit-fx-prof', description: 'fixture profile', config: { 'limits.cpu': '1' } });
    const a = await client.profiles.get('lxdkit-fx-prof');
    const b = await client.profiles.get('lxdkit-fx-prof');
    expect(a.value.config['limits.cpu']).to.equal('1');
    expect(b.value.config['limits.cpu']).to.equal('2');
    // the third recorded GET came after the delete
    const c = await rejection(client.profiles.get('lxdkit-fx-prof'));
    expect(c).to.be.instanceOf(LxdNotFoundError);
    const d = await rejection(client.profiles.get('lxdkit-fx-prof'));
    expect(d).to.not.be.instanceOf(LxdNotFoundError);
    expect((d as LxdApiError).lxdMessage).to.include('all 3 recorded answer(s) to it were already used');
  });

  it('tells a stale If-Match from the recorded one', async () => {
    await r.client.profiles.create({ name: 'lxdkit-fx-prof', description: 'fixture profile', config: { 'limits.cpu': '1' } });
    await r.client.profiles.get('lxdkit-fx-prof');
    const err = await rejection(r.client.profiles.update('lxdkit-fx-prof', { description: 'updated', config: { 'limits.cpu': '2' }, devices: {} }, { etag: '"not-recorded"' }));
    expect((err as LxdApiError).lxdMessage).to.include('the If-Match header differs');
  });

  it('matchBody: false ignores request bodies', async () => {
    const loose = new Replayer(r.fixture, { matchBody: false });
    const client = new LxdClient({ dispatcher: loose.dispatcher, useEvents: false });
    await client.profiles.create({ name: 'lxdkit-fx-prof', description: 'run-unique 42' });
    expect(loose.unmatched()).to.deep.equal([]);
    await client.close();
    await loose.close();
  });
});

describe('testing: fixture loading', () => {
  it('rejects a file that is not a fixture, naming the problem', async () => {
    expect(() => parseFixture({ format: 1, interactions: [] }, 'x.json')).to.throw(FixtureError, /x\.json is not an lxdkit fixture \(lxd: /);
    const err = await rejection(loadFixture('/nonexistent/fixture.json'));
    expect(err).to.be.instanceOf(FixtureError);
    expect((err as FixtureError).message).to.include('cannot read fixture /nonexistent/fixture.json');
  });
});

describe('testing: startReplayServer', () => {
  it('serves an unmodified client on a unix socket; unrecorded event subscriptions are refused; close removes the socket', async () => {
    const server = await startReplayServer(await fixture('instances/lifecycle'));
    const client = new LxdClient({ socketPath: server.socketPath });
    try {
      const name = 'lxdkit-fx-life';
      expect((await (await client.instances.create({ name, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait()).status_code).to.equal(200);
      expect((await client.instances.get(name)).value.status).to.equal('Stopped');
      await (await client.instances.setState(name, { action: 'start' })).wait();
      expect((await client.instances.state(name)).value.status).to.equal('Running');
      await (await client.instances.setState(name, { action: 'stop', force: true })).wait();
      await (await client.instances.delete(name)).wait();
      server.replayer.assertDone();
      expect(server.refusedEventSubscriptions()).to.deep.equal(['/1.0/events?type=operation']);

      const sub = client.events.subscribe({ types: ['lifecycle'], reconnect: false });
      expect(await rejection(sub.ready)).to.be.instanceOf(LxdEventsError);
      sub.close();
    } finally {
      await client.close();
      await server.close();
    }
    expect(existsSync(server.socketPath)).to.equal(false);
    expect(existsSync(fixturePath('instances/lifecycle'))).to.equal(true);
  });
});
