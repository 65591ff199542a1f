/**
 * The programs the KVM manager drives (`virsh`, `qemu-img`, `genisoimage`), behind one
 * injectable {@link CommandRunner}: `execFile` (no shell) with a timeout, an `AbortSignal`, and
 * typed errors that carry standard error.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { silentLogger, type Logger } from '../../logger.js';
import { KvmCommandError, KvmErrorCode } from './errors.js';

/** Options of one program run. */
export interface RunOptions {
  cwd?: string;
  signal?: AbortSignal;
  /** Kill the program after this many milliseconds. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** What a program printed (`CommandRunner`). */
export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args` (no shell); rejects with a KvmCommandError or the caller's abort reason. */
export type CommandRunner = (command: string, args: readonly string[], opts?: RunOptions) => Promise<CommandResult>;

/** Default timeout of one program run: 5 minutes (qemu-img convert of a cloud image takes a while). */
export const DefaultCommandTimeoutMs = 5 * 60_000;

const MAX_BUFFER = 16 * 1024 * 1024;

/** The real runner: `child_process.execFile`. */
export const runCommand: CommandRunner = (command, args, opts = {}) => {
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
  const timeoutMs = opts.timeoutMs ?? DefaultCommandTimeoutMs;
  return new Promise<CommandResult>((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        cwd: opts.cwd,
        env: opts.env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_BUFFER,
        encoding: 'utf8',
        signal: opts.signal,
      },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ stdout, stderr });
          return;
        }
        if (opts.signal?.aborted) {
          reject(opts.signal.reason ?? err);
          return;
        }
        const line = [command, ...args].join(' ');
        const details = { command, args, stdout, stderr };
        const errno = (err as NodeJS.ErrnoException).code;
        if (errno === 'ENOENT') {
          reject(
            new KvmCommandError(
              KvmErrorCode.COMMAND_NOT_FOUND,
              `${command} not found: install it (KvmInitialiser.initialise() installs the KVM packages) or fix PATH`,
              { ...details, exitCode: null },
              { cause: err },
            ),
          );
          return;
        }
        const killed = (err as { killed?: boolean }).killed === true;
        if (killed && (err as { signal?: string }).signal === 'SIGKILL') {
          reject(
            new KvmCommandError(
              KvmErrorCode.TIMEOUT,
              `\`${line}\` did not finish within ${timeoutMs} ms and was killed`,
              { ...details, exitCode: null },
              { cause: err },
            ),
          );
          return;
        }
        const exitCode = typeof errno === 'number' ? errno : null;
        const why = stderr.trim() || stdout.trim() || err.message;
        reject(
          new KvmCommandError(
            KvmErrorCode.COMMAND_FAILED,
            `\`${line}\` failed (exit ${exitCode ?? 'signal'}): ${why}`,
            { ...details, exitCode },
            { cause: err },
          ),
        );
      },
    );
  });
};

