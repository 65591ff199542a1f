/**
 * Operation: what a caller sees of an operation besides its outcome (its member, `current`, `refresh()`
 * and `cancel()` in the client's project, an answer that was synchronous), and how `wait()` ends when
 * it does not end well: a bad deadline, the deadline (with what LXD was doing), an abort, a closed
 * client, an unreachable daemon, a body that is not an operation; and, through events, states that
 * arrived before the create response.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  LxdApiError,
  LxdClient,
  LxdConnectionError,
  LxdOperationLostError,
  LxdResponseValidationError,
  LxdTimeoutError,
  LxdValidationError,
} from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { asyncAnswer, lxdError, operationObject as operation, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';

/** A logger that keeps its warnings. */
function warnings(): { logger: Logger; warned: { obj: unknown; msg: string | undefined }[] } {
  const warned: { obj: unknown; msg: string | undefined }[] = [];
  const noop = (): void => {};
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: (obj: unknown, msg?: string) => {
      warned.push(typeof obj === 'string' ? { obj: undefined, msg: obj } : { obj, msg });
    },
    error: noop,
    child: () => logger,
  };
  return { logger, warned };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

describe('Operation', function () {
  this.timeout(30_000);
  let fake: FakeLxd;
  let lxd: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
  });
  afterEach(async function () {
    await lxd?.close();
    await fake.close();
  });

  describe('through /wait (no events)', function () {
    it('refresh() and cancel() address the operation in the client\'s project; refresh() updates current', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1', useEvents: false });
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}`, () => sync({ ...op, metadata: { download_progress: 'rootfs: 5%' } }));
      fake.on('DELETE', `/1.0/operations/${id}`, () => sync(null));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(handle.url).to.equal(`/1.0/operations/${id}`);
      expect(handle.current.metadata).to.equal(null);
      const fresh = await handle.refresh();
      expect(fresh.metadata).to.deep.equal({ download_progress: 'rootfs: 5%' });
      expect(handle.current).to.deep.equal(fresh);
      await handle.cancel();
      expect(fake.requestsTo('GET', `/1.0/operations/${id}`).map((r) => r.query.get('project'))).to.deep.equal(['p1']);
      expect(fake.requestsTo('DELETE', `/1.0/operations/${id}`).map((r) => r.query.get('project'))).to.deep.equal(['p1']);
    });

    it('has no member when LXD gives an empty location, and names the member it gives', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      const ops = [operation({ location: '' }), operation({ location: 'm1' })];
      let n = 0;
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(ops[n++]!));
      expect((await lxd.instances.setState('c1', { action: 'start' })).member).to.equal(undefined);
      expect((await lxd.instances.setState('c1', { action: 'start' })).member).to.equal('m1');
    });

    it('an answer that was synchronous is an operation that already succeeded: wait() asks nothing', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      let n = 0;
      fake.on('PUT', '/1.0/instances/c1/state', () => sync(n++ === 0 ? { note: 'done' } : ['not', 'an', 'object']));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(handle.current).to.include({ id: '', status: 'Success', status_code: 200, description: 'PUT /1.0/instances/c1/state', err: '', may_cancel: false });
      expect(handle.current.metadata).to.deep.equal({ note: 'done' });
      expect((await handle.wait()).status).to.equal('Success');
      expect((await lxd.instances.setState('c1', { action: 'start' })).current.metadata).to.equal(null);
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations'))).to.have.length(0);
    });

    it('refuses a deadline that is not one, saying so, before any request', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(operation()));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const err = await rejection(handle.wait({ timeoutMs: -1 }));
      expect(err).to.be.instanceOf(LxdValidationError);
      expect((err as Error).message).to.contain('-1 is not a deadline: give a positive, finite number of milliseconds');
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations'))).to.have.length(0);
    });

    it('at the deadline says which operation, what it was doing, and how to cancel it', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false, operationTimeoutMs: 300 });
      const ops = [operation({ description: '' }), operation({ description: 'Starting instance' })];
      let n = 0;
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(ops[n++]!));
      fake.on('GET', /\/wait$/, (req) => ({ ...sync(ops.find((o) => req.path.includes(String(o['id'])))), delayMs: 3_000 }));
      // no timeoutMs: the client's operationTimeoutMs
      const first = await rejection((await lxd.instances.setState('c1', { action: 'start' })).wait());
      const id = String(ops[0]!['id']);
      expect(first).to.be.instanceOf(LxdTimeoutError);
      expect(first).to.include({ timeoutMs: 300, method: 'GET', path: `/1.0/operations/${id}` });
      expect((first as Error).message).to.equal(
        `operation ${id} (no description) did not finish within 300 ms; it may still be running on the server (cancel it with client.operations.cancel("${id}"))`,
      );
      const second = await rejection((await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 200 }));
      expect((second as Error).message).to.match(/^operation \S+ \(Starting instance\) did not finish within 200 ms; it may still/);
    });

    it('an abort ends the wait with the signal\'s reason', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => ({ ...sync(op), delayMs: 3_000 }));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const ac = new AbortController();
      const reason = new Error('the user pressed ^C');
      setTimeout(() => ac.abort(reason), 50);
      expect(await rejection(handle.wait({ timeoutMs: 10_000, signal: ac.signal }))).to.equal(reason);
    });

    it('the final state of /wait stands when LXD has forgotten the operation by the confirming GET', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      fake.on('GET', `/1.0/operations/${id}`, () => lxdError(404, 'Operation not found'));
      expect((await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 })).status).to.equal('Success');
      expect(fake.requestsTo('GET', `/1.0/operations/${id}`)).to.have.length(1);
    });

    it('a confirming GET that fails otherwise fails the wait with LXD\'s error', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      fake.on('GET', `/1.0/operations/${id}`, () => lxdError(403, 'not authorized'));
      const err = await rejection((await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 }));
      expect(err).to.be.instanceOf(LxdApiError);
      expect(err).to.have.property('status', 403);
    });

    it('a /wait body that is not an operation is an invalid response naming the request', async function () {
      lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}/wait`, () => sync({ id, status: 'Running' }));
      const err = await rejection((await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 5_000 }));
      expect(err).to.be.instanceOf(LxdResponseValidationError);
      expect(err).to.include({ method: 'GET', path: `/1.0/operations/${id}/wait` });
    });
  });

  describe('with a daemon that goes away', function () {
    let dir: string;
    let socketPath: string;
    let server: http.Server | undefined;
    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-opwait-'));
      socketPath = join(dir, 'unix.socket');
    });
    afterEach(async function () {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
        server = undefined;
      }
      await rm(dir, { recursive: true, force: true });
    });

    /** Starts an operation on a daemon that then goes away for good; returns it and the logger's warnings. */
    async function startThenVanish(description = 'Starting instance'): Promise<{ handle: Awaited<ReturnType<LxdClient['instances']['setState']>>; warned: ReturnType<typeof warnings>['warned'] }> {
      const op = operation({ description });
      server = http.createServer((_req, res) => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify(asyncAnswer(op).body));
      });
      await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
      const { logger, warned } = warnings();
      lxd = new LxdClient({ socketPath, useEvents: false, logger });
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
      return { handle, warned };
    }

    it('keeps trying until the deadline, warns once, and says at the deadline how long LXD was unreachable', async function () {
      const { handle, warned } = await startThenVanish();
      const err = await rejection(handle.wait({ timeoutMs: 1_500 }));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      const m = /^operation (\S+) \(Starting instance\) did not finish within 1500 ms; LXD has been unreachable for the last (\d+) s; it may still be running/.exec((err as Error).message);
      expect(m, (err as Error).message).not.to.equal(null);
      expect(Number(m![2])).to.be.within(1, 2);
      expect(warned).to.have.length(1);
      expect(warned[0]!.msg).to.equal('lxd operation: LXD is unreachable; waiting for it to come back');
      expect(warned[0]!.obj).to.have.property('operation', handle.id);
    });

    it('stops trying when the client is closed, with the connection error', async function () {
      const { handle } = await startThenVanish();
      const waiting = rejection(handle.wait({ timeoutMs: 20_000 }));
      await new Promise((r) => setTimeout(r, 300));
      await lxd.close();
      expect(await waiting).to.be.instanceOf(LxdConnectionError);
    });
  });

  describe('through events', function () {
    beforeEach(function () {
      lxd = new LxdClient({ socketPath: fake.socketPath });
    });

    /** A PUT whose events (sent first) reach the client before its answer `answer`. */
    function eventsFirst(events: Record<string, unknown>[], answer: Record<string, unknown>): void {
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        for (const e of events) fake.emit('operation', e);
        return { ...asyncAnswer(answer), delayMs: 150 };
      });
    }

    it('an outcome that arrived before the create response is the current state; the events socket is let go', async function () {
      const op = operation();
      eventsFirst([{ ...op, status: 'Success', status_code: 200 }], op);
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(handle.current.status).to.equal('Success');
      // nothing holds the socket any more: it closes without wait() being called
      expect(await until(() => fake.eventClients.size === 0, 3_000), 'events socket closed').to.equal(true);
      expect((await handle.wait({ timeoutMs: 5_000 })).status).to.equal('Success');
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations'))).to.have.length(0);
    });

    it('a newer Running state that arrived before the create response replaces the one in it', async function () {
      const op = operation();
      eventsFirst([{ ...op, metadata: { download_progress: 'rootfs: 10%' } }], op);
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(handle.current.metadata).to.deep.equal({ download_progress: 'rootfs: 10%' });
      setTimeout(() => fake.emit('operation', { ...op, status: 'Success', status_code: 200 }), 20);
      expect((await handle.wait({ timeoutMs: 5_000 })).status).to.equal('Success');
    });

    it('a stale Running event never undoes the final state of the create response', async function () {
      const op = operation();
      eventsFirst([op], { ...op, status: 'Success', status_code: 200 });
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(handle.current.status).to.equal('Success');
      expect((await handle.wait({ timeoutMs: 2_000 })).status).to.equal('Success');
      expect(fake.requests.filter((r) => r.path.startsWith('/1.0/operations'))).to.have.length(0);
    });

    it('an operation that finishes before wait() is called lets the events socket go', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => {
        setTimeout(() => fake.emit('operation', { ...op, status: 'Success', status_code: 200 }), 20);
        return asyncAnswer(op);
      });
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      expect(await until(() => handle.current.status === 'Success', 3_000)).to.equal(true);
      expect(await until(() => fake.eventClients.size === 0, 3_000), 'events socket closed').to.equal(true);
    });

    it('an abort ends the wait with the signal\'s reason', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const ac = new AbortController();
      const reason = new Error('the user pressed ^C');
      setTimeout(() => ac.abort(reason), 50);
      expect(await rejection(handle.wait({ timeoutMs: 10_000, signal: ac.signal }))).to.equal(reason);
    });

    it('closing the client ends the wait, naming the operation', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const waiting = rejection(handle.wait({ timeoutMs: 10_000 }));
      await new Promise((r) => setTimeout(r, 50));
      await lxd.close();
      const err = await waiting;
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect((err as Error).message).to.contain(`the client was closed while operation ${String(op['id'])} was waited on`);
    });

    it('events lost before wait() was called: wait() asks LXD at once', async function () {
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      fake.dropEvents();
      expect(await until(() => fake.eventQueries.length === 2 && fake.eventClients.size === 1, 5_000), 'reconnected').to.equal(true);
      await new Promise((r) => setTimeout(r, 50));
      expect((await handle.wait({ timeoutMs: 5_000 })).status).to.equal('Success');
      expect(fake.requestsTo('GET', `/1.0/operations/${id}`)).to.have.length(1);
    });

    it('asks LXD one question at a time: a loss heard while asking is asked about after the answer', async function () {
      const op = operation();
      const id = String(op['id']);
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      let gets = 0;
      let inFlight = 0;
      let most = 0;
      fake.on('GET', `/1.0/operations/${id}`, async () => {
        gets += 1;
        inFlight += 1;
        most = Math.max(most, inFlight);
        const n = gets;
        // the first answer comes after the events socket has reconnected (a second loss, the gap)
        if (n === 1) await until(() => fake.eventQueries.length === 2 && fake.eventClients.size === 1, 5_000);
        await new Promise((r) => setTimeout(r, n === 1 ? 200 : 0));
        inFlight -= 1;
        return sync(n === 1 ? op : { ...op, status: 'Success', status_code: 200 });
      });
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const waiting = handle.wait({ timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 50));
      fake.dropEvents();
      expect((await waiting).status).to.equal('Success');
      expect(gets).to.equal(2);
      expect(most).to.equal(1);
    });

    it('an operation forgotten after events were lost is reported as lost in a restart', async function () {
      const op = operation();
      fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => lxdError(404, 'Operation not found'));
      const handle = await lxd.instances.setState('c1', { action: 'start' });
      const waiting = rejection(handle.wait({ timeoutMs: 10_000 }));
      await new Promise((r) => setTimeout(r, 50));
      fake.dropEvents();
      const err = await waiting;
      expect(err).to.be.instanceOf(LxdOperationLostError);
      expect(err).to.have.property('daemonRestarted', true);
    });
  });
});
