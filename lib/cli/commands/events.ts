/**
 * `lxdkit events`: LXD's event stream. One JSON object per line when stdout is not a terminal (or
 * with --json), a short line per event on a terminal. Runs until Ctrl-C, `--count` events or
 * `--for` seconds.
 */
import type { LxdEvent } from '../../lxd/schemas.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

export interface EventsOptions {
  type?: string[];
  allProjects?: boolean;
  count?: number;
  for?: number;
}

const KNOWN = ['operation', 'logging', 'lifecycle', 'ovn', 'security', 'network-acl'];

/** One human line for an event. */
export function describeEvent(e: LxdEvent): string {
  const time = e.timestamp.replace(/^.*T(\d\d:\d\d:\d\d).*$/, '$1');
  const project = e.project && e.project !== 'default' ? ` [${e.project}]` : '';
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
    ctx.io.stderr.write(`lxdkit: listening for ${what} events on ${ctx.client().endpoint}${ctx.client().project ? ` (project ${ctx.client().project})` : ''}; Ctrl-C stops\n`);
    await new Promise<void>((resolveDone) => {
      stop.signal.addEventListener('abort', () => resolveDone(), { once: true });
      sub.on('event', (e: LxdEvent) => {
        if (stop.signal.aborted) return;
        ctx.io.stdout.write(asJson ? `${JSON.stringify(e)}\n` : `${describeEvent(e)}\n`);
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
