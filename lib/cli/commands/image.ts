/**
 * `lxdkit image list|info|show|delete`, `image alias list|create|delete`,
 * `lxdkit image import METADATA [ROOTFS] --alias …` (streams the tarballs to LXD, a unified tarball
 * when ROOTFS is omitted, shows the upload and then LXD's unpack progress on a terminal, points the
 * aliases), `image copy|export|refresh` and `publish`.
 */
import { link, lstat, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { LxdClient } from '../../lxd/client.js';
import type { ImageFiles } from '../../lxd/resources/images.js';
import type { CliContext } from '../context.js';
import { splitRemoteArg } from '../remote-ref.js';
import { renderFields } from '../output.js';
import type { ImageAlias, LxdImage } from '../../lxd/schemas.js';
import { validateInstanceName, validateSegment } from '../../lxd/validate.js';
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
export async function resolveImage(ctx: CliContext, ref: string, client: LxdClient = ctx.client()): Promise<LxdImage> {
  const images = client.images;
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

// ------------------------------------------------------------------ copy, export, refresh, publish

/** An image argument, `[REMOTE:]IMAGE`, checked before any I/O. */
function imageArg(ctx: CliContext, arg: string): { client: LxdClient; ref: string; remote: string | undefined } {
  const { remote, name } = splitRemoteArg(arg, { what: 'image' });
  checkImageRef(name);
  return { client: ctx.clientFor(remote), ref: name, remote };
}

/** A server argument, `REMOTE:` (the colon says it is a server, not an image or an instance). */
function serverArg(arg: string, what: string): string {
  const { remote, name } = splitRemoteArg(arg, { allowEmpty: true, what });
  if (remote === undefined || name !== '') throw new CliError(ExitCode.USAGE, `"${arg}": give the ${what} as REMOTE: (a saved remote's name and a colon; "local:" is the unix socket)`);
  return remote;
}

function checkAliases(aliases: readonly string[] | undefined): string[] {
  return (aliases ?? []).map((a) => validateSegment(a, 'image alias'));
}

/**
 * Puts `image` (of `from`) on `to`, carried by lxdkit: exported into a temporary directory (mode 0700,
 * removed afterwards) and uploaded, both streamed. An image the target has already is not sent again.
 * Then points `aliases` at it there (moved when they exist). Resolves to whether it was sent.
 */
async function carryImage(ctx: CliContext, from: LxdClient, to: LxdClient, image: LxdImage, aliases: readonly string[], o: { public?: boolean; label: string }): Promise<boolean> {
  const call = { signal: ctx.signal };
  const fp = image.fingerprint;
  const present = await to.images.get(fp, call).then(
    () => true,
    (err: unknown) => {
      if (exitCodeFor(err) === ExitCode.NOT_FOUND) return false;
      throw err;
    },
  );
  if (!present) {
    const dir = await mkdtemp(join(tmpdir(), 'lxdkit-image-'));
    const progress = ctx.progress();
    const line = progress.line(o.label);
    try {
      line.update(undefined, 'downloading');
      const { files } = await from.images.export(fp, dir, call);
      const meta = files.find((f) => f.part === 'metadata');
      const root = files.find((f) => f.part !== 'metadata' && f.part !== 'unified');
      const unified = files.find((f) => f.part === 'unified');
      const upload: ImageFiles = unified ? { unified: unified.path } : { metadata: meta!.path, rootfs: root!.path };
      let shown = -1;
      const made = await to.images.import(upload, {
        public: o.public ?? image.public,
        signal: ctx.signal,
        onUploadProgress: ({ sentBytes, totalBytes }) => {
          const percent = totalBytes > 0 ? Math.floor((sentBytes / totalBytes) * 100) : 100;
          if (percent === shown) return;
          shown = percent;
          line.update(percent, `uploading ${mib(sentBytes)} of ${mib(totalBytes)} MiB`);
        },
        onProgress: (p) => line.update(p.percent, p.text),
      });
      if (made.fingerprint !== fp) throw new CliError(ExitCode.LXD_FAILED, `the target made image ${made.fingerprint.slice(0, 12)} of what the source exported as ${fp.slice(0, 12)}`);
      line.done('copied');
    } catch (err) {
      line.fail((err as Error).message);
      throw err;
    } finally {
      progress.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  for (const a of aliases) await to.images.pointAlias(a, fp, true, call);
  return !present;
}

export interface ImageCopyOptions {
  alias?: string[];
  copyAliases?: boolean;
  public?: boolean;
}

/**
 * `image copy [REMOTE:]IMAGE REMOTE: [--alias A]… [--copy-aliases] [--public]`: the image is carried by
 * lxdkit (the servers need no network between them, and LXD and Incus take each other's images).
 */
export async function imageCopy(ctx: CliContext, source: string, target: string, o: ImageCopyOptions): Promise<void> {
  const src = imageArg(ctx, source);
  const dstRemote = serverArg(target, 'target server');
  const aliases = checkAliases(o.alias);
  const to = ctx.clientFor(dstRemote);
  const image = await resolveImage(ctx, src.ref, src.client);
  const all = [...aliases, ...(o.copyAliases ? image.aliases.map((a) => a.name).filter((a) => !aliases.includes(a)) : [])];
  const sent = await carryImage(ctx, src.client, to, image, all, { ...(o.public !== undefined ? { public: o.public } : {}), label: src.ref });
  const out = { fingerprint: image.fingerprint, target: dstRemote, aliases: all, copied: sent };
  ctx.print(out, () => `${sent ? 'copied' : 'already there:'} image ${image.fingerprint.slice(0, 12)} to ${dstRemote}:${all.length ? ` (aliases ${all.map((a) => terminalSafe(a)).join(', ')})` : ''}\n`);
}

/** Fails when `path` exists (any kind of file, a dangling symlink included): an export never replaces one. */
async function mustNotExist(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new CliError(ExitCode.INVALID_INPUT, `cannot use ${path}: ${err.message}`, { cause: err });
  });
  if (st) throw new CliError(ExitCode.CONFLICT, `${path} exists already: lxdkit never replaces a file; remove it, or name another target`);
}

/**
 * `image export [REMOTE:]IMAGE [TARGET]`: into a directory (the current one by default; the server's
 * file names, checked as hostile) or a named file (a split image: TARGET and TARGET.root). The target
 * is checked before any transfer; nothing is overwritten; a failed export leaves no file behind.
 */
export async function imageExport(ctx: CliContext, arg: string, target: string | undefined, _o: unknown = {}): Promise<void> {
  const src = imageArg(ctx, arg);
  const path = resolve(ctx.io.cwd, target ?? '.');
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new CliError(ExitCode.INVALID_INPUT, `cannot use ${path}: ${err.message}`, { cause: err });
  });
  let intoDir: boolean;
  if (st?.isDirectory() || (st?.isSymbolicLink() && (await lstatFollow(path))?.isDirectory())) {
    intoDir = true;
  } else if (st) {
    await mustNotExist(path);
    return;
  } else {
    if (target !== undefined && /[/\\]$/.test(target)) throw new CliError(ExitCode.INVALID_INPUT, `${path}: no such directory`);
    const parent = await lstatFollow(dirname(path));
    if (!parent?.isDirectory()) throw new CliError(ExitCode.INVALID_INPUT, `${dirname(path)}: no such directory`);
    await mustNotExist(`${path}.root`);
    intoDir = false;
  }
  const image = await resolveImage(ctx, src.ref, src.client);
  const progress = ctx.progress();
  const line = progress.line(src.ref);
  line.update(undefined, 'downloading');
  let written: { part: string; path: string; size: number }[];
  try {
    if (intoDir) {
      written = (await src.client.images.export(image.fingerprint, path, { signal: ctx.signal })).files;
    } else {
      // into a temporary directory beside the target (the same filesystem), then linked into place
      const tmp = await mkdtemp(join(dirname(path), '.lxdkit-export-'));
      const linked: string[] = [];
      try {
        const { files } = await src.client.images.export(image.fingerprint, tmp, { signal: ctx.signal });
        written = [];
        for (const f of files) {
          const final = f.part === 'metadata' || f.part === 'unified' ? path : `${path}.root`;
          try {
            await link(f.path, final);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(ExitCode.CONFLICT, `${final} appeared meanwhile: lxdkit never replaces a file`);
            throw new CliError(ExitCode.INVALID_INPUT, `cannot create ${final}: ${(err as Error).message}`, { cause: err });
          }
          linked.push(final);
          written.push({ ...f, path: final });
        }
      } catch (err) {
        for (const l of linked) await rm(l, { force: true }).catch(() => {});
        throw err;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
    line.done('exported');
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
  }
  const out = { fingerprint: image.fingerprint, files: written.map((f) => ({ part: f.part, path: f.path, size: f.size })) };
  ctx.print(out, () => out.files.map((f) => `${f.part === 'unified' ? 'image' : f.part}: ${terminalSafe(f.path)} (${humanSize(f.size)})\n`).join(''));
}

async function lstatFollow(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  return stat(path).catch(() => undefined);
}

/** `image refresh IMAGE…`: each image the server copied from an image server looks for a newer version; every failure is reported. */
export async function imageRefresh(ctx: CliContext, args: string[]): Promise<number> {
  const refs = args.map((a) => imageArg(ctx, a));
  let code: number = ExitCode.OK;
  const results: { image: string; fingerprint: string; refreshed: boolean }[] = [];
  for (const [i, r] of refs.entries()) {
    try {
      const image = await resolveImage(ctx, r.ref, r.client);
      const done = await (await r.client.images.refresh(image.fingerprint, { signal: ctx.signal })).wait({ signal: ctx.signal });
      const refreshed = done.metadata?.['refreshed'] === true;
      results.push({ image: args[i]!, fingerprint: image.fingerprint, refreshed });
      if (!ctx.json) ctx.io.stdout.write(`${terminalSafe(args[i]!)}: ${refreshed ? 'refreshed' : 'up to date'}\n`);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (code === ExitCode.OK) code = exitCodeFor(err);
      ctx.io.stderr.write(`lxdkit: image ${terminalSafe(args[i]!)}: ${(err as Error).message}\n`);
    }
  }
  if (ctx.json) ctx.print(results, () => '');
  return code;
}

export interface PublishOptions {
  alias?: string[];
  public?: boolean;
  compression?: string;
  force?: boolean;
}

/**
 * `publish [REMOTE:]NAME[/SNAPSHOT] [REMOTE:] [KEY=VALUE…] --alias A…`: an image of a stopped instance
 * (or of a snapshot) on its server; with another server named, the image is then carried there and
 * deleted from the instance's server, as `lxc publish` does.
 */
export async function publishCommand(ctx: CliContext, source: string, rest: string[], o: PublishOptions): Promise<void> {
  const { remote, name } = splitRemoteArg(source);
  const [instance, snapshot, ...more] = name.split('/');
  if (more.length > 0 || snapshot === '') throw new CliError(ExitCode.USAGE, `"${source}": give an instance, or INSTANCE/SNAPSHOT`);
  validateInstanceName(instance);
  if (snapshot !== undefined) validateSegment(snapshot, 'snapshot name');
  const targets = rest.filter((a) => !a.includes('='));
  if (targets.length > 1) throw new CliError(ExitCode.USAGE, `give one target server (REMOTE:), not ${targets.length}`);
  const dstRemote = targets[0] !== undefined ? serverArg(targets[0], 'target server') : undefined;
  const properties: Record<string, string> = {};
  for (const kv of rest.filter((a) => a.includes('='))) {
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq);
    if (key === '') throw new CliError(ExitCode.USAGE, `"${kv}": give a property as KEY=VALUE`);
    properties[key] = kv.slice(eq + 1);
  }
  const aliases = checkAliases(o.alias);
  const client = ctx.clientFor(remote);
  const elsewhere = dstRemote !== undefined && dstRemote !== remote;
  const call = { signal: ctx.signal };
  let restart = false;
  if (snapshot === undefined) {
    const { value } = await client.instances.get(instance!, call);
    if (value.status_code === 103 || value.status === 'Running' || value.status === 'Frozen') {
      if (!o.force) throw new CliError(ExitCode.INVALID_INPUT, `instance "${instance}" is ${value.status.toLowerCase()}: stop it first, or give --force (it is stopped, published and started again)`);
      ctx.note(`stopping ${instance}`);
      await (await client.instances.setState(instance!, { action: 'stop', force: true }, call)).wait(call);
      restart = true;
    }
  }
  const progress = ctx.progress();
  const line = progress.line(name);
  let fingerprint: string;
  try {
    line.update(undefined, 'publishing');
    const op = await client.images.publish(
      {
        source: snapshot === undefined ? { type: 'instance', name: instance! } : { type: 'snapshot', name: `${instance}/${snapshot}` },
        ...(elsewhere ? {} : { aliases }),
        ...(o.public !== undefined ? { public: o.public } : {}),
        ...(Object.keys(properties).length ? { properties } : {}),
        ...(o.compression !== undefined ? { compressionAlgorithm: o.compression } : {}),
      },
      call,
    );
    const done = await op.wait({ signal: ctx.signal, timeoutMs: 2 ** 31 - 1, onProgress: (p) => line.update(p.percent, p.text) });
    const fp = done.metadata?.['fingerprint'];
    if (typeof fp !== 'string' || !/^[0-9a-f]{64}$/.test(fp)) throw new CliError(ExitCode.LXD_FAILED, 'the finished publish operation names no image fingerprint');
    fingerprint = fp;
    line.done('published');
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
    if (restart) {
      ctx.note(`starting ${instance} again`);
      await (await client.instances.setState(instance!, { action: 'start' }, { signal: AbortSignal.timeout(60_000) })).wait({ signal: AbortSignal.timeout(60_000) }).catch((err: unknown) => {
        ctx.io.stderr.write(`lxdkit: ${instance} could not be started again: ${(err as Error).message}\n`);
      });
    }
  }
  if (elsewhere) {
    const { value: image } = await client.images.get(fingerprint, call);
    await carryImage(ctx, client, ctx.clientFor(dstRemote), image, aliases, { ...(o.public !== undefined ? { public: o.public } : {}), label: name });
    await (await client.images.delete(fingerprint, call)).wait(call);
  }
  const out = { fingerprint, source: name, target: dstRemote ?? remote ?? null, aliases };
  ctx.print(out, () => `published ${terminalSafe(name)} as image ${fingerprint.slice(0, 12)}${aliases.length ? ` (aliases ${aliases.join(', ')})` : ''}${elsewhere ? ` on ${dstRemote}:` : ''}\n`);
}
