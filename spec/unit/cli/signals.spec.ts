/**
 * The built lxdkit command stopped by a signal while it waits on a server that never answers (a unix
 * socket in a temporary directory that accepts and stays silent): SIGINT exits 130, SIGTERM 143.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLI, ensureBuilt } from '../../helpers/cli.js';

describe('lxdkit stopped by a signal (built CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let server: Server;
  let socketPath: string;
  let accepted: () => void = () => {};
  const sockets = new Set<Socket>();

  before(async function () {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-signals-'));
    socketPath = join(dir, 'silent.sock');
    server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.resume();
      accepted();
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });

  after(async function () {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `lxdkit --socket SILENT status`, sends `signal` once it has connected, and resolves to the exit code. */
  async function stoppedBy(signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
    const connected = new Promise<void>((resolve) => (accepted = resolve));
    const child = spawn(process.execPath, [CLI, '--socket', socketPath, 'status'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await connected;
    child.kill(signal);
    return { code: await exited, stderr };
  }

  it('SIGTERM stops the command and exits 143', async function () {
    const { code, stderr } = await stoppedBy('SIGTERM');
    expect(code, stderr).to.equal(143);
  });

  it('SIGINT (Ctrl-C) still exits 130', async function () {
    const { code, stderr } = await stoppedBy('SIGINT');
    expect(code, stderr).to.equal(130);
  });
});
