/**
 * The instance commands (launch, list, info, start…, delete, rename, config, profile assign, shell,
 * console) in-process: their command lines checked before any request, list's columns, filters and
 * formats, and what they send, against the fake daemon.
 */
import { expect } from 'chai';
import { configSetPairs, parseInstanceYaml } from '../../../lib/cli/commands/instance-config.js';
import { launchBody } from '../../../lib/cli/commands/instance.js';
import {
  csvLine,
  matchesFilters,
  parseColumns,
  parseFilters,
  parseFormat,
  parseImageRef,
  parseKeyValues,
  settleLimited,
  type ListedInstance,
} from '../../../lib/cli/instance-args.js';
import { exitCodeFor } from '../../../lib/cli/exit-codes.js';
import { displayWidth } from '../../../lib/cli/text-width.js';
import { lxdError, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { cli } from './helpers.js';

/** The exit code a throwing call would give. */
function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    return exitCodeFor(err);
  }
  throw new Error('it did not throw');
}

async function codeOfAsync(fn: () => Promise<unknown>): Promise<number> {
  try {
    await fn();
  } catch (err) {
    return exitCodeFor(err);
  }
  throw new Error('it did not throw');
}

function instance(over: Partial<ListedInstance> = {}): ListedInstance {
  return {
    name: 'c1',
    type: 'container',
    architecture: 'x86_64',
    config: { 'image.os': 'busybox', 'user.comment': 'hello', 'volatile.base_image': 'abcdef0123456789' },
    devices: {},
    ephemeral: false,
    profiles: ['default'],
    stateful: false,
    description: '',
    status: 'Running',
    status_code: 103,
    created_at: '2026-01-02T03:04:05.123456Z',
    location: 'none',
    expanded_devices: { root: { type: 'disk', path: '/', pool: 'default' } },
    state: {
      status: 'Running',
      status_code: 103,
      pid: 42,
      processes: 3,
      network: {
        lo: { addresses: [{ family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' }] },
        eth0: {
          addresses: [
            { family: 'inet', address: '10.1.2.3', netmask: '24', scope: 'global' },
            { family: 'inet6', address: 'fd00::3', netmask: '64', scope: 'global' },
          ],
        },
      },
    },
    snapshots: [{ name: 's0' }, { name: 's1' }],
    ...over,
  } as ListedInstance;
}

const COMMANDS = [['launch'], ['init'], ['list'], ['info'], ['start'], ['stop'], ['restart'], ['pause'], ['delete'], ['rename'], ['config'], ['config', 'get'], ['config', 'set'], ['config', 'unset'], ['config', 'show'], ['config', 'edit'], ['config', 'device'], ['config', 'device', 'add'], ['config', 'device', 'remove'], ['config', 'device', 'list'], ['config', 'device', 'show'], ['profile', 'assign'], ['profile', 'add'], ['profile', 'remove'], ['shell'], ['console']];

describe('cli instance commands (in-process)', function () {
  it('has --help on every instance command, and lists them', async function () {
    for (const c of COMMANDS) {
      const r = await cli([...c, '--help']);
      expect(r.code, c.join(' ')).to.equal(0);
      expect(r.stdout, c.join(' ')).to.contain(`Usage: lxdkit ${c.join(' ')}`);
    }
    const top = (await cli(['--help'])).stdout;
    for (const c of ['launch', 'init', 'list', 'info', 'start', 'stop', 'restart', 'pause', 'delete', 'rename', 'config', 'shell', 'console']) expect(top).to.match(new RegExp(`^  ${c} `, 'm'));
    // the existing profile commands stay
    const profile = (await cli(['profile', '--help'])).stdout;
    for (const c of ['list', 'show', 'validate', 'diff', 'apply', 'assign', 'add', 'remove']) expect(profile).to.match(new RegExp(`^  ${c} `, 'm'));
  });

  it('refuses bad command lines with exit 2 (usage) or 3 (input) before contacting the server', async function () {
    // a socket that does not exist: any request would exit 6
    const g = ['--socket', '/nonexistent/lxdkit.socket'];
    const cases: [string[], number][] = [
      [['launch', 'lxdkit/busybox'], 2],
      [['launch', 'lxdkit/busybox', 'Bad_Name'], 3],
      [['launch', 'images:alpine/3.19', 'c1'], 3],
      [['launch', 'lxdkit/busybox', 'c1', '-c', 'NOEQUALS'], 2],
      [['launch', 'lxdkit/busybox', 'c1', '-c', 'bad key=1'], 3],
      [['launch', 'lxdkit/busybox', 'c1', '-n', 'a-name-far-too-long-for-linux'], 3],
      [['launch', 'lxdkit/busybox', 'c1', '-s', 'a/b'], 3],
      [['launch', 'lxdkit/busybox', 'c1', '-p', 'a/b'], 3],
      [['init', 'lxdkit/busybox', 'c1', '-p', 'x', '--no-profiles'], 2],
      [['list', '-c', 'nZ'], 2],
      [['list', '-f', 'xml'], 2],
      [['list', '-f', 'csv', '--json'], 2],
      [['info', '1bad'], 3],
      [['start'], 2],
      [['start', 'c1', '--all'], 2],
      [['start', 'c1', 'bad_one'], 3],
      [['start', '-f', 'c1'], 2],
      [['pause', 'c1', '--bogus'], 2],
      [['delete'], 2],
      [['delete', 'c1', 'c1/'], 3],
      [['rename', 'c1'], 2],
      [['rename', 'c1', 'c1'], 3],
      [['rename', 'c1', 'no_good'], 3],
      [['config', 'set', 'c1'], 2],
      [['config', 'set', 'c1', 'a=1', 'b'], 2],
      [['config', 'unset', 'c1'], 2],
      [['config', 'get', 'c1', '__proto__'], 3],
      [['config', 'device', 'add', 'c1', 'd/1', 'disk'], 3],
      [['config', 'device', 'add', 'c1', 'd1', 'Disk!'], 3],
      [['config', 'device', 'add', 'c1', 'd1', 'disk', 'type=nic'], 2],
      [['config', 'device', 'remove', 'c1'], 2],
      [['profile', 'assign', 'c1', 'a,a'], 3],
      [['profile', 'add', 'c1', 'a/b'], 3],
      [['shell', 'c1', '-t', '-T'], 2],
      [['shell', 'Bad_Name'], 3],
      [['console', 'c1'], 2],
    ];
    for (const [args, code] of cases) {
      const r = await cli([...g, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code);
      expect(r.stderr, args.join(' ')).to.match(/\S/);
    }
  });

  it('reads KEY=VALUE pairs, image references and config set in both of lxc\'s forms', function () {
    expect(parseKeyValues(['a=1', 'b=x=y', 'c='], '-c')).to.deep.equal({ a: '1', b: 'x=y', c: '' });
    expect(codeOf(() => parseKeyValues(['=1'], '-c'))).to.equal(2);
    expect(codeOf(() => parseKeyValues(['a\u001b=1'], '-c'))).to.equal(3);
    expect(configSetPairs(['user.a', 'one two'])).to.deep.equal({ 'user.a': 'one two' });
    expect(configSetPairs(['user.a=1', 'user.b=2'])).to.deep.equal({ 'user.a': '1', 'user.b': '2' });
    expect(parseImageRef('lxdkit/busybox')).to.deep.equal({ name: 'lxdkit/busybox' });
    expect(parseImageRef('local:6d60b455')).to.deep.equal({ name: '6d60b455' });
    expect(codeOf(() => parseImageRef('ubuntu:22.04'))).to.equal(3);
    expect(codeOf(() => parseImageRef('local:'))).to.equal(2);
  });

  it('builds the launch request from -p, -c, -s, -n, --vm as lxc does', function () {
    expect(launchBody('c1', { profile: ['default', 'extra'], config: ['limits.cpu=2'], storage: 'fast', network: 'lxdkitbr0', vm: true })).to.deep.equal({
      name: 'c1',
      type: 'virtual-machine',
      profiles: ['default', 'extra'],
      config: { 'limits.cpu': '2' },
      devices: { root: { type: 'disk', path: '/', pool: 'fast' }, eth0: { type: 'nic', name: 'eth0', network: 'lxdkitbr0' } },
    });
    // no -p: the server's default profile; --no-profiles: none
    expect(launchBody('c1', {})).to.deep.equal({ name: 'c1', type: 'container', config: {}, devices: {} });
    expect(launchBody('c1', { profiles: false }).profiles).to.deep.equal([]);
  });

  it('reads list columns as lxc letters, comma groups and config columns', function () {
    expect(parseColumns('ns46tS').map((c) => c.id)).to.deep.equal(['n', 's', '4', '6', 't', 'S']);
    expect(parseColumns('n,s,P').map((c) => c.id)).to.deep.equal(['n', 's', 'P']);
    const cols = parseColumns('n,user.comment:COMMENT,config:image.os');
    expect(cols.map((c) => c.header)).to.deep.equal(['name', 'COMMENT', 'image.os']);
    const i = instance();
    expect(cols.map((c) => c.value(i))).to.deep.equal(['c1', 'hello', 'busybox']);
    const all = parseColumns('ns46tSabcfFpNP');
    expect(all.map((c) => c.value(i))).to.deep.equal(['c1', 'RUNNING', '10.1.2.3 (eth0)', 'fd00::3 (eth0)', 'CONTAINER', '2', 'x86_64', 'default', '2026-01-02 03:04:05', 'abcdef012345', 'abcdef0123456789', '42', '3', 'default']);
    // a stopped instance has no PID or process count
    expect(parseColumns('pN').map((c) => c.value(instance({ status: 'Stopped', status_code: 102 })))).to.deep.equal(['', '']);
    expect(parseColumns('t')[0]!.value(instance({ ephemeral: true }))).to.equal('CONTAINER (EPHEMERAL)');
    expect(codeOf(() => parseColumns(''))).to.equal(2);
    expect(codeOf(() => parseColumns('n,,s'))).to.equal(2);
    expect(codeOf(() => parseColumns('nq'))).to.equal(2);
  });

  it("filters as lxc list does: a name regex or prefix, shorthand keys, config keys with shortened parts", function () {
    const a = instance({ name: 'web-1' });
    const b = instance({ name: 'db-1', status: 'Stopped', status_code: 102, type: 'virtual-machine', config: { 'image.os': 'alpine' } });
    const pick = (...f: string[]): string[] => [a, b].filter((i) => matchesFilters(i, parseFilters(f))).map((i) => i.name);
    expect(pick()).to.deep.equal(['web-1', 'db-1']);
    expect(pick('web')).to.deep.equal(['web-1']); // a prefix
    expect(pick('.*-1')).to.deep.equal(['web-1', 'db-1']); // a regex matched whole
    expect(pick('eb')).to.deep.equal([]); // neither a whole match nor a prefix
    expect(pick('^d')).to.deep.equal(['db-1']);
    expect(pick('status=stopped')).to.deep.equal(['db-1']);
    expect(pick('type=container')).to.deep.equal(['web-1']);
    expect(pick('image.os=busybox')).to.deep.equal(['web-1']);
    expect(pick('i.o=alp.*')).to.deep.equal(['db-1']);
    expect(pick('ipv4=10.1.2.3')).to.deep.equal(['web-1', 'db-1']);
    expect(pick('user.comment=hello', 'web')).to.deep.equal(['web-1']);
    expect(pick('user.none=x')).to.deep.equal([]);
    expect(codeOf(() => parseFilters(['=x']))).to.equal(2);
  });

  it('writes CSV as RFC 4180 and knows its formats', function () {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'x\ny'])).to.equal('a,"b,c","say ""hi""","x\ny"\n');
    expect(parseFormat(undefined, false)).to.equal('table');
    expect(parseFormat(undefined, true)).to.equal('json');
    expect(parseFormat('yaml', false)).to.equal('yaml');
  });

  it('runs a command over many instances a few at a time, and settles every one', async function () {
    let inFlight = 0;
    let most = 0;
    const results = await settleLimited([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (n % 4 === 0) throw new Error(`no ${n}`);
      return n * 2;
    });
    expect(most).to.equal(3);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([2, 4, 6, 'no 4', 10, 12, 14, 'no 8', 18]);
  });

  it('config edit takes only the writable fields, checked: syntax, repeated keys, __proto__, unknown fields, alias bombs exit 3', async function () {
    const good = await parseInstanceYaml('architecture: x86_64\nconfig:\n  user.a: "1"\ndevices: {}\nephemeral: false\nprofiles:\n- default\nstateful: false\ndescription: ""\n', 'f');
    expect(good).to.deep.include({ config: { 'user.a': '1' }, profiles: ['default'] });
    const bad = ['config: [\n', 'config: {}\nconfig: {}\ndevices: {}\nprofiles: []\n', 'config:\n  __proto__: x\ndevices: {}\nprofiles: []\n', 'config: {}\ndevices: {}\nprofiles: []\nstatus: Running\n', 'config:\n  a: 1\ndevices: {}\nprofiles: []\n'];
    for (const text of bad) expect(await codeOfAsync(() => parseInstanceYaml(text, 'f')), text).to.equal(3);
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let n = 1; n <= 10; n++) bomb += `a${n}: &a${n} [${Array(9).fill(`*a${n - 1}`).join(', ')}]\n`;
    expect(await codeOfAsync(() => parseInstanceYaml(bomb, 'f'))).to.equal(3);
  });

  describe('against the fake daemon', function () {
    let fake: FakeLxd;
    beforeEach(async () => {
      fake = await startFakeLxd();
      fake.eventsEnabled = false;
    });
    afterEach(async () => {
      await fake.close();
    });

    it('list measures wide names in terminal columns, escapes control characters, and gives csv, json and yaml', async function () {
      const rows = [instance({ name: 'c1', description: '日本語の説明' }), instance({ name: 'c2', description: 'plain\u001b[31m' })];
      fake.on('GET', '/1.0/instances', () => sync(rows));
      const table = await cli(['--socket', fake.socketPath, 'list', '-c', 'nd']);
      expect(table.code, table.stderr).to.equal(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).to.equal('NAME  DESCRIPTION');
      expect(lines[1]).to.equal('c1    日本語の説明');
      expect(lines[2]).to.equal('c2    plain\\u001b[31m');
      expect(displayWidth(lines[1]!)).to.equal(6 + 12);
      expect(fake.requestsTo('GET', '/1.0/instances')[0]?.query.get('recursion')).to.equal('2');

      const csv = await cli(['--socket', fake.socketPath, 'list', '-c', 'n,s,S', '-f', 'csv']);
      expect(csv.stdout).to.equal('c1,RUNNING,2\nc2,RUNNING,2\n');
      const json = await cli(['--socket', fake.socketPath, '--json', 'list', 'c2']);
      expect((JSON.parse(json.stdout) as { name: string }[]).map((r) => r.name)).to.deep.equal(['c2']);
      const yaml = await cli(['--socket', fake.socketPath, 'list', 'c1', '-f', 'yaml']);
      expect(yaml.stdout).to.match(/^- name: c1$/m);
    });

    it('start reports each failure, acts on the others, and exits with the first failure\'s code', async function () {
      fake.on('GET', '/1.0/instances/:name', (req) => (req.params['name'] === 'gone' ? lxdError(404, 'Instance not found') : sync(instance({ name: req.params['name']!, status: 'Stopped', status_code: 102 }))));
      fake.on('PUT', '/1.0/instances/:name/state', (req) => (req.params['name'] === 'bad' ? lxdError(400, 'The instance is broken') : fake.operation()));
      const r = await cli(['--socket', fake.socketPath, 'start', 'a1', 'gone', 'bad', 'b1']);
      expect(r.code).to.equal(4);
      expect(r.stdout).to.equal('started a1\nstarted b1\n');
      expect(r.stderr).to.contain('lxdkit: gone: instance "gone" not found\n');
      expect(r.stderr).to.match(/^lxdkit: bad: .*The instance is broken/m);
      expect(fake.requestsTo('PUT', '/1.0/instances/b1/state')[0]?.body).to.deep.equal({ action: 'start' });
      const j = await cli(['--socket', fake.socketPath, '--json', 'start', 'bad', 'a1']);
      expect(j.code).to.equal(7);
      const results = JSON.parse(j.stdout) as { name: string; ok: boolean; exitCode?: number; error?: string }[];
      expect(results.map((x) => [x.name, x.ok, x.exitCode])).to.deep.equal([['bad', false, 7], ['a1', true, undefined]]);
      expect(results[0]!.error).to.contain('The instance is broken');
    });

    it('stop --all stops the running ones (-f: killed), pause freezes, start resumes a paused one', async function () {
      fake.on('GET', '/1.0/instances', () => sync([instance({ name: 'r1' }), instance({ name: 's1', status: 'Stopped', status_code: 102 }), instance({ name: 'f1', status: 'Frozen', status_code: 110 })]));
      fake.on('GET', '/1.0/instances/:name', () => sync(instance({ name: 'f1', status: 'Frozen', status_code: 110 })));
      fake.on('PUT', '/1.0/instances/:name/state', () => fake.operation());
      const r = await cli(['--socket', fake.socketPath, 'stop', '--all', '-f']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('stopped r1\nstopped f1\n');
      expect(fake.requestsTo('PUT', '/1.0/instances/r1/state')[0]?.body).to.deep.equal({ action: 'stop', force: true });
      expect(fake.requestsTo('PUT', '/1.0/instances/s1/state')).to.have.length(0);
      expect((await cli(['--socket', fake.socketPath, 'pause', 'r1'])).code).to.equal(0);
      expect(fake.requestsTo('PUT', '/1.0/instances/r1/state')[1]?.body).to.deep.equal({ action: 'freeze' });
      expect((await cli(['--socket', fake.socketPath, 'start', 'f1'])).code).to.equal(0);
      expect(fake.requestsTo('PUT', '/1.0/instances/f1/state').at(-1)?.body).to.deep.equal({ action: 'unfreeze' });
    });

    it('config set writes back with the ETag it read; a change in between exits 5', async function () {
      fake.on('GET', '/1.0/instances/c1', () => sync(instance(), { etag: 'e1' }));
      fake.on('PUT', '/1.0/instances/c1', (req) => (req.headers['if-match'] === 'e1' ? fake.operation() : lxdError(412, 'ETag doesn\'t match')));
      const r = await cli(['--socket', fake.socketPath, 'config', 'set', 'c1', 'user.x=1']);
      expect(r.code, r.stderr).to.equal(0);
      const put = fake.requestsTo('PUT', '/1.0/instances/c1')[0]!;
      expect(put.headers['if-match']).to.equal('e1');
      expect((put.body as { config: Record<string, string> }).config).to.deep.include({ 'user.x': '1', 'user.comment': 'hello' });
      fake.on('GET', '/1.0/instances/c1', () => sync(instance(), { etag: 'stale' }));
      expect((await cli(['--socket', fake.socketPath, 'config', 'set', 'c1', 'user.x=2'])).code).to.equal(5);
    });

    it('launch resolves the image as lxc does (an alias, else a fingerprint) and exits 4 for neither', async function () {
      fake.on('GET', '/1.0/images/aliases/:name', () => lxdError(404, 'not found'));
      fake.on('GET', '/1.0/images/:fp', () => lxdError(404, 'not found'));
      const r = await cli(['--socket', fake.socketPath, 'launch', 'nope', 'c1']);
      expect(r.code).to.equal(4);
      expect(r.stderr).to.contain('image "nope" not found');
      expect(fake.requestsTo('POST', '/1.0/instances')).to.have.length(0);
    });
  });
});
