/**
 * `lxdkit snapshot create|list|restore|delete <instance> [<snapshot>]`.
 */
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';

const NEVER = '0001-01-01T00:00:00Z';

/** `30m`, `12h`, `7d`, `2w` from now, or a date: when a snapshot expires. */
export function parseExpiry(v: string, now = Date.now()): Date {
  const m = /^(\d+)([mhdw])$/.exec(v);
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now + Number(m[1]) * unit);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new CliError(ExitCode.INVALID_INPUT, `--expiry ${v}: give a duration (30m, 12h, 7d, 2w) or a date (2030-01-31T12:00:00Z)`);
  return d;
}

export async function snapshotCreate(ctx: CliContext, instance: string, name: string | undefined, o: { expiry?: string; stateful?: boolean }): Promise<void> {
  const { client, name: inst } = ctx.instanceRef(instance);
  // the name the server picked when none was given (LXD 5.0.2's operation does not say it)
  const made = await client.instances.snapshots.take(
    inst,
    { name, expiresAt: o.expiry === undefined ? undefined : parseExpiry(o.expiry), stateful: o.stateful },
    { signal: ctx.signal },
  );
  if (made === undefined) {
    ctx.note(`the snapshot of ${instance} was taken, but other snapshots of it appeared or went meanwhile, so its name is not known: see lxdkit snapshot list ${instance}`);
  }
  ctx.print({ instance, snapshot: made ?? null }, () => (made === undefined ? `created a snapshot of ${instance}\n` : `created snapshot ${made} of ${instance}\n`));
}

export async function snapshotList(ctx: CliContext, instance: string): Promise<void> {
  const ref = ctx.instanceRef(instance);
  const snaps = await ref.client.instances.snapshots.list(ref.name, { signal: ctx.signal });
  const rows = snaps.map((s) => ({ name: s.name, createdAt: s.created_at ?? '', expiresAt: s.expires_at && s.expires_at !== NEVER ? s.expires_at : null, stateful: s.stateful }));
  ctx.print(rows, () =>
    renderTable(rows, [
      { header: 'name', value: (r) => r.name },
      { header: 'taken at', value: (r) => r.createdAt.replace(/\.\d+Z$/, 'Z') },
      { header: 'expires at', value: (r) => r.expiresAt?.replace(/\.\d+Z$/, 'Z') ?? 'never' },
      { header: 'stateful', value: (r) => (r.stateful ? 'yes' : 'no') },
    ]),
  );
}

export async function snapshotRestore(ctx: CliContext, instance: string, name: string | undefined, o: { stateful?: boolean }): Promise<void> {
  if (!name) throw new CliError(ExitCode.USAGE, 'give the snapshot to restore: lxdkit snapshot restore <instance> <snapshot>');
  const ref = ctx.instanceRef(instance);
  await (await ref.client.instances.snapshots.restore(ref.name, name, { signal: ctx.signal, stateful: o.stateful })).wait({ signal: ctx.signal });
  ctx.print({ instance, restored: name }, () => `restored ${instance} to ${name}\n`);
}

export async function snapshotDelete(ctx: CliContext, instance: string, name: string | undefined): Promise<void> {
  if (!name) throw new CliError(ExitCode.USAGE, 'give the snapshot to delete: lxdkit snapshot delete <instance> <snapshot>');
  const ref = ctx.instanceRef(instance);
  await (await ref.client.instances.snapshots.delete(ref.name, name, { signal: ctx.signal })).wait({ signal: ctx.signal });
  ctx.print({ instance, deleted: name }, () => `deleted snapshot ${name} of ${instance}\n`);
}
