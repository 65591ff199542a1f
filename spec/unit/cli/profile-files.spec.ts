import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { loadProfileFiles, MAX_ALIAS_COUNT, MAX_PROFILE_FILE_BYTES, parseProfileText, profileYaml, ProfileFileError } from '../../../lib/cli/profile-files.js';
import { profileChanges } from '../../../lib/cli/profile-sync.js';
import { aliasBomb, cli, removeTempFiles, tempFiles } from './helpers.js';

/** A profile with `keys` config keys; with `repeat`, the key of that index is given once more at the end. */
function manyKeys(keys: number, repeat?: number): string {
  const lines = ['name: many', 'config:'];
  for (let i = 0; i < keys; i++) lines.push(`  user.k${i}: "v${i}"`);
  if (repeat !== undefined) lines.push(`  user.k${repeat}: "again"`);
  return `${lines.join('\n')}\n`;
}

async function loadFailure(paths: string[], cwd: string): Promise<ProfileFileError> {
  try {
    await loadProfileFiles(paths, cwd);
  } catch (err) {
    expect(err).to.be.instanceOf(ProfileFileError);
    return err as ProfileFileError;
  }
  throw new Error('expected a ProfileFileError');
}

function failure(text: string, opts: { charm?: boolean } = {}): ProfileFileError {
  try {
    parseProfileText(text, 'p.yaml', opts);
  } catch (err) {
    expect(err).to.be.instanceOf(ProfileFileError);
    return err as ProfileFileError;
  }
  throw new Error('expected a ProfileFileError');
}

