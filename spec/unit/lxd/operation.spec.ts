import { expect } from 'chai';
import {
  LxdClient,
  LxdOperationLostError,
  LxdOperationError,
  LxdTimeoutError,
  type OperationProgress,
} from '../../../lib/lxd/index.js';
import { asyncAnswer, lxdError, operationObject as operation, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const inst = { name: 'c1', status: 'Stopped', status_code: 102, config: {}, devices: {}, profiles: ['default'] };

describe('Operation.wait', function () {
  let fake: FakeLxd;

  beforeEach(async function () {
    fake = await startFakeLxd();
  });
  afterEach(async function () {
    await fake.close();
  });

  function startAsync(op: Record<string, unknown>): void {
    fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
  }

  describe('through /wait (no events)', function () {
    let lxd: LxdClient;
    beforeEach(function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    });
    afterEach(async function () {
      await lxd.close();
    });

    it('LXD 5.0.2: a timed-out /wait answers the Running operation; waiting goes on until Success', async function () {
      const op = operation();
      startAsync(op);
      let waits = 0;
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => {
        waits += 1;
        return sync(waits < 3 ? op : { ...op, status: 'Success', status_code: 200 });
      });
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 });
      expect(done.status_code).to.equal(200);
      expect(waits).to.equal(3);
      expect(fake.requestsTo('GET', `/1.0/operations/${String(op['id'])}/wait`)[0]?.query.get('timeout')).to.equal('5');
    });

    it('LXD 5.0.3+: an error envelope on HTTP 200 is classified by a GET of the operation (failure)', async function () {
      const op = operation();
      startAsync(op);
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => lxdError(200, 'Failed to start device "eth0"', 400));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync({ ...op, status: 'Failure', status_code: 400, err: 'Failed to start device "eth0"' }));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      expect((err as LxdOperationError).message).to.equal('Failed to start device "eth0"');
      expect((err as LxdOperationError).operation.status_code).to.equal(400);
    });

    it('LXD 5.0.3+: a "context deadline exceeded" envelope on HTTP 200 means still running, not failed', async function () {
      const op = operation();
      startAsync(op);
      let waits = 0;
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => {
        waits += 1;
        return waits === 1 ? lxdError(200, 'context deadline exceeded', 500) : sync({ ...op, status: 'Success', status_code: 200 });
      });
      let gets = 0;
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => {
        gets += 1;
        return sync(gets === 1 ? op : { ...op, status: 'Success', status_code: 200 });
      });
      const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 });
      expect(done.status).to.equal('Success');
      expect(waits).to.equal(2);
    });

    it('rejects an operation that ended Cancelled (401), as one that ended in Failure', async function () {
      const op = operation();
      startAsync(op);
      const cancelled = { ...op, status: 'Cancelled', status_code: 401, err: 'Operation cancelled' };
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync(cancelled));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync(cancelled));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      expect(err).to.have.property('code', 'LXD_ERR_OPERATION_FAILED');
      expect((err as LxdOperationError).message).to.equal('Operation cancelled');
      expect((err as LxdOperationError).operation.status_code).to.equal(401);
    });

    it('names the status of a Cancelled operation that has no err text', async function () {
      const op = operation();
      startAsync(op);
      const cancelled = { ...op, status: 'Cancelled', status_code: 401, err: '' };
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync(cancelled));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync(cancelled));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      expect((err as Error).message).to.equal(`operation ${String(op['id'])} ended with status Cancelled`);
    });

    it('reports an operation that vanished before its outcome was seen', async function () {
      const op = operation();
      startAsync(op);
      fake.on('GET', /^\/1\.0\/operations\//, () => lxdError(404, 'Operation not found'));
      const started = Date.now();
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationLostError);
      expect(err).to.have.property('code', 'LXD_ERR_OPERATION_LOST');
      expect(err).to.have.property('daemonRestarted', false);
      expect((err as Error).message).to.contain('outcome was not seen');
      // said at once, not at the deadline
      expect(Date.now() - started).to.be.below(1_000);
    });

    it('never hangs past its deadline', async function () {
      const op = operation();
      startAsync(op);
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => ({ ...sync(op), delayMs: 5_000 }));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect((err as Error).message).to.contain(String(op['id']));
      expect((err as LxdTimeoutError).timeoutMs).to.equal(200);
    });

    it('never sends a state timeout unless asked (LXD 5.0.2 treats 0 as "kill now")', async function () {
      const op = operation({ status: 'Success', status_code: 200 });
      startAsync(op);
      await lxd.instances.setState('c1', { action: 'stop' });
      await lxd.instances.setState('c1', { action: 'stop', force: true });
      await lxd.instances.setState('c1', { action: 'stop', timeout: 0 });
      await lxd.instances.setState('c1', { action: 'restart', timeout: -1 });
      expect(fake.requestsTo('PUT', '/1.0/instances/c1/state').map((r) => r.body)).to.deep.equal([
        { action: 'stop' },
        { action: 'stop', force: true },
        { action: 'stop', timeout: 0 },
        { action: 'restart', timeout: -1 },
      ]);
    });

    it('waits for endpoints that turned async in newer LXD (profile PUT on 6.6+)', async function () {
      const op = operation({ resources: { profiles: ['/1.0/profiles/p'] } });
      fake.on('PUT', '/1.0/profiles/p', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      await lxd.profiles.update('p', { config: {} });
      expect(fake.requestsTo('GET', `/1.0/operations/${String(op['id'])}/wait`)).to.have.length(1);
    });
  });

  describe('through events', function () {
    let lxd: LxdClient;
    beforeEach(function () {
      lxd = new LxdClient({ socketPath: fake.socketPath });
    });
    afterEach(async function () {
      await lxd.close();
    });

    it('subscribes before the request, waits for the final event, reports progress and never calls /wait', async function () {
      const op = operation({ description: 'Creating instance' });
      const id = String(op['id']);
      let subscribedBeforeRequest = false;
      fake.on('POST', '/1.0/instances', () => {
        subscribedBeforeRequest = fake.eventClients.size === 1;
        setTimeout(() => {
          fake.emit('operation', { ...op, metadata: { download_progress: 'rootfs: 40% (10MB/s)' } });
          fake.emit('operation', { ...op, metadata: { download_progress: 'rootfs: 90% (10MB/s)' } });
          fake.emit('operation', { ...op, status: 'Success', status_code: 200 });
          // a late, stale event (events are not ordered) must not undo the final state
          fake.emit('operation', { ...op, status: 'Running', status_code: 103 });
        }, 20);
        return asyncAnswer(op);
      });
      fake.on('GET', `/1.0/operations/${id}`, () => sync(op));
      const progress: OperationProgress[] = [];
      const done = await (await lxd.instances.create({ name: 'c1', source: { type: 'image', alias: 'a' } })).wait({ timeoutMs: 5_000, onProgress: (p) => progress.push(p) });
      expect(subscribedBeforeRequest).to.equal(true);
      expect(fake.eventQueries[0]?.get('type')).to.equal('operation');
      expect(done.status_code).to.equal(200);
      expect(progress.map((p) => [p.stage, p.percent])).to.deep.equal([['download_progress', 40], ['download_progress', 90]]);
      expect(fake.requests.filter((r) => r.path.endsWith('/wait'))).to.have.length(0);
    });

    it('remembers an outcome that arrived before wait() was called, after LXD has forgotten the operation', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => fake.emit('operation', { ...op, status: 'Success', status_code: 200 }), 10);
        return asyncAnswer(op);
      });
      fake.on('GET', /^\/1\.0\/operations\//, () => lxdError(404, 'Operation not found'));
      const pending = await lxd.instances.setState('c1', { action: 'start' });
      await new Promise((r) => setTimeout(r, 100));
      const done = await pending.wait({ timeoutMs: 5_000 });
      expect(done.status_code).to.equal(200);
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations/'))).to.have.length(0);
    });

    it('asks LXD only when events may have been lost: none of the waits here needed a GET of the operation', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => fake.emit('operation', { ...op, status: 'Success', status_code: 200 }), 20);
        return asyncAnswer(op);
      });
      await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 });
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal(['PUT /1.0/instances/c1/state']);
    });

    it('surfaces a failure event as LxdOperationError with LXD\'s text', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => fake.emit('operation', { ...op, status: 'Failure', status_code: 400, err: 'The container is already running' }), 20);
        return asyncAnswer(op);
      });
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync(op));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      expect((err as Error).message).to.equal('The container is already running');
    });

    it('surfaces a Cancelled (401) event as LxdOperationError, never as a result', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => fake.emit('operation', { ...op, status: 'Cancelled', status_code: 401, err: 'Operation cancelled' }), 20);
        return asyncAnswer(op);
      });
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync(op));
      const err = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdOperationError);
      expect((err as Error).message).to.equal('Operation cancelled');
      expect((err as LxdOperationError).operation.status).to.equal('Cancelled');
    });

    it('recovers when the events socket drops mid-wait (a daemon restart): it asks the operation itself', async function () {
      const op = operation();
      let finished = false;
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => {
          finished = true;
          fake.eventsEnabled = false;
          fake.dropEvents();
        }, 30);
        return asyncAnswer(op);
      });
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync(finished ? { ...op, status: 'Success', status_code: 200 } : op));
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000 });
      expect(done.status_code).to.equal(200);
    });

    it('falls back to /wait when the events websocket is refused', async function () {
      fake.eventsEnabled = false;
      const op = operation();
      startAsync(op);
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      fake.on('GET', '/1.0/instances/c1', () => sync(inst));
      const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 });
      expect(done.status_code).to.equal(200);
      expect(fake.requestsTo('GET', `/1.0/operations/${String(op['id'])}/wait`)).to.have.length(1);
    });
  });
});
