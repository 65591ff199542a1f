/**
 * How the `lxdkit` command starts fast: its code is one CommonJS bundle (dist/cli/lxdkit.cjs) that
 * dist/cli/main.js compiles with `vm.Script`, handing V8 the code it compiled on an earlier run (its
 * "code cache"). Node 20 has no compile cache of its own for packages, and compiling the bundle is
 * most of what a command costs before its first request.
 *
 * The cache lives in `$XDG_CACHE_HOME/lxdkit/` (default `~/.cache/lxdkit/`), one file per bundle,
 * Node version and architecture. V8 checks what it is handed (its version, flags and the source) and
 * compiles afresh when it does not match. A file is read only when it and its directory belong to the
 * user and nobody else can write them; it is written to a temporary name and renamed, mode 0600.
 * A cache that cannot be read or written costs speed, never a failure. `NODE_DISABLE_COMPILE_CACHE=1`
 * (Node's own switch) turns it off.
 *
 * V8 keeps in a cache the functions compiled by the run that made it; a run of a command the cache
 * has not seen yet writes it again, with that command's code added. Each command is written once.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, constants as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants as vm, Script } from 'node:vm';
import { ExitCode } from './exit-code-numbers.js';
import { restoreCollectionTrigger, skipWindDownCollection } from './wind-down.js';

/**
 * First line of a cache file: a tag, then JSON: the commands whose runs it covers, and for a kept
 * `--help` the SHA-256 of the text. A damaged code cache would crash V8 (it checks no checksum of its
 * own by default), so V8 is told to: `--verify-snapshot-checksum` (set by `verifyCodeCaches`, before
 * the bundle compiles) makes it write a checksum into every code cache it makes and refuse one whose
 * checksum is wrong. That costs a run ~1 ms; a SHA-256 of our own cost 8 (loading `crypto` and
 * hashing 1.2 MB). A kept `--help` is our own text, checked with SHA-256 (`crypto` then loads, as
 * the file is read: that path compiles nothing).
 */
export type Checksum = 'v8' | 'sha256';
const TAGS: Record<Checksum, string> = { v8: 'lxdkit-compile-cache 3 ', sha256: 'lxdkit-compile-cache 2 ' };

function digest(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

let verifying = false;
/**
 * Has V8 check the checksum of the code caches it is handed, and write one into those it makes,
 * from now on in this process (and so in the flags its caches are checked against). Idempotent.
 */
export function verifyCodeCaches(): void {
  if (verifying) return;
  setFlagsFromString('--verify-snapshot-checksum');
  verifying = true;
}

/** The cache of a bundle of a few MiB is ~1 MiB; anything much larger is not one of ours. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
/** Where V8's data starts in a cache file: a multiple of this (the header is ASCII, padded). */
export const DATA_ALIGNMENT = 8;
const MAX_COMMANDS = 1000;
/** What a command name in the header may be: words of a command line, as `image alias list`. */
const COMMAND = /^[a-z0-9][a-z0-9 -]{0,79}$/;

/** The directory of lxdkit's caches, or undefined when there is none (or it is turned off). */
export function cacheDirectory(env: NodeJS.ProcessEnv): string | undefined {
  if (env['NODE_DISABLE_COMPILE_CACHE']) return undefined;
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg?.startsWith('/')) return join(xdg, 'lxdkit');
  const home = env['HOME'];
  return home?.startsWith('/') ? join(home, '.cache', 'lxdkit') : undefined;
}

/** `name` in `dir`, after `bundleId` is checked (it goes into the file's name). */
function bundleFile(dir: string, bundleId: string, name: (id: string) => string): string {
  if (!/^[0-9a-f]{8,64}$/.test(bundleId)) throw new TypeError(`bundle id must be hexadecimal, got ${JSON.stringify(bundleId)}`);
  return join(dir, name(bundleId));
}

/** The cache file of a bundle (its content id) for this Node and architecture. */
export function cacheFile(dir: string, bundleId: string): string {
  return bundleFile(dir, bundleId, (id) => `cli-${id}-${process.version}-${process.arch}.v8cache`);
}

/**
 * Where `lxdkit --help` is kept once printed, for a bundle and a width (`width`: the terminal's
 * columns, undefined when stdout is not a terminal). The help is a function of the two alone: the
 * next `--help` prints the file without compiling the bundle.
 */
export function helpFile(dir: string, bundleId: string, width: number | undefined): string {
  const w = width !== undefined && Number.isSafeInteger(width) && width > 0 && width < 100_000 ? String(width) : 'pipe';
  return bundleFile(dir, bundleId, (id) => `help-${id}-${w}.txt`);
}

