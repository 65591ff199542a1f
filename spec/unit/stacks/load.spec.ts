import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadStack, parseStackText, StackError, StackErrorCode } from '../../../lib/stacks/index.js';
import { rejection } from '../../helpers/rejection.js';

describe('stacks: loading', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-stack-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a stack in the preseed shape, with defaults filled in and each item\'s file and line', async () => {
    const path = write('s.yaml', 'name: web\nprofiles:\n  - name: small\n    config:\n      limits.cpu: "1"\ninstances:\n  - name: c1\n    image: lxdkit/busybox\n');
    const stack = await loadStack(path);
    expect(stack.name).to.equal('web');
    expect(stack.items.profiles[0]!.value).to.deep.equal({ name: 'small', description: '', config: { 'limits.cpu': '1' }, devices: {}, project: 'default' });
    expect(stack.items.instances[0]!.value).to.include({ name: 'c1', type: 'container', state: 'running', project: 'default' });
    expect(stack.items.instances[0]!.value.profiles).to.deep.equal(['default']);
    expect(stack.items.instances[0]!.source).to.deep.equal({ file: path, line: 7, key: 'instances.0' });
  });

  it('names an unknown top-level key with its file and line', () => {
    const err = catchSync(() => parseStackText('name: x\ninstancs:\n  - name: c1\n', 's.yaml'));
    expect(err.code).to.equal(StackErrorCode.INVALID);
    expect(err.message).to.match(/^s\.yaml:2: instancs: unknown key/);
  });

  it('names an unquoted number in a config with its line and key path', () => {
    const err = catchSync(() => parseStackText('name: x\nprofiles:\n  - name: p\n    config:\n      limits.cpu: 2\n', 's.yaml'));
    expect(err.message).to.equal('s.yaml:5: profiles.0.config.limits.cpu: must be a string: quote it ("2")');
  });

  it('refuses a key given twice, an alias bomb and __proto__, before anything else', () => {
    expect(catchSync(() => parseStackText('name: x\nname: y\n', 's.yaml')).message).to.match(/s\.yaml:2: name: given twice \(first on line 1\)/);
    expect(catchSync(() => parseStackText('name: x\nprofiles:\n  - name: p\n    config:\n      __proto__: "1"\n', 's.yaml')).message).to.match(/__proto__/);
    let bomb = 'name: x\nl0: &l0 [a, a, a, a, a, a, a, a, a]\n';
    for (let i = 1; i <= 10; i++) bomb += `l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
    expect(catchSync(() => parseStackText(bomb, 's.yaml')).message).to.match(/aliases expand too much/);
  });

  it('merges a folder, and a name defined twice names both files', async () => {
    const d = join(dir, 'stack');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'name: two\nprofiles:\n  - name: p1\n');
    writeFileSync(join(d, 'b.yml'), 'instances:\n  - name: c1\n    image: x\n');
    const stack = await loadStack(d);
    expect(stack.items.profiles).to.have.length(1);
    expect(stack.items.instances).to.have.length(1);
    writeFileSync(join(d, 'c.yaml'), 'profiles:\n  - name: p0\n  - name: p1\n');
    const err = await rejection(loadStack(d));
    expect(StackError.is(err, StackErrorCode.DUPLICATE)).to.equal(true);
    expect((err as Error).message).to.match(/c\.yaml:3: profiles\.1: profile "default\/p1" is defined twice: here and in .*a\.yaml:3/);
  });

  it('tells the same name in two projects apart', async () => {
    const path = write('s.yaml', 'name: x\nprofiles:\n  - name: p\n  - name: p\n    project: other\n');
    expect((await loadStack(path)).items.profiles).to.have.length(2);
  });

  it('needs a stack name, and one name only', async () => {
    expect((await rejection(loadStack(write('s.yaml', 'profiles:\n  - name: p\n')))).message).to.match(/the stack has no name/);
    const d = join(dir, 'two');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'name: one\n');
    writeFileSync(join(d, 'b.yaml'), 'name: other\n');
    expect((await rejection(loadStack(d))).message).to.match(/b\.yaml:1: name: the stack is also named "one"/);
  });

  it('resolves image files relative to the stack file', async () => {
    const path = write('s.yaml', 'name: x\nimages:\n  - alias: a\n    file: img/unified.tar.xz\n');
    expect((await loadStack(path)).items.images[0]!.value.file).to.equal(join(dir, 'img', 'unified.tar.xz'));
    const both = catchSync(() => parseStackText('name: x\nimages:\n  - alias: a\n', 's.yaml'));
    expect(both.message).to.match(/give either file or source/);
  });
});

function catchSync(fn: () => unknown): StackError {
  try {
    fn();
  } catch (err) {
    if (StackError.is(err)) return err;
    throw err;
  }
  throw new Error('did not throw');
}
