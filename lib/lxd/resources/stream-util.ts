/**
 * Small helpers for streamed response bodies.
 */
import type { Readable } from 'node:stream';
import { LxdResponseTooLargeError } from '../errors.js';

/** Reads a body to its end, up to `maxBytes` (more destroys it and throws LxdResponseTooLargeError). */
export async function readCapped(body: Readable, maxBytes: number, method: string, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw new LxdResponseTooLargeError(method, path, maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
