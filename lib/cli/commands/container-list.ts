/**
 * `lxdkit container list`: the containers of one model (namespace), in one listing of LXD's
 * instances; with --kvm, KvmManager's. Apart from container.ts, so that a list does not load the
 * managers that create and destroy.
 */
import { memberOf } from '../../container/lxd/placement.js';
import { Namespace, isValidModelUUID } from '../../container/namespace.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';

/** `--model`, checked to be a model UUID before any request. */
export function checkModel(model: string): string {
  if (!isValidModelUUID(model)) throw new CliError(ExitCode.INVALID_INPUT, `--model: "${model}" is not a model UUID (e.g. ${'f47ac10b-58cc-4372-a567-0e02b2c3d479'})`);
  return model;
}

export async function containerList(ctx: CliContext, o: { model: string; kvm?: boolean }): Promise<void> {
  const model = checkModel(o.model);
  if (o.kvm) {
    const { kvmManager } = await import('./container.js');
    const instances = await kvmManager(ctx, model).listContainers({ signal: ctx.signal });
    const rows = await Promise.all(instances.map(async (i) => ({ name: i.id, status: (await i.status()).message, type: 'kvm', profiles: [] as string[], created: '' })));
    ctx.print(rows, () => renderTable(rows, [{ header: 'name', value: (r) => r.name }, { header: 'status', value: (r) => r.status }]));
    return;
  }
  // one listing, filtered as LxdManager.listContainers() filters it (the model's containers, by the
  // prefix of its namespace), and kept whole: the table needs more of each instance than the
  // manager's list gives. No manager is made: loading the container managers (KVM's included) cost
  // a list ~15 ms before its request.
  const ns = new Namespace(model);
  const prefix = ns.prefix();
  const all = await ctx.client().instances.list({ recursion: 1, signal: ctx.signal });
  const rows = all
    .filter((i) => i.type === 'container' && i.name.startsWith(prefix))
    .map((i) => ({ name: i.name, status: i.status, type: i.type, profiles: i.profiles, created: i.created_at ?? '', machine: safeMachine(ns, i.name), location: memberOf(i.location) }));
  const clustered = rows.some((r) => r.location !== undefined);
  ctx.print(rows, () =>
    renderTable(rows, [
      { header: 'name', value: (r) => r.name },
      { header: 'machine', value: (r) => r.machine },
      { header: 'status', value: (r) => r.status },
      ...(clustered ? [{ header: 'member', value: (r: (typeof rows)[number]) => r.location }] : []),
      { header: 'profiles', value: (r) => r.profiles.join(',') },
      { header: 'created', value: (r) => r.created.replace(/\.\d+/, '') },
    ]),
  );
}

function safeMachine(ns: Namespace, name: string): string {
  try {
    return ns.machineTag(name).id;
  } catch {
    return '';
  }
}
