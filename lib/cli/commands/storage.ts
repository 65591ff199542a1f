/**
 * `lxdkit storage list|show|create|delete` and `storage volume list|show|create|delete|set|get|attach|
 * detach|snapshot|copy|move|export|import`, named as `lxc` names them. Copies and moves stay on the
 * server the command talks to (between its pools and projects).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkTarget } from '../../lxd/resources/backups.js';
import { StorageVolumeTypes, type LxdStorageVolume, type StorageVolumeType } from '../../lxd/resources/storage-volumes.js';
import type { LxdStoragePool } from '../../lxd/schemas.js';
import { validateInstanceName, validatePoolName, validateSegment, validateVolumeName } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { terminalSafe } from '../log-pretty.js';
import { listFormat, parseKeyValues, parseSetArgs, renderList, showYaml } from '../resource-output.js';
import { attachDevice, detachDevice } from './devices.js';
import type { CreateOptions, ListOptions } from './network.js';

const poolColumns = [
  { header: 'name', value: (p: LxdStoragePool) => p.name },
  { header: 'driver', value: (p: LxdStoragePool) => p.driver },
  { header: 'source', value: (p: LxdStoragePool) => p.config['source'] ?? '' },
  { header: 'description', value: (p: LxdStoragePool) => p.description },
  { header: 'used by', value: (p: LxdStoragePool) => p.used_by.length, right: true },
  { header: 'state', value: (p: LxdStoragePool) => p.status.toUpperCase() },
];

function poolShape(p: LxdStoragePool): Record<string, unknown> {
  return { config: p.config, description: p.description, name: p.name, driver: p.driver, used_by: p.used_by, status: p.status, locations: p.locations ?? [] };
}

export async function storageList(ctx: CliContext, o: ListOptions): Promise<void> {
  const format = listFormat(ctx, o.format);
  const pools = await ctx.client().storagePools.list({ signal: ctx.signal });
  pools.sort((a, b) => a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(pools, poolColumns, format, poolShape));
}

export async function storageShow(ctx: CliContext, name: string): Promise<void> {
  validatePoolName(name);
  const { value } = await ctx.client().storagePools.get(name, { signal: ctx.signal });
  ctx.print(poolShape(value), () => showYaml(poolShape(value)));
}

export async function storageCreate(ctx: CliContext, name: string, driver: string, pairs: string[], o: Pick<CreateOptions, 'description'>): Promise<void> {
  validatePoolName(name);
  if (!/^[a-z][a-z0-9-]*$/.test(driver)) throw new CliError(ExitCode.USAGE, `storage driver "${terminalSafe(driver)}": give one such as dir, zfs, btrfs, lvm`);
  const config = parseKeyValues(pairs);
  await ctx.client().storagePools.create({ name, driver, config, description: o.description ?? '' }, { signal: ctx.signal });
  ctx.print({ created: name }, () => `storage pool ${name} created\n`);
}

export async function storageDelete(ctx: CliContext, name: string): Promise<void> {
  validatePoolName(name);
  await ctx.client().storagePools.delete(name, { signal: ctx.signal });
  ctx.print({ deleted: name }, () => `storage pool ${name} deleted\n`);
}

// ------------------------------------------------------------------ volumes

/** A volume argument as `lxc` takes it: `NAME` (a custom volume) or `TYPE/NAME` (`custom/data`, `container/c1`). */
export function parseVolumeRef(ref: string): { type: StorageVolumeType; name: string } {
  const slash = ref.indexOf('/');
  if (slash < 0) return { type: 'custom', name: validateVolumeName(ref) };
  const type = ref.slice(0, slash);
  if (!(StorageVolumeTypes as readonly string[]).includes(type)) {
    throw new CliError(ExitCode.USAGE, `volume "${terminalSafe(ref)}": "${terminalSafe(type)}" is not a volume type (give ${StorageVolumeTypes.join(', ')}, or a custom volume's name alone)`);
  }
  return { type: type as StorageVolumeType, name: validateVolumeName(ref.slice(slash + 1)) };
}

/** `POOL/VOLUME` (`copy`, `move`). */
export function parsePoolVolume(ref: string): { pool: string; volume: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) throw new CliError(ExitCode.USAGE, `"${terminalSafe(ref)}": give POOL/VOLUME`);
  const pool = validatePoolName(ref.slice(0, slash));
  const rest = ref.slice(slash + 1);
  // a snapshot as the source: POOL/VOLUME/SNAPSHOT
  const parts = rest.split('/');
  if (parts.length > 2) throw new CliError(ExitCode.USAGE, `"${terminalSafe(ref)}": give POOL/VOLUME or POOL/VOLUME/SNAPSHOT`);
  for (const p of parts) validateVolumeName(p);
  return { pool, volume: rest };
}

