/**
 * A forward proxy for specs, on 127.0.0.1: `CONNECT host:port` opens a tunnel (names in `hosts` are
 * mapped to an address first, so a spec can reach a local server under a name that does not resolve
 * and is not loopback), and a plain `GET http://…` is forwarded. It records what it was asked.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Each request line it received (`CONNECT lxd.test:8443 HTTP/1.1`, `GET http://… HTTP/1.1`). */
  requests: string[];
  /** The `Proxy-Authorization` header of each request ('' when absent). */
  authorizations: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(opts: { hosts?: Record<string, string>; status?: number } = {}): Promise<ConnectProxy> {
  const requests: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const requestLine = lines[0] ?? '';
      requests.push(requestLine);
      authorizations.push(lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, '') ?? '');
      if (opts.status !== undefined) {
        client.end(`HTTP/1.1 ${opts.status} Refused\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      const [method, target] = requestLine.split(' ');
      let host: string;
      let port: number;
      if (method === 'CONNECT') {
        const i = target!.lastIndexOf(':');
        host = target!.slice(0, i).replace(/^\[|\]$/g, '');
        port = Number(target!.slice(i + 1));
      } else {
        const u = new URL(target!);
        host = u.hostname;
        port = Number(u.port || 80);
      }
      const upstream = connect({ host: opts.hosts?.[host] ?? host, port });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.once('connect', () => {
        if (method === 'CONNECT') client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        else upstream.write(head.subarray(0, end + 4));
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
