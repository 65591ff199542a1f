/**
 * `lxdkit exec <instance> [--env K=V]… [--cwd DIR] [--user UID] [--group GID] -- <command…>`: runs a
 * command in an instance with stdin, stdout and stderr wired through, on a pty when stdin and stdout
 * are terminals; lxdkit exits with the command's exit status.
 */
import { spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LxdCommandNotFoundError } from '../../lxd/errors.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import type { OutStream } from '../io.js';

export interface ExecCommandOptions {
  env?: string[];
  cwd?: string;
  user?: number;
  group?: number;
  /** -t: a pty even when stdin or stdout is not a terminal. */
  forceInteractive?: boolean;
  /** -T: no pty even on a terminal. */
  forceNoninteractive?: boolean;
}

/** No deadline for a command the user runs by hand: the longest a Node timer takes (24.8 days). */
const NO_DEADLINE_MS = 2 ** 31 - 1;

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(ExitCode.USAGE, `--env ${pair}: give KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** Copies a stream to an output, waiting for 'drain' when the output is full (backpressure end to end). */
async function copyTo(source: Readable, out: OutStream): Promise<void> {
  for await (const chunk of source) {
    if (out.write(chunk as Buffer) === false && out.once) await new Promise<void>((resolve) => out.once!('drain', resolve));
  }
}

/**
 * The bytes of a non-terminal input for a pty, then its end of file as the terminal's Ctrl-D (\x04):
 * two of them after a last line without its newline (the first hands the line to the reader, the
 * second reads as the end), one otherwise.
 */
export async function* endedWithCtrlD(input: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  let last = 0x0a;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    if (bytes.length === 0) continue;
    last = bytes[bytes.length - 1]!;
    yield bytes;
  }
  yield last === 0x0a || last === 0x0d ? Buffer.from([0x04]) : Buffer.from([0x04, 0x04]);
}

export async function execCommand(ctx: CliContext, instance: string, command: string[], o: ExecCommandOptions): Promise<number> {
  if (command.length === 0) throw new CliError(ExitCode.USAGE, 'give the command after --, e.g. lxdkit exec c1 -- ls -l /');
  if (o.forceInteractive && o.forceNoninteractive) throw new CliError(ExitCode.USAGE, 'give either -t or -T, not both');
  const { io } = ctx;
  const ref = ctx.instanceRef(instance);
  const environment = parseEnv(o.env ?? []);
  const stdin = io.stdin;
  // like lxc: a pty when both ends are terminals (a pty would turn a piped binary output's \n into \r\n)
  const interactive = o.forceInteractive === true || (o.forceNoninteractive !== true && stdin?.isTTY === true && io.stdout.isTTY === true);
  if (interactive && environment['TERM'] === undefined) environment['TERM'] = io.env['TERM'] ?? 'xterm';
  const raw = interactive && stdin?.isTTY === true && typeof stdin.setRawMode === 'function';
  let onResize: (() => void) | undefined;
  try {
    const proc = await ref.client.instances.exec(ref.name, {
      command,
      environment,
      cwd: o.cwd,
      user: o.user,
      group: o.group,
      interactive,
      // both or neither: a terminal that reports only one of them gets LXD's default size
      ...(interactive && io.stdout.columns && io.stdout.rows ? { width: io.stdout.columns, height: io.stdout.rows } : {}),
      // a pty forced on input that is not a terminal (-t < file): its end of file is typed as Ctrl-D,
      // as a user at a terminal would, so that a command reading to the end (cat) ends
      stdin: interactive && stdin !== undefined && stdin.isTTY !== true ? endedWithCtrlD(stdin as Readable) : (stdin as Readable | undefined),
      signal: ctx.signal,
      // Ctrl-C (outside raw mode) reaches the command as SIGINT; LXD kills it if it does not end
      killSignal: 'SIGINT',
      timeoutMs: NO_DEADLINE_MS,
    });
    if (raw) {
      stdin.setRawMode!(true);
      // Node's raw mode keeps the terminal turning \n into \r\n on output; the remote pty already
      // did that, so output processing is turned off too (as lxc's raw mode does). setRawMode(false)
      // puts the terminal back as it was, this included.
      if (stdin === process.stdin) spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
    }
    if (interactive && io.stdout.on) {
      onResize = (): void => {
        if (io.stdout.columns && io.stdout.rows) proc.resize(io.stdout.columns, io.stdout.rows).catch(() => {});
      };
      io.stdout.on('resize', onResize);
    }
    const outputs = Promise.all([copyTo(proc.stdout, io.stdout), copyTo(proc.stderr, io.stderr)]);
    outputs.catch(() => {});
    let exitCode: number;
    try {
      exitCode = (await proc.wait()).exitCode;
    } catch (err) {
      // interrupted: what the command wrote until it ended is still written out
      if (ctx.signal.aborted) await outputs.catch(() => {});
      throw err;
    }
    await outputs;
    return exitCode;
  } catch (err) {
    if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
    if (LxdCommandNotFoundError.is(err)) {
      // the shell's convention for a missing program
      io.stderr.write(`lxdkit: ${err.message}\n`);
      return 127;
    }
    throw err;
  } finally {
    if (onResize) io.stdout.off?.('resize', onResize);
    if (raw) stdin.setRawMode!(false);
    // an unread stdin (a terminal, an endless pipe) must not keep lxdkit running
    stdin?.destroy?.();
  }
}
