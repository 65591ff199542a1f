import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

export const SNAP_SOCKET = '/var/snap/lxd/common/lxd/unix.socket';
export const DEBIAN_SOCKET = '/var/lib/lxd/unix.socket';

function isWritableSocket(path: string): boolean {
  try {
    if (!statSync(path).isSocket()) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the LXD unix socket as LXD's Go client does: an explicit path; else `$LXD_SOCKET`;
 * else `$LXD_DIR/unix.socket`; else the snap socket if it is writable; else `/var/lib/lxd/unix.socket`.
 * Does no I/O beyond a stat of the snap path.
 */
export function resolveSocketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env['LXD_SOCKET']) return env['LXD_SOCKET'];
  if (env['LXD_DIR']) return join(env['LXD_DIR'], 'unix.socket');
  if (isWritableSocket(SNAP_SOCKET)) return SNAP_SOCKET;
  return DEBIAN_SOCKET;
}
