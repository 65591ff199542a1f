import { expect } from 'chai';
import { lineDiff, profileChanges, renderDiff, resultOf } from '../../../lib/cli/profile-sync.js';

describe('cli profile sync', () => {
  it('lists field-level changes from LXD to the file', () => {
    const current = { description: 'old', config: { a: '1', gone: 'x' }, devices: { eth0: { type: 'nic', parent: 'br0' }, old: { type: 'disk' } } };
    const desired = { description: 'new', config: { a: '2', added: 'y' }, devices: { eth0: { type: 'nic', parent: 'br1' }, gpu: { type: 'gpu' } } };
    expect(profileChanges(current, desired)).to.deep.equal([
      { path: 'description', from: 'old', to: 'new' },
      { path: 'config.a', from: '1', to: '2' },
      { path: 'config.added', to: 'y' },
      { path: 'config.gone', from: 'x' },
      { path: 'devices.eth0.parent', from: 'br0', to: 'br1' },
      { path: 'devices.gpu', to: { type: 'gpu' } },
      { path: 'devices.old', from: { type: 'disk' } },
    ]);
  });

  it('sees no change when only the order of keys differs', () => {
    const a = { description: '', config: { x: '1', y: '2' }, devices: { d: { type: 'gpu', gid: '44' } } };
    const b = { description: '', config: { y: '2', x: '1' }, devices: { d: { gid: '44', type: 'gpu' } } };
    expect(profileChanges(a, b)).to.deep.equal([]);
  });

  it('diffs lines keeping the common ones', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n')).to.equal('  a\n- b\n+ B\n  c\n+ d\n');
    expect(lineDiff('', 'x\n')).to.equal('+ x\n');
  });

  it('renders an update as a diff of the lxc profile show form', () => {
    const text = renderDiff({
      name: 'p',
      action: 'update',
      file: 'p.yaml',
      changes: [{ path: 'config.limits.cpu', from: '1', to: '2' }],
      current: { name: 'p', description: '', config: { 'limits.cpu': '1' }, devices: {}, used_by: [] },
      desired: { name: 'p', description: '', config: { 'limits.cpu': '2' }, devices: {}, file: 'p.yaml', line: 1 },
    });
    expect(text).to.equal('--- lxd: profile p\n+++ p.yaml\n  config:\n-   limits.cpu: "1"\n+   limits.cpu: "2"\n  description: ""\n  devices: {}\n  name: p\n');
    expect(renderDiff({ name: 'p', action: 'unchanged', changes: [] })).to.equal('');
  });

  it('reports actions in the past tense', () => {
    expect(['create', 'update', 'unchanged', 'delete', 'keep'].map((a) => resultOf(a as never))).to.deep.equal(['created', 'updated', 'unchanged', 'deleted', 'kept']);
  });
});
