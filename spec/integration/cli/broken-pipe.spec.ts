/**
 * The built command when the reader of its output goes away (`lxdkit demo | head`): it must stop as
 * on a Ctrl-C, remove what it made, and exit 141, on both servers.
 */
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { hostArch } from '../../../lib/container/arch.js';
import { isNotFound, type LxdClient } from '../../../lib/lxd/index.js';
import { CLI, ensureBuilt } from '../../helpers/cli.js';
import { TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

/** Every series of this spec starts with it, so a killed run's alias is found again. */
const SERIES_PREFIX = 'pipespec';

interface PipeRun {
  /** lxdkit's own exit status (not the reader's). */
  code: number | null;
  /** What the reader saw before it went away. */
  read: string;
}

/** Runs `lxdkit ARGS | sed -n '/^model /p; /^creating/q'` and reports lxdkit's exit status. */
function demoIntoClosingReader(args: string[]): Promise<PipeRun> {
  return new Promise((resolve, reject) => {
    const script = `"$0" "$@" | sed -n '/^model /p; /^creating/q'; echo "lxdkit-status=\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', script, process.execPath, CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const m = /lxdkit-status=(\d+)/.exec(out);
      resolve({ code: m ? Number(m[1]) : null, read: out });
    });
  });
}

describeEachServer('lxdkit when its reader goes away', function (server) {
  this.timeout(180_000);
  let client: LxdClient;
  const series = `${SERIES_PREFIX}${uniqueSuffix()}`;
  const alias = `juju/${series}/${hostArch()}`;

  before(async function () {
    client = await requireServer(this, server);
    ensureBuilt();
    // a killed run's alias
    for (const a of await client.images.listAliases()) {
      if (a.name.startsWith(`juju/${SERIES_PREFIX}`)) await client.images.deleteAlias(a.name).catch(() => {});
    }
  });
  after(async () => {
    await client?.images.deleteAlias(alias).catch(() => {});
    await client?.close();
  });

  it('demo | a reader that quits while containers are made: exit 141, no container and no alias left', async () => {
    const r = await demoIntoClosingReader(['--server', server.kind, 'demo', '--count', '2', '--series', series, '--image', TEST_IMAGE_ALIAS]);
    const ns = /namespace (juju-[0-9a-f]{6}-)\*/.exec(r.read);
    expect(ns, r.read).to.not.equal(null);
    expect(r.code, r.read).to.equal(141);
    const left = (await client.instances.list({ recursion: 0 })).filter((n) => n.startsWith(ns![1]!));
    // the containers the demo made are gone (it waits for its own clean-up before it exits)
    for (const name of left) {
      await (await client.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 60_000 }).catch(() => {});
      await (await client.instances.delete(name)).wait({ timeoutMs: 60_000 }).catch(() => {});
    }
    expect(left).to.deep.equal([]);
    try {
      await client.images.getAlias(alias);
      expect.fail(`the demo left its alias ${alias}`);
    } catch (err) {
      expect(isNotFound(err), String(err)).to.equal(true);
    }
  });
});
