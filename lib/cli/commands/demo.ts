/**
 * `lxdkit demo`: the whole mission in one command. A new model (random UUID) gets three containers
 * through LxdManager, created side by side with progress, on an address-less bridge; they are
 * listed, a profile is assigned to the first, and all are destroyed. The image for the demo series
 * is found, as Juju finds it, through the local alias `juju/<series>/<arch>`, which the demo points
 * at a small local image and removes again if it created it.
 */
import { randomUUID } from 'node:crypto';
import { hostArch } from '../../container/arch.js';
import { ConfigAvailabilityZone, ConfigModelUUID } from '../../container/constants.js';
import { localImageAlias } from '../../container/lxd/image.js';
import { LxdManager } from '../../container/lxd/manager.js';
import type { NetworkConfig } from '../../container/types.js';
import { isNotFound } from '../../lxd/errors.js';
import type { ServerKind } from '../../lxd/socket.js';
import { lxdPath } from '../../lxd/path.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';
import { trackCreation } from '../creation.js';

export interface DemoOptions {
  /** Default: the test bridge of the server's kind (`defaultDemoBridge`), or with `cluster` the test cluster's `lxdkitcbr0` (scripts/cluster.sh). */
  bridge?: string;
  /** Spread the containers over the cluster's members: one manager per member, its availability zone. */
  cluster?: boolean;
  image: string;
  series: string;
  profile: string;
  count: number;
}

/**
 * The address-less bridge `scripts/provision-host.sh` makes on each server: `lxdkitbr0` on LXD,
 * `lxdkitbr1` on Incus (two daemons cannot manage one bridge), or `$LXDKIT_TEST_BRIDGE` /
 * `$LXDKIT_TEST_BRIDGE_INCUS`.
 */
export function defaultDemoBridge(kind: ServerKind, env: Readonly<Record<string, string | undefined>>): string {
  return kind === 'incus' ? env['LXDKIT_TEST_BRIDGE_INCUS'] || 'lxdkitbr1' : env['LXDKIT_TEST_BRIDGE'] || 'lxdkitbr0';
}

interface Step {
  step: string;
  ms: number;
}

/** The bridge the test cluster (scripts/cluster.sh) puts its containers on. */
const CLUSTER_BRIDGE = 'lxdkitcbr0';

