/**
 * Reads a file for an upload in fixed-size chunks from a small ring of buffers that are reused, so a
 * 1 GiB upload allocates a few buffers instead of thousands. Allocating a fresh buffer per chunk
 * (what `fs.createReadStream` does) lets ~60 MiB of spent chunks pile up between garbage collections.
 *
 * A yielded chunk is overwritten when the ring comes round to its buffer again, `ring - 1` pulls
 * later. That is safe for a consumer that has written a chunk out before it pulls the next one, as
 * undici's HTTP/1 writer does: a chunk at least as large as the socket's high-water mark always
 * makes `write()` return false, and undici waits for `drain` (everything flushed) before pulling.
 * A consumer that keeps chunks (a dispatcher that records bodies) must copy them; the transport
 * does so for dispatchers it did not create (`RawBody.reusesChunks`).
 */
import { open } from 'node:fs/promises';

export interface FileChunksOptions {
  /** Bytes per chunk (default 256 KiB). */
  chunkBytes?: number;
  /** Buffers in the ring (default 4, at least 2). */
  ring?: number;
  signal?: AbortSignal | undefined;
}

export async function* readFileChunks(path: string, opts: FileChunksOptions = {}): AsyncGenerator<Buffer> {
  const chunkBytes = opts.chunkBytes ?? 256 * 1024;
  const ring = Math.max(2, opts.ring ?? 4);
  opts.signal?.throwIfAborted();
  const file = await open(path, 'r');
  try {
    const buffers: Buffer[] = [];
    for (let i = 0; ; i++) {
      opts.signal?.throwIfAborted();
      const buffer = (buffers[i % ring] ??= Buffer.allocUnsafeSlow(chunkBytes));
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
