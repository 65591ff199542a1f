/**
 * The command's remote options, checked before any connection: a URL with a user name or password
 * exits 3 without repeating the password; a client key that others may read exits 3 naming chmod 600.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { selfSignedCert } from '../../helpers/simplestreams-server.js';
import { cli, removeTempFiles, tempFiles } from './helpers.js';
import { startHangUpListener } from '../../helpers/tls-test.js';

const SECRET = 'hunter2-s3cret';

describe('cli remote options (in-process)', function () {
  let listener: Awaited<ReturnType<typeof startHangUpListener>>;
  let port: number;
  const connections = (): number => listener.connections();
  let dir: string;
  let files: { cert: string; key: string };

  before(async function () {
    const pem = await selfSignedCert();
    dir = tempFiles({ 'client.crt': pem.cert, 'client.key': pem.key });
    files = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
    chmodSync(files.key, 0o600);
    listener = await startHangUpListener();
    port = listener.port;
  });
  after(async function () {
    removeTempFiles();
    await listener.close();
  });

  it('--remote or LXDKIT_REMOTE with user:password@ exits 3 before any connection, never repeating the password', async function () {
    const url = `https://admin:${SECRET}@127.0.0.1:${port}`;
    const runs = [
      await cli(['--remote', url, '--client-cert', files.cert, '--client-key', files.key, 'status']),
      await cli(['--remote', url, '--client-cert', files.cert, '--client-key', files.key, 'status', '--json']),
      // the URL is checked first: before the missing certificate options
      await cli(['--remote', url, 'status']),
      await cli(['--remote', `http://admin:${SECRET}@127.0.0.1:${port}`, 'status']),
      await cli(['--remote', `https:admin:${SECRET}@127.0.0.1:${port}`, 'status']),
      await cli(['status', '--json'], { env: { LXDKIT_REMOTE: url, LXDKIT_CLIENT_CERT: files.cert, LXDKIT_CLIENT_KEY: files.key } }),
    ];
    for (const run of runs) {
      expect(run.code, run.stderr).to.equal(ExitCode.INVALID_INPUT);
      expect(run.stderr + run.stdout).not.to.contain(SECRET);
    }
    expect(runs[0]!.stderr).to.equal(`lxdkit: --remote: "https://***@127.0.0.1:${port}" holds a user name or password: a remote authenticates with a client certificate (tls.cert and tls.key, or --client-cert and --client-key), never with a password in its URL; remove the "user:password@" part\n`);
    expect(JSON.parse(runs[1]!.stdout)).to.deep.include({ error: { message: runs[1]!.stderr.slice('lxdkit: '.length, -1), code: 'LXD_ERR_INVALID_ARGUMENT', exitCode: 3 } });
    expect(runs[5]!.stderr).to.match(/^lxdkit: LXDKIT_REMOTE: "https:\/\/\*\*\*@127\.0\.0\.1:\d+" holds a user name or password/);
    expect(connections(), 'no connection was made').to.equal(0);
  });

  it('refuses a client key file its group or others may read or write (exit 3, naming chmod 600); a 0600 key goes on', async function () {
    const url = `https://127.0.0.1:${port}`;
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660, 0o700 | 0o004]) {
      const key = join(dir, `open-${mode.toString(8)}.key`);
      writeFileSync(key, 'not even read');
      chmodSync(key, mode);
      const run = await cli(['--remote', url, '--client-cert', files.cert, '--client-key', key, 'status']);
      expect(run.code, run.stderr).to.equal(ExitCode.INVALID_INPUT);
      expect(run.stderr).to.equal(`lxdkit: --client-key: ${key} is open to others (mode 0${mode.toString(8)}): a private key must be readable by its owner alone; run "chmod 600 ${key}"\n`);
    }
    expect(connections(), 'refused before any connection').to.equal(0);
    for (const mode of [0o600, 0o400]) {
      chmodSync(files.key, mode);
      const run = await cli(['--remote', url, '--client-cert', files.cert, '--client-key', files.key, 'status']);
      // read and used: the connection is made (and this listener hangs up: the remote is unavailable)
      expect(run.code, run.stderr).to.equal(ExitCode.UNAVAILABLE);
    }
    chmodSync(files.key, 0o600);
    expect(connections()).to.be.above(0);
  });
});
