/**
 * `lxdkit status`: the server, its API extensions, storage pools, networks and instance counts.
 */
import type { ServerKind } from '../../lxd/socket.js';
import type { CliContext } from '../context.js';
import { renderFields, renderTable } from '../output.js';
import { memberReport, renderMembers, type MemberReport } from './cluster.js';

export interface StatusReport {
  endpoint: string;
  project: string;
  server: {
    /** Which daemon it is, by its own word (`environment.server`): `lxd` or `incus`. */
    kind: ServerKind;
    name: string | undefined;
    version: string | undefined;
    apiVersion: string;
    apiStatus: string;
    auth: string;
    driver: string | undefined;
    kernel: string | undefined;
    architectures: string[];
    extensions: string[];
  };
  pools: { name: string; driver: string; status: string; usedBy: number }[];
  networks: { name: string; type: string; managed: boolean; status: string; ipv4: string; ipv6: string; usedBy: number }[];
  instances: { total: number; byStatus: Record<string, number>; byType: Record<string, number> };
  /** Only when the server is a cluster member: every member, its state and how many instances it has. */
  cluster?: { members: (MemberReport & { instances: number })[] };
}

export async function statusCommand(ctx: CliContext, opts: { extensions?: boolean }): Promise<void> {
  const client = ctx.client();
  const call = { signal: ctx.signal };
  const [{ value: server }, pools, networks, instances] = await Promise.all([
    client.server.get(call),
    client.storagePools.list(call),
    client.networks.list(call),
    client.instances.list({ recursion: 1, ...call }),
  ]);
  const count = (keys: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of keys) out[k] = (out[k] ?? 0) + 1;
    return out;
  };
  const kind = await client.serverKind(call);
  const env = server.environment;
  const members = env?.server_clustered === true ? await client.cluster.members.list(call) : undefined;
  const report: StatusReport = {
    endpoint: client.endpoint,
    project: client.project ?? 'default',
    server: {
      kind,
      name: env?.server_name,
      version: env?.server_version,
      apiVersion: server.api_version,
      apiStatus: server.api_status,
      auth: server.auth,
      driver: env?.driver,
      kernel: env?.kernel_version,
      architectures: env?.architectures ?? [],
      extensions: [...server.api_extensions],
    },
    pools: pools.map((p) => ({ name: p.name, driver: p.driver, status: p.status, usedBy: p.used_by.length })),
    networks: networks.map((n) => ({
      name: n.name,
      type: n.type,
      managed: n.managed,
      status: n.status,
      ipv4: n.config['ipv4.address'] ?? '',
      ipv6: n.config['ipv6.address'] ?? '',
      usedBy: n.used_by.length,
    })),
    instances: { total: instances.length, byStatus: count(instances.map((i) => i.status)), byType: count(instances.map((i) => i.type)) },
  };
  if (members) {
    const byMember = count(instances.map((i) => i.location ?? ''));
    report.cluster = { members: members.map((m) => ({ ...memberReport(m), instances: byMember[m.server_name] ?? 0 })) };
  }
  ctx.print(report, () => {
    const s = report.server;
    const counts = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(', ') || 'none';
    let text = renderFields([
      [s.kind === 'incus' ? 'Incus' : 'LXD', `${s.version ?? '?'} (API ${s.apiVersion}, ${s.apiStatus})`],
      ['endpoint', report.endpoint],
      ['project', report.project],
      ['server', s.name],
      ['auth', s.auth],
      ['storage driver', s.driver],
      ['kernel', s.kernel],
      ['architectures', s.architectures.join(', ')],
      ['extensions', `${s.extensions.length}${opts.extensions ? '' : ' (list them with --extensions)'}`],
      ['instances', report.instances.total === 0 ? '0' : `${report.instances.total} (${counts(report.instances.byStatus)}; ${counts(report.instances.byType)})`],
    ]);
    if (opts.extensions) text += `\nAPI extensions:\n${s.extensions.map((e) => `  ${e}`).join('\n')}\n`;
    if (report.cluster) text += `\nCluster members:\n${renderMembers(report.cluster.members)}`;
    text += `\nStorage pools:\n${renderTable(report.pools, [
      { header: 'name', value: (p) => p.name },
      { header: 'driver', value: (p) => p.driver },
      { header: 'status', value: (p) => p.status },
      { header: 'used by', value: (p) => p.usedBy, right: true },
    ])}`;
    text += `\nNetworks:\n${renderTable(report.networks, [
      { header: 'name', value: (n) => n.name },
      { header: 'type', value: (n) => n.type },
      { header: 'managed', value: (n) => (n.managed ? 'yes' : 'no') },
      { header: 'ipv4', value: (n) => n.ipv4 },
      { header: 'ipv6', value: (n) => n.ipv6 },
      { header: 'used by', value: (n) => n.usedBy, right: true },
    ])}`;
    return text;
  });
}
