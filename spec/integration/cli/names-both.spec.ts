/**
 * The built command's snapshot and backup names on both real servers: `snapshot create` without a
 * name prints the snapshot the server made, in a project too, and `backup export` to a directory is
 * refused before the server makes any backup (watched on the server's lifecycle events, so a backup
 * made and deleted again would be seen).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LxdClient, LxdEvent } from '../../../lib/lxd/index.js';
import { ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { removeLeftovers, uniqueSuffix } from '../../helpers/lxd-env.js';
import { removeProject, removeProjects } from '../../helpers/projects.js';
import { describeEachServer, requireServer } from '../../helpers/servers.js';
import { destroy, launch } from '../../helpers/toolbox.js';

const PREFIX = 'lxdkit-spec-nmb-';

describeEachServer('lxdkit snapshot and backup names', function (server) {
  this.timeout(300_000);
  let client: LxdClient;
  let dir: string;
  const run = `${PREFIX}${uniqueSuffix()}`;
  const c1 = `${run}-a`;
  const cli = (args: string[]) => lxdkit(['--socket', server.socket, ...args]);

  before(async function () {
    client = await requireServer(this, server);
    ensureBuilt();
    await removeLeftovers(client, PREFIX);
    await removeProjects(client, PREFIX);
    dir = mkdtempSync(join(tmpdir(), `${run}-`));
  });

  after(async function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!client) return;
    await removeLeftovers(client, run);
    await removeProjects(client, run);
    await client.close();
  });

  it('snapshot create without a name prints the name the server gave, in a project too', async function () {
    const project = `${run}-p`;
    await client.projects.create({ name: project, config: { 'features.images': 'false', 'features.profiles': 'false' } });
    const inside = client.withProject(project);
    try {
      await launch(inside, c1, { start: false });
      const made = await cli(['--project', project, 'snapshot', 'create', c1]);
      expect(made.code, made.stderr).to.equal(0);
      expect(made.stdout).to.equal(`created snapshot snap0 of ${c1}\n`);
      const json = await cli(['--project', project, 'snapshot', 'create', c1, '--json']);
      expect(json.code, json.stderr).to.equal(0);
      expect(JSON.parse(json.stdout)).to.deep.equal({ instance: c1, snapshot: 'snap1' });
      expect((await inside.instances.snapshots.names(c1)).sort()).to.deep.equal(['snap0', 'snap1']);
      await destroy(inside, c1);
    } finally {
      await inside.close();
      await removeProject(client, project);
    }
  });

  it('backup export to a directory, or into a missing one, exits 3 and the server makes no backup', async function () {
    const c2 = `${run}-b`;
    await launch(client, c2, { start: false });
    const sub = client.events.subscribe({ types: ['lifecycle', 'operation'] });
    const seen: string[] = [];
    sub.on('event', (e: LxdEvent) => {
      const meta = (e.metadata ?? {}) as { source?: unknown; resources?: unknown };
      const source = typeof meta.source === 'string' ? meta.source : '';
      const resources = JSON.stringify(meta.resources ?? {});
      if (source.includes(`/instances/${c2}/backups`) || resources.includes(`/instances/${c2}/backups`)) seen.push(`${e.type}: ${source || resources}`);
    });
    try {
      await sub.ready;
      for (const target of [dir, join(dir, 'missing', 'x.tar.gz')]) {
        const r = await cli(['backup', 'export', c2, target]);
        expect(r.code, r.stderr).to.equal(3);
        expect(r.stderr).to.match(/is a directory|does not exist/);
      }
      // Events of a backup made by the refused calls would have been sent before they exited.
      await new Promise((r) => setTimeout(r, 1500));
      expect(seen, 'no backup event for the refused exports').to.deep.equal([]);
      // A control: an export that goes through is seen by the same watch.
      const ok = await cli(['backup', 'export', c2, join(dir, 'made.tar.gz'), '--instance-only']);
      expect(ok.code, ok.stderr).to.equal(0);
      const deadline = Date.now() + 10_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.length, 'the watch saw the export that went through').to.be.greaterThan(0);
      expect(await client.instances.backups.list(c2)).to.deep.equal([]);
    } finally {
      sub.close();
      await destroy(client, c2);
    }
  });
});
