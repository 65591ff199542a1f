import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockAgent } from 'undici';
import { LxdClient } from '../../../lib/lxd/client.js';
import { LOCAL_ORIGIN } from '../../../lib/lxd/transport.js';
import { parseFixture } from '../../../lib/testing/fixture.js';
import { Recorder } from '../../../lib/testing/recorder.js';
import { Replayer } from '../../../lib/testing/replayer.js';
import { startReplayServer } from '../../../lib/testing/server.js';
import { fixture } from '../fixtures/replay.js';

const OP = '7d1e0f52-33a4-4b8e-9f3c-5a6b7c8d9e0f';
const CREATED = '2026-11-25T15:27:09.123456789Z';
const DONE = '2026-11-25T15:27:10.5Z';

function op(status: string, code: number, updated: string) {
  return { id: OP, class: 'task', description: 'Creating instance', created_at: CREATED, updated_at: updated, status, status_code: code, resources: { instances: ['/1.0/instances/app-9f8e7d-c1'] }, metadata: null, may_cancel: false, err: '', location: 'none' };
}

/** A daemon stand-in: undici's MockAgent answering like LXD 5.0.2 (secrets, a UUID, timestamps). */
function fakeDaemon(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(LOCAL_ORIGIN);
  const json = { 'content-type': 'application/json' };
  pool
    .intercept({ path: '/1.0', method: 'GET' })
    .reply(200, { type: 'sync', status: 'Success', status_code: 200, metadata: { api_extensions: ['etag', 'events'], api_status: 'stable', api_version: '1.0', auth: 'trusted', environment: { server_version: '5.0.2', certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } } }, { headers: { ...json, etag: '"e1"' } })
    .persist();
  pool
    .intercept({ path: '/1.0/instances', method: 'POST' })
    .reply(202, { type: 'async', status: 'Operation created', status_code: 100, operation: `/1.0/operations/${OP}`, metadata: op('Running', 103, CREATED) }, { headers: { ...json, location: `/1.0/operations/${OP}` } });
  pool.intercept({ path: `/1.0/operations/${OP}/wait?timeout=5`, method: 'GET' }).reply(200, { type: 'sync', status: 'Success', status_code: 200, metadata: op('Success', 200, DONE) }, { headers: json });
  pool.intercept({ path: `/1.0/operations/${OP}`, method: 'GET' }).reply(200, { type: 'sync', status: 'Success', status_code: 200, metadata: op('Success', 200, DONE) }, { headers: json });
  pool
    .intercept({ path: '/1.0/profiles/app-9f8e7d-p', method: 'PUT' })
    .reply(412, { type: 'error', error_code: 412, error: "ETag doesn't match: aa vs bb", metadata: null }, { headers: json });
  return agent;
}

async function scenario(client: LxdClient): Promise<void> {
  await (await client.instances.create({ name: 'app-9f8e7d-c1', source: { type: 'image', alias: 'busybox', secret: 'hunter2' } })).wait();
  await client.profiles.update('app-9f8e7d-p', { config: {} }, { etag: '"bb"' }).catch(() => undefined);
}