const volumeColumns = [
  { header: 'type', value: (v: LxdStorageVolume) => v.type },
  { header: 'name', value: (v: LxdStorageVolume) => v.name },
  { header: 'description', value: (v: LxdStorageVolume) => v.description },
  { header: 'content-type', value: (v: LxdStorageVolume) => v.content_type },
  { header: 'used by', value: (v: LxdStorageVolume) => v.used_by.length, right: true },
];

function volumeShape(v: LxdStorageVolume): Record<string, unknown> {
  return { config: v.config, description: v.description, name: v.name, type: v.type, used_by: v.used_by, location: v.location, content_type: v.content_type, ...(v.created_at ? { created_at: v.created_at } : {}) };
}

export async function volumeList(ctx: CliContext, pool: string, o: ListOptions & { type?: string }): Promise<void> {
  validatePoolName(pool);
  const format = listFormat(ctx, o.format);
  if (o.type !== undefined && !(StorageVolumeTypes as readonly string[]).includes(o.type)) throw new CliError(ExitCode.USAGE, `--type ${terminalSafe(o.type)}: give ${StorageVolumeTypes.join(', ')}`);
  const vols = await ctx.client().storageVolumes.list(pool, { signal: ctx.signal, ...(o.type ? { type: o.type as StorageVolumeType } : {}) });
  vols.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(vols, volumeColumns, format, volumeShape));
}

export async function volumeShow(ctx: CliContext, pool: string, ref: string): Promise<void> {
  validatePoolName(pool);
  const { type, name } = parseVolumeRef(ref);
  const { value } = await ctx.client().storageVolumes.get(pool, name, { type, signal: ctx.signal });
  ctx.print(volumeShape(value), () => showYaml(volumeShape(value)));
}

export async function volumeCreate(ctx: CliContext, pool: string, name: string, pairs: string[], o: { description?: string; contentType?: string }): Promise<void> {
  validatePoolName(pool);
  validateVolumeName(name);
  const config = parseKeyValues(pairs);
  const ct = o.contentType;
  if (ct !== undefined && ct !== 'filesystem' && ct !== 'block') throw new CliError(ExitCode.USAGE, `--type ${terminalSafe(ct)}: give filesystem or block`);
  const op = await ctx.client().storageVolumes.create(pool, { name, config, description: o.description ?? '', ...(ct ? { content_type: ct } : {}) }, { signal: ctx.signal });
  await op.wait({ signal: ctx.signal });
  ctx.print({ pool, created: name }, () => `storage volume ${name} created in ${pool}\n`);
}

export async function volumeDelete(ctx: CliContext, pool: string, ref: string): Promise<void> {
  validatePoolName(pool);
  const { type, name } = parseVolumeRef(ref);
  await (await ctx.client().storageVolumes.delete(pool, name, { type, signal: ctx.signal })).wait({ signal: ctx.signal });
  ctx.print({ pool, deleted: name }, () => `storage volume ${name} deleted from ${pool}\n`);
}

/** `volume set POOL VOLUME KEY VALUE` (or `KEY=VALUE…`): a GET and a PUT with its ETag; an empty value unsets the key. */
export async function volumeSet(ctx: CliContext, pool: string, ref: string, args: string[]): Promise<void> {
  validatePoolName(pool);
  const { type, name } = parseVolumeRef(ref);
  const change = parseSetArgs(args);
  const vols = ctx.client().storageVolumes;
  const { value, etag } = await vols.get(pool, name, { type, signal: ctx.signal });
  const config = { ...value.config };
  for (const [k, v] of Object.entries(change)) {
    if (v === '') delete config[k];
    else config[k] = v;
  }
  await (await vols.update(pool, name, { config, description: value.description }, { type, etag, signal: ctx.signal })).wait({ signal: ctx.signal });
  ctx.print({ pool, volume: name, set: change }, () => '');
}

