/**
 * The listeners lib/deadline.ts puts on a caller's AbortSignal: each is gone as soon as the work it
 * guards is over, whichever way it ended. A caller that reuses one long-lived signal for many calls
 * (a client's own shutdown signal) would otherwise collect one listener, and the closures it holds,
 * per call.
 */
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { abortable, deadline, DeadlineExceeded, sleep } from '../../lib/deadline.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** Lets the promise callbacks already queued run (abortable lets go of the signal just after it settles). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves when `signal` aborts (the spec's timeout bounds the wait). */
const aborted = (signal: AbortSignal): Promise<void> => new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

describe('deadline: listeners on the caller\'s signal', function () {
  this.timeout(20_000);

  it('a deadline whose own time-out makes the caller abort calls onAbort once, keeps the time-out, and has already left the caller\'s signal', async () => {
    const ac = new AbortController();
    const reasons: unknown[] = [];
    const dl = deadline(ac.signal, 10, (r) => reasons.push(r));
    // the caller ties its controller to the deadline's signal: the time-out aborts the caller too,
    // while the deadline is still firing
    dl.signal.addEventListener('abort', () => ac.abort(new Error('follows the deadline')));
    const seenByCaller: number[] = [];
    ac.signal.addEventListener('abort', () => seenByCaller.push(listeners(ac.signal)));
    expect(listeners(ac.signal)).to.equal(2);
    await aborted(dl.signal);
    expect(ac.signal.aborted).to.equal(true);
    expect(dl.timedOut).to.equal(true);
    expect(dl.signal.reason).to.be.instanceOf(DeadlineExceeded);
    expect(reasons).to.have.length(1);
    expect(reasons[0]).to.equal(dl.signal.reason);
    // while the caller's abort was dispatched, only the caller's own listener was left on its signal
    expect(seenByCaller).to.deep.equal([1]);
    expect(listeners(ac.signal)).to.equal(1);
  });

  it('deadline: the listener goes when the caller aborts, when the time is up, and on clear()', async () => {
    const a = new AbortController();
    deadline(a.signal, 10_000);
    expect(listeners(a.signal)).to.equal(1);
    a.abort();
    expect(listeners(a.signal)).to.equal(0);

    const b = new AbortController();
    const dl = deadline(b.signal, 10);
    await aborted(dl.signal);
    expect(listeners(b.signal)).to.equal(0);

    const c = new AbortController();
    deadline(c.signal, 10_000).clear();
    expect(listeners(c.signal)).to.equal(0);
  });

  it('abortable: no listener is left once the work settles, either way', async () => {
    const ac = new AbortController();
    expect(await abortable(Promise.resolve('v'), ac.signal)).to.equal('v');
    await settled();
    expect(listeners(ac.signal)).to.equal(0);
    const boom = new Error('boom');
    expect(await abortable(Promise.reject(boom), ac.signal).catch((e: unknown) => e)).to.equal(boom);
    await settled();
    expect(listeners(ac.signal)).to.equal(0);
  });

  it('abortable: no listener is left once the signal aborted, though the work never settles', async () => {
    const ac = new AbortController();
    const p = abortable(new Promise(() => {}), ac.signal);
    expect(listeners(ac.signal)).to.equal(1);
    const reason = new Error('stop');
    ac.abort(reason);
    expect(await p.catch((e: unknown) => e)).to.equal(reason);
    expect(listeners(ac.signal)).to.equal(0);
  });

  it('sleep: no listener is left when it resolves', async () => {
    const ac = new AbortController();
    const p = sleep(5, ac.signal);
    expect(listeners(ac.signal)).to.equal(1);
    await p;
    expect(listeners(ac.signal)).to.equal(0);
  });

  it('sleep: no listener and no timer are left when the signal aborts first', async () => {
    const ac = new AbortController();
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const p = sleep(60_000, ac.signal);
    expect(timers()).to.equal(before + 1);
    const reason = new Error('stop');
    ac.abort(reason);
    expect(timers(), 'the sleep\'s timer is cleared').to.equal(before);
    expect(listeners(ac.signal)).to.equal(0);
    expect(await p.catch((e: unknown) => e)).to.equal(reason);
  });
});
