/**
 * Instances and images beyond CRUD against a fake server shaped by the specs: what each method sends,
 * the checks made before any request (hostile template names, a missing extension), image export's
 * hostile answers (file names, parts), and `images.push`, which needs another server's HTTPS listener.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { LxdExtensionMissingError, LxdResponseValidationError, LxdValidationError } from '../../../lib/lxd/index.js';
import { asyncAnswer, operationObject, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

const FP = 'a'.repeat(64);
const ALL = ['instance_bulk_state_change', 'instance_pool_move', 'instance_project_move', 'console', 'instances_rebuild'];

describe('lxd: instances and images beyond CRUD (fake server)', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  let dir: string;
  const start = async (extensions = ALL) => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(serverInfo({ extensions })));
    client = fake.client();
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-instx-'));
  });
  afterEach(async () => {
    await client?.close();
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('instances', () => {
    it('setStateAll sends one PUT /1.0/instances with the state, in the client\'s project', async () => {
      await start();
      fake.on('PUT', '/1.0/instances', () => fake.operation());
      const p = client.withProject('p1');
      await (await p.instances.setStateAll({ action: 'stop', force: true, timeout: 30 })).wait();
      await p.close();
      const [req] = fake.requestsTo('PUT', '/1.0/instances');
      expect(req!.body).to.deep.equal({ state: { action: 'stop', timeout: 30, force: true } });
      expect(req!.query.get('project')).to.equal('p1');
    });

    it('setStateAll: a bad action and a server without instance_bulk_state_change are refused before the PUT', async () => {
      await start([]);
      expect(await client.instances.setStateAll({ action: 'boom' as 'start' }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(await client.instances.setStateAll({ action: 'start' }).catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError);
      expect(fake.calls()).to.deep.equal([]);
    });

    it('move sends migration: true with the pool or project, ?target= for a member, and a plain rename for a new name alone', async () => {
      await start();
      fake.on('POST', '/1.0/instances/:name', () => fake.operation());
      await (await client.instances.move('c1', { pool: 'fast' })).wait();
      await (await client.instances.move('c1', { project: 'p2', newName: 'c2' })).wait();
      await (await client.instances.move('c1', { target: 'member2' })).wait();
      await (await client.instances.move('c1', { newName: 'c3' })).wait();
      const reqs = fake.requestsTo('POST', '/1.0/instances/c1');
      expect(reqs.map((r) => r.body)).to.deep.equal([
        { name: 'c1', migration: true, pool: 'fast' },
        { name: 'c2', migration: true, project: 'p2' },
        { name: 'c1', migration: true },
        { name: 'c3' },
      ]);
      expect(reqs.map((r) => r.query.get('target'))).to.deep.equal([null, null, 'member2', null]);
    });

    it('move: bad input, and a pool move on a server without instance_pool_move, are refused before any request', async () => {
      await start([]);
      for (const to of [{}, { pool: '../x' }, { project: 'a/b' }, { newName: 'bad name' }, null]) {
        expect(await client.instances.move('c1', to as never).catch((e: unknown) => e), JSON.stringify(to)).to.be.instanceOf(LxdValidationError);
      }
      expect(await client.instances.move('c1', { pool: 'fast' }).catch((e: unknown) => e)).to.be.instanceOf(LxdExtensionMissingError);
      expect(fake.calls()).to.deep.equal([]);
    });

    it('rebuild: the missing-extension error before any request on a server without instances_rebuild; the source as given otherwise', async () => {
      await start(['console']);
      const err = await client.instances.rebuild('c1', { source: { type: 'image', alias: 'busybox' } }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LxdExtensionMissingError);
      expect(fake.calls()).to.deep.equal([]);
      await client.close();
      await fake.close();
      await start();
      fake.on('POST', '/1.0/instances/c1/rebuild', () => fake.operation());
      await (await client.instances.rebuild('c1', { source: { type: 'none' } })).wait();
      expect(await client.instances.rebuild('c1', { source: { type: 'image' } }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(fake.requestsTo('POST', '/1.0/instances/c1/rebuild').map((r) => r.body)).to.deep.equal([{ source: { type: 'none' } }]);
    });

    it('templates: hostile names are refused before any request; put sends the content as is, with ?path=', async () => {
      await start();
      for (const bad of ['../../etc/passwd', 'a/b', '..', '.', '', 'x\0y', 'a\\b', 'x'.repeat(256)]) {
        for (const call of [() => client.instances.templates.get('c1', bad), () => client.instances.templates.put('c1', bad, 'x'), () => client.instances.templates.delete('c1', bad)]) {
          expect(await call().catch((e: unknown) => e), JSON.stringify(bad)).to.be.instanceOf(LxdValidationError);
        }
      }
      expect(fake.calls()).to.deep.equal([]);
      fake.on('POST', '/1.0/instances/c1/metadata/templates', () => sync(null));
      await client.instances.templates.put('c1', 'motd.tpl', 'hi {{ name }}\n');
      const [req] = fake.requestsTo('POST', '/1.0/instances/c1/metadata/templates');
      expect([req!.query.get('path'), req!.body, req!.headers['content-type']]).to.deep.equal(['motd.tpl', 'hi {{ name }}\n', 'application/octet-stream']);
    });

    const until = async (cond: () => boolean): Promise<void> => {
      const by = Date.now() + 5_000;
      while (!cond() && Date.now() < by) await new Promise((r) => setTimeout(r, 10));
    };

    it('console.attach connects the data and control websockets with their secrets; input goes in, output comes back; an abort closes both', async () => {
      await start();
      const op = operationObject({ class: 'websocket', metadata: { fds: { '0': 'sdata', control: 'sctl' } } });
      const id = String(op['id']);
      const done = { ...op, status: 'Success', status_code: 200 };
      fake.on('POST', '/1.0/instances/c1/console', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${id}`, () => sync(done));
      fake.on('GET', `/1.0/operations/${id}/wait`, () => sync(done));
      const secrets: string[] = [];
      let closed = 0;
      fake.onWebsocket(new RegExp(`^/1\\.0/operations/${id}/websocket$`), (ws, url) => {
        secrets.push(url.searchParams.get('secret') ?? '');
        ws.on('close', () => closed++);
        if (url.searchParams.get('secret') === 'sdata') ws.on('message', (d: Buffer) => ws.send(Buffer.concat([Buffer.from('echo:'), d]), { binary: true }));
      });
      const ac = new AbortController();
      const session = await client.instances.console.attach('c1', { signal: ac.signal, width: 100, height: 30 });
      expect(fake.requestsTo('POST', '/1.0/instances/c1/console')[0]!.body).to.deep.equal({ type: 'console', width: 100, height: 30 });
      let out = '';
      session.output.on('data', (d: Buffer) => (out += d.toString()));
      const ended = new Promise((resolve) => session.output.once('end', resolve));
      await session.write('hi');
      await until(() => out === 'echo:hi');
      expect(out).to.equal('echo:hi');
      ac.abort();
      await ended;
      await session.close();
      await until(() => closed === 2);
      expect([secrets, closed]).to.deep.equal([['sdata', 'sctl'], 2]);
      expect(await session.write('late').catch((e: unknown) => e)).to.be.instanceOf(Error);
    });

    it('console.attach: a bad type or size is refused before any request; an answer without the websocket secrets is refused', async () => {
      await start();
      for (const o of [{ type: 'spice' }, { width: 0 }, { height: 1.5 }]) {
        expect(await client.instances.console.attach('c1', o as never).catch((e: unknown) => e), JSON.stringify(o)).to.be.instanceOf(LxdValidationError);
      }
      expect(fake.calls()).to.deep.equal([]);
      const op = operationObject({ class: 'websocket', metadata: { fds: { '0': 'sdata' } } });
      fake.on('POST', '/1.0/instances/c1/console', () => asyncAnswer(op));
      fake.on('GET', `/1.0/operations/${String(op['id'])}/wait`, () => sync({ ...op, status: 'Success', status_code: 200 }));
      expect(await client.instances.console.attach('c1').catch((e: unknown) => e)).to.be.instanceOf(LxdResponseValidationError);
    });

    it('metadata.update sends a strict body and refuses unknown fields before any request', async () => {
      await start();
      expect(await client.instances.metadata.update('c1', { templates: {}, bogus: 1 } as never).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(await client.instances.metadata.patch('c1', { templates: { '/etc/x': { when: ['boot' as 'start'], template: 'x.tpl' } } }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(fake.calls()).to.deep.equal([]);
    });
  });

  describe('images', () => {
    const multipart = (boundary: string, parts: { name: string; filename: string; data: string }[], close = true): string =>
      parts.map((p, i) => `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n${p.data}`).join('') + (close ? `\r\n--${boundary}--\r\n` : '');

    it('export writes the parts of a split image, metadata first, even when a part holds a near-boundary', async () => {
      await start();
      const b = 'b0undary';
      const rootfs = `root\r\n--b0undar\r\n-- and more`;
      fake.on('GET', `/1.0/images/${FP}/export`, () => ({ status: 200, body: multipart(b, [{ name: 'metadata', filename: 'meta-x.tar.xz', data: 'META' }, { name: 'rootfs', filename: 'x.squashfs', data: rootfs }]), headers: { 'content-type': `multipart/form-data; boundary=${b}` } }));
      const { files } = await client.images.export(FP, dir);
      expect(files.map((f) => [f.part, f.path, f.size])).to.deep.equal([['metadata', join(dir, 'meta-x.tar.xz'), 4], ['rootfs', join(dir, 'x.squashfs'), rootfs.length]]);
      expect(await readFile(join(dir, 'x.squashfs'), 'utf8')).to.equal(rootfs);
      expect((await readdir(dir)).sort()).to.deep.equal(['meta-x.tar.xz', 'x.squashfs']);
    });

    const hostile: [string, () => { body: string; headers: Record<string, string> }][] = [
      ['a unified file named ../../evil', () => ({ body: 'x', headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'inline;filename=../../evil' } })],
      ['a unified file named .bashrc', () => ({ body: 'x', headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename=".bashrc"' } })],
      ['a part named ../escape', () => ({ body: multipart('B', [{ name: 'metadata', filename: '../escape', data: 'M' }, { name: 'rootfs', filename: 'r', data: 'R' }]), headers: { 'content-type': 'multipart/form-data; boundary=B' } })],
      ['three parts', () => ({ body: multipart('B', [{ name: 'metadata', filename: 'm', data: 'M' }, { name: 'rootfs', filename: 'r', data: 'R' }, { name: 'rootfs', filename: 's', data: 'S' }]), headers: { 'content-type': 'multipart/form-data; boundary=B' } })],
      ['the rootfs first', () => ({ body: multipart('B', [{ name: 'rootfs', filename: 'r', data: 'R' }, { name: 'metadata', filename: 'm', data: 'M' }]), headers: { 'content-type': 'multipart/form-data; boundary=B' } })],
      ['no closing boundary', () => ({ body: multipart('B', [{ name: 'metadata', filename: 'm', data: 'M' }, { name: 'rootfs', filename: 'r', data: 'R' }], false), headers: { 'content-type': 'multipart/form-data; boundary=B' } })],
      ['endless part headers', () => ({ body: `--B\r\nX-Pad: ${'p'.repeat(40_000)}`, headers: { 'content-type': 'multipart/form-data; boundary=B' } })],
    ];
    for (const [what, answer] of hostile) {
      it(`export refuses ${what} and leaves no file`, async () => {
        await start();
        fake.on('GET', `/1.0/images/${FP}/export`, () => ({ status: 200, ...answer() }));
        expect(await client.images.export(FP, dir).catch((e: unknown) => e)).to.be.instanceOf(LxdResponseValidationError);
        expect(await readdir(dir)).to.deep.equal([]);
        expect(await readdir(join(dir, '..'))).to.not.include('escape').and.not.include('evil');
      });
    }

    it('export: a fingerprint that is not hex and a directory that does not exist are refused before any request', async () => {
      await start();
      expect(await client.images.export('../x', dir).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(await client.images.export(FP, join(dir, 'nope')).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(fake.calls()).to.deep.equal([]);
    });

    it('publish sends the instance or snapshot source through the strict schema', async () => {
      await start();
      fake.on('POST', '/1.0/images', () => fake.operation({ metadata: { fingerprint: FP } }));
      const done = await (await client.images.publish({ source: { type: 'snapshot', name: 'c1/snap0' }, aliases: ['mine'], public: false, properties: { os: 'busybox' }, compressionAlgorithm: 'xz' })).wait();
      expect(done.metadata?.['fingerprint']).to.equal(FP);
      expect(fake.requestsTo('POST', '/1.0/images')[0]!.body).to.deep.equal({ source: { type: 'snapshot', name: 'c1/snap0' }, aliases: [{ name: 'mine' }], public: false, properties: { os: 'busybox' }, compression_algorithm: 'xz' });
      for (const source of [{ type: 'snapshot', name: 'c1' }, { type: 'container', name: 'c1' }, { type: 'instance', name: 'a/b' }]) {
        expect(await client.images.publish({ source: source as never }).catch((e: unknown) => e), JSON.stringify(source)).to.be.instanceOf(LxdValidationError);
      }
      expect(fake.requestsTo('POST', '/1.0/images')).to.have.length(1);
    });

    it('push posts the target, secret, certificate and aliases to /export; an http:// target is refused before any request', async () => {
      await start();
      fake.on('POST', `/1.0/images/${FP}/export`, () => fake.operation());
      await (await client.images.push(FP, { to: { url: 'https://127.0.0.1:8443', secret: 's3cret', certificate: 'PEM', aliases: ['copied'] } })).wait();
      expect(fake.requestsTo('POST', `/1.0/images/${FP}/export`)[0]!.body).to.deep.equal({ target: 'https://127.0.0.1:8443', secret: 's3cret', certificate: 'PEM', aliases: [{ name: 'copied' }] });
      expect(await client.images.push(FP, { to: { url: 'http://127.0.0.1:8443', secret: 's' } }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(await client.images.push(FP, { to: { url: 'https://127.0.0.1:8443', secret: '' } }).catch((e: unknown) => e)).to.be.instanceOf(LxdValidationError);
      expect(fake.requestsTo('POST', `/1.0/images/${FP}/export`)).to.have.length(1);
    });

    it('secret reads the secret from the token operation without waiting on it; refresh posts to /refresh', async () => {
      await start();
      fake.on('POST', `/1.0/images/${FP}/secret`, () => ({ status: 202, body: { type: 'async', status: 'Operation created', status_code: 100, operation: '/1.0/operations/op1', metadata: { id: 'op1', class: 'token', description: 'Downloading image', created_at: '', updated_at: '', status: 'Running', status_code: 103, resources: null, metadata: { secret: 'abc123', fingerprint: FP }, may_cancel: true, err: '' } } }));
      fake.on('POST', `/1.0/images/${FP}/refresh`, () => fake.operation({ metadata: { refreshed: false } }));
      expect(await client.images.secret(FP)).to.deep.equal({ secret: 'abc123', operationId: 'op1' });
      expect((await (await client.images.refresh(FP)).wait()).metadata).to.deep.equal({ refreshed: false });
      expect(fake.calls()).to.deep.equal([`POST /1.0/images/${FP}/secret`, `POST /1.0/images/${FP}/refresh`]);
    });
  });
});
