/**
 * What every command needs: the global options, the LXD client, the logger, output and progress.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LxdClient, LxdClientOptions } from '../lxd/client.js';
import { checkRemoteUrl } from '../lxd/remote.js';
import type { TlsOptions } from '../lxd/transport.js';
import type { Logger } from '../logger.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { emit } from './output.js';
import { createProgress, type Progress } from './progress.js';
// remote-config.js (YAML, zod) is given to the constructor, loaded once a command runs: --help stays light
import type { RemotesConfig } from './remote-config.js';
import { isRemoteUrl, LOCAL_REMOTE, splitRemoteArg, validateRemoteName } from './remote-ref.js';

/** The module of the saved remotes' files (lib/cli/remote-config.ts). */
export type RemotesModule = typeof import('./remote-config.js');

/** The options every command accepts (see `lxdkit --help`). */
export interface GlobalOptions {
  /** The local daemon whose socket is looked for: `lxd` or `incus`. */
  server?: string;
  socket?: string;
  project?: string;
  /** In an LXD cluster: the member every call is for (`LxdClient.withTarget`). */
  target?: string;
  /** A saved remote's name (`lxdkit remote add`), `local`, or an `https://` URL. */
  remote?: string;
  clientCert?: string;
  clientKey?: string;
  serverCert?: string;
  /** PEM CA certificates the remote's certificate must chain to (instead of the system's). */
  ca?: string;
  json?: boolean;
  logLevel?: string;
  /** Per-request timeout in seconds. */
  timeout?: number;
  progress?: boolean;
}

export class CliContext {
  #client: LxdClient | undefined;
  /** The client of the connection options, when `#client` is its `--target` view. */
  #base: LxdClient | undefined;
  /** Clients of the remotes named as `REMOTE:NAME`. */
  readonly #remoteClients = new Map<string, LxdClient>();
  #remotes: { dir: string; config: RemotesConfig } | undefined;
  readonly controller = new AbortController();

  /**
   * @param newClient makes the LXD client (the program loads the client module only once a command
   *   runs, so that `--help` does not pay for it)
   */
  constructor(
    readonly io: CliIo,
    readonly opts: GlobalOptions,
    readonly logger: Logger,
    private readonly newClient: (options: LxdClientOptions) => LxdClient,
    /** The saved remotes' files (`await import('./remote-config.js')`). */
    private readonly remotesModule: RemotesModule,
  ) {}

