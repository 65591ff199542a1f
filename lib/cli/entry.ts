/**
 * The `lxdkit` command's body: signals, broken pipes and the exit code around `runCli`. The build
 * bundles it, and what it uses, into dist/cli/lxdkit.cjs, which main.ts runs.
 */
import { processIo, type CliIo, type OutStream } from './io.js';
import { ExitCode } from './exit-codes.js';
import { runCli } from './program.js';

export interface MainOptions {
  /** Told the command that runs (`image list`), once commander has chosen it. */
  onCommand?: ((command: string) => void) | undefined;
  /** Given a copy of everything written to stdout (main.ts keeps `--help` so). */
  onStdout?: ((chunk: string | Uint8Array) => void) | undefined;
  /** Called once the command is over, before its connections close (main.ts: see wind-down.ts). */
  onDone?: (() => void) | undefined;
}

/** The process's streams, with stdout's writes also given to `tee`. */
function io(tee: ((chunk: string | Uint8Array) => void) | undefined): CliIo {
  const io = processIo();
  if (!tee) return io;
  const out = process.stdout;
  const stdout: OutStream = {
    write: (chunk) => {
      tee(chunk);
      return out.write(chunk);
    },
    isTTY: out.isTTY,
    columns: out.columns,
    rows: out.rows,
    once: (event, listener) => out.once(event, listener),
    on: (event, listener) => out.on(event, listener),
    off: (event, listener) => out.off(event, listener),
  };
  // processIo's own object, stdout replaced: a copy would read stdin (a getter that makes its stream)
  io.stdout = stdout;
  return io;
}

/** Runs the command of `process.argv` and sets `process.exitCode`. */
export async function main(opts: MainOptions = {}): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  let running = true;
  // SIGTERM stops the command as a Ctrl-C does (it removes what it made), and lxdkit then exits 143
  // (128 + 15) where a Ctrl-C exits 130, as a shell reports a process ended by either signal.
  let terminated = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (signal === 'SIGTERM' && running) terminated = true;
    if (interrupts > 1) process.exit(signal === 'SIGTERM' ? ExitCode.TERMINATED : ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // A reader that goes away (`lxdkit demo | head -1`) ends the command as a Ctrl-C does: it stops and
  // removes what it made, writes nothing more to that stream, and lxdkit exits 141 (128 + SIGPIPE).
  // Without a handler, Node would end the process at the first failed write and leave things behind.
  let pipeClosed = false;
  const onStreamError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    pipeClosed = true;
    controller.abort();
  };
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);

  // The handlers stay until the process exits (they do not keep it alive): a Ctrl-C that comes after
  // the command finished, while the process winds down, leaves its outcome and exit code as they are.
  const code = await runCli(process.argv.slice(2), io(opts.onStdout), { signal: controller.signal, onCommand: opts.onCommand, onDone: opts.onDone });
  running = false;
  process.exitCode = terminated ? ExitCode.TERMINATED : pipeClosed && code !== ExitCode.OK ? ExitCode.PIPE_CLOSED : code;
}
