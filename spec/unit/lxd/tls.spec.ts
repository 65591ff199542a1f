/**
 * A remote over HTTPS, checked three ways: a pinned server certificate, a CA (`tls.ca`, `--ca`), or
 * the system's CAs. Fake HTTPS servers on 127.0.0.1 with a throwaway CA made at spec time (openssl):
 * a server whose certificate chains to the CA is reached, requests and the events websocket alike;
 * any other is refused with LXD_ERR_CONNECTION, and the built command exits 6.
 */
import { execFileSync } from 'node:child_process';
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

interface Pem {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 30_000 });
};

/** A self-signed CA. */
function makeCa(dir: string, name: string): Pem {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
  return read(dir, name);
}

/** A certificate signed by `ca`, with `san` as its subjectAltName. */
function makeSigned(dir: string, name: string, ca: Pem, san: string): Pem {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  return read(dir, name);
}

function read(dir: string, name: string): Pem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

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
    ca = makeCa(dir, 'ca');
    otherCa = makeCa(dir, 'other-ca');
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
