import { expect } from 'chai';
import { LxdClient, LxdEventsError, type EventGap, type LxdEvent } from '../../../lib/lxd/index.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';

describe('events websocket', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: fake.socketPath, project: 'p1' });
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
  });

  it('passes type and project filters, and all-projects when asked', async function () {
    const a = lxd.events.subscribe({ types: ['lifecycle', 'logging'] });
    await a.ready;
    const b = lxd.events.subscribe({ allProjects: true });
    await b.ready;
    a.close();
    b.close();
    expect(Object.fromEntries(fake.eventQueries[0]!)).to.deep.equal({ type: 'lifecycle,logging', project: 'p1' });
    expect(Object.fromEntries(fake.eventQueries[1]!)).to.deep.equal({ 'all-projects': 'true' });
  });

  it('yields typed events through the async iterator', async function () {
    const sub = lxd.events.subscribe();
    await sub.ready;
    fake.emit('lifecycle', { action: 'instance-started', source: '/1.0/instances/c1', context: {} });
    fake.emit('logging', { message: 'hello', level: 'debug', context: {} });
    fake.emit('ovn', { whatever: true });
    fake.emit('brand-new-type', { x: 1 });
    const got: (LxdEvent | EventGap)[] = [];
    for await (const e of sub) {
      got.push(e);
      if (got.length === 4) break;
    }
    expect(got.map((e) => e.type)).to.deep.equal(['lifecycle', 'logging', 'ovn', 'unknown']);
    expect(got[3]).to.include({ eventType: 'brand-new-type' });
    const first = got[0] as Extract<LxdEvent, { type: 'lifecycle' }>;
    expect(first.metadata.action).to.equal('instance-started');
    expect(first.project).to.equal('default');
  });

  it('reconnects after the server drops it and reports the gap', async function () {
    const sub = lxd.events.subscribe({ reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    await sub.ready;
    const gap = new Promise<EventGap>((resolve) => sub.on('gap', resolve));
    fake.dropEvents();
    const g = await gap;
    expect(g.type).to.equal('gap');
    expect(g.until.getTime()).to.be.at.least(g.since.getTime());
    expect(fake.eventQueries).to.have.length(2);
    // events flow again on the new connection
    const next = new Promise<LxdEvent>((resolve) => sub.on('event', resolve));
    fake.emit('lifecycle', { action: 'instance-stopped', source: '/1.0/instances/c1' });
    expect((await next).type).to.equal('lifecycle');
    sub.close();
  });

  it('counts failed attempts in a row only: a successful reconnect starts the count again (drop, reconnect, drop)', async function () {
    // One attempt allowed per drop: were the count kept across reconnects, the second drop would end the stream.
    const sub = lxd.events.subscribe({ reconnect: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 20 } });
    await sub.ready;
    const failed = new Promise<Error>((resolve) => sub.on('error', resolve));
    for (let drop = 1; drop <= 3; drop++) {
      const gap = new Promise<EventGap>((resolve) => sub.once('gap', resolve));
      fake.dropEvents();
      const outcome = await Promise.race([gap, failed]);
      expect(outcome, `drop ${drop} ended the stream: ${(outcome as Error).message}`).not.to.be.instanceOf(Error);
      expect(fake.eventQueries, `after drop ${drop}`).to.have.length(drop + 1);
    }
    const next = new Promise<LxdEvent>((resolve) => sub.on('event', resolve));
    fake.emit('lifecycle', { action: 'instance-stopped', source: '/1.0/instances/c1' });
    expect((await next).type).to.equal('lifecycle');
    expect(sub.isClosed).to.equal(false);
    sub.close();
  });

  it('gives up after maxAttempts failed attempts in a row, saying how many', async function () {
    const sub = lxd.events.subscribe({ reconnect: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
    await sub.ready;
    const failed = new Promise<Error>((resolve) => sub.on('error', resolve));
    const disconnects: Error[] = [];
    sub.on('disconnect', (e) => disconnects.push(e));
    fake.eventsEnabled = false;
    fake.dropEvents();
    const err = await failed;
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.match(/^events connection lost and 2 reconnect attempts failed: /);
    expect(disconnects).to.have.length(2);
    expect(fake.eventQueries, 'only the first connection was accepted').to.have.length(1);
    expect(sub.isClosed).to.equal(true);
  });

  it('treats a silent connection (no pings) as dead and reconnects', async function () {
    const sub = lxd.events.subscribe({ livenessTimeoutMs: 150, reconnect: { initialDelayMs: 10 } });
    await sub.ready;
    await new Promise<EventGap>((resolve) => sub.on('gap', resolve));
    expect(fake.eventQueries.length).to.be.at.least(2);
    sub.close();
  });

  it('ends with an error when reconnecting is off', async function () {
    const sub = lxd.events.subscribe({ reconnect: false });
    await sub.ready;
    const failed = new Promise<Error>((resolve) => sub.on('error', resolve));
    fake.dropEvents();
    const err = await failed;
    expect(err).to.be.instanceOf(LxdEventsError);
    expect(err.message).to.contain('events connection lost');
  });

  it('rejects `ready` when the upgrade is refused', async function () {
    fake.eventsEnabled = false;
    const sub = lxd.events.subscribe();
    const err = await sub.ready.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LxdEventsError);
    expect((err as Error).message).to.contain('HTTP 400');
  });

  it('stops on abort', async function () {
    const ac = new AbortController();
    const sub = lxd.events.subscribe({ signal: ac.signal });
    await sub.ready;
    const closed = new Promise<void>((resolve) => sub.on('close', resolve));
    ac.abort();
    await closed;
    expect(sub.connected).to.equal(false);
  });
});
