/**
 * lib/cli/wind-down.ts: once a command is over, V8's queued young-generation collections do nothing
 * until the threshold is put back; a flag of the user's own is left alone. Each case runs in a fresh
 * process with V8's GC trace on, which names why each collection ran ("task" for a queued one).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEFAULT_MINOR_GC_TASK_TRIGGER } from '../../../lib/cli/wind-down.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const WIND_DOWN = join(ROOT, 'lib', 'cli', 'wind-down.ts');

/** Node's output for `args`; rejects with its stderr. */
function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/**
 * The young-generation collections of a process that allocates in small steps with the event loop
 * idle between them (when V8's queued tasks run), after `setup` ran; counted by their reason.
 */
async function collections(setup: string, nodeFlags: string[] = []): Promise<{ task: number; allocation: number }> {
  const code = `
    import { setFlagsFromString } from 'node:v8';
    import { skipWindDownCollection, restoreCollectionTrigger } from ${JSON.stringify(WIND_DOWN)};
    setFlagsFromString('--trace-gc');
    ${setup}
    let keep = [];
    for (let i = 0; i < 400; i++) {
      for (let j = 0; j < 300; j++) keep.push({ i, j, s: 'x' + j });
      if (keep.length > 30000) keep = [];
      await new Promise((r) => setTimeout(r, 1));
    }`;
  const out = await node([...nodeFlags, '--import', TSX, '--input-type=module', '-e', code]);
  const lines = out.split('\n').filter((l) => /: Scavenge /.test(l));
  return { task: lines.filter((l) => /\btask;/.test(l)).length, allocation: lines.filter((l) => /allocation failure/.test(l)).length };
}

describe('cli: no young-generation collection while the command winds down', function () {
  this.timeout(120_000);

  it("puts back V8's own default threshold", async () => {
    const options = await node(['--v8-options']);
    const entry = /--minor-gc-task-trigger \(.*\)\n\s+type: int\s+default: --minor-gc-task-trigger=(\d+)/.exec(options);
    expect(entry, 'this Node has no --minor-gc-task-trigger').to.not.equal(null);
    expect(Number(entry![1])).to.equal(DEFAULT_MINOR_GC_TASK_TRIGGER);
  });

  it('V8 runs queued collections while the loop is idle; after skipWindDownCollection none, only those it must make', async () => {
    const before = await collections('');
    expect(before.task, 'the spec must see queued collections to mean anything').to.be.above(0);
    const skipped = await collections('skipWindDownCollection();');
    expect(skipped.task).to.equal(0);
    expect(skipped.allocation).to.be.above(0);
  });

  it('restoreCollectionTrigger puts them back', async () => {
    expect((await collections('skipWindDownCollection(); restoreCollectionTrigger();')).task).to.be.above(0);
  });

  it('a --minor-gc-task-trigger of your own on the command line is left as it is', async () => {
    expect((await collections('skipWindDownCollection();', [`--minor-gc-task-trigger=${DEFAULT_MINOR_GC_TASK_TRIGGER}`])).task).to.be.above(0);
  });
});
