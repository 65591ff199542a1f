/**
 * Every docs/examples/*.ts runs to completion (tsc type-checks them: tsconfig.json includes
 * docs/examples). Examples that talk to LXD or libvirt run against the real daemons; outside CI,
 * when there is no LXD socket, those are skipped with a message. In CI (CI=true) nothing is skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { resolveSocketPath } from '../../lib/lxd/socket.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'docs', 'examples');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** An example needs a daemon when it says so in its header or builds a client or a manager. */
function needsDaemon(source: string): boolean {
  return /needs a running (lxd|libvirt)/i.test(source) || /\bnew (LxdClient|LxdManager|KvmManager|LxdInitialiser|KvmInitialiser)\b/.test(source);
}

function runExample(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, file], { cwd: ROOT, timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The ```ts blocks of a page: each must be lines of one example, in order (`'lxdkit'` stands for the barrel). */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function isExcerpt(block: string, example: string): boolean {
  const lines = example.split('\n').map((l) => l.trim());
  let at = 0;
  for (const raw of block.split('\n')) {
    const line = raw.trim().replace(/from 'lxdkit'/, "from '../../lib/index.js'");
    if (line === '') continue;
    const found = lines.indexOf(line, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/** Pages whose TypeScript blocks are excerpts of docs/examples (pages without such blocks pass trivially). */
const EXCERPT_PAGES = ['index.md', 'getting-started.md', 'cli.md', 'profiles.md'];

describe('docs pages', () => {
  const examples = readdirSync(DIR).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(DIR, f), 'utf8'));
  for (const page of EXCERPT_PAGES) {
    it(`${page}: every TypeScript block is taken from a docs example that runs`, () => {
      for (const block of tsBlocks(readFileSync(join(ROOT, 'docs', page), 'utf8'))) {
        expect(examples.some((e) => isExcerpt(block, e)), `not an excerpt of any docs/examples/*.ts:\n${block}`).to.equal(true);
      }
    });
  }
});

describe('docs/examples', function () {
  this.timeout(200_000);
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort();
  const daemon = existsSync(resolveSocketPath());
  const inCi = Boolean(process.env['CI']);

  it('has examples', () => {
    expect(files.length).to.be.at.least(2);
  });

  for (const file of files) {
    const source = readFileSync(join(DIR, file), 'utf8');
    it(`${file} runs to completion and prints something`, async function () {
      if (needsDaemon(source) && !daemon) {
        if (inCi) throw new Error(`CI: ${file} needs LXD but there is no socket at ${resolveSocketPath()}`);
        console.warn(`    (skipped: ${file} needs a running LXD; run scripts/provision-host.sh)`);
        this.skip();
      }
      const r = await runExample(join(DIR, file));
      expect(r.code, `${file} failed:\n${r.stderr}`).to.equal(0);
      expect(r.stdout.trim(), file).to.not.equal('');
    });
  }
});
