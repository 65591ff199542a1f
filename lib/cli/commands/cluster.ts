/**
 * `lxdkit cluster members`: the members of an LXD cluster and their state.
 */
import type { LxdClient } from '../../lxd/client.js';
import type { LxdClusterMember } from '../../lxd/resources/cluster.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';

export type ClusterMembersOptions = Record<string, never>;

/** One member as `lxdkit cluster members --json` (and `lxdkit status --json`) give it. */
export interface MemberReport {
  name: string;
  /** LXD's word: `Online`, `Offline`, `Evacuated`, ... */
  status: string;
  url: string;
  message: string;
  roles: string[];
  groups: string[];
  failureDomain: string;
  architecture: string;
  description: string;
  database: boolean;
}

export function memberReport(m: LxdClusterMember): MemberReport {
  return {
    name: m.server_name,
    status: m.status,
    url: m.url,
    message: m.message,
    roles: [...m.roles],
    groups: [...m.groups],
    failureDomain: m.failure_domain,
    architecture: m.architecture,
    description: m.description,
    database: m.database,
  };
}

/** The members table (shared with `lxdkit status`, which adds each member's instance count). */
export function renderMembers(members: readonly (MemberReport & { instances?: number })[]): string {
  const counted = members.some((m) => m.instances !== undefined);
  return renderTable(members, [
    { header: 'name', value: (m) => m.name },
    { header: 'status', value: (m) => m.status },
    { header: 'url', value: (m) => m.url },
    { header: 'roles', value: (m) => m.roles.join(',') },
    { header: 'groups', value: (m) => m.groups.join(',') },
    ...(counted ? [{ header: 'instances', value: (m: MemberReport & { instances?: number }) => m.instances ?? 0, right: true }] : []),
    { header: 'message', value: (m) => m.message },
  ]);
}

/** The cluster's members; a server that is not clustered is an error (exit 4). */
export async function clusterMembersOf(client: LxdClient, signal: AbortSignal): Promise<MemberReport[]> {
  const info = await client.server.info({ signal });
  if (info.environment?.server_clustered !== true) {
    throw new CliError(ExitCode.NOT_FOUND, `${client.endpoint} is not a member of an LXD cluster (its server_clustered is false)`);
  }
  return (await client.cluster.members.list({ signal })).map(memberReport);
}

export async function clusterMembers(ctx: CliContext, _o: ClusterMembersOptions): Promise<void> {
  const members = await clusterMembersOf(ctx.client(), ctx.signal);
  ctx.print(members, () => renderMembers(members));
}
