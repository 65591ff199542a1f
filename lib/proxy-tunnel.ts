/**
 * TLS through a proxy's CONNECT tunnel (proxy.ts opens the tunnel): loaded only when a remote or an
 * image server is reached through a proxy, so that Node's `tls` and `https` load only then.
 */
import type { ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { openTunnel, unbracket, type Proxy } from './proxy.js';

/** TLS over an open tunnel, with the given options; the server name is the host unless it is an IP. */
export function tlsOverTunnel(socket: Socket, host: string, tls: ConnectionOptions): TLSSocket {
  const name = unbracket(host);
  return tlsConnect({ ...tls, socket, ...(isIP(name) === 0 ? { servername: name } : {}) });
}

/**
 * An https agent whose connections go through `proxy` (for `node:https` requests and `ws`
 * websockets): each is a CONNECT tunnel, then TLS with the request's own options.
 */
export class TunnelAgent extends HttpsAgent {
  readonly #proxy: Proxy;
  readonly #timeoutMs: number;

  constructor(proxy: Proxy, opts: AgentOptions & { tunnelTimeoutMs?: number } = {}) {
    super({ keepAlive: false, ...opts });
    this.#proxy = proxy;
    this.#timeoutMs = opts.tunnelTimeoutMs ?? 30_000;
  }

  // Node's Agent calls this with a callback: an undefined return means the socket comes through it.
  // (the request's TLS options - ca, cert, key, checkServerIdentity - are in `options` at run time)
  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    openTunnel(this.#proxy, host, port, { timeoutMs: this.#timeoutMs }).then(
      (socket) => callback?.(null, tlsOverTunnel(socket, host, options as ConnectionOptions)),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        callback?.(e, undefined as unknown as Duplex);
      },
    );
    return undefined;
  }
}