export async function volumeGet(ctx: CliContext, pool: string, ref: string, key: string): Promise<void> {
  validatePoolName(pool);
  const { type, name } = parseVolumeRef(ref);
  if (key === '') throw new CliError(ExitCode.USAGE, 'give a config key');
  const { value } = await ctx.client().storageVolumes.get(pool, name, { type, signal: ctx.signal });
  const v = Object.hasOwn(value.config, key) ? value.config[key]! : '';
  ctx.print({ [key]: v }, () => `${terminalSafe(v)}\n`);
}

/** `volume attach POOL VOLUME INSTANCE [DEVICE] [PATH]`: a disk device; a filesystem volume needs the path to mount it at. */
export async function volumeAttach(ctx: CliContext, pool: string, volume: string, instance: string, rest: string[]): Promise<void> {
  validatePoolName(pool);
  validateVolumeName(volume);
  validateInstanceName(instance);
  if (rest.length > 2) throw new CliError(ExitCode.USAGE, 'give POOL VOLUME INSTANCE [DEVICE] [PATH]');
  // as lxc: one extra argument is the path when it starts with "/", else the device name
  let device = volume;
  let path: string | undefined;
  if (rest.length === 2) [device, path] = rest as [string, string];
  else if (rest.length === 1) {
    if (rest[0]!.startsWith('/')) path = rest[0];
    else device = rest[0]!;
  }
  validateSegment(device, 'device name');
  if (path !== undefined && !path.startsWith('/')) throw new CliError(ExitCode.USAGE, `path "${terminalSafe(path)}": give an absolute path inside the instance`);
  const { value: vol } = await ctx.client().storageVolumes.get(pool, volume, { signal: ctx.signal });
  if (vol.content_type === 'filesystem' && path === undefined) throw new CliError(ExitCode.USAGE, `${volume} is a filesystem volume: give the PATH to mount it at`);
  const disk: Record<string, string> = { type: 'disk', pool, source: volume };
  if (path !== undefined) disk['path'] = path;
  await attachDevice(ctx, instance, device, disk);
  ctx.print({ instance, device, pool, volume }, () => `attached ${volume} to ${instance} as ${device}\n`);
}

export async function volumeDetach(ctx: CliContext, pool: string, volume: string, instance: string, device: string | undefined): Promise<void> {
  validatePoolName(pool);
  validateVolumeName(volume);
  validateInstanceName(instance);
  if (device !== undefined) validateSegment(device, 'device name');
  const removed = await detachDevice(ctx, instance, `volume ${volume} of ${pool}`, (n, d) => d['type'] === 'disk' && d['pool'] === pool && d['source'] === volume && (device === undefined || n === device));
  ctx.print({ instance, device: removed, pool, volume }, () => `detached ${volume} (${removed}) from ${instance}\n`);
}

/** `volume snapshot POOL VOLUME [SNAPSHOT] [--expiry]`: prints the snapshot's name (the server's pick when none is given). */
export async function volumeSnapshot(ctx: CliContext, pool: string, volume: string, snapshot: string | undefined, o: { expiry?: string }): Promise<void> {
  validatePoolName(pool);
  validateVolumeName(volume);
  if (snapshot !== undefined) validateVolumeName(snapshot, 'snapshot name');
  const { parseExpiry } = await import('./snapshot.js');
  const expiresAt = o.expiry === undefined ? undefined : parseExpiry(o.expiry);
  const snaps = ctx.client().storageVolumes.snapshots;
  const call = { signal: ctx.signal };
  const before = snapshot === undefined ? new Set(await snaps.list(pool, volume, { ...call, recursion: 0 })) : undefined;
  await (await snaps.create(pool, volume, { ...(snapshot !== undefined ? { name: snapshot } : {}), ...(expiresAt ? { expiresAt } : {}) }, call)).wait(call);
  let made = snapshot;
  if (before) {
    const fresh = (await snaps.list(pool, volume, { ...call, recursion: 0 })).filter((n) => !before.has(n));
    made = fresh.length === 1 ? fresh[0] : undefined;
  }
  ctx.print({ pool, volume, snapshot: made ?? null }, () => `snapshot ${made ?? '(name not known: see storage volume show)'} of ${volume} taken\n`);
}

