/**
 * `lxdkit container create | list | destroy | profiles`: containers of one model (namespace),
 * through LxdManager (or KvmManager with --kvm).
 */
import { ConfigModelUUID } from '../../container/constants.js';
import { KvmManager } from '../../container/kvm/manager.js';
import { LxdManager } from '../../container/lxd/manager.js';
import type { Constraints, NetworkConfig } from '../../container/types.js';
import { isNotFound } from '../../lxd/errors.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode, exitCodeFor } from '../exit-codes.js';
import { trackCreation } from '../creation.js';
import { checkModel } from './container-list.js';

export interface CreateOptions {
  model: string;
  machine: string;
  series: string;
  profile?: string[];
  mem?: number;
  cores?: number;
  rootDisk?: number;
  bridge?: string;
  mtu?: number;
  kvm?: boolean;
}

function lxdManager(ctx: CliContext, model: string): LxdManager {
  // ensureDefaultBridgeIPv4: the CLI never gives a bridge an address.
  return new LxdManager({ [ConfigModelUUID]: checkModel(model) }, { client: ctx.client(), logger: ctx.logger, ensureDefaultBridgeIPv4: false });
}

export function kvmManager(ctx: CliContext, model: string): KvmManager {
  return new KvmManager({ [ConfigModelUUID]: checkModel(model) }, { logger: ctx.logger });
}

export async function containerCreate(ctx: CliContext, o: CreateOptions): Promise<void> {
  const manager = o.kvm ? kvmManager(ctx, o.model) : lxdManager(ctx, o.model);
  const name = manager.namespace().hostname(o.machine);
  if (o.mtu !== undefined && !o.bridge) throw new CliError(ExitCode.USAGE, '--mtu needs --bridge');
  const constraints: Constraints = { mem: o.mem, cores: o.cores, rootDisk: o.rootDisk };
  const profiles = o.profile?.length ? ['default', ...o.profile.filter((p) => p !== 'default')] : undefined;
  const network: NetworkConfig | undefined = o.bridge ? { networkType: 'bridge', device: o.bridge, mtu: o.mtu ?? 0, interfaces: [] } : undefined;
  const tracker = trackCreation(ctx.progress(), [name]);
  const call = { signal: ctx.signal, onProgress: tracker.onProgress(name) };
  let result;
  try {
    result = await manager.createContainer({ machineId: o.machine, profiles }, constraints, o.series, network, undefined, tracker.callback(name), call);
  } catch (err) {
    // Interrupted: the manager removes what the creation made; exit only once it has.
    if (ctx.signal.aborted && manager instanceof LxdManager) {
      ctx.note(`interrupted: removing what the creation of ${name} made`);
      await manager.settled();
    }
    throw err;
  } finally {
    tracker.close();
  }
  // In an LXD cluster: the member it landed on.
  const location = 'location' in result.instance && typeof result.instance.location === 'string' ? result.instance.location : undefined;
  const out = { name: result.instance.id, instance: String(result.instance), model: o.model, machine: o.machine, series: o.series, kind: o.kvm ? 'kvm' : 'lxd', profiles: profiles ?? ['default'], hardware: result.hardware, location };
  ctx.print(out, () => `created ${out.instance}${location ? ` on ${location}` : ''} (machine ${o.machine}, model ${o.model})\n`);
}

/** The manager for an existing LXD container: its model comes from `user.juju-model` (or --model). */
async function managerFor(ctx: CliContext, name: string, model: string | undefined, cache: Map<string, LxdManager>): Promise<LxdManager> {
  let uuid = model;
  if (uuid === undefined) {
    const { value } = await ctx.client().instances.get(name, { signal: ctx.signal });
    uuid = value.config['user.juju-model'];
    if (!uuid) throw new CliError(ExitCode.INVALID_INPUT, `container "${name}" was not created by a container manager (it has no user.juju-model); lxdkit leaves it alone (give --model UUID if it belongs to a model)`);
  }
  let mgr = cache.get(uuid);
  if (!mgr) {
    mgr = lxdManager(ctx, uuid);
    cache.set(uuid, mgr);
  }
  if (!name.startsWith(mgr.namespace().prefix())) throw new CliError(ExitCode.INVALID_INPUT, `container "${name}" is not in the namespace of model ${uuid} (${mgr.namespace().prefix()}…)`);
  return mgr;
}

export async function containerDestroy(ctx: CliContext, names: string[], o: { model?: string; kvm?: boolean }): Promise<number> {
  const cache = new Map<string, LxdManager>();
  const results: { name: string; destroyed: boolean; error?: string }[] = [];
  let code: number = ExitCode.OK;
  for (const name of names) {
    try {
      if (o.kvm) {
        if (!o.model) throw new CliError(ExitCode.USAGE, '--kvm needs --model UUID');
        await kvmManager(ctx, o.model).destroyContainer(name, { signal: ctx.signal });
      } else {
        await (await managerFor(ctx, name, o.model, cache)).destroyContainer(name, { signal: ctx.signal });
      }
      results.push({ name, destroyed: true });
      if (!ctx.json) ctx.io.stdout.write(`destroyed ${name}\n`);
    } catch (err) {
      const message = isNotFound(err) ? `container "${name}" not found` : (err as Error).message;
      results.push({ name, destroyed: false, error: message });
      if (code === ExitCode.OK) code = exitCodeFor(err);
      if (!ctx.json) ctx.io.stderr.write(`lxdkit: ${name}: ${message}\n`);
    }
  }
  if (ctx.json) ctx.print(results, () => '');
  return code;
}

export async function containerProfiles(ctx: CliContext, name: string, o: { model?: string; assign?: string[] }): Promise<void> {
  const mgr = await managerFor(ctx, name, o.model, new Map());
  const profiles = o.assign?.length ? await mgr.assignLXDProfiles(name, o.assign, [], { signal: ctx.signal }) : await mgr.lxdProfileNames(name, { signal: ctx.signal });
  ctx.print({ name, profiles }, () => `${profiles.join('\n')}\n`);
}
