/**
 * Saved remotes without a daemon: the configuration files treated as hostile (size caps, alias bombs,
 * names, URLs, modes), the client certificate made with node:crypto (never overwriting one), trust
 * token decoding, `[REMOTE:]NAME` parsing, bad input refused before any connection, and the
 * completion scripts and candidates.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Command, Option } from 'commander';
import { completeWords, completionScript, type CompletionSources } from '../../../lib/cli/completion.js';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { configDir, ensureClientCertificate, loadRemotesConfig, MAX_CONFIG_BYTES } from '../../../lib/cli/remote-config.js';
import { isRemoteUrl, splitRemoteArg } from '../../../lib/cli/remote-ref.js';
import { makeSelfSignedCertificate } from '../../../lib/cli/self-signed.js';
import { decodeCertificateToken, LxdValidationError } from '../../../lib/lxd/index.js';
import { aliasBomb, cli } from './helpers.js';

const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ';
const FP = '0123456789abcdef'.repeat(4);

function tokenOf(fields: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64');
}

describe('cli saved remotes (in-process, no daemon)', function () {
  let root: string;
  let xdg: string;
  let env: Record<string, string>;
  let listener: Server;
  let port: number;
  let connections = 0;
  const cfgDir = (): string => join(xdg, 'lxdkit');
  const writeConfig = (text: string): void => {
    mkdirSync(cfgDir(), { recursive: true });
    writeFileSync(join(cfgDir(), 'config.yml'), text);
  };

  before(async function () {
    listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as { port: number }).port;
  });
  after(async function () {
    await new Promise<void>((r) => listener.close(() => r()));
  });
  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'lxdkit-remotes-unit-'));
    xdg = join(root, 'xdg');
    env = { XDG_CONFIG_HOME: xdg, HOME: join(root, 'home') };
    connections = 0;
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  describe('config.yml and the other files are hostile input', function () {
    it('lives in $XDG_CONFIG_HOME/lxdkit (an absolute one), else ~/.config/lxdkit', function () {
      expect(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).to.equal('/x/lxdkit');
      expect(configDir({ XDG_CONFIG_HOME: 'relative', HOME: '/h' })).to.equal('/h/.config/lxdkit');
      expect(configDir({ HOME: '/h' })).to.equal('/h/.config/lxdkit');
      expect(() => configDir({})).to.throw(/set XDG_CONFIG_HOME or HOME/);
    });

    it('no file: only "local", the default', function () {
      expect(loadRemotesConfig(cfgDir())).to.deep.equal({ defaultRemote: 'local', remotes: {} });
    });

    const hostile: [string, string | (() => void), RegExp][] = [
      ['an alias bomb', aliasBomb(), /not valid YAML|alias/i],
      ['a file larger than the cap', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, /more than the 262144 read/],
      ['a remote named __proto__', 'remotes:\n  __proto__:\n    url: https://127.0.0.1:1\n', /remotes.__proto__ is not allowed as a key/],
      ['a remote named with a colon', 'remotes:\n  "a:b":\n    url: https://127.0.0.1:1\n', /"a:b" is not valid/],
      ['a remote called local', 'remotes:\n  local:\n    url: https://127.0.0.1:1\n', /"local" is the unix socket/],
      ['an http:// URL', 'remotes:\n  r1:\n    url: http://127.0.0.1:1\n', /must be an https:\/\/ URL/],
      ['a URL with a password', 'remotes:\n  r1:\n    url: https://u:p@127.0.0.1:1\n', /without a user name or password/],
      ['a server certificate outside servercerts/', 'remotes:\n  r1:\n    url: https://127.0.0.1:1\n    server-cert: ../../etc/passwd\n', /server-cert must be a plain file name/],
      ['a default remote that is not saved', 'default-remote: nowhere\nremotes: {}\n', /default-remote "nowhere" is not one of its remotes/],
      ['a list instead of a mapping', '- a\n- b\n', /config.yml/],
      ['a custom tag', 'remotes: !!js/function "x"\n', /not valid YAML|config.yml/],
      ['a directory', () => mkdirSync(join(cfgDir(), 'config.yml'), { recursive: true }), /not a regular file/],
    ];
    for (const [what, content, message] of hostile) {
      it(`refuses ${what} with exit 3 naming the file, before any connection`, async function () {
        if (typeof content === 'string') writeConfig(content);
        else content();
        const r = await cli(['snapshot', 'list', 'c1'], { env });
        expect(r.code, r.stderr).to.equal(ExitCode.INVALID_INPUT);
        expect(r.stderr).to.match(message);
        expect(r.stderr.length, 'the message is short').to.be.below(600);
        expect(connections).to.equal(0);
      });
    }

    it('a saved remote whose client key others may read is refused with exit 3 naming chmod 600', async function () {
      writeConfig(`remotes:\n  r1:\n    url: https://127.0.0.1:${port}\n`);
      const pair = makeSelfSignedCertificate('t');
      writeFileSync(join(cfgDir(), 'client.crt'), pair.cert);
      writeFileSync(join(cfgDir(), 'client.key'), pair.key);
      chmodSync(join(cfgDir(), 'client.key'), 0o644);
      const r = await cli(['snapshot', 'list', 'r1:c1'], { env });
      expect(r.code).to.equal(ExitCode.INVALID_INPUT);
      expect(r.stderr).to.contain('chmod 600');
      expect(r.stderr).to.not.contain('PRIVATE KEY');
      expect(connections).to.equal(0);
    });

    it('remote import: a hostile lxc configuration is refused (too big, alias bomb), its bad entries skipped, a broken server certificate never copied', async function () {
      const conf = join(root, 'lxc');
      mkdirSync(join(conf, 'servercerts'), { recursive: true });
      writeFileSync(join(conf, 'config.yml'), aliasBomb());
      const bomb = await cli(['remote', 'import', 'lxc'], { env: { ...env, LXD_CONF: conf } });
      expect(bomb.code).to.equal(ExitCode.INVALID_INPUT);
      writeFileSync(join(conf, 'config.yml'), `# ${'x'.repeat(MAX_CONFIG_BYTES)}`);
      expect((await cli(['remote', 'import', 'lxc'], { env: { ...env, LXD_CONF: conf } })).code).to.equal(ExitCode.INVALID_INPUT);

      const pair = makeSelfSignedCertificate('lxc-client');
      writeFileSync(join(conf, 'client.crt'), pair.cert);
      writeFileSync(join(conf, 'client.key'), pair.key, { mode: 0o600 });
      writeFileSync(join(conf, 'servercerts', 'broken.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
      writeFileSync(join(conf, 'servercerts', 'good.crt'), makeSelfSignedCertificate('server').cert);
      writeFileSync(
        join(conf, 'config.yml'),
        [
          'remotes:',
          '  good: { addr: "https://127.0.0.1:8443", protocol: lxd, project: p1 }',
          '  broken: { addr: "https://127.0.0.1:8444" }',
          '  "../evil": { addr: "https://127.0.0.1:8445" }',
          '  plain: { addr: "http://127.0.0.1:8446" }',
          '  images: { addr: "https://images.example.org", protocol: simplestreams }',
          '  weird: 42',
          '',
        ].join('\n'),
      );
      const r = await cli(['remote', 'import', 'lxc', '--json'], { env: { ...env, LXD_CONF: conf } });
      expect(r.code, r.stderr).to.equal(ExitCode.OK);
      const rows = JSON.parse(r.stdout) as { name: string; status: string; reason?: string }[];
      expect(rows.map((x) => [x.name, x.status])).to.deep.equal([
        ['good', 'imported'],
        ['broken', 'skipped'],
        ['"../evil"', 'skipped'],
        ['plain', 'skipped'],
        ['images', 'skipped'],
        ['weird', 'skipped'],
      ]);
      expect(loadRemotesConfig(cfgDir()).remotes).to.deep.equal({ good: { url: 'https://127.0.0.1:8443', project: 'p1', serverCert: 'good.crt', clientCert: 'lxc' } });
      expect(existsSync(join(cfgDir(), 'servercerts', 'broken.crt'))).to.equal(false);
      expect(existsSync(join(root, 'evil.crt'))).to.equal(false);
      expect(statSync(join(cfgDir(), 'clientcerts', 'lxc.key')).mode & 0o777).to.equal(0o600);
      expect(statSync(join(cfgDir(), 'config.yml')).mode & 0o777).to.equal(0o600);
      expect(existsSync(join(cfgDir(), 'client.key')), "lxdkit's own certificate is not made by an import").to.equal(false);
      expect(connections).to.equal(0);
      // an lxc key others may read is not taken: the import stops, naming chmod 600
      chmodSync(join(conf, 'client.key'), 0o644);
      rmSync(join(cfgDir(), 'config.yml'));
      const open = await cli(['remote', 'import', 'lxc'], { env: { ...env, LXD_CONF: conf } });
      expect(open.code).to.equal(ExitCode.INVALID_INPUT);
      expect(open.stderr).to.contain('chmod 600');
      expect(existsSync(join(cfgDir(), 'config.yml'))).to.equal(false);
    });
  });

  describe('the client certificate', function () {
    it('is made with node:crypto: an ECDSA P-384 key and a self-signed v3 certificate for client authentication that verifies', function () {
      const pair = makeSelfSignedCertificate('me@host');
      const x = new X509Certificate(pair.cert);
      expect(x.verify(x.publicKey)).to.equal(true);
      expect(x.subject).to.contain('CN=me@host');
      expect(x.issuer).to.equal(x.subject);
      expect(x.keyUsage).to.include('1.3.6.1.5.5.7.3.2');
      expect(x.ca).to.equal(false);
      expect(x.publicKey.asymmetricKeyDetails).to.deep.include({ namedCurve: 'secp384r1' });
      expect(createPublicKey(pair.key).export({ format: 'pem', type: 'spki' })).to.equal(x.publicKey.export({ format: 'pem', type: 'spki' }));
      expect(Date.parse(x.validTo) - Date.now()).to.be.greaterThan(9 * 365 * 86_400_000);
      // openssl reads it as a well-formed certificate too
      const file = join(root, 'c.crt');
      writeFileSync(file, pair.cert);
      expect(execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' })).to.contain('TLS Web Client Authentication');
    });

    it('is made once (key 0600, directory 0700) and never overwritten; a key without its certificate is refused', function () {
      const first = ensureClientCertificate(cfgDir());
      expect(first.created).to.equal(true);
      expect(statSync(join(cfgDir(), 'client.key')).mode & 0o777).to.equal(0o600);
      expect(statSync(cfgDir()).mode & 0o777).to.equal(0o700);
      const again = ensureClientCertificate(cfgDir());
      expect([again.created, again.cert, again.key]).to.deep.equal([false, first.cert, first.key]);
      rmSync(join(cfgDir(), 'client.crt'));
      expect(() => ensureClientCertificate(cfgDir())).to.throw(/client.crt is missing beside/);
      expect(readFileSync(join(cfgDir(), 'client.key'), 'utf8')).to.equal(first.key);
    });
  });

  describe('trust tokens', function () {
    it('decodes the token lxc, incus and certificates.createToken() print', function () {
      const t = tokenOf({ client_name: 'me', fingerprint: FP.toUpperCase(), addresses: ['127.0.0.1:8443'], secret: SECRET, expires_at: '0001-01-01T00:00:00Z' });
      expect(decodeCertificateToken(t)).to.deep.equal({ name: 'me', fingerprint: FP, addresses: ['127.0.0.1:8443'], secret: SECRET, expiresAt: undefined });
      expect(decodeCertificateToken(`  ${tokenOf({ client_name: 'me', fingerprint: FP, addresses: null, secret: SECRET, expires_at: '2030-01-01T00:00:00Z' })}\n`)).to.include({ expiresAt: '2030-01-01T00:00:00Z' });
    });

    const bad: [string, unknown, RegExp][] = [
      ['an empty string', '', /give the trust token/],
      ['not base64', 'not a token!', /base64 text expected/],
      ['base64 of no JSON', Buffer.from('hello').toString('base64'), /does not hold JSON/],
      ['no secret', tokenOf({ client_name: 'me', fingerprint: FP, addresses: [] }), /secret/],
      ['a fingerprint that is not SHA-256', tokenOf({ client_name: 'me', fingerprint: 'abc', addresses: [], secret: SECRET }), /fingerprint is not a SHA-256 fingerprint/],
      ['a huge token', 'A'.repeat(20_000), /characters long/],
      ['a number', 42, /give the trust token/],
    ];
    for (const [what, value, message] of bad) {
      it(`refuses ${what} (LxdValidationError, the secret never quoted)`, function () {
        let err: unknown;
        try {
          decodeCertificateToken(value);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(LxdValidationError);
        expect((err as Error).message).to.match(message).and.not.contain(SECRET);
      });
    }

    it('remote add refuses a bad name, URL, token or project with a clear error before any connection', async function () {
      const url = `https://127.0.0.1:${port}`;
      const good = tokenOf({ client_name: 'me', fingerprint: FP, addresses: [], secret: SECRET });
      const cases: [string[], number, RegExp][] = [
        [['remote', 'add', 'bad:name', url, '--token', good], ExitCode.INVALID_INPUT, /remote name "bad:name" is not valid/],
        [['remote', 'add', 'local', url], ExitCode.INVALID_INPUT, /"local" is the unix socket/],
        [['remote', 'add', 'r1', `http://127.0.0.1:${port}`], ExitCode.INVALID_INPUT, /must be an https:\/\/ URL/],
        [['remote', 'add', 'r1', `https://admin:${SECRET}@127.0.0.1:${port}`], ExitCode.INVALID_INPUT, /user name or password/],
        [['remote', 'add', 'r1', `${url}/1.0`], ExitCode.INVALID_INPUT, /without a path/],
        [['remote', 'add', 'r1', url, '--token', 'garbage!'], ExitCode.INVALID_INPUT, /token: is not a trust token/],
        [['remote', 'add', 'r1', url, '--token', good, '--project', 'a/b'], ExitCode.INVALID_INPUT, /--project/],
      ];
      for (const [args, code, message] of cases) {
        const r = await cli(args, { env });
        expect([r.code, r.stderr], args.join(' ')).to.satisfy(([c, e]: [number, string]) => c === code && message.test(e));
        expect(r.stderr).to.not.contain(SECRET);
      }
      expect(connections).to.equal(0);
      expect(existsSync(cfgDir()), 'nothing written').to.equal(false);
    });

    it('remote add with a token: a server that hangs up is exit 6, nothing saved', async function () {
      const r = await cli(['remote', 'add', 'r1', `https://127.0.0.1:${port}`, '--token', tokenOf({ client_name: 'me', fingerprint: FP, addresses: [], secret: SECRET })], { env });
      expect(r.code, r.stderr).to.equal(ExitCode.UNAVAILABLE);
      expect(connections).to.equal(1);
      expect(existsSync(join(cfgDir(), 'config.yml'))).to.equal(false);
    });
  });

  describe('[REMOTE:]NAME', function () {
    it('splits at a colon before any slash, checking the remote\'s name', function () {
      expect(splitRemoteArg('c1')).to.deep.equal({ remote: undefined, name: 'c1' });
      expect(splitRemoteArg('r1:c1')).to.deep.equal({ remote: 'r1', name: 'c1' });
      expect(splitRemoteArg('local:c1')).to.deep.equal({ remote: 'local', name: 'c1' });
      expect(splitRemoteArg('c1/etc/a:b', { allowEmpty: true })).to.deep.equal({ remote: undefined, name: 'c1/etc/a:b' });
      expect(splitRemoteArg('r1:c1/etc/a:b', { allowEmpty: true })).to.deep.equal({ remote: 'r1', name: 'c1/etc/a:b' });
      expect(splitRemoteArg('r1:', { allowEmpty: true })).to.deep.equal({ remote: 'r1', name: '' });
      expect(() => splitRemoteArg('r1:')).to.throw(/after the colon/);
      expect(() => splitRemoteArg(':c1')).to.throw(/give the remote before the colon/);
      expect(() => splitRemoteArg('bad remote:c1')).to.throw(/"bad remote" is not valid/);
      expect(isRemoteUrl('r1')).to.equal(false);
      expect(isRemoteUrl('https://h:1')).to.equal(true);
      expect(isRemoteUrl('10.0.0.5:8443')).to.equal(true);
    });

    it('an unknown remote is exit 4 before any connection; a bad one exit 3; --remote NAME is looked up too', async function () {
      writeConfig(`remotes:\n  r1:\n    url: https://127.0.0.1:${port}\n`);
      const unknown = await cli(['exec', 'nowhere:c1', '--', 'true'], { env });
      expect([unknown.code, unknown.stderr]).to.deep.equal([ExitCode.NOT_FOUND, 'lxdkit: no remote "nowhere" is saved (saved: local, r1); add it with "lxdkit remote add nowhere https://HOST:8443 --token TOKEN"\n']);
      expect((await cli(['file', 'pull', 'nowhere:c1/etc/hosts', root], { env })).code).to.equal(ExitCode.NOT_FOUND);
      expect((await cli(['--remote', 'nowhere', 'status'], { env })).code).to.equal(ExitCode.NOT_FOUND);
      expect((await cli(['snapshot', 'list', 'a b:c1'], { env })).code).to.equal(ExitCode.INVALID_INPUT);
      expect(connections).to.equal(0);
    });

    it('the default remote is used when none is named; --server on the command line means the local daemon', async function () {
      writeConfig(`default-remote: r1\nremotes:\n  r1:\n    url: https://127.0.0.1:${port}\n`);
      const viaDefault = await cli(['snapshot', 'list', 'c1'], { env });
      expect(viaDefault.code, viaDefault.stderr).to.equal(ExitCode.UNAVAILABLE);
      expect(connections, 'the default remote r1 was dialled').to.equal(1);
      const viaEnvServer = await cli(['snapshot', 'list', 'c1'], { env: { ...env, LXDKIT_SERVER: 'incus' } });
      expect(viaEnvServer.code).to.equal(ExitCode.UNAVAILABLE);
      expect(connections, 'LXDKIT_SERVER only says which daemon "local" is').to.equal(2);
      const local = await cli(['--server', 'lxd', 'snapshot', 'list', 'c1'], { env });
      expect(local.code).to.equal(ExitCode.UNAVAILABLE);
      expect(connections, '--server: the local socket, not r1').to.equal(2);
      expect((await cli(['snapshot', 'list', 'local:c1'], { env })).code).to.equal(ExitCode.UNAVAILABLE);
      expect(connections, 'local: the socket').to.equal(2);
    });

    it('remote list, switch, get-default, rename and remove change config.yml (written atomically, 0600)', async function () {
      writeConfig('remotes:\n  r1:\n    url: https://127.0.0.1:1\n    project: p\n');
      expect(JSON.parse((await cli(['remote', 'list', '--json'], { env })).stdout)).to.deep.equal([
        { name: 'local', url: 'unix://', project: null, default: true },
        { name: 'r1', url: 'https://127.0.0.1:1', project: 'p', default: false },
      ]);
      expect((await cli(['remote', 'switch', 'r2'], { env })).code).to.equal(ExitCode.NOT_FOUND);
      expect((await cli(['remote', 'switch', 'r1'], { env })).code).to.equal(ExitCode.OK);
      expect((await cli(['remote', 'rename', 'r1', 'r2'], { env })).code).to.equal(ExitCode.OK);
      expect((await cli(['remote', 'get-default'], { env })).stdout).to.equal('r2\n');
      expect((await cli(['remote', 'rename', 'r2', 'local'], { env })).code).to.equal(ExitCode.CONFLICT);
      expect((await cli(['remote', 'remove', 'local'], { env })).code).to.equal(ExitCode.INVALID_INPUT);
      expect((await cli(['remote', 'remove', 'r2'], { env })).code, 'not the default').to.equal(ExitCode.INVALID_INPUT);
      expect(statSync(join(cfgDir(), 'config.yml')).mode & 0o777).to.equal(0o600);
      expect(loadRemotesConfig(cfgDir())).to.deep.equal({ defaultRemote: 'r2', remotes: { r2: { url: 'https://127.0.0.1:1', project: 'p' } } });
    });
  });

  describe('completion', function () {
    it('prints a script for bash, zsh and fish that calls the hidden __complete; another shell is exit 2', async function () {
      for (const shell of ['bash', 'zsh', 'fish']) {
        const r = await cli(['completion', shell], { env });
        expect(r.code).to.equal(ExitCode.OK);
        expect(r.stdout).to.contain('__complete --');
      }
      const bash = (await cli(['completion', 'bash'], { env })).stdout;
      execFileSync('bash', ['-n'], { input: bash });
      expect((await cli(['completion', 'tcsh'], { env })).code).to.equal(ExitCode.USAGE);
      expect((await cli(['--help'], { env })).stdout).to.not.contain('__complete');
    });

    it('the bash script passes REMOTE:NAME whole and gives back what follows the colon, as bash wants it', function () {
      const script = completionScript('bash');
      const out = execFileSync(
        'bash',
        [
          '-c',
          `${script}
lxdkit() { printf '%s\\n' "ARGS:$*" >&2; printf 'r1:c1\\nr1:c2\\n'; }
COMP_LINE='lxdkit snapshot list r1:c'; COMP_POINT=\${#COMP_LINE}; COMP_WORDBREAKS=$' \\t\\n"\\'><=;|&(:'
_lxdkit_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(out).to.equal('c1\nc2\n');
    });

    it('__complete: commands, options, choices and saved remotes from the program, without a server', async function () {
      writeConfig('remotes:\n  r1:\n    url: https://127.0.0.1:1\n');
      const c = async (...words: string[]): Promise<string[]> => {
        const r = await cli(['__complete', '--', ...words], { env });
        expect([r.code, r.stderr]).to.deep.equal([0, '']);
        return r.stdout.split('\n').filter(Boolean);
      };
      expect(await c('')).to.include.members(['remote', 'completion', 'exec', 'snapshot']).and.not.include('__complete');
      expect(await c('rem')).to.deep.equal(['remote']);
      expect(await c('re')).to.include.members(['remote', 'rename', 'restart']);
      expect(await c('remote', '')).to.deep.equal(['add', 'get-default', 'import', 'list', 'remove', 'rename', 'switch']);
      expect(await c('remote', 'switch', '')).to.deep.equal(['local', 'r1']);
      expect(await c('remote', 'import', '')).to.deep.equal(['lxc', 'incus']);
      expect(await c('completion', 'f')).to.deep.equal(['fish']);
      expect(await c('--server', '')).to.deep.equal(['lxd', 'incus']);
      expect(await c('--remote', '')).to.deep.equal(['local', 'r1']);
      expect(await c('--remote=r')).to.deep.equal(['--remote=r1']);
      expect(await c('exec', '--e')).to.deep.equal(['--env']);
      expect(await c('--js')).to.deep.equal(['--json']);
      // a server that is not there: no names, no error, exit 0
      expect(await c('exec', '')).to.deep.equal(['local:', 'r1:']);
      expect(connections).to.equal(0);
    });

    it('completeWords: instance names (with REMOTE:), profiles, after global options; a failing source gives nothing', async function () {
      const program = new Command('x');
      program.addOption(new Option('--remote <name>'));
      program.command('exec').argument('<instance>').argument('<command...>');
      program.command('file').command('pull').argument('<sources...>');
      program.command('profile').command('show').argument('<name>');
      const calls: string[] = [];
      const sources: CompletionSources = {
        instances: async (remote) => {
          calls.push(`instances ${remote ?? '-'}`);
          if (remote === 'down') throw new Error('unreachable');
          return remote === 'r1' ? ['web', 'db'] : ['c1', 'c2', 'bad\nname'];
        },
        profiles: async (remote) => (remote === 'r1' ? ['p-r1'] : ['default']),
        projects: async () => [],
        remotes: () => ['local', 'r1'],
      };
      const all = (words: string[]): Promise<string[]> => completeWords(program, words, sources).catch(() => []);
      expect(await all(['exec', 'c'])).to.deep.equal(['c1', 'c2']);
      expect(await all(['exec', ''])).to.deep.equal(['c1', 'c2', 'local:', 'r1:']);
      expect(await all(['exec', 'r1:'])).to.deep.equal(['r1:web', 'r1:db']);
      expect(await all(['--remote', 'r1', 'exec', ''])).to.deep.equal(['web', 'db', 'local:', 'r1:']);
      expect(await all(['exec', 'c1', ''])).to.deep.equal([]);
      expect(await all(['file', 'pull', 'r1:w'])).to.deep.equal(['r1:web/']);
      expect(await all(['file', 'pull', 'c1/et'])).to.deep.equal([]);
      expect(await all(['--remote', 'r1', 'profile', 'show', ''])).to.deep.equal(['p-r1']);
      expect(await all(['exec', 'down:'])).to.deep.equal([]);
      expect(calls).to.include('instances down');
    });
  });
});
