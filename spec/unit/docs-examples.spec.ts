/**
 * Every docs/examples/*.ts runs to completion (tsc type-checks them: tsconfig.json includes
 * docs/examples). Examples that talk to LXD, Incus or libvirt run against the real daemons; outside
 * CI, when there is no LXD socket (or, for Incus or libvirt examples, no socket of theirs), those are
 * skipped with a message. In CI (CI=true) nothing is skipped.
 *
 * Examples that need the test cluster (their header says "Needs the test cluster") run in the
 * cluster part of the suite: scripts/test.sh runs this file again with LXDKIT_CLUSTER_SPECS=1 after
 * `scripts/cluster.sh up`, and then runs only those. The single-daemon run leaves them to it, and says so.
 *
 * Every ```ts block of every docs/*.md page and of README.md is an excerpt of one of those examples,
 * so no code shown in the documentation goes untested.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { resolveSocketPath } from '../../lib/lxd/socket.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'docs', 'examples');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** An example needs LXD when it says so in its header or builds a client, a recorder or an LXD manager. */
function needsLxd(source: string): boolean {
  return /needs a running lxd/i.test(source) || /\bnew (LxdClient|LxdManager|LxdInitialiser|Recorder)\b/.test(source);
}

/** An example needs Incus when it says so in its header or asks for Incus's socket. */
function needsIncus(source: string): boolean {
  return /needs a running LXD and a running Incus|needs a running incus/i.test(source) || /server: 'incus'/.test(source);
}

/** An example needs libvirtd when it says so in its header or builds a KVM manager or initialiser. */
function needsLibvirt(source: string): boolean {
  return /needs a running libvirt/i.test(source) || /\bnew (KvmManager|KvmInitialiser)\b/.test(source);
}

const LIBVIRT_SOCKETS = ['/run/libvirt/libvirt-sock', '/var/run/libvirt/libvirt-sock'];

/** An example needs the test cluster (scripts/cluster.sh) when its header says so. */
function needsCluster(source: string): boolean {
  return /needs the test cluster/i.test(source);
}

/** True in the cluster part of the suite (scripts/test.sh, with the test cluster up). */
const CLUSTER_PART = process.env['LXDKIT_CLUSTER_SPECS'] === '1';

function runExample(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, file], { cwd: ROOT, timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The ```ts blocks of a page: each must be lines of one example, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function isExcerpt(block: string, example: string): boolean {
  const lines = example.split('\n').map((l) => l.trim());
  let at = 0;
  for (const raw of block.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const found = lines.indexOf(line, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/** Every page of docs/ and the README (pages without TypeScript blocks pass trivially). */
const PAGES = [
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f)),
  'README.md',
];

// The pages are checked once, in the single-daemon part.
if (!CLUSTER_PART) {
  describe('docs pages', () => {
    const examples = readdirSync(DIR).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(DIR, f), 'utf8'));

    it('are all checked', () => {
      expect(PAGES).to.include.members(['docs/index.md', 'docs/client.md', 'docs/container.md', 'docs/testing.md', 'README.md']);
    });

    for (const page of PAGES) {
      it(`${page}: every TypeScript block is taken from a docs example that runs`, () => {
        for (const block of tsBlocks(readFileSync(join(ROOT, page), 'utf8'))) {
          expect(examples.some((e) => isExcerpt(block, e)), `not an excerpt of any docs/examples/*.ts:\n${block}`).to.equal(true);
        }
      });
    }
  });
}

describe(CLUSTER_PART ? 'docs/examples (the test cluster)' : 'docs/examples', function () {
  this.timeout(200_000);
  const all = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort();
  const forCluster = all.filter((f) => needsCluster(readFileSync(join(DIR, f), 'utf8')));
  // Each example runs in exactly one part of the suite.
  const files = CLUSTER_PART ? forCluster : all.filter((f) => !forCluster.includes(f));
  if (!CLUSTER_PART && forCluster.length > 0) {
    before(() => console.log(`    (${forCluster.join(', ')}: run in the cluster part of the suite, not here: scripts/test.sh runs them with the test cluster up)`));
  }
  const lxd = existsSync(resolveSocketPath());
  const incus = existsSync(resolveSocketPath(undefined, process.env, 'incus'));
  const libvirt = LIBVIRT_SOCKETS.some((p) => existsSync(p));
  const inCi = Boolean(process.env['CI']);

  it('has examples', () => {
    expect(files.length).to.be.at.least(CLUSTER_PART ? 1 : 2);
  });

  for (const file of files) {
    const source = readFileSync(join(DIR, file), 'utf8');
    it(`${file} runs to completion and prints something`, async function () {
      if (needsLxd(source) && !lxd) {
        if (inCi) throw new Error(`CI: ${file} needs LXD but there is no socket at ${resolveSocketPath()}`);
        console.warn(`    (skipped: ${file} needs a running LXD; run scripts/provision-host.sh)`);
        this.skip();
      }
      if (needsIncus(source) && !incus) {
        if (inCi) throw new Error(`CI: ${file} needs Incus but there is no socket at ${resolveSocketPath(undefined, process.env, 'incus')}`);
        console.warn(`    (skipped: ${file} needs a running Incus; run scripts/provision-host.sh)`);
        this.skip();
      }
      const clusterSocket = process.env['LXDKIT_CLUSTER_M1_SOCKET'] ?? '/var/lib/lxdkit-cluster/m1/unix.socket';
      if (needsCluster(source) && !existsSync(clusterSocket)) {
        if (inCi) throw new Error(`CI: ${file} needs the test cluster but there is no socket at ${clusterSocket}`);
        console.warn(`    (skipped: ${file} needs the test cluster; run scripts/cluster.sh up)`);
        this.skip();
      }
      if (needsLibvirt(source) && !libvirt) {
        if (inCi) throw new Error(`CI: ${file} needs libvirtd but there is no socket at ${LIBVIRT_SOCKETS.join(' or ')}`);
        console.warn(`    (skipped: ${file} needs a running libvirtd; run scripts/provision-host.sh)`);
        this.skip();
      }
      const r = await runExample(join(DIR, file));
      expect(r.code, `${file} failed:\n${r.stderr}`).to.equal(0);
      expect(r.stdout.trim(), file).to.not.equal('');
    });
  }
});
