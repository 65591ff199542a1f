/**
 * Where the CLI writes: injected so that unit specs can run commands in-process and read the output.
 */
export interface OutStream {
  write(chunk: string): unknown;
  /** True on a terminal. */
  isTTY?: boolean | undefined;
  /** Terminal width (terminals only). */
  columns?: number | undefined;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Writes everything it is given into a string (for specs and for `--json` capture). */
export class StringStream implements OutStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns: number | undefined = undefined,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}
