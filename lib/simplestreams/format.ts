/**
 * The simplestreams format, as cloud-images.ubuntu.com and LXD image servers publish it: the index
 * (`streams/v1/index.json`), product files, and the matching of a query against a product file.
 * No I/O here.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import type { Closed } from '../closed.js';
import { withoutUndefined } from '../objects.js';
import { SimplestreamsError, SimplestreamsErrorCode } from './errors.js';

// Wire schemas (loose: simplestreams documents carry many more fields than we read)

const IndexEntrySchema = lazySchema(() =>
  z.looseObject({
    datatype: z.string(),
    path: z.string().min(1),
    format: z.string().optional(),
    products: z.array(z.string()).optional(),
    updated: z.string().optional(),
  }),
);

/** `streams/v1/index.json`. */
export const SimplestreamsIndexSchema = lazySchema(() =>
  z.looseObject({
    format: z.string().optional(),
    updated: z.string().optional(),
    index: z.record(z.string(), IndexEntrySchema),
  }),
);
/** `streams/v1/index.json` (loose: unknown fields kept). */
export type SimplestreamsIndex = Closed<z.infer<typeof SimplestreamsIndexSchema>>;
/** One entry of the index: a product file and the products it holds (loose: unknown fields kept). */
export type SimplestreamsIndexEntry = Closed<z.infer<typeof IndexEntrySchema>>;

const ItemSchema = lazySchema(() =>
  z.looseObject({
    ftype: z.string().optional(),
    path: z.string().min(1),
    sha256: z.string().optional(),
    md5: z.string().optional(),
    size: z.number().optional(),
    combined_sha256: z.string().optional(),
    combined_rootxz_sha256: z.string().optional(),
    combined_squashfs_sha256: z.string().optional(),
    'combined_disk-kvm-img_sha256': z.string().optional(),
  }),
);

const VersionSchema = lazySchema(() =>
  z.looseObject({
    items: z.record(z.string(), ItemSchema).default({}),
  }),
);

// Fields that simplestreams lets a product inherit from the document's top level.
const inheritable = () => ({
  arch: z.string().optional(),
  release: z.string().optional(),
  version: z.string().optional(),
  os: z.string().optional(),
  release_title: z.string().optional(),
  aliases: z.string().optional(),
});

const ProductSchema = lazySchema(() =>
  z.looseObject({
    ...inheritable(),
    versions: z.record(z.string(), VersionSchema).default({}),
  }),
);

/** A product file (`products:1.0`), e.g. `streams/v1/com.ubuntu.cloud:released:download.json`. */
export const SimplestreamsProductsSchema = lazySchema(() =>
  z.looseObject({
    ...inheritable(),
    content_id: z.string().optional(),
    datatype: z.string().optional(),
    format: z.string().optional(),
    products: z.record(z.string(), ProductSchema),
  }),
);
/** A product file (`products:1.0`) (loose: unknown fields kept). */
export type SimplestreamsProducts = Closed<z.infer<typeof SimplestreamsProductsSchema>>;

/** One file of a product version, with its absolute URL. */
export interface SimplestreamsItem {
  /** The key of the item in the version (often equal to `ftype`). */
  name: string;
  ftype: string;
  path: string;
  url: string;
  sha256?: string;
  md5?: string;
  size?: number;
  /** Every field of the item as served, e.g. `combined_rootxz_sha256`. */
  raw: Readonly<Record<string, unknown>>;
}

/** One version of one product that matched a query. */
export interface SimplestreamsImage {
  /** The product name, e.g. `com.ubuntu.cloud:server:20.04:amd64`. */
  product: string;
  /** The product file's `content_id`, e.g. `com.ubuntu.cloud:released:download`. */
  contentId: string;
  /** The version key, e.g. `20240101` (the newest matching one). */
  version: string;
  arch: string;
  release: string;
  /** The release number, e.g. `20.04`, when the stream gives one. */
  releaseVersion?: string;
  os?: string;
  aliases?: string[];
  /** The version's items by item name. */
  items: Readonly<Record<string, SimplestreamsItem>>;
}

/** What to look for. Every given field must match. */
export interface SimplestreamsQuery {
  /** Matches a product's `release` (`focal`) or its `version` (`20.04`). */
  release?: string;
  /** Matches a product's `arch` exactly (`amd64`, `arm64`, …). */
  arch?: string;
  /** A version matches only when it has an item of every one of these ftypes. */
  ftypes?: readonly string[];
  /** Matches `os` case-insensitively (`ubuntu`). */
  os?: string;
  /** Only index entries with this `content_id` (e.g. `com.ubuntu.cloud:released:download`). */
  contentId?: string;
  /** Only index entries of this datatype. Defaults to `image-downloads`. */
  datatype?: string;
}

