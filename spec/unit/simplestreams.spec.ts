import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import {
  SimplestreamsClient,
  SimplestreamsError,
  SimplestreamsErrorCode,
  imageMetadataURL,
} from '../../lib/simplestreams/index.js';
import { buildTree, sha256, startSimplestreamsServer } from '../helpers/simplestreams-server.js';
import { rejection } from '../helpers/rejection.js';

const ORIGIN = 'http://images.example.test';
const BASE = `${ORIGIN}/releases/`;

/** Serves a tree built by the spec helper through nock, under /releases/. */
function serveTree(tree: Map<string, Buffer>): nock.Scope {
  const scope = nock(ORIGIN);
  for (const [path, body] of tree) scope.get(`/releases/${path}`).optionally().reply(200, body).persist();
  return scope;
}

const focal = (versions: Record<string, { ftype: string; content: string; extra?: Record<string, unknown> }[]>) => ({
  release: 'focal',
  version: '20.04',
  arch: 'amd64',
  versions,
});

describe('simplestreams reader', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-ss-unit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  describe('findImage', () => {
    it('picks the newest version of the matching product that has the wanted ftype', async () => {
      serveTree(
        buildTree([
          {
            products: [
              focal({
                '20240101': [{ ftype: 'disk1.img', content: 'old' }],
                '20240301': [{ ftype: 'disk1.img', content: 'new' }],
                '20240401': [{ ftype: 'root.tar.xz', content: 'no disk here' }],
              }),
              { release: 'focal', version: '20.04', arch: 'arm64', versions: { '20240501': [{ ftype: 'disk1.img', content: 'arm' }] } },
              { release: 'jammy', version: '22.04', arch: 'amd64', versions: { '20240501': [{ ftype: 'disk1.img', content: 'jammy' }] } },
            ],
          },
        ]),
      );
      const ss = new SimplestreamsClient(BASE);
      const image = await ss.findImage({ release: 'focal', arch: 'amd64', ftypes: ['disk1.img'] });
      expect(image.product).to.equal('com.ubuntu.cloud:server:20.04:amd64');
      expect(image.contentId).to.equal('com.ubuntu.cloud:released:download');
      expect(image.version).to.equal('20240301');
      expect(image.releaseVersion).to.equal('20.04');
      const item = image.items['disk1.img'];
      expect(item?.sha256).to.equal(sha256('new'));
      expect(item?.url).to.equal(`${BASE}images/com.ubuntu.cloud_server_20.04_amd64/20240301/disk1.img`);
    });

    it('matches a release by its number as well as its code name', async () => {
      serveTree(buildTree([{ products: [focal({ '20240101': [{ ftype: 'disk1.img', content: 'x' }] })] }]));
      const image = await new SimplestreamsClient(BASE).findImage({ release: '20.04', arch: 'amd64' });
      expect(image.release).to.equal('focal');
    });

    it('requires every listed ftype (LXD: lxd.tar.xz and root.tar.xz) and keeps extra item fields', async () => {
      serveTree(
        buildTree([
          {
            contentId: 'images',
            products: [
              {
                name: 'ubuntu:focal:amd64:default',
                release: 'focal',
                arch: 'amd64',
                aliases: 'ubuntu/focal, ubuntu/20.04',
                versions: {
                  '20240102_07:42': [{ ftype: 'lxd.tar.xz', content: 'meta-only' }],
                  '20240101_07:42': [
                    { ftype: 'lxd.tar.xz', content: 'meta', extra: { combined_rootxz_sha256: 'ab'.repeat(32) } },
                    { ftype: 'root.tar.xz', content: 'root' },
                  ],
                },
              },
            ],
          },
        ]),
      );
      const image = await new SimplestreamsClient(BASE).findImage({ release: 'focal', arch: 'amd64', ftypes: ['lxd.tar.xz', 'root.tar.xz'] });
      expect(image.version).to.equal('20240101_07:42');
      expect(image.contentId).to.equal('images');
      expect(image.aliases).to.deep.equal(['ubuntu/focal', 'ubuntu/20.04']);
      expect(image.items['lxd.tar.xz']?.raw['combined_rootxz_sha256']).to.equal('ab'.repeat(32));
      expect(Object.keys(image.items).sort()).to.deep.equal(['lxd.tar.xz', 'root.tar.xz']);
    });

    it('reads only the index entries of the wanted content id and datatype', async () => {
      const tree = buildTree([
        { contentId: 'com.ubuntu.cloud:daily:download', products: [focal({ '20990101': [{ ftype: 'disk1.img', content: 'daily' }] })] },
        { contentId: 'com.ubuntu.cloud:released:download', products: [focal({ '20240101': [{ ftype: 'disk1.img', content: 'rel' }] })] },
        { contentId: 'com.ubuntu.cloud:released:aws', datatype: 'image-ids', products: [focal({ '20990101': [{ ftype: 'disk1.img', content: 'ami' }] })] },
      ]);
      const scope = nock(ORIGIN)
        .get('/releases/streams/v1/index.json')
        .reply(200, tree.get('streams/v1/index.json'))
        .get('/releases/streams/v1/com.ubuntu.cloud:released:download.json')
        .reply(200, tree.get('streams/v1/com.ubuntu.cloud:released:download.json'));
      const images = await new SimplestreamsClient(BASE).findImages({
        release: 'focal',
        arch: 'amd64',
        contentId: 'com.ubuntu.cloud:released:download',
      });
      expect(images.map((i) => i.version)).to.deep.equal(['20240101']);
      expect(scope.isDone()).to.equal(true);
    });

    it('inherits arch and release from the top of the product file', async () => {
      nock(ORIGIN)
        .get('/releases/streams/v1/index.json')
        .reply(200, { index: { c: { datatype: 'image-downloads', path: 'streams/v1/c.json' } } })
        .get('/releases/streams/v1/c.json')
        .reply(200, {
          content_id: 'c',
          arch: 'amd64',
          release: 'focal',
          products: { p: { versions: { '1': { items: { 'disk1.img': { ftype: 'disk1.img', path: 'p/disk1.img' } } } } } },
        });
      const image = await new SimplestreamsClient(BASE).findImage({ release: 'focal', arch: 'amd64', ftypes: ['disk1.img'] });
      expect(image.product).to.equal('p');
      expect(image.items['disk1.img']?.url).to.equal(`${BASE}p/disk1.img`);
    });

    it('throws NOT_FOUND naming the query when nothing matches', async () => {
      serveTree(buildTree([{ products: [focal({ '20240101': [{ ftype: 'disk1.img', content: 'x' }] })] }]));
      const err = await rejection(new SimplestreamsClient(BASE).findImage({ release: 'jammy', arch: 'amd64', ftypes: ['disk1.img'] }));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.NOT_FOUND)).to.equal(true);
      expect((err as Error).message).to.equal(`no image found for jammy amd64 with disk1.img at ${BASE}`);
    });
  });

  describe('errors', () => {
    it('reports a missing index as an HTTP error with the status', async () => {
      nock(ORIGIN).get('/releases/streams/v1/index.json').reply(404);
      const err = await rejection(new SimplestreamsClient(BASE).index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.HTTP)).to.equal(true);
      expect((err as SimplestreamsError).status).to.equal(404);
      expect((err as Error).message).to.equal(`got 404 fetching simplestreams document ${BASE}streams/v1/index.json`);
    });

    it('rejects a document that is not JSON', async () => {
      nock(ORIGIN).get('/releases/streams/v1/index.json').reply(200, '<html>');
      const err = await rejection(new SimplestreamsClient(BASE).index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.INVALID_RESPONSE)).to.equal(true);
      expect((err as Error).message).to.match(/index\.json is not valid JSON/);
    });

    it('rejects JSON without the simplestreams shape, naming the field', async () => {
      nock(ORIGIN).get('/releases/streams/v1/index.json').reply(200, { index: { c: { path: 'x.json' } } });
      const err = await rejection(new SimplestreamsClient(BASE).index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.INVALID_RESPONSE)).to.equal(true);
      expect((err as Error).message).to.contain('(index.c.datatype:');
    });

    it('refuses a document larger than maxJsonBytes', async () => {
      nock(ORIGIN).get('/releases/streams/v1/index.json').reply(200, { index: {}, pad: 'x'.repeat(4096) });
      const err = await rejection(new SimplestreamsClient(BASE, { maxJsonBytes: 1024 }).index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.INVALID_RESPONSE)).to.equal(true);
      expect((err as Error).message).to.contain('larger than 1024 bytes');
    });

    it('refuses paths that leave the mirror', async () => {
      nock(ORIGIN)
        .get('/releases/streams/v1/index.json')
        .reply(200, { index: { c: { datatype: 'image-downloads', path: '../../etc/c.json' } } });
      const err = await rejection(new SimplestreamsClient(BASE).findImages({}));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.INVALID_RESPONSE)).to.equal(true);
      expect((err as Error).message).to.contain('"../../etc/c.json" is not relative to the stream');
    });

    it('refuses a URL that is not http(s) before any I/O', () => {
      expect(() => new SimplestreamsClient('file:///srv/images'))
        .to.throw(SimplestreamsError)
        .with.property('code', SimplestreamsErrorCode.INVALID_ARGUMENT);
    });

    it('times out a server that does not answer, and one that stalls in the body', async () => {
      nock.enableNetConnect('127.0.0.1');
      const stalled = http.createServer((req, res) => {
        if (req.url?.endsWith('/body')) {
          res.writeHead(200, { 'content-length': '100' });
          res.write('{"index":');
        }
      });
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const { port } = stalled.address() as AddressInfo;
      try {
        const ss = new SimplestreamsClient(`http://127.0.0.1:${port}/`, { timeoutMs: 100 });
        const noAnswer = await rejection(ss.index());
        expect(SimplestreamsError.is(noAnswer, SimplestreamsErrorCode.TIMEOUT)).to.equal(true);
        expect((noAnswer as Error).message).to.equal(`no answer from http://127.0.0.1:${port}/streams/v1/index.json for 100 ms`);
        const noData = await rejection(ss.download(`http://127.0.0.1:${port}/body`, join(dir, 'stalled.img')));
        expect(SimplestreamsError.is(noData, SimplestreamsErrorCode.TIMEOUT)).to.equal(true);
        expect((noData as Error).message).to.equal(`no data from http://127.0.0.1:${port}/body for 100 ms`);
        expect(existsSync(join(dir, 'stalled.img'))).to.equal(false);
      } finally {
        stalled.closeAllConnections();
        await new Promise((resolve) => stalled.close(resolve));
      }
    });

    it('reports a refused connection as CONNECTION', async () => {
      nock.enableNetConnect('127.0.0.1');
      const err = await rejection(new SimplestreamsClient('http://127.0.0.1:1/x/').index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.CONNECTION)).to.equal(true);
      expect((err as Error).message).to.contain('ECONNREFUSED');
    });

    it('rethrows the caller abort reason and sends nothing when already aborted', async () => {
      const scope = nock(ORIGIN).get('/releases/streams/v1/index.json').reply(200, { index: {} });
      const reason = new Error('stop');
      const err = await rejection(new SimplestreamsClient(BASE).index({ signal: AbortSignal.abort(reason) }));
      expect(err).to.equal(reason);
      expect(scope.isDone()).to.equal(false);
    });

    it('follows a redirect', async () => {
      nock(ORIGIN)
        .get('/releases/streams/v1/index.json')
        .reply(302, '', { location: '/mirror/streams/v1/index.json' })
        .get('/mirror/streams/v1/index.json')
        .reply(200, { index: {} });
      const idx = await new SimplestreamsClient(BASE).index();
      expect(idx.index).to.deep.equal({});
    });

    it('refuses a redirect from https down to plain http', async () => {
      const secure = 'https://images.example';
      const scope = nock(secure).get('/releases/streams/v1/index.json').reply(302, '', { location: 'http://images.example/releases/streams/v1/index.json' });
      const plain = nock('http://images.example').get('/releases/streams/v1/index.json').reply(200, { index: {} });
      const err = await rejection(new SimplestreamsClient(`${secure}/releases/`).index());
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.HTTP), String(err)).to.equal(true);
      expect((err as Error).message).to.contain('redirects from https to plain http');
      expect(scope.isDone()).to.equal(true);
      expect(plain.isDone(), 'the http URL was never fetched').to.equal(false);
    });
  });

  describe('download', () => {
    const body = Buffer.from('a small image '.repeat(1000));

    it('writes the file, reports progress and returns the SHA-256', async () => {
      nock(ORIGIN).get('/releases/x/disk1.img').reply(200, body, { 'content-length': String(body.length) });
      const seen: number[] = [];
      const dest = join(dir, 'ok.img');
      const res = await new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, dest, {
        sha256: sha256(body),
        onProgress: (p) => {
          expect(p.total).to.equal(body.length);
          seen.push(p.received);
        },
      });
      expect(res).to.deep.equal({ path: dest, bytes: body.length, sha256: sha256(body) });
      expect(await readFile(dest)).to.deep.equal(body);
      expect(seen.at(-1)).to.equal(body.length);
    });

    it("removes the file on a checksum mismatch, with Juju's text", async () => {
      nock(ORIGIN).get('/releases/x/disk1.img').reply(200, body);
      const dest = join(dir, 'bad.img');
      const want = '0'.repeat(64);
      const err = await rejection(new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, dest, { sha256: want }));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.CHECKSUM_MISMATCH)).to.equal(true);
      expect((err as Error).message).to.equal(`hash sum mismatch for ${dest}: ${sha256(body)} != ${want}`);
      expect(existsSync(dest)).to.equal(false);
    });

    it("answers a 404 with Juju's text and leaves no file", async () => {
      nock(ORIGIN).get('/releases/x/disk1.img').reply(404);
      const dest = join(dir, 'missing.img');
      const err = await rejection(new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, dest));
      expect((err as Error).message).to.equal('got 404 fetching image "disk1.img"');
      expect(existsSync(dest)).to.equal(false);
    });

    it('leaves a file that was already at the destination alone', async () => {
      nock(ORIGIN).get('/releases/x/disk1.img').reply(200, body);
      const dest = join(dir, 'existing.img');
      await writeFile(dest, 'keep me');
      const err = await rejection(new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, dest));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.CONNECTION)).to.equal(true);
      expect((err as Error).message).to.contain('EEXIST');
      expect(await readFile(dest, 'utf8')).to.equal('keep me');
    });

    it('cuts off a download that runs past the size the stream announced, and removes the file', async () => {
      nock(ORIGIN).get('/releases/x/disk1.img').reply(200, body);
      const dest = join(dir, 'long.img');
      const err = await rejection(new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, dest, { size: 1000 }));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.CHECKSUM_MISMATCH), String(err)).to.equal(true);
      expect((err as Error).message).to.contain('larger than the 1000 bytes announced');
      expect(existsSync(dest)).to.equal(false);
    });

    it('refuses a malformed sha256 before downloading', async () => {
      const scope = nock(ORIGIN).get('/releases/x/disk1.img').reply(200, body);
      const err = await rejection(new SimplestreamsClient(BASE).download(`${BASE}x/disk1.img`, join(dir, 'n.img'), { sha256: 'abc' }));
      expect(SimplestreamsError.is(err, SimplestreamsErrorCode.INVALID_ARGUMENT)).to.equal(true);
      expect(scope.isDone()).to.equal(false);
    });
  });

  describe('against the spec mirror on 127.0.0.1 over https', () => {
    it('finds and downloads an image when given the CA, and fails without it', async () => {
      nock.enableNetConnect('127.0.0.1');
      const server = await startSimplestreamsServer({
        https: true,
        streams: [{ products: [focal({ '20240101': [{ ftype: 'disk1.img', content: 'tls image' }] })] }],
      });
      try {
        const ss = new SimplestreamsClient(server.baseUrl, { ca: server.ca });
        const image = await ss.findImage({ release: 'focal', arch: 'amd64', ftypes: ['disk1.img'] });
        const item = image.items['disk1.img'];
        expect(item?.url.startsWith(server.baseUrl)).to.equal(true);
        const dest = join(dir, 'tls.img');
        await ss.download(item?.url ?? '', dest, { sha256: item?.sha256 ?? '' });
        expect(await readFile(dest, 'utf8')).to.equal('tls image');
        expect(server.requests).to.deep.equal([
          'streams/v1/index.json',
          'streams/v1/com.ubuntu.cloud:released:download.json',
          'images/com.ubuntu.cloud_server_20.04_amd64/20240101/disk1.img',
        ]);
        const err = await rejection(new SimplestreamsClient(server.baseUrl).index());
        expect(SimplestreamsError.is(err, SimplestreamsErrorCode.CONNECTION)).to.equal(true);
      } finally {
        await server.close();
      }
    });
  });

  describe('imageMetadataURL', () => {
    it("applies Juju's cloud-images rule and passes other URLs through", () => {
      expect(imageMetadataURL('http://cloud-images.ubuntu.com', '')).to.equal('http://cloud-images.ubuntu.com/releases');
      expect(imageMetadataURL('http://cloud-images.ubuntu.com', 'released')).to.equal('http://cloud-images.ubuntu.com/releases');
      expect(imageMetadataURL('http://cloud-images.ubuntu.com', 'daily')).to.equal('http://cloud-images.ubuntu.com/daily');
      expect(imageMetadataURL('https://mirror.example/images', 'daily')).to.equal('https://mirror.example/images');
    });
  });
});