  get json(): boolean {
    return this.opts.json === true;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Progress bars on stderr when it is a terminal, not with --json or --no-progress. */
  progress(): Progress {
    return createProgress(this.io.stderr, !this.json && this.opts.progress !== false);
  }

  /** Writes a result: JSON with --json, else the human text. */
  print(value: unknown, human: () => string): void {
    emit(this.io.stdout, this.json, value, human);
  }

  /** A note for humans on stderr (never with --json). */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  /** The LXD client for the global options (created on first use); with `--target`, its view of that member. */
  client(): LxdClient {
    if (!this.#client) {
      const base = this.newClient(this.clientOptions());
      this.#base = base;
      this.#client = this.opts.target !== undefined ? base.withTarget(this.opts.target) : base;
    }
    return this.#client;
  }

  /**
   * The client of a saved remote (`REMOTE:` of an argument; `local`: the unix socket), or, with no
   * remote named, the client of the global options (`ctx.client()`).
   */
  clientFor(remote: string | undefined): LxdClient {
    if (remote === undefined) return this.client();
    let c = this.#remoteClients.get(remote);
    if (!c) {
      c = this.newClient(this.clientOptions(remote));
      this.#remoteClients.set(remote, c);
    }
    return c;
  }

  /**
   * `[REMOTE:]NAME` of an instance argument: its name and the client of its remote (the default
   * remote, `lxdkit remote switch`, when none is named). The remote's name is checked before any I/O.
   */
  instanceRef(arg: string, opts: { allowEmpty?: boolean; what?: string } = {}): { client: LxdClient; name: string; remote: string | undefined } {
    const { remote, name } = splitRemoteArg(arg, opts);
    return { client: this.clientFor(remote), name, remote };
  }

  /** The saved remotes (`config.yml` read once); none when there is no configuration directory. */
  remotes(): { dir: string; config: RemotesConfig } {
    if (!this.#remotes) {
      const dir = this.remotesModule.configDir(this.io.env);
      this.#remotes = { dir, config: this.remotesModule.loadRemotesConfig(dir) };
    }
    return this.#remotes;
  }

  /** The default remote, when a configuration names one other than `local`. */
  private defaultRemote(): string | undefined {
    let dir: string;
    try {
      dir = this.remotesModule.configDir(this.io.env);
    } catch {
      return undefined; // no HOME nor XDG_CONFIG_HOME: nothing saved
    }
    if (this.#remotes?.dir !== dir) this.#remotes = { dir, config: this.remotesModule.loadRemotesConfig(dir) };
    const d = this.#remotes.config.defaultRemote;
    return d === LOCAL_REMOTE ? undefined : d;
  }

  /**
   * The client options: `named` (a `REMOTE:` prefix) first, else `--remote` (a saved name or a URL),
   * `--socket`, `--server`, else the default remote, else the local socket.
   */
  clientOptions(named?: string): LxdClientOptions {
    const o = this.opts;
    const options: LxdClientOptions = { logger: this.logger };
    if (o.project) options.project = o.project;
    if (o.timeout !== undefined) options.timeoutMs = o.timeout * 1000;
    let remote = named ?? o.remote ?? this.io.env['LXDKIT_REMOTE'];
    const server = o.server ?? this.io.env['LXDKIT_SERVER'];
    if (server !== undefined && server !== '') {
      if (server !== 'lxd' && server !== 'incus') throw new CliError(ExitCode.USAGE, `LXDKIT_SERVER: "${server}" is not a server: give lxd or incus`);
      // --server picks a local socket; a socket or a remote given too would make it say nothing
      if (named === undefined && o.server !== undefined && (o.socket || remote)) throw new CliError(ExitCode.USAGE, `give --server, --socket or --remote, not more than one`);
    }
    // no remote, --socket or --server on the command line (nor a remote in the environment): the default
    // remote; LXDKIT_SERVER only says which daemon "local" is
    if (remote === undefined && !o.socket && o.server === undefined) remote = this.defaultRemote();
    // `local`: the unix socket the other options name
    if (remote === LOCAL_REMOTE) remote = undefined;
    if ((server === 'lxd' || server === 'incus') && !remote && !o.socket) options.server = server;
    if (remote !== undefined && remote !== '' && !isRemoteUrl(remote)) {
      if (named === undefined && o.socket) throw new CliError(ExitCode.USAGE, 'give either --socket or --remote, not both');
      return this.savedRemoteOptions(validateRemoteName(remote, named !== undefined ? 'remote' : o.remote !== undefined ? '--remote' : 'LXDKIT_REMOTE'), options);
    }
    if (remote) {
      if (o.socket) throw new CliError(ExitCode.USAGE, 'give either --socket or --remote, not both');
      const flag = o.remote !== undefined ? '--remote' : 'LXDKIT_REMOTE';
      // the URL first, before any file is read: an https:// URL, and never a password (nor repeated);
      // an LxdValidationError (exit 3, LXD_ERR_INVALID_ARGUMENT)
      checkRemoteUrl(remote, flag);
      const cert = o.clientCert ?? this.io.env['LXDKIT_CLIENT_CERT'];
      const key = o.clientKey ?? this.io.env['LXDKIT_CLIENT_KEY'];
      const serverCert = o.serverCert ?? this.io.env['LXDKIT_SERVER_CERT'];
      const ca = o.ca ?? this.io.env['LXDKIT_CA'];
      if (!cert || !key) throw new CliError(ExitCode.USAGE, '--remote needs --client-cert FILE and --client-key FILE (a certificate the server trusts)');
      const tls: TlsOptions = { cert: this.readPem(cert, '--client-cert'), key: this.readPem(key, '--client-key', { private: true }) };
      if (serverCert) tls.serverCert = this.readPem(serverCert, '--server-cert');
      if (ca) tls.ca = this.readPem(ca, '--ca');
      options.url = remote;
      options.tls = tls;
    } else if (o.socket) {
      options.socketPath = resolve(this.io.cwd, o.socket);
    }
    return options;
  }

  /** The options of a saved remote: its URL, pinned certificate, project, and the client certificate. */
  private savedRemoteOptions(name: string, options: LxdClientOptions): LxdClientOptions {
    const { dir, config } = this.remotes();
    const entry = config.remotes[name];
    if (!entry) {
      const known = Object.keys(config.remotes);
      throw new CliError(ExitCode.NOT_FOUND, `no remote "${name}" is saved (${known.length ? `saved: ${[LOCAL_REMOTE, ...known].join(', ')}` : 'only "local"'}); add it with "lxdkit remote add ${name} https://HOST:8443 --token TOKEN"`);
    }
    checkRemoteUrl(entry.url, `remote "${name}" url`);
    const pair = this.remotesModule.clientCertificateFor(dir, name, entry);
    const tls: TlsOptions = { cert: pair.cert, key: pair.key };
    const pinned = this.remotesModule.readServerCert(dir, name, entry);
    if (pinned !== undefined) tls.serverCert = pinned;
    options.url = entry.url;
    options.tls = tls;
    if (!this.opts.project && entry.project) options.project = entry.project;
    delete options.server;
    delete options.socketPath;
    return options;
  }

  /**
   * Reads a PEM file. A private key (`private`) must be the owner's alone, as ssh requires of its
   * keys: a regular file that its group or others may read or write is refused, naming `chmod 600`.
   * The mode is read from the descriptor the key is read through (no window between check and read).
   */
  private readPem(file: string, flag: string, opts: { private?: boolean } = {}): string {
    const path = resolve(this.io.cwd, file);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new CliError(ExitCode.INVALID_INPUT, `${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      if (opts.private) {
        const st = fstatSync(fd);
        if (st.isFile() && (st.mode & 0o077) !== 0) {
          const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
          throw new CliError(
            ExitCode.INVALID_INPUT,
            `${flag}: ${file} is open to others (mode ${mode}): a private key must be readable by its owner alone; run "chmod 600 ${file}"`,
          );
        }
      }
      return readFileSync(fd, 'utf8');
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(ExitCode.INVALID_INPUT, `${flag}: cannot read ${file}: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
  }

  async close(): Promise<void> {
    for (const c of this.#remoteClients.values()) await c.close().catch(() => {});
    await this.#client?.close();
    if (this.#base !== this.#client) await this.#base?.close();
  }
}
