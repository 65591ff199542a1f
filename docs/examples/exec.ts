/**
 * Running commands in an instance (docs/exec.md): the collecting call, streams with backpressure,
 * stdin, an abort, a pty, and the typed errors.
 * Needs a running LXD with the `lxdkit/busybox` image.
 * Run: npx tsx docs/examples/exec.ts
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LxdClient, LxdCommandNotFoundError, LxdError, LxdErrorCode } from 'lxdkit';

const image = process.env['LXDKIT_TEST_IMAGE_ALIAS'] ?? 'lxdkit/busybox';
const name = `lxdkit-example-exec-${randomBytes(3).toString('hex')}`;
const lxd = new LxdClient();
const dump = join(tmpdir(), `${name}.bin`);

try {
  await (await lxd.instances.create({ name, source: { type: 'image', alias: image } })).wait({ timeoutMs: 120_000 });
  await (await lxd.instances.setState(name, { action: 'start' })).wait({ timeoutMs: 60_000 });

  // The collecting call: stdin in, stdout and stderr out (each capped), the exit status as a result.
  const r = await lxd.instances.execOutput(name, {
    command: ['sh', '-c', 'cat; echo "from $USER in $(pwd)" >&2; exit 3'],
    stdin: 'hello\n',
    cwd: '/tmp',
    environment: { GREETING: 'hi' },
  });
  console.log(r.exitCode, JSON.stringify(r.stdout.toString()), JSON.stringify(r.stderr.toString())); // 3 "hello\n" "from root in /tmp\n"

  // Streams: stdout is read only as fast as it is written out (the websocket pauses meanwhile).
  const proc = await lxd.instances.exec(name, { command: ['head', '-c', '5000000', '/dev/urandom'] });
  proc.stderr.resume();                                // consume both, or the command blocks when one fills
  await pipeline(proc.stdout, createWriteStream(dump));
  const { exitCode } = await proc.wait();              // the exit status, once all output arrived
  console.log(`streamed 5000000 bytes to ${dump}, exit ${exitCode}`);

  // An abort (or the deadline, timeoutMs) sends the command a signal, SIGKILL unless told otherwise.
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('took too long')), 200);
  await lxd.instances.execOutput(name, { command: ['sleep', '60'], signal: ac.signal, killSignal: 'SIGTERM' }).catch((err: unknown) => console.log(`aborted: ${(err as Error).message}`));

  // A pty: stdout carries the terminal; resize it as a terminal would. (LXD 5.0.2 can lose a pty's
  // last output when the command ends right after writing it: this one lingers a moment.)
  const keys = new PassThrough();
  const shell = await lxd.instances.exec(name, { command: ['sh', '-c', 'read line; stty size; sleep 0.3'], interactive: true, width: 100, height: 30, stdin: keys });
  let screen = '';
  shell.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  await shell.resize(120, 40);
  keys.write('go\r');                                  // a terminal has no end of file: send what a user types
  await shell.wait();
  console.log(JSON.stringify(screen));                 // "go\r\n40 120\r\n"

  // Typed errors: a program that is not there; a command's own exit 127 is a result.
  try {
    await lxd.instances.execOutput(name, { command: ['no-such-program'] });
  } catch (err) {
    if (LxdError.is(err, LxdErrorCode.COMMAND_NOT_FOUND)) console.log(`missing: ${(err as LxdCommandNotFoundError).searched.length} places looked at`);
  }
  console.log((await lxd.instances.execOutput(name, { command: ['sh', '-c', 'exit 127'] })).exitCode); // 127
} finally {
  await rm(dump, { force: true });
  await lxd.instances.setState(name, { action: 'stop', force: true }).then((op) => op.wait()).catch(() => {});
  await lxd.instances.delete(name).then((op) => op.wait()).catch(() => {});
  await lxd.close();
}
