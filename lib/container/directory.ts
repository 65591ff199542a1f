/**
 * Juju's `container.NewDirectory` / `container.RemoveDirectory`: the per-container directory the KVM
 * manager keeps its cloud-init files in, and the "removed-containers" graveyard it is moved to.
 */
import { mkdir, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../logger.js';
import { ContainerDir, ContainerLoggerName, RemovedContainerDir } from './constants.js';
import { ContainerError, ContainerErrorCode, errorText } from '../errors.js';
import { goQuote } from '../go-compat.js';

/** Where the container directories live; every field defaults to Juju's path. */
export interface DirectoryOptions {
  /** Defaults to {@link ContainerDir} (`/var/lib/juju/containers`). */
  containerDir?: string;
  /** Defaults to {@link RemovedContainerDir} (`/var/lib/juju/removed-containers`). */
  removedContainerDir?: string;
  /** Receives Juju's TRACE and ERROR lines. Silent by default. */
  logger?: Logger;
  /** Checked before each filesystem step. Local filesystem calls have no timeout of their own. */
  signal?: AbortSignal;
}

const DIR_MODE = 0o755;

/**
 * Refuses a container name that would escape the directory or name it: empty, `.`, `..`, or
 * containing `/`, `..` or NUL. Juju does not check this; lxdkit does, before touching the disk.
 *
 * @throws ContainerError with code `CONTAINER_ERR_INVALID_NAME`.
 */
export function validateContainerName(name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name.includes('/') || name.includes('..') || name.includes('\0')) {
    throw new ContainerError(
      ContainerErrorCode.INVALID_NAME,
      `invalid container name ${goQuote(String(name))}: it must be non-empty and must not contain "/", ".." or NUL`,
    );
  }
}

function log(opts: DirectoryOptions | undefined): Logger {
  return (opts?.logger ?? silentLogger).child({ module: ContainerLoggerName });
}

function wrap(err: unknown): ContainerError {
  return new ContainerError(ContainerErrorCode.DIRECTORY, errorText(err), { cause: err });
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Creates `<containerDir>/<name>` (mode 0755 before umask, parents included) and returns its path.
 * An existing directory is not an error. Juju `container.NewDirectory`.
 *
 * @example
 * const dir = await newDirectory('juju-06f00d-0', { containerDir: '/tmp/containers' });
 * // => '/tmp/containers/juju-06f00d-0'
 * @throws ContainerError `CONTAINER_ERR_INVALID_NAME` for a bad name (no I/O is done), or
 *   `CONTAINER_ERR_DIRECTORY` with the OS error as `cause` (logged as ERROR
 *   `failed to create container directory: <err>`).
 */
export async function newDirectory(name: string, opts?: DirectoryOptions): Promise<string> {
  validateContainerName(name);
  opts?.signal?.throwIfAborted();
  const logger = log(opts);
  const dir = join(opts?.containerDir ?? ContainerDir, name);
  logger.trace(`create directory: ${dir}`);
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    logger.error(`failed to create container directory: ${errorText(err)}`);
    throw wrap(err);
  }
  return dir;
}

/**
 * Reserves a unique, empty directory under `removedDir` for `name`: `name`, else `name.1`,
 * `name.2`, … (Juju's `utils.UniqueDirectory` naming). The reservation is an exclusive mkdir, so
 * two callers never get the same directory.
 */
async function reserveUniqueDirectory(removedDir: string, name: string, signal?: AbortSignal): Promise<string> {
  for (let n = 0; ; n++) {
    signal?.throwIfAborted();
    const candidate = join(removedDir, n === 0 ? name : `${name}.${n}`);
    try {
      await mkdir(candidate, { mode: DIR_MODE });
      return candidate;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  }
}

/**
 * Moves `<containerDir>/<name>` into `<removedContainerDir>`, as `name`, or `name.1`, `name.2`, …
 * when earlier removals of the same name are there, and returns the path it moved to.
 * Juju `container.RemoveDirectory`.
 *
 * Safer than Juju: the destination is reserved with an exclusive mkdir and the container directory
 * is then renamed over that empty directory, so two concurrent removals of the same name never
 * overwrite each other's result (the loser fails with the rename error and its reservation is
 * removed again).
 *
 * @example
 * await newDirectory('juju-06f00d-0', dirs);
 * await removeDirectory('juju-06f00d-0', dirs); // => '<removedContainerDir>/juju-06f00d-0'
 * @throws ContainerError `CONTAINER_ERR_INVALID_NAME` for a bad name (no I/O is done), else
 *   `CONTAINER_ERR_DIRECTORY` with the OS error as `cause`, after logging Juju's ERROR line
 *   (`failed to create removed container directory: …`, `was not able to generate a unique
 *   directory: …` or `failed to rename container directory: …`). A missing container directory
 *   gives the rename error, as in Juju.
 */
export async function removeDirectory(name: string, opts?: DirectoryOptions): Promise<string> {
  validateContainerName(name);
  opts?.signal?.throwIfAborted();
  const logger = log(opts);
  const removedDir = opts?.removedContainerDir ?? RemovedContainerDir;
  try {
    await mkdir(removedDir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    logger.error(`failed to create removed container directory: ${errorText(err)}`);
    throw wrap(err);
  }
  let target: string;
  try {
    target = await reserveUniqueDirectory(removedDir, name, opts?.signal);
  } catch (err) {
    if (opts?.signal?.aborted) throw err;
    logger.error(`was not able to generate a unique directory: ${errorText(err)}`);
    throw wrap(err);
  }
  try {
    opts?.signal?.throwIfAborted();
    await rename(join(opts?.containerDir ?? ContainerDir, name), target);
  } catch (err) {
    await rmdir(target).catch(() => undefined);
    if (opts?.signal?.aborted) throw err;
    logger.error(`failed to rename container directory: ${errorText(err)}`);
    throw wrap(err);
  }
  return target;
}
