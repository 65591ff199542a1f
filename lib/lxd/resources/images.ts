import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { arrayOf, lazySchema } from '../../lazy-schema.js';
import { isConflict, LxdResponseValidationError, LxdValidationError } from '../errors.js';
import { DEFAULT_OPERATION_TIMEOUT_MS, type Operation, type WaitOptions } from '../operation.js';
import { readFileChunks } from '../file-chunks.js';
import { serverHeader } from '../headers.js';
import { lxdPath } from '../path.js';
import {
  ImageAliasPutSchema,
  ImageAliasSchema,
  ImageAliasesPostSchema,
  ImagePutSchema,
  ImageSchema,
  ImagesPostSchema,
  OperationSchema,
  type LxdImage,
  type ImageAlias,
  type ImageAliasesPost,
  type ImageAliasPut,
  type ImagePut,
  type ImagesPost,
} from '../schemas.js';
import { validateBody, validateInstanceName, validateSegment } from '../validate.js';
import { Api, type CallOptions, type EtagOptions, type WithEtag } from './base.js';
import { checkExportDir, dispositionFileName, multipartBoundary, safeServerFileName, writeMultipart, writeUnified, type ExportedFile } from './image-export.js';

/** Where `images.publish()` takes the new image from: a (stopped) instance, or a snapshot (`instance/snapshot`). */
export interface PublishSource {
  type: 'instance' | 'snapshot';
  name: string;
}

/** What `images.publish()` makes an image from: an instance or a snapshot, with aliases, visibility and properties. */
export interface PublishRequest {
  source: PublishSource;
  /** Aliases to point at the new image (each must not exist yet). */
  aliases?: string[];
  public?: boolean;
  /** Properties of the new image (`os`, `release`, `description`, …). */
  properties?: Record<string, string>;
  /** `gzip`, `xz`, `none`, … (default: the server's `images.compression_algorithm`). */
  compressionAlgorithm?: string;
  /** Days until the new image expires, as the server counts them; omitted: the server's default. */
  expiresAt?: string;
}

/** Strict schema of `POST /1.0/images` publishing an instance or a snapshot. */
export const ImagePublishPostSchema = lazySchema(() => z.strictObject({
  source: z.strictObject({ type: z.enum(['instance', 'snapshot']), name: z.string().min(1) }),
  aliases: z.array(z.strictObject({ name: z.string().min(1), description: z.string().optional() })).optional(),
  public: z.boolean().optional(),
  properties: z.record(z.string(), z.string()).optional(),
  compression_algorithm: z.string().min(1).optional(),
  expires_at: z.string().optional(),
}));

/** Where `images.push()` sends an image: another server, which gave `secret` for it. */
export interface ImagePushTarget {
  /** The other server's HTTPS address, e.g. `https://127.0.0.1:8443`. */
  url: string;
  /** The secret of the other server's push operation (`POST /1.0/images` with `source: { type: 'image', mode: 'push' }`). */
  secret: string;
  /** PEM certificate of the other server, when this server would not trust it otherwise. */
  certificate?: string;
  /** Aliases the image gets on the other server. */
  aliases?: string[];
  /** The project on the other server. */
  project?: string;
}

/** Strict schema of `POST /1.0/images/{fingerprint}/export`. */
export const ImageExportPostSchema = lazySchema(() => z.strictObject({
  target: z.url({ protocol: /^https$/, error: 'the target must be an https:// URL' }),
  secret: z.string().min(1),
  certificate: z.string().optional(),
  aliases: z.array(z.strictObject({ name: z.string().min(1) })).optional(),
  project: z.string().optional(),
}));

/** The answer of `images.secret()`: the secret, and the id of the token operation that holds it. */
export interface ImageSecret {
  secret: string;
  /** Cancel it (`client.operations.cancel(operationId)`) to withdraw the secret before it is used. */
  operationId: string;
}

/** A fingerprint (or a unique prefix of one), checked before any I/O. */
function validateFingerprint(fp: unknown): string {
  validateSegment(fp, 'image fingerprint');
  if (!/^[0-9a-f]{1,64}$/i.test(fp as string)) throw new LxdValidationError('image fingerprint', `${JSON.stringify(fp)} is not a fingerprint (hexadecimal, as images.list() gives it)`);
  return fp as string;
}

