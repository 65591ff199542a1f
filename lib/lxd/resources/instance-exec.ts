/**
 * `POST /1.0/instances/{name}/exec`: a command inside an instance, its stdin, stdout and stderr streamed
 * over LXD's operation websockets (or one pty websocket), a control websocket for signals and window
 * sizes, and the exit status from the finished operation's `metadata.return`.
 *
 * The protocol, as LXD 5.0.2 and later speak it (lib/lxd docs: docs/exec.md):
 * - with `wait-for-websocket` the command starts once every data websocket is connected (stdin too),
 *   and LXD gives up after 5 s (10 s in newer LXD): all are connected at once, as LXD's Go client does;
 * - data flows as binary frames; an empty text frame is a barrier (end of that stream), not a close;
 * - the control websocket is closed last, after the operation ended; closing it does not stop a
 *   command that ignores SIGTERM (LXD 5.0.2, Incus 6.0), so an abort sends its signal through it, then
 *   SIGKILL when the command is still running a second later;
 * - a signal reaches the command's own process only: without a pty its children live on (they are in
 *   the daemon's process group and session, not one of their own); with a pty the hang-up stops its
 *   foreground process group;
 * - in interactive mode LXD ends the operation only after the client answered the pty's barrier.
 */
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type WebSocket from 'ws';
import { DeadlineExceeded, deadline, isValidTimeout, MAX_TIMER_MS } from '../../deadline.js';
import {
  LxdApiError,
  LxdCommandNotFoundError,
  LxdError,
  LxdErrorCode,
  LxdInstanceNotRunningError,
  LxdOperationError,
  LxdOutputTooLargeError,
  LxdResponseValidationError,
  LxdStreamLostError,
  LxdTimeoutError,
  LxdValidationError,
} from '../errors.js';
import type { Operation } from '../operation.js';
import { lxdPath } from '../path.js';
import type { OperationData } from '../schemas.js';
import { validateInstanceName } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';

/** What a command reads on stdin: a stream, an async iterable of bytes, a string (UTF-8) or bytes. */
export type ExecInput = Readable | AsyncIterable<Uint8Array> | string | Uint8Array;

/**
 * Options of `instances.exec()`: the command, its stdin, environment, working directory, user, pty and deadline.
 */
export interface ExecOptions extends CallOptions {
  /** The program and its arguments, e.g. `['sh', '-c', 'echo hi']` (no shell is added). */
  command: readonly string[];
  /** Fed to the command, then end of file. Without it the command reads end of file at once. */
  stdin?: ExecInput | undefined;
  /** Added to LXD's defaults (PATH, HOME, USER, LANG) and the instance's `environment.*` keys. */
  environment?: Record<string, string> | undefined;
  /** Working directory inside the instance (absolute). */
  cwd?: string | undefined;
  /** User id to run as (default 0). */
  user?: number | undefined;
  /** Group id to run as (default 0). */
  group?: number | undefined;
  /** A pty: stdout carries the terminal's output (stderr included); `width` and `height` size it. */
  interactive?: boolean | undefined;
  width?: number | undefined;
  height?: number | undefined;
  /**
   * No websockets: LXD writes stdout and stderr to the instance's log files, which lxdkit streams back
   * after the command ended and then deletes. No stdin, no interactive, and an abort cannot stop the
   * command (LXD gives no control channel in this mode).
   */
  recordOutput?: boolean | undefined;
  /**
   * Sent through the control websocket when the caller aborts or the deadline passes (default SIGKILL);
   * SIGKILL follows a second later if the command still runs. Only the command's own process gets it.
   */
  killSignal?: number | NodeJS.Signals | undefined;
  /**
   * Deadline for the whole session: connecting, the command's run and reading its output (default:
   * the client's operationTimeoutMs, 10 minutes). At the deadline the command gets `killSignal`.
   */
  timeoutMs?: number | undefined;
}

/** How a command ended (`ExecProcess.wait()`). */
export interface ExecResult {
  /** The command's exit status (128 + n when signal n ended it). */
  exitCode: number;
  /**
   * LXD's own words when it reported the exit status as an operation failure: "Command not found" for
   * 127 (lxdkit found the program, so 127 is the command's own status; a missing program is
   * `LxdCommandNotFoundError`), "Command not executable" for 126.
   */
  lxdError?: string;
  /** The id of LXD's exec operation. */
  operationId: string;
}

/** Options of `instances.execOutput()`: those of `exec()`, and a cap on the output kept. */
export interface ExecOutputOptions extends ExecOptions {
  /** The most bytes kept of each of stdout and stderr (default 32 MiB); more stops the command with LxdOutputTooLargeError. */
  maxOutputBytes?: number | undefined;
}