/** True for the arguments whose output `helpFile` keeps: `--help` or `-h`, alone. */
export function isHelpRequest(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--help' || args[0] === '-h');
}

/** What a cache file held: V8's data, and the commands whose runs it covers. */
export interface CacheContent {
  data: Buffer | undefined;
  commands: string[];
}

const EMPTY: CacheContent = { data: undefined, commands: [] };

/** True when `st` belongs to this user and only this user can write it. */
function ours(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/**
 * Reads a cache file (`checksum`: what checks its data: V8, or a SHA-256 in the header, checked
 * here). Anything unexpected (missing, a link, someone else's, writable by others,
 * oversized, a header that is not ours) reads as no cache.
 */
export function readCache(file: string, checksum: Checksum): CacheContent {
  let fd: number | undefined;
  try {
    if (!ours(statSync(join(file, '..')))) return EMPTY;
    fd = openSync(file, fs.O_RDONLY | fs.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || !ours(st) || st.size > MAX_CACHE_BYTES) return EMPTY;
    // a buffer of its own (not a slice of Node's pool), so that V8's data in it is aligned
    const buf = Buffer.allocUnsafeSlow(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n !== buf.length) return EMPTY;
    const nl = buf.indexOf(10);
    if (nl < 0 || nl > MAX_HEADER_BYTES) return EMPTY;
    const header = buf.toString('utf8', 0, nl);
    const tag = TAGS[checksum];
    if (!header.startsWith(tag)) return EMPTY;
    // V8's checksum is checked by V8, and only if it was told to
    if (checksum === 'v8' && !verifying) return EMPTY;
    const meta: unknown = JSON.parse(header.slice(tag.length));
    if (typeof meta !== 'object' || meta === null) return EMPTY;
    const { sha256: sum, commands } = meta as { sha256?: unknown; commands?: unknown };
    if (!Array.isArray(commands) || commands.length > MAX_COMMANDS || !commands.every((c): c is string => typeof c === 'string' && COMMAND.test(c))) return EMPTY;
    const data = buf.subarray(nl + 1);
    if (checksum === 'sha256' && (typeof sum !== 'string' || digest(data) !== sum)) return EMPTY;
    return { data, commands };
  } catch {
    return EMPTY;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a cache file (a temporary file renamed over it); false when it could not. */
export function writeCache(file: string, data: Uint8Array, commands: readonly string[], checksum: Checksum): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW, 0o600);
    try {
      const kept = commands.filter((c) => COMMAND.test(c)).slice(0, MAX_COMMANDS);
      const header = `${TAGS[checksum]}${JSON.stringify(checksum === 'sha256' ? { sha256: digest(data), commands: kept } : { commands: kept })}`;
      // spaces after the JSON, so that V8's data starts at a multiple of 8 bytes into the file (and so
      // into the buffer it is read into): V8 copies data that is not aligned before using it
      writeFileSync(fd, `${header.padEnd(Math.ceil((header.length + 1) / DATA_ALIGNMENT) * DATA_ALIGNMENT - 1)}\n`);
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // it was never made
    }
    return false;
  }
}

/** How long an unused cache of another bundle or Node (an upgrade's leftover) is kept: 30 days. */
export const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * Removes from `dir` the caches other than `keep` that no run has written for `STALE_MS`, and the
 * temporary files of writes that were cut short an hour ago or more. Only lxdkit's own names, only
 * regular files.
 */
