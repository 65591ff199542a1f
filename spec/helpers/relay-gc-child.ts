/**
 * A process that relays a 12 MiB volume migration between two fake servers
 * (spec/unit/lxd/migration-relay.spec.ts), with `relayCollectsGarbage` as its first argument says
 * (`default`, `true` or `false`), then prints one JSON line: what `gc` is in a context made after
 * the relay (a function once `--expose-gc` was turned on) and how many bytes the target received.
 * The source writes its 12 MiB the moment its fs socket is up, before the relay has opened the
 * target's: a relay that read them with no listener yet would lose them (and wait forever).
 */
import { runInNewContext } from 'node:vm';
import { LxdClient } from '../../lib/lxd/index.js';
import { asyncAnswer, lxdError, operationObject, serverInfo, startFakeLxd, sync } from './fake-lxd.js';

const option = process.argv[2];
const EXTENSIONS = ['storage_api_remote_volume_handling', 'container_push', 'container_push_target', 'container_only_migration'];
const SOURCE = { control: 'source-control-secret', fs: 'source-fs-secret' };
const TARGET = { control: 'target-control-secret', fs: 'target-fs-secret' };
const FRAMES = 192;
const FRAME = 64 * 1024;

const source = await startFakeLxd();
const target = await startFakeLxd();
for (const [fake, addr] of [[source, '127.0.0.1:8443'], [target, '127.0.1.1:8443']] as const) {
  const base = serverInfo({ extensions: EXTENSIONS }) as { environment: Record<string, unknown> };
  fake.on('GET', '/1.0', () => sync({ ...base, environment: { ...base.environment, addresses: [addr], certificate: 'x' } }));
}
source.on('GET', '/1.0/storage-pools/default/volumes/custom/v1', () => sync({ name: 'v1', type: 'custom', config: {}, description: '', content_type: 'filesystem' }));
target.on('GET', '/1.0/storage-pools', () => sync(['/1.0/storage-pools/default']));
target.on('GET', '/1.0/profiles/default', () => sync({ name: 'default', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'default' } } }));
target.on('GET', '/1.0/storage-pools/default/volumes/custom/v1', () => lxdError(404, 'Storage volume not found'));

const sourceOp = operationObject({ class: 'websocket', metadata: SOURCE });
const sinkOp = operationObject({ class: 'websocket', metadata: TARGET });
let done = false;
source.on('POST', '/1.0/storage-pools/default/volumes/custom/v1', () => asyncAnswer(sourceOp));
source.on('GET', `/1.0/operations/${String(sourceOp['id'])}/wait`, () => sync({ ...sourceOp, status: done ? 'Success' : 'Running', status_code: done ? 200 : 103 }));
target.on('POST', '/1.0/storage-pools/default/volumes/custom', () => asyncAnswer(sinkOp));
target.on('GET', `/1.0/operations/${String(sinkOp['id'])}/wait`, () => sync({ ...sinkOp, status: done ? 'Success' : 'Running', status_code: done ? 200 : 103 }));

let received = 0;
const sockets: { close(): void }[] = [];
let sourceControl: { send(d: string): void } | undefined;
for (const [which, fake, secrets] of [['source', source, SOURCE], ['target', target, TARGET]] as const) {
  fake.onWebsocket(
    /^\/1\.0\/operations\/[^/]+\/websocket$/,
    (ws, url) => {
      sockets.push(ws);
      const name = url.searchParams.get('secret') === secrets.control ? 'control' : 'fs';
      if (which === 'source' && name === 'control') sourceControl = ws;
      if (which === 'source' && name === 'fs') {
        // at once: the relay has not opened the target's fs socket yet
        for (let i = 0; i < FRAMES; i++) ws.send(Buffer.alloc(FRAME, i), { binary: true });
      }
      if (which === 'target' && name === 'fs') {
        ws.on('message', (data: Buffer) => {
          received += data.length;
          if (received === FRAMES * FRAME) {
            done = true;
            sourceControl?.send('{"success":true}');
            setTimeout(() => {
              for (const s of sockets) s.close();
            }, 20);
          }
        });
      }
    },
    (url) => [...Object.values(SOURCE), ...Object.values(TARGET)].includes(url.searchParams.get('secret') ?? ''),
  );
}

const a = new LxdClient({ socketPath: source.socketPath, useEvents: false });
const b = new LxdClient({ socketPath: target.socketPath, useEvents: false });
await a.storageVolumes.migrate('default', 'v1', {
  to: b,
  mode: 'relay',
  ...(option === 'default' ? {} : { relayCollectsGarbage: option === 'true' }),
});
const gc = runInNewContext('typeof gc') as string;
console.log(JSON.stringify({ gc, received }));
await a.close();
await b.close();
await source.close();
await target.close();
