/**
 * `lxdkit profile list | show | validate | diff | apply`: LXD profiles kept as YAML files.
 */
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';
import { loadProfileFiles, profileYaml } from '../profile-files.js';
import { applyPlan, planProfiles, renderDiff, resultOf, type PlanItem } from '../profile-sync.js';

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
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true });
  ctx.print(
    { valid: true, charm: opts.charm === true, profiles: docs.map((d) => ({ name: d.name, file: d.file, line: d.line })) },
    () => docs.map((d) => `ok  ${d.name}  (${d.file}:${d.line})${opts.charm ? '  charm rules: ok' : ''}`).join('\n') + '\n',
  );
}

function planJson(plan: readonly PlanItem[], dryRun: boolean, verbs: (i: PlanItem) => string) {
  const summary: Record<string, number> = {};
  for (const i of plan) summary[verbs(i)] = (summary[verbs(i)] ?? 0) + 1;
  return {
    dryRun,
    profiles: plan.map((i) => ({ name: i.name, file: i.file ?? null, result: verbs(i), changes: i.changes, reason: i.reason })),
    summary,
  };
}

export async function profileDiff(ctx: CliContext, files: string[], opts: { charm?: boolean; exitCode?: boolean; prune?: boolean; prunePrefix?: string }): Promise<number> {
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true });
  const plan = await planProfiles(ctx.client(), docs, { prune: opts.prune === true, prunePrefix: opts.prunePrefix, signal: ctx.signal });
  ctx.print(planJson(plan, true, (i) => i.action), () => {
    const parts = plan.map((i) => (i.action === 'unchanged' ? `  ${i.name}: unchanged\n` : i.action === 'keep' ? `  ${i.name}: kept (${i.reason})\n` : renderDiff(i)));
    return parts.join('');
  });
  const differs = plan.some((i) => i.action !== 'unchanged' && i.action !== 'keep');
  return opts.exitCode && differs ? ExitCode.DIFFERENCES : ExitCode.OK;
}

export async function profileApply(ctx: CliContext, files: string[], opts: { charm?: boolean; dryRun?: boolean; prune?: boolean; prunePrefix?: string }): Promise<void> {
  const docs = await loadProfileFiles(files, ctx.io.cwd, { charm: opts.charm === true });
  const client = ctx.client();
  const plan = await planProfiles(client, docs, { prune: opts.prune === true, prunePrefix: opts.prunePrefix, signal: ctx.signal });
  const dryRun = opts.dryRun === true;
  const width = Math.max(0, ...plan.map((i) => i.name.length));
  const line = (i: PlanItem): string => {
    const word = dryRun && i.action !== 'unchanged' && i.action !== 'keep' ? `would be ${resultOf(i.action)}` : resultOf(i.action);
    const detail = i.action === 'update' ? ` (${i.changes.map((c) => c.path).join(', ')})` : i.reason ? ` (${i.reason})` : '';
    return `${word.padEnd(dryRun ? 16 : 9)} ${i.name.padEnd(width)}${i.file ? `  ${i.file}` : ''}${detail}`.trimEnd();
  };
  if (!dryRun) await applyPlan(client, plan, { signal: ctx.signal, ...(ctx.json ? {} : { onDone: (i) => ctx.io.stdout.write(`${line(i)}\n`) }) });
  const verb = (i: PlanItem): string => (dryRun ? i.action : resultOf(i.action));
  const result = planJson(plan, dryRun, verb);
  if (ctx.json) {
    ctx.print(result, () => '');
    return;
  }
  if (dryRun) for (const i of plan) ctx.io.stdout.write(`${line(i)}\n`);
  const s = result.summary;
  const counts = Object.entries(s).map(([k, v]) => `${v} ${k}`).join(', ');
  ctx.io.stdout.write(`${dryRun ? 'dry run, nothing changed: ' : ''}${counts || 'no profiles'}\n`);
}
