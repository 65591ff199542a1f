/**
 * Progress of container creation on a terminal, fed by the manager itself: its `onProgress` hook moves
 * the bar through the stages (and through LXD's download and unpack progress within them), its status
 * callback ends the line.
 */
import type { CreationProgress, CreationStage } from '../container/progress.js';
import type { StatusCallback } from '../container/types.js';
import type { Progress, ProgressLine } from './progress.js';

/** The part of the bar each stage fills; LXD's progress within a stage moves the bar across its part. */
const STAGE_SPAN: Readonly<Record<CreationStage, readonly [from: number, to: number]>> = {
  spec: [0, 5],
  image: [5, 45],
  create: [45, 90],
  start: [90, 99],
  started: [100, 100],
};

/** `unpacking image 45% (12.3 MiB/s)` for LXD's progress; the manager's own text otherwise. */
export function progressText(p: CreationProgress): string {
  if (!p.operation) return p.text;
  const what = p.stage === 'image' ? 'downloading image' : /unpack/.test(p.operation.stage) ? 'unpacking image' : undefined;
  if (!what) return p.text;
  const raw = Object.values(p.operation.metadata).find((v): v is { speed?: unknown } => typeof v === 'object' && v !== null && 'speed' in v)?.speed;
  const speed = Number(raw);
  const rate = Number.isFinite(speed) && speed > 0 ? ` (${(speed / 1048576).toFixed(1)} MiB/s)` : '';
  return `${what}${p.percent !== undefined ? ` ${Math.round(p.percent)}%` : ''}${rate}`;
}

export interface CreationTracker {
  /** The status callback for `createContainer` of the container `name`: it ends the line. */
  callback(name: string): StatusCallback;
  /** The `onProgress` hook for `createContainer` of the container `name`: it moves the bar. */
  onProgress(name: string): (p: CreationProgress) => void;
  close(): void;
}

/** Tracks the creation of `names`. With progress disabled (not a terminal) it prints nothing. */
export function trackCreation(progress: Progress, names: readonly string[]): CreationTracker {
  const lines = new Map<string, { line: ProgressLine; percent: number | undefined }>();
  for (const n of names) lines.set(n, { line: progress.line(n), percent: 0 });
  return {
    callback: (name) => (status, info) => {
      const l = lines.get(name);
      if (status === 'provisioning error') l?.line.fail(info);
      else if (status === 'running') l?.line.done(info);
      return undefined;
    },
    onProgress: (name) => (p) => {
      const l = lines.get(name);
      if (!l) return;
      const [from, to] = STAGE_SPAN[p.stage];
      const percent = from + ((to - from) * (p.percent ?? 0)) / 100;
      // Stages only move forward; LXD's progress within a stage may repeat itself.
      l.percent = Math.max(l.percent ?? 0, percent);
      l.line.update(l.percent, progressText(p));
    },
    close: () => progress.close(),
  };
}
