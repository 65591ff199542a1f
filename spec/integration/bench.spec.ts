/**
 * The benchmark in quick mode (small counts), so that it cannot rot: every case must run against the
 * real daemon and produce numbers for lxdkit and its peers. Timings are never asserted.
 */
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { expect } from 'chai';
import { CASES, runBench, type BenchResult } from '../../bench/bench.js';
import { renderReport } from '../../bench/report.js';
import { BENCH_PREFIX, closeRaw, lxdRaw } from '../../bench/harness.js';
import type { LxdClient } from '../../lib/lxd/index.js';
import { requireLxd } from '../helpers/lxd-env.js';

const MODE_PREFIX = `${BENCH_PREFIX}quick-`;

/** The peers each case must have measured besides lxdkit. */
const PEERS: Record<keyof typeof CASES, string[]> = {
  'request-overhead': ['raw undici', 'pylxd'],
  listing: ['raw undici', 'pylxd', 'lxc'],
  launch: ['lxd-benchmark', 'lxdkit client only'],
  'operation-wait': ['pylxd'],
  memory: ['raw undici', 'pylxd', 'lxc'],
  exec: ['pylxd', 'lxc'],
  transfer: ['pylxd', 'lxc'],
  startup: ['lxc', 'bare node'],
};

describe('benchmark, quick mode (npm run bench -- --quick)', function () {
  this.timeout(600_000);
  let lxd: LxdClient;
  let result: BenchResult;
  const log: string[] = [];

  before(async function () {
    lxd = await requireLxd(this);
    result = await runBench({ mode: 'quick', log: (m) => log.push(m) });
  });

  after(async function () {
    await lxd?.close();
    await closeRaw();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(log.join('\n'));
  });

  it('runs every case, in order, without an error', function () {
    expect(result.cases.map((c) => c.id)).to.deep.equal(Object.keys(CASES));
    for (const c of result.cases) expect(c.error, `case ${c.id}`).to.equal(undefined);
  });

  for (const id of Object.keys(CASES) as (keyof typeof CASES)[]) {
    it(`${id}: produces a number for lxdkit and for each peer, and a verdict for each target`, function () {
      const c = result.cases.find((x) => x.id === id);
      expect(c, id).to.not.equal(undefined);
      const contenders = new Set(c!.samples.map((s) => s.contender));
      expect([...contenders]).to.include.members(['lxdkit', ...PEERS[id]]);
      for (const s of c!.samples) {
        expect(s.values, `${id} ${s.contender} ${s.variant} ${s.metric}`).to.not.be.empty;
        for (const v of s.values) {
          expect(Number.isFinite(v), `${id} ${s.contender} ${s.metric} = ${v}`).to.equal(true);
          // delays may be a hair below zero (two clocks read on one host); everything else is a positive amount
          if (s.metric !== 'delay') expect(v, `${id} ${s.contender} ${s.metric}`).to.be.greaterThan(0);
        }
      }
      expect(c!.checks).to.not.be.empty;
      for (const k of c!.checks) {
        expect(k.met).to.be.a('boolean');
        expect(k.detail).to.match(/\d/);
      }
    });
  }

  it('records the LXD and Node versions and the core count, and renders them with every case', function () {
    expect(result.env.lxdVersion).to.match(/^\d+\.\d+/);
    expect(result.env.node).to.equal(process.version);
    expect(result.env.cores).to.be.greaterThan(0);
    const md = renderReport(result);
    expect(md).to.include(`| LXD | ${result.env.lxdVersion}`).and.include(`| Node.js | ${process.version}`).and.include(`${result.env.cores} cores`);
    for (const c of result.cases) expect(md).to.include(`## ${c.title}`);
  });

  it('leaves no project, instance, alias, image or temporary file behind', async function () {
    const { json } = await lxdRaw(lxd.endpoint, 'GET', '/1.0/projects');
    const projects = (json.metadata as string[]).filter((u) => decodeURIComponent(u.split('/').pop() ?? '').startsWith(MODE_PREFIX));
    expect(projects).to.deep.equal([]);
    const aliases = (await lxd.images.listAliases()).filter((a) => a.name.startsWith(`juju/${MODE_PREFIX}`));
    expect(aliases).to.deep.equal([]);
    const images = (await lxd.images.list()).filter((i) => (i.properties?.['description'] ?? '').startsWith(MODE_PREFIX));
    expect(images.map((i) => i.fingerprint)).to.deep.equal([]);
    expect((await readdir(tmpdir())).filter((d) => d.startsWith(MODE_PREFIX))).to.deep.equal([]);
  });
});
