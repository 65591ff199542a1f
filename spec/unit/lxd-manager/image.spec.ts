import { expect } from 'chai';
import nock from 'nock';
import {
  CloudImagesDailyRemote,
  CloudImagesRemote,
  SimplestreamsImageServer,
  ensureHTTPS,
  getImageSources,
  lxdImageMetadataURL,
  seriesRemoteAliases,
} from '../../../lib/container/lxd/index.js';
import { buildTree, sha256 } from '../../helpers/simplestreams-server.js';

const ORIGIN = 'https://images.example.test';

function serve(tree: Map<string, Buffer>, prefix = '/ss/'): nock.Scope {
  const scope = nock(ORIGIN);
  for (const [path, body] of tree) scope.get(`${prefix}${path}`).optionally().reply(200, body).persist();
  return scope;
}

const lxdItems = (meta: string, root: string, extra: Record<string, unknown> = {}) => [
  { ftype: 'lxd.tar.xz', content: meta, extra: { combined_rootxz_sha256: sha256(Buffer.concat([Buffer.from(meta), Buffer.from(root)])), ...extra } },
  { ftype: 'root.tar.xz', content: root },
];

describe('LXD image sources and the simplestreams image server', () => {
  describe('ensureHTTPS / lxdImageMetadataURL / getImageSources', () => {
    it('rewrites addresses as Juju does', () => {
      expect(ensureHTTPS('https://a')).to.equal('https://a');
      expect(ensureHTTPS('http://a/http://b')).to.equal('https://a/http://b');
      expect(ensureHTTPS('a.example')).to.equal('https://a.example');
    });

    it('maps metadata URLs and paths', () => {
      expect(lxdImageMetadataURL('http://cloud-images.ubuntu.com', '')).to.equal('http://cloud-images.ubuntu.com/releases');
      expect(lxdImageMetadataURL('http://cloud-images.ubuntu.com', 'released')).to.equal('http://cloud-images.ubuntu.com/releases');
      expect(lxdImageMetadataURL('http://cloud-images.ubuntu.com', 'daily')).to.equal('http://cloud-images.ubuntu.com/daily');
      expect(lxdImageMetadataURL('https://x/y', 'daily')).to.equal('https://x/y');
      expect(lxdImageMetadataURL('test://x', '')).to.equal('test://x');
      expect(lxdImageMetadataURL('/srv/mirror', '')).to.equal('file:///srv/mirror/images');
      expect(lxdImageMetadataURL('/srv/mirror/images', '')).to.equal('file:///srv/mirror/images');
      expect(() => lxdImageMetadataURL('srv', '')).to.throw('srv is not an absolute path');
    });

    it('orders the sources by stream', () => {
      expect(getImageSources('', '')).to.deep.equal([CloudImagesRemote, CloudImagesDailyRemote]);
      expect(getImageSources('', 'nope')).to.deep.equal([CloudImagesRemote, CloudImagesDailyRemote]);
      expect(getImageSources('', 'daily')).to.deep.equal([CloudImagesDailyRemote]);
      expect(getImageSources('http://m.example/x', 'daily')).to.deep.equal([{ name: 'm.example/x', host: 'https://m.example/x', protocol: 'simplestreams' }, CloudImagesDailyRemote]);
      expect(getImageSources('http://cloud-images.ubuntu.com', 'daily').map((s) => s.host)).to.deep.equal(['https://cloud-images.ubuntu.com/daily', CloudImagesDailyRemote.host]);
      expect(() => getImageSources('rel', '')).to.throw('generating image metadata source: rel is not an absolute path');
    });

    it('gives the remote aliases of a series', () => {
      expect(seriesRemoteAliases('xenial', 'amd64')).to.deep.equal(['xenial/amd64']);
      expect(seriesRemoteAliases('focal', 'arm64')).to.deep.equal(['focal/arm64']);
      expect(seriesRemoteAliases('centos7', 'amd64')).to.deep.equal(['centos/7/amd64']);
      expect(seriesRemoteAliases('centos8', 'amd64')).to.deep.equal(['centos/8/amd64']);
      expect(seriesRemoteAliases('opensuseleap', 'amd64')).to.deep.equal(['opensuse/42.2/amd64']);
      expect(() => seriesRemoteAliases('centos7', 'arm64')).to.throw('series "centos7" not supported');
      expect(() => seriesRemoteAliases('win2012', 'amd64')).to.throw('series "win2012" not supported');
      expect(() => seriesRemoteAliases('pldlinux', 'amd64')).to.throw(/series: "pldlinux"/);
    });
  });

  describe('SimplestreamsImageServer (nock)', () => {
    beforeEach(() => nock.disableNetConnect());
    afterEach(() => {
      nock.cleanAll();
      nock.enableNetConnect();
    });

    it('resolves <alias>/<arch> to the newest version\'s combined fingerprint, and reads the stream once', async () => {
      const tree = buildTree([
        {
          products: [
            { release: 'focal', version: '20.04', arch: 'amd64', aliases: '20.04,f,focal', versions: { '20240101': lxdItems('m1', 'r1'), '20240202': lxdItems('m2', 'r2') } },
            { release: 'focal', version: '20.04', arch: 'arm64', aliases: '20.04,focal', versions: { '20240202': lxdItems('m3', 'r3') } },
            { release: 'jammy', version: '22.04', arch: 'amd64', aliases: 'jammy', versions: { '1': [{ ftype: 'disk1.img', content: 'kvm' }] } },
          ],
        },
      ]);
      let indexReads = 0;
      const scope = nock(ORIGIN);
      for (const [path, body] of tree) {
        scope.get(`/ss/${path}`).optionally().reply(200, () => {
          if (path === 'streams/v1/index.json') indexReads += 1;
          return body;
        }).persist();
      }
      const server = new SimplestreamsImageServer({ name: 'x', host: `${ORIGIN}/ss`, protocol: 'simplestreams' });
      const want = sha256('m2r2');
      expect(await server.aliasTarget('focal/amd64')).to.equal(want);
      expect(await server.aliasTarget('f/amd64')).to.equal(want);
      expect(await server.aliasTarget('focal/arm64')).to.equal(sha256('m3r3'));
      expect(await server.aliasTarget('jammy/amd64')).to.equal(undefined);
      expect(await server.aliasTarget('focal')).to.equal(undefined);
      expect(await server.image(want)).to.deep.include({ fingerprint: want, architecture: 'amd64', version: '20240202' });
      expect(await server.image(sha256('m1r1'))).to.equal(undefined);
      expect(indexReads).to.equal(1);
    });

    it('reads the metadata item of the daemon that will pull: lxd.tar.xz for LXD, incus.tar.xz for Incus', async () => {
      const items = [
        { ftype: 'lxd.tar.xz', content: 'ml', extra: { combined_rootxz_sha256: 'l'.repeat(64) } },
        { ftype: 'incus.tar.xz', content: 'mi', extra: { combined_rootxz_sha256: 'i'.repeat(64) } },
        { ftype: 'root.tar.xz', content: 'r' },
      ];
      const onlyLxd = [items[0]!, items[2]!];
      serve(buildTree([{ products: [
        { release: 'focal', arch: 'amd64', aliases: 'focal', versions: { '1': items } },
        { release: 'jammy', arch: 'amd64', aliases: 'jammy', versions: { '1': onlyLxd } },
      ] }]));
      const server = new SimplestreamsImageServer({ name: 'x', host: `${ORIGIN}/ss/`, protocol: 'simplestreams' });
      expect(await server.aliasTarget('focal/amd64')).to.equal('l'.repeat(64));
      expect(await server.aliasTarget('focal/amd64', { server: 'lxd' })).to.equal('l'.repeat(64));
      expect(await server.aliasTarget('focal/amd64', { server: 'incus' })).to.equal('i'.repeat(64));
      expect(await server.image('i'.repeat(64), { server: 'incus' })).to.deep.include({ architecture: 'amd64' });
      expect(await server.image('i'.repeat(64), { server: 'lxd' })).to.equal(undefined);
      // a version with LXD's item only (as Ubuntu's cloud-images publish) has nothing for Incus
      expect(await server.aliasTarget('jammy/amd64', { server: 'lxd' })).to.equal('l'.repeat(64));
      expect(await server.aliasTarget('jammy/amd64', { server: 'incus' })).to.equal(undefined);
    });

    it('prefers the squashfs fingerprint when a squashfs is published', async () => {
      const items = [
        { ftype: 'lxd.tar.xz', content: 'm', extra: { combined_rootxz_sha256: 'r'.repeat(64), combined_squashfs_sha256: 's'.repeat(64) } },
        { ftype: 'root.tar.xz', content: 'r' },
        { ftype: 'squashfs', content: 's' },
      ];
      serve(buildTree([{ products: [{ release: 'focal', arch: 'amd64', aliases: 'focal', versions: { '1': items } }] }]));
      const server = new SimplestreamsImageServer({ name: 'x', host: `${ORIGIN}/ss/`, protocol: 'simplestreams' });
      expect(await server.aliasTarget('focal/amd64')).to.equal('s'.repeat(64));
    });

    it('surfaces a failing server (the manager treats it as "no image here")', async () => {
      nock(ORIGIN).get('/ss/streams/v1/index.json').reply(500);
      const server = new SimplestreamsImageServer({ name: 'x', host: `${ORIGIN}/ss`, protocol: 'simplestreams' });
      let err: Error | undefined;
      await server.aliasTarget('focal/amd64').catch((e: Error) => (err = e));
      expect(err?.message).to.match(/got 500/);
    });
  });
});
