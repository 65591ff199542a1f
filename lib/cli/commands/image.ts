/**
 * `lxdkit image import METADATA [ROOTFS] --alias …`: streams the tarballs to LXD (a unified
 * tarball when ROOTFS is omitted), shows the upload and then LXD's unpack progress on a terminal,
 * points the aliases.
 */
import { resolve } from 'node:path';
import type { ImageFiles } from '../../lxd/resources/images.js';
import type { CliContext } from '../context.js';
import { renderFields } from '../output.js';

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
