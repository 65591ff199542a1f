/**
 * `profile diff` and `profile apply --json` mask the values of secret keys (`user.*`, `cloud-init.*`,
 * `environment.*`, ... the rule of log lines) unless `--show-secrets`: their output ends up in CI logs.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { REDACTED } from '../../../lib/logger.js';
import { REDACTED_CHANGED } from '../../../lib/cli/profile-sync.js';
import { startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { cli, removeTempFiles, tempFiles } from './helpers.js';

describe('cli: profile diff and apply --json mask secrets (fake LXD)', () => {
  let fake: FakeLxd;
  const m = `lxdkit-secret-marker-${randomBytes(6).toString('hex')}`;
  const current = {
    name: 'web',
    description: 'd',
    config: { 'limits.cpu': '1', 'user.user-data': `#cloud-config\npassword: ${m}-old\n`, 'cloud-init.vendor-data': `${m}-same`, 'environment.API_TOKEN': `${m}-gone` },
    devices: { eth0: { type: 'nic', nictype: 'bridged', parent: 'lxdkitbr0' } },
    used_by: [],
  };
  const file = [
    'name: web',
    'description: d',
    'config:',
    '  limits.cpu: "2"',
    `  user.user-data: "#cloud-config\\npassword: ${m}-new\\n"`,
    `  cloud-init.vendor-data: "${m}-same"`,
    `  environment.DB_PASSWORD: "${m}-added"`,
    'devices:',
    '  eth0: {type: nic, nictype: bridged, parent: lxdkitbr0}',
    `  vault: {type: disk, source: /srv, path: /srv, password: "${m}-device"}`,
    '',
  ].join('\n');

  beforeEach(async () => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0/profiles/web', () => sync(current, { etag: '"e1"' }));
    fake.on('PUT', '/1.0/profiles/web', () => sync(null));
  });
  afterEach(async () => {
    await fake.close();
    removeTempFiles();
  });

  it('profile diff shows which secret changed, never its value; --show-secrets shows the values', async () => {
    const dir = tempFiles({ 'web.yaml': file });
    const r = await cli(['profile', 'diff', 'web.yaml', '--exit-code', '--socket', fake.socketPath], { cwd: dir });
    expect(r.code, r.stderr).to.equal(ExitCode.DIFFERENCES);
    expect(r.stdout).not.to.contain(m);
    const lines = r.stdout.split('\n');
    for (const l of [
      '-   limits.cpu: "1"',
      '+   limits.cpu: "2"',
      `-   environment.API_TOKEN: "${REDACTED}"`,
      `+   environment.DB_PASSWORD: "${REDACTED}"`,
      `-   user.user-data: "${REDACTED}"`,
      `+   user.user-data: "${REDACTED_CHANGED}"`,
      `    cloud-init.vendor-data: "${REDACTED}"`, // unchanged: a context line, on neither side
      `+     password: "${REDACTED}"`,
    ]) {
      expect(lines, r.stdout).to.include(l);
    }
    const shown = await cli(['profile', 'diff', 'web.yaml', '--show-secrets', '--socket', fake.socketPath], { cwd: dir });
    expect(shown.code, shown.stderr).to.equal(ExitCode.OK);
    for (const v of ['old', 'new', 'same', 'gone', 'added', 'device']) expect(shown.stdout).to.contain(`${m}-${v}`);
    expect(shown.stdout).not.to.contain(REDACTED);
  });

  it('profile diff --json and apply --json mask from/to of secret keys and the secret fields of a device', async () => {
    const dir = tempFiles({ 'web.yaml': file });
    for (const args of [['profile', 'diff', 'web.yaml', '--json'], ['profile', 'apply', 'web.yaml', '--json'], ['profile', 'apply', 'web.yaml', '--dry-run', '--json']]) {
      const r = await cli([...args, '--socket', fake.socketPath], { cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(ExitCode.OK);
      expect(r.stdout, args.join(' ')).not.to.contain(m);
      const out = JSON.parse(r.stdout) as { profiles: { changes: { path: string; from?: unknown; to?: unknown }[] }[] };
      expect(out.profiles[0]!.changes, args.join(' ')).to.deep.equal([
        { path: 'config.environment.API_TOKEN', from: REDACTED },
        { path: 'config.environment.DB_PASSWORD', to: REDACTED },
        { path: 'config.limits.cpu', from: '1', to: '2' },
        { path: 'config.user.user-data', from: REDACTED, to: REDACTED },
        { path: 'devices.vault', to: { type: 'disk', source: '/srv', path: '/srv', password: REDACTED } },
      ]);
    }
    // what is sent to LXD is the file's real values
    const put = fake.requests.filter((q) => q.method === 'PUT' && q.path === '/1.0/profiles/web');
    expect(put.length).to.equal(1);
    expect(JSON.stringify(put[0]!.body)).to.contain(`${m}-added`);
    const shown = await cli(['profile', 'apply', 'web.yaml', '--json', '--dry-run', '--show-secrets', '--socket', fake.socketPath], { cwd: dir });
    const changes = (JSON.parse(shown.stdout) as { profiles: { changes: { path: string; from?: unknown; to?: unknown }[] }[] }).profiles[0]!.changes;
    expect(changes.find((c) => c.path === 'config.environment.DB_PASSWORD')).to.deep.equal({ path: 'config.environment.DB_PASSWORD', to: `${m}-added` });
  });
});
