/**
 * Bringing LXD's profiles in line with profile files: a plan (create / update / unchanged, and
 * delete with prune), applied with ETags so that a profile changed by someone else in between is
 * never overwritten; and a readable diff.
 */
import { isNotFound, isPreconditionFailed } from '../lxd/errors.js';
import { isRedactedKey, isSecretText, REDACTED } from '../logger.js';
import type { LxdClient } from '../lxd/client.js';
import type { LxdProfile } from '../lxd/schemas.js';
import { change, profileChanges, type FieldChange } from '../changes.js';

export { profileChanges, type FieldChange } from '../changes.js';
import { CliError, ExitCode } from './exit-codes.js';
import { lineDiff } from './line-diff.js';
import { profileYaml, type ProfileDoc } from './profile-files.js';

export { lineDiff } from './line-diff.js';

export type PlanAction = 'create' | 'update' | 'unchanged' | 'delete' | 'keep';

export interface PlanItem {
  name: string;
  action: PlanAction;
  /** The file the profile comes from (absent for prune deletions). */
  file?: string;
  changes: FieldChange[];
  /** Why a profile that prune would delete is kept. */
  reason?: string;
  /** What LXD has now (absent for creations). */
  current?: LxdProfile;
  etag?: string | undefined;
  desired?: ProfileDoc;
}

export interface PlanOptions {
  /** Delete profiles that no file defines (never `default`, never one in use). */
  prune?: boolean;
  /** With prune: only consider profiles whose name starts with this. */
  prunePrefix?: string;
  signal?: AbortSignal;
}

/** Reads what LXD has and decides what to do with each profile. No changes are made. */
export async function planProfiles(client: LxdClient, docs: readonly ProfileDoc[], opts: PlanOptions = {}): Promise<PlanItem[]> {
  const call = { signal: opts.signal };
  const plan: PlanItem[] = [];
  for (const doc of docs) {
    let got;
    try {
      got = await client.profiles.get(doc.name, call);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      plan.push({ name: doc.name, action: 'create', file: doc.file, changes: profileChanges({ description: '', config: {}, devices: {} }, doc), desired: doc });
      continue;
    }
    const changes = profileChanges(got.value, doc);
    plan.push({ name: doc.name, action: changes.length ? 'update' : 'unchanged', file: doc.file, changes, current: got.value, etag: got.etag, desired: doc });
  }
  if (opts.prune) {
    const wanted = new Set(docs.map((d) => d.name));
    for (const p of await client.profiles.list(call)) {
      if (wanted.has(p.name) || p.name === 'default') continue;
      if (opts.prunePrefix !== undefined && !p.name.startsWith(opts.prunePrefix)) continue;
      const changes = profileChanges(p, { description: '', config: {}, devices: {} });
      if (p.used_by.length > 0) plan.push({ name: p.name, action: 'keep', changes: [], reason: `in use by ${p.used_by.length} (${p.used_by.slice(0, 3).join(', ')}${p.used_by.length > 3 ? ', …' : ''})`, current: p });
      else plan.push({ name: p.name, action: 'delete', changes, current: p });
    }
  }
  return plan;
}

export type AppliedResult = 'created' | 'updated' | 'unchanged' | 'deleted' | 'kept';

const PAST: Record<PlanAction, AppliedResult> = { create: 'created', update: 'updated', unchanged: 'unchanged', delete: 'deleted', keep: 'kept' };

/** The word a result is reported with. */
export function resultOf(action: PlanAction): AppliedResult {
  return PAST[action];
}

/**
 * Carries out a plan: creates, updates (with the ETag read when planning: a profile changed in
 * between fails with exit code 5 and is not overwritten) and deletes. Calls `onDone` after each.
 */
