/**
 * Operation against a scripted transport and events hub (no sockets at all), for what a fake daemon
 * cannot show precisely: the back-off while LXD is unreachable, the deadline of each `/wait` long-poll,
 * the lease on the events socket (taken once, given back once), one question at a time to LXD while
 * events are being lost, the member check that only an operation on a cluster member gets, and the
 * listeners and timers a finished wait leaves behind (none).
 */
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { DeadlineExceeded } from '../../../lib/deadline.js';
import {
  LxdConnectionError,
  LxdNotFoundError,
  LxdOperationError,
  LxdOperationLostError,
  LxdResponseValidationError,
  LxdTimeoutError,
  LxdValidationError,
} from '../../../lib/lxd/errors.js';
import type { Logger } from '../../../lib/logger.js';
import { Operation, type OperationContext } from '../../../lib/lxd/operation.js';
import type { HubListener, OperationsHub } from '../../../lib/lxd/operations-hub.js';
import type { OperationData } from '../../../lib/lxd/schemas.js';
import type { Transport } from '../../../lib/lxd/transport.js';
import { rejection } from '../../helpers/rejection.js';

const ID = 'op-1';
const OP_PATH = `/1.0/operations/${ID}`;
const WAIT_PATH = `${OP_PATH}/wait`;

function opData(over: Partial<OperationData> = {}): OperationData {
  const now = new Date().toISOString();
  return { id: ID, class: 'task', description: 'Starting instance', created_at: now, updated_at: now, status: 'Running', status_code: 103, resources: null, metadata: null, may_cancel: false, err: '', location: 'none', ...over };
}
const success = (over: Partial<OperationData> = {}): OperationData => opData({ status: 'Success', status_code: 200, ...over });

/** A macrotask's pause: scripted answers come after it, so a runaway loop of questions cannot starve the timers. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Call {
  method: string;
  path: string;
  opts: { query?: Record<string, unknown>; signal?: AbortSignal | undefined; timeoutMs?: number | undefined };
}
type Answer = (call: Call) => unknown;

/** A transport whose answers (an operation's metadata, or a thrown error) the spec scripts per `METHOD path`. */
class ScriptedTransport {
  readonly endpoint = '/scripted/unix.socket';
  readonly calls: Call[] = [];
  readonly answers = new Map<string, Answer>();

  on(method: string, path: string, answer: Answer): void {
    this.answers.set(`${method} ${path}`, answer);
  }

  callsTo(method: string, path: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path === path);
  }

  async request(method: string, path: string, opts: Call['opts'] = {}): Promise<{ envelope: { metadata: unknown } }> {
    const call = { method, path, opts };
    this.calls.push(call);
    await tick();
    const answer = this.answers.get(`${method} ${path}`);
    if (!answer) throw new Error(`unscripted request ${method} ${path}`);
    return { envelope: { metadata: await answer(call) } };
  }
}

/** An events hub the spec drives: it emits states and losses, and counts the leases given back. */
class ScriptedHub {
  listening = true;
  closed = false;
  generation = 0;
  releases = 0;
  readonly listenedTo: string[] = [];
  readonly #latest = new Map<string, OperationData>();
  readonly #listeners = new Map<string, Set<HubListener>>();