/** Files of an image to upload: a unified tarball, or split metadata + rootfs tarballs. */
export type ImageFiles = { unified: string } | { metadata: string; rootfs: string };

/**
 * Options of `images.upload()`: `public` (default false), the image's properties, the file name sent, and upload progress.
 */
export interface UploadOptions extends CallOptions {
  public?: boolean;
  properties?: Record<string, string>;
  filename?: string;
  /**
   * Called as the files stream out (after each chunk of up to 256 KiB is handed to the connection),
   * with the bytes sent so far and the request body's total. A callback that throws is ignored.
   */
  onUploadProgress?: (progress: UploadProgress) => void;
}

/** How far an upload has got, in bytes of the request body (multipart framing included). */
export interface UploadProgress {
  sentBytes: number;
  totalBytes: number;
}

/**
 * Options of `images.import()`: the upload's options, the aliases to point at it, and LXD's unpack progress.
 */
export interface ImportOptions extends UploadOptions, Pick<WaitOptions, 'onProgress'> {
  /** Aliases to point at the imported image. */
  aliases?: string[];
  /** Re-point aliases that already exist (default true). */
  replaceAliases?: boolean;
  /** Deadline for the whole import (upload + unpack; default 10 minutes). */
  timeoutMs?: number;
}

/**
 * The image to copy from another server (`images.copyFromRemote()`): the server's URL and protocol, and an alias or a fingerprint.
 */
export interface RemoteImageSource {
  /** The image server URL, e.g. `https://images.example/releases`. */
  server: string;
  protocol: 'simplestreams' | 'lxd';
  alias?: string;
  fingerprint?: string;
  /** PEM certificate of the image server, when the daemon would not trust it otherwise. */
  certificate?: string;
  secret?: string;
  type?: 'container' | 'virtual-machine';
}

/**
 * Options of `images.copyFromRemote()`: aliases for the copy, whether it follows the source (`autoUpdate`) and is public.
 */
export interface CopyOptions extends CallOptions {
  aliases?: string[];
  autoUpdate?: boolean;
  public?: boolean;
}

const CRLF = '\r\n';

async function* multipart(boundary: string, parts: { name: string; file: string }[], signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    yield Buffer.from(partHeader(boundary, part.name, part.file));
    yield* readFileChunks(part.file, { signal });
    yield Buffer.from(CRLF);
  }
  yield Buffer.from(`--${boundary}--${CRLF}`);
}

/** Passes `source` through, reporting the running byte count after each chunk. */
async function* counted(source: AsyncIterable<Uint8Array>, totalBytes: number, report: ((p: UploadProgress) => void) | undefined): AsyncGenerator<Uint8Array> {
  let sentBytes = 0;
  for await (const chunk of source) {
    yield chunk;
    sentBytes += chunk.length;
    if (report) {
      try {
        report({ sentBytes, totalBytes });
      } catch {
        // a progress callback must not break the upload
      }
    }
  }
}

function partHeader(boundary: string, name: string, file: string): string {
  return `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"; filename="${basename(file).replace(/"/g, '')}"${CRLF}Content-Type: application/octet-stream${CRLF}${CRLF}`;
}

/** `/1.0/images` and `/1.0/images/aliases`. */
export class ImagesResource {
  constructor(private readonly api: Api) {}

  /** GET /1.0/images?recursion=1: every image of the project. */
  async list(opts: CallOptions = {}): Promise<LxdImage[]> {
    return (await this.api.sync('GET', '/1.0/images', arrayOf(ImageSchema), { ...opts, query: { recursion: 1 } })).value;
  }

  /** GET /1.0/images/{fingerprint}: one image with its ETag (`LxdNotFoundError` when there is none). */
  async get(fingerprint: string, opts: CallOptions = {}): Promise<WithEtag<LxdImage>> {
    validateSegment(fingerprint, 'image fingerprint');
    return this.api.sync('GET', lxdPath`/1.0/images/${fingerprint}`, ImageSchema, opts);
  }

  /**
   * PUT /1.0/images/{fingerprint}: replaces properties and profiles (pass the ETag of a `get()` to refuse a concurrent change).
   */
  async update(fingerprint: string, body: ImagePut, opts: EtagOptions = {}): Promise<void> {
    validateSegment(fingerprint, 'image fingerprint');
    await this.api.call('PUT', lxdPath`/1.0/images/${fingerprint}`, { ...opts, body: validateBody(ImagePutSchema, body, 'image') });
  }

