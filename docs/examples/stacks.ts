/**
 * Stacks (docs/stacks.md): a project with a profile, a volume and two busybox containers, declared
 * in YAML, planned, applied, planned again (nothing to do), changed by hand and repaired, exported,
 * and pruned away. Needs a running LXD (scripts/provision-host.sh imports the `lxdkit/busybox` image
 * and makes the `dir` pool `default`); everything it makes is removed.
 * Run: npx tsx docs/examples/stacks.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apply, exportStack, loadStack, LxdClient, plan, stackFromObject } from 'lxdkit';

const project = `lxdkit-example-stk-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'lxdkit-example-stk-'));
writeFileSync(
  join(dir, 'web.yaml'),
  `name: example-web
projects:
  - name: ${project}
    config:
      features.images: "false"      # the default project's images (lxdkit/busybox)
storage_volumes:
  - pool: default
    name: uploads
    project: ${project}
profiles:
  - name: default
    project: ${project}
    devices:
      root: { type: disk, path: /, pool: default }
  - name: web
    project: ${project}
    config:
      limits.processes: "200"
instances:
  - name: web-1
    project: ${project}
    image: lxdkit/busybox
    profiles: [default, web]
    devices:
      uploads: { type: disk, pool: default, source: uploads, path: /srv/uploads }
  - name: web-2
    project: ${project}
    image: lxdkit/busybox
    profiles: [default, web]
    state: stopped
`,
);

const client = new LxdClient();
try {
  const stack = await loadStack(join(dir, 'web.yaml'));      // file:line errors, before any request
  const first = await plan(stack, client);
  for (const step of first.steps) console.log(step.action, step.kind, step.key);
  await apply(first, client, { onProgress: (p) => p.phase === 'done' && console.log(`  ${p.what} ${p.step.key}`) });
  console.log('changed after apply:', (await plan(stack, client)).changed); // false

  // a change made by hand is drift: the plan shows it key by key, apply puts it back
  await client.withProject(project).profiles.patch('web', { config: { 'limits.processes': '500' } });
  const drift = await plan(stack, client);
  console.log(drift.steps.filter((s) => s.action === 'update').map((s) => s.changes));
  await apply(drift, client);

  // the server as a stack: planning it finds nothing to do
  const exported = await exportStack(client, { projects: [project], name: 'example-web' });
  console.log('export plans to a change:', (await plan(stackFromObject(exported), client)).changed); // false
} finally {
  // an empty stack of the same name, with prune: everything it made goes, the project last
  const empty = stackFromObject({ name: 'example-web' });
  await apply(await plan(empty, client, { prune: true }), client);
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
