import { expect } from 'chai';
import { LxdClient } from '../../../lib/lxd/client.js';
import { LxdError, LxdErrorCode, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/errors.js';
import { lxdPath, nameFromUrl, namesFromUrls, segment } from '../../../lib/lxd/path.js';
import { rejection } from '../../helpers/rejection.js';
import { startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const DOTS = ['.', '..'];

describe('lxd: path segments', () => {
  it('segment() refuses ".", "..", the empty string, NUL and non-strings with LXD_ERR_INVALID_ARGUMENT', () => {
    for (const bad of [...DOTS, '', 'a\0b', 5 as unknown as string]) {
      const err = (() => {
        try {
          segment(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(LxdError.is(err, LxdErrorCode.INVALID_ARGUMENT), String(bad)).to.equal(true);
      expect(err).to.be.instanceOf(LxdValidationError);
    }
    expect(() => segment('..', 'profile name')).to.throw('profile name: ".." is not a valid name: a path segment cannot be "." or ".."');
    expect(() => lxdPath`/1.0/instances/${'.'}/state`).to.throw(LxdValidationError);
  });

  it('segment() escapes names that merely contain dots or slashes', () => {
    expect(segment('...')).to.equal('...');
    expect(segment('.hidden')).to.equal('.hidden');
    expect(lxdPath`/1.0/images/aliases/${'juju/focal/amd64'}`).to.equal('/1.0/images/aliases/juju%2Ffocal%2Famd64');
    expect(lxdPath`/1.0/profiles/${'a..b'}`).to.equal('/1.0/profiles/a..b');
  });

  describe('every resource refuses "." and ".." before any I/O', () => {
    let fake: FakeLxd;
    let client: LxdClient;
    before(async () => {
      fake = await startFakeLxd();
      client = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
    });
    after(async () => {
      await client.close();
      await fake.close();
    });

    const calls: [string, (name: string) => Promise<unknown>][] = [
      ['instances.get', (n) => client.instances.get(n)],
      ['instances.update', (n) => client.instances.update(n, { config: {}, devices: {}, profiles: [] })],
      ['instances.patch', (n) => client.instances.patch(n, {})],
      ['instances.rename', (n) => client.instances.rename(n, 'x')],
      ['instances.delete', (n) => client.instances.delete(n)],
      ['instances.state', (n) => client.instances.state(n)],
      ['instances.setState', (n) => client.instances.setState(n, { action: 'start' })],
      ['profiles.get', (n) => client.profiles.get(n)],
      ['profiles.update', (n) => client.profiles.update(n, {})],
      ['profiles.patch', (n) => client.profiles.patch(n, {})],
      ['profiles.rename', (n) => client.profiles.rename(n, 'x')],
      ['profiles.delete', (n) => client.profiles.delete(n)],
      ['networks.get', (n) => client.networks.get(n)],
      ['networks.update', (n) => client.networks.update(n, {})],
      ['networks.patch', (n) => client.networks.patch(n, {})],
      ['networks.rename', (n) => client.networks.rename(n, 'x')],
      ['networks.delete', (n) => client.networks.delete(n)],
      ['storagePools.get', (n) => client.storagePools.get(n)],
      ['storagePools.update', (n) => client.storagePools.update(n, {})],
      ['storagePools.patch', (n) => client.storagePools.patch(n, {})],
      ['storagePools.delete', (n) => client.storagePools.delete(n)],
      ['images.get', (n) => client.images.get(n)],
      ['images.update', (n) => client.images.update(n, {})],
      ['images.patch', (n) => client.images.patch(n, {})],
      ['images.delete', (n) => client.images.delete(n)],
      ['images.getAlias', (n) => client.images.getAlias(n)],
      ['images.updateAlias', (n) => client.images.updateAlias(n, { target: 'f' })],
      ['images.renameAlias', (n) => client.images.renameAlias(n, 'x')],
      ['images.deleteAlias', (n) => client.images.deleteAlias(n)],
      ['operations.get', (n) => client.operations.get(n)],
      ['operations.cancel', (n) => client.operations.cancel(n)],
      ['certificates.delete', (n) => client.certificates.delete(n)],
    ];
    for (const [what, call] of calls) {
      it(what, async () => {
        fake.requests.length = 0;
        for (const name of DOTS) {
          const err = await rejection(call(name));
          expect(LxdError.is(err, LxdErrorCode.INVALID_ARGUMENT), `${what}("${name}"): ${String(err)}`).to.equal(true);
          expect((err as Error).message).to.contain(`"${name}"`);
        }
        expect(fake.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([]);
      });
    }
  });

  describe('names LXD lists', () => {
    it('nameFromUrl() decodes, and a malformed percent-escape is LXD_ERR_INVALID_RESPONSE, not a URIError', () => {
      expect(nameFromUrl('/1.0/instances/a%20b?project=p')).to.equal('a b');
      for (const bad of ['/1.0/instances/%zz', '/1.0/instances/50%', '/1.0/instances/%E0%A4%A']) {
        let err: unknown;
        try {
          nameFromUrl(bad);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(LxdResponseValidationError);
        expect(LxdError.is(err, LxdErrorCode.INVALID_RESPONSE)).to.equal(true);
        expect((err as Error).message).to.contain(JSON.stringify(bad)).and.to.contain('malformed percent-escape');
      }
      expect(() => namesFromUrls(['/1.0/profiles/ok', '/1.0/profiles/%'], 'GET', '/1.0/profiles')).to.throw(
        LxdResponseValidationError,
        /^GET \/1\.0\/profiles: unexpected response from LXD at 1: "\/1\.0\/profiles\/%" has a malformed percent-escape/,
      );
    });

    it('a listing with a malformed name rejects with LxdResponseValidationError naming the request', async () => {
      const fake = await startFakeLxd();
      const client = new LxdClient({ socketPath: fake.socketPath, useEvents: false });
      try {
        for (const [path, list] of [
          ['/1.0/instances', () => client.instances.list({ recursion: 0 })],
          ['/1.0/profiles', () => client.profiles.list({ recursion: 0 })],
          ['/1.0/networks', () => client.networks.list({ recursion: 0 })],
          ['/1.0/storage-pools', () => client.storagePools.list({ recursion: 0 })],
        ] as const) {
          fake.on('GET', path, () => sync([`${path}/fine`, `${path}/%zz`]));
          const err = await rejection(list());
          expect(err, path).to.be.instanceOf(LxdResponseValidationError);
          expect((err as Error).message).to.match(new RegExp(`^GET ${path}: unexpected response from LXD at 1: `));
        }
      } finally {
        await client.close();
        await fake.close();
      }
    });
  });
});
