/**
 * `lxdkit copy SRC DST` and `lxdkit move SRC DST`, as `lxc copy` and `lxc move`: on one server (a copy
 * made by the server, a rename or a move to another pool), or between servers (`[REMOTE:]NAME`)
 * through `instances.migrate` (pull, push or relay).
 */
import { isNotFound } from '../../lxd/errors.js';
import type { LxdClient } from '../../lxd/client.js';
import { MigrationModes, type MigrationMode } from '../../lxd/resources/migration.js';
import { validateInstanceName, validatePoolName, validateSegment } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { terminalSafe } from '../log-pretty.js';
import { splitRemoteArg } from '../remote-ref.js';

export interface TransferOptions {
  /** --instance-only: without the snapshots. */
  instanceOnly?: boolean;
  /** --mode: how the servers exchange the data (between servers only). */
  mode?: string;
  /** -s: the storage pool on the target. */
  storage?: string;
}

interface Endpoints {
  src: { remote: string | undefined; name: string; snapshot: string | undefined; client: LxdClient };
  dst: { remote: string | undefined; name: string; client: LxdClient };
  sameServer: boolean;
  mode: MigrationMode | undefined;
  pool: string | undefined;
}

/** Both arguments and the options, checked before any I/O. */
function endpoints(ctx: CliContext, source: string, target: string, o: TransferOptions, verb: 'copy' | 'move'): Endpoints {
  const s = splitRemoteArg(source);
  const [srcName, snapshot, ...extra] = s.name.split('/');
  if (extra.length > 0 || snapshot === '') throw new CliError(ExitCode.USAGE, `"${source}": give an instance, or INSTANCE/SNAPSHOT`);
  validateInstanceName(srcName);
  if (snapshot !== undefined) {
    if (verb === 'move') throw new CliError(ExitCode.USAGE, `"${source}": a snapshot is copied, not moved`);
    validateSegment(snapshot, 'snapshot name');
  }
  const d = splitRemoteArg(target, { allowEmpty: true });
  // `REMOTE:` alone: the same name there
  const dstName = d.name === '' ? srcName! : d.name;
  validateInstanceName(dstName, 'target instance name');
  if (o.mode !== undefined && !(MigrationModes as readonly string[]).includes(o.mode)) throw new CliError(ExitCode.USAGE, `--mode: "${o.mode}" is not a mode: give pull, push or relay`);
  const pool = o.storage === undefined ? undefined : validatePoolName(o.storage, '-s');
  const sameServer = s.remote === d.remote || endpointKey(ctx, s.remote) === endpointKey(ctx, d.remote);
  if (sameServer && dstName === srcName && snapshot === undefined && pool === undefined) {
    throw new CliError(ExitCode.USAGE, `${verb} "${source}" to itself: give another name, or another server (REMOTE:)`);
  }
  if (!sameServer && snapshot !== undefined) throw new CliError(ExitCode.USAGE, `"${source}": a snapshot is copied on its own server only; copy it there first (lxdkit copy ${srcName}/${snapshot} NEW), then copy NEW`);
  return {
    src: { remote: s.remote, name: srcName!, snapshot, client: ctx.clientFor(s.remote) },
    dst: { remote: d.remote, name: dstName, client: ctx.clientFor(d.remote) },
    sameServer,
    mode: o.mode as MigrationMode | undefined,
    pool,
  };
}

/** Where a remote's calls go (URL or socket, and project): `local:` and no remote are one server when the default remote is local. */
function endpointKey(ctx: CliContext, remote: string | undefined): string {
  const o = ctx.clientOptions(remote);
  return JSON.stringify([o.url ?? null, o.socketPath ?? null, o.server ?? null, o.project ?? 'default']);
}

const shown = (remote: string | undefined, name: string): string => terminalSafe(remote === undefined ? name : `${remote}:${name}`);

/** Exit 5 when the target name is taken (the servers would only say so as a failed operation). */
async function refuseTaken(ctx: CliContext, e: Endpoints): Promise<void> {
  const taken = await e.dst.client.instances.get(e.dst.name, { signal: ctx.signal }).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
  if (taken) throw new CliError(ExitCode.CONFLICT, `instance ${shown(e.dst.remote, e.dst.name)} exists already: pick another name, or delete it first`);
}

