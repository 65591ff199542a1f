import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { readFileChunks } from '../../../lib/lxd/file-chunks.js';
import { LxdClient } from '../../../lib/lxd/index.js';
import { serverInfo } from '../../helpers/fake-lxd.js';

const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

describe('readFileChunks', function () {
  let dir: string;
  let file: string;
  const content = randomBytes(10 * 1024 + 123);

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxdkit-chunks-'));
    file = join(dir, 'data');
    await writeFile(file, content);
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('yields the file in order, in chunks of the given size with a short last one', async function () {
    const copies: Buffer[] = [];
    for await (const chunk of readFileChunks(file, { chunkBytes: 1024, ring: 3 })) copies.push(Buffer.from(chunk));
    expect(copies.map((c) => c.length)).to.deep.equal([...Array(10).fill(1024), 123]);
    expect(Buffer.concat(copies).equals(content)).to.equal(true);
  });

  it('reuses a ring of buffers: the same memory comes round every `ring` chunks', async function () {
    const seen: Buffer[] = [];
    for await (const chunk of readFileChunks(file, { chunkBytes: 1024, ring: 3 })) seen.push(chunk);
    expect(seen[3]!.buffer).to.equal(seen[0]!.buffer);
    expect(seen[1]!.buffer).to.not.equal(seen[0]!.buffer);
    expect(new Set(seen.map((c) => c.buffer)).size).to.equal(3);
    // which is why a consumer that keeps chunks must copy them
    expect(Buffer.concat(seen).equals(content)).to.equal(false);
  });

  it('stops with the signal reason and closes the file, also when the consumer stops early', async function () {
    const before = await openFds();
    const ac = new AbortController();
    const reason = new Error('stop');
    const err = await (async () => {
      for await (const _ of readFileChunks(file, { chunkBytes: 1024, signal: ac.signal })) ac.abort(reason);
    })().catch((e: unknown) => e);
    expect(err).to.equal(reason);
    for await (const _ of readFileChunks(file, { chunkBytes: 1024 })) break;
    expect(await openFds()).to.equal(before);
  });

  it('reads nothing from an empty file and fails for a missing one', async function () {
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    const got: Buffer[] = [];
    for await (const chunk of readFileChunks(empty)) got.push(chunk);
    expect(got).to.deep.equal([]);
    const err = await (async () => {
      for await (const _ of readFileChunks(join(dir, 'missing'))) break;
    })().catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  describe('images.upload through a dispatcher that keeps the chunks it is given', function () {
    it('sends the file intact: the transport copies reused chunks for a dispatcher it did not create', async function () {
      const big = join(dir, 'big.tar');
      const bytes = randomBytes(2 * 1024 * 1024 + 7);
      await writeFile(big, bytes);
      const socketPath = join(dir, 'lxd.socket');
      let receivedHash = '';
      const server = createServer((req, res) => {
        if (req.url === '/1.0') {
          // the client asks which server this is (header names differ between LXD and Incus)
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: serverInfo() }));
          return;
        }
        const hash = createHash('sha256');
        req.on('data', (c: Buffer) => hash.update(c));
        req.on('end', () => {
          receivedHash = hash.digest('hex');
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: { fingerprint: receivedHash } }));
        });
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      const agent = new Agent({ connect: { socketPath } });
      // buffers the whole body, keeping every chunk as given, before sending it on (as a recording
      // or retrying dispatcher might)
      const hoarding = agent.compose((dispatch: Dispatcher.Dispatch) => (opts, handler) => {
        if (opts.body === null || opts.body === undefined) return dispatch(opts, handler);
        const body = opts.body as AsyncIterable<Uint8Array>;
        void (async () => {
          const kept: Uint8Array[] = [];
          for await (const chunk of body) kept.push(chunk);
          dispatch({ ...opts, body: Buffer.concat(kept) }, handler);
        })();
        return true;
      });
      const client = new LxdClient({ dispatcher: hoarding, useEvents: false });
      try {
        await client.images.upload({ unified: big });
        expect(receivedHash).to.equal(createHash('sha256').update(bytes).digest('hex'));
      } finally {
        await client.close();
        await agent.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
