/**
 * The cluster launch benchmark in quick mode (npm run bench -- --cluster --quick), so that it cannot
 * rot: it must run on the real test cluster, produce numbers for both variants and leave nothing.
 * Timings are never asserted.
 */
import { expect } from 'chai';
import { renderClusterLaunch, runClusterLaunch, type ClusterLaunchResult } from '../../bench/cluster-launch.js';
import { removeWorkerBundle } from '../../bench/harness.js';
import { closeAll, memberSocket, requireCluster, type Members } from '../helpers/cluster-env.js';

describe('cluster: the launch benchmark, quick mode (npm run bench -- --cluster --quick)', function () {
  this.timeout(600_000);
  let members: Members;
  let result: ClusterLaunchResult;
  const log: string[] = [];

  before(async function () {
    members = await requireCluster(this);
    result = await runClusterLaunch({ mode: 'quick', socketPath: memberSocket('m1'), log: (m) => log.push(m) });
  });

  after(async function () {
    await removeWorkerBundle();
    await closeAll(members);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(log.join('\n'));
  });

  it('measures both variants, with the containers where they were asked to go', function () {
    expect(result.runs.map((r) => r.variant).sort()).to.deep.equal(['one', 'spread']);
    for (const r of result.runs) {
      expect(r.wallMs, r.variant).to.be.greaterThan(0);
      expect(r.cpuMs, r.variant).to.be.greaterThan(0);
    }
    expect(result.runs.find((r) => r.variant === 'spread')!.perMember).to.deep.equal({ m1: 2, m2: 2, m3: 2 });
    expect(result.runs.find((r) => r.variant === 'one')!.perMember).to.deep.equal({ m1: 6 });
    const md = renderClusterLaunch(result);
    expect(md).to.match(/\| spread over 3 members \| .* \| ×\d+\.\d\d \|/);
  });

  it('leaves no container or alias of the benchmark on the cluster', async function () {
    expect((await members.m2.instances.list()).filter((i) => i.name.startsWith('juju-be4c11-'))).to.deep.equal([]);
    expect((await members.m3.images.listAliases()).filter((a) => a.description.startsWith('lxdkit-bench'))).to.deep.equal([]);
  });
});
