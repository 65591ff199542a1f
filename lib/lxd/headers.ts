import type { ServerKind } from './socket.js';

/**
 * The name of one of the daemon's own headers (file and image metadata): `X-LXD-<name>` on LXD,
 * `X-Incus-<name>` on Incus, which renamed them all and reads no `X-LXD-*`.
 */
export function serverHeader(kind: ServerKind, name: string): string {
  return `${kind === 'incus' ? 'x-incus' : 'x-lxd'}-${name.toLowerCase()}`;
}
