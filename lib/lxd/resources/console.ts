/**
 * `/1.0/instances/{name}/console` (the console log) and `/1.0/instances/{name}/logs` (the instance's log
 * files: lxc.log, lxc.conf, and the output files of `exec` with recordOutput).
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { isNotFound, LxdApiError, LxdValidationError } from '../errors.js';
import { lxdPath, namesFromUrls } from '../path.js';
import { validateInstanceName } from '../validate.js';
import type { Api, CallOptions } from './base.js';
import { readCapped } from './stream-util.js';

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

  /** DELETE /1.0/instances/{name}/console: empties the console log. */
  async clearLog(name: string, opts: CallOptions = {}): Promise<void> {
    validateInstanceName(name);
    await this.api.call('DELETE', lxdPath`/1.0/instances/${name}/console`, opts);
  }
}

const UrlList = z.array(z.string());

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
    const [logs, apart] = await Promise.all([this.api.sync('GET', path, UrlList, opts), this.#execOutputApart(opts)]);
    const names = namesFromUrls(logs.value, 'GET', path);
    if (!apart) return names;
    const outPath = `${path}/exec-output`;
    // Incus answers 404 until the instance's first recorded exec makes the directory
    const out = await this.api.sync('GET', outPath, UrlList, opts).catch((err: unknown) => {
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
