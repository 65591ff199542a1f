/**
 * Saved remotes against the host's real LXD 5.0.2 and Incus 6.0.4 over HTTPS on 127.0.0.1: `remote
 * add` with a real trust token (the client certificate lxdkit makes on first use is then trusted),
 * a token whose fingerprint is not the server's, a certificate refused until accepted, REMOTE:NAME
 * and the default remote in the instance commands, `remote remove`. The commands run in-process with
 * a temporary XDG_CONFIG_HOME: nothing of the user's configuration is read or written. Everything made
 * on the servers is named `lxdkit-spec-rmt-…`. The HTTPS listener: one already on 127.0.0.1 is used
 * as it is; otherwise `core.https_address` is set to 127.0.0.1:<free port> and emptied afterwards.
 */
import { statSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { StringStream } from '../../../lib/cli/io.js';
import { runCli } from '../../../lib/cli/program.js';
import { fingerprintOf } from '../../../lib/cli/remote-config.js';
import { makeSelfSignedCertificate } from '../../../lib/cli/self-signed.js';
import { silentLogger } from '../../../lib/logger.js';
import type { LxdClient } from '../../../lib/lxd/index.js';
import { TEST_IMAGE_ALIAS, uniqueSuffix } from '../../helpers/lxd-env.js';
import { removeCertificateLeftovers, useHttpsListener } from '../../helpers/tls-test.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';

const PREFIX = 'lxdkit-spec-rmt-';



describeEachServer('lxdkit remote (saved remotes over HTTPS on 127.0.0.1, real trust tokens)', (server) => {
  let lxd: LxdClient;
  let xdg: string;
  let url: string;
  let serverFingerprint: string;
  let release: () => Promise<void> = async () => {};
  const run = `${PREFIX}${uniqueSuffix()}`;
  const instance = `${run}-c`;

  async function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new StringStream();
    const stderr = new StringStream();
    // the local daemon of this suite: LXDKIT_SERVER picks it where no remote is named
    const env = { XDG_CONFIG_HOME: xdg, LXDKIT_SERVER: server.kind, HOME: join(xdg, 'home'), ...extraEnv };
    const code = await runCli(args, { stdout, stderr, env, cwd: xdg }, { logger: silentLogger });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
  const config = (): { 'default-remote': string; remotes: Record<string, Record<string, string>> } => parse(readFileSync(join(xdg, 'lxdkit', 'config.yml'), 'utf8'));

  before(async function () {
    this.timeout(120_000);
    lxd = await requireServer(this, server);
    await removeCertificateLeftovers(lxd, PREFIX);
    xdg = mkdtempSync(join(tmpdir(), 'lxdkit-remotes-'));
    const { value } = await lxd.server.get();
    serverFingerprint = fingerprintOf(value.environment?.certificate ?? '');
    ({ url, release } = await useHttpsListener(lxd));
    await (await lxd.instances.create({ name: instance, source: { type: 'image', alias: TEST_IMAGE_ALIAS } })).wait({ timeoutMs: 120_000 });
  });

  after(async function () {
    this.timeout(120_000);
    if (!lxd) return;
    await removeCertificateLeftovers(lxd, run).catch(() => {});
    await release();
    await lxd.close();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
  });

  it('remote add --token: checks the fingerprint, redeems the token with the client certificate it makes; REMOTE:NAME and the default remote then reach the server over HTTPS', async function () {
    this.timeout(120_000);
    const token = await lxd.certificates.createToken(`${run}-joiner`);
    const added = await cli(['remote', 'add', 'r1', url, '--token', token.token, '--json']);
    expect(added.code, added.stderr).to.equal(ExitCode.OK);
    expect(JSON.parse(added.stdout)).to.include({ name: 'r1', url, trusted: true, fingerprint: serverFingerprint });
    expect(added.stdout + added.stderr, 'the secret is never printed').to.not.contain(token.token);

    // the client certificate, made on first use with the key its owner's alone, is the one the server now trusts
    const dir = join(xdg, 'lxdkit');
    expect(statSync(join(dir, 'client.key')).mode & 0o777).to.equal(0o600);
    const clientFingerprint = fingerprintOf(readFileSync(join(dir, 'client.crt'), 'utf8'));
    const trusted = (await lxd.certificates.get(clientFingerprint)).value;
    expect([trusted.name, trusted.type]).to.deep.equal([`${run}-joiner`, 'client']);
    expect(config().remotes['r1']).to.deep.equal({ url, 'server-cert': 'r1.crt' });
    expect(fingerprintOf(readFileSync(join(dir, 'servercerts', 'r1.crt'), 'utf8'))).to.equal(serverFingerprint);
    expect((await lxd.certificates.listTokens()).map((t) => t.name), 'the token was used').to.not.include(`${run}-joiner`);

    // REMOTE:NAME
    expect((await cli(['snapshot', 'create', `r1:${instance}`, 'snap-r1'])).code).to.equal(ExitCode.OK);
    const listed = await cli(['snapshot', 'list', `r1:${instance}`, '--json']);
    expect(listed.code, listed.stderr).to.equal(ExitCode.OK);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name)).to.deep.equal(['snap-r1']);
    // completion: instance names from the server, locally and on the saved remote
    const complete = async (...words: string[]): Promise<string[]> => (await cli(['__complete', '--', ...words])).stdout.split('\n').filter(Boolean);
    expect(await complete('exec', run)).to.deep.equal([instance]);
    expect(await complete('snapshot', 'list', `r1:${run}`)).to.deep.equal([`r1:${instance}`]);
    expect(await complete('file', 'pull', `r1:${run}`)).to.deep.equal([`r1:${instance}/`]);
    expect(await complete('--remote', 'r1', 'profile', 'show', 'def')).to.deep.equal(['default']);
    // --remote NAME, and the default remote after remote switch
    expect(JSON.parse((await cli(['--remote', 'r1', 'snapshot', 'list', instance, '--json'])).stdout)).to.have.length(1);
    expect((await cli(['remote', 'switch', 'r1'])).code).to.equal(ExitCode.OK);
    expect((await cli(['remote', 'get-default'])).stdout).to.equal('r1\n');
    expect(JSON.parse((await cli(['snapshot', 'list', instance, '--json'])).stdout)).to.have.length(1);

    // proof that r1 goes over HTTPS with that certificate: once the server forgets it, r1 is refused and local still works
    await lxd.certificates.delete(clientFingerprint);
    const refused = await cli(['snapshot', 'list', `r1:${instance}`]);
    expect(refused.code, refused.stderr).to.equal(ExitCode.UNAVAILABLE);
    const viaDefault = await cli(['snapshot', 'list', instance]);
    expect(viaDefault.code, 'the default remote is r1').to.equal(ExitCode.UNAVAILABLE);
    const viaLocal = await cli(['snapshot', 'list', `local:${instance}`, '--json']);
    expect(viaLocal.code, viaLocal.stderr).to.equal(ExitCode.OK);
    expect(JSON.parse(viaLocal.stdout)).to.have.length(1);

    // remove: never the default; then gone with its server certificate
    expect((await cli(['remote', 'remove', 'r1'])).code).to.equal(ExitCode.INVALID_INPUT);
    expect((await cli(['remote', 'switch', 'local'])).code).to.equal(ExitCode.OK);
    expect((await cli(['remote', 'remove', 'r1'])).code).to.equal(ExitCode.OK);
    expect(config().remotes).to.deep.equal({});
    expect(existsSync(join(dir, 'servercerts', 'r1.crt'))).to.equal(false);
    const unknown = await cli(['snapshot', 'list', `r1:${instance}`]);
    expect([unknown.code, unknown.stderr]).to.deep.equal([ExitCode.NOT_FOUND, `lxdkit: no remote "r1" is saved (only "local"); add it with "lxdkit remote add r1 https://HOST:8443 --token TOKEN"\n`]);
  });

  it('remote add NAME TOKEN (no URL): the token\'s address is tried, its fingerprint pinned, the token redeemed; a certificate that does not match exits 6, a token without an address 3', async function () {
    this.timeout(60_000);
    const token = await lxd.certificates.createToken(`${run}-bytoken`);
    expect(token.addresses, 'the listener on 127.0.0.1 is in the token').to.include(new URL(url).host);
    const added = await cli(['remote', 'add', 'rt', token.token, '--json']);
    expect(added.code, added.stderr).to.equal(ExitCode.OK);
    expect(JSON.parse(added.stdout)).to.include({ name: 'rt', url, trusted: true, fingerprint: serverFingerprint });
    expect(added.stdout + added.stderr).to.not.contain(token.token);
    expect(config().remotes['rt']).to.deep.equal({ url, 'server-cert': 'rt.crt' });
    expect(fingerprintOf(readFileSync(join(xdg, 'lxdkit', 'servercerts', 'rt.crt'), 'utf8'))).to.equal(serverFingerprint);
    const used = await cli(['snapshot', 'list', `rt:${instance}`, '--json']);
    expect(used.code, used.stderr).to.equal(ExitCode.OK);
    expect((await cli(['remote', 'remove', 'rt'])).code).to.equal(ExitCode.OK);
    // the server forgets the client again (the next specs add it untrusted)
    await lxd.certificates.delete(fingerprintOf(readFileSync(join(xdg, 'lxdkit', 'client.crt'), 'utf8')));

    // the real address, another fingerprint: the certificate there is refused, nothing saved or redeemed
    const forged = Buffer.from(JSON.stringify({ client_name: `${run}-forged2`, fingerprint: 'cd'.repeat(32), addresses: [new URL(url).host], secret: 'e'.repeat(64), expires_at: '0001-01-01T00:00:00Z' })).toString('base64');
    const refused = await cli(['remote', 'add', 'rf', forged]);
    expect(refused.code, refused.stderr).to.equal(ExitCode.UNAVAILABLE);
    expect(refused.stderr).to.contain(`fingerprint ${serverFingerprint}`).and.to.contain('nothing was saved');
    expect(refused.stderr).to.not.contain('e'.repeat(64));
    expect(existsSync(join(xdg, 'lxdkit', 'servercerts', 'rf.crt'))).to.equal(false);
    const none = Buffer.from(JSON.stringify({ client_name: `${run}-none`, fingerprint: serverFingerprint, addresses: [], secret: 'e'.repeat(64), expires_at: '0001-01-01T00:00:00Z' })).toString('base64');
    const noAddress = await cli(['remote', 'add', 'rn', none]);
    expect(noAddress.code).to.equal(ExitCode.INVALID_INPUT);
    expect(noAddress.stderr).to.contain('names no address');
    expect((await cli(['remote', 'add', 'rn', none, '--token', none])).code).to.equal(ExitCode.USAGE);
  });

  it('remote add refuses a token made for another server (its fingerprint is not this server\'s): exit 6, nothing saved, nothing trusted', async function () {
    this.timeout(60_000);
    const before = (await lxd.certificates.list()).length;
    const forged = Buffer.from(JSON.stringify({ client_name: `${run}-forged`, fingerprint: 'ab'.repeat(32), addresses: [new URL(url).host], secret: 'f'.repeat(64), expires_at: '0001-01-01T00:00:00Z' })).toString('base64');
    const r = await cli(['remote', 'add', 'r2', url, '--token', forged]);
    expect(r.code, r.stderr).to.equal(ExitCode.UNAVAILABLE);
    expect(r.stderr).to.contain(`fingerprint ${serverFingerprint}`).and.to.contain('ab'.repeat(32)).and.to.contain('nothing was saved');
    expect(r.stderr).to.not.contain('f'.repeat(64));
    expect(existsSync(join(xdg, 'lxdkit', 'config.yml')) ? Object.keys(config().remotes) : []).to.not.include('r2');
    expect((await lxd.certificates.list()).length).to.equal(before);
  });

  it('remote add without a token: refused with the server\'s fingerprint until --accept-certificate; then saved, pinned, and not trusted yet (exit 6 on use)', async function () {
    this.timeout(60_000);
    const refused = await cli(['remote', 'add', 'r3', url]);
    expect(refused.code).to.equal(ExitCode.INVALID_INPUT);
    expect(refused.stderr).to.contain(`fingerprint ${serverFingerprint}`).and.to.contain('--accept-certificate');
    expect(existsSync(join(xdg, 'lxdkit', 'servercerts', 'r3.crt'))).to.equal(false);

    const accepted = await cli(['remote', 'add', 'r3', url, '--accept-certificate', '--project', 'default']);
    expect(accepted.code, accepted.stderr).to.equal(ExitCode.OK);
    expect(accepted.stderr).to.contain('does not trust this client yet');
    expect(config().remotes['r3']).to.deep.equal({ url, project: 'default', 'server-cert': 'r3.crt' });
    const list = await cli(['remote', 'list', '--json']);
    expect(JSON.parse(list.stdout)).to.deep.include({ name: 'r3', url, project: 'default', default: false });
    const use = await cli(['snapshot', 'list', `r3:${instance}`]);
    expect(use.code, use.stderr).to.equal(ExitCode.UNAVAILABLE);
    expect((await cli(['remote', 'rename', 'r3', 'r4'])).code).to.equal(ExitCode.OK);
    expect(Object.keys(config().remotes)).to.deep.equal(['r4']);
    expect(existsSync(join(xdg, 'lxdkit', 'servercerts', 'r4.crt'))).to.equal(true);
    expect((await cli(['remote', 'remove', 'r4'])).code).to.equal(ExitCode.OK);
  });

  it(`remote import ${server.kind === 'lxd' ? 'lxc' : 'incus'}: the HTTPS remotes of that client's configuration, with its server and client certificates, usable at once; the rest skipped with a reason`, async function () {
    this.timeout(60_000);
    const tool = server.kind === 'lxd' ? 'lxc' : 'incus';
    const conf = join(xdg, `${tool}-conf`);
    mkdirSync(join(conf, 'servercerts'), { recursive: true });
    const client = makeSelfSignedCertificate(`${run}-imported`);
    writeFileSync(join(conf, 'client.crt'), client.cert);
    writeFileSync(join(conf, 'client.key'), client.key, { mode: 0o600 });
    writeFileSync(join(conf, 'servercerts', 'srv.crt'), (await lxd.server.get()).value.environment?.certificate ?? '');
    writeFileSync(
      join(conf, 'config.yml'),
      `default-remote: srv\nremotes:\n  local:\n    addr: unix://\n  images:\n    addr: https://images.example.org\n    protocol: simplestreams\n    public: true\n  srv:\n    addr: ${url}\n    protocol: ${server.kind}\n  "bad name!":\n    addr: ${url}\naliases: {}\n`,
    );
    await lxd.certificates.add({ certificate: client.cert, name: `${run}-imported` });
    const imported = await cli(['remote', 'import', tool, '--json'], { [tool === 'lxc' ? 'LXD_CONF' : 'INCUS_CONF']: conf });
    expect(imported.code, imported.stderr).to.equal(ExitCode.OK);
    const rows = JSON.parse(imported.stdout) as { name: string; status: string }[];
    expect(rows.map((r) => [r.name, r.status])).to.deep.equal([['local', 'skipped'], ['images', 'skipped'], ['srv', 'imported'], ['"bad name!"', 'skipped']]);
    expect(config().remotes['srv']).to.deep.equal({ url, 'server-cert': 'srv.crt', 'client-cert': tool });
    expect(statSync(join(xdg, 'lxdkit', 'clientcerts', `${tool}.key`)).mode & 0o777).to.equal(0o600);
    const used = await cli(['snapshot', 'list', `srv:${instance}`, '--json']);
    expect(used.code, used.stderr).to.equal(ExitCode.OK);
    expect((await cli(['remote', 'remove', 'srv'])).code).to.equal(ExitCode.OK);
  });
});