  /** PATCH /1.0/images/{fingerprint}: merges the properties and profiles given. */
  async patch(fingerprint: string, body: ImagePut, opts: EtagOptions = {}): Promise<void> {
    validateSegment(fingerprint, 'image fingerprint');
    await this.api.call('PATCH', lxdPath`/1.0/images/${fingerprint}`, { ...opts, body: validateBody(ImagePutSchema, body, 'image') });
  }

  /** DELETE /1.0/images/{fingerprint}: resolves to the operation (wait on it). */
  async delete(fingerprint: string, opts: CallOptions = {}): Promise<Operation> {
    validateSegment(fingerprint, 'image fingerprint');
    return this.api.operation('DELETE', lxdPath`/1.0/images/${fingerprint}`, opts);
  }

  // ------------------------------------------------------------------ export, publish, refresh, secret, push

  /**
   * GET /1.0/images/{fingerprint}/export, streamed into the directory `dir` (which must exist): a
   * unified image gives one file, a split image two, metadata first. The file names are the server's,
   * checked as hostile (a plain name only); an existing file is never replaced, and a failed export
   * leaves no file behind. Resolves to the files written.
   */
  async export(fingerprint: string, dir: string, opts: CallOptions = {}): Promise<{ files: ExportedFile[] }> {
    validateFingerprint(fingerprint);
    await checkExportDir(dir);
    const path = lxdPath`/1.0/images/${fingerprint}/export`;
    const res = await this.api.stream('GET', path, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.api.ctx.operationTimeoutMs });
    const boundary = multipartBoundary(res.headers['content-type']);
    if (boundary !== undefined) return { files: await writeMultipart(res.body, boundary, dir, 'GET', path) };
    let name: string;
    try {
      name = safeServerFileName(dispositionFileName(res.headers['content-disposition']) ?? `${fingerprint}.tar`, 'GET', path);
    } catch (err) {
      res.body.destroy();
      throw err;
    }
    return { files: await writeUnified(res.body, dir, name) };
  }

  /**
   * POST /1.0/images from an instance or a snapshot (`lxc publish`): the instance should be stopped.
   * Resolves to the operation; its metadata holds the new image's fingerprint.
   */
  async publish(request: PublishRequest, opts: CallOptions = {}): Promise<Operation> {
    const src = request?.source;
    if (src?.type === 'snapshot') {
      const [instance, snap, ...rest] = String(src.name).split('/');
      if (rest.length > 0 || snap === undefined) throw new LxdValidationError('source.name', `"${src.name}" is not a snapshot: give it as instance/snapshot`);
      validateInstanceName(instance);
      validateSegment(snap, 'snapshot name');
    } else if (src?.type === 'instance') {
      validateInstanceName(src.name);
    }
    for (const a of request?.aliases ?? []) validateSegment(a, 'image alias');
    const body = validateBody(
      ImagePublishPostSchema,
      {
        source: src,
        aliases: request.aliases?.map((name) => ({ name })),
        public: request.public,
        properties: request.properties,
        compression_algorithm: request.compressionAlgorithm,
        expires_at: request.expiresAt,
      },
      'image publish',
    );
    return this.api.operation('POST', '/1.0/images', { ...opts, body });
  }

  /**
   * POST /1.0/images/{fingerprint}/refresh: asks the server to look for a newer version of an image it
   * copied from an image server with auto-update. The operation's metadata says whether it refreshed.
   */
  async refresh(fingerprint: string, opts: CallOptions = {}): Promise<Operation> {
    validateFingerprint(fingerprint);
    return this.api.operation('POST', lxdPath`/1.0/images/${fingerprint}/refresh`, opts);
  }

  /**
   * POST /1.0/images/{fingerprint}/secret: a one-time secret that lets a server which does not trust
   * this one download the image. The operation stays running until the secret is used or cancelled.
   */
  async secret(fingerprint: string, opts: CallOptions = {}): Promise<ImageSecret> {
    validateFingerprint(fingerprint);
    const path = lxdPath`/1.0/images/${fingerprint}/secret`;
    // the token operation runs until the secret is used or cancelled: it is read, never waited on
    const { value: op } = await this.api.sync('POST', path, OperationSchema, opts);
    const secret = op.metadata?.['secret'];
    if (typeof secret !== 'string' || secret === '') throw new LxdResponseValidationError('POST', path, [{ path: ['metadata', 'metadata', 'secret'], message: 'the operation carries no secret' }]);
    return { secret, operationId: op.id };
  }

  /**
   * POST /1.0/images/{fingerprint}/export: this server sends the image to another one (`lxc image copy
   * --mode push`). `to.secret` comes from the other server's push operation. Resolves to the operation.
   */
  async push(fingerprint: string, target: { to: ImagePushTarget }, opts: CallOptions = {}): Promise<Operation> {
    validateFingerprint(fingerprint);
    const to = target?.to;
    for (const a of to?.aliases ?? []) validateSegment(a, 'image alias');
    const body = validateBody(
      ImageExportPostSchema,
      { target: to?.url, secret: to?.secret, certificate: to?.certificate, aliases: to?.aliases?.map((name) => ({ name })), project: to?.project },
      'image push',
    );
    return this.api.operation('POST', lxdPath`/1.0/images/${fingerprint}/export`, { ...opts, body });
  }

  // ------------------------------------------------------------------ aliases

  /** GET /1.0/images/aliases?recursion=1: every alias of the project. */
  async listAliases(opts: CallOptions = {}): Promise<ImageAlias[]> {
    return (await this.api.sync('GET', '/1.0/images/aliases', arrayOf(ImageAliasSchema), { ...opts, query: { recursion: 1 } })).value;
  }

  /** GET /1.0/images/aliases/{name}: one alias with its ETag. */
  async getAlias(name: string, opts: CallOptions = {}): Promise<WithEtag<ImageAlias>> {
    validateSegment(name, 'image alias');
    return this.api.sync('GET', lxdPath`/1.0/images/aliases/${name}`, ImageAliasSchema, opts);
  }

  /** POST /1.0/images/aliases: points a new alias at a fingerprint (`LxdConflictError` when it exists). */
  async createAlias(body: ImageAliasesPost, opts: CallOptions = {}): Promise<void> {
    await this.api.call('POST', '/1.0/images/aliases', { ...opts, body: validateBody(ImageAliasesPostSchema, body, 'image alias') });
  }

  /** PUT /1.0/images/aliases/{name}: points the alias at another fingerprint. */
  async updateAlias(name: string, body: ImageAliasPut, opts: EtagOptions = {}): Promise<void> {
    validateSegment(name, 'image alias');
    await this.api.call('PUT', lxdPath`/1.0/images/aliases/${name}`, { ...opts, body: validateBody(ImageAliasPutSchema, body, 'image alias') });
  }

  /** POST /1.0/images/aliases/{name} `{ name }`: renames an alias. */
  async renameAlias(name: string, newName: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(name, 'image alias');
    validateSegment(newName, 'new image alias');
    await this.api.call('POST', lxdPath`/1.0/images/aliases/${name}`, { ...opts, body: { name: newName } });
  }

  /** DELETE /1.0/images/aliases/{name}: the image stays. */
  async deleteAlias(name: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(name, 'image alias');
    await this.api.call('DELETE', lxdPath`/1.0/images/aliases/${name}`, opts);
  }

  // ------------------------------------------------------------------ uploads

  /**
   * POST /1.0/images with the image files **streamed** from disk (never buffered): a unified tarball as
   * `application/octet-stream`, split files as `multipart/form-data`. Returns the operation; its
   * metadata holds the fingerprint.
   */
  async upload(files: ImageFiles, opts: UploadOptions = {}): Promise<Operation> {
    const props = opts.properties && validateBody(z.record(z.string(), z.string()), opts.properties, 'image properties');
    const kind = await this.api.ctx.serverKind(opts);
    const headers: Record<string, string> = {};
    if (opts.public !== undefined) headers[serverHeader(kind, 'public')] = opts.public ? '1' : '0';
    if (opts.filename) headers[serverHeader(kind, 'filename')] = opts.filename;
    if (props) headers[serverHeader(kind, 'properties')] = new URLSearchParams(props).toString();
    const req = { signal: opts.signal, timeoutMs: opts.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS, headers };
    if ('unified' in files) {
      const size = await sizeOf(files.unified, 'unified');
      return this.api.operation('POST', '/1.0/images', {
        ...req,
        rawBody: {
          stream: counted(readFileChunks(files.unified, { signal: opts.signal }), size, opts.onUploadProgress),
          contentType: 'application/octet-stream',
          contentLength: size,
          reusesChunks: true,
        },
      });
    }
    const [metaSize, rootSize] = await Promise.all([sizeOf(files.metadata, 'metadata'), sizeOf(files.rootfs, 'rootfs')]);
    const boundary = `lxdkit-${randomBytes(12).toString('hex')}`;
    const parts = [
      { name: 'metadata', file: files.metadata },
      { name: files.rootfs.endsWith('.img') || files.rootfs.endsWith('.qcow2') ? 'rootfs.img' : 'rootfs', file: files.rootfs },
    ];
    const length =
      Buffer.byteLength(partHeader(boundary, parts[0]!.name, parts[0]!.file)) + metaSize + 2 +
      Buffer.byteLength(partHeader(boundary, parts[1]!.name, parts[1]!.file)) + rootSize + 2 +
      Buffer.byteLength(`--${boundary}--${CRLF}`);
    return this.api.operation('POST', '/1.0/images', {
      ...req,
      rawBody: { stream: counted(multipart(boundary, parts, opts.signal), length, opts.onUploadProgress), contentType: `multipart/form-data; boundary=${boundary}`, contentLength: length, reusesChunks: true },
    });
  }

  /**
   * Uploads an image (streamed), waits for LXD to unpack it and points `aliases` at it.
   * Resolves to the image.
   */
  async import(files: ImageFiles, opts: ImportOptions = {}): Promise<LxdImage> {
    for (const a of opts.aliases ?? []) validateSegment(a, 'image alias');
    const op = await this.upload(files, opts);
    const done = await op.wait(opts);
    const fingerprint = done.metadata?.['fingerprint'];
    if (typeof fingerprint !== 'string') {
      throw new LxdResponseValidationError('POST', '/1.0/images', [{ path: ['metadata', 'fingerprint'], message: 'the finished upload operation carries no fingerprint' }]);
    }
    const call = { signal: opts.signal };
    for (const alias of opts.aliases ?? []) await this.pointAlias(alias, fingerprint, opts.replaceAliases ?? true, call);
    return (await this.get(fingerprint, call)).value;
  }

  /** Creates the alias, or re-points it when it exists and `replace` is set. */
  async pointAlias(name: string, fingerprint: string, replace = true, opts: CallOptions = {}): Promise<void> {
    try {
      await this.createAlias({ name, target: fingerprint }, opts);
    } catch (err) {
      if (!isConflict(err) || !replace) throw err;
      const current = await this.getAlias(name, opts);
      if (current.value.target !== fingerprint) await this.updateAlias(name, { target: fingerprint, description: current.value.description }, { ...opts, etag: current.etag });
    }
  }

  /**
   * POST /1.0/images with a remote source: LXD pulls the image from a simplestreams or LXD image
   * server into its local store. Wait on the operation with `onProgress` to see download progress.
   */
  async copyFrom(source: RemoteImageSource, opts: CopyOptions = {}): Promise<Operation> {
    if (!source.alias && !source.fingerprint) throw new LxdValidationError('source', 'needs an alias or a fingerprint');
    const body: ImagesPost = validateBody(
      ImagesPostSchema,
      {
        source: {
          type: 'image',
          mode: 'pull',
          server: source.server,
          protocol: source.protocol,
          alias: source.alias,
          fingerprint: source.fingerprint,
          certificate: source.certificate,
          secret: source.secret,
          image_type: source.type,
        },
        aliases: opts.aliases?.map((name) => ({ name })),
        auto_update: opts.autoUpdate ?? false,
        public: opts.public ?? false,
      },
      'image',
    );
    return this.api.operation('POST', '/1.0/images', { ...opts, body });
  }
}

async function sizeOf(path: string, field: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new LxdValidationError(field, `${path} is not a regular file`);
    return s.size;
  } catch (err) {
    if (err instanceof LxdValidationError) throw err;
    throw new LxdValidationError(field, `cannot read ${path}: ${(err as Error).message}`);
  }
}
