/**
 * Where the CLI writes: injected so that unit specs can run commands in-process and read the output.
 */
export interface OutStream {
  /** Text, or bytes (command output, pulled files). */
  write(chunk: string | Uint8Array): unknown;
  /** True on a terminal. */
  isTTY?: boolean | undefined;
  /** Terminal width (terminals only). */
  columns?: number | undefined;
  /** Terminal height (terminals only). */
  rows?: number | undefined;
  /** Node streams: 'drain' after `write()` returned false. */
  once?(event: 'drain', listener: () => void): unknown;
  /** A terminal's 'resize' (SIGWINCH). */
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** What the CLI reads (`exec`'s stdin). */
export interface InStream extends AsyncIterable<unknown> {
  /** True on a terminal. */
  isTTY?: boolean | undefined;
  /** Raw mode of a terminal (keys go through unprocessed, Ctrl-C included). */
  setRawMode?(mode: boolean): unknown;
  /** Stops reading, so that an unread stdin does not keep the process alive. */
  destroy?(): unknown;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Standard input (absent: nothing to read). */
  stdin?: InStream | undefined;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    // made when a command reads it: Node builds stdin's stream on first use (~5 ms on a terminal)
    get stdin() {
      return process.stdin;
    },
  };
}

/** Writes everything it is given into a string (for specs and for `--json` capture). */
export class StringStream implements OutStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns: number | undefined = undefined,
  ) {}
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    return true;
  }
}
