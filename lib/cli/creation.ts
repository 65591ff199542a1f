/**
 * Progress of container creation on a terminal: the manager's status callback moves the bar through
 * its stages, and LXD's operation events (image download, unpack) fill it in between.
 */
import { progressOf } from '../lxd/operation.js';
import type { LxdClient } from '../lxd/client.js';
import type { EventSubscription } from '../lxd/events.js';
import type { StatusCallback } from '../container/types.js';
import type { Progress, ProgressLine } from './progress.js';

/** Where each of the manager's status texts puts the bar. */
function stagePercent(info: string): number | undefined {
  if (info.startsWith('Creating container spec')) return 5;
  if (info.startsWith('acquiring LXD image')) return 15;
  if (info.startsWith('Retrieving image')) return 25;
  if (info.startsWith('Creating container')) return 50;
  if (info.startsWith('Container started')) return 100;
  return undefined;
}

/** `unpacking image 45% (12.3 MiB/s)` from LXD's progress metadata. */
export function progressText(stage: string, percent: number | undefined, metadata: Record<string, unknown>, fallback: string): string {
  const what = /unpack/.test(stage) ? 'unpacking image' : /download|fetch|rootfs|metadata/.test(stage) ? 'downloading image' : undefined;
  if (!what) return fallback;
  const raw = Object.values(metadata).find((v): v is { speed?: unknown } => typeof v === 'object' && v !== null && 'speed' in v)?.speed;
  const speed = Number(raw);
  const rate = Number.isFinite(speed) && speed > 0 ? ` (${(speed / 1048576).toFixed(1)} MiB/s)` : '';
  return `${what}${percent !== undefined ? ` ${Math.round(percent)}%` : ''}${rate}`;
}

export interface CreationTracker {
  /** The status callback for `createContainer` of the container `name`. */
  callback(name: string): StatusCallback;
  line(name: string): ProgressLine;
  close(): void;
}

/**
 * Tracks the creation of `names`. With progress disabled (not a terminal) it subscribes to nothing
 * and prints nothing.
 */
export async function trackCreation(client: LxdClient | undefined, progress: Progress, names: readonly string[], signal?: AbortSignal): Promise<CreationTracker> {
  const lines = new Map<string, ProgressLine>();
  const percent = new Map<string, number>();
  for (const n of names) {
    lines.set(n, progress.line(n));
    percent.set(n, 0);
  }
  let sub: EventSubscription | undefined;
  if (progress.enabled && client) {
    sub = client.events.subscribe({ types: ['operation'], reconnect: false, ...(signal ? { signal } : {}) });
    sub.on('error', () => {});
    sub.on('event', (e: { type: string; metadata?: unknown }) => {
      if (e.type !== 'operation') return;
      const op = e.metadata as { resources?: Record<string, string[] | null> | null; metadata?: Record<string, unknown> | null };
      const urls = Object.values(op.resources ?? {}).flatMap((v) => v ?? []);
      for (const n of names) {
        if (!urls.some((u) => u.endsWith(`/instances/${n}`) || u.endsWith(`/containers/${n}`))) continue;
        const p = progressOf(op.metadata).at(-1);
        if (!p) continue;
        const base = percent.get(n) ?? 0;
        const pct = p.percent === undefined ? base : Math.max(base, 50 + p.percent * 0.4);
        percent.set(n, pct);
        lines.get(n)?.update(pct, progressText(p.stage, p.percent, p.metadata, p.text));
      }
    });
    try {
      await sub.ready;
    } catch {
      sub.close();
      sub = undefined;
    }
  }
  return {
    callback: (name) => (status, info) => {
      const line = lines.get(name);
      if (!line) return;
      if (status === 'provisioning error') return line.fail(info);
      if (status === 'running') return line.done(info);
      const pct = stagePercent(info);
      if (pct !== undefined) percent.set(name, Math.max(pct, percent.get(name) ?? 0));
      line.update(percent.get(name), info);
      return undefined;
    },
    line: (name) => {
      let l = lines.get(name);
      if (!l) {
        l = progress.line(name);
        lines.set(name, l);
      }
      return l;
    },
    close: () => {
      sub?.close();
      progress.close();
    },
  };
}
