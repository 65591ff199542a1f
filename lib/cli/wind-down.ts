/**
 * Once a command is over, the lxdkit process only closes its connections and exits. By then V8 has
 * often queued a collection of its young generation as a task (it queues one when that generation is
 * 80% full), and Node runs the tasks still queued before the process exits: ~5 ms of every command
 * (measured on `status`), spent on memory that the exit frees anyway. The command's loader raises
 * that threshold out of reach while the process winds down (`skipWindDownCollection`), and puts it
 * back before it makes a code cache (`restoreCollectionTrigger`): V8's flags are part of what a code
 * cache is checked against. A `--minor-gc-task*` flag of your own wins: nothing is changed then.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's default for `--minor-gc-task-trigger` (per cent of the young generation), in Node 20 to 24. */
export const DEFAULT_MINOR_GC_TASK_TRIGGER = 80;
/** A threshold the young generation never reaches: a queued collection task then does nothing. */
const UNREACHABLE_TRIGGER = 1000;

let raised = false;

function ownFlags(): boolean {
  return [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => a.includes('minor-gc-task'));
}

/** The command is over: a young-generation collection queued from now on does nothing. */
export function skipWindDownCollection(): void {
  if (raised || ownFlags()) return;
  try {
    setFlagsFromString(`--minor-gc-task-trigger=${UNREACHABLE_TRIGGER}`);
    raised = true;
  } catch {
    // not fatal: the exit only takes a few milliseconds longer
  }
}

/** V8's threshold as it was before `skipWindDownCollection` (before a code cache is made). */
export function restoreCollectionTrigger(): void {
  if (!raised) return;
  setFlagsFromString(`--minor-gc-task-trigger=${DEFAULT_MINOR_GC_TASK_TRIGGER}`);
  raised = false;
}
