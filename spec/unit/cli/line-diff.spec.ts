import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { diffLines, lineDiff } from '../../../lib/cli/line-diff.js';
import { bigProfiles } from '../../helpers/big-profiles.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The quadratic LCS table the diff used before: the reference for the length of a shortest edit. */
function lcsLength(x: readonly string[], y: readonly string[]): number {
  const row = new Array<number>(y.length + 1).fill(0);
  for (let i = x.length - 1; i >= 0; i--) {
    let diag = 0;
    for (let j = y.length - 1; j >= 0; j--) {
      const below = row[j]!;
      row[j] = x[i] === y[j] ? diag + 1 : Math.max(below, row[j + 1]!);
      diag = below;
    }
  }
  return row[0]!;
}

const lines = (t: string): string[] => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));

/** What a diff says each side was: ' ' and '-' lines give `a`, ' ' and '+' lines give `b`. */
function sides(diff: string): { a: string[]; b: string[]; common: number } {
  const a: string[] = [];
  const b: string[] = [];
  let common = 0;
  for (const l of lines(diff)) {
    const [mark, text] = [l.slice(0, 2), l.slice(2)];
    if (mark === '  ') common++;
    if (mark !== '+ ') a.push(text);
    if (mark !== '- ') b.push(text);
  }
  return { a, b, common };
}

/** Within each run of changed lines, every '-' comes before every '+'. */
function removalsFirst(diff: string): boolean {
  return !/^\+ .*\n- /m.test(diff);
}

describe('cli line diff (linear space)', () => {
  it('keeps the output of the specs written for the quadratic diff', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n')).to.equal('  a\n- b\n+ B\n  c\n+ d\n');
    expect(lineDiff('', 'x\n')).to.equal('+ x\n');
    expect(lineDiff('x\n', '')).to.equal('- x\n');
    expect(lineDiff('', '')).to.equal('');
    expect(lineDiff('a\nb\n', 'c\nd\n')).to.equal('- a\n- b\n+ c\n+ d\n');
    expect(lineDiff('a\nx\nb\n', 'y\na\nb\n')).to.equal('+ y\n  a\n- x\n  b\n');
  });

  it('is a shortest diff that reproduces both texts, removals first in each change (random texts)', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'config:', '  x: "1"'), { maxLength: 40 }).map((l) => (l.length ? `${l.join('\n')}\n` : ''));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const diff = lineDiff(a, b);
        const s = sides(diff);
        expect(s.a).to.deep.equal(lines(a));
        expect(s.b).to.deep.equal(lines(b));
        expect(s.common).to.equal(lcsLength(lines(a), lines(b)));
        expect(removalsFirst(diff)).to.equal(true);
      }),
      { numRuns: 500 },
    );
  });

  it('still reproduces both texts when the search gives up early (maxCost), if no longer the shortest', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 60 }).map((l) => `${l.join('\n')}\n`);
    fc.assert(
      fc.property(text, text, fc.integer({ min: 1, max: 3 }), (a, b, maxCost) => {
        const s = sides(lineDiff(a, b, { maxCost }));
        expect(s.a).to.deep.equal(lines(a));
        expect(s.b).to.deep.equal(lines(b));
      }),
      { numRuns: 300 },
    );
  });

  it('diffs two 25,000-line profiles that differ in scattered places, in well under two seconds, exactly', () => {
    const { before, after, removed, added } = bigProfiles();
    expect(lines(before)).to.have.length(25_000);
    global.gc?.();
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    const diff = lineDiff(before, after);
    const ms = performance.now() - started;
    const grew = (process.memoryUsage().heapUsed - heap) / 2 ** 20;
    const out = lines(diff);
    expect(out.filter((l) => l.startsWith('- ')).map((l) => l.slice(2))).to.deep.equal(removed);
    expect(out.filter((l) => l.startsWith('+ ')).map((l) => l.slice(2))).to.deep.equal(added);
    expect(out.filter((l) => l.startsWith('  '))).to.have.length(25_000 - removed.length);
    // each change sits where it belongs: the line before a changed value is its predecessor key
    const at = out.indexOf('-   user.k002991: v2991');
    expect(out.slice(at - 1, at + 3)).to.deep.equal(['    user.k002990: v2990', '-   user.k002991: v2991', '+   user.k002991: w2991', '    user.k002992: v2992']);
    expect(ms).to.be.below(2000);
    expect(grew).to.be.below(64); // the quadratic table needed 25,000² cells (gigabytes)
  });

  it('runs the 25,000-line diff in a process with a 128 MB heap', async function () {
    this.timeout(60_000);
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--max-old-space-size=128', '--import', 'tsx/esm', join(ROOT, 'spec', 'helpers', 'diff-in-child.ts')], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
    expect(result.code, result.stderr).to.equal(0);
    const got = JSON.parse(result.stdout) as { ms: number; lines: number; changed: number; heapUsedMB: number };
    expect(got.changed).to.equal(bigProfiles().removed.length + bigProfiles().added.length);
    expect(got.lines).to.equal(25_000 + bigProfiles().added.length);
    expect(got.ms).to.be.below(2000);
  });

  it('stays fast when the texts share nothing, or are the same few lines in another order', () => {
    const n = 25_000;
    const a = Array.from({ length: n }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: n }, (_, i) => `b${i}`).join('\n');
    let started = performance.now();
    expect(sides(lineDiff(a, b)).common).to.equal(0);
    expect(performance.now() - started).to.be.below(2000);
    // many repeated lines: the worst case of the search, bounded by maxCost
    const x = Array.from({ length: n }, (_, i) => ['type: disk', 'path: /', 'pool: default'][i % 3]!);
    const y = Array.from({ length: n }, (_, i) => ['pool: default', 'type: disk', 'path: /', 'type: disk'][i % 4]!);
    started = performance.now();
    const { removed, added } = diffLines(x, y);
    expect(performance.now() - started).to.be.below(5000);
    expect(x.length - removed.reduce((s, c) => s + c, 0)).to.equal(y.length - added.reduce((s, c) => s + c, 0));
  });
});
