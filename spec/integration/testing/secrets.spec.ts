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
import { Recorder, Replayer, loadFixture, startReplayServer } from '../../../lib/testing/index.js';
import { ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { TEST_IMAGE_ALIAS, removeLeftovers, requireLxd, uniqueSuffix } from '../../helpers/lxd-env.js';
import { launch } from '../../helpers/toolbox.js';

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

  describe('exec sessions', () => {
    const c = `${run}-exec`;
    const stdinMarker = `${marker}-stdin`;
    before(async () => {
      await launch(lxd, c);
    });

    /** An exec with a password in its environment, fed a secret on stdin, that prints both; then a missing program. */
    async function execScenario(client: LxdClient, name: string): Promise<{ exitCode: number; stdout: string; missing: string }> {
      const r = await client.instances.execOutput(name, { command: ['sh', '-c', 'echo "pw=$DB_PASSWORD"; cat; exit 5'], environment: { DB_PASSWORD: marker }, stdin: `${stdinMarker}\n` });
      // LXD's PATH (kept in fixtures) tells a missing program from an exit status 127
      const missing = await client.instances.execOutput(name, { command: ['no-such-program'], environment: { API_TOKEN: marker } }).then(
        () => 'ran',
        (err: unknown) => String((err as { code?: unknown }).code),
      );
      return { exitCode: r.exitCode, stdout: r.stdout.toString(), missing };
    }

    async function record(file: string, opts: { recordExecStreams?: boolean }): Promise<{ live: Awaited<ReturnType<typeof execScenario>>; text: string }> {
      const rec = new Recorder({ replace: { [run]: 'lxdkit-secret' }, ...opts });
      const live = new LxdClient({ socketPath: await rec.listen(), useEvents: false });
      try {
        // the operation events LXD sends about the exec echo its environment as well
        const out = await rec.recordEvents({ types: ['operation'], filter: (m) => JSON.stringify(m).includes(c) }, () => execScenario(live, c));
        await rec.save(file, { description: 'exec with a password in its environment' });
        return { live: out, text: readFileSync(file, 'utf8') };
      } finally {
        await live.close();
        await rec.close();
      }
    }

    it('a recorded exec keeps no environment value: not the request body, the operation answers, /wait nor the events', async function () {
      const file = join(dir, 'exec.json');
      const { live, text } = await record(file, {});
      // the daemon really ran it with the password (and printed it: output frames are kept as they are)
      expect(live).to.deep.equal({ exitCode: 5, stdout: `pw=${marker}\n${stdinMarker}\n`, missing: 'LXD_ERR_COMMAND_NOT_FOUND' });
      const fx = await loadFixture(file);
      const withEnv = fx.interactions.filter((i) => JSON.stringify(i).includes('"environment"'));
      expect(withEnv.length, 'request bodies and operation answers holding the exec environment').to.be.at.least(6);
      expect(fx.events?.[0]?.messages.length, 'operation events').to.be.at.least(2);
      for (const i of withEnv) expect(JSON.stringify(i)).not.to.contain(marker);
      expect(JSON.stringify(fx.events)).not.to.contain(marker);
      expect(text).to.contain('"DB_PASSWORD": "[redacted]"');
      expect(text).to.contain('"API_TOKEN": "[redacted]"');
      expect(text).to.match(/"PATH": "\/usr\/local\/sbin:/); // LXD's own PATH is kept: the 127 check reads it
      // only the streams hold it (documented): the stdin frame and the stdout frames, as they were
      expect(JSON.stringify(fx.websockets)).to.contain(stdinMarker);
      expect(JSON.stringify({ ...fx, websockets: [] })).not.to.contain(marker);
    });

    it('recordExecStreams: false keeps no stdin or output at all, and the fixture still replays (exit codes, not output)', async function () {
      const file = join(dir, 'exec-no-streams.json');
      const { live, text } = await record(file, { recordExecStreams: false });
      expect(live.stdout).to.equal(`pw=${marker}\n${stdinMarker}\n`);
      expect(text).not.to.contain(marker); // neither the environment, nor stdin, nor stdout
      const fx = await loadFixture(file);
      expect(fx.websockets?.length).to.be.at.least(4);
      for (const w of fx.websockets ?? []) {
        expect(w.streams).to.equal('omitted');
        if (w.fd !== 'control') for (const f of w.frames) expect([f.kind, f.text ?? f.base64 ?? ''], `fd ${w.fd}`).to.deep.equal(['text', '']);
      }
      const server = await startReplayServer(fx);
      const offline = new LxdClient({ socketPath: server.socketPath, useEvents: false }); // it waits with /wait, as recorded
      try {
        expect(await execScenario(offline, 'lxdkit-secret-exec')).to.deep.equal({ exitCode: 5, stdout: '', missing: 'LXD_ERR_COMMAND_NOT_FOUND' });
        server.replayer.assertDone();
      } finally {
        await offline.close();
        await server.close();
      }
    });
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
    expect(diff.stdout).to.contain('+   user.extra: "[redacted]"'); // the diff names the secret that changes...
    expect(diff.stdout).not.to.contain(marker); // ...never a value, unless asked
    const shown = await lxdkit(['profile', 'diff', file, '--show-secrets'], dir);
    expect(shown.stdout).to.contain(`+   user.extra: ${marker}-2`);
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
