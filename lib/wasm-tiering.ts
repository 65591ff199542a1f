/**
 * undici parses HTTP with llhttp compiled to WebAssembly. After the first few responses V8 recompiles
 * it with its optimising tier in a background thread, which leaves ~35 MiB of the process's memory
 * behind (measured on Node 20: a client's peak RSS goes from ~84 to ~120 MiB after one request) for
 * no speed that matters on LXD's small answers. lxdkit raises V8's tier-up budget once per process
 * so that only WebAssembly that is really hot gets there; a `--wasm-*` flag of your own wins
 * (nothing is changed when NODE_OPTIONS or the command line set one).
 *
 * The lxdkit command sets it before it compiles its bundle: V8's flags are part of what a compile
 * cache is checked against, so they must be the same when the cache is made and when it is read.
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

/** Raises V8's WebAssembly tier-up budget, once per process, unless a `--wasm-*` flag was given. */
export function tuneWasmTiering(): void {
  if (tuned) return;
  tuned = true;
  if ([...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => a.includes('wasm'))) return;
  try {
    setFlagsFromString('--wasm-tiering-budget=1000000000');
  } catch {
    // not fatal: only memory is at stake
  }
}
