import { expect } from 'chai';
import { LxdClient } from '../../../lib/lxd/client.js';
import { LxdError, LxdErrorCode, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/errors.js';
import { buildQuery, lxdPath, nameFromUrl, namesFromUrls, segment } from '../../../lib/lxd/path.js';
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

  it('segment() says what is wrong, under the field it is given ("name" by default)', () => {
    const message = (value: unknown, field?: string): string => {
      try {
        segment(value as string, field);
      } catch (e) {
        expect((e as LxdValidationError).field).to.equal(field ?? 'name');
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message(5)).to.equal('name: must be a string, got number');
    expect(message(null, 'alias')).to.equal('alias: must be a string, got null');
    expect(message(undefined)).to.equal('name: must be a string, got undefined');
    expect(message('')).to.equal('name: must not be empty');
    expect(message('.')).to.equal('name: "." is not a valid name: a path segment cannot be "." or ".."');
    expect(message('a\0')).to.equal('name: must not contain NUL');
    expect(message('\0')).to.equal('name: must not contain NUL');
    expect(message('a b/c?d#e%f')).to.equal('accepted');
    expect(segment('a b/c?d#e%f')).to.equal('a%20b%2Fc%3Fd%23e%25f');
  });

  it('lxdPath escapes each value in its place, and a template without values is itself', () => {
    expect(lxdPath`/1.0`).to.equal('/1.0');
    expect(lxdPath`/1.0/instances/${'c 1'}/snapshots/${'s/1'}`).to.equal('/1.0/instances/c%201/snapshots/s%2F1');
    expect(lxdPath`${'a'}${'b'}`).to.equal('ab');
    expect(lxdPath`/x/${'é'}?`).to.equal('/x/%C3%A9?');
  });

  it('buildQuery leaves out undefined values, writes the others as text, and is empty for nothing', () => {
    expect(buildQuery(undefined)).to.equal('');
    expect(buildQuery({})).to.equal('');
    expect(buildQuery({ a: undefined })).to.equal('');
    expect(buildQuery({ project: 'p 1', recursion: 1, force: true, off: false, skip: undefined, empty: '' })).to.equal('?project=p+1&recursion=1&force=true&off=false&empty=');
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

    it('nameFromUrl() takes the last segment, with or without a query, and names the URL itself by default', () => {
      expect(nameFromUrl('c1')).to.equal('c1');
      expect(nameFromUrl('/1.0/instances/')).to.equal('');
      expect(nameFromUrl('/1.0/instances/c1?project=a/b')).to.equal('c1');
      expect(nameFromUrl('/1.0/images/aliases/juju%2Ffocal')).to.equal('juju/focal');
      const err = (() => {
        try {
          nameFromUrl('/1.0/profiles/%zz?x=1');
        } catch (e) {
          return e as LxdResponseValidationError;
        }
        throw new Error('accepted');
      })();
      expect([err.method, err.path]).to.deep.equal(['GET', '/1.0/profiles/%zz?x=1']);
      expect(err.issues).to.have.length(1);
      expect(err.issues[0]!.path).to.deep.equal([]);
      expect(err.issues[0]!.message).to.equal('"/1.0/profiles/%zz?x=1" has a malformed percent-escape in its name (URI malformed)');
      expect(err.message).to.equal('GET /1.0/profiles/%zz?x=1: unexpected response from LXD at (root): "/1.0/profiles/%zz?x=1" has a malformed percent-escape in its name (URI malformed)');
      const listed = (() => {
        try {
          namesFromUrls(['/1.0/a/ok', '/1.0/a/ok2', '/1.0/a/%'], 'GET', '/1.0/a');
        } catch (e) {
          return e as LxdResponseValidationError;
        }
        throw new Error('accepted');
      })();
      expect(listed.issues[0]!.path).to.deep.equal([2]);
      expect(namesFromUrls(['/1.0/a/x%20y', '/1.0/a/z'], 'GET', '/1.0/a')).to.deep.equal(['x y', 'z']);
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
