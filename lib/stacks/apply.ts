/**
 * `apply(plan, client)`: carries out a plan in dependency order (projects, pools, networks, volumes,
 * profiles, images, instances, then instance state; deletes last, in the reverse order). Steps that do
 * not depend on each other run side by side. Every update is written with the ETag it read (a change
 * made in between is read again and recomputed), and every step is reported before it starts, so an
 * interrupted apply leaves nothing half-made without a line about it; the next plan sees where it got
 * to and the next apply goes on from there.
 */
import { setMaxListeners } from 'node:events';
import type { LxdClient } from '../lxd/client.js';
import { errorText } from '../errors.js';
import { StackError, StackErrorCode } from './errors.js';
import { adapterOf, setState, type KindAdapter, type StepContext } from './kinds.js';
import { describeStep, ProjectClients, type Plan, type PlanStep } from './plan.js';
import type { InstanceItem } from './schema.js';

/** What apply reports: a step about to start, done, or failed; `state` steps start or stop instances. */
export interface ApplyProgress {
  phase: 'start' | 'done' | 'failed';
  step: PlanStep;
  /** `state` when the step starts or stops an instance (after every create and update). */
  what: 'create' | 'update' | 'replace' | 'delete' | 'state';
  error?: unknown;
}

/** What `apply()` takes: an AbortSignal, the deadline of each operation wait, and a progress callback called before each step. */
export interface ApplyOptions {
  signal?: AbortSignal;
  onProgress?: (p: ApplyProgress) => void;
  /** Steps run at the same time (default 8). */
  concurrency?: number;
  /** Deadline of each operation wait (default 10 minutes). */
  timeoutMs?: number;
}

/** What `apply()` did: the steps it carried out, in order. */
export interface ApplyResult {
  /** The steps that changed something, in the order they finished. */
  done: { step: PlanStep; what: ApplyProgress['what'] }[];
}

/** A semaphore: at most `n` tasks at a time. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

/**
 * Applies `plan`. Throws `StackError` (`STACK_ERR_APPLY`, with the server's error as its cause) at
 * the first step that fails, once the steps already running have finished: nothing new is started.
 * An abort (`signal`) stops the same way with the AbortError.
 */
export async function apply(plan: Plan, client: LxdClient, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const result: ApplyResult = { done: [] };
  if (!plan.changed) return result;
  const clients = new ProjectClients(client);
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  // every step running waits on it
  setMaxListeners(0, signal);
  const ctx: StepContext = { client: clients.get, stack: plan.stack, signal, timeoutMs: opts.timeoutMs ?? 600_000 };
  const limit = limiter(Math.max(1, opts.concurrency ?? 8));
  let failure: unknown;
  let failed: PlanStep | undefined;
  const report = (p: ApplyProgress): void => {
    try {
      opts.onProgress?.(p);
    } catch {
      // a progress callback that throws changes nothing
    }
  };
  const run = async (step: PlanStep, what: ApplyProgress['what'], work: () => Promise<void>): Promise<void> => {
    await limit(async () => {
      if (failure !== undefined) return;
      signal.throwIfAborted();
      report({ phase: 'start', step, what });
      try {
        await work();
      } catch (err) {
        report({ phase: 'failed', step, what, error: err });
        if (failure === undefined) {
          failure = err;
          failed = step;
        }
        stop.abort(err);
        return;
      }
      result.done.push({ step, what });
      report({ phase: 'done', step, what });
    });
  };

  try {
    // creations and updates, each once what it refers to is done
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const started = new Map<string, Promise<void>>();
    const forward = (step: PlanStep): Promise<void> => {
      let p = started.get(step.id);
      if (!p) {
        p = (async () => {
          await Promise.all(step.deps.map((d) => byId.get(d)).filter((d): d is PlanStep => d !== undefined).map(forward));
          if (failure !== undefined) return;
          const a = adapterOf(step.kind)!;
          const project = step.project;
          if (step.action === 'create') await run(step, 'create', () => a.create(ctx, step.item as never, project ?? 'default'));
          else if (step.action === 'update') {
            if (!(step.kind === 'instances' && step.changes.every((c) => c.path === 'state'))) await run(step, 'update', () => a.update(ctx, step.item as never, project ?? 'default'));
          } else if (step.action === 'replace') {
            await run(step, 'replace', async () => {
              await a.remove(ctx, step.current!);
              await a.create(ctx, step.item as never, project ?? 'default');
            });
          }
        })();
        started.set(step.id, p);
      }
      return p;
    };
    await Promise.all(plan.steps.filter((s) => s.action === 'create' || s.action === 'update' || s.action === 'replace').map(forward));
    throwIf(failure, failed);

    // then the state of instances
    const states = plan.steps.filter((s) => {
      if (s.kind !== 'instances' || s.item === undefined) return false;
      const want = (s.item as InstanceItem).state;
      if (s.action === 'create' || s.action === 'replace') return want === 'running';
      return s.changes.some((c) => c.path === 'state');
    });
    await Promise.all(states.map((s) => run(s, 'state', () => setState(ctx, s.project ?? 'default', (s.item as InstanceItem).name, (s.item as InstanceItem).state))));
    throwIf(failure, failed);

    // deletes, in the reverse order of the kinds
    const deletes = plan.steps.filter((s) => s.action === 'delete');
    const tiers = [...new Set(deletes.map((s) => adapterOf(s.kind)!.tier))].sort((a, b) => b - a);
    for (const tier of tiers) {
      await Promise.all(deletes.filter((s) => adapterOf(s.kind)!.tier === tier).map((s) => run(s, 'delete', () => (adapterOf(s.kind) as KindAdapter).remove(ctx, s.current!))));
      throwIf(failure, failed);
    }
    return result;
  } finally {
    await clients.close();
  }
}

function throwIf(failure: unknown, step: PlanStep | undefined): void {
  if (failure === undefined) return;
  if (failure instanceof Error && failure.name === 'AbortError') throw failure;
  if (StackError.is(failure)) throw failure;
  const what = step ? `${step.action} ${describeStep(step)}${step.source ? ` (${step.source.file}:${step.source.line})` : ''}` : 'a step';
  throw new StackError(StackErrorCode.APPLY, `${what} failed: ${errorText(failure)}; the steps before it stay done, and the next apply goes on from there`, { cause: failure });
}