export function pruneCaches(dir: string, keep: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const kept = /^(?:cli-[0-9a-f]+-v[0-9.]+-[a-z0-9_]+\.v8cache|help-[0-9a-f]+-(?:pipe|\d+)\.txt)/.exec(name)?.[0];
    const old = kept === name ? STALE_MS : kept !== undefined && /^\.\d+\.tmp$/.test(name.slice(kept.length)) ? 3600 * 1000 : undefined;
    const path = join(dir, name);
    if (old === undefined || path === keep) continue;
    try {
      const st = lstatSync(path);
      if (st.isFile() && now - st.mtimeMs >= old) {
        unlinkSync(path);
        removed.push(name);
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** What the bundle exports: the command's body (lib/cli/entry.ts). */
export interface CliBundle {
  main(opts: { onCommand?: (command: string) => void; onStdout?: ((chunk: string | Uint8Array) => void) | undefined; onDone?: () => void }): Promise<void>;
}

/**
 * The bundle file is the body of a CommonJS module already wrapped in its function, with these
 * first and last bytes (scripts/bundle-cli.ts writes them): the file's text is handed to V8 as it is
 * read. A wrapper added here would make V8 copy 1.3 MB of source into one flat string every run.
 * The wrapper's opening is on the first line, so that line numbers in stack traces stay right.
 */
export const BUNDLE_HEAD = '(function (exports, require, module, __filename, __dirname, __lxdkit_import_meta_url) {';
export const BUNDLE_TAIL = '\n})';

/** What became of the code cache in one run. */
export interface BundleRun {
  /** `none`: there was no cache (or none usable); `rejected`: V8 refused it; `accepted`: V8 used it. */
  cache: 'none' | 'accepted' | 'rejected';
  /** The command that ran (`help` when none did). */
  command: string;
  /** True when the cache file was written. */
  wrote: boolean;
}

/**
 * Compiles and runs the bundle `file` (CommonJS source), with the code cache of `cacheDir` when
 * there is one, then its `main()`; writes the cache again when it was missing, refused by V8, or
 * had not seen the command that ran.
 */
export async function runBundle(file: string, source: string, bundleId: string, cacheDir: string | undefined, onStdout?: (chunk: string | Uint8Array) => void): Promise<BundleRun> {
  const cachePath = cacheDir === undefined ? undefined : cacheFile(cacheDir, bundleId);
  if (cachePath !== undefined) verifyCodeCaches();
  const cached = cachePath === undefined ? EMPTY : readCache(cachePath, 'v8');
  if (!source.startsWith(BUNDLE_HEAD) || !source.endsWith(BUNDLE_TAIL)) throw new Error(`${file} is not the lxdkit command's bundle (it is not wrapped as the build wraps it); reinstall lxdkit`);
  // a stray import() in the bundle (the build refuses them) would still work, through Node's own loader
  const script = new Script(source, { filename: file, cachedData: cached.data, importModuleDynamically: vm.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  const wrapped = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as Partial<CliBundle> };
  wrapped(module.exports, createRequire(file), module, file, join(file, '..'), pathToFileURL(file).href);
  const main = module.exports.main;
  if (typeof main !== 'function') throw new Error(`${file} is not the lxdkit command's bundle (it exports no main); reinstall lxdkit`);
  let ran = 'help';
  await main({ onCommand: (command) => (ran = command), onStdout, onDone: skipWindDownCollection });
  const cache = cached.data === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  let wrote = false;
  if (cachePath !== undefined && (cache !== 'accepted' || !cached.commands.includes(ran))) {
    // the cache is checked against the flags of the next run, which start as they were
    restoreCollectionTrigger();
    wrote = writeCache(cachePath, script.createCachedData(), cache === 'accepted' ? [...cached.commands, ran] : [ran], 'v8');
    if (wrote && cacheDir !== undefined) pruneCaches(cacheDir, cachePath);
  }
  return { cache, command: ran, wrote };
}

/**
 * The command: `--help` from the file of an earlier `--help` when there is one, else the bundle run
 * with its code cache (and that `--help` kept). Resolves once the command has run.
 */
export async function runCommand(
  file: string,
  bundleId: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  stdout: { isTTY?: boolean; columns?: number; write(chunk: string | Uint8Array): unknown; once?(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown },
): Promise<BundleRun & { help: 'none' | 'printed' | 'kept' }> {
  const dir = cacheDirectory(env);
  const help = dir !== undefined && isHelpRequest(args) ? helpFile(dir, bundleId, stdout.isTTY === true ? stdout.columns : undefined) : undefined;
  if (help !== undefined) {
    const kept = readCache(help, 'sha256').data;
    if (kept !== undefined) {
      // a reader that went away (`lxdkit --help | true`) ends it as the command does: 141, no stack
      stdout.once?.('error', (err) => {
        process.exitCode = err.code === 'EPIPE' ? ExitCode.PIPE_CLOSED : ExitCode.FAILURE;
      });
      stdout.write(kept);
      return { cache: 'none', command: 'help', wrote: false, help: 'printed' };
    }
  }
  const chunks: Buffer[] = [];
  const run = await runBundle(file, readFileSync(file, 'latin1'), bundleId, dir, help === undefined ? undefined : (c) => chunks.push(Buffer.from(c)));
  const ok = process.exitCode === undefined || process.exitCode === 0;
  return { ...run, help: help !== undefined && ok && run.command === 'help' && chunks.length > 0 && writeCache(help, Buffer.concat(chunks), [], 'sha256') ? 'kept' : 'none' };
}
