/**
 * `lxdkit events`: LXD's event stream. One JSON object per line when stdout is not a terminal (or
 * with --json), a short line per event on a terminal. Runs until Ctrl-C, `--count` events or
 * `--for` seconds.
 *
 * LXD sends a project's subscribers the server-wide events too (every `logging` event, and lifecycle
 * events of server objects), which carry no project. With `--project P` they are left out, so that
 * what is printed under "(project P)" is P's; `--server-events` keeps them, marked `[server-wide]`.
 */
import type { LxdEvent } from '../../lxd/schemas.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

export interface EventsOptions {
  type?: string[];
  allProjects?: boolean;
  count?: number;
  for?: number;
  /** With a project: also the server-wide events (no project), which LXD sends every subscriber. */
  serverEvents?: boolean;
}

const KNOWN = ['operation', 'logging', 'lifecycle', 'ovn', 'security', 'network-acl'];

/** True for an event that belongs to no project: every `logging` event, lifecycle events of server objects. */
export function isServerWide(e: LxdEvent): boolean {
  return e.project === undefined || e.project === '';
}

/** One human line for an event; with `markServerWide`, an event of no project ends in `[server-wide]`. */
export function describeEvent(e: LxdEvent, opts: { markServerWide?: boolean } = {}): string {
  const time = e.timestamp.replace(/^.*T(\d\d:\d\d:\d\d).*$/, '$1');
  const project = e.project && e.project !== 'default' ? ` [${e.project}]` : opts.markServerWide && isServerWide(e) ? ' [server-wide]' : '';
  switch (e.type) {
    case 'lifecycle':
      return `${time} lifecycle ${e.metadata.action} ${e.metadata.source}${project}`;
    case 'operation': {
      const m = e.metadata;
      return `${time} operation ${m.status} ${m.description}${m.err ? `: ${m.err}` : ''} (${m.id.slice(0, 8)})${project}`;
    }
    case 'logging':
      return `${time} logging ${e.metadata.level} ${e.metadata.message}${project}`;
    default:
      return `${time} ${e.type === 'unknown' ? e.eventType : e.type}${project}`;
  }
}

export async function eventsCommand(ctx: CliContext, o: EventsOptions): Promise<void> {
  for (const t of o.type ?? []) {
    if (!KNOWN.includes(t)) throw new CliError(ExitCode.USAGE, `--type: unknown event type "${t}" (one of ${KNOWN.join(', ')})`);
  }
  const project = ctx.client().project;
  const scoped = project !== undefined && o.allProjects !== true;
  const serverWide = !scoped || o.serverEvents === true;
  if (scoped && !serverWide && o.type?.includes('logging')) {
    throw new CliError(ExitCode.USAGE, `--type logging with --project ${project}: logging events are server-wide, none belongs to a project; add --server-events to see them`);
  }
  const asJson = ctx.json || !ctx.io.stdout.isTTY;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timer = o.for !== undefined ? setTimeout(onAbort, o.for * 1000) : undefined;
  const sub = ctx.client().events.subscribe({ types: o.type, allProjects: o.allProjects, signal: stop.signal });
  let seen = 0;
  let failure: Error | undefined;
  try {
    await sub.ready;
    const what = o.type?.length ? o.type.join(', ') : 'all';
    const scope = o.allProjects
      ? ' (all projects)'
      : !scoped
        ? ''
        : serverWide
          ? ` (project ${project}, and server-wide events)`
          : ` (project ${project}; server-wide events left out, --server-events shows them)`;
    ctx.io.stderr.write(`lxdkit: listening for ${what} events on ${ctx.client().endpoint}${scope}; Ctrl-C stops\n`);
    await new Promise<void>((resolveDone) => {
      stop.signal.addEventListener('abort', () => resolveDone(), { once: true });
      sub.on('event', (e: LxdEvent) => {
        if (stop.signal.aborted) return;
        if (!serverWide && isServerWide(e)) return;
        ctx.io.stdout.write(asJson ? `${JSON.stringify(e)}\n` : `${describeEvent(e, { markServerWide: scoped })}\n`);
        seen++;
        if (o.count !== undefined && seen >= o.count) stop.abort();
      });
      sub.on('gap', (g: { since: Date; until: Date }) => {
        ctx.io.stderr.write(`lxdkit: the events connection dropped; events between ${g.since.toISOString()} and ${g.until.toISOString()} were lost\n`);
      });
      sub.on('error', (err: Error) => {
        failure = err;
        stop.abort();
      });
    });
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    sub.close();
  }
  if (failure) throw failure;
}