/** `volume copy POOL/VOLUME[/SNAP] POOL/VOLUME [--volume-only] [--target-project P]`: a copy on this server. */
export async function volumeCopy(ctx: CliContext, source: string, target: string, o: { volumeOnly?: boolean; targetProject?: string; description?: string }): Promise<void> {
  const src = parsePoolVolume(source);
  const dst = parsePoolVolume(target);
  if (dst.volume.includes('/')) throw new CliError(ExitCode.USAGE, `"${terminalSafe(target)}": the copy is a volume, not a snapshot: give POOL/VOLUME`);
  if (o.targetProject !== undefined) validateSegment(o.targetProject, 'project');
  const client = ctx.client();
  const into = o.targetProject !== undefined ? client.withProject(o.targetProject) : client;
  const sourceProject = o.targetProject !== undefined ? (client.project ?? 'default') : undefined;
  const op = await into.storageVolumes.create(
    dst.pool,
    { name: dst.volume, description: o.description ?? '', source: { type: 'copy', pool: src.pool, name: src.volume, ...(o.volumeOnly ? { volume_only: true } : {}), ...(sourceProject ? { project: sourceProject } : {}) } },
    { signal: ctx.signal },
  );
  await op.wait({ signal: ctx.signal });
  ctx.print({ source, copied: target }, () => `storage volume ${source} copied to ${target}\n`);
}

/** `volume move POOL/VOLUME POOL/VOLUME`: a rename, into another pool when the pools differ. */
export async function volumeMove(ctx: CliContext, source: string, target: string): Promise<void> {
  const src = parsePoolVolume(source);
  const dst = parsePoolVolume(target);
  if (src.volume.includes('/') || dst.volume.includes('/')) throw new CliError(ExitCode.USAGE, 'move takes volumes, not snapshots: give POOL/VOLUME POOL/VOLUME');
  if (src.pool === dst.pool && src.volume === dst.volume) throw new CliError(ExitCode.USAGE, 'the source and the target are the same volume');
  const op = await ctx.client().storageVolumes.rename(src.pool, src.volume, dst.volume, { signal: ctx.signal, ...(src.pool !== dst.pool ? { pool: dst.pool } : {}) });
  await op.wait({ signal: ctx.signal });
  ctx.print({ source, moved: target }, () => `storage volume ${source} moved to ${target}\n`);
}

/**
 * `volume export POOL VOLUME [FILE]`: the server makes a backup, lxdkit streams it into FILE (default
 * `backup.tar.gz`) and deletes the backup from the server, also when the download fails.
 */
export async function volumeExport(ctx: CliContext, pool: string, volume: string, file: string | undefined, o: { volumeOnly?: boolean; compression?: string }): Promise<void> {
  validatePoolName(pool);
  validateVolumeName(volume);
  const target = resolve(ctx.io.cwd, file ?? 'backup.tar.gz');
  // the file first: a directory, a missing directory or a device exits 3 before the server makes a backup
  await checkTarget(target);
  const backups = ctx.client().storageVolumes.backups;
  const call = { signal: ctx.signal };
  const name = `lxdkit-export-${Date.now().toString(36)}`;
  await (await backups.create(pool, volume, { name, ...(o.volumeOnly ? { volumeOnly: true } : {}), ...(o.compression ? { compressionAlgorithm: o.compression } : {}) }, call)).wait(call);
  let size: number;
  try {
    ({ size } = await backups.export(pool, volume, name, target, call));
  } finally {
    await backups.delete(pool, volume, name, {}).then((op) => op.wait({})).catch((err: unknown) => ctx.note(`the backup ${name} of ${volume} could not be deleted from the server: ${(err as Error).message}`));
  }
  ctx.print({ pool, volume, file: target, size }, () => `exported ${volume} to ${target} (${size} bytes)\n`);
}

/** `volume import POOL FILE [NAME]`: a new custom volume from a backup tarball, streamed from disk. */
export async function volumeImport(ctx: CliContext, pool: string, file: string, name: string | undefined): Promise<void> {
  validatePoolName(pool);
  if (name !== undefined) validateVolumeName(name);
  const path = resolve(ctx.io.cwd, file);
  const st = await stat(path).catch((err: unknown) => {
    throw new CliError(ExitCode.INVALID_INPUT, `cannot read ${file}: ${(err as Error).message}`);
  });
  if (!st.isFile()) throw new CliError(ExitCode.INVALID_INPUT, `${file} is not a regular file`);
  const op = await ctx.client().storageVolumes.importBackup(pool, path, { signal: ctx.signal, ...(name !== undefined ? { name } : {}) });
  await op.wait({ signal: ctx.signal });
  ctx.print({ pool, imported: file, name: name ?? null }, () => `imported ${file} into ${pool}${name ? ` as ${name}` : ''}\n`);
}
