#!/usr/bin/env node
/**
 * The `lxdkit` command run from the sources (`tsx lib/cli/main.ts`): the command itself, without the
 * bundle and its code cache. Built, the command is dist/cli/main.cjs (bin.ts), and dist/cli/main.js
 * runs that. See `lxdkit --help` and docs/cli.md.
 */
import { main } from './entry.js';

await main();
