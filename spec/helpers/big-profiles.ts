/**
 * Two large profiles in `lxc profile show` form that differ in scattered places, for the diff's
 * memory and time specs (and the bench case). Deterministic: the same arguments give the same texts.
 */
import { profileYaml } from '../../lib/cli/profile-files.js';

export interface BigProfiles {
  before: string;
  after: string;
  /** The lines only in `before` and only in `after`, in order. */
  removed: string[];
  added: string[];
}

/** About `lines` lines each; every `every`-th key changes value, is removed, or gets a new key after it. */
export function bigProfiles(lines = 25_000, every = 997): BigProfiles {
  const keys = lines - 4; // the others: config:, description, devices, name
  const current: Record<string, string> = {};
  const desired: Record<string, string> = {};
  const removed: string[] = [];
  const added: string[] = [];
  for (let i = 0; i < keys; i++) {
    const key = `user.k${String(i).padStart(6, '0')}`;
    current[key] = `v${i}`;
    const kind = i % every === 0 ? (i / every) % 3 : -1;
    if (kind === 0) {
      desired[key] = `w${i}`;
      removed.push(`  ${key}: v${i}`);
      added.push(`  ${key}: w${i}`);
    } else if (kind === 1) {
      removed.push(`  ${key}: v${i}`);
    } else {
      desired[key] = `v${i}`;
      if (kind === 2) {
        desired[`${key}x`] = 'new';
        added.push(`  ${key}x: new`);
      }
    }
  }
  const show = (config: Record<string, string>) => profileYaml({ name: 'big', description: 'big', config, devices: {} });
  return { before: show(current), after: show(desired), removed, added };
}