export const INDEX_PATH = 'streams/v1/index.json';

/** A relative path of the stream, resolved against the stream's base URL; absolute paths are refused. */
export function resolvePath(base: URL, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.split('/').includes('..')) {
    throw new SimplestreamsError(SimplestreamsErrorCode.INVALID_RESPONSE, `simplestreams path "${path}" is not relative to the stream`, { url: base.href });
  }
  return new URL(path, base).href;
}

/** Compares version keys (`20240101`, `20240101.1`, `20240101_03:49`) oldest first. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The index entries whose product files may hold what `query` asks for. */
export function productFiles(index: SimplestreamsIndex, query: SimplestreamsQuery): [contentId: string, path: string][] {
  const datatype = query.datatype ?? 'image-downloads';
  return Object.entries(index.index)
    .filter(([contentId, entry]) =>
      entry.datatype === datatype &&
      (query.contentId === undefined || contentId === query.contentId) &&
      (entry.format === undefined || entry.format.startsWith('products:')))
    .map(([contentId, entry]) => [contentId, entry.path]);
}

/** The newest version of each product of `doc` that matches `query`, with item URLs resolved against `base`. */
export function matchProducts(base: URL, contentId: string, doc: SimplestreamsProducts, query: SimplestreamsQuery): SimplestreamsImage[] {
  const out: SimplestreamsImage[] = [];
  for (const [name, product] of Object.entries(doc.products)) {
    const arch = product.arch ?? doc.arch;
    const release = product.release ?? doc.release;
    const releaseVersion = product.version ?? doc.version;
    const os = product.os ?? doc.os;
    const aliases = product.aliases ?? doc.aliases;
    if (arch === undefined || release === undefined) continue;
    if (query.arch !== undefined && arch !== query.arch) continue;
    if (query.release !== undefined && release !== query.release && releaseVersion !== query.release) continue;
    if (query.os !== undefined && os?.toLowerCase() !== query.os.toLowerCase()) continue;
    const versions = Object.keys(product.versions).sort(compareVersions).reverse();
    for (const version of versions) {
      const items = itemsOf(base, product.versions[version]?.items ?? {});
      const ftypes = new Set(Object.values(items).map((i) => i.ftype));
      if (!(query.ftypes ?? []).every((f) => ftypes.has(f))) continue;
      out.push(
        withoutUndefined({
          product: name,
          contentId: doc.content_id ?? contentId,
          version,
          arch,
          release,
          releaseVersion,
          os,
          aliases: aliases?.split(',').map((a) => a.trim()).filter(Boolean),
          items,
        }),
      );
      break; // only the newest matching version of each product
    }
  }
  return out;
}

function itemsOf(base: URL, raw: Record<string, z.infer<typeof ItemSchema>>): Record<string, SimplestreamsItem> {
  const items: Record<string, SimplestreamsItem> = {};
  for (const [name, item] of Object.entries(raw)) {
    const { ftype = name, path, sha256, md5, size } = item;
    items[name] = withoutUndefined({ name, ftype, path, url: resolvePath(base, path), sha256, md5, size, raw: item });
  }
  return items;
}

/** `what` for a not-found message: `ubuntu focal amd64 with disk1.img`. */
export function describeQuery(query: SimplestreamsQuery): string {
  return [query.os, query.release, query.arch, query.ftypes?.length ? `with ${query.ftypes.join(', ')}` : undefined, query.contentId ? `in ${query.contentId}` : undefined]
    .filter((s) => s !== undefined && s !== '')
    .join(' ');
}

/**
 * Juju's `ImageMetadataURL` rule for `http://cloud-images.ubuntu.com`: `/releases` is appended, or
 * `/<stream>` when the stream is set and is not `released`. Other URLs are returned unchanged.
 *
 * @example imageMetadataURL('http://cloud-images.ubuntu.com', 'daily') // => 'http://cloud-images.ubuntu.com/daily'
 */
export function imageMetadataURL(url: string, stream: string): string {
  if (url !== 'http://cloud-images.ubuntu.com') return url;
  return stream !== '' && stream !== 'released' ? `${url}/${stream}` : `${url}/releases`;
}
