/**
 * A remote over HTTPS, checked three ways: a pinned server certificate, a CA (`tls.ca`, `--ca`), or
 * the system's CAs. Fake HTTPS servers on 127.0.0.1 with a throwaway CA made at spec time (openssl):
 * a server whose certificate chains to the CA is reached, requests and the events websocket alike;
 * any other is refused with LXD_ERR_CONNECTION, and the built command exits 6.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { WebSocketServer } from 'ws';
import { LxdClient, LxdConnectionError, LxdErrorCode } from '../../../lib/lxd/index.js';
import { ensureBuilt, lxdkit } from '../../helpers/cli.js';
import { serverInfo } from '../../helpers/fake-lxd.js';
import { rejection } from '../../helpers/rejection.js';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';
import { pauseNock, startSimplestreamsServer, type SimplestreamsServer } from '../../helpers/simplestreams-server.js';
import { SimplestreamsClient } from '../../../lib/simplestreams/index.js';
import { bypassesProxy, ProxyError, proxyFor } from '../../../lib/proxy.js';
import type { Logger } from '../../../lib/logger.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { makeSelfSigned, makeSigned, type TestPem as Pem } from '../../helpers/tls-test.js';

const envelope = (metadata: unknown): string => JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata });

interface FakeRemote {
  url: string;
  /** Requests and websocket upgrades that got through the TLS handshake. */
  reached: string[];
  close(): Promise<void>;
}

