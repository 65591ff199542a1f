#!/usr/bin/env node
/**
 * The `lxdkit` command (package.json `bin`). See `lxdkit --help` and docs/cli.md.
 */
import { processIo } from './io.js';
import { runCli } from './program.js';

const controller = new AbortController();
let interrupts = 0;
const onSignal = (): void => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// The handlers stay until the process exits (they do not keep it alive): a Ctrl-C that comes after
// the command finished, while the process winds down, leaves its outcome and exit code as they are.
process.exitCode = await runCli(process.argv.slice(2), processIo(), { signal: controller.signal });