export async function demoCommand(ctx: CliContext, opts: DemoOptions): Promise<void> {
  const client = ctx.client();
  const call = { signal: ctx.signal };
  const kind = await client.serverKind(call);
  const bridge = opts.bridge ?? (opts.cluster ? CLUSTER_BRIDGE : defaultDemoBridge(kind, ctx.io.env));
  const o = { ...opts, bridge };
  const started = Date.now();
  const steps: Step[] = [];
  const say = (text: string): void => {
    if (!ctx.json) ctx.io.stdout.write(`${text}\n`);
  };
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const r = await fn();
    steps.push({ step, ms: Date.now() - t });
    return r;
  };

  // Safety and prerequisites, before anything changes.
  let net;
  try {
    net = (await client.networks.get(bridge, call)).value;
  } catch (err) {
    if (isNotFound(err)) throw new CliError(ExitCode.NOT_FOUND, `bridge ${bridge} does not exist: run scripts/provision-host.sh (it creates it without addresses) or give --bridge`, { cause: err });
    throw err;
  }
  for (const key of ['ipv4.address', 'ipv6.address']) {
    const v = net.config[key];
    if (v !== undefined && v !== 'none') throw new CliError(ExitCode.INVALID_INPUT, `bridge ${bridge} has ${key}=${v}; the demo only uses bridges without addresses`);
  }
  // A bridge LXD does not manage (the test cluster's) has no config to read: look at the interface itself.
  if (await client.server.hasExtension('network_state', call)) {
    const netState = (await client.query('GET', lxdPath`/1.0/networks/${bridge}/state`, call)).metadata as { addresses?: { address?: string; scope?: string }[] | null } | null;
    const addressed = (netState?.addresses ?? []).filter((a) => a.scope !== 'link');
    if (addressed.length > 0) throw new CliError(ExitCode.INVALID_INPUT, `bridge ${bridge} has addresses (${addressed.map((a) => a.address).join(', ')}); the demo only uses bridges without addresses`);
  } else if (!net.managed) {
    throw new CliError(ExitCode.INVALID_INPUT, `bridge ${bridge} is not managed by LXD and this LXD cannot report its addresses (no network_state extension); the demo only uses bridges it knows have none`);
  }
  // --cluster: one manager per member that is online, its availability zone the member's name.
  let zones: string[] = [];
  if (o.cluster) {
    if ((await client.server.info(call)).environment?.server_clustered !== true) throw new CliError(ExitCode.INVALID_INPUT, `--cluster: ${client.endpoint} is not a member of an LXD cluster`);
    zones = (await client.cluster.members.list(call)).filter((m) => m.status === 'Online').map((m) => m.server_name);
    if (zones.length === 0) throw new CliError(ExitCode.UNAVAILABLE, '--cluster: no cluster member is online');
  }
  let target: string;
  try {
    target = (await client.images.getAlias(o.image, call)).value.target;
  } catch (err) {
    if (isNotFound(err)) throw new CliError(ExitCode.NOT_FOUND, `image ${o.image} does not exist: run scripts/provision-host.sh (it imports lxdkit/busybox) or give --image`, { cause: err });
    throw err;
  }
  let profileExists = true;
  try {
    await client.profiles.get(o.profile, call);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    profileExists = false;
  }

  const model = randomUUID();
  const manager = new LxdManager({ [ConfigModelUUID]: model }, { client, logger: ctx.logger, ensureDefaultBridgeIPv4: false });
  // Juju's LXD provider treats zones as cluster members: the manager of zone m2 creates on m2.
  const zoned = zones.map((zone) => new LxdManager({ [ConfigModelUUID]: model, [ConfigAvailabilityZone]: zone }, { client, logger: ctx.logger, ensureDefaultBridgeIPv4: false }));
  const managerFor = (i: number): LxdManager => zoned[i % zoned.length] ?? manager;
  const ns = manager.namespace();
  const alias = localImageAlias(o.series, hostArch());
  const machines = Array.from({ length: o.count }, (_, i) => String(i));
  const names = machines.map((m) => ns.hostname(m));
  const version = (await client.server.info(call)).environment?.server_version ?? '?';
  say(`${kind === 'incus' ? 'Incus' : 'LXD'} ${version} at ${client.endpoint}${client.project ? `, project ${client.project}` : ''}`);
  say(`model ${model}: namespace ${ns.prefix()}*, bridge ${bridge} (no addresses), image ${alias} -> ${o.image}`);
  if (o.cluster) say(`cluster members (availability zones): ${zones.join(', ')}`);

  let aliasCreated = false;
  const created: string[] = [];
  let listed: { name: string; status: string; profiles: string[]; location: string | undefined }[] = [];
  const landed: Record<string, string> = {};
  let assigned: string[] = [];
  let destroyed: string[] = [];
  try {
    await timed('image alias', async () => {
      try {
        await client.images.getAlias(alias, call);
        say(`image alias ${alias} exists; using it`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await client.images.createAlias({ name: alias, target, description: 'lxdkit demo (removed at the end)' }, call);
        aliasCreated = true;
      }
    });

    say(`creating ${names.length} containers`);
    const network: NetworkConfig = { networkType: 'bridge', device: bridge, mtu: 0, interfaces: [] };
    await timed('create', async () => {
      const tracker = trackCreation(ctx.progress(), names);
      try {
        const results = await Promise.allSettled(
          machines.map(async (m, i) => {
            const name = names[i]!;
            const r = await managerFor(i).createContainer({ machineId: m }, {}, o.series, network, undefined, tracker.callback(name), { ...call, onProgress: tracker.onProgress(name) });
            created.push(r.instance.id);
            if (r.instance.location !== undefined) landed[r.instance.id] = r.instance.location;
            return r;
          }),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        tracker.close();
      }
    });
    if (!ctx.progress().enabled) for (const n of created) say(`  created ${n}${landed[n] ? ` on ${landed[n]}` : ''}`);

    await timed('list', async () => {
      const mine = new Map((await manager.listContainers(call)).map((i) => [i.id, i.location]));
      listed = (await client.instances.list({ recursion: 1, ...call })).filter((i) => mine.has(i.name)).map((i) => ({ name: i.name, status: i.status, profiles: [...i.profiles], location: mine.get(i.name) }));
    });
    say(`\ncontainer list --model ${model}:`);
    say(
      renderTable(listed, [
        { header: 'name', value: (r) => r.name },
        { header: 'status', value: (r) => r.status },
        ...(o.cluster ? [{ header: 'member', value: (r: (typeof listed)[number]) => r.location }] : []),
        { header: 'profiles', value: (r) => r.profiles.join(',') },
      ]).trimEnd(),
    );

    const first = names[0]!;
    if (profileExists) {
      assigned = await timed('assign profile', () => manager.assignLXDProfiles(first, ['default', o.profile], [], call));
      say(`\nprofiles of ${first} after assigning ${o.profile}: ${assigned.join(', ')}`);
    } else {
      say(`\nprofile ${o.profile} does not exist (run: lxdkit profile apply profiles/); not assigning it`);
    }
  } finally {
    const t = Date.now();
    const toRemove = [...created];
    // a container whose creation was interrupted may exist without being reported
    for (const n of names) if (!toRemove.includes(n)) toRemove.push(n);
    destroyed = [];
    for (const n of toRemove) {
      try {
        await manager.destroyContainer(n);
        destroyed.push(n);
      } catch (err) {
        if (created.includes(n)) ctx.io.stderr.write(`lxdkit: could not destroy ${n}: ${(err as Error).message}\n`);
      }
    }
    // creations that were interrupted are being removed by the manager itself
    await manager.settled();
    if (aliasCreated) await client.images.deleteAlias(alias).catch((err: Error) => ctx.io.stderr.write(`lxdkit: could not remove alias ${alias}: ${err.message}\n`));
    steps.push({ step: 'destroy', ms: Date.now() - t });
  }
  say(`\ndestroyed ${destroyed.join(', ')}${aliasCreated ? `; removed alias ${alias}` : ''}`);
  const total = Date.now() - started;
  created.sort();
  destroyed.sort();
  const summary = { server: kind, project: client.project ?? 'default', model, namespace: ns.prefix(), bridge, image: o.image, alias, aliasCreated, created, zones: o.cluster ? zones : undefined, landed: o.cluster ? landed : undefined, listed, profile: profileExists ? o.profile : null, assigned, destroyed, steps, totalMs: total };
  if (ctx.json) {
    ctx.print(summary, () => '');
    return;
  }
  const sec = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
  say(`\nsummary: ${created.length} created, ${listed.length} listed, ${assigned.length ? `profile ${o.profile} assigned to ${names[0]}` : 'no profile assigned'}, ${destroyed.length} destroyed in ${sec(total)}`);
  say(`  ${steps.map((s) => `${s.step} ${sec(s.ms)}`).join(', ')}`);
}
