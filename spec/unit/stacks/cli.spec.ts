import { expect } from 'chai';
import { cli, removeTempFiles, tempFiles } from '../cli/helpers.js';
import { emptyWorld, startFakeStackServer, type FakeStackServer } from '../../helpers/fake-stack-server.js';

describe('stacks: lxdkit plan, apply and export', () => {
  let server: FakeStackServer;
  let dir: string;
  beforeEach(async () => {
    server = await startFakeStackServer(emptyWorld());
    dir = tempFiles({
      'stack.yaml': 'name: s1\nprofiles:\n  - name: small\n    config:\n      limits.cpu: "1"\n      user.token: hunter2\n',
      'bad.yaml': 'name: s1\ninstancs:\n  - name: c1\n',
    });
  });
  afterEach(async () => {
    await server.close();
    removeTempFiles();
  });
  const run = (...args: string[]) => cli(['--socket', server.fake.socketPath, ...args], { cwd: dir });

  it('plan exits 2 when something would change, masks secrets, and changes nothing', async () => {
    const r = await run('plan', 'stack.yaml');
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.match(/^\+ {3}create {3}profile "small" {2}\(stack\.yaml:3\)$/m);
    expect(r.stdout).to.match(/stack s1: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged/);
    const json = await run('--json', 'plan', 'stack.yaml');
    expect(json.code).to.equal(2);
    const out = JSON.parse(json.stdout) as { changed: boolean; steps: { action: string; changes: { path: string; to: string }[] }[] };
    expect(out.changed).to.equal(true);
    expect(out.steps[0]!.changes.find((c) => c.path === 'config.user.token')!.to).to.equal('[redacted]');
    expect(server.writes()).to.deep.equal([]);
  });

  it('apply converges, and plan then exits 0', async () => {
    const a = await run('apply', 'stack.yaml');
    expect(a.code, a.stderr).to.equal(0);
    expect(a.stdout).to.match(/^created {2}profile "small"$/m);
    const p = await run('plan', 'stack.yaml');
    expect(p.code, p.stdout).to.equal(0);
    expect(p.stdout).to.match(/stack s1: no changes/);
  });

  it('apply --dry-run changes nothing', async () => {
    const a = await run('apply', '--dry-run', 'stack.yaml');
    expect(a.code).to.equal(0);
    expect(a.stdout).to.match(/dry run, nothing changed/);
    expect(server.writes()).to.deep.equal([]);
  });

  it('bad input exits 3 with file:line and the key, before any request', async () => {
    const r = await run('plan', 'bad.yaml');
    expect(r.code).to.equal(3);
    expect(r.stderr).to.equal('lxdkit: bad.yaml:2: instancs: unknown key (a stack has name, projects, storage_pools, networks, network_acls, network_zones, network_forwards, storage_volumes, profiles, images, instances)\n');
    expect(server.fake.requests).to.deep.equal([]);
  });

  it('export writes a stack that plan finds equal', async () => {
    await run('apply', 'stack.yaml');
    const e = await run('export', '--project', 'default', '--output', 'exported.yaml');
    expect(e.code, e.stderr).to.equal(0);
    const p = await run('plan', 'exported.yaml');
    expect(p.code, p.stdout).to.equal(0);
  });
});
