import { expect } from 'chai';
import { abortable, deadline, DeadlineExceeded, isValidTimeout, MAX_TIMER_MS, sleep, withDeadline } from '../../lib/deadline.js';

const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Collects the process warnings emitted while `fn` runs (and a little after: Node emits them on the next tick). */
async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error): void => void seen.push(w);
  process.on('warning', onWarning);
  try {
    await fn();
    await tick(20);
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('deadline', () => {
  it('MAX_TIMER_MS is the longest delay a Node timer holds', () => {
    expect(MAX_TIMER_MS).to.equal(2_147_483_647);
  });

  it('isValidTimeout: positive finite numbers only', () => {
    for (const ok of [1, 0.5, 1_000, MAX_TIMER_MS, 2 ** 40]) expect(isValidTimeout(ok), String(ok)).to.equal(true);
    for (const bad of [0, -1, -0.5, Infinity, -Infinity, NaN, '100', null, undefined, {}]) expect(isValidTimeout(bad), String(bad)).to.equal(false);
  });

  it('DeadlineExceeded says how long it waited', () => {
    const e = new DeadlineExceeded(250);
    expect([e.name, e.message, e.timeoutMs, e instanceof Error]).to.deep.equal(['DeadlineExceeded', 'timed out after 250 ms', 250, true]);
  });

  it('aborts with DeadlineExceeded when the time is up, once, and calls onAbort with the same reason', async () => {
    const reasons: unknown[] = [];
    const dl = deadline(undefined, 30, (r) => reasons.push(r));
    expect(dl.signal.aborted).to.equal(false);
    expect(dl.timedOut).to.equal(false);
    await tick(80);
    expect(dl.signal.aborted).to.equal(true);
    expect(dl.timedOut).to.equal(true);
    expect(dl.signal.reason).to.be.instanceOf(DeadlineExceeded);
    expect((dl.signal.reason as DeadlineExceeded).timeoutMs).to.equal(30);
    expect(reasons).to.deep.equal([dl.signal.reason]);
  });

  it("follows the caller's abort with the caller's reason; not a time-out; the timer no longer fires", async () => {
    const ac = new AbortController();
    const reasons: unknown[] = [];
    const dl = deadline(ac.signal, 40, (r) => reasons.push(r));
    const reason = new Error('stop');
    ac.abort(reason);
    expect(dl.signal.aborted).to.equal(true);
    expect(dl.signal.reason).to.equal(reason);
    expect(dl.timedOut).to.equal(false);
    await tick(80);
    expect(dl.timedOut, 'the timer was cleared').to.equal(false);
    expect(reasons).to.deep.equal([reason]);
  });

  it('an already aborted signal aborts at once', () => {
    const reason = new Error('before');
    const reasons: unknown[] = [];
    const dl = deadline(AbortSignal.abort(reason), 10_000, (r) => reasons.push(r));
    expect(dl.signal.aborted).to.equal(true);
    expect(dl.signal.reason).to.equal(reason);
    expect(reasons).to.deep.equal([reason]);
    dl.clear();
  });

  it("clear() stops the timer and forgets the caller's signal", async () => {
    const ac = new AbortController();
    let calls = 0;
    const dl = deadline(ac.signal, 30, () => void calls++);
    dl.clear();
    ac.abort(new Error('late'));
    await tick(80);
    expect(dl.signal.aborted).to.equal(false);
    expect(dl.timedOut).to.equal(false);
    expect(calls).to.equal(0);
  });

  it('the time-out firing first forgets the caller (a later abort changes nothing)', async () => {
    const ac = new AbortController();
    const reasons: unknown[] = [];
    const dl = deadline(ac.signal, 20, (r) => reasons.push(r));
    await tick(60);
    ac.abort(new Error('late'));
    expect(dl.signal.reason).to.be.instanceOf(DeadlineExceeded);
    expect(reasons).to.have.length(1);
  });

  for (const ms of [2 ** 31, 2 ** 32 + 5, 30 * 24 * 3600 * 1000, Number.MAX_SAFE_INTEGER]) {
    it(`a deadline of ${ms} ms (above 2^31-1) is clamped: it does not fire at once, and Node gives no TimeoutOverflowWarning`, async () => {
      let dl: ReturnType<typeof deadline> | undefined;
      const warnings = await warningsDuring(async () => {
        dl = deadline(undefined, ms);
        await tick(30);
      });
      try {
        expect(warnings.map((w) => w.name)).not.to.include('TimeoutOverflowWarning');
        expect(dl!.signal.aborted, 'fired at once').to.equal(false);
        expect(dl!.timedOut).to.equal(false);
      } finally {
        dl!.clear();
      }
    });
  }

  it('withDeadline under a long deadline waits for the work', async () => {
    const warnings = await warningsDuring(async () => {
      const out = await withDeadline({ timeoutMs: 2 ** 33 }, async () => {
        await tick(30);
        return 'done';
      }, (ms) => new Error(`late ${ms}`));
      expect(out).to.equal('done');
    });
    expect(warnings.map((w) => w.name)).not.to.include('TimeoutOverflowWarning');
  });
});

describe('abortable', () => {
  it('without a signal is the promise itself', () => {
    const p = Promise.resolve(1);
    expect(abortable(p, undefined)).to.equal(p);
  });

  it('rejects at once with the reason of an aborted signal', async () => {
    const reason = new Error('r');
    expect(await abortable(new Promise(() => {}), AbortSignal.abort(reason)).catch((e: unknown) => e)).to.equal(reason);
  });

  it('settles as the promise does while the signal stays quiet, and then leaves the signal alone', async () => {
    const ac = new AbortController();
    expect(await abortable(Promise.resolve('v'), ac.signal)).to.equal('v');
    const boom = new Error('boom');
    expect(await abortable(Promise.reject(boom), ac.signal).catch((e: unknown) => e)).to.equal(boom);
  });

  it('rejects with the reason when the signal aborts first', async () => {
    const ac = new AbortController();
    const reason = new Error('later');
    const p = abortable(new Promise(() => {}), ac.signal);
    setTimeout(() => ac.abort(reason), 10);
    expect(await p.catch((e: unknown) => e)).to.equal(reason);
  });
});

describe('sleep', () => {
  it('resolves after about the time asked', async () => {
    const t = Date.now();
    await sleep(40);
    expect(Date.now() - t).to.be.at.least(35);
  });

  it('rejects at once on an aborted signal, and with the reason on an abort meanwhile', async () => {
    const reason = new Error('r');
    const t = Date.now();
    expect(await sleep(10_000, AbortSignal.abort(reason)).catch((e: unknown) => e)).to.equal(reason);
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 10);
    expect(await sleep(10_000, ac.signal).catch((e: unknown) => e)).to.equal(reason);
    expect(Date.now() - t).to.be.below(5_000);
  });

  it('resolves with a signal that never aborts', async () => {
    const ac = new AbortController();
    await sleep(5, ac.signal);
    ac.abort(new Error('after'));
  });
});

