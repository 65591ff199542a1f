/**
 * The transport to a remote over HTTPS, on its own: the TLS options it gives every connection (the
 * client certificate, a pinned server certificate, CAs), what a refusal says, and the CONNECT tunnel
 * of a proxy (its port, its deadline, ALPN, where the proxy is read from, a proxy URL it cannot use).
 * Fake HTTPS servers on 127.0.0.1 with certificates made at spec time (openssl); nothing reaches a daemon.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import https from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { MockAgent } from 'undici';
import { WebSocketServer } from 'ws';
import { LxdConnectionError } from '../../../lib/lxd/errors.js';
import { Transport, type TlsOptions } from '../../../lib/lxd/transport.js';
import { silentLogger } from '../../../lib/logger.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';
import { rejection } from '../../helpers/rejection.js';
import { pauseNock } from '../../helpers/simplestreams-server.js';
import { makeSelfSigned, makeSigned, type TestPem as Pem } from '../../helpers/tls-test.js';

const OK = JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: { name: 'x' } });

interface Reached {
  what: string;
  /** The fingerprint of the client certificate presented ('' for none). */
  client: string;
  /** The protocol ALPN agreed on (false when the client offered none). */
  alpn: string | false;
}

interface FakeRemote {
  url: string;
  port: number;
  reached: Reached[];
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 answering every request with a success envelope; `/1.0/events` is a websocket. */
async function startRemote(pem: Pem): Promise<FakeRemote> {
  const reached: Reached[] = [];
  const seen = (what: string, socket: TLSSocket): void => {
    const peer = socket.getPeerCertificate();
    reached.push({ what, client: peer && 'fingerprint256' in peer ? peer.fingerprint256 : '', alpn: socket.alpnProtocol ?? false });
  };
  const server = https.createServer({ cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    seen(`${req.method} ${req.url}`, req.socket as TLSSocket);
    res.setHeader('content-type', 'application/json');
    res.end(OK);
  });
  const wss = new WebSocketServer({ server, path: '/1.0/events' });
  wss.on('connection', (_ws, req) => seen(`WS ${req.url}`, req.socket as TLSSocket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    reached,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a websocket on `t` and says how it ended: 'open', or the error it failed with. */
async function websocketOutcome(t: Transport, path = '/1.0/events'): Promise<'open' | Error> {
  const ws = await t.websocket(path, undefined, 5_000);
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('error', (err) => {
      ws.terminate();
      resolve(t.websocketError(err));
    });
  });
}

interface Certs {
  ca: Pem;
  otherCa: Pem;
  client: Pem;
  good: Pem;
  stranger: Pem;
  misnamed: Pem;
  own: Pem;
}

/** Made once per process (a mutation run repeats the suite many times in one process), kept in memory only. */
let certs: Certs | undefined;
function makeCerts(): Certs {
  if (certs) return certs;
  const at = mkdtempSync(join(tmpdir(), 'lxdkit-transport-tls-certs-'));
  try {
    const ca = makeSelfSigned(at, 'ca');
    const otherCa = makeSelfSigned(at, 'other-ca');
    certs = {
      ca,
      otherCa,
      client: makeSelfSigned(at, 'client'),
      good: makeSigned(at, 'good', ca, 'IP:127.0.0.1'),
      stranger: makeSigned(at, 'stranger', otherCa, 'IP:127.0.0.1'),
      misnamed: makeSigned(at, 'misnamed', ca, 'DNS:elsewhere.invalid'),
      own: makeSelfSigned(at, 'own', 'DNS:lxd-host.invalid'),
    };
    return certs;
  } finally {
    rmSync(at, { recursive: true, force: true });
  }
}

describe('lxd transport to a remote over HTTPS', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: Pem;
  let otherCa: Pem;
  let client: Pem;
  /** Signed by `ca`, for IP 127.0.0.1. */
  let goodPem: Pem;
  let good: FakeRemote;
  /** Signed by `otherCa`, for IP 127.0.0.1. */
  let strangerPem: Pem;
  let stranger: FakeRemote;
  /** Signed by `ca`, for another host name. */
  let misnamedPem: Pem;
  let misnamed: FakeRemote;
  /** Self-signed, as LXD's own certificates are. */
  let ownPem: Pem;
  let own: FakeRemote;
  const open: Transport[] = [];
  // nock (loaded by other specs) wraps every node:https request: the proxied websockets go around it
  let resumeNock: () => void = () => undefined;

  before(async function () {
    resumeNock = pauseNock();
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-transport-tls-'));
    ({ ca, otherCa, client, good: goodPem, stranger: strangerPem, misnamed: misnamedPem, own: ownPem } = makeCerts());
    good = await startRemote(goodPem);
    stranger = await startRemote(strangerPem);
    misnamed = await startRemote(misnamedPem);
    own = await startRemote(ownPem);
  });

  after(async function () {
    await Promise.all([good, stranger, misnamed, own].map((s) => s?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    resumeNock();
  });

  afterEach(async function () {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  const transport = (url: string, tls: Partial<TlsOptions> | undefined, extra: Partial<ConstructorParameters<typeof Transport>[0]> = {}): Transport => {
    const t = new Transport({ url, tls: tls ? { cert: client.cert, key: client.key, ...tls } : undefined, logger: silentLogger, proxy: false, ...extra });
    open.push(t);
    return t;
  };

  async function expectReached(remote: FakeRemote, t: Transport): Promise<void> {
    const before = remote.reached.length;
    const r = await t.request('GET', '/1.0/x');
    expect(r.status).to.equal(200);
    expect(await websocketOutcome(t)).to.equal('open');
    expect(remote.reached.slice(before)).to.deep.equal([
      { what: 'GET /1.0/x', client: client.fingerprint, alpn: 'http/1.1' },
      { what: 'WS /1.0/events', client: client.fingerprint, alpn: false },
    ]);
  }

  async function expectRefused(remote: FakeRemote, t: Transport, cause: RegExp | string): Promise<void> {
    const before = remote.reached.length;
    const err = await rejection(t.request('GET', '/1.0/x'));
    expect(err, String(err)).to.be.instanceOf(LxdConnectionError);
    const prefix = `LXD server ${remote.url}: TLS handshake failed: `;
    expect(err.message.startsWith(prefix), err.message).to.equal(true);
    const ws = await websocketOutcome(t);
    expect(ws, String(ws)).to.be.instanceOf(LxdConnectionError);
    expect((ws as Error).message.startsWith(prefix), (ws as Error).message).to.equal(true);
    for (const message of [err.message, (ws as Error).message]) {
      const rest = message.slice(prefix.length);
      if (typeof cause === 'string') expect(rest.startsWith(cause), rest).to.equal(true);
      else expect(rest).to.match(cause);
    }
    expect(remote.reached.slice(before), 'nothing got through the handshake').to.deep.equal([]);
  }

  describe('a pinned server certificate', function () {
    it('reaches the server presenting it, self-signed or CA-signed, whatever host it names, with the client certificate', async function () {
      await expectReached(own, transport(own.url, { serverCert: ownPem.cert }));
      await expectReached(good, transport(good.url, { serverCert: goodPem.cert }));
      await expectReached(misnamed, transport(misnamed.url, { serverCert: Buffer.from(misnamedPem.cert) }));
      await expectReached(misnamed, transport(misnamed.url, { serverCert: misnamedPem.cert, ca: [otherCa.cert] }));
    });

    it('refuses another certificate, naming both fingerprints, even one a CA given alongside signed', async function () {
      const advice = '; check that the pinned server certificate is the one the server presents, and that your client certificate is trusted';
      await expectRefused(stranger, transport(stranger.url, { serverCert: goodPem.cert, ca: [ca.cert, otherCa.cert] }), `server certificate ${strangerPem.fingerprint} does not match the pinned certificate ${goodPem.fingerprint}${advice}`);
      await expectRefused(stranger, transport(stranger.url, { serverCert: goodPem.cert, ca: otherCa.cert }), `server certificate ${strangerPem.fingerprint} does not match the pinned certificate ${goodPem.fingerprint}${advice}`);
      // a CA-signed certificate with only its CA pinned: the CA does not present itself
      await expectRefused(good, transport(good.url, { serverCert: ca.cert }), `server certificate ${goodPem.fingerprint} does not match the pinned certificate ${ca.fingerprint}${advice}`);
      await expectRefused(own, transport(own.url, { serverCert: goodPem.cert }), /self.signed certificate.*; check that the pinned server certificate/);
    });
  });

  it('requestToFile on a remote: the body into the file, progress against its length, the file still open for the caller', async function () {
    const t = transport(good.url, { serverCert: goodPem.cert });
    const name = join(dir, 'pulled');
    const fh = await openFile(name, 'w');
    const progress: [number, number | undefined][] = [];
    try {
      const r = await t.requestToFile('GET', '/1.0/f', fh, { onBytes: (b, total) => progress.push([b, total]) });
      expect([r.status, r.bytes]).to.deep.equal([200, OK.length]);
      const again = await t.requestToFile('GET', '/1.0/f', fh);
      expect(again.bytes).to.equal(OK.length);
      await fh.write('!');
    } finally {
      await fh.close();
    }
    expect(readFileSync(name, 'utf8')).to.equal(`${OK}${OK}!`);
    expect(progress.at(-1)).to.deep.equal([OK.length, OK.length]);
  });

  describe('CAs without a pinned certificate', function () {
    it('reaches a server whose certificate chains to one of them and names the host', async function () {
      await expectReached(good, transport(good.url, { ca: ca.cert }));
      await expectReached(good, transport(good.url, { ca: [otherCa.cert, Buffer.from(ca.cert)] }));
    });

    it('refuses a server of another CA, one naming another host, and a self-signed one', async function () {
      const advice = "check that the server's certificate chains to the given CA and names the URL's host, and that your client certificate is trusted";
      await expectRefused(stranger, transport(stranger.url, { ca: ca.cert }), new RegExp(`certificate.*; ${advice}$`));
      await expectRefused(misnamed, transport(misnamed.url, { ca: ca.cert }), new RegExp(`(altnames|Hostname).*; ${advice}$`));
      await expectRefused(own, transport(own.url, { ca: ca.cert }), new RegExp(`self.signed certificate.*; ${advice}$`));
    });
  });

  describe('neither: the system CAs', function () {
    it('refuses a private CA and a self-signed server, with or without a client certificate', async function () {
      const advice = "the server's certificate must chain to a system CA and name the URL's host: give its certificate to pin (serverCert, --server-cert) or its CA (ca, --ca), and that your client certificate is trusted";
      await expectRefused(good, transport(good.url, {}), new RegExp(`certificate.*; ${advice.replace(/[()]/g, '\\$&')}$`));
      await expectRefused(own, transport(own.url, undefined), new RegExp(`self.signed certificate.*; ${advice.replace(/[()]/g, '\\$&')}$`));
    });

    it('sets no CAs of its own then, so that Node uses its system CAs (with NODE_EXTRA_CA_CERTS)', function () {
      // Node's own CA bundle cannot sign a spec's certificate: the options are what can be checked here
      type WithOptions = { tlsConnectOptions(): Record<string, unknown> };
      const none = (transport(good.url, undefined) as unknown as WithOptions).tlsConnectOptions();
      expect(none).to.deep.equal({ rejectUnauthorized: true });
      const plain = (transport(good.url, {}) as unknown as WithOptions).tlsConnectOptions();
      expect(plain).to.deep.equal({ rejectUnauthorized: true, cert: client.cert, key: client.key });
      const withCa = (transport(good.url, { ca: ca.cert }) as unknown as WithOptions).tlsConnectOptions();
      expect(withCa).to.deep.equal({ rejectUnauthorized: true, cert: client.cert, key: client.key, ca: [ca.cert] });
      const pinned = (transport(good.url, { serverCert: goodPem.cert, ca: [ca.cert, otherCa.cert] }) as unknown as WithOptions).tlsConnectOptions();
      expect(pinned).to.deep.include({ rejectUnauthorized: true, ca: [goodPem.cert, ca.cert, otherCa.cert], allowPartialTrustChain: true });
      expect(pinned['checkServerIdentity']).to.be.a('function');
    });
  });

  describe('through a proxy (HTTPS_PROXY)', function () {
    let proxy: ConnectProxy;
    let stalling: NetServer;
    let stallingPort: number;
    const held: Socket[] = [];

    before(async function () {
      proxy = await startConnectProxy({ hosts: { 'lxd.test': '127.0.0.1' } });
      // a proxy that takes the connection and never answers CONNECT
      stalling = createNetServer((s) => {
        held.push(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
      stallingPort = (stalling.address() as { port: number }).port;
    });
    after(async function () {
      for (const s of held) s.destroy();
      await Promise.all([proxy?.close(), new Promise<void>((resolve) => (stalling ? stalling.close(() => resolve()) : resolve()))]);
    });

    const named = (remote: FakeRemote): string => `https://lxd.test:${remote.port}`;

    it('tunnels requests and websockets (CONNECT host:port), TLS checked end to end, http/1.1 agreed by ALPN, and says so at debug level', async function () {
      const lines: string[] = [];
      const asked = proxy.requests.length;
      const t = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: proxy.url }, logger: captureLogger(lines) });
      await expectReached(good, t);
      await t.request('GET', '/1.0/x');
      expect(proxy.requests.slice(asked)).to.deep.equal([`CONNECT lxd.test:${good.port} HTTP/1.1`, `CONNECT lxd.test:${good.port} HTTP/1.1`]);
      const proxied = lines.map((l) => JSON.parse(l) as [Record<string, unknown>, string]).filter(([, msg]) => msg === 'remote through a proxy');
      expect(proxied).to.deep.equal([[{ endpoint: named(good), proxy: `127.0.0.1:${proxy.port}` }, 'remote through a proxy']]);
    });

    it('refuses through the tunnel as directly: a certificate other than the pinned one is a TLS failure', async function () {
      const asked = proxy.requests.length;
      const t = transport(named(stranger), { serverCert: goodPem.cert, ca: otherCa.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: proxy.url } });
      const err = await rejection(t.request('GET', '/1.0/x'));
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect(err.message).to.equal(`LXD server ${named(stranger)}: TLS handshake failed: server certificate ${strangerPem.fingerprint} does not match the pinned certificate ${goodPem.fingerprint}; check that the pinned server certificate is the one the server presents, and that your client certificate is trusted`);
      expect(proxy.requests.length - asked).to.be.greaterThan(0);
    });

    it('a URL without a port is tunnelled to port 443', async function () {
      const asked = proxy.requests.length;
      const t = transport('https://lxd.test', { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: proxy.url } });
      await rejection(t.request('GET', '/1.0/x', { timeoutMs: 10_000 }));
      expect(proxy.requests.slice(asked, asked + 1)).to.deep.equal(['CONNECT lxd.test:443 HTTP/1.1']);
    });

    it('gives up on a proxy that never answers CONNECT after the transport\'s own deadline', async function () {
      const t = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: `http://127.0.0.1:${stallingPort}` }, timeoutMs: 300 });
      const started = Date.now();
      const err = await rejection(t.request('GET', '/1.0/x', { timeoutMs: 20_000 }));
      expect(err).to.be.instanceOf(LxdConnectionError);
      expect(err.message).to.equal(`LXD server ${named(good)}: proxy 127.0.0.1:${stallingPort}: no tunnel after 300 ms (tunnel to lxd.test:${good.port}); check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY`);
      expect(Date.now() - started).to.be.lessThan(15_000);
    });

    it('a websocket through a proxy that never answers CONNECT gives up at the handshake deadline', async function () {
      const t = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: `http://127.0.0.1:${stallingPort}` } });
      const ws = await t.websocket('/1.0/events', undefined, 300);
      let timer: NodeJS.Timeout | undefined;
      const err = await Promise.race([
        new Promise<Error>((resolve) => ws.once('error', resolve)),
        new Promise<Error>((resolve) => {
          timer = setTimeout(() => resolve(new Error('no error within 10 s')), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      ws.terminate();
      expect(t.websocketError(err).message).to.equal(`LXD server ${named(good)}: proxy 127.0.0.1:${stallingPort}: no tunnel after 300 ms (tunnel to lxd.test:${good.port}); check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY`);
    });

    it('reads HTTPS_PROXY from the process environment when no proxyEnv is given', async function () {
      const saved = { HTTPS_PROXY: process.env['HTTPS_PROXY'], https_proxy: process.env['https_proxy'], NO_PROXY: process.env['NO_PROXY'], no_proxy: process.env['no_proxy'] };
      process.env['HTTPS_PROXY'] = proxy.url;
      delete process.env['https_proxy'];
      delete process.env['NO_PROXY'];
      delete process.env['no_proxy'];
      try {
        const asked = proxy.requests.length;
        const t = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined });
        expect((await t.request('GET', '/1.0/x')).status).to.equal(200);
        expect(proxy.requests.slice(asked)).to.deep.equal([`CONNECT lxd.test:${good.port} HTTP/1.1`]);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });

    it('no proxy with proxy: false, for an http:// URL, or for a dispatcher of the caller\'s (its websockets go direct too)', async function () {
      const asked = proxy.requests.length;
      const off = transport(named(good), { serverCert: goodPem.cert }, { proxy: false, proxyEnv: { HTTPS_PROXY: proxy.url } });
      expect(await rejection(off.request('GET', '/1.0/x'))).to.be.instanceOf(LxdConnectionError);
      const plain = transport(`http://lxd.test:${good.port}`, undefined, { proxy: undefined, proxyEnv: { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url } });
      expect(await rejection(plain.request('GET', '/1.0/x'))).to.be.instanceOf(LxdConnectionError);
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get(named(good)).intercept({ path: '/1.0/x' }).reply(200, OK);
      try {
        const theirs = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: proxy.url }, dispatcher: agent });
        expect((await theirs.request('GET', '/1.0/x')).status).to.equal(200);
        const ws = await websocketOutcome(theirs);
        expect(ws, 'lxd.test resolves only through the proxy').to.be.instanceOf(Error);
      } finally {
        await agent.close();
      }
      expect(proxy.requests.length - asked).to.equal(0);
    });

    it('a proxy URL it cannot use is LXD_ERR_CONNECTION naming the remote, on every request (never going direct)', async function () {
      const asked = proxy.requests.length;
      const t = transport(named(good), { serverCert: goodPem.cert }, { proxy: undefined, proxyEnv: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' } });
      for (let i = 0; i < 2; i++) {
        const err = await rejection(t.request('GET', '/1.0/x'));
        expect(err).to.be.instanceOf(LxdConnectionError);
        expect(err.message).to.match(new RegExp(`^LXD server ${named(good).replace(/\./g, '\\.')}: .*only http:// proxies`));
        expect((err as LxdConnectionError).endpoint).to.equal(named(good));
      }
      const ws = await rejection(t.websocket('/1.0/events'));
      expect(ws).to.be.instanceOf(LxdConnectionError);
      expect(proxy.requests.length - asked).to.equal(0);
    });
  });
});
