/**
 * The choreography of a migration between two servers, against two fake servers: which requests go
 * where and in which order in each mode, what the relay carries (every frame, text or binary, in order),
 * what a failure on the target cleans up (and what it leaves alone), and that the operations' websocket
 * secrets and certificates never reach a log line, a progress report or an error message.
 */
import { expect } from 'chai';
import type { WebSocket } from 'ws';
import { LxdClient, LxdExtensionMissingError, LxdValidationError } from '../../../lib/lxd/index.js';
import type { Logger } from '../../../lib/logger.js';
import { lxdError, operationObject, serverInfo, startFakeLxd, sync, asyncAnswer, type FakeLxd } from '../../helpers/fake-lxd.js';

const EXTENSIONS = ['storage_api_remote_volume_handling', 'container_push', 'container_push_target', 'container_only_migration'];
const SOURCE_SECRETS = { control: 'source-control-secret-1f2e', fs: 'source-fs-secret-3d4c' };
const TARGET_SECRETS = { control: 'target-control-secret-5b6a', fs: 'target-fs-secret-7988' };
const CERT = '-----BEGIN CERTIFICATE-----\nfake-server-certificate-body\n-----END CERTIFICATE-----\n';
const SECRETS = [...Object.values(SOURCE_SECRETS), ...Object.values(TARGET_SECRETS), 'fake-server-certificate-body'];

/** A logger that keeps every line (with its bindings) as JSON text. */
function capturingLogger(lines: string[], bindings: Record<string, unknown> = {}): Logger {
  const log = (obj: unknown, msg?: string): void => void lines.push(JSON.stringify({ ...bindings, obj, msg }));
  return { trace: log, debug: log, info: log, warn: log, error: log, child: (b) => capturingLogger(lines, { ...bindings, ...b }), isLevelEnabled: () => true };
}

function info(addresses: string[]): unknown {
  const base = serverInfo({ extensions: EXTENSIONS }) as { environment: Record<string, unknown> };
  return { ...base, environment: { ...base.environment, addresses, certificate: CERT } };
}

interface Side {
  fake: FakeLxd;
  client: LxdClient;
  /** Frames received on each websocket, by name (`control`, `fs`). */
  received: Record<string, { data: string; binary: boolean }[]>;
  sockets: Record<string, WebSocket>;
}

async function side(lines: string[], secrets: Record<string, string>, addresses: string[]): Promise<Side> {
  const fake = await startFakeLxd();
  const received: Side['received'] = {};
  const sockets: Side['sockets'] = {};
  fake.on('GET', '/1.0', () => sync(info(addresses)));
  fake.onWebsocket(
    /^\/1\.0\/operations\/[^/]+\/websocket$/,
    (ws, url) => {
      const name = Object.keys(secrets).find((k) => secrets[k] === url.searchParams.get('secret'))!;
      sockets[name] = ws;
      received[name] = [];
      ws.on('message', (data: Buffer, binary: boolean) => received[name]!.push({ data: data.toString(), binary }));
    },
    (url) => Object.values(secrets).includes(url.searchParams.get('secret') ?? ''),
  );
  const client = new LxdClient({ socketPath: fake.socketPath, useEvents: false, logger: capturingLogger(lines) });
  return { fake, client, received, sockets };
}

