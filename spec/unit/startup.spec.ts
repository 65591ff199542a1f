/**
 * What loading lxdkit costs: the package root and `lxdkit --help` load no dependency a call has not
 * asked for (HTTP, websockets, the logger), so scripts and shells start fast. YAML loads with the
 * root: the cloud-init functions that use it are synchronous.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ensureBuilt, lxdkit } from '../helpers/cli.js';
import { runProbe } from '../helpers/probe.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The npm packages a fresh process has loaded after running `code` (an ES module). */
async function loadedAfter(code: string): Promise<string[]> {
  const stdout = await runProbe(`${code}
const { createRequire } = await import('node:module');
const cache = createRequire(import.meta.url).cache;
const pkgs = new Set(Object.keys(cache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k)?.[1]).filter(Boolean));
console.log(JSON.stringify([...pkgs].sort()));`);
  return JSON.parse(stdout.split('\n').pop() ?? '[]') as string[];
}

describe('start-up cost', function () {
  this.timeout(120_000);

  it("import('lxdkit') loads neither undici, ws nor pino until a call needs them", async function () {
    const loaded = await loadedAfter("await import('./lib/index.ts');");
    for (const heavy of ['undici', 'ws', 'pino', 'xmlbuilder2']) expect(loaded, heavy).not.to.include(heavy);
  });

  it('they load on first use: undici with a request, ws with a websocket', async function () {
    const loaded = await loadedAfter(`
const lxdkit = await import('./lib/index.ts');
lxdkit.domainXml({ name: 'g', domainType: 'kvm', memory: 512, cpuCores: 1, arch: 'amd64', disks: [{ driver: 'qcow2', source: '/a' }, { driver: 'raw', source: '/b' }], interfaces: [] });
const client = new lxdkit.LxdClient({ socketPath: '/nonexistent' });
await client.server.get().catch(() => {});
const sub = client.events.subscribe({ reconnect: false });
sub.on('error', () => {});
await sub.ready.catch(() => {});`);
    expect(loaded).to.include.members(['undici', 'ws']);
  });

  it('lxdkit --help loads neither the client nor its dependencies', async function () {
    const loaded = await loadedAfter(`
const { runCli } = await import('./lib/cli/program.ts');
const out = { write: () => true };
await runCli(['--help'], { stdout: out, stderr: out, env: {}, cwd: '/' });`);
    for (const heavy of ['undici', 'zod', 'ws', 'pino', 'yaml', 'xmlbuilder2']) expect(loaded, heavy).not.to.include(heavy);
  });

  it('the built command keeps its code cache and its --help in $XDG_CACHE_HOME/lxdkit, and prints the same with them as without', async function () {
    ensureBuilt();
    const cache = mkdtempSync(join(tmpdir(), 'lxdkit-startup-cache-'));
    try {
      const env = { XDG_CACHE_HOME: cache };
      const off = { NODE_DISABLE_COMPILE_CACHE: '1' };
      const plain = await lxdkit(['--help'], ROOT, off);
      expect(plain.code).to.equal(0);
      expect(plain.stdout).to.match(/^Usage: lxdkit \[options\] \[command\]/);
      for (let i = 0; i < 3; i++) expect(await lxdkit(['--help'], ROOT, env), `--help, run ${i + 1}`).to.deep.equal(plain);
      // `node dist/cli/main.js`, as the docs run it, is the same command
      const viaMainJs = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), '--help'], { env: { ...process.env, ...env } }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      expect(viaMainJs).to.equal(plain.stdout);
      const completion = await lxdkit(['completion', 'bash'], ROOT, off);
      expect(completion.stdout).to.include('_lxdkit_complete');
      for (let i = 0; i < 2; i++) expect(await lxdkit(['completion', 'bash'], ROOT, env)).to.deep.equal(completion);
      const files = readdirSync(join(cache, 'lxdkit')).sort();
      expect(files).to.have.length(2);
      expect(files[0]).to.match(/^cli-[0-9a-f]{16}-v[0-9.]+-[a-z0-9]+\.v8cache$/);
      expect(files[1]).to.match(/^help-[0-9a-f]{16}-pipe\.txt$/);
      const header = readFileSync(join(cache, 'lxdkit', files[0]!), 'latin1').split('\n', 1)[0]!;
      expect(JSON.parse(header.replace(/^lxdkit-compile-cache 3 /, '')) as unknown).to.have.property('commands').that.deep.equals(['help', 'completion']);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
