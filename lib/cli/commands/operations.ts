/**
 * `lxdkit operations`: LXD's running operations (and those that finished in the last seconds).
 */
import type { CliContext } from '../context.js';
import { renderTable } from '../output.js';

export async function operationsCommand(ctx: CliContext, o: { allProjects?: boolean }): Promise<void> {
  const ops = await ctx.client().operations.list({ signal: ctx.signal, allProjects: o.allProjects });
  const rows = ops.map((op) => ({
    id: op.id,
    class: op.class,
    status: op.status,
    description: op.description,
    created: op.created_at ?? '',
    mayCancel: op.may_cancel,
    resources: Object.values(op.resources ?? {}).flatMap((v) => v ?? []),
    err: op.err,
  }));
  ctx.print(rows, () =>
    renderTable(rows, [
      { header: 'id', value: (r) => r.id },
      { header: 'class', value: (r) => r.class },
      { header: 'status', value: (r) => r.status },
      { header: 'description', value: (r) => r.description },
      { header: 'cancel', value: (r) => (r.mayCancel ? 'yes' : 'no') },
      { header: 'created', value: (r) => r.created.replace(/\.\d+/, '') },
    ]),
  );
}
