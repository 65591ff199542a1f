/**
 * `lxdkit profile list | show | validate | diff | apply`: LXD profiles kept as YAML files.
 */
import { isConflict, isNotFound } from '../../lxd/errors.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';
import { loadProfileFiles, profileYaml, type ProfileDoc } from '../profile-files.js';
import { applyPlan, maskChange, planProfiles, profileChanges, renderDiff, resultOf, type PlanItem } from '../profile-sync.js';

export async function profileList(ctx: CliContext): Promise<void> {
  const profiles = await ctx.client().profiles.list({ signal: ctx.signal });
  ctx.print(
    profiles.map((p) => ({ name: p.name, description: p.description, config: p.config, devices: p.devices, used_by: p.used_by })),
    () =>
      renderTable(profiles, [
        { header: 'name', value: (p) => p.name },
        { header: 'description', value: (p) => p.description },
        { header: 'config', value: (p) => Object.keys(p.config).length, right: true },
        { header: 'devices', value: (p) => Object.keys(p.devices).join(',') },
        { header: 'used by', value: (p) => p.used_by.length, right: true },
      ]),
  );
}

export async function profileShow(ctx: CliContext, name: string): Promise<void> {
  const { value: p } = await ctx.client().profiles.get(name, { signal: ctx.signal });
  const shaped = { config: p.config, description: p.description, devices: p.devices, name: p.name, used_by: p.used_by };
  ctx.print(shaped, () => profileYaml(shaped));
}

export async function profileValidate(ctx: CliContext, files: string[], opts: { charm?: boolean }): Promise<void> {
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true, signal: ctx.signal });
  ctx.print(
    { valid: true, charm: opts.charm === true, profiles: docs.map((d) => ({ name: d.name, file: d.file, line: d.line })) },
    () => docs.map((d) => `ok  ${d.name}  (${d.file}:${d.line})${opts.charm ? '  charm rules: ok' : ''}`).join('\n') + '\n',
  );
}

/** The plan as `--json` prints it; secret values masked unless `showSecrets`. */
function planJson(plan: readonly PlanItem[], dryRun: boolean, verbs: (i: PlanItem) => string, showSecrets: boolean) {
  const summary: Record<string, number> = {};
  for (const i of plan) summary[verbs(i)] = (summary[verbs(i)] ?? 0) + 1;
  return {
    dryRun,
    profiles: plan.map((i) => ({ name: i.name, file: i.file ?? null, result: verbs(i), changes: showSecrets ? i.changes : i.changes.map(maskChange), reason: i.reason })),
    summary,
  };
}

export async function profileDiff(ctx: CliContext, files: string[], opts: { charm?: boolean; exitCode?: boolean; prune?: boolean; prunePrefix?: string; showSecrets?: boolean }): Promise<number> {
  const showSecrets = opts.showSecrets === true;
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true, signal: ctx.signal });
  const plan = await planProfiles(ctx.client(), docs, { prune: opts.prune === true, prunePrefix: opts.prunePrefix, signal: ctx.signal });
  ctx.print(planJson(plan, true, (i) => i.action, showSecrets), () => {
    const parts = plan.map((i) => (i.action === 'unchanged' ? `  ${i.name}: unchanged\n` : i.action === 'keep' ? `  ${i.name}: kept (${i.reason})\n` : renderDiff(i, { showSecrets })));
    return parts.join('');
  });
  const differs = plan.some((i) => i.action !== 'unchanged' && i.action !== 'keep');
  return opts.exitCode && differs ? ExitCode.DIFFERENCES : ExitCode.OK;
}

/** What `--create-project` did (or, in a dry run, would do) with the client's project. */
type ProjectResult = 'created' | 'create' | 'unchanged';

/**
 * `--create-project`: creates the client's project unless it exists, with the server's default features
 * (its own profiles, images and storage volumes). In a dry run nothing is created.
 */
async function ensureProject(ctx: CliContext, dryRun: boolean): Promise<{ name: string; result: ProjectResult }> {
  const client = ctx.client();
  const name = client.project;
  if (name === undefined || name === 'default') throw new CliError(ExitCode.USAGE, '--create-project needs --project NAME (a project other than "default")');
  const call = { signal: ctx.signal };
  try {
    await client.projects.get(name, call);
    return { name, result: 'unchanged' };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (dryRun) return { name, result: 'create' };
  try {
    await client.projects.create({ name, description: 'created by lxdkit profile apply --create-project' }, call);
  } catch (err) {
    // made by someone else meanwhile: it exists, which is all that was asked
    if (isConflict(err)) return { name, result: 'unchanged' };
    throw err;
  }
  return { name, result: 'created' };
}

/** The plan for a project that does not exist yet: every profile is new, but the `default` the project gets. */
function planForNewProject(docs: readonly ProfileDoc[]): PlanItem[] {
  const empty = { description: '', config: {}, devices: {} };
  return docs.map((d) => (d.name === 'default'
    ? { name: d.name, action: 'update' as const, file: d.file, changes: profileChanges(empty, d), current: { name: 'default', ...empty, used_by: [] }, desired: d }
    : { name: d.name, action: 'create' as const, file: d.file, changes: profileChanges(empty, d), desired: d }));
}

export async function profileApply(ctx: CliContext, files: string[], opts: { charm?: boolean; dryRun?: boolean; prune?: boolean; prunePrefix?: string; createProject?: boolean; showSecrets?: boolean }): Promise<void> {
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true, signal: ctx.signal });
  const client = ctx.client();
  const dryRun = opts.dryRun === true;
  const project = opts.createProject ? await ensureProject(ctx, dryRun) : undefined;
  if (project && !ctx.json) ctx.io.stdout.write(`${project.result === 'create' ? 'would be created' : project.result === 'created' ? 'created  ' : 'unchanged'} project ${project.name}\n`);
  const plan = project?.result === 'create' ? planForNewProject(docs) : await planProfiles(client, docs, { prune: opts.prune === true, prunePrefix: opts.prunePrefix, signal: ctx.signal });
  const width = Math.max(0, ...plan.map((i) => i.name.length));
  const line = (i: PlanItem): string => {
    const word = dryRun && i.action !== 'unchanged' && i.action !== 'keep' ? `would be ${resultOf(i.action)}` : resultOf(i.action);
    const detail = i.action === 'update' ? ` (${i.changes.map((c) => c.path).join(', ')})` : i.reason ? ` (${i.reason})` : '';
    return `${word.padEnd(dryRun ? 16 : 9)} ${i.name.padEnd(width)}${i.file ? `  ${i.file}` : ''}${detail}`.trimEnd();
  };
  if (!dryRun) await applyPlan(client, plan, { signal: ctx.signal, onDone: ctx.json ? undefined : (i) => ctx.io.stdout.write(`${line(i)}\n`) });
  const verb = (i: PlanItem): string => (dryRun ? i.action : resultOf(i.action));
  const result = { project: project || undefined, ...planJson(plan, dryRun, verb, opts.showSecrets === true) };
  if (ctx.json) {
    ctx.print(result, () => '');
    return;
  }
  if (dryRun) for (const i of plan) ctx.io.stdout.write(`${line(i)}\n`);
  const s = result.summary;
  const counts = Object.entries(s).map(([k, v]) => `${v} ${k}`).join(', ');
  ctx.io.stdout.write(`${dryRun ? 'dry run, nothing changed: ' : ''}${counts || 'no profiles'}\n`);
}
