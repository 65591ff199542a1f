/**
 * `/1.0/instances/{name}/console` (the console log) and `/1.0/instances/{name}/logs` (the instance's log
 * files: lxc.log, lxc.conf, and the output files of `exec` with recordOutput).
 */
import type { Readable } from 'node:stream';
import type WebSocket from 'ws';
import { StringListSchema } from '../../lazy-schema.js';
import { isNotFound, LxdApiError, LxdResponseValidationError, LxdStreamLostError, LxdValidationError } from '../errors.js';
import type { Operation } from '../operation.js';
import { lxdPath, namesFromUrls } from '../path.js';
import { validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { closeSocket, openSocket, wireOutput } from './instance-exec.js';
import { readCapped } from './stream-util.js';

/** Options of `instances.console.attach()`: the console type and, for the text console, its size. */
export interface ConsoleAttachOptions extends CallOptions {
  /** `console` (default: the text console) or `vga` (a virtual machine's SPICE stream; extension `console_vga_type`). */
  type?: 'console' | 'vga';
  /** The console's size (text console; default 80×24). */
  width?: number;
  height?: number;
}

/** How long `close()` waits for the server to end the console operation. */
const CONSOLE_END_MS = 5_000;

/**
 * An attached console: `output` is what the instance writes (a stream with backpressure: the
 * websocket is paused while it is full), `write()` types into it. `close()` (or the `signal` given
 * to `attach()`) detaches: both websockets are closed and the server's operation ends; the instance
 * keeps running. `output` ends when the session does.
 */
export class ConsoleSession {
  readonly #data: WebSocket;
  readonly #control: WebSocket;
  readonly #op: Operation;
  #closing: Promise<void> | undefined;
  readonly #onAbort: () => void;

  /** @internal made by `instances.console.attach()` */
  constructor(
    op: Operation,
    data: WebSocket,
    control: WebSocket,
    /** What the instance writes to its console. */
    readonly output: Readable,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#op = op;
    this.#data = data;
    this.#control = control;
    this.#onAbort = () => void this.close();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // the session ends when the server closes either socket
    const ended = (): void => void this.close();
    data.once('close', ended);
    control.once('close', ended);
  }

  /** The id of the server's console operation. */
  get operationId(): string {
    return this.#op.id;
  }

  /** Sends `input` to the console (as a terminal would type it; a newline is `\r` or `\n`). */
  write(input: string | Uint8Array): Promise<void> {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) return Promise.reject(new LxdValidationError('input', 'give a string or bytes'));
    if (this.#closing || this.#data.readyState !== this.#data.OPEN) return Promise.reject(new LxdStreamLostError('console', 'console: the session is closed'));
    const chunk = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
    return new Promise((resolve, reject) => {
      this.#data.send(chunk, { binary: true }, (err) => (err ? reject(new LxdStreamLostError('console', `console: cannot send: ${err.message}`, { cause: err })) : resolve()));
    });
  }

  /** Detaches: closes both websockets and waits (a few seconds at most) for the server to end the operation. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.signal?.removeEventListener('abort', this.#onAbort);
      closeSocket(this.#data);
      closeSocket(this.#control);
      this.output.push(null);
      // the operation ends once the server sees the control socket go; its outcome does not matter here
      await this.#op.wait({ timeoutMs: CONSOLE_END_MS }).catch(() => {});
      closeSocket(this.#data, true);
      closeSocket(this.#control, true);
    })();
    return this.#closing;
  }
}

/** LXD 5.0.2's answer for a running container whose console buffer is empty (liblxc finds no log). */
const EMPTY_CONSOLE_5_0 = 'open : no such file or directory';

/** `client.instances.console`: the console log of an instance. */
export class InstanceConsole {
  constructor(private readonly api: Api) {}

  /**
   * GET /1.0/instances/{name}/console: what the instance wrote to its console, as text (empty when it
   * wrote nothing: LXD 5.0.2 answers a running container's empty console buffer with its own 500
   * "open : no such file or directory", which lxdkit reads as an empty log).
   */
  async log(name: string, opts: CallOptions = {}): Promise<string> {
    validateInstanceName(name);
    const path = lxdPath`/1.0/instances/${name}/console`;
    try {
      const res = await this.api.stream('GET', path, opts);
      return (await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', path)).toString('utf8');
    } catch (err) {
      if (err instanceof LxdApiError && err.status === 500 && err.lxdMessage === EMPTY_CONSOLE_5_0) return '';
      throw err;
    }
  }

  /**
   * POST /1.0/instances/{name}/console: attaches to the running instance's console (`lxc console`),
   * over the same operation websockets as `exec`. `timeoutMs` bounds the attach (the request and the
   * websockets' handshakes), not the session; the session lasts until `close()` or `signal`.
   */
  async attach(name: string, opts: ConsoleAttachOptions = {}): Promise<ConsoleSession> {
    validateInstanceName(name);
    const type = opts.type ?? 'console';
    if (type !== 'console' && type !== 'vga') throw new LxdValidationError('type', `"${String(type)}" is not a console type: give console or vga`);
    for (const [field, v] of [['width', opts.width], ['height', opts.height]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 10_000)) throw new LxdValidationError(field, `${String(v)} is not a console size: give a whole number of characters`);
    }
    await requireExtension(this.api, 'console', 'attaching to a console', opts);
    if (type === 'vga') await requireExtension(this.api, 'console_vga_type', 'a VGA console', opts);
    const path = lxdPath`/1.0/instances/${name}/console`;
    const body: Record<string, unknown> = { type, width: opts.width ?? 80, height: opts.height ?? 24 };
    const op = await this.api.operation('POST', path, { body, signal: opts.signal, timeoutMs: opts.timeoutMs });
    const fds = op.current.metadata?.['fds'];
    const secrets = fds && typeof fds === 'object' ? (fds as Record<string, unknown>) : {};
    const opened: WebSocket[] = [];
    try {
      for (const fd of ['0', 'control']) {
        if (typeof secrets[fd] !== 'string') throw new LxdResponseValidationError('POST', path, [{ path: ['metadata', 'metadata', 'fds', fd], message: 'missing websocket secret' }]);
      }
      const handshakeMs = opts.timeoutMs ?? 10_000;
      const signal = opts.signal ?? new AbortController().signal;
      let output: Readable | undefined;
      const data = await openSocket(this.api, op.id, secrets['0'] as string, handshakeMs, signal, (ws) => {
        opened.push(ws);
        output = wireOutput(ws, 'console').readable;
        // the output ends with the session (a console has no end-of-stream frame)
        ws.once('close', () => output?.push(null));
      });
      const control = await openSocket(this.api, op.id, secrets['control'] as string, handshakeMs, signal, (ws) => opened.push(ws));
      return new ConsoleSession(op, data, control, output!, opts.signal);
    } catch (err) {
      for (const ws of opened) closeSocket(ws, true);
      await op.wait({ timeoutMs: CONSOLE_END_MS }).catch(() => {});
      throw err;
    }
  }

  /** DELETE /1.0/instances/{name}/console: empties the console log. */
  async clearLog(name: string, opts: CallOptions = {}): Promise<void> {
    validateInstanceName(name);
    await this.api.call('DELETE', lxdPath`/1.0/instances/${name}/console`, opts);
  }
}

function validateLogFile(file: string): void {
  if (typeof file !== 'string' || file === '' || file.includes('/') || file.includes('\0') || file === '.' || file === '..') {
    throw new LxdValidationError('log file', `"${String(file)}" is not a log file name (as listed by logs.list())`);
  }
}

/** The name LXD gives the output files of `exec` with `record-output`: `exec_<uuid>.stdout` / `.stderr`. */
const EXEC_OUTPUT = /^exec_[^/]+\.(stdout|stderr)$/;

/**
 * The API extension of LXD 6.8, the release that moved the output files of `exec` from `logs/` to
 * `logs/exec-output/` (and dropped `DELETE logs/{file}` for them). Incus keeps them there in 6.0 already.
 */
export const EXEC_OUTPUT_DIR_EXTENSION = 'storage_and_network_operations';

/**
 * `client.instances.logs`: the log files LXD keeps for an instance: `lxc.log`, `lxc.conf`, and the
 * output files of `exec` with `recordOutput` (`exec_<uuid>.stdout`, `.stderr`). Those live in
 * `logs/` on LXD 5.0 and in `logs/exec-output/` on Incus and LXD ≥ 6.8; each method finds them
 * where the server keeps them, by the server's own word (`serverKind()`, its API extensions).
 */
export class InstanceLogs {
  /** Whether the server keeps exec output files in `logs/exec-output/` (asked once per client). */
  #apart: Promise<boolean> | undefined;

  constructor(private readonly api: Api) {}

  /** GET /1.0/instances/{name}/logs (and `logs/exec-output` where exec output is kept apart): the file names. */
  async list(name: string, opts: CallOptions = {}): Promise<string[]> {
    validateInstanceName(name);
    const path = lxdPath`/1.0/instances/${name}/logs`;
    const [logs, apart] = await Promise.all([this.api.sync('GET', path, StringListSchema, opts), this.#execOutputApart(opts)]);
    const names = namesFromUrls(logs.value, 'GET', path);
    if (!apart) return names;
    const outPath = `${path}/exec-output`;
    // Incus answers 404 until the instance's first recorded exec makes the directory
    const out = await this.api.sync('GET', outPath, StringListSchema, opts).catch((err: unknown) => {
      if (isNotFound(err)) return { value: [] as string[] };
      throw err;
    });
    return [...names, ...namesFromUrls(out.value, 'GET', outPath)];
  }

  /** One log file as text (up to the client's maxResponseBytes; `stream()` for any size). */
  async read(name: string, file: string, opts: CallOptions = {}): Promise<string> {
    const path = await this.path(name, file, opts);
    const res = await this.api.stream('GET', path, opts);
    return (await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', path)).toString('utf8');
  }

  /** One log file as a stream (consume or destroy it). */
  async stream(name: string, file: string, opts: CallOptions = {}): Promise<Readable> {
    return (await this.api.stream('GET', await this.path(name, file, opts), opts)).body;
  }

  /**
   * DELETE one log file (LXD allows it for the `exec` output files and rotated logs): `logs/{file}`,
   * or `logs/exec-output/{file}` for an exec output file on a server that keeps them there.
   */
  async delete(name: string, file: string, opts: CallOptions = {}): Promise<void> {
    await this.api.call('DELETE', await this.path(name, file, opts), opts);
  }

  private async path(name: string, file: string, opts: CallOptions): Promise<string> {
    validateInstanceName(name);
    validateLogFile(file);
    if (EXEC_OUTPUT.test(file) && (await this.#execOutputApart(opts))) return lxdPath`/1.0/instances/${name}/logs/exec-output/${file}`;
    return lxdPath`/1.0/instances/${name}/logs/${file}`;
  }

  #execOutputApart(opts: CallOptions): Promise<boolean> {
    if (!this.#apart) {
      const p = Promise.all([this.api.ctx.serverKind(opts), this.api.ctx.hasExtension(EXEC_OUTPUT_DIR_EXTENSION, opts)]).then(([kind, moved]) => kind === 'incus' || moved);
      this.#apart = p;
      p.catch(() => {
        if (this.#apart === p) this.#apart = undefined;
      });
    }
    return this.#apart;
  }
}
