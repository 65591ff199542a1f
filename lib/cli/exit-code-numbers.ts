/**
 * The numbers of the lxdkit command's exit codes (exit-codes.ts maps errors to them; documented in
 * docs/cli.md). A module of their own, with no imports, so that the command's loader (bin.ts) can use
 * them without loading the error classes.
 */
export const ExitCode = {
  /** Everything asked for was done. */
  OK: 0,
  /** An unexpected failure (a bug, or an error lxdkit does not classify). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /**
   * Bad input, refused before anything changed: YAML syntax, profile schema, charm rules, names, UUIDs;
   * also a local path that cannot take what a pull writes (a name too long for it, a directory in the way).
   */
  INVALID_INPUT: 3,
  /** Something named does not exist (container, profile, image, operation). */
  NOT_FOUND: 4,
  /** It already exists, or it changed under us (ETag mismatch): re-read and retry. */
  CONFLICT: 5,
  /** LXD (or libvirt, or a cluster member) cannot be reached: socket missing, permission denied, TLS refused. */
  UNAVAILABLE: 6,
  /** LXD refused the request or an operation failed. */
  LXD_FAILED: 7,
  /** A deadline passed (`--timeout`, operation waits). */
  TIMEOUT: 8,
  /** Interrupted (SIGINT, Ctrl-C). */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15); the command stopped and cleaned up as on a Ctrl-C. */
  TERMINATED: 143,
  /** The reader of stdout or stderr went away (a broken pipe, `lxdkit … | head`); the command stopped and cleaned up. */
  PIPE_CLOSED: 141,
  /** `profile diff --exit-code` found differences. */
  DIFFERENCES: 10,
  /**
   * `lxdkit plan`: applying the stack would change something (Terraform's `-detailed-exitcode`). The
   * same number as USAGE: `plan` prints the plan on stdout only in this case (`--json`: `changed: true`).
   */
  PLAN_CHANGES: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
