/**
 * `lxdkit plan | apply | export`: stacks (docs/stacks.md). The work is the library's (lib/stacks);
 * these commands read the files, print the plan and map its outcome to an exit code.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { apply, type ApplyProgress } from '../../stacks/apply.js';
import { exportStack, stackYaml } from '../../stacks/export.js';
import { loadStack } from '../../stacks/load.js';
import { describeStep, plan, type Plan, type PlanStep } from '../../stacks/plan.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { maskChange, type FieldChange } from '../profile-sync.js';
import { terminalSafe } from '../log-pretty.js';

export interface PlanCommandOptions {
  prune?: boolean;
  showSecrets?: boolean;
}

export interface ApplyCommandOptions extends PlanCommandOptions {
  dryRun?: boolean;
}

const PAST = { create: 'created', update: 'updated', replace: 'replaced', delete: 'deleted' } as const;

const MARK: Record<PlanStep['action'], string> = { create: '+', update: '~', replace: '-/+', delete: '-', keep: '=', unchanged: ' ' };

function value(v: FieldChange['from']): string {
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}

/** The changes of a step as printed: secret values masked unless asked. */
function changesOf(step: PlanStep, showSecrets: boolean): FieldChange[] {
  return showSecrets ? step.changes : step.changes.map(maskChange);
}

/** The plan as `--json` prints it. */
export function planJson(p: Plan, showSecrets: boolean) {
  const summary: Record<string, number> = {};
  for (const s of p.steps) summary[s.action] = (summary[s.action] ?? 0) + 1;
  return {
    stack: p.stack,
    server: p.server,
    changed: p.changed,
    prune: p.prune,
    steps: p.steps.map((s) => ({
      kind: s.kind,
      key: s.key,
      project: s.project ?? null,
      action: s.action,
      changes: changesOf(s, showSecrets),
      reason: s.reason,
      file: s.source ? `${s.source.file}:${s.source.line}` : null,
    })),
    summary,
  };
}

/** The plan for people: one line per step that does something, a line per changed key. */
export function renderPlan(p: Plan, showSecrets: boolean): string {
  const lines: string[] = [];
  for (const s of p.steps) {
    if (s.action === 'unchanged') continue;
    const where = s.source ? `  (${s.source.file}:${s.source.line})` : '';
    lines.push(`${MARK[s.action].padEnd(3)} ${s.action.padEnd(8)} ${terminalSafe(describeStep(s))}${where}${s.reason ? `: ${terminalSafe(s.reason)}` : ''}`);
    if (s.action === 'update' || s.action === 'replace') {
      for (const c of changesOf(s, showSecrets)) lines.push(`      ${terminalSafe(c.path)}: ${terminalSafe(value(c.from))} → ${terminalSafe(value(c.to))}`);
    }
  }
  const count = (a: PlanStep['action']): number => p.steps.filter((s) => s.action === a).length;
  lines.push(
    p.changed
      ? `stack ${p.stack}: ${count('create')} to create, ${count('update')} to update, ${count('replace')} to replace, ${count('delete')} to delete, ${count('unchanged')} unchanged${count('keep') ? `, ${count('keep')} kept` : ''}`
      : `stack ${p.stack}: no changes (${count('unchanged')} unchanged${count('keep') ? `, ${count('keep')} kept` : ''})`,
  );
  return lines.join('\n') + '\n';
}

/** `lxdkit plan PATH`: exit 0 when nothing would change, 2 when something would. */
export async function planCommand(ctx: CliContext, path: string, opts: PlanCommandOptions): Promise<number> {
  const stack = await loadStack(path, { cwd: ctx.io.cwd, signal: ctx.signal });
  const p = await plan(stack, ctx.client(), { prune: opts.prune === true, signal: ctx.signal });
  const showSecrets = opts.showSecrets === true;
  ctx.print(planJson(p, showSecrets), () => renderPlan(p, showSecrets));
  return p.changed ? ExitCode.PLAN_CHANGES : ExitCode.OK;
}

/** `lxdkit apply PATH`: converges, asking nothing; `--dry-run` prints the plan only. */
export async function applyCommand(ctx: CliContext, path: string, opts: ApplyCommandOptions): Promise<void> {
  const stack = await loadStack(path, { cwd: ctx.io.cwd, signal: ctx.signal });
  const client = ctx.client();
  const p = await plan(stack, client, { prune: opts.prune === true, signal: ctx.signal });
  const showSecrets = opts.showSecrets === true;
  if (opts.dryRun) {
    ctx.print({ dryRun: true, ...planJson(p, showSecrets) }, () => `${renderPlan(p, showSecrets)}dry run, nothing changed\n`);
    return;
  }
  const onProgress = (e: ApplyProgress): void => {
    const line = { phase: e.phase, what: e.what, kind: e.step.kind, key: e.step.key, project: e.step.project };
    if (e.phase === 'failed') ctx.logger.error({ ...line, err: e.error }, 'stack step failed');
    else ctx.logger.info(line, `stack step ${e.phase}`);
    if (ctx.json || e.phase !== 'done') return;
    const word = e.what === 'state' ? ((e.step.item as { state?: string } | undefined)?.state === 'running' ? 'started' : 'stopped') : PAST[e.what];
    ctx.io.stdout.write(`${word.padEnd(8)} ${terminalSafe(describeStep(e.step))}\n`);
  };
  const started = Date.now();
  const result = await apply(p, client, { signal: ctx.signal, onProgress });
  ctx.print({ dryRun: false, ...planJson(p, showSecrets), applied: result.done.length, seconds: (Date.now() - started) / 1000 }, () =>
    p.changed ? `stack ${p.stack}: ${result.done.length} step${result.done.length === 1 ? '' : 's'} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n` : `stack ${p.stack}: no changes\n`,
  );
}

export interface ExportCommandOptions {
  /** Every `--project` given (the global option, repeated). */
  projects: readonly string[];
  name?: string;
  output?: string;
}

/** `lxdkit export [--project P]…`: the server as a stack, on stdout or into `--output`. */
export async function exportCommand(ctx: CliContext, opts: ExportCommandOptions): Promise<void> {
  const stack = await exportStack(ctx.client(), { projects: opts.projects.length ? opts.projects : undefined, name: opts.name, signal: ctx.signal });
  if (opts.output !== undefined) {
    await writeFile(resolve(ctx.io.cwd, opts.output), stackYaml(stack), { mode: 0o600 });
    ctx.print({ written: opts.output, name: stack.name }, () => `wrote stack ${stack.name} to ${opts.output}\n`);
    return;
  }
  ctx.print(stack, () => stackYaml(stack));
}