/** Go's `exec.LookPath`, synchronously: true when `name` is an executable file in PATH. */
export function lookPath(name: string, path: string = process.env['PATH'] ?? ''): boolean {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** A row of `virsh list`. */
export interface DomainRow {
  name: string;
  state: string;
}

/** What `virsh pool-info` says about a storage pool. */
export interface PoolInfo {
  name: string;
  state: string;
  autostart: string;
}

/**
 * Options of `new Virsh()`: libvirt URI (default `qemu:///system`), command runner, timeout of one call (default 60 s), logger.
 */
export interface VirshOptions {
  /** libvirt connection URI; defaults to `qemu:///system`. */
  uri?: string | undefined;
  run?: CommandRunner;
  /** Timeout of one virsh call; defaults to 60 s. */
  timeoutMs?: number | undefined;
  logger?: Logger;
}

/** Default libvirt connection. */
export const DefaultLibvirtUri = 'qemu:///system';

// Juju's listRegexp, made tolerant of a missing leading space: only rows with a numeric id (running
// or paused domains) match; shut-off domains (id "-") do not.
const LIST_ROW = /^\s*\d+\s+([-\w]+)\s+(.+?)\s*$/;
const NOT_FOUND = /failed to get domain|domain not found|no domain with matching name/i;

/**
 * `virsh -c <uri> …`, one method per command the KVM manager and initialiser use.
 *
 * @example
 * const virsh = new Virsh({ uri: 'qemu:///system' });
 * await virsh.start('juju-06f00d-0');
 */
export class Virsh {
  readonly uri: string;
  readonly #run: CommandRunner;
  readonly #timeoutMs: number;
  readonly #logger: Logger;

  constructor(opts: VirshOptions = {}) {
    this.uri = opts.uri ?? DefaultLibvirtUri;
    this.#run = opts.run ?? runCommand;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#logger = opts.logger ?? silentLogger;
  }

  /** Runs `virsh -c <uri> <args…>` and returns its standard output. */
  async exec(args: readonly string[], opts: { signal?: AbortSignal; cwd?: string } = {}): Promise<string> {
    const full = ['-c', this.uri, ...args];
    this.#logger.debug({ command: 'virsh', args: full }, 'running virsh');
    const { stdout } = await this.#run('virsh', full, { timeoutMs: this.#timeoutMs, ...opts });
    return stdout;
  }

  /** `virsh define <xmlPath>`: defines a domain from its XML; resolves to virsh's output. */
  define(xmlPath: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['define', xmlPath], opts);
  }

  /** `virsh start <name>`: starts a defined domain. */
  start(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['start', name], opts);
  }

  /** `virsh autostart <name>`: the domain starts with the host. */
  autostart(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['autostart', name], opts);
  }

  /** `virsh destroy <name>`: stops the domain at once (its definition stays; `undefine` removes it). */
  destroy(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['destroy', name], opts);
  }

  /** `virsh undefine --nvram <name>`. */
  undefine(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['undefine', '--nvram', name], opts);
  }

  /** `virsh dumpxml <name>`: the domain's XML. */
  dumpXml(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['dumpxml', name], opts);
  }

  /** The domain's state (`running`, `shut off`, …), or `undefined` when libvirt has no such domain. */
  async domState(name: string, opts?: { signal?: AbortSignal }): Promise<string | undefined> {
    try {
      return (await this.exec(['domstate', name], opts)).trim();
    } catch (err) {
      if (KvmCommandError.is(err, KvmErrorCode.COMMAND_FAILED) && NOT_FOUND.test(err.stderr)) {
        return undefined;
      }
      throw err;
    }
  }

  /** The domain's UUID, or `undefined` when libvirt has no such domain. */
  async domUuid(name: string, opts?: { signal?: AbortSignal }): Promise<string | undefined> {
    try {
      return (await this.exec(['domuuid', name], opts)).trim();
    } catch (err) {
      if (KvmCommandError.is(err, KvmErrorCode.COMMAND_FAILED) && NOT_FOUND.test(err.stderr)) return undefined;
      throw err;
    }
  }

  /**
   * Juju's `ListMachines`: `virsh -q list --all` parsed row by row. Only domains with a numeric id
   * (running, paused, …) are returned; shut-off ones are not.
   */
  async list(opts?: { signal?: AbortSignal }): Promise<DomainRow[]> {
    const out = await this.exec(['-q', 'list', '--all'], opts);
    const rows: DomainRow[] = [];
    for (const line of out.split('\n')) {
      const m = LIST_ROW.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) rows.push({ name: m[1], state: m[2] });
    }
    return rows;
  }

  /** Names of every defined domain, running or not (`virsh list --all --name`). */
  async listAllNames(opts?: { signal?: AbortSignal }): Promise<string[]> {
    const out = await this.exec(['list', '--all', '--name'], opts);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  /**
   * Juju's pool lookup: `virsh pool-info <name>` parsed as `Key: value` lines. A failing command
   * means "no pool" (`undefined`), as in Juju.
   */
  async poolInfo(name: string, opts?: { signal?: AbortSignal }): Promise<PoolInfo | undefined> {
    let out: string;
    try {
      out = await this.exec(['pool-info', name], opts);
    } catch (err) {
      if (KvmCommandError.is(err, KvmErrorCode.COMMAND_FAILED)) return undefined;
      throw err;
    }
    const fields = new Map<string, string>();
    for (const line of out.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    return { name: fields.get('Name') ?? '', state: fields.get('State') ?? '', autostart: fields.get('Autostart') ?? '' };
  }

  /** `virsh pool-define-as <name> dir - - - - <path>`. */
  poolDefineAs(name: string, path: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['pool-define-as', name, 'dir', '-', '-', '-', '-', path], opts);
  }

  /** `virsh pool-build <name>`: builds a defined storage pool (makes its directory). */
  poolBuild(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['pool-build', name], opts);
  }

  /** `virsh pool-start <name>`: starts a storage pool. */
  poolStart(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['pool-start', name], opts);
  }

  /** `virsh pool-autostart <name>`: the storage pool starts with the host. */
  poolAutostart(name: string, opts?: { signal?: AbortSignal }): Promise<string> {
    return this.exec(['pool-autostart', name], opts);
  }
}
