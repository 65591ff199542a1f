/**
 * Secrets in profiles and instance config never reach a fixture the recorder writes, the library's
 * log lines or the lxdkit command's log, against the real daemon.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { StringStream } from '../../../lib/cli/io.js';
import { LxdClient } from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { Recorder, Replayer, loadFixture } from '../../../lib/testing/index.js';
import { ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';

const PREFIX = 'lxdkit-spec-secret-';

describe('secrets against the real daemon', function () {
  this.timeout(180_000);
  let lxd: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const marker = `lxdkit-secret-marker-${randomBytes(6).toString('hex')}`;
  const secretConfig = {
    'user.user-data': `#cloud-config\nchpasswd: { list: "root:${marker}" }\n`,
    'user.vendor-data': marker,
    'user.network-config': marker,
    'cloud-init.user-data': marker,
    'cloud-init.vendor-data': marker,
    'environment.API_TOKEN': marker,
  };

  before(async function () {
    lxd = await requireLxd(this);
    await removeLeftovers(lxd, PREFIX);
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-secret-'));
  });
  after(async function () {
    if (lxd) {
      await removeLeftovers(lxd, run);
      await lxd.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function scenario(client: LxdClient, name: string): Promise<string> {
    await client.profiles.create({ name: `${name}-p`, config: { ...secretConfig, 'limits.cpu': '1' } });
    await client.profiles.get(`${name}-p`);
    await (
      await client.instances.create({ name: `${name}-c`, source: { type: 'image', alias: TEST_IMAGE_ALIAS }, profiles: ['default', `${name}-p`], config: { 'environment.DB_PASSWORD': marker, 'user.user-data': marker } })
    ).wait({ timeoutMs: 120_000 });
    const inst = (await client.instances.get(`${name}-c`)).value;
    await (await client.instances.delete(`${name}-c`)).wait({ timeoutMs: 60_000 });
    await client.profiles.delete(`${name}-p`);
    return inst.expanded_config?.['cloud-init.vendor-data'] ?? '';
  }

  it('a fixture recorded from profiles and instances holding secrets has none of them, and replays', async function () {
    const out = new StringStream();
    const logger = pino({ level: 'trace' }, out) as unknown as Logger;
    const file = join(dir, 'secrets.json');
    const rec = new Recorder({ replace: { [run]: 'lxdkit-secret' } });
    const live = new LxdClient({ dispatcher: rec.dispatcher, useEvents: false, logger });
    try {
      // the daemon really holds the secrets: the expanded config read back has the profile's value
      expect(await scenario(live, run)).to.equal(marker);
      await rec.save(file, { description: 'a profile and an instance with cloud-init and environment secrets' });
    } finally {
      await live.close();
      await rec.close();
    }
    const text = readFileSync(file, 'utf8');
    expect(text).to.contain('"cloud-init.vendor-data": "[redacted]"');
    expect(text).to.contain('"environment.DB_PASSWORD": "[redacted]"');
    expect(text).to.contain('"limits.cpu": "1"');
    expect(text).not.to.contain(marker);
    expect(out.text).to.contain('lxd request');
    expect(out.text).not.to.contain(marker);

    const replayer = new Replayer(await loadFixture(file));
    const offline = new LxdClient({ dispatcher: replayer.dispatcher, useEvents: false, socketPath: '/nonexistent/lxd.socket' });
    try {
      // the replayed read-back is the redacted value; every request (secrets sent as they are) matched
      expect(await scenario(offline, 'lxdkit-secret')).to.equal('[redacted]');
      replayer.assertDone();
    } finally {
      await offline.close();
      await replayer.close();
    }
  });

  it('lxdkit profile apply and diff at trace level log none of the secrets of a profile file', async function () {
    ensureBuilt();
    const file = join(dir, 'p.yaml');
    const lines = Object.entries(secretConfig).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
    writeFileSync(file, `name: ${run}-cli\nconfig:\n${lines.join('\n')}\n`);
    const applied = await lxdkit(['--log-level', 'trace', 'profile', 'apply', file], dir);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.match(new RegExp(`^created +${run}-cli`, 'm'));
    expect((await lxd.profiles.get(`${run}-cli`)).value.config['cloud-init.user-data']).to.equal(marker);
    writeFileSync(file, `name: ${run}-cli\nconfig:\n${lines.join('\n')}\n  user.extra: "${marker}-2"\n`);
    const diff = await lxdkit(['--log-level', 'trace', 'profile', 'diff', file], dir);
    expect(diff.code, diff.stderr).to.equal(0);
    expect(diff.stdout).to.contain(`+   user.extra: ${marker}-2`); // the diff itself shows what the file says
    const updated = await lxdkit(['--log-level', 'trace', 'profile', 'apply', file], dir);
    expect(updated.code, updated.stderr).to.equal(0);
    expect(updated.stdout).to.match(new RegExp(`^updated +${run}-cli`, 'm'));
    for (const r of [applied, diff, updated]) {
      expect(r.stderr).to.contain('lxd request'); // trace logging was on
      expect(r.stderr).not.to.contain(marker);
    }
    await lxd.profiles.delete(`${run}-cli`);
  });
});
