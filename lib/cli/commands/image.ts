/**
 * `lxdkit image list|info|show|delete`, `image alias list|create|delete`, and
 * `lxdkit image import METADATA [ROOTFS] --alias …`: streams the tarballs to LXD (a unified
 * tarball when ROOTFS is omitted), shows the upload and then LXD's unpack progress on a terminal,
 * points the aliases.
 */
import { resolve } from 'node:path';
import type { ImageFiles } from '../../lxd/resources/images.js';
import type { CliContext } from '../context.js';
import { renderFields } from '../output.js';
import type { ImageAlias, LxdImage } from '../../lxd/schemas.js';
import { validateSegment } from '../../lxd/validate.js';
import { CliError, ExitCode, exitCodeFor } from '../exit-codes.js';
import { terminalSafe } from '../log-pretty.js';
import { listFormat, renderList, showYaml } from '../resource-output.js';

const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

export async function imageImport(ctx: CliContext, metadata: string, rootfs: string | undefined, o: { alias?: string[]; public?: boolean }): Promise<void> {
  const files: ImageFiles = rootfs ? { metadata: resolve(ctx.io.cwd, metadata), rootfs: resolve(ctx.io.cwd, rootfs) } : { unified: resolve(ctx.io.cwd, metadata) };
  const progress = ctx.progress();
  const line = progress.line(o.alias?.[0] ?? 'image');
  line.update(0, 'uploading');
  let shownPercent = -1;
  let image;
  try {
    image = await ctx.client().images.import(files, {
      aliases: o.alias ?? [],
      public: o.public,
      signal: ctx.signal,
      onUploadProgress: ({ sentBytes, totalBytes }) => {
        const percent = totalBytes > 0 ? Math.floor((sentBytes / totalBytes) * 100) : 100;
        if (percent === shownPercent) return;
        shownPercent = percent;
        line.update(percent, `uploading ${mib(sentBytes)} of ${mib(totalBytes)} MiB`);
      },
      onProgress: (p) => line.update(p.percent, p.text),
    });
    line.done('imported');
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
  }
  const out = { fingerprint: image.fingerprint, aliases: image.aliases.map((a) => a.name), size: image.size, architecture: image.architecture, description: image.properties['description'] ?? '' };
  ctx.print(out, () =>
    renderFields([
      ['fingerprint', out.fingerprint],
      ['aliases', out.aliases.join(', ')],
      ['architecture', out.architecture],
      ['size', `${(out.size / 1048576).toFixed(2)} MiB`],
      ['description', out.description],
    ]),
  );
}

// ------------------------------------------------------------------ list, info, delete, aliases


const FINGERPRINT_PREFIX = /^[0-9a-f]{1,64}$/;

/** A size as `lxc image list` prints it (`0.84MiB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(2)}${units[i]}`;
}

/**
 * Whether an image matches every filter, as `lxc image list` filters: `KEY=VALUE` compares a property
 * (or `architecture`, `type`, `public`), anything else is a fingerprint prefix or part of an alias.
 */
export function imageMatches(image: LxdImage, filters: readonly string[]): boolean {
  return filters.every((f) => {
    const eq = f.indexOf('=');
    if (eq > 0) {
      const key = f.slice(0, eq);
      const want = f.slice(eq + 1);
      const own: Record<string, string> = { architecture: image.architecture, type: image.type ?? '', public: String(image.public) };
      return (Object.hasOwn(own, key) ? own[key] : image.properties[key]) === want;
    }
    return image.fingerprint.startsWith(f) || image.aliases.some((a) => a.name.includes(f));
  });
}

/** Checks a fingerprint-or-alias argument before any I/O. */
function checkImageRef(ref: string): string {
  if (ref === '') throw new CliError(ExitCode.USAGE, 'give an image: a fingerprint (or its start) or an alias');
  return validateSegment(ref, 'image');
}

/**
 * The image an argument names: an alias first (as `lxc` looks), else a fingerprint or its unique
 * start. An unknown one exits 4; a start that fits several images exits 3.
 */
export async function resolveImage(ctx: CliContext, ref: string): Promise<LxdImage> {
  const images = ctx.client().images;
  const call = { signal: ctx.signal };
  const all = await images.list(call);
  const byAlias = all.find((i) => i.aliases.some((a) => a.name === ref));
  if (byAlias) return byAlias;
  if (FINGERPRINT_PREFIX.test(ref)) {
    const hits = all.filter((i) => i.fingerprint.startsWith(ref));
    if (hits.length > 1) throw new CliError(ExitCode.INVALID_INPUT, `image ${ref}: the start of ${hits.length} fingerprints; give more of it`);
    if (hits[0]) return hits[0];
  }
  throw new CliError(ExitCode.NOT_FOUND, `image ${terminalSafe(ref)} not found (no such alias or fingerprint)`);
}

