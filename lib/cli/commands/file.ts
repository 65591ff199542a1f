/**
 * `lxdkit file push [-r] [--mode M] [--uid U] [--gid G] <local…> <instance>/<path>`,
 * `lxdkit file pull [-r] <instance>/<path>… <local>` and `lxdkit file delete [-r] <instance>/<path>`:
 * files streamed to and from instances, with a progress bar on a terminal.
 */
import { lstat, stat, unlink } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { isNotFound, LxdValidationError } from '../../lxd/errors.js';
import { parseMode, type TransferProgress } from '../../lxd/resources/instance-files.js';
import { validateInstanceName } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';
import { splitRemoteArg } from '../remote-ref.js';
import type { ProgressLine } from '../progress.js';

/** No deadline for a transfer the user starts by hand (the longest a Node timer takes). */
const NO_DEADLINE_MS = 2 ** 31 - 1;

export interface PushCommandOptions {
  recursive?: boolean;
  /** -p: create missing parent directories. */
  createDirs?: boolean;
  mode?: string;
  uid?: number;
  gid?: number;
}

/** `c1/etc/hosts` → instance `c1`, path `/etc/hosts`; `r1:c1/etc/hosts`: the same on the saved remote `r1`. */
export function splitTarget(arg: string): { remote?: string; instance: string; path: string } {
  const { remote, name: rest } = splitRemoteArg(arg, { allowEmpty: true });
  const slash = rest.indexOf('/');
  if (slash <= 0) throw new CliError(ExitCode.USAGE, `${arg}: give [<remote>:]<instance>/<path>, e.g. c1/etc/hosts`);
  const instance = rest.slice(0, slash);
  try {
    validateInstanceName(instance);
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${arg}: ${(err as Error).message}`, { cause: err });
  }
  return remote === undefined ? { instance, path: rest.slice(slash) } : { remote, instance, path: rest.slice(slash) };
}

const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

function progressText(p: TransferProgress, verb: string): { percent: number | undefined; text: string } {
  const percent = p.totalBytes ? Math.floor((p.bytes / p.totalBytes) * 100) : undefined;
  return { percent, text: p.totalBytes ? `${verb} ${mib(p.bytes)} of ${mib(p.totalBytes)} MiB` : `${verb} ${mib(p.bytes)} MiB` };
}

/** A progress callback that redraws a line at most once per percent (or per MiB when the size is unknown). */
function onProgress(line: ProgressLine, verb: string): (p: TransferProgress) => void {
  let shown = '';
  return (p) => {
    const { percent, text } = progressText(p, verb);
    const key = percent !== undefined ? String(percent) : mib(p.bytes);
    if (key === shown) return;
    shown = key;
    line.update(percent, text);
  };
}

async function isRemoteDir(ctx: CliContext, remote: string | undefined, instance: string, path: string): Promise<boolean> {
  try {
    return (await ctx.clientFor(remote).instances.files.stat(instance, path, { signal: ctx.signal })).type === 'directory';
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function filePush(ctx: CliContext, sources: string[], target: string, o: PushCommandOptions): Promise<void> {
  const { remote, instance, path } = splitTarget(target);
  let mode: number | undefined;
  try {
    mode = parseMode(o.mode, '--mode');
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, (err as Error).message, { cause: err });
  }
  const files = ctx.clientFor(remote).instances.files;
  const progress = ctx.progress();
  const done: { source: string; target: string; bytes: number }[] = [];
  try {
    // several sources, a trailing slash or an existing directory: each goes into it by its name
    const intoDir = sources.length > 1 || path.endsWith('/') || (await isRemoteDir(ctx, remote, instance, path));
    for (const src of sources) {
      const local = resolve(ctx.io.cwd, src);
      const st = await stat(local).catch((err: unknown) => {
        throw new CliError(ExitCode.INVALID_INPUT, `${src}: ${(err as Error).message}`, { cause: err });
      });
      const dst = intoDir ? posix.join(path, basename(local)) : path;
      const line = progress.line(`${instance}${dst}`);
      try {
        if (o.createDirs && posix.dirname(dst) !== '/') await files.mkdir(instance, posix.dirname(dst), { parents: true, signal: ctx.signal });
        if (st.isDirectory()) {
          if (!o.recursive) throw new CliError(ExitCode.INVALID_INPUT, `${src} is a directory: add -r`);
          const tree = await files.pushRecursive(instance, local, dst, { uid: o.uid, gid: o.gid, signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, onProgress: onProgress(line, 'pushing') });
          line.done(`${tree.files} files, ${tree.directories} directories, ${mib(tree.bytes)} MiB`);
          done.push({ source: src, target: `${instance}${dst}`, bytes: tree.bytes });
        } else {
          await files.pushFile(instance, local, dst, { mode, uid: o.uid, gid: o.gid, signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, onProgress: onProgress(line, 'pushing') });
          line.done(`${mib(st.size)} MiB`);
          done.push({ source: src, target: `${instance}${dst}`, bytes: st.size });
        }
      } catch (err) {
        line.fail((err as Error).message);
        throw err;
      }
    }
  } finally {
    progress.close();
  }
  if (ctx.json) ctx.print(done, () => '');
}

export interface PullCommandOptions {
  recursive?: boolean;
  /** --stall-timeout: seconds without a byte before a pull gives up (a recursive one skips the entry). */
  stallTimeout?: number;
}

export async function filePull(ctx: CliContext, sources: string[], target: string, o: PullCommandOptions): Promise<void> {
  // every source checked before any I/O
  const parsed = sources.map((src) => ({ src, ...splitTarget(src) }));
  const stallTimeoutMs = o.stallTimeout !== undefined ? Math.min(Math.round(o.stallTimeout * 1000), NO_DEADLINE_MS) || 1 : undefined;
  if (target === '-') {
    // to stdout: one file, streamed, no progress bar
    if (sources.length !== 1 || o.recursive) throw new CliError(ExitCode.USAGE, 'pull to - (stdout) takes one file and no -r');
    const { remote, instance, path } = parsed[0]!;
    const pulled = await ctx.clientFor(remote).instances.files.pull(instance, path, { signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, stallTimeoutMs });
    const out = ctx.io.stdout;
    for await (const chunk of pulled.body as Readable) {
      if (out.write(chunk as Buffer) === false && out.once) await new Promise<void>((r) => out.once!('drain', r));
    }
    return;
  }
  const local = resolve(ctx.io.cwd, target);
  const localIsDir = await stat(local).then((s) => s.isDirectory(), () => false);
  const intoDir = sources.length > 1 || target.endsWith('/') || localIsDir;
  if (sources.length > 1 && !localIsDir) throw new CliError(ExitCode.INVALID_INPUT, `${target}: several files go into an existing directory`);
  const progress = ctx.progress();
  const done: { source: string; target: string; bytes: number }[] = [];
  try {
    for (const { src, remote, instance, path } of parsed) {
      const files = ctx.clientFor(remote).instances.files;
      const dst = intoDir ? join(local, posix.basename(path) || instance) : local;
      const line = progress.line(src);
      try {
        if (o.recursive && (await isRemoteDir(ctx, remote, instance, path))) {
          // a name lxdkit chose (the source's, inside the target directory) is not followed: a symlink there goes
          if (intoDir && (await lstat(dst).then((s) => s.isSymbolicLink(), () => false))) {
            await unlink(dst);
            ctx.logger.warn({ action: 'replaced', path, localPath: dst }, `${dst} was a symlink where ${src} is a directory: it was removed (the link itself: its target is untouched) and a directory made`);
          }
          const tree = await files.pullRecursive(instance, path, dst, { signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, stallTimeoutMs, onProgress: onProgress(line, 'pulling') });
          line.done(`${tree.files} files, ${tree.directories} directories, ${mib(tree.bytes)} MiB${tree.skipped ? `, ${tree.skipped} skipped (see the warnings)` : ''}`);
          done.push({ source: src, target: dst, bytes: tree.bytes });
        } else {
          const info = await files.pullFile(instance, path, dst, { signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, stallTimeoutMs, onProgress: onProgress(line, 'pulling') });
          line.done(`${mib(info.size)} MiB`);
          done.push({ source: src, target: dst, bytes: info.size });
        }
      } catch (err) {
        line.fail((err as Error).message);
        if (err instanceof LxdValidationError && /is a directory/.test(err.message)) throw new CliError(ExitCode.INVALID_INPUT, `${src} is a directory: add -r`, { cause: err });
        throw err;
      }
    }
  } finally {
    progress.close();
  }
  if (ctx.json) ctx.print(done, () => '');
}

export async function fileDelete(ctx: CliContext, targets: string[], o: { recursive?: boolean }): Promise<void> {
  for (const { remote, instance, path } of targets.map(splitTarget)) {
    await ctx.clientFor(remote).instances.files.delete(instance, path, { signal: ctx.signal, recursive: o.recursive === true });
  }
}

export async function fileList(ctx: CliContext, target: string): Promise<void> {
  const { remote, instance, path } = splitTarget(target);
  const files = ctx.clientFor(remote).instances.files;
  const names = await files.list(instance, path, { signal: ctx.signal });
  const rows: { name: string; type: string; mode: string; uid: number; gid: number }[] = [];
  for (const n of names.sort()) {
    const info = await files.stat(instance, posix.join(path, n), { signal: ctx.signal });
    rows.push({ name: n, ...info, mode: `0${info.mode.toString(8).padStart(3, '0')}` });
  }
  ctx.print(rows, () =>
    renderTable(rows, [
      { header: 'name', value: (r) => r.name },
      { header: 'type', value: (r) => r.type },
      { header: 'mode', value: (r) => r.mode },
      { header: 'uid', value: (r) => r.uid, right: true },
      { header: 'gid', value: (r) => r.gid, right: true },
    ]),
  );
}
