import { expect } from 'chai';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containersSupported, runningInContainer } from '../../../lib/container/index.js';

describe('runningInContainer / containersSupported', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-ric-'));
    for (const [name, code] of [
      ['running-in-container', 0],
      ['exit1', 1],
    ] as const) {
      await writeFile(join(dir, name), `#!/bin/sh\nexit ${code}\n`);
      await chmod(join(dir, name), 0o755);
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const table: { name: string; platform: NodeJS.Platform; command: (dir: string) => string; running: boolean }[] = [
    { name: 'a command that exits 0', platform: 'linux', command: (d) => join(d, 'running-in-container'), running: true },
    { name: 'a command that exits 1', platform: 'linux', command: (d) => join(d, 'exit1'), running: false },
    { name: 'a missing command', platform: 'linux', command: (d) => join(d, 'missing'), running: false },
    { name: 'a non-Linux platform', platform: 'darwin', command: (d) => join(d, 'running-in-container'), running: false },
  ];
  for (const { name, platform, command, running } of table) {
    it(`${name}: running=${running}, supported=${!running}`, async () => {
      const opts = { platform, command: command(dir) };
      expect(await runningInContainer(opts)).to.equal(running);
      expect(await containersSupported(opts)).to.equal(!running);
    });
  }

  it('looks running-in-container up in PATH', async () => {
    const env = { ...process.env, PATH: dir };
    expect(await runningInContainer({ platform: 'linux', env })).to.equal(true);
    expect(await runningInContainer({ platform: 'linux', env: { ...process.env, PATH: join(dir, 'none') } })).to.equal(
      false,
    );
  });

  it('rejects with the abort reason when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const err = await runningInContainer({ platform: 'linux', signal: ac.signal }).catch((e: unknown) => e);
    expect(err).to.have.property('message', 'stop');
  });
});