  latest(id: string): OperationData | undefined {
    return this.#latest.get(id);
  }
  update(op: OperationData): void {
    this.#latest.set(op.id, op);
  }
  listen(id: string, fn: HubListener): () => void {
    this.listenedTo.push(id);
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
  listeners(id: string): number {
    return this.#listeners.get(id)?.size ?? 0;
  }
  release(): void {
    this.releases += 1;
  }
  /** An event: the operation's new state. */
  emit(op: OperationData): void {
    this.update(op);
    for (const l of [...(this.#listeners.get(op.id) ?? [])]) l(op);
  }
  /** Events may have been lost (a dropped or re-established socket). */
  gap(): void {
    this.generation += 1;
    for (const set of this.#listeners.values()) for (const l of [...set]) l(null);
  }
}

function quietLogger(): { logger: Logger; warned: { obj: unknown; msg: string | undefined }[] } {
  const warned: { obj: unknown; msg: string | undefined }[] = [];
  const noop = (): void => {};
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: (obj: unknown, msg?: string) => void warned.push({ obj, msg }), error: noop, child: () => logger };
  return { logger, warned };
}

function setup(opts: { project?: string; operationTimeoutMs?: number } = {}) {
  const transport = new ScriptedTransport();
  const hub = new ScriptedHub();
  const { logger, warned } = quietLogger();
  const ctx: OperationContext = {
    transport: transport as unknown as Transport,
    hub: hub as unknown as OperationsHub,
    project: opts.project,
    logger,
    operationTimeoutMs: opts.operationTimeoutMs ?? 10_000,
  };
  return { transport, hub, ctx, warned };
}

/** Waits (in macrotasks) until `cond` holds, or fails after `ms`. */
async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error('condition not reached');
    await pause(5);
  }
}

/** A deferred answer the spec releases itself. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A wait on an operation that listens to events (generation 1), held while it asks LXD about the
 * operation for the first time: that first GET answers once `first` is resolved, later ones at once.
 */
async function askingOnce() {
  const { ctx, hub, transport } = setup();
  const first = deferred<OperationData>();
  let gets = 0;
  transport.on('GET', OP_PATH, () => (++gets === 1 ? first.promise : opData()));
  const op = new Operation(ctx, opData(), true, 0);
  hub.generation = 1;
  const waiting = op.wait({ timeoutMs: 5_000 });
  await until(() => gets === 1);
  return { hub, first, gets: () => gets, waiting };
}

describe('Operation (scripted transport and hub)', function () {
  this.timeout(20_000);

  describe('its state', function () {
    it('an answer that was synchronous is a finished task with no id', function () {
      const { ctx } = setup();
      const op = Operation.completed(ctx, 'PUT /1.0/instances/c1/state', { note: 'done' });
      expect(op.current).to.include({ id: '', class: 'task', status: 'Success', status_code: 200, err: '', may_cancel: false, description: 'PUT /1.0/instances/c1/state' });
      expect(op.current.metadata).to.deep.equal({ note: 'done' });
    });

    it('an operation without an id is never asked about: wait() settles on what it has', async function () {
      const { ctx, transport } = setup();
      const op = new Operation(ctx, opData({ id: '' }), false);
      const err = await rejection(op.wait({ timeoutMs: 2_000 }));
      expect(err).to.be.instanceOf(LxdOperationError);
      expect(transport.calls).to.deep.equal([]);
    });

    it('refresh() never takes a final state back to Running, but takes a newer final one', async function () {
      const { ctx, transport } = setup();
      const op = new Operation(ctx, success(), false);
      transport.on('GET', OP_PATH, () => opData());
      expect((await op.refresh()).status).to.equal('Running');
      expect(op.current.status).to.equal('Success');
      transport.on('GET', OP_PATH, () => success({ metadata: { done: true } }));
      await op.refresh();
      expect(op.current.metadata).to.deep.equal({ done: true });
    });

    it('refresh() of a body that is not an operation is an invalid response of the GET', async function () {
      const { ctx, transport } = setup();
      const op = new Operation(ctx, opData(), false);
      transport.on('GET', OP_PATH, () => ({ id: ID }));
      const err = await rejection(op.refresh());
      expect(err).to.be.instanceOf(LxdResponseValidationError);
      expect(err).to.include({ method: 'GET', path: OP_PATH });
    });

    it('a bad deadline is refused naming the timeoutMs option', async function () {
      const { ctx } = setup();
      const err = await rejection(new Operation(ctx, opData(), false).wait({ timeoutMs: 0 }));
      expect(err).to.be.instanceOf(LxdValidationError);
      expect(err).to.have.property('field', 'timeoutMs');
      expect(err.message).to.equal('timeoutMs: 0 is not a deadline: give a positive, finite number of milliseconds');
    });
  });

  describe('the lease on the events socket', function () {
    it('is kept through Running events before wait(), and given back once at the final one', async function () {
      const { ctx, hub } = setup();
      const op = new Operation(ctx, opData(), true, 0);
      hub.emit(opData({ metadata: { download_progress: 'rootfs: 10%' } }));
      expect(op.current.metadata).to.deep.equal({ download_progress: 'rootfs: 10%' });
      expect(hub.releases).to.equal(0);
      expect(hub.listeners(ID)).to.equal(1);
      hub.emit(success());
      expect(op.current.status).to.equal('Success');
      expect(hub.releases).to.equal(1);
      expect(hub.listeners(ID)).to.equal(0);
      expect((await op.wait({ timeoutMs: 2_000 })).status).to.equal('Success');
      expect(hub.releases).to.equal(1);
    });

    it('an operation that never had one gives none back, and long-polls even while the hub listens', async function () {
      const { ctx, hub, transport } = setup({ project: 'p1' });
      transport.on('GET', WAIT_PATH, () => success());
      transport.on('GET', OP_PATH, () => success());
      const op = new Operation(ctx, opData(), false);
      expect((await op.wait({ timeoutMs: 2_000 })).status).to.equal('Success');
      expect(hub.releases).to.equal(0);
      expect(hub.listenedTo).to.deep.equal([]);
      expect(transport.calls.map((c) => `${c.method} ${c.path}`)).to.deep.equal([`GET ${WAIT_PATH}`, `GET ${OP_PATH}`]);
      // each long-poll asks LXD to hold it 5 s, and gives it 30 s more than that to answer
      expect(transport.calls[0]!.opts).to.include({ timeoutMs: 35_000 });
      expect(transport.calls[0]!.opts.query).to.deep.equal({ project: 'p1', timeout: 5 });
    });

    it('is given back when the wait is aborted', async function () {
      const { ctx, hub } = setup();
      const op = new Operation(ctx, opData(), true, 0);
      const ac = new AbortController();
      const reason = new Error('stop');
      const waiting = rejection(op.wait({ timeoutMs: 10_000, signal: ac.signal }));
      await tick();
      expect(hub.releases).to.equal(0);
      ac.abort(reason);
      expect(await waiting).to.equal(reason);
      expect(hub.releases).to.equal(1);
      expect(hub.listeners(ID)).to.equal(1); // the constructor's: it goes at the final state
    });

    it('when the events socket fails for good, it is given back and the wait long-polls', async function () {
      const { ctx, hub, transport } = setup();
      transport.on('GET', WAIT_PATH, () => success());
      transport.on('GET', OP_PATH, () => success());
      const op = new Operation(ctx, opData(), true, 0);
      const waiting = op.wait({ timeoutMs: 5_000 });
      await tick();
      expect(transport.calls).to.deep.equal([]);
      hub.listening = false;
      hub.gap();
      expect((await waiting).status).to.equal('Success');
      expect(transport.calls.map((c) => `${c.method} ${c.path}`)).to.deep.equal([`GET ${WAIT_PATH}`, `GET ${OP_PATH}`]);
      expect(hub.releases).to.equal(1);
    });
  });

  describe('asking LXD while events are being lost', function () {
    it('asks once when events were lost before wait(), and not again while the answer is Running', async function () {
      const { ctx, hub, transport } = setup();
      transport.on('GET', OP_PATH, () => opData());
      const op = new Operation(ctx, opData(), true, 0);
      hub.generation = 1;
      const waiting = op.wait({ timeoutMs: 5_000 });
      await until(() => transport.calls.length === 1);
      await pause(50);
      expect(transport.callsTo('GET', OP_PATH)).to.have.length(1);
      hub.emit(success());
      expect((await waiting).status).to.equal('Success');
      expect(transport.calls).to.have.length(1);
    });

    it('a loss heard while asking is asked about once after the answer', async function () {
      const { hub, first, gets, waiting } = await askingOnce();
      hub.gap();
      hub.gap();
      await pause(20);
      expect(gets()).to.equal(1);
      first.resolve(opData());
      await until(() => gets() === 2);
      await pause(50);
      expect(gets()).to.equal(2);
      hub.emit(success());
      expect((await waiting).status).to.equal('Success');
    });

    it('a loss heard while asking is not asked about when the wait ended meanwhile', async function () {
      const { hub, first, gets, waiting } = await askingOnce();
      hub.gap();
      hub.emit(success());
      expect((await waiting).status).to.equal('Success');
      first.resolve(opData());
      await pause(50);
      expect(gets()).to.equal(1);
    });

    it('an operation LXD forgot after events were lost before wait() was lost in a restart', async function () {
      const { ctx, hub, transport } = setup();
      const notFound = new LxdNotFoundError({ status: 404, errorCode: 404, method: 'GET', path: OP_PATH, lxdMessage: 'Operation not found' });
      transport.on('GET', OP_PATH, () => {
        throw notFound;
      });
      const op = new Operation(ctx, opData(), true, 0);
      hub.generation = 1;
      const err = await rejection(op.wait({ timeoutMs: 5_000 }));
      expect(err).to.be.instanceOf(LxdOperationLostError);
      expect(err).to.have.property('daemonRestarted', true);
      expect(err.cause).to.equal(notFound);
    });

    it('the wait\'s question carries its signal: a confirming GET that hangs ends at the deadline', async function () {
      const { ctx, transport } = setup();
      transport.on('GET', WAIT_PATH, () => success());
      transport.on('GET', OP_PATH, (call) => {
        const signal = call.opts.signal;
        if (!signal) throw new Error('a GET without the wait\'s signal');
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      });
      const err = await rejection(new Operation(ctx, opData(), false).wait({ timeoutMs: 200 }));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err.cause).to.be.instanceOf(DeadlineExceeded);
    });
  });

  describe('what a finished wait leaves behind', function () {
    it('no listener on the caller\'s signal, nor on its own', async function () {
      const { ctx, hub, transport } = setup();
      let waitSignal: AbortSignal | undefined;
      transport.on('GET', OP_PATH, (call) => {
        waitSignal = call.opts.signal;
        return opData();
      });
      const op = new Operation(ctx, opData(), true, 0);
      hub.generation = 1;
      const ac = new AbortController();
      const waiting = op.wait({ timeoutMs: 5_000, signal: ac.signal });
      await until(() => waitSignal !== undefined);
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(1);
      hub.emit(success());
      expect((await waiting).status).to.equal('Success');
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
      expect(getEventListeners(waitSignal!, 'abort')).to.have.length(0);
    });

    describe('the member check', function () {
      const real = { setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval };
      let intervals: number[];
      let cleared: unknown[];
      let made: unknown[];
      beforeEach(function () {
        intervals = [];
        cleared = [];
        made = [];
        globalThis.setInterval = ((fn: () => void, ms?: number) => {
          intervals.push(ms ?? 0);
          const t = real.setInterval(fn, ms);
          made.push(t);
          return t;
        }) as typeof setInterval;
        globalThis.clearInterval = ((t?: NodeJS.Timeout | string | number) => {
          if (t !== undefined) cleared.push(t);
          real.clearInterval(t);
        }) as typeof clearInterval;
      });
      afterEach(function () {
        globalThis.setInterval = real.setInterval;
        globalThis.clearInterval = real.clearInterval;
      });

      it('an operation on no member is never checked on', async function () {
        const { ctx, hub } = setup();
        const op = new Operation(ctx, opData({ location: 'none' }), true, 0);
        const waiting = op.wait({ timeoutMs: 5_000 });
        await tick();
        hub.emit(success());
        expect((await waiting).status).to.equal('Success');
        expect(intervals).to.deep.equal([]);
      });

      it('an operation on a member is checked on every 5 s while waited on, and no longer after', async function () {
        const { ctx, hub } = setup();
        const op = new Operation(ctx, opData({ location: 'm2' }), true, 0);
        const waiting = op.wait({ timeoutMs: 5_000 });
        await tick();
        expect(intervals).to.deep.equal([5_000]);
        hub.emit(success());
        expect((await waiting).status).to.equal('Success');
        expect(cleared).to.include(made[0]);
      });
    });
  });

  describe('an unreachable LXD', function () {
    const unreachable = (): LxdConnectionError => new LxdConnectionError('/scripted/unix.socket', 'ECONNREFUSED', 'LXD socket /scripted/unix.socket: connection refused');

    it('is asked again after a back-off that doubles from 200 ms to at most 2 s, with jitter in its upper half', async function () {
      const { ctx, transport, warned } = setup();
      let polls = 0;
      transport.on('GET', WAIT_PATH, () => {
        if (++polls <= 6) throw unreachable();
        return success();
      });
      transport.on('GET', OP_PATH, () => success());
      const realSetTimeout = globalThis.setTimeout;
      const realRandom = Math.random;
      const sleeps: number[] = [];
      // the sleeps between attempts are recorded and cut short; the wait's own 60 s deadline is left alone
      globalThis.setTimeout = ((fn: () => void, ms?: number) => {
        if (ms !== undefined && ms > 0 && ms < 60_000) {
          sleeps.push(ms);
          return realSetTimeout(fn, 0);
        }
        return realSetTimeout(fn, ms);
      }) as typeof setTimeout;
      Math.random = () => 0.5;
      try {
        expect((await new Operation(ctx, opData(), false).wait({ timeoutMs: 60_000 })).status).to.equal('Success');
      } finally {
        globalThis.setTimeout = realSetTimeout;
        Math.random = realRandom;
      }
      // backoff/2 + 0.5 × backoff/2 for backoffs of 200, 400, 800, 1600, 2000, 2000 ms
      expect(sleeps).to.deep.equal([150, 300, 600, 1_200, 1_500, 1_500]);
      expect(warned).to.have.length(1);
      expect(warned[0]!.obj).to.deep.equal({ operation: ID, err: 'LXD socket /scripted/unix.socket: connection refused' });
    });

    it('a request torn down by the deadline is not LXD being unreachable', async function () {
      const { ctx, transport, warned } = setup();
      transport.on('GET', WAIT_PATH, (call) => {
        const signal = call.opts.signal!;
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(unreachable()), { once: true }));
      });
      const err = await rejection(new Operation(ctx, opData(), false).wait({ timeoutMs: 150 }));
      expect(err).to.be.instanceOf(LxdTimeoutError);
      expect(err.message).to.equal(`operation ${ID} (Starting instance) did not finish within 150 ms; it may still be running on the server (cancel it with client.operations.cancel("${ID}"))`);
      expect(err.cause).to.be.instanceOf(LxdConnectionError);
      expect(warned).to.deep.equal([]);
    });
  });
});
