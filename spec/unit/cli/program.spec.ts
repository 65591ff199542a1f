import { expect } from 'chai';
import { join } from 'node:path';
import { defaultDemoBridge } from '../../../lib/cli/commands/demo.js';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { renderTable } from '../../../lib/cli/output.js';
import { createProgress, renderBar } from '../../../lib/cli/progress.js';
import { StringStream } from '../../../lib/cli/io.js';
import { aliasBomb, cli, removeTempFiles, tempFiles } from './helpers.js';

const COMMANDS = [
  [],
  ['status'],
  ['profile'],
  ['profile', 'list'],
  ['profile', 'show'],
  ['profile', 'validate'],
  ['profile', 'diff'],
  ['profile', 'apply'],
  ['container'],
  ['container', 'create'],
  ['container', 'list'],
  ['container', 'destroy'],
  ['container', 'profiles'],
  ['image'],
  ['image', 'import'],
  ['events'],
  ['operations'],
  ['cluster'],
  ['cluster', 'members'],
  ['demo'],
];

describe('cli program (in-process, no daemon)', () => {
  after(removeTempFiles);
  it('has --help on every command, exit 0, on stdout', async () => {
    for (const c of COMMANDS) {
      const r = await cli([...c, '--help']);
      expect(r.code, c.join(' ')).to.equal(0);
      expect(r.stdout, c.join(' ')).to.contain(`Usage: lxdkit${c.length ? ` ${c.join(' ')}` : ''}`);
    }
    expect((await cli(['--help'])).stdout).to.contain('Exit codes:');
  });

  it('exits 2 on usage errors, saying what is wrong', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).to.equal(ExitCode.USAGE);
    expect(unknown.stderr).to.contain("unknown command 'frobnicate'");
    const badNumber = await cli(['container', 'create', '--model', 'x', '--machine', '0', '--series', 's', '--mem', 'lots']);
    expect(badNumber.code).to.equal(ExitCode.USAGE);
    expect(badNumber.stderr).to.contain('--mem must be a whole number');
    const missing = await cli(['container', 'list']);
    expect(missing.code).to.equal(ExitCode.USAGE);
    expect(missing.stderr).to.contain("required option '--model <uuid>' not specified");
    expect((await cli(['events', '--type', 'bogus', '--socket', '/nonexistent/lxd.sock'])).code).to.equal(ExitCode.USAGE);
    expect((await cli(['status', '--remote', 'https://127.0.0.1:1'])).stderr).to.contain('--remote needs --client-cert FILE and --client-key FILE');
  });

  it('validates profile files without a daemon; --json parses; a broken file exits 3 naming file and line', async () => {
    const dir = tempFiles({ 'good.yaml': 'name: good\nconfig:\n  security.nesting: "true"\n', 'bad.yaml': 'name: bad\nconfig:\n  limits.cpu: 2\n' });
    const ok = await cli(['profile', 'validate', 'good.yaml', '--json'], { cwd: dir });
    expect(ok.code).to.equal(0);
    expect(JSON.parse(ok.stdout)).to.deep.equal({ valid: true, charm: false, profiles: [{ name: 'good', file: 'good.yaml', line: 1 }] });
    const bad = await cli(['profile', 'validate', dir], { cwd: dir });
    expect(bad.code).to.equal(ExitCode.INVALID_INPUT);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr).to.equal('lxdkit: bad.yaml:3: config.limits.cpu: must be a string: quote it ("2")\n');
    const charm = await cli(['profile', 'validate', '--charm', join(dir, 'good.yaml')], { cwd: dir });
    expect(charm.code).to.equal(0);
    expect(charm.stdout).to.contain('charm rules: ok');
  });

  it('validate, diff and apply refuse an alias bomb and a __proto__ key with exit 3 naming the file, before contacting LXD', async () => {
    const dir = tempFiles({ 'bomb.yaml': aliasBomb(), 'proto.yaml': 'name: p\ndevices:\n  eth0:\n    __proto__:\n      type: nic\n' });
    for (const command of ['validate', 'diff', 'apply']) {
      const bomb = await cli(['--socket', '/nonexistent/lxd.sock', 'profile', command, 'bomb.yaml'], { cwd: dir });
      expect(bomb.code, command).to.equal(ExitCode.INVALID_INPUT);
      expect(bomb.stderr).to.match(/^lxdkit: bomb\.yaml:4: YAML aliases expand too much/);
      const proto = await cli(['--socket', '/nonexistent/lxd.sock', 'profile', command, 'proto.yaml'], { cwd: dir });
      expect(proto.code, command).to.equal(ExitCode.INVALID_INPUT);
      expect(proto.stderr).to.equal('lxdkit: proto.yaml:4: devices.eth0.__proto__: the key "__proto__" is not allowed in a profile file\n');
    }
  });

  it('refuses a bad model UUID before contacting LXD (exit 3)', async () => {
    const r = await cli(['container', 'list', '--model', 'not-a-uuid', '--socket', '/nonexistent/lxd.sock']);
    expect(r.code).to.equal(ExitCode.INVALID_INPUT);
    expect(r.stderr).to.contain('--model: "not-a-uuid" is not a model UUID');
  });

  it('exits 6 when LXD cannot be reached, with a JSON error under --json', async () => {
    const r = await cli(['status', '--json', '--socket', '/nonexistent/lxd.sock']);
    expect(r.code).to.equal(ExitCode.UNAVAILABLE);
    const out = JSON.parse(r.stdout) as { error: { code: string; exitCode: number } };
    expect(out.error).to.include({ code: 'LXD_ERR_CONNECTION', exitCode: 6 });
    expect(r.stderr).to.contain('/nonexistent/lxd.sock');
  });

  it('--server picks lxd or incus: anything else, or --server with --socket or --remote, is a usage error (exit 2)', async () => {
    const bogus = await cli(['status', '--server', 'docker']);
    expect(bogus.code).to.equal(ExitCode.USAGE);
    expect(bogus.stderr).to.contain("option '--server <kind>' argument 'docker' is invalid. Allowed choices are lxd, incus.");
    const both = await cli(['status', '--server', 'incus', '--socket', '/nonexistent/incus.sock']);
    expect(both.code).to.equal(ExitCode.USAGE);
    expect(both.stderr).to.contain('give --server, --socket or --remote, not more than one');
    const env = await cli(['status'], { env: { LXDKIT_SERVER: 'docker' } });
    expect(env.code).to.equal(ExitCode.USAGE);
    expect(env.stderr).to.contain('LXDKIT_SERVER: "docker" is not a server: give lxd or incus');
    // LXDKIT_SERVER gives way to an explicit socket
    const sock = await cli(['status', '--socket', '/nonexistent/incus/unix.socket'], { env: { LXDKIT_SERVER: 'incus' } });
    expect(sock.code).to.equal(ExitCode.UNAVAILABLE);
    expect(sock.stderr).to.contain('Incus socket /nonexistent/incus/unix.socket: no such socket; is Incus installed and running? Start the daemon, or point INCUS_SOCKET / INCUS_DIR');
  });

  it('--create-project needs --project (exit 2); a bad project name is refused before any request (exit 3)', async () => {
    const dir = tempFiles({ 'p.yaml': 'name: p\nconfig: {}\n' });
    const r = await cli(['profile', 'apply', dir, '--create-project', '--socket', '/nonexistent/lxd.sock']);
    expect(r.code).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.contain('--create-project needs --project NAME');
    const bad = await cli(['profile', 'list', '--project', 'a_b', '--socket', '/nonexistent/lxd.sock']);
    expect(bad.code).to.equal(ExitCode.INVALID_INPUT);
    expect(bad.stderr).to.contain('project: "a_b" must not contain');
  });

  it('the demo\'s default bridge is the test bridge of the server\'s kind', () => {
    expect(defaultDemoBridge('lxd', {})).to.equal('lxdkitbr0');
    expect(defaultDemoBridge('incus', {})).to.equal('lxdkitbr1');
    expect(defaultDemoBridge('incus', { LXDKIT_TEST_BRIDGE_INCUS: 'br9', LXDKIT_TEST_BRIDGE: 'br8' })).to.equal('br9');
    expect(defaultDemoBridge('lxd', { LXDKIT_TEST_BRIDGE_INCUS: 'br9', LXDKIT_TEST_BRIDGE: 'br8' })).to.equal('br8');
  });

  it('renders aligned tables, and (none) for no rows', () => {
    const t = renderTable([{ n: 'a', c: 10 }, { n: 'longer', c: 2 }], [{ header: 'name', value: (r) => r.n }, { header: 'count', value: (r) => r.c, right: true }]);
    expect(t).to.equal('NAME    COUNT\na          10\nlonger      2\n');
    expect(renderTable([], [{ header: 'x', value: () => 1 }])).to.equal('(none)\n');
  });

  it('draws progress bars only on a terminal', () => {
    expect(renderBar('c1', 50, 'half', 4)).to.equal('  c1   [############------------]  50% half');
    const piped = new StringStream(false);
    const p = createProgress(piped, true);
    p.line('x').update(10, 'y');
    expect([p.enabled, piped.text]).to.deep.equal([false, '']);
    const tty = new StringStream(true, 80);
    const q = createProgress(tty, true);
    q.line('x').done('ok');
    expect(q.enabled).to.equal(true);
    expect(tty.text).to.contain('✓ x [########################] 100% ok');
    const off = new StringStream(true, 80);
    createProgress(off, false).line('x').update(1, 'y');
    expect(off.text).to.equal('');
  });
});
