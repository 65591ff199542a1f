/** What a benchmark case reports. */

export type Metric = 'wall' | 'cpu' | 'rss' | 'delay' | 'instructions';

export interface Sample {
  /** e.g. `sequential`, `8 at a time`; rows with the same variant are compared with each other. */
  variant: string;
  /** `lxdkit` or the peer's name. */
  contender: string;
  metric: Metric;
  unit: 'ms' | 'MiB' | 'k';
  /** One value per measured run (or per operation for delays). */
  values: number[];
  /** What exactly was measured, for the table. */
  how?: string;
}

export interface Check {
  target: string;
  met: boolean;
  detail: string;
}

export interface CaseResult {
  id: string;
  title: string;
  samples: Sample[];
  checks: Check[];
  notes: string[];
  error?: string;
}

export const LXDKIT = 'lxdkit';
