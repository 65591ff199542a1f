/**
 * The image, network and storage commands without a daemon: list formats, argument parsing, the
 * checks made before any I/O (against a fake server that records every request), and `edit` with
 * $EDITOR and the ETag it read.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { humanSize, imageMatches } from '../../../lib/cli/commands/image.js';
import { checkNetworkCreate } from '../../../lib/cli/commands/network.js';
import { parsePoolVolume, parseVolumeRef } from '../../../lib/cli/commands/storage.js';
import { CliError } from '../../../lib/cli/exit-codes.js';
import { csvField, listFormat, parseEditYaml, parseKeyValues, parseSetArgs, renderList } from '../../../lib/cli/resource-output.js';
import type { LxdImage } from '../../../lib/lxd/schemas.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { aliasBomb, cli, removeTempFiles, tempFiles } from './helpers.js';

function exitOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof CliError ? err.exitCode : -1;
  }
  return undefined;
}

const columns = [
  { header: 'name', value: (r: { name: string; n: number }) => r.name },
  { header: 'count', value: (r: { name: string; n: number }) => r.n, right: true },
];

describe('cli resource commands: formats and parsing', () => {
  after(removeTempFiles);

  it('--format picks the format; --json alone means json; anything else is a usage error', () => {
    expect(listFormat({ json: false }, undefined)).to.equal('table');
    expect(listFormat({ json: true }, undefined)).to.equal('json');
    expect(listFormat({ json: true }, 'csv')).to.equal('csv');
    expect(exitOf(() => listFormat({ json: false }, 'xml'))).to.equal(2);
  });

  it('tables measure wide characters: CJK and emoji take two columns', () => {
    const out = renderList([{ name: '网络', n: 1 }, { name: 'ab', n: 22 }, { name: '🚀x', n: 3 }], columns, 'table');
    expect(out.split('\n')).to.deep.equal(['NAME  COUNT', '网络      1', 'ab       22', '🚀x       3', '']);
  });

  it('csv has no header, quotes commas, quotes and line breaks, and escapes control characters', () => {
    expect(csvField('a,b')).to.equal('"a,b"');
    expect(csvField('say "hi"')).to.equal('"say ""hi"""');
    expect(csvField('plain')).to.equal('plain');
    const out = renderList([{ name: 'a,b', n: 1 }, { name: 'x\u001b[31m', n: 2 }], columns, 'csv');
    expect(out).to.equal('"a,b",1\nx\\u001b[31m,2\n');
  });

  it('json and yaml print the raw objects the shape function gives', () => {
    const rows = [{ name: 'a', n: 1 }];
    expect(JSON.parse(renderList(rows, columns, 'json', (r) => ({ id: r.name })))).to.deep.equal([{ id: 'a' }]);
    expect(renderList(rows, columns, 'yaml')).to.equal('- name: a\n  n: 1\n');
    expect(renderList([], columns, 'yaml')).to.equal('[]\n');
    expect(renderList([], columns, 'json')).to.equal('[]\n');
  });

  it('KEY=VALUE arguments: values may hold "=", a missing "=", an empty key or a repeated key is a usage error', () => {
    expect(parseKeyValues(['a=1', 'b=x=y', 'c='])).to.deep.equal({ a: '1', b: 'x=y', c: '' });
    expect(exitOf(() => parseKeyValues(['novalue']))).to.equal(2);
    expect(exitOf(() => parseKeyValues(['=v']))).to.equal(2);
    expect(exitOf(() => parseKeyValues(['a=1', 'a=2']))).to.equal(2);
    expect(exitOf(() => parseKeyValues(['__proto__=x']))).to.equal(2);
    expect(parseSetArgs(['ipv4.nat', 'true'])).to.deep.equal({ 'ipv4.nat': 'true' });
    expect(parseSetArgs(['a=1', 'b=2'])).to.deep.equal({ a: '1', b: '2' });
    expect(exitOf(() => parseSetArgs([]))).to.equal(2);
  });

  it('edited YAML: a map; syntax errors, __proto__, alias bombs and over-large text exit 3', () => {
    expect(parseEditYaml('description: x\nconfig:\n  a: "1"\n', 'w')).to.deep.equal({ description: 'x', config: { a: '1' } });
    expect(exitOf(() => parseEditYaml('config: [a\n', 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml('config:\n  __proto__: {polluted: "1"}\n', 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml(aliasBomb(), 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml('- a\n', 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml('', 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml(`description: "${'x'.repeat(1024 * 1024)}"\n`, 'w'))).to.equal(3);
    expect(exitOf(() => parseEditYaml('a: 1\na: 2\n', 'w'))).to.equal(3);
  });

  it('volume arguments: NAME is a custom volume, TYPE/NAME names the type; POOL/VOLUME[/SNAP] for copies', () => {
    expect(parseVolumeRef('data')).to.deep.equal({ type: 'custom', name: 'data' });
    expect(parseVolumeRef('container/c1')).to.deep.equal({ type: 'container', name: 'c1' });
    expect(exitOf(() => parseVolumeRef('bogus/c1'))).to.equal(2);
    expect(parsePoolVolume('default/data')).to.deep.equal({ pool: 'default', volume: 'data' });
    expect(parsePoolVolume('default/data/snap0')).to.deep.equal({ pool: 'default', volume: 'data/snap0' });
    expect(exitOf(() => parsePoolVolume('data'))).to.equal(2);
    expect(exitOf(() => parsePoolVolume('default/'))).to.equal(2);
    expect(exitOf(() => parsePoolVolume('a/b/c/d'))).to.equal(2);
  });

  it('a bridge is created only with its addresses given: never one the server picks', () => {
    expect(exitOf(() => checkNetworkCreate('br', {}, undefined))).to.equal(2);
    expect(exitOf(() => checkNetworkCreate('br', { 'ipv4.address': 'none' }, 'bridge'))).to.equal(2);
    expect(exitOf(() => checkNetworkCreate('br', { 'ipv4.address': 'auto', 'ipv6.address': 'none' }, undefined))).to.equal(2);
    expect(exitOf(() => checkNetworkCreate('br', { 'ipv4.address': 'none', 'ipv6.address': 'none' }, undefined))).to.equal(undefined);
    expect(exitOf(() => checkNetworkCreate('mv', {}, 'macvlan'))).to.equal(undefined);
  });

  it('image filters: fingerprint start, part of an alias, KEY=VALUE of a property; sizes as lxc', () => {
    const image = { fingerprint: 'abcdef01', architecture: 'x86_64', type: 'container', public: false, properties: { os: 'busybox' }, aliases: [{ name: 'lxdkit/busybox', description: '' }] } as unknown as LxdImage;
    expect(imageMatches(image, ['abc'])).to.equal(true);
    expect(imageMatches(image, ['busy'])).to.equal(true);
    expect(imageMatches(image, ['os=busybox', 'architecture=x86_64'])).to.equal(true);
    expect(imageMatches(image, ['os=alpine'])).to.equal(false);
    expect(imageMatches(image, ['bcd'])).to.equal(false);
    expect(humanSize(512)).to.equal('512B');
    expect(humanSize(881430)).to.equal('860.77KiB');
  });

  describe('against a fake server', () => {
    let fake: FakeLxd;
    const run = (args: string[], env: Record<string, string> = {}) => cli(['--socket', fake.socketPath, ...args], { env });

    beforeEach(async () => {
      fake = await startFakeLxd();
      // operations are waited for with /wait
      fake.eventsEnabled = false;
      fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['network', 'storage', 'network_acl', 'network_forward', 'custom_volume_backup'] })));
    });
    afterEach(async () => {
      await fake.close();
    });

    it('bad input exits before any request', async () => {
      const cases: [string[], number][] = [
        [['network', 'create', 'br0'], 2],
        [['network', 'create', 'br0', 'ipv4.address=auto', 'ipv6.address=none'], 2],
        [['network', 'list', '--format', 'xml'], 2],
        [['network', 'set', 'br0', 'novalue', 'x', 'y'], 2],
        [['network', 'forward', 'show', 'br0', 'not-an-ip'], 3],
        [['storage', 'volume', 'show', 'default', 'bogus/v'], 2],
        [['storage', 'volume', 'copy', 'default', 'default/b'], 2],
        [['storage', 'volume', 'create', 'default', 'v', '--type', 'iso'], 2],
        [['storage', 'volume', 'import', 'default', '/nonexistent/backup.tar.gz'], 3],
        [['storage', 'volume', 'export', 'default', 'v', '/nonexistent-dir/x.tar.gz'], 3],
        [['storage', 'create', 'p', 'Bad Driver'], 2],
        [['image', 'info', '..'], 3],
      ];
      for (const [args, code] of cases) {
        const r = await run(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code);
        expect(r.stderr, args.join(' ')).to.match(/\S/);
      }
      expect(fake.requests.map((q) => `${q.method} ${q.path}`), 'requests').to.deep.equal([]);
    });

    it('edit runs $EDITOR on the YAML and PUTs the writable fields with the ETag it read', async () => {
      fake.on('GET', '/1.0/networks/br0', () => sync({ name: 'br0', type: 'bridge', managed: true, description: 'old', config: { 'ipv4.address': 'none' }, used_by: [], status: 'Created' }, { etag: '"e1"' }));
      fake.on('PUT', '/1.0/networks/br0', () => sync(null));
      const dir = tempFiles({});
      const editor = join(dir, 'editor.sh');
      writeFileSync(editor, '#!/bin/sh\nsed -i "s/^description: old/description: new/" "$1"\n');
      chmodSync(editor, 0o755);
      const r = await run(['network', 'edit', 'br0'], { EDITOR: editor });
      expect(r.code, r.stderr).to.equal(0);
      const [put] = fake.requestsTo('PUT', '/1.0/networks/br0');
      expect(put?.headers['if-match']).to.equal('"e1"');
      expect(put?.body).to.deep.equal({ description: 'new', config: { 'ipv4.address': 'none' } });
    });

    it('edit: an unchanged file sends nothing; a stale ETag exits 5; a broken file exits 3 and sends nothing', async () => {
      fake.on('GET', '/1.0/network-acls/a1', () => sync({ name: 'a1', description: 'd', ingress: [], egress: [], config: {}, used_by: [] }, { etag: '"e2"' }));
      fake.on('PUT', '/1.0/network-acls/a1', () => lxdError(412, 'Precondition Failed'));
      const dir = tempFiles({});
      const same = join(dir, 'same.sh');
      writeFileSync(same, '#!/bin/sh\nexit 0\n');
      chmodSync(same, 0o755);
      const r1 = await run(['network', 'acl', 'edit', 'a1'], { EDITOR: same });
      expect(r1.code, r1.stderr).to.equal(0);
      expect(r1.stdout).to.contain('unchanged');
      expect(fake.requestsTo('PUT', '/1.0/network-acls/a1')).to.have.length(0);

      const broken = join(dir, 'broken.sh');
      writeFileSync(broken, '#!/bin/sh\nprintf "config: [x\\n" > "$1"\n');
      chmodSync(broken, 0o755);
      const r2 = await run(['network', 'acl', 'edit', 'a1'], { EDITOR: broken });
      expect(r2.code).to.equal(3);
      expect(r2.stderr).to.contain('YAML syntax');
      expect(fake.requestsTo('PUT', '/1.0/network-acls/a1')).to.have.length(0);

      const change = join(dir, 'change.sh');
      writeFileSync(change, '#!/bin/sh\nsed -i "s/^description: d/description: e/" "$1"\n');
      chmodSync(change, 0o755);
      const r3 = await run(['network', 'acl', 'edit', 'a1'], { EDITOR: change });
      expect(r3.code, r3.stderr).to.equal(5);
      expect(fake.requestsTo('PUT', '/1.0/network-acls/a1')[0]?.headers['if-match']).to.equal('"e2"');
    });

    it('image delete tries each image, reports each failure and exits with the first one\'s code', async () => {
      fake.on('GET', '/1.0/images', () => sync([{ fingerprint: 'aa11', aliases: [{ name: 'one' }], properties: {} }]));
      fake.on('DELETE', '/1.0/images/aa11', () => fake.operation());
      const r = await run(['image', 'delete', 'missing', 'one']);
      expect(r.code).to.equal(4);
      expect(r.stderr).to.contain('image missing');
      expect(r.stdout).to.contain('deleted image aa11 (one)');
      expect(fake.requestsTo('DELETE', '/1.0/images/aa11')).to.have.length(1);
    });
  });
});
