/**
 * The relay of a migration in a process of its own (spec/helpers/relay-gc-child.ts): V8's flags are
 * the process's, so whether `relayCollectsGarbage` turned on `--expose-gc` shows only in a fresh
 * one. The child's source writes everything the moment its socket opens, before the relay has
 * opened the target's: every byte must still arrive.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';

const CHILD = join(import.meta.dirname, '..', '..', 'helpers', 'relay-gc-child.ts');
const TOTAL = 192 * 64 * 1024;

function relay(option: 'default' | 'true' | 'false'): Promise<{ gc: string; received: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import=tsx/esm', CHILD, option], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the relay process failed (${err.killed ? 'killed after 60 s: bytes were lost and the migration never ended' : err.message}): ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { gc: string; received: number });
    });
  });
}

describe('migration relay in a fresh process (fake servers)', function () {
  this.timeout(180_000);

  it('carries every byte a source writes the moment its socket opens, before the target\'s is open', async () => {
    const got = await relay('default');
    expect(got.received).to.equal(TOTAL);
  });

  it('relayCollectsGarbage: by default, and with true, V8\'s collector is exposed for the relay; false leaves V8\'s flags alone', async () => {
    expect(await relay('default')).to.deep.equal({ gc: 'function', received: TOTAL });
    expect(await relay('true')).to.deep.equal({ gc: 'function', received: TOTAL });
    expect(await relay('false')).to.deep.equal({ gc: 'undefined', received: TOTAL });
  });
});
