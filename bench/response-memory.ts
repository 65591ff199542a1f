/**
 * What a large response costs the client's process, with no daemon: a fake server on a temporary
 * unix socket answers one body, a child process reads it with a fresh LxdClient, and the child's
 * peak RSS (getrusage's maxrss) is reported against an idle client's. For docs/client.md, "Memory".
 *
 *   npx tsx bench/response-memory.ts            the default shapes and sizes
 *   npx tsx bench/response-memory.ts 8 64       sizes in MiB
 *
 * Shapes: `names` is a directory listing (`files.list`) of 16-character names; `objects` a generic
 * call (`client.query`) whose metadata is an array of empty objects, about the costliest JSON per
 * byte; `string` one long string, about the cheapest.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Shape = 'idle' | 'names' | 'objects' | 'string';

function body(shape: Shape, mib: number): Buffer {
  const target = mib * 1024 * 1024;
  const head = '{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":';
  if (shape === 'string') return Buffer.from(`${head}"${'x'.repeat(Math.max(0, target - head.length - 3))}"}`);
  const item = shape === 'names' ? (i: number) => `"${i.toString(36).padStart(16, 'n')}"` : () => '{}';
  const parts: string[] = [];
  let size = head.length + 2;
  for (let i = 0; size < target; i++) {
    const s = item(i);
    parts.push(s);
    size += s.length + 1;
  }
  return Buffer.from(`${head}[${parts.join(',')}]}`);
}

const CHILD = `
const { LxdClient } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'lib', 'lxd', 'index.ts'))});
const [socketPath, shape] = process.argv.slice(-2);
const lxd = new LxdClient({ socketPath, useEvents: false, timeoutMs: 600000 });
await lxd.server.get();
const before = process.resourceUsage().maxRSS;
let n = 0;
if (shape === 'names') n = (await lxd.instances.files.list('c1', '/big')).length;
else if (shape !== 'idle') {
  const r = await lxd.query('GET', '/1.0/big');
  n = Array.isArray(r.metadata) ? r.metadata.length : String(r.metadata).length;
}
console.log(JSON.stringify({ before: before / 1024, peak: process.resourceUsage().maxRSS / 1024, n }));
await lxd.close();
`;

async function measure(shape: Shape, mib: number): Promise<{ peak: number; before: number; n: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lxdkit-resp-mem-'));
  const socketPath = join(dir, 'lxd.socket');
  const payload = shape === 'idle' ? Buffer.alloc(0) : body(shape, mib);
  const info = '{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":{"config":{},"api_extensions":[],"api_status":"stable","api_version":"1.0","auth":"trusted","public":false,"auth_methods":["unix"],"environment":{"server":"lxd","server_version":"5.0.2"}}}';
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/1.0') {
      res.end(info);
      return;
    }
    res.setHeader('x-lxd-type', 'directory');
    res.setHeader('x-lxd-uid', '0');
    res.setHeader('x-lxd-gid', '0');
    res.setHeader('x-lxd-mode', '0755');
    res.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      // asynchronously: the server answers from this process
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, '--', socketPath, shape], { cwd: join(import.meta.dirname, '..'), maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    return JSON.parse(out.trim().split('\n').pop()!) as { peak: number; before: number; n: number };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const idle = await measure('idle', 0);
console.log(`node ${process.version}; idle client after one request: peak RSS ${idle.peak.toFixed(0)} MiB`);
console.log('| shape | body MiB | items | peak RSS MiB | over idle |');
console.log('|---|---|---|---|---|');
for (const shape of ['names', 'objects', 'string'] as const) {
  for (const mib of sizes.length ? sizes : [8, 32, 64]) {
    const r = await measure(shape, mib);
    console.log(`| ${shape} | ${mib} | ${r.n} | ${r.peak.toFixed(0)} | ${(r.peak - idle.peak).toFixed(0)} |`);
  }
}
