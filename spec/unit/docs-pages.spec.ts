/**
 * Every ```ts block of every docs/*.md page and of README.md is an excerpt of one of the examples in
 * docs/examples/, which spec/integration/docs-examples.spec.ts runs (against the real daemons), so no
 * code shown in the documentation goes untested. This half only reads files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'docs', 'examples');

/** The ```ts blocks of a page: each must be lines of one example, in order (`'lxdkit'` stands for the barrel). */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** A line with the package's own import paths written as the relative paths inside the repository. */
function normalise(line: string): string {
  return line
    .trim()
    .replace(/from 'lxdkit'/, "from '../../lib/index.js'")
    .replace(/from 'lxdkit\/testing'/, "from '../../lib/testing/index.js'");
}

function isExcerpt(block: string, example: string): boolean {
  const lines = example.split('\n').map(normalise);
  let at = 0;
  for (const raw of block.split('\n')) {
    const line = normalise(raw);
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