async function migrate(ctx: CliContext, e: Endpoints, o: TransferOptions, move: boolean): Promise<{ mode: string; pool: string | undefined }> {
  const progress = ctx.progress();
  const line = progress.line(e.src.name);
  line.update(undefined, move ? 'moving' : 'copying');
  try {
    const r = await e.src.client.instances.migrate(e.src.name, {
      to: e.dst.client,
      newName: e.dst.name,
      move,
      ...(e.mode !== undefined ? { mode: e.mode } : {}),
      ...(o.instanceOnly ? { instanceOnly: true } : {}),
      ...(e.pool !== undefined ? { pool: e.pool } : {}),
      signal: ctx.signal,
      timeoutMs: 2 ** 31 - 1,
      onProgress: (p) => line.update(p.percent, `${p.side}: ${p.text}`),
    });
    line.done(move ? 'moved' : 'copied');
    return { mode: r.mode, pool: r.pool };
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
  }
}

/** `copy [REMOTE:]SRC[/SNAP] [REMOTE:][DST] [--instance-only] [--mode M] [-s POOL]`: the copy is left stopped. */
export async function copyCommand(ctx: CliContext, source: string, target: string, o: TransferOptions): Promise<void> {
  const e = endpoints(ctx, source, target, o, 'copy');
  await refuseTaken(ctx, e);
  let how: { mode: string; pool: string | undefined };
  if (e.sameServer) {
    const from = e.src.snapshot === undefined ? e.src.name : `${e.src.name}/${e.src.snapshot}`;
    // as lxc copy: the copy gets the source's profiles, config (without volatile keys) and own devices
    const call = { signal: ctx.signal };
    const src = e.src.snapshot === undefined ? (await e.src.client.instances.get(e.src.name, call)).value : (await e.src.client.instances.snapshots.get(e.src.name, e.src.snapshot, call)).value;
    const config = Object.fromEntries(Object.entries(src.config ?? {}).filter(([k]) => !k.startsWith('volatile.')));
    const devices: Record<string, Record<string, string>> = Object.fromEntries(Object.entries(src.devices ?? {}).map(([k, v]) => [k, { ...v }]));
    if (e.pool !== undefined) {
      const root = Object.keys(devices).find((k) => devices[k]!['type'] === 'disk' && devices[k]!['path'] === '/');
      devices[root ?? 'root'] = { ...(root ? devices[root] : { type: 'disk', path: '/' }), pool: e.pool };
    }
    await (
      await e.src.client.instances.create(
        {
          name: e.dst.name,
          profiles: [...(src.profiles ?? [])],
          config,
          devices,
          ephemeral: src.ephemeral ?? false,
          ...('description' in src && src.description ? { description: src.description } : {}),
          source: { type: 'copy', source: from, ...(o.instanceOnly ? { instance_only: true } : {}) },
        },
        call,
      )
    ).wait({ signal: ctx.signal, timeoutMs: 2 ** 31 - 1 });
    how = { mode: 'server', pool: e.pool };
  } else {
    how = await migrate(ctx, e, o, false);
  }
  const out = { source: shown(e.src.remote, e.src.snapshot === undefined ? e.src.name : `${e.src.name}/${e.src.snapshot}`), target: shown(e.dst.remote, e.dst.name), mode: how.mode, pool: how.pool ?? null };
  ctx.print(out, () => `copied ${out.source} to ${out.target}\n`);
}

/** `move [REMOTE:]SRC [REMOTE:][DST] [--instance-only] [--mode M] [-s POOL]`: a rename, another pool, or another server. */
export async function moveCommand(ctx: CliContext, source: string, target: string, o: TransferOptions): Promise<void> {
  const e = endpoints(ctx, source, target, o, 'move');
  if (e.sameServer) {
    if (e.dst.name !== e.src.name) await refuseTaken(ctx, e);
    const op = await e.src.client.instances.move(e.src.name, { ...(e.dst.name !== e.src.name ? { newName: e.dst.name } : {}), ...(e.pool !== undefined ? { pool: e.pool } : {}) }, { signal: ctx.signal });
    await op.wait({ signal: ctx.signal, timeoutMs: 2 ** 31 - 1 });
    const out = { source: shown(e.src.remote, e.src.name), target: shown(e.dst.remote, e.dst.name), mode: 'server', pool: e.pool ?? null };
    ctx.print(out, () => `moved ${out.source} to ${out.target}\n`);
    return;
  }
  await refuseTaken(ctx, e);
  const how = await migrate(ctx, e, o, true);
  const out = { source: shown(e.src.remote, e.src.name), target: shown(e.dst.remote, e.dst.name), mode: how.mode, pool: how.pool ?? null };
  ctx.print(out, () => `moved ${out.source} to ${out.target}\n`);
}
