/**
 * Case 4, operation completion: how long after LXD marks an operation done does `wait()` resolve?
 *
 * LXD 5.0.2 does not move an operation's `updated_at` when it finishes, so "done" is taken from the
 * `timestamp` LXD puts on the operation event it sends right after marking it done (Go's
 * `time.Now()` in `events.Send`). An observer in this process collects those; each worker notes the
 * wall-clock time (performance.timeOrigin + now) at which its wait resolved. Same host, same clock.
 */
import WebSocket from 'ws';
import { median, percentile, pylxd, worker, type BenchContext } from '../harness.js';
import { LXDKIT, type CaseResult, type Sample } from '../types.js';

interface Waited {
  ops: { id: string; resolvedAtMs: number }[];
}

/** RFC 3339 with nanoseconds → epoch ms, keeping the sub-millisecond digits. */
export function lxdTimeMs(stamp: string): number {
  const m = /^(.*?:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(stamp);
  if (!m) return Number.NaN;
  const base = Date.parse(`${m[1]}${m[3]}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}

class Observer {
  readonly done = new Map<string, number>();
  private ws: WebSocket | undefined;

  async open(socketPath: string, project: string): Promise<void> {
    const ws = new WebSocket(`ws+unix://${socketPath}:/1.0/events?type=operation&project=${encodeURIComponent(project)}`);
    this.ws = ws;
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as { timestamp: string; metadata: { id: string; status_code: number } };
      if (e.metadata.status_code >= 200 && !this.done.has(e.metadata.id)) this.done.set(e.metadata.id, lxdTimeMs(e.timestamp));
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  /** Waits (briefly) until the final events of `ids` have arrived. */
  async settle(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < 100 && ids.some((id) => !this.done.has(id)); i++) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    this.ws?.close();
  }
}

export async function operationWait(ctx: BenchContext): Promise<CaseResult> {
  const quick = ctx.mode === 'quick';
  const count = quick ? 4 : 32;
  const warmup = 2;
  const pollMs = 50;
  const name = 'bench-wait';
  await (await ctx.client.instances.create({ name, type: 'container', source: { type: 'image', alias: ctx.imageAlias } })).wait({ timeoutMs: 120_000 });
  await (await ctx.client.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 120_000 });
  const observer = new Observer();
  await observer.open(ctx.socketPath, ctx.project);
  const samples: Sample[] = [];
  const args = { socketPath: ctx.socketPath, project: ctx.project, name, count };
  const contenders = [
    { who: LXDKIT, variant: 'events (default)', run: () => worker<Waited>('wait', { ...args, mode: 'events' }) },
    { who: LXDKIT, variant: '/wait (useEvents: false)', run: () => worker<Waited>('wait', { ...args, mode: 'wait' }) },
    { who: LXDKIT, variant: `polling every ${pollMs} ms`, run: () => worker<Waited>('wait', { ...args, mode: 'poll', pollMs }) },
    { who: 'pylxd', variant: 'wait_for_operation (/wait)', run: () => pylxd<Waited>('wait', args) },
  ];
  try {
    for (const c of contenders) {
      const out = await c.run();
      const ids = out.ops.map((o) => o.id);
      await observer.settle(ids);
      const delays = out.ops.slice(warmup).map((o) => {
        const done = observer.done.get(o.id);
        if (done === undefined) throw new Error(`no final event seen for operation ${o.id}`);
        return o.resolvedAtMs - done;
      });
      samples.push({ variant: c.variant, contender: c.who, metric: 'delay', unit: 'ms', values: delays, how: 'final event timestamp → wait() resolved' });
      ctx.log(`case 4 ${c.who} ${c.variant}: median ${median(delays).toFixed(2)} ms`);
    }
  } finally {
    observer.close();
    await (await ctx.client.instances.setState(name, { action: 'stop', force: true })).wait({ timeoutMs: 120_000 }).catch(() => {});
    await (await ctx.client.instances.delete(name)).wait({ timeoutMs: 120_000 });
  }
  const events = samples[0]!.values;
  return {
    id: 'operation-wait',
    title: '4. Operation completion: LXD marks it done → wait() resolves',
    samples,
    checks: [{ target: 'event-driven wait(): median under 5 ms', met: median(events) < 5, detail: `${median(events).toFixed(2)} ms (p90 ${percentile(events, 90).toFixed(2)} ms)` }],
    notes: [
      `${count - warmup} operations per row, alternately stop (forced) and start of a busybox container (the first ${warmup} untimed), one after another, each row in a fresh process. Stop and start take long enough (tens to hundreds of ms) for the way of waiting to matter.`,
      `"polling" is lxdkit's \`op.refresh()\` (GET /1.0/operations/ID) every ${pollMs} ms, the way a client without events or /wait would do it. pylxd's \`wait_for_operation\` is GET op + GET op/wait + GET op.`,
      'On LXD 5.0.2 `/wait` answers only when the operation ends (the server holds the request), so it is also event-like; newer LXD sends the headers early but the body still at the end.',
    ],
  };
}
