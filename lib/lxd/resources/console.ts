/**
 * `/1.0/instances/{name}/console` (the console log) and `/1.0/instances/{name}/logs` (the instance's log
 * files: lxc.log, lxc.conf, and the output files of `exec` with recordOutput).
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { LxdApiError, LxdValidationError } from '../errors.js';
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

/** `client.instances.logs`: the log files LXD keeps for an instance. */
export class InstanceLogs {
  constructor(private readonly api: Api) {}

  /** GET /1.0/instances/{name}/logs: the file names, e.g. `lxc.log`, `lxc.conf`. */
  async list(name: string, opts: CallOptions = {}): Promise<string[]> {
    validateInstanceName(name);
    const path = lxdPath`/1.0/instances/${name}/logs`;
    return namesFromUrls((await this.api.sync('GET', path, UrlList, opts)).value, 'GET', path);
  }

  /** One log file as text (up to the client's maxResponseBytes; `stream()` for any size). */
  async read(name: string, file: string, opts: CallOptions = {}): Promise<string> {
    const path = this.path(name, file);
    const res = await this.api.stream('GET', path, opts);
    return (await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', path)).toString('utf8');
  }

  /** One log file as a stream (consume or destroy it). */
  async stream(name: string, file: string, opts: CallOptions = {}): Promise<Readable> {
    return (await this.api.stream('GET', this.path(name, file), opts)).body;
  }

  /** DELETE one log file (LXD allows it for the `exec` output files and rotated logs). */
  async delete(name: string, file: string, opts: CallOptions = {}): Promise<void> {
    await this.api.call('DELETE', this.path(name, file), opts);
  }

  private path(name: string, file: string): string {
    validateInstanceName(name);
    validateLogFile(file);
    return lxdPath`/1.0/instances/${name}/logs/${file}`;
  }
}
