import { expect } from 'chai';
import { describeRoute, matchRoute } from '../../../lib/lxd/routes/match.js';
import { ROUTES } from '../../../lib/lxd/routes/table.js';

describe('lxd: a request matched to its route of the table', function () {
  const name = (method: string, path: string): string | undefined => matchRoute(ROUTES, method, path).route?.name;

  it('finds the route of a concrete path, placeholders filled, query strings and a trailing slash ignored', function () {
    expect(name('GET', '/1.0/network-zones/example.com/records/www')).to.equal('client.networkZones.records.get');
    expect(name('get', '/1.0/instances?recursion=2')).to.equal('client.instances.list');
    expect(name('DELETE', '/1.0/profiles/web/')).to.equal('client.profiles.delete');
    expect(name('GET', '/1.0/storage-pools/default/volumes/custom/v1/snapshots/s0')).to.equal('client.storageVolumes.snapshots.get');
  });

  it('prefers the most specific template: logs/exec-output over logs/{filename}', function () {
    expect(matchRoute(ROUTES, 'GET', '/1.0/instances/c1/logs/exec-output').route?.path).to.equal('/1.0/instances/{name}/logs/exec-output');
    expect(matchRoute(ROUTES, 'GET', '/1.0/instances/c1/logs/lxc.log').route?.path).to.equal('/1.0/instances/{name}/logs/{filename}');
  });

  it('tells a path no spec has from a method the path does not take; a placeholder never spans a slash', function () {
    expect(matchRoute(ROUTES, 'GET', '/1.0/nothing')).to.deep.equal({ route: undefined, pathKnown: false });
    expect(matchRoute(ROUTES, 'PUT', '/1.0/operations')).to.deep.equal({ route: undefined, pathKnown: true });
    expect(matchRoute(ROUTES, 'GET', '/1.0/profiles/a/b').pathKnown).to.equal(false);
    expect(describeRoute(ROUTES, 'GET', '/1.0/instances/c1/sftp')).to.equal('GET /1.0/instances/{name}/sftp, which no typed method serves');
  });
});