/** A command's exit status with all its output (`instances.execOutput()`). */
export interface ExecOutput extends ExecResult {
  stdout: Buffer;
  stderr: Buffer;
}

/** Default cap of `execOutput()` per stream. */
export const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
/** LXD 5.0.2 waits 5 s for the websockets of an exec; newer LXD 10 s. */
const CONNECT_BUDGET_MS = 5_000;
/** After an abort's signal, how long the command gets to end before SIGKILL follows (and after that, before the sockets close). */
const KILL_GRACE_MS = 1_000;
const SIGKILL = 9;
/** After an output websocket dropped, how long to wait for the operation to say why. */
const LOST_GRACE_MS = 2_000;
/**
 * After the operation ended, how long an output stream may stay silent without its end-of-stream
 * barrier (counted only while its reader keeps up) before the session ends with LxdStreamLostError.
 */
export const EXEC_END_GRACE_MS = 2_000;
/** Stdin is sent in frames of at most this size, with at most this much queued on the socket. */
const STDIN_FRAME_BYTES = 256 * 1024;
const STDIN_QUEUE_BYTES = 1024 * 1024;

function signalNumber(sig: number | NodeJS.Signals, field: string): number {
  if (typeof sig === 'number') {
    if (!Number.isInteger(sig) || sig < 1 || sig > 64) throw new LxdValidationError(field, `${sig} is not a signal number (1-64)`);
    return sig;
  }
  const n = (osConstants.signals as Record<string, number | undefined>)[sig];
  if (n === undefined) throw new LxdValidationError(field, `"${sig}" is not a signal name (e.g. SIGTERM)`);
  return n;
}

