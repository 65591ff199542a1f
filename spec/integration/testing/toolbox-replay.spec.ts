/**
 * An exec session and a file transfer recorded from the real daemon (through Recorder.listen()) and
 * replayed offline (startReplayServer) give the same outcome, on LXD and on Incus.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { LxdClient, type ExecOutput } from '../../../lib/lxd/index.js';
import { Recorder, startReplayServer } from '../../../lib/testing/index.js';
import { describeEachServer } from '../../helpers/servers.js';
import { useContainer } from '../../helpers/toolbox.js';

const PREFIX = 'lxdkit-spec-rr-';

interface Outcome {
  exec: Omit<ExecOutput, 'operationId'>;
  interactive: string;
  file: { bytes: string; mode: number; uid: number; type: string };
  listing: string[];
}

/** What the code under test does; the same calls against the daemon and against the replay. */
async function scenario(client: LxdClient, name: string, payload: Buffer): Promise<Outcome> {
  const { operationId: _id, ...exec } = await client.instances.execOutput(name, { command: ['sh', '-c', 'sha256sum; echo done >&2; exit 4'], stdin: payload });
  void _id;
  const pty = await client.instances.execOutput(name, { command: ['sh', '-c', 'stty size; sleep 0.3'], interactive: true, width: 90, height: 20 });
  await client.instances.files.push(name, '/root/payload.bin', payload, { mode: 0o604, uid: 33 });
  const pulled = await client.instances.files.pull(name, '/root/payload.bin');
  const chunks: Buffer[] = [];
  for await (const c of pulled.body) chunks.push(c as Buffer);
  const listing = await client.instances.files.list(name, '/root');
  return { exec, interactive: pty.stdout.toString(), file: { bytes: Buffer.concat(chunks).toString('base64'), mode: pulled.mode, uid: pulled.uid, type: pulled.type }, listing };
}

describeEachServer('record and replay of exec sessions and file transfers', (server) => {
  const box = useContainer(server, PREFIX);
  const { run, name: c1 } = box;

  it('replays offline with the outcome it had against the daemon', async function () {
    const payload = randomBytes(64 * 1024);
    const rec = new Recorder({ socketPath: server.socket, replace: { [run]: 'app' } });
    let live: Outcome;
    let fx;
    try {
      const client = new LxdClient({ socketPath: await rec.listen(), useEvents: false });
      try {
        live = await scenario(client, c1, payload);
      } finally {
        await client.close();
      }
      fx = await rec.fixture({ description: 'exec and files' });
    } finally {
      await rec.close().catch(() => {});
    }
    expect(JSON.stringify(fx)).not.to.include(run);
    expect(fx.websockets?.map((w) => w.fd).sort()).to.deep.equal(['0', '0', '1', '2', 'control', 'control']);
    expect(live.exec.exitCode).to.equal(4);
    expect(live.interactive).to.equal('20 90\r\n');

    const replay = await startReplayServer(fx);
    const client = new LxdClient({ socketPath: replay.socketPath });
    try {
      const again = await scenario(client, 'app-a', payload);
      expect(again).to.deep.equal(live);
      replay.replayer.assertDone();
    } finally {
      await client.close();
      await replay.close();
    }
  });
});
