#!/usr/bin/env node
/**
 * The `lxdkit` command (package.json `bin`). See `lxdkit --help` and docs/cli.md.
 *
 * Built, this file is small: it compiles the command's bundle (dist/cli/lxdkit.cjs) with V8's code
 * cache of an earlier run, or prints the `--help` an earlier run kept (compile-cache.ts). Run from the sources (`tsx lib/cli/main.ts`), where
 * there is no bundle, it imports the command directly.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand } from './compile-cache.js';
import { tuneWasmTiering } from '../wasm-tiering.js';

/** The bundle's content id, set by the build (scripts/bundle-cli.ts). */
declare const LXDKIT_BUNDLE_ID: string | undefined;

// before anything is compiled: V8's flags are part of what its code cache is checked against, and
// the client sets this one on its first request
tuneWasmTiering();
const bundle = fileURLToPath(new URL('./lxdkit.cjs', import.meta.url));
if (typeof LXDKIT_BUNDLE_ID === 'string' && existsSync(bundle)) {
  await runCommand(bundle, LXDKIT_BUNDLE_ID, process.argv.slice(2), process.env, process.stdout);
} else {
  const { main } = (await import('./entry.js')) as typeof import('./entry.js');
  await main();
}
