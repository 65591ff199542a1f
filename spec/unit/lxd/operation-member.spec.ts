/**
 * Operation.wait for an operation that runs on another cluster member (its `location`), when that
 * member cannot be reached: the wait ends with LxdMemberUnreachableError naming the member, through
 * events (which just stop carrying the operation) and through `/wait`. LXD's texts are those of LXD
 * 5.0.2 on the test cluster.
 */
import { expect } from 'chai';
import { errorText } from '../../../lib/errors.js';
import { LxdClient, LxdMemberUnreachableError, LxdOperationLostError } from '../../../lib/lxd/index.js';
import { asyncAnswer, lxdError, operationObject, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';

describe('Operation.wait on another cluster member', function () {
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

  const started = (op: Record<string, unknown>) => fake.on('POST', '/1.0/instances/c1/exec', () => asyncAnswer(op));
  const exec = async () => (await lxd.query('POST', '/1.0/instances/c1/exec', { body: { command: ['sleep', '60'] } })).operation!;

  it('events: when the member dies the events stop; the wait asks LXD and ends with the member named', async function () {
    lxd = new LxdClient({ socketPath: fake.socketPath });
    const op = operationObject({ location: 'm3', description: 'Executing command' });
    started(op);
    let gets = 0;
    fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => {
      gets += 1;
      return lxdError(500, 'Missing event connection with target cluster member');
    });
    const handle = await exec();
    expect(handle.member).to.equal('m3');
    const t0 = Date.now();
    const err = await rejection(handle.wait({ timeoutMs: 20_000 }));
    const took = Date.now() - t0;
    expect(err).to.be.instanceOf(LxdMemberUnreachableError);
    expect((err as LxdMemberUnreachableError).member).to.equal('m3');
    expect(errorText(err)).to.equal('cluster member "m3" is unreachable: Missing event connection with target cluster member');
    expect(gets).to.equal(1);
    // one check, about 5 s in: well before the wait's own deadline
    expect(took).to.be.within(4_000, 9_000);
  });

  it('events: an operation of a member that is fine finishes by its events alone', async function () {
    lxd = new LxdClient({ socketPath: fake.socketPath });
    const op = operationObject({ location: 'm2' });
    started(op);
    const handle = await exec();
    setTimeout(() => fake.emit('operation', { ...op, status: 'Success', status_code: 200 }), 50);
    expect((await handle.wait({ timeoutMs: 10_000 })).status).to.equal('Success');
    expect(fake.requestsTo('GET', `/1.0/operations/${String(op['id'])}`)).to.have.length(0);
  });

  it('/wait: the forwarded long-poll failing on the way (EOF) ends the wait at once, naming member and address', async function () {
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    const op = operationObject({ location: 'm3' });
    started(op);
    const id = String(op['id']);
    fake.on('GET', `/1.0/operations/${id}/wait`, () => lxdError(500, `Get "https://127.0.1.3:8443/1.0/operations/${id}/wait?timeout=5": EOF`));
    const err = await rejection((await exec()).wait({ timeoutMs: 20_000 }));
    expect(err).to.be.instanceOf(LxdMemberUnreachableError);
    expect((err as LxdMemberUnreachableError).member).to.equal('m3');
    expect((err as LxdMemberUnreachableError).address).to.equal('127.0.1.3:8443');
  });

  it('after the member came back, its operation is gone: LxdOperationLostError, as after a daemon restart', async function () {
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    const op = operationObject({ location: 'm3' });
    started(op);
    fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => lxdError(404, 'Operation not found'));
    expect(await rejection((await exec()).wait({ timeoutMs: 5_000 }))).to.be.instanceOf(LxdOperationLostError);
  });

  it('a server that is not clustered (location "none") has no member', async function () {
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    const op = operationObject({ location: 'none' });
    started(op);
    fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
    fake.on('GET', `/1.0/operations/${String(op['id'])}`, () => sync({ ...op, status: 'Success', status_code: 200 }));
    const handle = await exec();
    expect(handle.member).to.equal(undefined);
    await handle.wait({ timeoutMs: 5_000 });
  });
});
