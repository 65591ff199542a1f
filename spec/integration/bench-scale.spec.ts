/**
 * The simulated-scale benchmark in quick mode (npm run bench -- --scale --quick): a cluster of 50
 * members built from the fixtures recorded on the test cluster, served by the replay server, measured
 * in worker processes. It needs no daemon. Timings are never asserted.
 */
import { expect } from 'chai';
import { removeWorkerBundle } from '../../bench/harness.js';
import { renderScale, runScale, simulatedCluster, type ScaleResult } from '../../bench/scale.js';
import { parseFixture } from '../../lib/testing/fixture.js';

describe('benchmark: a simulated large cluster, quick mode (npm run bench -- --scale --quick)', function () {
  this.timeout(300_000);
  let result: ScaleResult;

  before(async function () {
    result = await runScale({ sizes: [200, 1_000], listings: 2, log: () => {} });
  });
  after(removeWorkerBundle);

  it('is a valid fixture of 50 members and the asked-for instances and events, shaped as recorded', async function () {
    const fx = parseFixture(JSON.parse(JSON.stringify(await simulatedCluster(120, 50, 1))), 'simulated');
    const members = (fx.interactions[0]!.response.body as { metadata: { server_name: string; url: string }[] }).metadata;
    expect(members.map((m) => m.server_name)).to.have.length(50).and.include.members(['m1', 'm50']);
    const list = (fx.interactions[1]!.response.body as { metadata: { name: string; location: string; expanded_devices: unknown }[] }).metadata;
    expect(list).to.have.length(120);
    expect(new Set(list.map((i) => i.location)).size).to.equal(50);
    expect(list[0]!.expanded_devices, 'copied from the recorded instance').to.have.property('root');
    expect(fx.events![0]!.messages).to.have.length(120);
  });

  it('measures listing, its memory and event following at each size', function () {
    expect(result.runs.map((r) => r.instances)).to.deep.equal([200, 1_000]);
    for (const r of result.runs) {
      for (const v of [...r.list.wallMs, ...r.list.cpuMs, r.peak.maxRssKiB, r.peak.baseRssKiB, ...r.events.map((e) => e.wallMs)]) expect(Number.isFinite(v) && v > 0, `${r.instances}: ${v}`).to.equal(true);
      expect(r.list.wallMs).to.have.length(2);
      expect(r.list.bodyBytes).to.be.greaterThan(r.instances * 1_000);
      for (const e of r.events) expect(e.locations).to.equal(50);
    }
    const md = renderScale(result);
    expect(md).to.include('| 1,000 |').and.include('| 200 |');
  });
});