const imageColumns = [
  { header: 'alias', value: (i: LxdImage) => i.aliases.map((a) => a.name).join(',') },
  { header: 'fingerprint', value: (i: LxdImage) => i.fingerprint.slice(0, 12) },
  { header: 'public', value: (i: LxdImage) => (i.public ? 'yes' : 'no') },
  { header: 'description', value: (i: LxdImage) => i.properties['description'] ?? '' },
  { header: 'architecture', value: (i: LxdImage) => i.architecture },
  { header: 'type', value: (i: LxdImage) => (i.type === 'virtual-machine' ? 'VIRTUAL-MACHINE' : 'CONTAINER') },
  { header: 'size', value: (i: LxdImage) => humanSize(i.size), right: true },
  { header: 'upload date', value: (i: LxdImage) => i.uploaded_at?.replace(/\.\d+Z$/, 'Z') ?? '' },
];

export async function imageList(ctx: CliContext, filters: string[], o: { format?: string }): Promise<void> {
  const format = listFormat(ctx, o.format);
  const images = (await ctx.client().images.list({ signal: ctx.signal })).filter((i) => imageMatches(i, filters));
  images.sort((a, b) => (a.aliases[0]?.name ?? '~' + a.fingerprint).localeCompare(b.aliases[0]?.name ?? '~' + b.fingerprint));
  ctx.io.stdout.write(renderList(images, imageColumns, format));
}

export async function imageInfo(ctx: CliContext, ref: string): Promise<void> {
  checkImageRef(ref);
  const i = await resolveImage(ctx, ref);
  ctx.print(i, () =>
    renderFields([
      ['fingerprint', i.fingerprint],
      ['size', humanSize(i.size)],
      ['architecture', i.architecture],
      ['type', i.type ?? 'container'],
      ['public', i.public ? 'yes' : 'no'],
      ['created', i.created_at ?? ''],
      ['uploaded', i.uploaded_at ?? ''],
      ['aliases', i.aliases.map((a) => a.name).join(', ')],
      ['auto update', i.auto_update ? 'enabled' : 'disabled'],
      ['cached', i.cached ? 'yes' : 'no'],
      ...Object.entries(i.properties).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [`property ${terminalSafe(k)}`, terminalSafe(v)] as const),
    ]),
  );
}

export async function imageShow(ctx: CliContext, ref: string): Promise<void> {
  checkImageRef(ref);
  const i = await resolveImage(ctx, ref);
  ctx.print(i, () => showYaml({ auto_update: i.auto_update, properties: i.properties, public: i.public, expires_at: i.expires_at, profiles: i.profiles ?? [] }));
}

/** Deletes each image named; reports every failure and exits with the first one's code. */
export async function imageDelete(ctx: CliContext, refs: string[]): Promise<number> {
  refs.forEach(checkImageRef);
  let code: number = ExitCode.OK;
  const deleted: string[] = [];
  for (const ref of refs) {
    try {
      const image = await resolveImage(ctx, ref);
      await (await ctx.client().images.delete(image.fingerprint, { signal: ctx.signal })).wait({ signal: ctx.signal });
      deleted.push(image.fingerprint);
      if (!ctx.json) ctx.io.stdout.write(`deleted image ${image.fingerprint.slice(0, 12)} (${terminalSafe(ref)})\n`);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const c = exitCodeFor(err);
      if (code === ExitCode.OK) code = c;
      ctx.io.stderr.write(`lxdkit: image ${terminalSafe(ref)}: ${(err as Error).message}\n`);
    }
  }
  if (ctx.json) ctx.print({ deleted }, () => '');
  return code;
}

const aliasColumns = [
  { header: 'alias', value: (a: ImageAlias) => a.name },
  { header: 'fingerprint', value: (a: ImageAlias) => a.target.slice(0, 12) },
  { header: 'type', value: (a: ImageAlias) => (a.type ?? 'container').toUpperCase() },
  { header: 'description', value: (a: ImageAlias) => a.description },
];

export async function imageAliasList(ctx: CliContext, filters: string[], o: { format?: string }): Promise<void> {
  const format = listFormat(ctx, o.format);
  const aliases = (await ctx.client().images.listAliases({ signal: ctx.signal })).filter((a) => filters.every((f) => a.name.includes(f)));
  aliases.sort((a, b) => a.name.localeCompare(b.name));
  ctx.io.stdout.write(renderList(aliases, aliasColumns, format));
}

export async function imageAliasCreate(ctx: CliContext, alias: string, ref: string, o: { description?: string }): Promise<void> {
  validateSegment(alias, 'image alias');
  checkImageRef(ref);
  const image = await resolveImage(ctx, ref);
  await ctx.client().images.createAlias({ name: alias, target: image.fingerprint, description: o.description ?? '' }, { signal: ctx.signal });
  ctx.print({ alias, fingerprint: image.fingerprint }, () => `alias ${alias} -> ${image.fingerprint.slice(0, 12)}\n`);
}

export async function imageAliasDelete(ctx: CliContext, alias: string): Promise<void> {
  validateSegment(alias, 'image alias');
  await ctx.client().images.deleteAlias(alias, { signal: ctx.signal });
  ctx.print({ deleted: alias }, () => `deleted alias ${alias}\n`);
}
