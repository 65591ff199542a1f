/**
 * A process that uses an LxdClient across an events-socket drop (spec/integration/reliability):
 * it subscribes to events, waits on an operation (which holds the operations socket), reports
 * `ready`, `disconnected`, `reconnected`; on a line on stdin it closes the client and reports
 * `closed <outcome of the wait>`, then should exit on its own.
 */
import { LxdClient } from '../../lib/lxd/index.js';

const name = process.env['LXDKIT_SPEC_CONTAINER'] ?? '';
const lxd = new LxdClient();
const sub = lxd.events.subscribe({ types: ['lifecycle'] });
sub.on('disconnect', () => console.log('disconnected'));
sub.on('gap', () => console.log('reconnected'));
sub.on('error', (err) => console.log(`events error ${err.message}`));
await sub.ready;
const op = await lxd.instances.setState(name, { action: 'stop', timeout: 60 });
const waiting = op.wait({ timeoutMs: 120_000 }).then(
  () => 'done',
  (e: unknown) => `rejected ${(e as { code?: string }).code ?? String(e)}`,
);
console.log('ready');
process.stdin.once('data', () => {
  process.stdin.destroy();
  void (async () => {
    await lxd.close();
    console.log(`closed ${await waiting}`);
  })();
});
