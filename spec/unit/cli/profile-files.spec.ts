import { expect } from 'chai';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { loadProfileFiles, MAX_ALIAS_COUNT, parseProfileText, profileYaml, ProfileFileError } from '../../../lib/cli/profile-files.js';
import { profileChanges } from '../../../lib/cli/profile-sync.js';
import { aliasBomb, removeTempFiles, tempFiles } from './helpers.js';

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
    expect(failure('name: a\nname: b\n').message).to.match(/^p\.yaml:2: YAML syntax: Map keys must be unique/);
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