describe('cli profile files', () => {
  after(removeTempFiles);
  it('reads the shape lxc profile show prints (used_by and project ignored)', () => {
    const [p] = parseProfileText('config:\n  security.nesting: "true"\ndescription: d\ndevices:\n  kvm:\n    path: /dev/kvm\n    type: unix-char\nname: n1\nused_by:\n- /1.0/instances/c1\n', 'p.yaml');
    expect(p).to.deep.include({ name: 'n1', description: 'd', config: { 'security.nesting': 'true' }, devices: { kvm: { path: '/dev/kvm', type: 'unix-char' } }, file: 'p.yaml', line: 1 });
  });

  it('defaults missing or null description, config and devices to empty', () => {
    const [p] = parseProfileText('name: bare\nconfig:\ndevices: null\n', 'p.yaml');
    expect(p).to.deep.include({ description: '', config: {}, devices: {} });
  });

  it('names the file, line and field of a value that is not a string', () => {
    const e = failure('name: a\nconfig:\n  security.nesting: true\n');
    expect(e.exitCode).to.equal(ExitCode.INVALID_INPUT);
    expect([e.line, e.field]).to.deep.equal([3, 'config.security.nesting']);
    expect(e.message).to.equal('p.yaml:3: config.security.nesting: must be a string: quote it ("true")');
  });

  it('names an unknown (misspelt) field and its line', () => {
    const e = failure('name: a\ndescription: x\ndevics: {}\n');
    expect([e.line, e.field]).to.deep.equal([3, 'devics']);
  });

  it('reports a YAML syntax error with its line', () => {
    const e = failure('name: a\nconfig:\n  a: "x"\n  b: [unclosed\n');
    expect(e.message).to.match(/^p\.yaml:\d+: YAML syntax: /);
    expect(e.line).to.be.at.least(4);
  });

  it('refuses duplicate keys, a missing name and an invalid name', () => {
    expect(failure('name: a\nname: b\n').message).to.equal('p.yaml:2: YAML syntax: Map keys must be unique: name is given twice (first on line 1)');
    expect(failure('description: x\n').field).to.equal('name');
    expect(failure('name: a/b\n').message).to.equal('p.yaml:1: name: "a/b" must not contain a slash');
  });

  it("applies Juju's charm rules only when asked, pointing at the device or key", () => {
    const text = 'name: a\ndevices:\n  root:\n    path: /\n    type: disk\n';
    expect(parseProfileText(text, 'p.yaml')).to.have.length(1);
    const e = failure(text, { charm: true });
    expect([e.line, e.field]).to.deep.equal([5, 'devices.root.type']);
    expect(e.reason).to.contain('invalid lxd-profile: contains device type "disk"');
    const c = failure('name: a\nconfig:\n  limits.cpu: "2"\n', { charm: true });
    expect([c.line, c.field]).to.deep.equal([3, 'config.limits.cpu']);
  });

  it('reads several documents from one file, each with its start line', () => {
    const docs = parseProfileText('name: a\n---\nname: b\n', 'p.yaml');
    expect(docs.map((d) => [d.name, d.line])).to.deep.equal([['a', 1], ['b', 3]]);
  });

  it('expands directories to their .yaml/.yml files and refuses a name defined twice', async () => {
    const dir = tempFiles({ 'a.yaml': 'name: a\n', 'b.yml': 'name: b\n', 'notes.txt': 'ignored' });
    expect((await loadProfileFiles([dir], '/')).map((d) => d.name)).to.deep.equal(['a', 'b']);
    const dup = tempFiles({ 'a.yaml': 'name: same\n', 'b.yaml': '\n\nname: same\n' });
    try {
      await loadProfileFiles([dup], dup);
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.equal('b.yaml:3: name: profile "same" is also defined in a.yaml:1');
    }
    try {
      await loadProfileFiles(['missing.yaml'], dir);
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.equal('missing.yaml: no such file or directory');
    }
  });

  it('prints a profile in lxc profile show form, keys sorted, and reads it back unchanged', () => {
    const p = { name: 'z', description: 'd', config: { b: '2', a: '1' }, devices: { eth0: { type: 'nic', nictype: 'bridged' } }, used_by: [] };
    const text = profileYaml(p);
    expect(text).to.equal('config:\n  a: "1"\n  b: "2"\ndescription: d\ndevices:\n  eth0:\n    nictype: bridged\n    type: nic\nname: z\nused_by: []\n');
    expect(parseProfileText(text, 'x.yaml')[0]).to.deep.include({ name: 'z', config: { a: '1', b: '2' }, devices: p.devices });
  });

  describe('hostile YAML', () => {
    it('refuses an alias bomb at once, in little memory, naming the file and the line of the first alias', () => {
      global.gc?.();
      const heap = process.memoryUsage().heapUsed;
      const started = performance.now();
      const e = failure(aliasBomb());
      const ms = performance.now() - started;
      const grew = process.memoryUsage().heapUsed - heap;
      expect(e.exitCode).to.equal(ExitCode.INVALID_INPUT);
      expect(e.message).to.equal(`p.yaml:4: YAML aliases expand too much (Excessive alias count indicates a resource exhaustion attack; at most ${MAX_ALIAS_COUNT} expansions)`);
      expect(ms).to.be.below(1000);
      expect(grew).to.be.below(32 * 1024 * 1024);
    });

    it('still reads a profile that uses a few aliases', () => {
      const [p] = parseProfileText('name: a\nconfig:\n  user.a: &v "x"\n  user.b: *v\ndevices:\n  d1: &dev {type: unix-char, path: /dev/kvm}\n  d2: *dev\n', 'p.yaml');
      expect(p).to.deep.include({ config: { 'user.a': 'x', 'user.b': 'x' }, devices: { d1: { type: 'unix-char', path: '/dev/kvm' }, d2: { type: 'unix-char', path: '/dev/kvm' } } });
      expect(p!.devices['d1']).not.to.equal(p!.devices['d2']); // copies, not one shared object
    });

    it('refuses a __proto__ key anywhere, naming the key path and its line (it would otherwise be dropped)', () => {
      const cases: [string, number, string][] = [
        ['name: a\n__proto__: {}\n', 2, '__proto__'],
        ['name: a\nconfig:\n  __proto__:\n    polluted: "yes"\n', 3, 'config.__proto__'],
        ['name: a\nconfig:\n  "__proto__": "x"\n', 3, 'config.__proto__'],
        ['name: a\ndevices:\n  __proto__:\n    type: nic\n', 3, 'devices.__proto__'],
        ['name: a\ndevices:\n  eth0:\n    type: nic\n    __proto__: x\n', 5, 'devices.eth0.__proto__'],
        ['name: a\nused_by:\n- {__proto__: x}\n', 3, 'used_by.0.__proto__'],
      ];
      for (const [text, line, field] of cases) {
        const e = failure(text);
        expect([e.exitCode, e.line, e.field], text).to.deep.equal([ExitCode.INVALID_INPUT, line, field]);
        expect(e.message).to.equal(`p.yaml:${line}: ${field}: the key "__proto__" is not allowed in a profile file`);
      }
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    });

    it('refuses __proto__ written through an alias key, in a merged map, or in an anchored map used elsewhere', () => {
      const cases: [string, number, string][] = [
        // the alias key `*k :` is "__proto__" once resolved: it would silently drop the NIC
        ['name: a\nconfig:\n  user.x: &k __proto__\ndevices:\n  *k :\n    type: nic\n    parent: lxdkitbr0\n', 5, 'devices.__proto__'],
        ['name: a\ndescription: &k "__proto__"\nconfig:\n  *k : "x"\n', 4, 'config.__proto__'],
        ['%YAML 1.1\n---\nname: a\ndevices:\n  eth0:\n    <<: {__proto__: x}\n    type: nic\n', 6, 'devices.eth0.<<.__proto__'],
        ['%YAML 1.1\n---\nname: a\nused_by:\n- &b {__proto__: x}\ndevices:\n  eth0:\n    <<: *b\n', 5, 'used_by.0.__proto__'],
      ];
      for (const [text, line, field] of cases) {
        const e = failure(text);
        expect([e.exitCode, e.line, e.field], text).to.deep.equal([ExitCode.INVALID_INPUT, line, field]);
        expect(e.message).to.equal(`p.yaml:${line}: ${field}: the key "__proto__" is not allowed in a profile file`);
      }
    });

    it('profile validate and profile apply exit 3 naming an aliased __proto__ key, before any I/O', async () => {
      const dir = tempFiles({ 'p.yaml': 'name: a\nconfig:\n  user.x: &k __proto__\ndevices:\n  *k :\n    type: nic\n    parent: lxdkitbr0\n' });
      for (const args of [['profile', 'validate', 'p.yaml'], ['profile', 'apply', 'p.yaml'], ['profile', 'diff', 'p.yaml']]) {
        const r = await cli([...args, '--socket', join(dir, 'no.socket')], { cwd: dir });
        expect([r.code, r.stdout], args.join(' ')).to.deep.equal([ExitCode.INVALID_INPUT, '']);
        expect(r.stderr).to.contain('p.yaml:5: devices.__proto__: the key "__proto__" is not allowed in a profile file');
      }
    });

    it('still reads merge keys and repeated aliases of a map (checked once, not once per use)', () => {
      const [p] = parseProfileText('%YAML 1.1\n---\nname: a\ndevices:\n  base: &b {type: unix-char, path: /dev/kvm}\n  d1:\n    <<: *b\n    path: /dev/net/tun\n  d2: *b\n', 'p.yaml');
      expect(p!.devices).to.deep.equal({ base: { type: 'unix-char', path: '/dev/kvm' }, d1: { type: 'unix-char', path: '/dev/net/tun' }, d2: { type: 'unix-char', path: '/dev/kvm' } });
    });

    it('checks 40,000 keys for repeats: none in one file, the one repeated key named in the other', () => {
      const [p] = parseProfileText(manyKeys(40_000), 'p.yaml');
      expect(Object.keys(p!.config)).to.have.length(40_000);
      const e = failure(manyKeys(40_000, 12_345));
      expect(e.message).to.equal(`p.yaml:40003: YAML syntax: Map keys must be unique: config.user.k12345 is given twice (first on line 12348)`);
      // the same key written as a number and as a string is the same config key
      expect(failure('name: a\nconfig:\n  "1": x\n  1: y\n').message).to.equal('p.yaml:4: YAML syntax: Map keys must be unique: config.1 is given twice (first on line 3)');
      // and through an alias
      expect(failure('name: a\ndescription: &k user.a\nconfig:\n  user.a: x\n  *k : y\n').line).to.equal(5);
    });

    it('refuses a file over the size cap (exit 3) and reads no further: a big file, /dev/zero', async () => {
      const limit = `file too large: a profile file is at most 1 MiB (${MAX_PROFILE_FILE_BYTES} bytes); split the profiles over several files`;
      const frame = 'name: big\ndescription: ""\n'.length;
      const pad = (bytes: number): string => `name: big\ndescription: "${'x'.repeat(bytes - frame)}"\n`;
      const dir = tempFiles({ 'at.yaml': pad(MAX_PROFILE_FILE_BYTES), 'over.yaml': pad(MAX_PROFILE_FILE_BYTES + 1) });
      expect((await loadProfileFiles(['at.yaml'], dir))[0]!.description).to.have.length(MAX_PROFILE_FILE_BYTES - frame);
      const over = await loadFailure(['over.yaml'], dir);
      expect([over.exitCode, over.message]).to.deep.equal([ExitCode.INVALID_INPUT, `over.yaml: ${limit}`]);
      const zero = await loadFailure(['/dev/zero'], dir);
      expect(zero.message).to.equal(`/dev/zero: ${limit}`);
      const r = await cli(['profile', 'validate', '/dev/zero'], { cwd: dir });
      expect([r.code, r.stderr.trim()]).to.deep.equal([ExitCode.INVALID_INPUT, `lxdkit: /dev/zero: ${limit}`]);
    });

    it('reads a FIFO like a file, up to the same cap', async () => {

      const dir = tempFiles({});
      const fifo = join(dir, 'p.yaml');
      expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
      // a writer that sends a small profile, then one that never stops
      const small = spawn('sh', ['-c', `printf 'name: from-fifo\\n' > '${fifo}'`]);
      const smallDone = new Promise((r) => small.once('exit', r));
      expect((await loadProfileFiles([fifo], dir)).map((d) => d.name)).to.deep.equal(['from-fifo']);
      await smallDone;
      const endless = spawn('sh', ['-c', `exec cat /dev/zero > '${fifo}'`]);
      try {
        const e = await loadFailure([fifo], dir);
        expect(e.message).to.match(/^p\.yaml: file too large: a profile file is at most 1 MiB/);
      } finally {
        endless.kill('SIGKILL');
      }
    });

    it('keeps constructor, prototype and toString as ordinary keys: nothing inherited leaks into a diff', () => {
      const [p] = parseProfileText('name: a\nconfig:\n  constructor: "x"\n  prototype: "y"\ndevices:\n  toString:\n    type: nic\n', 'p.yaml');
      expect(Object.keys(p!.config)).to.deep.equal(['constructor', 'prototype']);
      expect(Object.getPrototypeOf(p!.config)).to.equal(Object.prototype);
      expect(profileChanges({ description: '', config: {}, devices: {} }, p!)).to.deep.equal([
        { path: 'config.constructor', to: 'x' },
        { path: 'config.prototype', to: 'y' },
        { path: 'devices.toString', to: { type: 'nic' } },
      ]);
      expect(profileChanges({ description: '', config: { constructor: 'x' }, devices: { hasOwnProperty: { type: 'nic' } } }, { description: '', config: {}, devices: {} })).to.deep.equal([
        { path: 'config.constructor', from: 'x' },
        { path: 'devices.hasOwnProperty', from: { type: 'nic' } },
      ]);
    });
  });
});