function validateExec(name: string, opts: ExecOptions): void {
  validateInstanceName(name);
  const cmd: unknown = opts.command;
  if (!Array.isArray(cmd) || cmd.length === 0) throw new LxdValidationError('command', 'give the program and its arguments as a non-empty array of strings');
  for (const [i, part] of cmd.entries()) {
    if (typeof part !== 'string') throw new LxdValidationError(`command.${i}`, 'must be a string');
    if (part.includes('\0')) throw new LxdValidationError(`command.${i}`, 'must not contain NUL');
  }
  if (cmd[0] === '') throw new LxdValidationError('command.0', 'the program must not be empty');
  for (const [k, v] of Object.entries(opts.environment ?? {})) {
    if (typeof v !== 'string') throw new LxdValidationError(`environment.${k}`, 'must be a string');
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) throw new LxdValidationError(`environment.${k}`, 'names must be non-empty without "=" or NUL, values without NUL');
  }
  if (opts.cwd !== undefined && (typeof opts.cwd !== 'string' || !opts.cwd.startsWith('/') || opts.cwd.includes('\0'))) throw new LxdValidationError('cwd', 'must be an absolute path without NUL');
  for (const field of ['user', 'group'] as const) {
    const v = opts[field];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) throw new LxdValidationError(field, `${v} is not a numeric id`);
  }
  for (const field of ['width', 'height'] as const) {
    const v = opts[field];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 0xffff)) throw new LxdValidationError(field, `${v} is not a terminal size`);
  }
  if (opts.recordOutput && opts.stdin !== undefined) throw new LxdValidationError('stdin', 'recordOutput runs the command without websockets: it cannot be given stdin');
  if (opts.recordOutput && opts.interactive) throw new LxdValidationError('interactive', 'recordOutput and interactive cannot be combined (LXD refuses it)');
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${opts.timeoutMs} is not a deadline: give a positive, finite number of milliseconds`);
  if (opts.killSignal !== undefined) signalNumber(opts.killSignal, 'killSignal');
}

/** LXD's refusal to exec in a stopped or frozen instance, as a typed error. */
function notRunning(err: unknown): unknown {
  if (err instanceof LxdApiError && err.status === 400 && /not running|is frozen/i.test(err.lxdMessage)) {
    return new LxdInstanceNotRunningError({ status: err.status, errorCode: err.errorCode, method: err.method, path: err.path, project: err.project, lxdMessage: err.lxdMessage }, { cause: err });
  }
  return err;
}

/** The bytes of an input, as an async iterable, and whether it is a Node stream (read without destroying it). */
function inputChunks(input: ExecInput): AsyncIterator<Uint8Array | string> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const all = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return (async function* () {
      for (let at = 0; at < all.length; at += STDIN_FRAME_BYTES) yield all.subarray(at, at + STDIN_FRAME_BYTES);
    })();
  }
  if (input instanceof Readable) return input.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array | string>;
  return input[Symbol.asyncIterator]();
}

/** @internal How `openSocket` tells its failures, and options of the ws library (the migration relay's own). */
export interface OpenSocketOptions {
  extra?: { generateMask?: (mask: Buffer) => void };
  /** The error for an upgrade the server refused with `status` (default: exec's). */
  refused?: (status: number | string) => Error;
  /** The error for a socket that could not be opened (default: exec's: a handshake timeout, or the connection error). */
  failed?: (err: Error) => Error;
}

/** The `error` of an LXD error envelope, or the first line of a text answer, made printable and short. */
function refusalReason(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') text = (parsed as { error: string }).error;
  } catch {
    // not JSON: the text as it is
  }
  // eslint-disable-next-line no-control-regex
  return (text.split('\n')[0] ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').trim().slice(0, 300);
}

/** @internal Opens one operation websocket; rejects with a typed error when it cannot. */
export async function openSocket(api: Api, opId: string, secret: string, handshakeMs: number, signal: AbortSignal, onSocket: (ws: WebSocket) => void, opts: OpenSocketOptions = {}): Promise<WebSocket> {
  let ws: WebSocket;
  try {
    const query: Record<string, string> = { secret };
    if (api.ctx.project !== undefined) query['project'] = api.ctx.project;
    ws = await api.ctx.transport.websocket(lxdPath`/1.0/operations/${opId}/websocket`, query, handshakeMs, opts.extra);
  } catch (err) {
    throw api.ctx.transport.websocketError(err);
  }
  return new Promise((resolve, reject) => {
    // listeners go on at once: the command may write before the last of its websockets is open here
    onSocket(ws);
    const onAbort = (): void => {
      ws.terminate();
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal.removeEventListener('abort', onAbort);
    ws.once('open', () => {
      done();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      done();
      const status = res.statusCode ?? '?';
      // the server's own reason (an LXD error envelope), read within a bound: at most 4 KiB, 1 s
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (): void => {
        clearTimeout(timer);
        ws.terminate();
        const why = refusalReason(Buffer.concat(chunks).toString('utf8'));
        reject(opts.refused ? opts.refused(status) : new LxdStreamLostError('connect', `exec websocket refused: HTTP ${status}${why ? `: ${why}` : ''}`));
      };
      const timer = setTimeout(finish, 1000);
      res.on('data', (d: Buffer) => {
        if (size >= 4096) return;
        chunks.push(d.subarray(0, 4096 - size));
        size += d.length;
      });
      res.once('end', finish);
      res.once('error', finish);
    });
    ws.once('error', (err) => {
      done();
      if (opts.failed) return reject(opts.failed(err));
      reject(/opening handshake has timed out/i.test(err.message)
        ? new LxdTimeoutError(`exec websocket: ${err.message}`, { timeoutMs: handshakeMs }, { cause: err })
        : api.ctx.transport.websocketError(err));
    });
  });
}

/** `promise`'s value, or undefined after `ms` (the timer is cleared either way: it never keeps a process alive). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Ends the streams of a session: resolves at the barrier (end of stream), rejects when the socket went away first. */
interface OutputWire {
  readonly readable: Readable;
  readonly ended: Promise<void>;
  /** True once the barrier arrived: everything the stream carries is in `readable`. */
  readonly complete: () => boolean;
  /** When a frame last came, whether the reader is behind (paused, or data waits in `readable`), and whether the stream is over. */
  readonly activity: () => { lastFrameAt: number; behind: boolean; eof: boolean };
  readonly stream: string;
}

/**
 * @internal
 * stdout or stderr (or the pty's output) from one websocket: binary frames are pushed into a Readable;
 * when it is full the websocket is paused (so LXD's writes block and nothing piles up here), and
 * resumed when the consumer reads again. The barrier ends it.
 */
export function wireOutput(ws: WebSocket, stream: string, onBarrier?: () => void): OutputWire {
  let paused = false;
  let eof = false;
  let complete = false;
  let lastFrameAt = Date.now();
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const ended = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  ended.catch(() => {});
  const readable = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (paused) {
        paused = false;
        ws.resume();
      }
    },
  });
  ws.on('message', (data, isBinary) => {
    lastFrameAt = Date.now();
    if (eof) return;
    if (!isBinary) {
      // an (empty) text frame: the barrier, LXD's end of this stream
      eof = true;
      complete = true;
      readable.push(null);
      settle.resolve();
      onBarrier?.();
      return;
    }
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (chunk.length === 0) return;
    if (!readable.push(chunk) && !paused) {
      paused = true;
      ws.pause();
    }
  });
  let failure: Error | undefined;
  ws.on('error', (err) => {
    failure ??= err;
  });
  ws.on('close', (code) => {
    if (eof) return;
    eof = true;
    settle.reject(new LxdStreamLostError(stream, `exec: the ${stream} websocket closed (code ${code}) before the end of the stream; the output is incomplete`, failure ? { cause: failure } : undefined));
  });
  return {
    readable,
    ended,
    complete: () => complete,
    activity: () => ({ lastFrameAt, behind: paused || readable.readableLength > 0, eof }),
    stream,
  };
}

/**
 * Rejects with LxdStreamLostError when the session's streams stay silent for `ms` while one of them
 * still lacks its barrier and every reader keeps up (time spent waiting for a reader does not count:
 * the server may hold one stream back behind another); pending until then, and once all have ended.
 */
function overdueAfterEnd(outputs: readonly OutputWire[], ms: number): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    let quietSince = Date.now();
    const timer = setInterval(() => {
      const states = outputs.map((o) => o.activity());
      const open = outputs.find((_o, i) => !states[i]!.eof);
      if (!open) {
        clearInterval(timer);
        return;
      }
      const now = Date.now();
      if (states.some((a) => a.lastFrameAt > quietSince || a.behind)) quietSince = now;
      if (now - quietSince < ms) return;
      clearInterval(timer);
      reject(new LxdStreamLostError(open.stream, `exec: the command ended, but the ${open.stream} stream got no end-of-stream barrier within ${ms} ms; the output may be incomplete`));
    }, Math.max(25, Math.floor(ms / 8)));
  });
}

/**
 * Sends stdin in binary frames with bounded queueing, then (`barrier`) the end-of-stream barrier.
 * Never throws: resolves to the source's error when reading it failed (the session then ends with it).
 */
async function pumpStdin(ws: WebSocket, source: AsyncIterator<Uint8Array | string>, stop: Promise<void>, barrier: boolean): Promise<unknown> {
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const open = (): boolean => !stopped && ws.readyState === ws.OPEN;
  try {
    for (;;) {
      const next = await Promise.race([source.next(), stop.then(() => undefined)]);
      if (!next || next.done || !open()) break;
      const value = next.value;
      const chunk = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      for (let at = 0; at < chunk.length && open(); at += STDIN_FRAME_BYTES) {
        const frame = chunk.subarray(at, at + STDIN_FRAME_BYTES);
        const sent = new Promise<void>((resolve) => ws.send(frame, { binary: true }, () => resolve()));
        // bounded: wait for the socket to take the data when too much is queued
        if (ws.bufferedAmount > STDIN_QUEUE_BYTES) await Promise.race([sent, stop]);
      }
    }
    if (barrier && open()) ws.send('');
    return undefined;
  } catch (err) {
    // the command must not take a truncated input for the whole of it: the session ends with the error
    return err ?? new Error('the stdin source failed');
  } finally {
    if (stopped) void source.return?.().catch(() => {});
  }
}

/** @internal Closes an operation websocket: a close frame, or (`hard`) at once. */
export function closeSocket(ws: WebSocket | undefined, hard = false): void {
  if (!ws || ws.readyState === ws.CLOSED) return;
  if (hard || ws.readyState === ws.CONNECTING) ws.terminate();
  else ws.close();
}

/** @internal */
interface Sockets {
  control: WebSocket | undefined;
  /** By fd: `0` (stdin, or the pty), `1`, `2`. */
  data: Record<string, WebSocket>;
  /** The output streams, wired as each socket was made: `stdout`, `stderr`, or `pty`. */
  wires: Record<string, OutputWire>;
  /** The pty's barrier: seen (maybe before the session existed), and what answers it. */
  pty: { barrier: boolean; answer: (() => void) | undefined };
}

/** @internal What a running session needs to know. */
interface SessionSetup {
  api: Api;
  name: string;
  opts: ExecOptions;
  op: Operation;
  killSignal: number;
  timeoutMs: number;
}

/**
 * A running command. Read `stdout` and `stderr` (they must be consumed, or the command blocks when
 * they fill, as with Node's child processes), then `await wait()` for the exit status.
 */
export class ExecProcess {
  /** The command's standard output (in interactive mode: the terminal's output, stderr included). */
  readonly stdout: Readable;
  /** The command's standard error (empty in interactive mode). */
  readonly stderr: Readable;
  readonly interactive: boolean;
  /** The id of LXD's exec operation. */
  readonly operationId: string;
  readonly #setup: SessionSetup;
  readonly #sockets: Sockets | undefined;
  readonly #done: Promise<ExecResult>;
  readonly #stopStdin: () => void;
  #outputs: OutputWire[] = [];
  #finished = false;
  #failing: Error | undefined;
  #abort: ((reason: unknown) => void) | undefined;
  /** Ends the session's own waits (the operation, recorded output) once it is over. */
  readonly #opAbort = new AbortController();

  /** @internal made by `instances.exec()` */
  constructor(setup: SessionSetup, sockets: Sockets | undefined, clearDeadline: () => void) {
    this.#setup = setup;
    this.#sockets = sockets;
    this.interactive = setup.opts.interactive === true;
    this.operationId = setup.op.id;
    let stopStdin!: () => void;
    const stdinStop = new Promise<void>((resolve) => {
      stopStdin = resolve;
    });
    this.#stopStdin = stopStdin;

    let outputs: OutputWire[];
    if (!sockets) {
      // recordOutput: the log files are streamed in once the command ended
      this.stdout = new PassThrough();
      this.stderr = new PassThrough();
      outputs = [];
    } else if (this.interactive) {
      const pty = sockets.data['0']!;
      const wire = sockets.wires['pty']!;
      // LXD ends the operation only once the client answered the pty's barrier with its own
      sockets.pty.answer = () => {
        stopStdin();
        if (pty.readyState === pty.OPEN) pty.send('');
      };
      if (sockets.pty.barrier) sockets.pty.answer();
      this.stdout = wire.readable;
      this.stderr = Readable.from([]);
      outputs = [wire];
      // no barrier at the end of stdin: a terminal has no end of file (LXD 5.0.2 hangs the pty up on
      // one, before the command read what came first); a user ends input with Ctrl-D (\x04)
      void pumpStdin(pty, inputChunks(setup.opts.stdin ?? ''), stdinStop, false).then((err) => err !== undefined && this.#abort?.(err));
    } else {
      const out = sockets.wires['stdout']!;
      const err = sockets.wires['stderr']!;
      this.stdout = out.readable;
      this.stderr = err.readable;
      outputs = [out, err];
      void pumpStdin(sockets.data['0']!, inputChunks(setup.opts.stdin ?? ''), stdinStop, true).then((err) => err !== undefined && this.#abort?.(err));
    }

    this.#outputs = outputs;
    this.#done = new Promise<ExecResult>((resolve, reject) => {
      const finish = (outcome: { result: ExecResult } | { error: unknown }): void => {
        if (this.#finished) return;
        this.#finished = true;
        clearDeadline();
        this.#opAbort.abort(new Error('the exec session ended'));
        this.#stopStdin();
        this.#closeAll();
        if ('result' in outcome) resolve(outcome.result);
        else {
          const err = outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
          // A stream that got all its data (its barrier) keeps it for its reader. Otherwise the error
          // reaches readers that listen for it (pipeline, for await); a stream nobody listens to for
          // errors just closes, instead of crashing the process with an 'error' event.
          for (const w of this.#outputs) if (!w.complete() && !w.readable.readableEnded) w.readable.destroy(w.readable.listenerCount('error') > 0 ? err : undefined);
          reject(outcome.error);
        }
      };
      this.#abort = (reason) => {
        if (this.#finished || this.#failing) return;
        this.#failing = reason instanceof Error ? reason : new Error(String(reason));
        void this.#stop(setup.killSignal).then(() => finish({ error: reason }));
      };
      void this.#run(outputs).then(
        (result) => {
          if (!this.#failing) finish({ result });
        },
        (error: unknown) => {
          if (this.#failing) return; // an abort is already ending the session with its own reason
          this.#failing = error instanceof Error ? error : new Error(String(error));
          void this.#stop(9).then(() => finish({ error }));
        },
      );
    });
    this.#done.catch(() => {});
  }

  /** @internal the deadline's callback */
  abortWith(reason: unknown): void {
    this.#abort?.(reason);
  }

  /**
   * Resolves when the command ended and all its output was received (pushed into `stdout` and
   * `stderr`): the exit status, as a result even when it is not 0. Rejects with the abort reason,
   * `LxdTimeoutError` at the deadline, `LxdCommandNotFoundError`, `LxdStreamLostError` when an output
   * websocket dropped, or `LxdOperationError` when LXD could not run the command.
   */
  wait(): Promise<ExecResult> {
    return this.#done;
  }

  /** Sends a signal (default `SIGTERM`) to the command through the control websocket. */
  async kill(sig: number | NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = signalNumber(sig, 'signal');
    await this.#control({ command: 'signal', signal: n });
  }

  /** Resizes the pty of an interactive session (LXD ignores it otherwise). */
  async resize(width: number, height: number): Promise<void> {
    for (const [field, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw new LxdValidationError(field, `${v} is not a terminal size`);
    }
    await this.#control({ command: 'window-resize', args: { width: String(width), height: String(height) } });
  }

  #control(message: Record<string, unknown>): Promise<void> {
    const ws = this.#sockets?.control;
    if (this.#finished) return Promise.resolve();
    if (!ws || ws.readyState !== ws.OPEN) {
      return Promise.reject(new LxdStreamLostError('control', this.#sockets ? 'exec: the control websocket is closed (the command has ended or is ending)' : 'exec: a session with recordOutput has no control websocket'));
    }
    return new Promise((resolve, reject) => {
      ws.send(JSON.stringify(message), (err) => (err ? reject(new LxdStreamLostError('control', `exec: cannot send on the control websocket: ${err.message}`, { cause: err })) : resolve()));
    });
  }

  /** The session's normal course: the operation's outcome and the end of every output stream. */
  async #run(outputs: OutputWire[]): Promise<ExecResult> {
    const opDone = this.#waitOperation();
    opDone.catch(() => {});
    if (!this.#sockets) {
      const result = await opDone;
      await this.#fetchRecorded(result.operation);
      return this.#result(result.operation);
    }
    // once the operation ended, each stream gets a short grace to reach its barrier: a server that never
    // sends one cannot keep the session open until its deadline
    const overdue = opDone.then(
      () => overdueAfterEnd(outputs, EXEC_END_GRACE_MS),
      () => new Promise<never>(() => {}),
    );
    overdue.catch(() => {});
    try {
      await Promise.race([Promise.all(outputs.map((o) => o.ended)), overdue]);
    } catch (lost) {
      // the operation may say why (it failed before the command ran); else the stream was lost
      const why = await within(opDone.then(() => undefined, (err: unknown) => err), LOST_GRACE_MS);
      if (why instanceof LxdOperationError) throw why;
      throw lost;
    }
    const { operation } = await opDone;
    return this.#result(operation);
  }

  /** Waits for the operation (the session's deadline and signal apply through the abort path). */
  async #waitOperation(): Promise<{ operation: OperationData }> {
    const { op, timeoutMs } = this.#setup;
    try {
      // the session's own deadline ends it first; this one only keeps the wait from outliving it
      return { operation: await op.wait({ timeoutMs: Math.min(timeoutMs + 60_000, MAX_TIMER_MS), signal: this.#opAbort.signal }) };
    } catch (err) {
      if (err instanceof LxdOperationError && typeof err.operation.metadata?.['return'] === 'number') return { operation: err.operation };
      throw err;
    }
  }

  async #result(operation: OperationData): Promise<ExecResult> {
    const ret = operation.metadata?.['return'];
    if (typeof ret !== 'number' || !Number.isInteger(ret)) {
      throw new LxdResponseValidationError('GET', `/1.0/operations/${operation.id}`, [{ path: ['metadata', 'return'], message: 'the finished exec operation carries no exit status' }]);
    }
    if (ret < 0 || ret > 255) {
      // a process's exit status is 0 to 255 (128 + n for signal n); anything else is not one
      throw new LxdResponseValidationError('GET', `/1.0/operations/${operation.id}`, [{ path: ['metadata', 'return'], message: `the exit status ${ret} is outside 0-255` }]);
    }
    const result: ExecResult = { exitCode: ret, operationId: operation.id };
    if (operation.status_code !== 200 && operation.err) result.lxdError = operation.err;
    if (ret === 127 && operation.status_code !== 200) await this.#checkNotFound(operation);
    return result;
  }

  /**
   * LXD says "Command not found" for every exit status 127. Looks for the program as the shell would
   * (a path, else each directory of the PATH LXD ran it with); none there: the program is missing.
   */
  async #checkNotFound(operation: OperationData): Promise<void> {
    const { api, name, opts } = this.#setup;
    const program = opts.command[0]!;
    const env = operation.metadata?.['environment'];
    const path = env && typeof env === 'object' && typeof (env as Record<string, unknown>)['PATH'] === 'string' ? ((env as Record<string, string>)['PATH'] ?? '') : '';
    let candidates: string[];
    if (program.includes('/')) {
      if (!program.startsWith('/') && !opts.cwd) return; // relative to a directory lxdkit does not know
      candidates = [posix.resolve(opts.cwd ?? '/', program)];
    } else {
      candidates = path.split(':').filter((d) => d.startsWith('/')).map((d) => posix.join(d, program));
    }
    if (candidates.length === 0) return;
    // One directory after the other, in the PATH's order, as the shell looks (and in the same order on
    // every run, so a recorded session replays).
    for (const file of candidates) {
      try {
        const res = await api.stream('HEAD', lxdPath`/1.0/instances/${name}/files`, { query: { path: file }, timeoutMs: 10_000 });
        res.body.resume();
        return;
      } catch (err) {
        // anything but "not found" leaves the question open: report the exit status as it is
        if (!LxdError.is(err, LxdErrorCode.NOT_FOUND)) return;
      }
    }
    throw new LxdCommandNotFoundError(name, opts.command, candidates);
  }

  /** recordOutput: streams the log files LXD wrote into stdout and stderr (both at once), then deletes them. */
  async #fetchRecorded(operation: OperationData): Promise<void> {
    const { api, name } = this.#setup;
    const output = operation.metadata?.['output'];
    const files = output && typeof output === 'object' ? (output as Record<string, unknown>) : {};
    const prefix = lxdPath`/1.0/instances/${name}/logs/`;
    const one = async (fd: string, target: PassThrough): Promise<void> => {
      const url = files[fd];
      if (typeof url !== 'string' || !url.startsWith(prefix)) {
        target.end();
        return;
      }
      const path = url.split('?')[0]!;
      try {
        const res = await api.stream('GET', path, { timeoutMs: this.#setup.timeoutMs, signal: this.#opAbort.signal });
        await pipeline(res.body, target);
      } finally {
        await api.call('DELETE', path, { timeoutMs: 30_000 }).catch(() => {});
      }
    };
    await Promise.all([one('1', this.stdout as PassThrough), one('2', this.stderr as PassThrough)]);
  }

  /**
   * Ends a session early: `sig` through the control websocket, a grace for the command to end, SIGKILL
   * and another grace if it did not, then every socket closed, the control socket last.
   */
  async #stop(sig: number): Promise<void> {
    this.#stopStdin();
    const sockets = this.#sockets;
    if (!sockets) return;
    const control = sockets.control;
    if (control && control.readyState === control.OPEN) {
      // the command's last words (a signal handler's output) still come through if it ends in time
      const ended = Promise.all([this.#setup.op.wait({ timeoutMs: 2 * KILL_GRACE_MS }).catch(() => {}), ...this.#outputs.map((o) => o.ended.catch(() => {}))]);
      control.send(JSON.stringify({ command: 'signal', signal: sig }), () => {});
      const stopped = await within(ended.then(() => true), KILL_GRACE_MS);
      // Closing the control socket does not stop the command (LXD 5.0.2, Incus 6.0): one that ignores
      // or traps the signal gets SIGKILL, which it cannot.
      if (!stopped && sig !== SIGKILL && control.readyState === control.OPEN) {
        control.send(JSON.stringify({ command: 'signal', signal: SIGKILL }), () => {});
        await within(ended, KILL_GRACE_MS);
      }
    }
    this.#closeAll();
  }

  /**
   * Closes the data sockets (a close handshake, so LXD has seen each close), then, once they are
   * closed or after a short wait, the control socket.
   */
  #closeAll(): void {
    const sockets = this.#sockets;
    if (!sockets) return;
    const data = Object.values(sockets.data).filter((ws) => ws.readyState !== ws.CLOSED);
    const closed = data.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of data) closeSocket(ws);
    void within(Promise.all(closed), 500).then(() => {
      for (const ws of data) closeSocket(ws, true);
      closeSocket(sockets.control);
    });
  }
}

/** `instances.exec()`: starts the command and resolves once it runs (every websocket connected). */
export async function execInstance(api: Api, name: string, opts: ExecOptions): Promise<ExecProcess> {
  validateExec(name, opts);
  const killSignal = signalNumber(opts.killSignal ?? 'SIGKILL', 'killSignal');
  const timeoutMs = opts.timeoutMs ?? api.ctx.operationTimeoutMs;
  if (opts.cwd !== undefined || opts.user !== undefined || opts.group !== undefined) await requireExtension(api, 'container_exec_user_group_cwd', 'exec with cwd, user or group', opts);
  if (opts.recordOutput) await requireExtension(api, 'container_exec_recording', 'exec with recordOutput', opts);
  let proc: ExecProcess | undefined;
  const timedOut = (): LxdTimeoutError =>
    new LxdTimeoutError(`exec in ${name}: ${opts.command[0] ?? ''} did not finish within ${timeoutMs} ms; it was sent signal ${killSignal}`, { timeoutMs, method: 'POST', path: `/1.0/instances/${name}/exec` });
  const dl = deadline(opts.signal, timeoutMs, (reason) => proc?.abortWith(reason instanceof DeadlineExceeded ? timedOut() : reason));
  const sockets: Sockets = { control: undefined, data: {}, wires: {}, pty: { barrier: false, answer: undefined } };
  const wire = (fd: string, ws: WebSocket): void => {
    if (fd === '1') sockets.wires['stdout'] = wireOutput(ws, 'stdout');
    else if (fd === '2') sockets.wires['stderr'] = wireOutput(ws, 'stderr');
    else if (fd === '0' && opts.interactive) {
      sockets.wires['pty'] = wireOutput(ws, 'pty', () => {
        sockets.pty.barrier = true;
        sockets.pty.answer?.();
      });
    }
  };
  try {
    const body: Record<string, unknown> = {
      command: [...opts.command],
      environment: { ...opts.environment },
      interactive: opts.interactive === true,
      'wait-for-websocket': !opts.recordOutput,
      'record-output': opts.recordOutput === true,
    };
    if (opts.cwd !== undefined) body['cwd'] = opts.cwd;
    if (opts.user !== undefined) body['user'] = opts.user;
    if (opts.group !== undefined) body['group'] = opts.group;
    if (opts.interactive) {
      body['width'] = opts.width ?? 80;
      body['height'] = opts.height ?? 24;
    }
    let op: Operation;
    try {
      op = await api.operation('POST', lxdPath`/1.0/instances/${name}/exec`, { body, signal: dl.signal });
    } catch (err) {
      throw notRunning(err);
    }
    const setup: SessionSetup = { api, name, opts, op, killSignal, timeoutMs };
    if (opts.recordOutput) {
      proc = new ExecProcess(setup, undefined, () => dl.clear());
      return proc;
    }
    const fds = op.current.metadata?.['fds'];
    const secrets = fds && typeof fds === 'object' ? (fds as Record<string, unknown>) : {};
    // control first: LXD starts the command once its data sockets are connected, without waiting for
    // control, and a quick command's operation is over before a control socket opened last can connect
    // (LXD 5.0.2 refuses it: "Only running operations can be connected")
    const wanted = opts.interactive ? ['control', '0'] : ['control', '0', '1', '2'];
    for (const fd of wanted) {
      if (typeof secrets[fd] !== 'string') throw new LxdResponseValidationError('POST', `/1.0/instances/${name}/exec`, [{ path: ['metadata', 'metadata', 'fds', fd], message: 'missing websocket secret' }]);
    }
    // one budget for all of them: LXD waits that long for the last
    const connectBy = Date.now() + CONNECT_BUDGET_MS;
    // One after the other: when many sessions start at once, LXD 5.0.2 and Incus 6.0 now and then drop
    // an output socket before its end if its sockets come in together (about 1 session in 500 with ten
    // at a time; 1 in 3 000 one after the other, measured).
    for (const fd of wanted) {
      const ws = await openSocket(api, op.id, secrets[fd] as string, Math.max(1, connectBy - Date.now()), dl.signal, (socket) => wire(fd, socket));
      if (fd === 'control') sockets.control = ws;
      else sockets.data[fd] = ws;
    }
    proc = new ExecProcess(setup, sockets, () => dl.clear());
    return proc;
  } catch (err) {
    dl.clear();
    for (const ws of Object.values(sockets.data)) closeSocket(ws, true);
    closeSocket(sockets.control, true);
    if (dl.timedOut) throw timedOut();
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw err;
  }
}

/** `instances.execOutput()`: runs the command and collects stdout and stderr, each up to a cap. */
export async function execOutput(api: Api, name: string, opts: ExecOutputOptions): Promise<ExecOutput> {
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isInteger(max) || max < 0) throw new LxdValidationError('maxOutputBytes', `${max} is not a byte count`);
  const proc = await execInstance(api, name, opts);
  let tooLarge: LxdOutputTooLargeError | undefined;
  const collect = (stream: Readable, which: 'stdout' | 'stderr'): Promise<Buffer> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        if (tooLarge) return; // keep reading (the session must drain) but keep nothing
        size += chunk.length;
        if (size > max) {
          tooLarge = new LxdOutputTooLargeError(which, max);
          chunks.length = 0;
          proc.kill(opts.killSignal ?? 'SIGKILL').catch(() => {});
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', () => resolve(Buffer.concat(chunks)));
    });
  const [stdout, stderr, result] = await Promise.all([collect(proc.stdout, 'stdout'), collect(proc.stderr, 'stderr'), proc.wait()]);
  if (tooLarge) throw tooLarge;
  return { ...result, stdout, stderr };
}