export async function applyPlan(client: LxdClient, plan: readonly PlanItem[], opts: { signal?: AbortSignal; onDone?: (item: PlanItem) => void } = {}): Promise<void> {
  const call = { signal: opts.signal };
  for (const item of plan) {
    const d = item.desired;
    try {
      if (item.action === 'create' && d) {
        await client.profiles.create({ name: d.name, description: d.description, config: d.config, devices: d.devices }, call);
      } else if (item.action === 'update' && d) {
        await client.profiles.update(d.name, { description: d.description, config: d.config, devices: d.devices }, { ...call, etag: item.etag });
      } else if (item.action === 'delete') {
        await client.profiles.delete(item.name, call);
      }
    } catch (err) {
      if (isPreconditionFailed(err)) {
        throw new CliError(ExitCode.CONFLICT, `profile "${item.name}" was changed by someone else while lxdkit was applying it; nothing was overwritten, run the command again`, { cause: err });
      }
      throw new CliError(
        ExitCode.LXD_FAILED,
        `profile "${item.name}"${item.file ? ` (${item.file})` : ''}: LXD refused to ${item.action} it: ${(err as Error).message}`,
        { cause: err },
      );
    }
    opts.onDone?.(item);
  }
}

/** What a secret value that changed is shown as on the file's side of a masked diff. */
export const REDACTED_CHANGED = '[redacted, changed]';

/** True when the value under this config key or device field is masked: the rule of log lines (`user.*`, `cloud-init.*`, `environment.*`, `password`, ...). */
function secretValue(key: string, value: string): boolean {
  return isRedactedKey(key) || isSecretText(value);
}

/**
 * A config map (or a device) with secret values masked. With `compareTo`, a masked value that differs
 * from the one there (or is not there) is shown as `[redacted, changed]`, so that a diff of two masked
 * maps still shows which secret changed, and never its value.
 */
export function maskValues(map: Readonly<Record<string, string>>, compareTo?: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    const masked = !secretValue(k, v) ? v : compareTo && Object.hasOwn(compareTo, k) && compareTo[k] !== v ? REDACTED_CHANGED : REDACTED;
    Object.defineProperty(out, k, { value: masked, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function maskDevices(devices: Readonly<Record<string, Record<string, string>>>, compareTo?: Readonly<Record<string, Record<string, string>>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [name, d] of Object.entries(devices)) {
    Object.defineProperty(out, name, { value: maskValues(d, compareTo && Object.hasOwn(compareTo, name) ? compareTo[name] : undefined), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Whether the string value of a change at `path` is a secret: a config key by the rule, or a device
 * field (device names may hold dots: any tail of the path that is a secret key counts), or a PEM key.
 */
function secretAt(path: string, value: string): boolean {
  if (isSecretText(value)) return true;
  if (path.startsWith('config.')) return isRedactedKey(path.slice('config.'.length));
  if (!path.startsWith('devices.')) return false;
  const parts = path.split('.');
  for (let i = 2; i < parts.length; i++) if (isRedactedKey(parts.slice(i).join('.'))) return true;
  return false;
}

/** A field change with its secret values masked (`from`/`to` of a secret key, the secret fields of a whole device). */
export function maskChange(c: FieldChange): FieldChange {
  const one = (v: string | Record<string, string> | undefined): string | Record<string, string> | undefined =>
    v === undefined ? undefined : typeof v === 'string' ? (secretAt(c.path, v) ? REDACTED : v) : maskValues(v);
  return change(c.path, one(c.from), one(c.to));
}

/**
 * A unified diff (`-` LXD now, `+` the file) of one plan item, in `lxc profile show` form; '' when
 * unchanged. Unless `showSecrets`, the values of secret keys (`user.*`, `cloud-init.*`,
 * `environment.*`, ... as in log lines) are masked: `[redacted]`, or `[redacted, changed]` on the
 * file's side when the value differs from LXD's.
 */
export function renderDiff(item: PlanItem, opts: { showSecrets?: boolean } = {}): string {
  if (item.action === 'unchanged' || item.action === 'keep') return '';
  const empty = { description: '', config: {}, devices: {} };
  const show = opts.showSecrets === true;
  const cur = item.current;
  const want = item.desired ? { ...empty, ...item.desired } : undefined;
  const before = cur
    ? profileYaml({ name: item.name, description: cur.description, config: show ? cur.config : maskValues(cur.config), devices: show ? cur.devices : maskDevices(cur.devices) })
    : '';
  const after = want
    ? profileYaml(show ? want : { ...want, config: maskValues(want.config, cur?.config ?? {}), devices: maskDevices(want.devices, cur?.devices ?? {}) })
    : '';
  const header = `--- lxd: profile ${item.name}${item.current ? '' : ' (absent)'}\n+++ ${item.file ?? `(no file: deleted by --prune)`}\n`;
  return header + lineDiff(before, after);
}
