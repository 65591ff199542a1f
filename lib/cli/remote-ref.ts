/**
 * `[REMOTE:]NAME`: how a command line names an instance (or, with an empty NAME, a server) on a
 * saved remote. Commands call `ctx.instanceRef(arg)` (lib/cli/context.ts) to get the name and the
 * client of its remote; `splitRemoteArg` is the pure part.
 */
import { CliError, ExitCode } from './exit-codes.js';

/** The name of the local daemon's unix socket as a remote. */
export const LOCAL_REMOTE = 'local';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Checks a remote's name: letters, digits, `_`, `.`, `-`, starting with a letter or digit, at most 63 (no `:` or `/`). */
export function validateRemoteName(name: unknown, what = 'remote name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : String(name);
    throw new CliError(ExitCode.INVALID_INPUT, `${what} ${shown} is not valid: use letters, digits, "_", "." and "-" (at most 63, starting with a letter or digit)`);
  }
  return name;
}

export interface RemoteArg {
  /** The remote named before the colon; undefined when there is none (the default remote). */
  remote: string | undefined;
  /** What follows the colon (or the whole argument). */
  name: string;
}

/**
 * Splits `REMOTE:NAME` at its first colon, when that colon comes before any `/` (so that `c1/a:b`, a
 * path in instance c1, is not read as a remote). The remote's name is checked before any I/O; an
 * empty NAME is refused unless `allowEmpty` (`list r1:`).
 */
export function splitRemoteArg(arg: string, opts: { allowEmpty?: boolean; what?: string } = {}): RemoteArg {
  const what = opts.what ?? 'instance';
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/');
  if (colon < 0 || (slash >= 0 && slash < colon)) {
    if (arg === '' && !opts.allowEmpty) throw new CliError(ExitCode.USAGE, `give the ${what}'s name, as NAME or REMOTE:NAME`);
    return { remote: undefined, name: arg };
  }
  const remote = arg.slice(0, colon);
  const name = arg.slice(colon + 1);
  if (remote === '') throw new CliError(ExitCode.USAGE, `"${arg}": give the remote before the colon (REMOTE:NAME), or leave the colon out`);
  validateRemoteName(remote, `"${arg}": remote`);
  if (name === '' && !opts.allowEmpty) throw new CliError(ExitCode.USAGE, `"${arg}": give the ${what}'s name after the colon (REMOTE:NAME)`);
  return { remote, name };
}

/**
 * True when `--remote` holds a URL (or something meant as one, which the URL checks then explain)
 * rather than the name of a saved remote: a name never holds `:`, `/`, `\\` or `@`.
 */
export function isRemoteUrl(value: string): boolean {
  return /[:/\\@]/.test(value);
}
