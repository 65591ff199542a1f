/**
 * The `lxdkit` command as installed (package.json `bin`: dist/cli/main.cjs, built from this file).
 * CommonJS, so that Node starts it without its ES module loader (~15 ms a bare `node` does not pay):
 * it compiles the command's bundle (dist/cli/lxdkit.cjs) with V8's code cache of an earlier run, or
 * prints the `--help` an earlier run kept (compile-cache.ts). dist/cli/main.js runs it too.
 */
import { join } from 'node:path';
import { runCommand } from './compile-cache.js';
import { tuneWasmTiering } from '../wasm-tiering.js';

/** The bundle's content id, set by the build (scripts/bundle-cli.ts). */
declare const LXDKIT_BUNDLE_ID: string;

// before anything is compiled: V8's flags are part of what its code cache is checked against, and
// the client sets this one on its first request
tuneWasmTiering();
runCommand(join(__dirname, 'lxdkit.cjs'), LXDKIT_BUNDLE_ID, process.argv.slice(2), process.env, process.stdout).catch((err: unknown) => {
  process.exitCode = 1;
  process.stderr.write(`lxdkit: ${err instanceof Error ? err.message : String(err)}\n`);
});