/** A fake LXD over HTTPS on 127.0.0.1: `GET /1.0` is the server, every other GET an empty list; `/1.0/events` is a websocket. */
async function startRemote(pem: Pem): Promise<FakeRemote> {
  const reached: string[] = [];
  const server = https.createServer({ cert: pem.cert, key: pem.key }, (req, res) => {
    reached.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(envelope(req.url === '/1.0' ? serverInfo() : []));
  });
  const wss = new WebSocketServer({ server, path: '/1.0/events' });
  wss.on('connection', (_socket, req) => reached.push(`WS ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    reached,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a remote over HTTPS: pinned, by CA, by the system CAs', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: Pem;
  let otherCa: Pem;
  let client: Pem;
  /** Signed by `ca`, for IP 127.0.0.1. */
  let good: FakeRemote;
  /** Signed by `otherCa`, for IP 127.0.0.1. */
  let stranger: FakeRemote;
  /** Signed by `ca`, but for another host name. */
  let misnamed: FakeRemote;
  let goodPem: Pem;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-tls-spec-'));
    ca = makeSelfSigned(dir, 'ca');
    otherCa = makeSelfSigned(dir, 'other-ca');
    goodPem = makeSigned(dir, 'server', ca, 'IP:127.0.0.1');
    client = makeSigned(dir, 'client', ca, 'DNS:client.invalid');
    good = await startRemote(goodPem);
    stranger = await startRemote(makeSigned(dir, 'stranger', otherCa, 'IP:127.0.0.1'));
    misnamed = await startRemote(makeSigned(dir, 'misnamed', ca, 'DNS:elsewhere.invalid'));
  });

  after(async function () {
    await Promise.all([good, stranger, misnamed].map((s) => s?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tlsWith = (extra: { ca?: string | string[]; serverCert?: string }) => ({ cert: client.cert, key: client.key, ...extra });

  async function expectReached(remote: FakeRemote, lxd: LxdClient): Promise<void> {
    try {
      const before = remote.reached.length;
      expect((await lxd.server.get()).value.auth).to.equal('trusted');
      const sub = lxd.events.subscribe({ connectTimeoutMs: 5_000, reconnect: false });
      try {
        await sub.ready;
      } finally {
        sub.close();
      }
      expect(remote.reached.slice(before)).to.deep.equal(['GET /1.0', 'WS /1.0/events']);
    } finally {
      await lxd.close();
    }
  }

  async function expectRefused(remote: FakeRemote, lxd: LxdClient, why: RegExp): Promise<void> {
    try {
      const before = remote.reached.length;
      const rest = await rejection(lxd.server.get());
      expect(rest, String(rest)).to.be.instanceOf(LxdConnectionError);
      expect((rest as LxdConnectionError).code).to.equal(LxdErrorCode.CONNECTION);
      expect((rest as Error).message).to.contain(remote.url).and.match(why);
      const sub = lxd.events.subscribe({ connectTimeoutMs: 5_000, reconnect: false });
      sub.on('error', () => {});
      const ws = await rejection(sub.ready);
      sub.close();
      expect(ws, String(ws)).to.be.instanceOf(LxdConnectionError);
      expect((ws as Error).message).to.contain(remote.url).and.match(why);
      expect(remote.reached.slice(before), 'nothing got through the handshake').to.deep.equal([]);
    } finally {
      await lxd.close();
    }
  }

  it('with tls.ca alone, reaches a server whose certificate chains to it: requests and the events websocket', async function () {
    await expectReached(good, new LxdClient({ url: good.url, tls: tlsWith({ ca: ca.cert }) }));
    await expectReached(good, new LxdClient({ url: good.url, tls: tlsWith({ ca: [otherCa.cert, ca.cert] }) }));
  });

  it('with tls.ca alone, refuses a server of another CA, and one whose certificate does not name the host', async function () {
    await expectRefused(stranger, new LxdClient({ url: stranger.url, tls: tlsWith({ ca: ca.cert }) }), /TLS handshake failed: .*certificate.*chains to the given CA/);
    await expectRefused(misnamed, new LxdClient({ url: misnamed.url, tls: tlsWith({ ca: ca.cert }) }), /TLS handshake failed: .*(altnames|Hostname)/);
  });

  it('with neither ca nor serverCert, trusts the system CAs only: a private CA is refused', async function () {
    await expectRefused(good, new LxdClient({ url: good.url, tls: tlsWith({}) }), /TLS handshake failed: .*system CA/);
  });

  it('with serverCert, reaches the server presenting exactly it and refuses another, whatever its CA', async function () {
    await expectReached(good, new LxdClient({ url: good.url, tls: tlsWith({ serverCert: goodPem.cert }) }));
    await expectRefused(stranger, new LxdClient({ url: stranger.url, tls: tlsWith({ serverCert: goodPem.cert, ca: [ca.cert, otherCa.cert] }) }), /TLS handshake failed: .*pinned/);
  });

  it('the built command: --ca reaches the server; another CA, or no CA but the system ones, exits 6 naming the URL', async function () {
    this.timeout(240_000);
    ensureBuilt();
    const keyFile = join(dir, 'client-600.key');
    writeFileSync(keyFile, client.key, { mode: 0o600 });
    const base = (url: string) => ['--remote', url, '--client-cert', client.certFile, '--client-key', keyFile];
    // no socket: nothing can go anywhere but to the remote
    const env = { LXD_SOCKET: join(dir, 'no-such.socket') };

    const ok = await lxdkit([...base(good.url), '--ca', ca.certFile, 'status', '--json'], undefined, env);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stdout)).to.deep.include({ endpoint: good.url });

    for (const args of [[...base(stranger.url), '--ca', ca.certFile], [...base(good.url), '--ca', otherCa.certFile], base(good.url)]) {
      const refused = await lxdkit([...args, 'status'], undefined, env);
      expect(refused.code, `${args.join(' ')}: ${refused.stderr}`).to.equal(6);
      expect(refused.stderr).to.match(/^lxdkit: LXD server https:\/\/127\.0\.0\.1:\d+: TLS handshake failed: /);
    }
  });

  it('the built command with no --ca trusts the system CAs, NODE_EXTRA_CA_CERTS included', async function () {
    this.timeout(240_000);
    ensureBuilt();
    const keyFile = join(dir, 'client-600b.key');
    writeFileSync(keyFile, client.key, { mode: 0o600 });
    const run = await lxdkit(['--remote', good.url, '--client-cert', client.certFile, '--client-key', keyFile, 'status', '--json'], undefined, {
      LXD_SOCKET: join(dir, 'no-such.socket'),
      NODE_EXTRA_CA_CERTS: ca.certFile,
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.include({ endpoint: good.url });
  });
});

describe('a remote and an image server through HTTPS_PROXY / HTTP_PROXY, as lxc honours them', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: Pem;
  let client: Pem;
  /** Signed by `ca` for the name lxd.test, which only the proxy resolves (to 127.0.0.1). */
  let named: FakeRemote;
  let namedPort: number;
  let proxy: ConnectProxy;
  let images: SimplestreamsServer;
  let resumeNock: () => void = () => undefined;

  before(async function () {
    resumeNock = pauseNock();
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-proxy-spec-'));
    ca = makeSelfSigned(dir, 'ca');
    client = makeSigned(dir, 'client', ca, 'DNS:client.invalid');
    named = await startRemote(makeSigned(dir, 'named', ca, 'DNS:lxd.test'));
    namedPort = Number(new URL(named.url).port);
    proxy = await startConnectProxy({ hosts: { 'lxd.test': '127.0.0.1', 'images.test': '127.0.0.1' } });
    images = await startSimplestreamsServer({ streams: [{ products: [{ release: 'focal', arch: 'amd64', versions: { '20240101': [{ ftype: 'lxd.tar.xz', content: 'x' }] } }] }] });
  });

  after(async function () {
    await Promise.all([named?.close(), proxy?.close(), images?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    resumeNock();
  });

  const remoteAt = (env: Record<string, string>, extra: { proxy?: boolean; logger?: Logger } = {}): LxdClient =>
    new LxdClient({ url: `https://lxd.test:${namedPort}`, tls: { cert: client.cert, key: client.key, ca: ca.cert }, proxyEnv: env, ...extra });

  it('tunnels requests and the events websocket through the proxy (CONNECT), TLS checked end to end, credentials sent and never logged', async function () {
    const lines: string[] = [];
    const logger = captureLogger(lines);
    const lxd = remoteAt({ HTTPS_PROXY: `http://alice:s3cret-pw@127.0.0.1:${proxy.port}` }, { logger });
    const asked = proxy.requests.length;
    const reached = named.reached.length;
    try {
      expect((await lxd.server.get()).value.auth).to.equal('trusted');
      const sub = lxd.events.subscribe({ connectTimeoutMs: 5_000, reconnect: false });
      try {
        await sub.ready;
      } finally {
        sub.close();
      }
    } finally {
      await lxd.close();
    }
    expect(named.reached.slice(reached)).to.deep.equal(['GET /1.0', 'WS /1.0/events']);
    expect(proxy.requests.slice(asked)).to.deep.equal([`CONNECT lxd.test:${namedPort} HTTP/1.1`, `CONNECT lxd.test:${namedPort} HTTP/1.1`]);
    expect(proxy.authorizations.slice(asked)).to.deep.equal(Array(2).fill(`Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`));
    expect(lines.join('\n')).to.contain('127.0.0.1').and.not.contain('s3cret-pw').and.not.contain(Buffer.from('alice:s3cret-pw').toString('base64'));
  });

  it('lowercase https_proxy works too; the uppercase one wins when both are set', async function () {
    const asked = proxy.requests.length;
    const lower = remoteAt({ https_proxy: proxy.url });
    try {
      expect((await lower.server.get()).value.auth).to.equal('trusted');
    } finally {
      await lower.close();
    }
    const both = remoteAt({ HTTPS_PROXY: proxy.url, https_proxy: 'http://127.0.0.1:1' });
    try {
      expect((await both.server.get()).value.auth).to.equal('trusted');
    } finally {
      await both.close();
    }
    expect(proxy.requests.length - asked).to.equal(2);
  });

  it('goes direct for a host NO_PROXY names, for a loopback address, and with proxy: false (the proxy sees nothing)', async function () {
    const asked = proxy.requests.length;
    for (const noProxy of ['lxd.test', '.test', 'test', `lxd.test:${namedPort}`, '*']) {
      const lxd = remoteAt({ HTTPS_PROXY: proxy.url, NO_PROXY: noProxy });
      try {
        // lxd.test resolves nowhere but through the proxy: going direct fails to resolve it
        const err = await rejection(lxd.server.get());
        expect(err, noProxy).to.be.instanceOf(LxdConnectionError);
        expect((err as Error).message, noProxy).to.match(/ENOTFOUND|EAI_AGAIN|getaddrinfo/);
      } finally {
        await lxd.close();
      }
    }
    const other = remoteAt({ HTTPS_PROXY: proxy.url, NO_PROXY: `lxd.test:${namedPort + 1}, example.com` });
    try {
      expect((await other.server.get()).value.auth, 'another port or host in NO_PROXY: still proxied').to.equal('trusted');
    } finally {
      await other.close();
    }
    const off = remoteAt({ HTTPS_PROXY: proxy.url }, { proxy: false });
    try {
      expect(await rejection(off.server.get())).to.be.instanceOf(LxdConnectionError);
    } finally {
      await off.close();
    }
    const loopback = new LxdClient({ url: named.url.replace('lxd.test', '127.0.0.1'), tls: { cert: client.cert, key: client.key, serverCert: readFileSync(join(dir, 'named.crt'), 'utf8') }, proxyEnv: { HTTPS_PROXY: proxy.url } });
    try {
      expect((await loopback.server.get()).value.auth, 'a loopback remote is never proxied').to.equal('trusted');
    } finally {
      await loopback.close();
    }
    expect(proxy.requests.length - asked, 'only the remote NO_PROXY did not name went through').to.equal(1);
  });

  it('a proxy that refuses the tunnel, or a proxy URL that is not http://, is LXD_ERR_CONNECTION saying what to do', async function () {
    const refusing = await startConnectProxy({ status: 407 });
    try {
      const lxd = remoteAt({ HTTPS_PROXY: refusing.url });
      try {
        const err = await rejection(lxd.server.get());
        expect(err).to.be.instanceOf(LxdConnectionError);
        expect((err as Error).message).to.contain(`proxy 127.0.0.1:${refusing.port}`).and.contain('needs credentials').and.contain(`lxd.test:${namedPort}`);
      } finally {
        await lxd.close();
      }
    } finally {
      await refusing.close();
    }
    const asked = proxy.requests.length;
    const socks = remoteAt({ HTTPS_PROXY: `socks5://bob:hunter2@127.0.0.1:${proxy.port}` });
    try {
      const err = await rejection(socks.server.get());
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect((err as Error).message).to.contain('only http:// proxies').and.not.contain('hunter2');
    } finally {
      await socks.close();
    }
    expect(proxy.requests.length).to.equal(asked);
  });

  it('an image server: an http URL goes to the proxy as an absolute URL; NO_PROXY sends it direct', async function () {
    const base = images.baseUrl.replace('127.0.0.1', 'images.test');
    const asked = proxy.requests.length;
    const ss = new SimplestreamsClient(base, { proxyEnv: { HTTP_PROXY: proxy.url } });
    const index = await ss.index();
    expect(Object.keys(index.index)).to.have.length(1);
    expect(proxy.requests.slice(asked)).to.deep.equal([`GET ${base}streams/v1/index.json HTTP/1.1`]);
    const direct = new SimplestreamsClient(base, { proxyEnv: { HTTP_PROXY: proxy.url, NO_PROXY: 'images.test' } });
    const err = await rejection(direct.index());
    expect((err as { code?: string }).code).to.equal('SIMPLESTREAMS_ERR_CONNECTION');
    expect(proxy.requests.length - asked).to.equal(1);
  });
});

describe('proxyFor: which proxy the environment gives a URL', function () {
  const at = (url: string, env: Record<string, string>): string | undefined => proxyFor(new URL(url), env)?.display;

  it('HTTPS_PROXY for https and wss, HTTP_PROXY for http and ws; a proxy without a scheme is http://', function () {
    const env = { HTTPS_PROXY: 'proxy.example:3128', HTTP_PROXY: 'http://plain.example:8080' };
    expect([at('https://lxd.example:8443', env), at('wss://lxd.example:8443', env), at('http://images.example/', env), at('ws://x.example/', env)]).to.deep.equal([
      'proxy.example:3128', 'proxy.example:3128', 'plain.example:8080', 'plain.example:8080',
    ]);
    expect(at('https://lxd.example', {})).to.equal(undefined);
    expect(at('https://lxd.example', { HTTPS_PROXY: '  ' })).to.equal(undefined);
  });

  it('never proxies localhost or loopback addresses', function () {
    const env = { HTTPS_PROXY: 'http://p.example:1' };
    for (const u of ['https://localhost:8443', 'https://127.0.0.1:8443', 'https://127.1.2.3', 'https://[::1]:8443', 'https://a.localhost']) expect(at(u, env), u).to.equal(undefined);
    expect(at('https://10.0.0.1:8443', env)).to.equal('p.example:1');
  });

  it('NO_PROXY: hosts, domains with and without a dot, host:port, IPs and IPv4 CIDRs; other hosts stay proxied', function () {
    const proxied = (host: string, port: number, noProxy: string): boolean => !bypassesProxy(host, port, noProxy);
    expect(proxied('lxd.example.com', 443, 'example.com')).to.equal(false);
    expect(proxied('example.com', 443, '.example.com')).to.equal(false);
    expect(proxied('notexample.com', 443, 'example.com')).to.equal(true);
    expect(proxied('lxd.example.com', 8443, 'lxd.example.com:8443')).to.equal(false);
    expect(proxied('lxd.example.com', 443, 'lxd.example.com:8443')).to.equal(true);
    expect(proxied('10.1.2.3', 8443, '10.0.0.0/8')).to.equal(false);
    expect(proxied('11.1.2.3', 8443, '10.0.0.0/8')).to.equal(true);
    expect(proxied('fd00::1', 8443, 'fd00::1')).to.equal(false);
    expect(proxied('anything', 1, ' a.example , * ')).to.equal(false);
    expect(proxied('x.example', 1, '*.example')).to.equal(false);
    expect(proxied('x.example', 1, ',,')).to.equal(true);
  });

  it('refuses a proxy that is not http://, without repeating its credentials', function () {
    const err = (() => {
      try {
        proxyFor(new URL('https://lxd.example'), { HTTPS_PROXY: 'socks5://u:topsecret@p.example:1080' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(ProxyError);
    expect((err as ProxyError).code).to.equal('PROXY_ERR_INVALID');
    expect((err as Error).message).to.contain('only http:// proxies').and.not.contain('topsecret');
  });
});
