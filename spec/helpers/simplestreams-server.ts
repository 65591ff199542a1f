/**
 * A simplestreams mirror on 127.0.0.1 for specs: serves a generated `streams/v1/index.json`, one
 * product file per stream and the item files, under a random path prefix, over http or https (with
 * a fresh self-signed certificate for 127.0.0.1; pass `server.ca` to the client).
 *
 * Products may have items of any ftype (`disk1.img` for KVM, `lxd.tar.xz` + `root.tar.xz` for LXD,
 * …); `sha256` is computed from the content unless a spec overrides it (to test a mismatch), and any
 * extra fields (e.g. `combined_rootxz_sha256`) are copied into the item.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nock from 'nock';

const execFileP = promisify(execFile);

export interface StreamItemSpec {
  ftype: string;
  content: Buffer | string;
  /** The item key in the version; defaults to `ftype`. */
  name?: string;
  /** The path under the mirror; defaults to `images/<product>/<version>/<name>`. */
  path?: string;
  /** Announced SHA-256; defaults to the content's real one. */
  sha256?: string;
  /** Any other fields of the item, e.g. `{ combined_rootxz_sha256: '…' }`. */
  extra?: Record<string, unknown>;
}

export interface StreamProductSpec {
  /** Defaults to `com.ubuntu.cloud:server:<version ?? release>:<arch>`. */
  name?: string;
  release: string;
  version?: string;
  arch: string;
  os?: string;
  aliases?: string;
  /** Version key (e.g. `20240101`) → its items. */
  versions: Record<string, StreamItemSpec[]>;
}

export interface StreamSpec {
  /** Defaults to `com.ubuntu.cloud:released:download`. */
  contentId?: string;
  /** Defaults to `image-downloads`. */
  datatype?: string;
  products: StreamProductSpec[];
}

export interface SimplestreamsServerOptions {
  streams: StreamSpec[];
  https?: boolean;
  /** Called for every request path (below the prefix); return a status to answer with it instead. */
  intercept?: (path: string) => number | undefined;
}

export interface SimplestreamsServer {
  /** The mirror root, ending in `/`, e.g. `http://127.0.0.1:40123/ss-1a2b3c/`. */
  baseUrl: string;
  /** The PEM certificate to trust (https only). */
  ca: string | undefined;
  /** Paths requested below the prefix, in order (e.g. `streams/v1/index.json`). */
  requests: string[];
  /** The absolute URL of a path below the prefix. */
  url(path: string): string;
  close(): Promise<void>;
}

/**
 * Turns nock's HTTP interceptor off until the returned function is called. Once any spec file has
 * imported nock, every node:http request goes through its socket wrapper, which drops a response
 * body that is read with backpressure (e.g. piped to a file) when the server closes the
 * connection. Specs that download real files from this server call it in `before` and the returned
 * function in `after`.
 */
export function pauseNock(): () => void {
  if (!nock.isActive()) return () => undefined;
  nock.restore();
  return () => {
    if (!nock.isActive()) nock.activate();
  };
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

export async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lxdkit-ss-cert-'));
  try {
    await execFileP(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { timeout: 30_000 },
    );
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds the files of the mirror: path below the prefix → content. */
export function buildTree(streams: StreamSpec[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const index: Record<string, unknown> = {};
  for (const stream of streams) {
    const contentId = stream.contentId ?? 'com.ubuntu.cloud:released:download';
    const datatype = stream.datatype ?? 'image-downloads';
    const productsPath = `streams/v1/${contentId}.json`;
    const products: Record<string, unknown> = {};
    for (const p of stream.products) {
      const productName = p.name ?? `com.ubuntu.cloud:server:${p.version ?? p.release}:${p.arch}`;
      const versions: Record<string, unknown> = {};
      for (const [version, items] of Object.entries(p.versions)) {
        const out: Record<string, unknown> = {};
        for (const item of items) {
          const name = item.name ?? item.ftype;
          const path = item.path ?? `images/${productName.replace(/[^A-Za-z0-9._-]/g, '_')}/${version}/${name}`;
          const content = Buffer.from(item.content);
          files.set(path, content);
          out[name] = { ftype: item.ftype, path, size: content.length, sha256: item.sha256 ?? sha256(content), ...item.extra };
        }
        versions[version] = { items: out };
      }
      products[productName] = {
        arch: p.arch,
        release: p.release,
        ...(p.version === undefined ? {} : { version: p.version }),
        os: p.os ?? 'ubuntu',
        ...(p.aliases === undefined ? {} : { aliases: p.aliases }),
        versions,
      };
    }
    files.set(productsPath, Buffer.from(JSON.stringify({ content_id: contentId, datatype, format: 'products:1.0', products })));
    index[contentId] = {
      datatype,
      format: 'products:1.0',
      path: productsPath,
      products: Object.keys(products),
      updated: new Date(0).toUTCString(),
    };
  }
  files.set('streams/v1/index.json', Buffer.from(JSON.stringify({ format: 'index:1.0', index })));
  return files;
}

/** Starts the mirror on 127.0.0.1 (an ephemeral port). Close it in `after`. */
export async function startSimplestreamsServer(opts: SimplestreamsServerOptions): Promise<SimplestreamsServer> {
  const files = buildTree(opts.streams);
  const prefix = `/ss-${randomBytes(6).toString('hex')}/`;
  const requests: string[] = [];
  const handler: http.RequestListener = (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (req.method !== 'GET' || !pathname.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    const path = pathname.slice(prefix.length);
    requests.push(path);
    const forced = opts.intercept?.(path);
    if (forced !== undefined) {
      res.writeHead(forced).end();
      return;
    }
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(body);
  };
  let ca: string | undefined;
  let server: http.Server;
  if (opts.https) {
    const { key, cert } = await selfSignedCert();
    ca = cert;
    server = https.createServer({ key, cert }, handler);
  } else {
    server = http.createServer(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}${prefix}`;
  return {
    baseUrl,
    ca,
    requests,
    url: (path) => new URL(path, baseUrl).href,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
