/**
 * `lxdkit backup export <instance> <file>` and `lxdkit backup import <file> [--name <new instance>]`:
 * backup tarballs streamed to and from disk, with progress bars on a terminal.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { nameFromUrl } from '../../lxd/path.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderFields } from '../output.js';

/** No deadline for a transfer the user starts by hand (the longest a Node timer takes). */
const NO_DEADLINE_MS = 2 ** 31 - 1;
const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

export async function backupExport(ctx: CliContext, instance: string, file: string, o: { instanceOnly?: boolean; compression?: string }): Promise<void> {
  const ref = ctx.instanceRef(instance);
  const target = resolve(ctx.io.cwd, file);
  const progress = ctx.progress();
  const line = progress.line(instance);
  line.update(undefined, 'making the backup');
  let size: number;
  try {
    ({ size } = await ref.client.instances.backups.export(ref.name, target, {
      signal: ctx.signal,
      timeoutMs: NO_DEADLINE_MS,
      instanceOnly: o.instanceOnly,
      compressionAlgorithm: o.compression,
      onProgress: (p) => line.update(undefined, `making the backup: ${p.text}`),
      onDownloadProgress: (p) => line.update(p.totalBytes ? Math.floor((p.bytes / p.totalBytes) * 100) : undefined, `downloading ${mib(p.bytes)}${p.totalBytes ? ` of ${mib(p.totalBytes)}` : ''} MiB`),
    }));
    line.done(`${mib(size)} MiB`);
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
  }
  ctx.print({ instance, file: target, size }, () => renderFields([['instance', instance], ['file', target], ['size', `${mib(size)} MiB`]]));
}

export async function backupImport(ctx: CliContext, file: string, o: { name?: string; pool?: string }): Promise<void> {
  // --name r1:c2: the new instance on the saved remote r1
  const ref = o.name !== undefined ? ctx.instanceRef(o.name) : undefined;
  const source = resolve(ctx.io.cwd, file);
  const st = await stat(source).catch((err: unknown) => {
    throw new CliError(ExitCode.INVALID_INPUT, `${file}: ${(err as Error).message}`, { cause: err });
  });
  const progress = ctx.progress();
  const line = progress.line(o.name ?? file);
  let shown = -1;
  let name: string | undefined;
  try {
    const op = await (ref?.client ?? ctx.client()).instances.createFromBackup(source, {
      signal: ctx.signal,
      timeoutMs: NO_DEADLINE_MS,
      name: ref?.name,
      pool: o.pool,
      onProgress: (p) => {
        const percent = Math.floor((p.bytes / st.size) * 100);
        if (percent === shown) return;
        shown = percent;
        line.update(percent, `uploading ${mib(p.bytes)} of ${mib(st.size)} MiB`);
      },
    });
    const done = await op.wait({ signal: ctx.signal, timeoutMs: NO_DEADLINE_MS, onProgress: (p) => line.update(p.percent, p.text) });
    // the URL's path only (it may end in ?project=), its last segment decoded
    const url = done.resources?.['instances']?.find((u) => /^\/1\.0\/instances\/[^/?]+(\?|$)/.test(u));
    name = ref?.name ?? (url === undefined ? undefined : nameFromUrl(url, { method: 'POST', path: '/1.0/instances' }));
    line.done(name === undefined ? 'imported' : `imported as ${name}`);
  } catch (err) {
    line.fail((err as Error).message);
    throw err;
  } finally {
    progress.close();
  }
  ctx.print({ instance: name ?? null, file: source }, () => (name === undefined ? `imported ${file} (the server did not name the new instance)\n` : `imported ${file} as instance ${name}\n`));
}
