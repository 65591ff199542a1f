/**
 * Certificates, trust tokens, warnings, the host's resources and metrics (docs/client.md,
 * "Certificates, warnings and metrics"); the same code on LXD and on Incus. Needs a running LXD and a
 * running Incus (scripts/provision-host.sh starts both). A trust token needs the server to listen on
 * the network: when `core.https_address` is empty, the example listens on 127.0.0.1 at a free port
 * for the run and empties it again afterwards; the token it makes is revoked.
 * Run: npx tsx docs/examples/certificates-warnings-metrics.ts
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { LxdClient } from 'lxdkit';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const run = randomBytes(3).toString('hex');

for (const client of [new LxdClient({ server: 'lxd' }), new LxdClient({ server: 'incus' })]) {
  const name = `lxdkit-example-trust-${run}`;
  const { value: server } = await client.server.get();
  const listening = typeof server.config['core.https_address'] === 'string' && server.config['core.https_address'] !== '';
  if (!listening) await client.server.patch({ config: { 'core.https_address': `127.0.0.1:${await freePort()}` } });
  try {
    const { cpu, memory } = await client.server.resources();
    console.log(`${await client.serverKind()}: ${cpu.total} CPUs, ${Math.round(memory.total / 2 ** 20)} MiB of memory`);

    for (const w of await client.warnings.list()) console.log(`warning [${w.severity}] ${w.type} (${w.status}, ${w.count} times)`);

    const { samples, types } = await client.metrics.get();
    const cpuSeconds = samples.filter((s) => s.name.endsWith('_cpu_seconds_total')).reduce((sum, s) => sum + s.value, 0);
    console.log(`${samples.length} samples of ${Object.keys(types).length} metrics; instances used ${cpuSeconds.toFixed(1)} s of CPU`);

    // A trust token for a new client, which redeems it over HTTPS with certificates.add({ token }).
    const token = await client.certificates.createToken(name);
    console.log(`a token for "${token.name}" (${token.token.length} characters), to reach ${token.addresses.join(', ')}`);
    await client.certificates.revokeToken(name);
  } finally {
    await client.certificates.revokeToken(name).catch(() => {});
    if (!listening) await client.server.patch({ config: { 'core.https_address': '' } });
    await client.close();
  }
}
