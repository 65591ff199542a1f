/**
 * The servers the shared integration specs run against: the host's LXD and Incus, each found as its
 * own client finds it, each prepared by scripts/provision-host.sh (a `dir` pool, the root disk in
 * `default`, an address-less bridge, the busybox image). Outside CI a missing server skips its suite
 * with a message; in CI (CI=true) it fails.
 *
 * ```ts
 * describeEachServer('instances', (server) => {
 *   let lxd: LxdClient;
 *   before(async function () { lxd = await requireServer(this, server); });
 * });
 * ```
 */
import { existsSync } from 'node:fs';
import { LxdClient, resolveSocketPath, type ServerKind } from '../../lib/lxd/index.js';
import { TEST_BRIDGE } from './lxd-env.js';

export interface TestServer {
  kind: ServerKind;
  socket: string;
  /** The address-less bridge prepared on it. */
  bridge: string;
}

export const SERVERS: readonly TestServer[] = [
  { kind: 'lxd', socket: resolveSocketPath(undefined, process.env, 'lxd'), bridge: TEST_BRIDGE },
  { kind: 'incus', socket: resolveSocketPath(undefined, process.env, 'incus'), bridge: process.env['LXDKIT_TEST_BRIDGE_INCUS'] ?? 'lxdkitbr1' },
];

/**
 * A mocha `describe` once per server, titled `<title> [lxd]` and `<title> [incus]`. `fn` runs as the
 * suite's callback (a `function` may call `this.timeout()`).
 */
export function describeEachServer(title: string, fn: (this: Mocha.Suite, server: TestServer) => void): void {
  for (const server of SERVERS) {
    describe(`${title} [${server.kind}]`, function () {
      fn.call(this, server);
    });
  }
}

/** Call in a `before` hook: a client of `server`, or a skip (outside CI) / a failure (in CI) when it is not there. */
export async function requireServer(ctx: Mocha.Context, server: TestServer, options: { useEvents?: boolean } = {}): Promise<LxdClient> {
  const inCi = Boolean(process.env['CI']);
  if (!existsSync(server.socket)) {
    if (inCi) throw new Error(`CI: the ${server.kind} socket ${server.socket} is missing; .ci/run must start the daemon`);
    console.warn(`    (skipped: no ${server.kind} socket at ${server.socket}; run scripts/provision-host.sh)`);
    ctx.skip();
  }
  const client = new LxdClient({ socketPath: server.socket, ...options });
  try {
    await client.server.get();
  } catch (err) {
    await client.close();
    if (inCi) throw err;
    console.warn(`    (skipped: ${server.kind} at ${server.socket} does not answer: ${(err as Error).message})`);
    ctx.skip();
  }
  return client;
}