describe('migration between servers (fake servers)', () => {
  let source: Side;
  let target: Side;
  let lines: string[];

  beforeEach(async () => {
    lines = [];
    source = await side(lines, SOURCE_SECRETS, ['127.0.0.1:8443']);
    target = await side(lines, TARGET_SECRETS, ['127.0.1.1:8443']);
    source.fake.on('GET', '/1.0/storage-pools/default/volumes/custom/v1', () => sync({ name: 'v1', type: 'custom', config: { size: '1GiB' }, description: 'd', content_type: 'filesystem' }));
    target.fake.on('GET', '/1.0/storage-pools', () => sync(['/1.0/storage-pools/local']));
    target.fake.on('GET', '/1.0/profiles/default', () => sync({ name: 'default', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'local' } } }));
    target.fake.on('GET', '/1.0/storage-pools/local/volumes/custom/v1', () => lxdError(404, 'Storage volume not found'));
  });

  afterEach(async () => {
    for (const s of [source, target]) {
      await s.client.close();
      await s.fake.close();
    }
  });

  function noSecretIn(text: string, what: string): void {
    for (const s of SECRETS) expect(text, what).to.not.include(s);
  }

  it('pull: the source makes the migration operation, the target pulls it with its URL, secrets and certificate', async () => {
    const sourceOp = operationObject({ class: 'websocket', metadata: SOURCE_SECRETS });
    source.fake.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => asyncAnswer({ ...sourceOp, status: 'Success', status_code: 200 }));
    target.fake.on('POST', '/1.0/storage-pools/local/volumes/custom', () => target.fake.operation({ progress: [{ fs_progress: 'v1: 50% (10MB/s)', ...SOURCE_SECRETS }] }));
    const progress: unknown[] = [];
    const result = await source.client.storageVolumes.migrate('default', 'v1', { to: target.client, mode: 'pull', onProgress: (p) => progress.push(p) });
    expect(result).to.deep.equal({ name: 'v1', pool: 'local', mode: 'pull', location: 'none', moved: false });
    expect(source.fake.calls()).to.deep.equal(['GET /1.0/storage-pools/default/volumes/custom/v1', 'POST /1.0/storage-pools/default/volumes/custom/v1']);
    expect(source.fake.requestsTo('POST', '/1.0/storage-pools/default/volumes/custom/v1')[0]!.body).to.deep.equal({ migration: true, name: 'v1', pool: 'default', volume_only: false });
    expect(target.fake.calls()).to.deep.equal(['GET /1.0/storage-pools', 'GET /1.0/profiles/default', 'GET /1.0/storage-pools/local/volumes/custom/v1', 'POST /1.0/storage-pools/local/volumes/custom']);
    expect(target.fake.requestsTo('POST', '/1.0/storage-pools/local/volumes/custom')[0]!.body).to.deep.equal({
      name: 'v1',
      type: 'custom',
      config: { size: '1GiB' },
      description: 'd',
      content_type: 'filesystem',
      source: { type: 'migration', mode: 'pull', operation: `https://127.0.0.1:8443/1.0/operations/${String(sourceOp['id'])}`, certificate: CERT, secrets: SOURCE_SECRETS, name: 'v1', pool: 'default', volume_only: false },
    });
    expect(progress).to.have.length(1);
    expect(progress[0]).to.deep.include({ side: 'target', stage: 'fs_progress', percent: 50 });
    noSecretIn(JSON.stringify(progress), 'progress');
    noSecretIn(lines.join('\n'), 'logs');
  });

  it('push: the target makes the sink, the source is told its operation URL, secrets and certificate', async () => {
    const sinkOp = operationObject({ class: 'websocket', metadata: TARGET_SECRETS });
    target.fake.on('POST', '/1.0/storage-pools/local/volumes/custom', () => asyncAnswer({ ...sinkOp, status: 'Success', status_code: 200 }));
    source.fake.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => source.fake.operation());
    await source.client.storageVolumes.migrate('default', 'v1', { to: target.client, mode: 'push', newName: 'v1' });
    const targetPost = target.fake.requestsTo('POST', '/1.0/storage-pools/local/volumes/custom')[0]!.body as { source: Record<string, unknown> };
    expect(targetPost.source).to.deep.equal({ type: 'migration', mode: 'push', name: 'v1', pool: 'default', volume_only: false });
    expect(source.fake.requestsTo('POST', '/1.0/storage-pools/default/volumes/custom/v1')[0]!.body).to.deep.equal({
      migration: true,
      name: 'v1',
      pool: 'default',
      volume_only: false,
      target: { operation: `https://127.0.1.1:8443/1.0/operations/${String(sinkOp['id'])}`, secrets: TARGET_SECRETS, certificate: CERT },
    });
    noSecretIn(lines.join('\n'), 'logs');
  });

  it('relay: both sides\' websockets are opened (control first) and every frame is copied, in order, text and binary kept', async () => {
    const sourceOp = operationObject({ class: 'websocket', metadata: SOURCE_SECRETS });
    const sinkOp = operationObject({ class: 'websocket', metadata: TARGET_SECRETS });
    let sourceDone = false;
    source.fake.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => asyncAnswer(sourceOp));
    source.fake.on('GET', `/1.0/operations/${String(sourceOp['id'])}/wait`, () => sync({ ...sourceOp, status: sourceDone ? 'Success' : 'Running', status_code: sourceDone ? 200 : 103 }));
    target.fake.on('POST', '/1.0/storage-pools/local/volumes/custom', () => asyncAnswer(sinkOp));
    target.fake.on('GET', `/1.0/operations/${String(sinkOp['id'])}/wait`, () => sync({ ...sinkOp, status: sourceDone ? 'Success' : 'Running', status_code: sourceDone ? 200 : 103 }));
    const order: string[] = [];
    for (const [name, s] of [['source', source], ['target', target]] as const) {
      s.fake.onWebsocket(/^\/1\.0\/operations\/[^/]+\/websocket$/, (ws, url) => {
        const secrets = name === 'source' ? SOURCE_SECRETS : TARGET_SECRETS;
        const which = Object.keys(secrets).find((k) => secrets[k as keyof typeof secrets] === url.searchParams.get('secret'))!;
        order.push(`${name}:${which}`);
        s.sockets[which] = ws;
        s.received[which] = [];
        ws.on('message', (data: Buffer, binary: boolean) => s.received[which]!.push({ data: data.toString(), binary }));
        if (name === 'source' && which === 'fs') {
          // the source sends its data once both fs sockets are up; the target answers on control
          setTimeout(() => {
            for (let i = 0; i < 50; i++) ws.send(Buffer.alloc(64 * 1024, i), { binary: true });
            source.sockets['control']!.send('{"fs":"done"}', { binary: false });
          }, 50);
        }
        if (name === 'target' && which === 'control') {
          ws.on('message', async () => {
            // as LXD's sink: it answers once it has read the whole stream
            while ((target.received['fs']?.length ?? 0) < 50) await new Promise((r) => setTimeout(r, 10));
            ws.send('{"success":true}', { binary: false });
            setTimeout(() => {
              sourceDone = true;
              for (const s2 of [source, target]) for (const w of Object.values(s2.sockets)) w.close();
            }, 50);
          });
        }
      }, (url) => [...Object.values(SOURCE_SECRETS), ...Object.values(TARGET_SECRETS)].includes(url.searchParams.get('secret') ?? ''));
    }
    const result = await source.client.storageVolumes.migrate('default', 'v1', { to: target.client, mode: 'relay' });
    expect(result.mode).to.equal('relay');
    expect(order).to.deep.equal(['source:control', 'target:control', 'source:fs', 'target:fs']);
    const fs = target.received['fs']!;
    expect(fs).to.have.length(50);
    fs.forEach((f, i) => {
      expect(f.binary).to.equal(true);
      expect(Buffer.from(f.data).length).to.be.greaterThan(0);
      expect(f.data.length, `frame ${i}`).to.equal(64 * 1024);
      expect(f.data.charCodeAt(0), `frame ${i}`).to.equal(i);
    });
    expect(target.received['control']).to.deep.equal([{ data: '{"fs":"done"}', binary: false }]);
    expect(source.received['control']).to.deep.equal([{ data: '{"success":true}', binary: false }]);
    const targetPost = target.fake.requestsTo('POST', '/1.0/storage-pools/local/volumes/custom')[0]!.body as { source: Record<string, unknown> };
    expect(targetPost.source['mode']).to.equal('push');
    noSecretIn(lines.join('\n'), 'logs');
  });

  it('a target that refuses: the source operation\'s unused websockets are dropped, the target\'s existing volume is never deleted, nothing is moved', async () => {
    target.fake.on('GET', '/1.0/storage-pools/local/volumes/custom/v1', () => sync({ name: 'v1', type: 'custom', config: {}, description: 'theirs' }));
    const sourceOp = operationObject({ class: 'websocket', metadata: SOURCE_SECRETS });
    let dropped = 0;
    source.fake.onWebsocket(/^\/1\.0\/operations\/[^/]+\/websocket$/, (ws) => {
      dropped++;
      ws.on('close', () => {});
    }, () => true);
    source.fake.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => asyncAnswer(sourceOp));
    source.fake.on('GET', `/1.0/operations/${String(sourceOp['id'])}`, () => sync(dropped === 2 ? { ...sourceOp, status: 'Failure', status_code: 400, err: 'websocket closed' } : sourceOp));
    source.fake.on('GET', `/1.0/operations/${String(sourceOp['id'])}/wait`, () => sync(dropped === 2 ? { ...sourceOp, status: 'Failure', status_code: 400, err: 'websocket closed' } : sourceOp));
    target.fake.on('POST', '/1.0/storage-pools/local/volumes/custom', () => lxdError(409, 'Volume by that name already exists'));
    const err = await source.client.storageVolumes.migrate('default', 'v1', { to: target.client, mode: 'pull', move: true }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).to.be.instanceOf(Error);
    expect(err!.message).to.match(/already exists/);
    noSecretIn(err!.message, 'the error');
    expect(dropped).to.equal(2);
    expect(target.fake.calls().filter((c) => c.startsWith('DELETE'))).to.deep.equal([]);
    expect(source.fake.calls().filter((c) => c.startsWith('DELETE') && !c.includes('/operations/'))).to.deep.equal([]);
    noSecretIn(lines.join('\n'), 'logs');
  });

  describe('instances', () => {
    const inst = (status: 'Running' | 'Stopped') => ({
      name: 'c1',
      type: 'container',
      architecture: 'x86_64',
      config: { 'limits.cpu': '1', 'volatile.base_image': 'abc123', 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' },
      devices: { root: { type: 'disk', path: '/', pool: 'default' } },
      ephemeral: false,
      profiles: ['default'],
      stateful: false,
      description: 'web',
      status,
      status_code: status === 'Running' ? 103 : 102,
    });

    beforeEach(() => {
      target.fake.on('GET', '/1.0/instances/c1', () => lxdError(404, 'Instance not found'));
      source.fake.on('POST', '/1.0/instances/c1', () => asyncAnswer({ ...operationObject({ class: 'websocket', metadata: SOURCE_SECRETS }), status: 'Success', status_code: 200 }));
      target.fake.on('POST', '/1.0/instances', () => target.fake.operation());
    });

    it('a copy: the root disk goes to the target\'s default-profile pool when it lacks the source\'s, volatile keys stay behind but the base image', async () => {
      source.fake.on('GET', '/1.0/instances/c1', () => sync(inst('Stopped')));
      const r = await source.client.instances.migrate('c1', { to: target.client, target: 'm2' });
      expect(r).to.deep.include({ name: 'c1', pool: 'local', mode: 'pull', moved: false });
      const post = target.fake.requestsTo('POST', '/1.0/instances')[0]!;
      expect(post.query.get('target')).to.equal('m2');
      const body = post.body as Record<string, unknown>;
      expect(body['devices']).to.deep.equal({ root: { type: 'disk', path: '/', pool: 'local' } });
      expect(body['config']).to.deep.equal({ 'limits.cpu': '1' });
      expect(body['source']).to.deep.include({ type: 'migration', mode: 'pull', 'base-image': 'abc123', live: false, instance_only: false });
      expect(source.fake.requestsTo('POST', '/1.0/instances/c1')[0]!.body).to.deep.equal({ migration: true, live: false, instance_only: false, container_only: false });
      expect(source.fake.calls().filter((c) => c.startsWith('DELETE'))).to.deep.equal([]);
    });

    it('a move keeps the volatile keys and deletes the source only after both sides succeeded; a running instance is moved only live', async () => {
      source.fake.on('GET', '/1.0/instances/c1', () => sync(inst('Stopped')));
      source.fake.on('DELETE', '/1.0/instances/c1', () => source.fake.operation());
      await source.client.instances.migrate('c1', { to: target.client, move: true, pool: 'local' });
      const body = target.fake.requestsTo('POST', '/1.0/instances')[0]!.body as Record<string, unknown>;
      expect(body['config']).to.include({ 'volatile.eth0.hwaddr': '00:16:3e:00:00:01' });
      const calls = source.fake.calls();
      expect(calls.indexOf('DELETE /1.0/instances/c1')).to.be.greaterThan(calls.indexOf('POST /1.0/instances/c1'));
      source.fake.on('GET', '/1.0/instances/c1', () => sync(inst('Running')));
      const err = await source.client.instances.migrate('c1', { to: target.client, move: true }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(LxdValidationError);
      expect((err as LxdValidationError).field).to.equal('move');
      expect(source.fake.requestsTo('POST', '/1.0/instances/c1')).to.have.length(1);
    });
  });

  it('a failure whose text quotes a websocket URL: the secret is taken out of the error and of the operation it carries', async () => {
    const sourceOp = operationObject({ class: 'websocket', metadata: SOURCE_SECRETS });
    source.fake.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => asyncAnswer({ ...sourceOp, status: 'Success', status_code: 200 }));
    const why = `Failed to connect to https://127.0.0.1:8443/1.0/operations/x/websocket?secret=${SOURCE_SECRETS.fs}`;
    target.fake.on('POST', '/1.0/storage-pools/local/volumes/custom', () => target.fake.operation({ err: why, metadata: { ...SOURCE_SECRETS } }));
    const err = await source.client.storageVolumes.migrate('default', 'v1', { to: target.client }).then(() => undefined, (e: unknown) => e as Error & { operation?: unknown });
    expect(err).to.be.instanceOf(Error);
    expect(err!.message).to.match(/Failed to connect to .*secret=\*\*\*/);
    noSecretIn(err!.message, 'the message');
    noSecretIn(err!.stack ?? '', 'the stack');
    noSecretIn(JSON.stringify(err!.operation), 'the operation');
  });

  it('checks input and extensions before any request', async () => {
    for (const [opts, field] of [
      [{ to: {} }, 'to'],
      [{ to: target.client, mode: 'teleport' }, 'mode'],
      [{ to: target.client, newName: 'a/b' }, 'newName'],
      [{ to: target.client, volumeOnly: 1 }, 'volumeOnly'],
      [{ to: target.client, pool: '..' }, 'pool'],
    ] as const) {
      const err = await source.client.storageVolumes.migrate('default', 'v1', opts as never).then(() => undefined, (e: unknown) => e);
      expect(err, field).to.be.instanceOf(LxdValidationError);
      expect((err as LxdValidationError).field).to.equal(field);
    }
    expect(source.fake.requests.length + target.fake.requests.length).to.equal(0);
    target.fake.on('GET', '/1.0', () => sync(serverInfo({ extensions: ['storage_api_remote_volume_handling'] })));
    const err = await source.client.storageVolumes.migrate('default', 'v1', { to: target.client, mode: 'push' }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LxdExtensionMissingError);
    expect((err as LxdExtensionMissingError).extension).to.equal('container_push');
    expect([...source.fake.calls(), ...target.fake.calls()]).to.deep.equal([]);
  });
});