describe('withDeadline', () => {
  const late = (ms: number) => new Error(`late after ${ms}`);

  it('without timeoutMs passes the caller signal straight through', async () => {
    const ac = new AbortController();
    let got: AbortSignal | undefined;
    expect(await withDeadline({ signal: ac.signal }, async (s) => ((got = s), 7), late)).to.equal(7);
    expect(got).to.equal(ac.signal);
  });

  it('with timeoutMs gives the work a combined signal and maps the time-out to the given error', async () => {
    let got: AbortSignal | undefined;
    const err = await withDeadline({ timeoutMs: 20 }, (s) => ((got = s), new Promise(() => {})), late).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('late after 20');
    expect(got!.aborted).to.equal(true);
  });

  it("keeps the caller's abort reason, and the work's own error", async () => {
    const reason = new Error('mine');
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 10);
    expect(await withDeadline({ signal: ac.signal, timeoutMs: 5_000 }, () => new Promise(() => {}), late).catch((e: unknown) => e)).to.equal(reason);
    const boom = new Error('boom');
    expect(await withDeadline({ timeoutMs: 5_000 }, () => Promise.reject(boom), late).catch((e: unknown) => e)).to.equal(boom);
  });

  it('clears its timer when the work is done (the signal the work had never aborts later)', async () => {
    let got: AbortSignal | undefined;
    await withDeadline({ timeoutMs: 30 }, async (s) => ((got = s), 1), late);
    await tick(70);
    expect(got!.aborted).to.equal(false);
  });
});
