/**
 * Juju's `container.RunningInContainer` / `container.ContainersSupported` (container/utils.go).
 */
import { execFile } from 'node:child_process';
import type { CreationProgress } from './progress.js';
import type { StatusCallback } from './types.js';

/** Options of {@link runningInContainer}. */
export interface RunningInContainerOptions {
  /** The command to run; defaults to `running-in-container` looked up in PATH. */
  command?: string;
  /** Defaults to `process.platform`; anything but `linux` gives false without running anything. */
  platform?: NodeJS.Platform;
  /** Environment for the command; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Kill the command and answer false after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * True iff the host is Linux and `running-in-container` (no arguments) exits 0. A missing command,
 * a non-zero exit, a timeout or any other error gives false, as in Juju.
 *
 * @example if (await runningInContainer()) console.log('nested: LXD containers are not supported here');
 */
export async function runningInContainer(opts: RunningInContainerOptions = {}): Promise<boolean> {
  opts.signal?.throwIfAborted();
  if ((opts.platform ?? process.platform) !== 'linux') return false;
  const command = opts.command ?? 'running-in-container';
  return new Promise<boolean>((resolve, reject) => {
    execFile(
      command,
      [],
      {
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        env: opts.env ?? process.env,
        windowsHide: true,
        signal: opts.signal,
      },
      (err) => {
        if (opts.signal?.aborted) {
          reject(opts.signal.reason);
          return;
        }
        resolve(err === null);
      },
    );
  });
}

/**
 * Juju `container.ContainersSupported()`: the negation of {@link runningInContainer}, i.e. whether
 * LXD containers may be created on this host.
 *
 * @example const lxdOk = await containersSupported();
 */
export async function containersSupported(opts: RunningInContainerOptions = {}): Promise<boolean> {
  return !(await runningInContainer(opts));
}

/**
 * Wraps a caller's status callback as both managers need it: Juju ignores what the callback returns,
 * and a callback that throws must not break container creation either (the failure is logged).
 */
export function guardStatusCallback(callback: StatusCallback | undefined, log: (msg: string) => void): StatusCallback {
  return (status, info, data) => {
    try {
      callback?.(status, info, data);
    } catch (err) {
      log(`status callback failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return undefined;
  };
}

/** The same guard for a creation progress hook: a hook that throws is logged, and creation goes on. */
export function guardProgress(onProgress: ((p: CreationProgress) => void) | undefined, log: (msg: string) => void): (p: CreationProgress) => void {
  return (p) => {
    try {
      onProgress?.(p);
    } catch (err) {
      log(`progress hook failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}
