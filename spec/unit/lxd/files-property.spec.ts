/**
 * Property (#18): whatever tree a lying server serves - hostile names (`..`, `.`, `a/b`, NUL, empty,
 * twice), symlinks into the tree and out of it, FIFOs, special types, setuid modes, types that change
 * between two pulls - and whatever the destination already holds (symlinks to the outside), two
 * `pullRecursive` runs into the same destination change nothing outside it, leave no temporary
 * entry and no setuid/setgid/sticky bit behind, and fail, if they fail, only with an lxdkit error.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { LxdError, type LxdClient } from '../../../lib/lxd/index.js';
import { dir, fifo, file, link, serveFiles, type FakeFiles, type FakeNode } from '../../helpers/fake-files.js';
import { startFakeLxd, type FakeLxd } from '../../helpers/fake-lxd.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';
import { snapshotTree, treeEntries } from '../../helpers/host-tree.js';

describe('files: property: a pull -r stays inside its destination (#18)', function () {
  let fake: FakeLxd;
  let lxd: LxdClient;
  let tree: FakeFiles;
  let resumeNock: () => void = () => undefined;

  before(async () => {
    resumeNock = pauseNock();
    fake = await startFakeLxd();
    lxd = fake.client();
    tree = serveFiles(fake, '/t', dir([]));
  });
  after(async () => {
    await fake.close();
    resumeNock();
  });

  it('changes nothing outside the destination, whatever the server and the destination hold (100 runs)', async function () {
    this.timeout(300_000);
    const work = await mkdtemp(join(tmpdir(), 'lxdkit-files18-prop-'));
    // deep enough that climbing from the destination stays inside `work`, where it is seen
    const dest = join(work, 'l1', 'l2', 'l3', 'l4', 'dest');
    const outside = join(work, 'outside');

    const safe = fc.constantFrom('a', 'b', 'sub', 'x', 'é', 'n'.repeat(255));
    const hostile = fc.constantFrom('..', '.', '', 'a/b', '../x', '../../../../x', 'sub/../../x', 'n\0', '/abs');
    const name = fc.oneof({ arbitrary: safe, weight: 12 }, { arbitrary: hostile, weight: 1 });
    const target = fc.oneof(
      fc.constantFrom('/t/a', '/t/sub', '/t/sub/x', '/t', 'relative', '../..'),
      fc.constant(outside),
      fc.constant(join(outside, 'secret')),
    );
    const mode = fc.constantFrom(0o644, 0o755, 0o4755, 0o2711, 0o1777, 0o6777, 0o000, 0o700);
    const { node } = fc.letrec<{ node: FakeNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { arbitrary: fc.tuple(fc.string({ maxLength: 20 }), mode).map(([c, m]) => file(c, m)), weight: 6 },
        { arbitrary: target.map(link), weight: 3 },
        { arbitrary: fc.tuple(fc.array(fc.tuple(name, tie('node')), { maxLength: 4 }), mode).map(([e, m]) => dir(e, m)), weight: 3 },
        { arbitrary: fc.constant(fifo()), weight: 1 },
        { arbitrary: fc.constantFrom<FakeNode>({ type: 'special', header: 'socket' }, { type: 'special', header: 'fifo' }), weight: 1 },
      ),
    }));
    const root = fc.tuple(fc.array(fc.tuple(name, node), { maxLength: 5 }), mode).map(([e, m]) => dir(e, m));
    // what the destination holds before the first pull: symlinks out of it, under names the tree may use
    const planted = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'sub', 'x'), fc.constantFrom(outside, join(outside, 'secret'), join(outside, 'd'))), { maxLength: 3, selector: ([n]) => n });

    try {
      await fc.assert(
        fc.asyncProperty(root, root, planted, async (first, second, links) => {
          await rm(work, { recursive: true, force: true });
          await mkdir(join(outside, 'd'), { recursive: true, mode: 0o700 });
          await writeFile(join(outside, 'secret'), 'host secret\n', { mode: 0o600 });
          await writeFile(join(outside, 'd', 'keep'), 'keep\n');
          await mkdir(dest, { recursive: true });
          await writeFile(join(work, 'l1', 'l2', 'sibling'), 'sibling\n');
          for (const [n, to] of links) await symlink(to, join(dest, n));
          const before = await snapshotTree(work, dest);
          for (const t of [first, second]) {
            tree.set(t);
            const err = await lxd.instances.files.pullRecursive('c1', '/t', dest, { stallTimeoutMs: 200, signal: AbortSignal.timeout(20_000) }).then(() => undefined, (e: unknown) => e);
            if (err !== undefined) expect(LxdError.is(err), `a typed error, not ${String(err)}`).to.equal(true);
            expect(await snapshotTree(work, dest)).to.deep.equal(before);
          }
          for (const [p, st] of await treeEntries(dest)) {
            expect(p.startsWith(`${dest}/`), p).to.equal(true);
            expect(p, 'no temporary entry is left').not.to.match(/\/\.lxdkit-[0-9a-f]{12}$/);
            if (!st.isSymbolicLink()) expect(Number(st.mode) & 0o7000, `${p} has no setuid, setgid or sticky bit`).to.equal(0);
          }
        }),
        { numRuns: 100, endOnFailure: true },
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
