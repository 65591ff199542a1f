/**
 * A remote's URL and TLS options are checked before any I/O: user information in the URL is refused
 * and never repeated in a message; certificates and keys that do not parse are refused by field.
 */
import { expect } from 'chai';
import { LxdClient, LxdErrorCode, LxdValidationError } from '../../../lib/lxd/index.js';
import { checkRemoteUrl, redactUrlUserInfo } from '../../../lib/lxd/remote.js';
import { selfSignedCert } from '../../helpers/simplestreams-server.js';
import { startHangUpListener } from '../../helpers/tls-test.js';

const SECRET = 'hunter2-s3cret';

describe('remote options, checked before any I/O', function () {
  let listener: Awaited<ReturnType<typeof startHangUpListener>>;
  let port: number;
  const connections = (): number => listener.connections();
  let pem: { cert: string; key: string };

  before(async function () {
    pem = await selfSignedCert();
    listener = await startHangUpListener();
    port = listener.port;
  });
  after(async function () {
    await listener.close();
  });

  const withUserInfo = (): string[] => [
    `https://admin:${SECRET}@127.0.0.1:${port}`,
    `https://${SECRET}@127.0.0.1:${port}`,
    `https://admin:${SECRET}@127.0.0.1:${port}/base?x=1`,
    // WHATWG URL parsing reads these as user information too
    `https:admin:${SECRET}@127.0.0.1:${port}`,
    `https:\\\\admin:${SECRET}@127.0.0.1:${port}`,
    `HTTPS://admin:${SECRET}@127.0.0.1:${port}`,
    `https://admin:${SECRET}@me@127.0.0.1:${port}`,
    `https://admin:${encodeURIComponent(`${SECRET}/?#`)}@127.0.0.1:${port}`,
    // not https, not a URL at all: refused for that, without the password either
    `http://admin:${SECRET}@127.0.0.1:${port}`,
    `https://admin:${SECRET}@[::1`,
    `https://admin:${SECRET}@127.0.0.1:99999`,
  ];

  it('new LxdClient({ url }) refuses user information in the URL, saying why, never repeating the password', async function () {
    for (const url of withUserInfo()) {
      let err: unknown;
      try {
        const lxd = new LxdClient({ url, tls: pem });
        await lxd.server.get().finally(() => lxd.close());
      } catch (e) {
        err = e;
      }
      expect(err, url).to.be.instanceOf(LxdValidationError);
      expect((err as LxdValidationError).code).to.equal(LxdErrorCode.INVALID_ARGUMENT);
      expect((err as Error).message, url).not.to.contain(SECRET).and.not.to.contain(encodeURIComponent(SECRET));
      expect(JSON.stringify(err), url).not.to.contain(SECRET);
      expect((err as Error).message, url).to.match(/user name or password|https:\/\/ URL|not a URL/);
    }
    const plain = (() => {
      try {
        new LxdClient({ url: `https://admin:${SECRET}@127.0.0.1:${port}`, tls: pem });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(plain).to.equal(`url: "https://***@127.0.0.1:${port}" holds a user name or password: a remote authenticates with a client certificate (tls.cert and tls.key, or --client-cert and --client-key), never with a password in its URL; remove the "user:password@" part`);
    expect(connections(), 'no connection was made').to.equal(0);
  });

  it('redactUrlUserInfo hides whatever WHATWG URL parsing would take as user information', function () {
    for (const url of withUserInfo()) expect(redactUrlUserInfo(url), url).not.to.contain(SECRET);
    expect(redactUrlUserInfo('https://127.0.0.1:8443/a@b')).to.equal('https://127.0.0.1:8443/a@b');
    expect(redactUrlUserInfo('https://[::1]:8443')).to.equal('https://[::1]:8443');
    expect(checkRemoteUrl('https://127.0.0.1:8443/a@b').pathname).to.equal('/a@b');
  });

  it('refuses TLS options that do not parse, by field, before any I/O, never quoting the key', function () {
    const url = `https://127.0.0.1:${port}`;
    const bad: [Record<string, unknown>, string][] = [
      [{ ...pem, cert: 'not a certificate' }, 'tls.cert'],
      [{ ...pem, key: `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n` }, 'tls.key'],
      [{ ...pem, key: '' }, 'tls.key'],
      [{ ...pem, serverCert: 'garbage' }, 'tls.serverCert'],
      [{ ...pem, ca: [pem.cert, 'garbage'] }, 'tls.ca[1]'],
      [{ ...pem, ca: [] }, 'tls.ca'],
    ];
    for (const [tls, field] of bad) {
      let err: unknown;
      try {
        new LxdClient({ url, tls: tls as never });
      } catch (e) {
        err = e;
      }
      expect(err, field).to.be.instanceOf(LxdValidationError);
      expect((err as LxdValidationError).field).to.equal(field);
      expect((err as Error).message).not.to.contain(SECRET);
    }
    expect(connections()).to.equal(0);
  });
});
