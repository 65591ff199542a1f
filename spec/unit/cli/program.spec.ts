import { expect } from 'chai';
import { join } from 'node:path';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { renderTable } from '../../../lib/cli/output.js';
import { createProgress, renderBar } from '../../../lib/cli/progress.js';
import { StringStream } from '../../../lib/cli/io.js';
import { cli, removeTempFiles, tempFiles } from './helpers.js';

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
