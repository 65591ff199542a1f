import { expect } from 'chai';
import { describeRoute, matchRoute } from '../../../lib/lxd/routes/match.js';
import { ROUTES } from '../../../lib/lxd/routes/table.js';
import { BOTH, type Route } from '../../../lib/lxd/routes/route.js';

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

  it('the root and a run of trailing slashes; a template\'s dots are dots', function () {
    expect(matchRoute(ROUTES, 'GET', '/').route?.path).to.equal('/');
    expect(matchRoute(ROUTES, 'GET', '').route?.path).to.equal('/');
    expect(name('GET', '/1.0/profiles/web//')).to.equal('client.profiles.get');
    expect(name('GET', '/1.0//')).to.equal('client.server.get');
    expect(matchRoute(ROUTES, 'GET', '/1x0/profiles')).to.deep.equal({ route: undefined, pathKnown: false });
    expect(matchRoute(ROUTES, 'GET', '/1.0/profiles/web/x')).to.deep.equal({ route: undefined, pathKnown: false });
    expect(matchRoute(ROUTES, 'GET', 'x/1.0/profiles')).to.deep.equal({ route: undefined, pathKnown: false });
  });

  it('a table of its own: the query-string variants match through their base path, the most literal template first', function () {
    const route = (method: 'GET' | 'POST', path: string, name: string): Route => ({ method, path, name, answer: 'sync', servers: BOTH, project: true, target: false });
    const table = [route('GET', '/1.0/x/{a}/{b}', 'generic'), route('GET', '/1.0/x/{id}/y.z', 'special'), route('GET', '/1.0/x/{id}/y.z?recursion=1', 'variant'), route('POST', '/1.0/x/{a}/{b}', 'post')];
    expect(matchRoute(table, 'GET', '/1.0/x/1/y.z').route?.name).to.equal('special');
    expect(matchRoute(table, 'GET', '/1.0/x/1/yaz').route?.name).to.equal('generic');
    expect(matchRoute(table, 'GET', '/1.0/x/1/y.z?recursion=1').route?.name).to.equal('special');
    expect(matchRoute(table, 'post', '/1.0/x/1/y.z').route?.name).to.equal('post');
    expect(matchRoute(table, 'PUT', '/1.0/x/1/y.z')).to.deep.equal({ route: undefined, pathKnown: true });
    // the same table again (its compiled form is kept), and another table
    expect(matchRoute(table, 'GET', '/1.0/x/1/y.z').route?.name).to.equal('special');
    const reversed = [...table].reverse();
    expect(matchRoute(reversed, 'GET', '/1.0/x/1/y.z').route?.name).to.equal('special');
    expect(matchRoute(reversed, 'GET', '/1.0/x/1/2').route?.name).to.equal('generic');
    expect(matchRoute([], 'GET', '/1.0/x/1/2')).to.deep.equal({ route: undefined, pathKnown: false });
  });

  it('describes a request in a few words: its method, or why nothing serves it', function () {
    expect(describeRoute(ROUTES, 'get', '/1.0/network-acls/a')).to.equal('GET /1.0/network-acls/{name}, served by client.networkAcls.get');
    expect(describeRoute(ROUTES, 'put', '/1.0/operations')).to.equal("no PUT on this path in LXD 5.0's or Incus 6.0's API");
    expect(describeRoute(ROUTES, 'GET', '/1.0/nothing')).to.equal("not a path of LXD 5.0's or Incus 6.0's API");
  });
});