describe('testing: Recorder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-rec-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records every request/response pair the client makes, normalised, and saves a valid fixture', async () => {
    const daemon = fakeDaemon();
    const rec = new Recorder({ dispatcher: daemon, replace: { 'app-9f8e7d': 'app' }, hostname: 'nohost' });
    const client = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
    await scenario(client);
    const file = join(dir, 'sub', 'create.json');
    const saved = await rec.save(file, { description: 'create and a stale update' });
    await client.close();
    await rec.close();
    await daemon.close();

    const fx = parseFixture(JSON.parse(await readFile(file, 'utf8')));
    expect(fx).to.deep.equal(saved);
    expect(fx.lxd).to.deep.equal({ version: '5.0.2', api_extensions_count: 2 });
    expect(fx.recordedAt).to.equal('2000-01-01T00:00:00Z');
    expect(fx.interactions.map((i) => `${i.request.method} ${i.request.path} ${i.response.status}`)).to.deep.equal([
      'POST /1.0/instances 202',
      'GET /1.0/operations/00000000-0000-4000-8000-000000000001/wait 200',
      'GET /1.0/operations/00000000-0000-4000-8000-000000000001 200',
      'PUT /1.0/profiles/app-p 412',
    ]);
    const [create, wait, , put] = fx.interactions;
    // the operation UUID is the same placeholder in the header, the envelope, the metadata and the next paths
    expect(create!.response.headers['location']).to.equal('/1.0/operations/00000000-0000-4000-8000-000000000001');
    expect(create!.response.body).to.deep.include({ operation: '/1.0/operations/00000000-0000-4000-8000-000000000001' });
    // request bodies are kept, with run-unique names replaced and secrets redacted
    expect(create!.request.body).to.deep.equal({ name: 'app-c1', source: { type: 'image', alias: 'busybox', secret: '[redacted]' } });
    expect(wait!.request.query).to.deep.equal({ timeout: '5' });
    // timestamps follow a fixed sequence in order: created before updated
    const md = (wait!.response.body as { metadata: { created_at: string; updated_at: string } }).metadata;
    expect([md.created_at, md.updated_at]).to.deep.equal(['2000-01-01T00:00:00Z', '2000-01-01T00:00:01Z']);
    // If-Match is kept so the replay can tell a stale ETag from a fresh one
    expect(put!.request.headers).to.deep.equal({ 'if-match': '"bb"' });
    expect(JSON.stringify(fx)).to.not.include('hunter2').and.not.include('9f8e7d').and.not.include(OP);
  });

  it('a saved fixture replays: the same client code gets the same results without the daemon', async () => {
    const daemon = fakeDaemon();
    const rec = new Recorder({ dispatcher: daemon, replace: { 'app-9f8e7d': 'app' } });
    const recording = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
    await scenario(recording);
    const fx = await rec.fixture();
    await recording.close();
    await rec.close();
    await daemon.close();

    const replayer = new Replayer(fx);
    const client = new LxdClient({ dispatcher: replayer.dispatcher, useEvents: false });
    const done = await (await client.instances.create({ name: 'app-c1', source: { type: 'image', alias: 'busybox', secret: '[redacted]' } })).wait();
    expect(done.status_code).to.equal(200);
    const err = await client.profiles.update('app-p', { config: {} }, { etag: '"bb"' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.have.property('code', 'LXD_ERR_ETAG_MISMATCH');
    replayer.assertDone();
    await client.close();
    await replayer.close();
  });

  it('recordEvents captures a stream with the point each event arrived at (re-recording a replay reproduces it)', async () => {
    const original = await fixture('events/lifecycle');
    const server = await startReplayServer([original, await fixture('server/get')]);
    const rec = new Recorder({ socketPath: server.socketPath });
    const client = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false });
    try {
      await rec.recordEvents({ types: ['lifecycle'], settleMs: 100 }, async () => {
        const name = 'lxdkit-fx-ev';
        await (await client.instances.create({ name, source: { type: 'image', alias: 'lxdkit/busybox' } })).wait();
        await (await client.instances.setState(name, { action: 'start' })).wait();
        await (await client.instances.setState(name, { action: 'stop', force: true })).wait();
        await (await client.instances.delete(name)).wait();
      });
      const again = await rec.fixture({ description: original.description! });
      expect(again.interactions).to.deep.equal(original.interactions);
      expect(again.events).to.have.length(1);
      expect(again.events![0]!.query).to.deep.equal({ type: 'lifecycle' });
      expect(again.events![0]!.messages.map((m) => m.message)).to.deep.equal(original.events![0]!.messages.map((m) => m.message));
      // each event was recorded no earlier than the response it followed in the original
      for (const [i, m] of again.events![0]!.messages.entries()) expect(m.after).to.be.at.least(original.events![0]!.messages[i]!.after - 1);
      expect(again.lxd).to.deep.equal(original.lxd);
    } finally {
      await client.close();
      await rec.close();
      await server.close();
    }
  });

  it('recordEvents fails loudly when the events stream breaks during the block', async () => {
    const server = await startReplayServer(await fixture('events/lifecycle'));
    const rec = new Recorder({ socketPath: server.socketPath });
    try {
      const err = await rec
        .recordEvents({ types: ['lifecycle'], settleMs: 10 }, async () => {
          await server.close();
          // let the client side see the connection go
          await new Promise((r) => setTimeout(r, 100));
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).to.have.property('code', 'TESTING_ERR_RECORDING');
      expect((err as Error).message).to.include('the events stream broke while recording');
    } finally {
      await rec.close();
      await server.close();
    }
  });
});
