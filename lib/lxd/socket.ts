import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** LXD's socket when installed from the snap. */
export const SNAP_SOCKET = '/var/snap/lxd/common/lxd/unix.socket';
/** LXD's socket when installed from a distribution package (`/var/lib/lxd`). */
export const DEBIAN_SOCKET = '/var/lib/lxd/unix.socket';
/** Incus's socket under `/run` (checked before `INCUS_SOCKET`). */
export const INCUS_RUN_SOCKET = '/run/incus/unix.socket';
/** Incus's socket under `/var/lib/incus`. */
export const INCUS_SOCKET = '/var/lib/incus/unix.socket';

/** Which daemon a client talks to: LXD, or Incus (LXD's fork, the same REST API with its own socket). */
export type ServerKind = 'lxd' | 'incus';

function isWritableSocket(path: string): boolean {
  try {
    if (!statSync(path).isSocket()) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** LXD's Go client's order: `$LXD_SOCKET`, `$LXD_DIR/unix.socket`, the snap socket if writable, the Debian path. */
function lxdSocket(env: NodeJS.ProcessEnv): string {
  if (env['LXD_SOCKET']) return env['LXD_SOCKET'];
  if (env['LXD_DIR']) return join(env['LXD_DIR'], 'unix.socket');
  if (isWritableSocket(SNAP_SOCKET)) return SNAP_SOCKET;
  return DEBIAN_SOCKET;
}

/** Incus's own client's order: `$INCUS_SOCKET`, `$INCUS_DIR/unix.socket`, `/run/incus` if it exists, `/var/lib/incus`. */
function incusSocket(env: NodeJS.ProcessEnv): string {
  if (env['INCUS_SOCKET']) return env['INCUS_SOCKET'];
  if (env['INCUS_DIR']) return join(env['INCUS_DIR'], 'unix.socket');
  if (existsSync(INCUS_RUN_SOCKET)) return INCUS_RUN_SOCKET;
  return INCUS_SOCKET;
}

/**
 * Resolves the unix socket as each server's own client does: an explicit path wins; `server: 'lxd'`
 * follows LXD's order, `server: 'incus'` Incus's. With no server given, LXD's socket is used unless
 * nothing of LXD is there (no LXD variables, no LXD socket) and an Incus socket is. Does no I/O
 * beyond stats of the well-known paths.
 */
export function resolveSocketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env, server?: ServerKind): string {
  if (explicit) return explicit;
  if (server === 'incus') return incusSocket(env);
  const lxd = lxdSocket(env);
  if (server === 'lxd' || env['LXD_SOCKET'] || env['LXD_DIR'] || existsSync(lxd)) return lxd;
  const incus = incusSocket(env);
  return existsSync(incus) ? incus : lxd;
}
