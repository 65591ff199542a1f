/**
 * progressOf: the progress entries of an operation's metadata, as LXD reports them (a text such as
 * `rootfs: 45% (12.30MB/s)`, or an object with `stage`, `percent` and `speed`), and what `onProgress`
 * hears while a wait goes on.
 */
import { expect } from 'chai';
import { LxdClient, progressOf, type OperationProgress } from '../../../lib/lxd/index.js';
import { asyncAnswer, operationObject as operation, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

describe('progressOf', function () {
  it('has nothing to report for an operation without metadata', function () {
    expect(progressOf(null)).to.deep.equal([]);
    expect(progressOf(undefined)).to.deep.equal([]);
    expect(progressOf({})).to.deep.equal([]);
  });

  it('reads only the keys that end in "progress", and only texts and objects', function () {
    const metadata = { id: 'abc', progress_of_nothing: '10%', fs_progress: 'rootfs: 7%', count_progress: 12, none_progress: null };
    expect(progressOf(metadata)).to.deep.equal([{ stage: 'fs_progress', text: 'rootfs: 7%', percent: 7, metadata }]);
  });

  it('takes the percentage of a text, whole or decimal, and none when the text has none', function () {
    const metadata = {
      download_progress: 'rootfs: 100% (12.30MB/s)',
      unpack_progress: 'Unpack: 45.25%',
      create_progress: 'Retrieving image',
    };
    const got = progressOf(metadata);
    expect(got.map((p) => [p.stage, p.text, p.percent])).to.deep.equal([
      ['download_progress', 'rootfs: 100% (12.30MB/s)', 100],
      ['unpack_progress', 'Unpack: 45.25%', 45.25],
      ['create_progress', 'Retrieving image', undefined],
    ]);
    for (const p of got) expect(p.metadata).to.equal(metadata);
  });

  it('makes a text of an object entry: its stage, percent and speed', function () {
    const metadata = { progress: { stage: 'create_instance_from_image_unpack', percent: '45', speed: '12.30MB/s' } };
    expect(progressOf(metadata)).to.deep.equal([
      { stage: 'create_instance_from_image_unpack', text: 'create_instance_from_image_unpack: 45% (12.30MB/s)', percent: 45, metadata },
    ]);
  });

  it('names an object entry by its key when it has no stage, and leaves out a speed it lacks', function () {
    const metadata = { download_progress: { percent: 30 }, other_progress: { stage: 7, percent: 12.5, speed: '' } };
    expect(progressOf(metadata)).to.deep.equal([
      { stage: 'download_progress', text: 'download_progress: 30%', percent: 30, metadata },
      { stage: 'other_progress', text: 'other_progress: 12.5%', percent: 12.5, metadata },
    ]);
  });

  it('says "?" for an object entry without a usable percent, and gives it no percent', function () {
    const metadata = { a_progress: { stage: 'a' }, b_progress: { stage: 'b', percent: 'lots' }, c_progress: { stage: 'c', percent: true } };
    const got = progressOf(metadata);
    expect(got.map((p) => [p.text, p.percent])).to.deep.equal([
      ['a: ?%', undefined],
      ['b: NaN%', undefined],
      ['c: ?%', undefined],
    ]);
    for (const p of got) expect(p).to.have.property('percent', undefined);
  });
});

describe('Operation.wait onProgress', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;

  beforeEach(async function () {
    fake = await startFakeLxd();
    lxd = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
  });
  afterEach(async function () {
    await lxd.close();
    await fake.close();
  });

  /** An operation whose `/wait` answers `states` in turn (then Success), and whose GET answers Success. */
  function scripted(states: (Record<string, unknown> | null)[]): Record<string, unknown> {
    const op = operation();
    const id = String(op['id']);
    fake.on('PUT', '/1.0/instances/c1/state', () => asyncAnswer({ ...op, metadata: states[0] }));
    let polls = 0;
    fake.on('GET', `/1.0/operations/${id}/wait`, () => {
      polls += 1;
      return sync(polls < states.length ? { ...op, metadata: states[polls] } : { ...op, status: 'Success', status_code: 200, metadata: null });
    });
    fake.on('GET', `/1.0/operations/${id}`, () => sync({ ...op, status: 'Success', status_code: 200, metadata: null }));
    return op;
  }

  it('reports each new text of each stage once, starting with the state of the create response', async function () {
    scripted([
      { download_progress: 'rootfs: 10%' },
      { download_progress: 'rootfs: 10%' },
      { download_progress: 'rootfs: 50%', unpack_progress: 'Unpack: 10%' },
      { download_progress: 'rootfs: 50%', unpack_progress: 'Unpack: 10%' },
      { download_progress: 'rootfs: 50%', unpack_progress: 'Unpack: 90%' },
    ]);
    const heard: OperationProgress[] = [];
    const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({ timeoutMs: 10_000, onProgress: (p) => heard.push(p) });
    expect(done.status).to.equal('Success');
    expect(heard.map((p) => p.text)).to.deep.equal(['rootfs: 10%', 'rootfs: 50%', 'Unpack: 10%', 'Unpack: 90%']);
  });

  it('a callback that throws neither ends the wait nor stops later reports', async function () {
    scripted([{ download_progress: 'rootfs: 10%' }, { download_progress: 'rootfs: 20%' }]);
    const heard: string[] = [];
    const done = await (await lxd.instances.setState('c1', { action: 'start' })).wait({
      timeoutMs: 10_000,
      onProgress: (p) => {
        heard.push(p.text);
        throw new Error('a broken progress bar');
      },
    });
    expect(done.status).to.equal('Success');
    expect(heard).to.deep.equal(['rootfs: 10%', 'rootfs: 20%']);
  });
});
