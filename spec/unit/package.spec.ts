/**
 * The package as users get it: `npm pack` of the built tree, installed into a temporary folder with
 * its dependencies taken from this checkout's node_modules (no registry, no network). It holds a
 * LICENSE and no source map without its source, its files import nothing from outside the package,
 * a strict NodeNext TypeScript consumer type-checks every docs example against it, and an esbuild
 * bundle of a program that uses it runs from a folder that has nothing else.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ensureBuilt } from '../helpers/cli.js';

const run = promisify(execFile);
/** The tree packed: this checkout, or (to check the spec against another build) LXDKIT_PACKAGE_ROOT. */
const ROOT = process.env['LXDKIT_PACKAGE_ROOT'] ?? join(import.meta.dirname, '..', '..');
const OWN_MODULES = join(import.meta.dirname, '..', '..', 'node_modules');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Links `name` from this checkout's node_modules into `modules` (scoped names too). */
function link(modules: string, name: string): void {
  const to = join(modules, name);
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  symlinkSync(join(OWN_MODULES, name), to, 'dir');
}

describe('the packed package', function () {
  this.timeout(300_000);
  let work: string;
  /** The unpacked tarball, as node_modules/lxdkit of the consumer. */
  let pkgDir: string;
  let consumer: string;
  let files: string[];

  before(async function () {
    if (!process.env['LXDKIT_PACKAGE_ROOT']) ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'lxdkit-package-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 << 20 });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    consumer = join(work, 'consumer');
    pkgDir = join(consumer, 'node_modules', 'lxdkit');
    mkdirSync(pkgDir, { recursive: true });
    await run('tar', ['-xzf', join(work, packed!.filename), '-C', pkgDir, '--strip-components=1']);
    files = filesUnder(pkgDir).map((f) => relative(pkgDir, f));
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    // its dependencies, and what the examples and a TypeScript consumer use besides
    for (const dep of [...Object.keys(manifest.dependencies ?? {}), '@types/node', 'undici-types', 'pino']) link(join(consumer, 'node_modules'), dep);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the Apache-2.0 LICENSE, and says where the project lives', function () {
    expect(files).to.include('LICENSE');
    const text = readFileSync(join(pkgDir, 'LICENSE'), 'utf8');
    expect(text).to.match(/Apache License\s+Version 2\.0, January 2004/);
    expect(text).to.contain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).to.contain('END OF TERMS AND CONDITIONS');
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['license']).to.equal('Apache-2.0');
    expect(manifest['repository']).to.deep.include({ type: 'git' });
    expect(manifest['homepage']).to.be.a('string').and.match(/^https:\/\//);
    expect(manifest['bugs']).to.have.property('url').that.matches(/^https:\/\//);
    // require() of an ES module works without a flag from Node 20.19 on
    expect(manifest['engines']).to.deep.equal({ node: '>=20.19' });
  });

  it('has no source map whose sources are not in the package', function () {
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(join(pkgDir, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(files, `${map} points to ${source}`).to.include(join(dirname(map), source));
    }
  });

  it('its files import nothing from outside the package (no ../../lib)', function () {
    for (const f of files.filter((f) => /\.(ts|js|mjs|md)$/.test(f))) {
      const text = readFileSync(join(pkgDir, f), 'utf8');
      expect(text, f).to.not.match(/from ['"](\.\.\/)+lib\//);
      expect(text, f).to.not.match(/import\(['"](\.\.\/)+lib\//);
    }
    expect(files.filter((f) => f.startsWith('docs/examples/')), 'the examples are shipped').to.not.be.empty;
  });

  it('a strict NodeNext consumer type-checks every docs example against it (skipLibCheck off)', async function () {
    const examples = join(consumer, 'examples');
    cpSync(join(pkgDir, 'docs', 'examples'), examples, { recursive: true });
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        lib: ['es2023'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      include: ['examples', 'public-types.ts'],
    }));
    // what the public signatures need, usable as a strict consumer writes it
    writeFileSync(join(consumer, 'public-types.ts'), `
import { LxdClient, type CodeOf, type CreateOptions, type CreationProgress, type EventSubscriptionEvents, type QueryValue } from 'lxdkit';
// @ts-expect-error internal: not exported
import type { Transport } from 'lxdkit';
// @ts-expect-error internal: not exported
import type { OperationContext } from 'lxdkit';
// @ts-expect-error internal: not exported
import type { Sockets } from 'lxdkit';
// @ts-expect-error internal: not exported
import type { SessionSetup } from 'lxdkit';
export async function use(client: LxdClient, deep: boolean): Promise<void> {
  const recursion: 0 | 1 = deep ? 1 : 0;
  const profiles = await client.profiles.list({ recursion });
  const instances = await client.instances.list({ recursion });
  const { value, etag } = await client.profiles.get('default');
  await client.profiles.update('default', { config: value.config, devices: value.devices, description: value.description }, { etag });
  const progress: CreationProgress = { stage: 'image', text: 'downloading' };
  const options: CreateOptions = { onProgress: (p) => void p.stage };
  const query: Record<string, QueryValue> = { recursion: 1, filter: undefined };
  const onEvent: EventSubscriptionEvents['event'] | undefined = undefined;
  const code: CodeOf<{ a: 'A'; b: 'B' }> = 'A';
  void [profiles, instances, progress, options, query, onEvent, code];
}
`);
    const tsc = join(OWN_MODULES, 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer, maxBuffer: 16 << 20 }).then(
      () => '',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    expect(result, 'tsc errors').to.equal('');
  });

  it('an esbuild bundle of a program that uses it runs from an empty folder', async function () {
    const app = join(consumer, 'app.mjs');
    writeFileSync(app, `
import { LxdClient, LxdConnectionError, cloudInitUserData, domainXml } from 'lxdkit';
const client = new LxdClient({ socketPath: '/nonexistent/lxdkit-bundle-spec.sock' });
const out = {};
try {
  await client.server.get();
} catch (err) {
  out.request = { typed: err instanceof LxdConnectionError, code: err.code };
}
const events = client.events.subscribe({ reconnect: false });
events.on('error', () => {});
try {
  await events.ready;
} catch (err) {
  out.websocket = { name: err.name, code: err.code };
}
events.close();
out.xml = domainXml({ name: 'g', domainType: 'kvm', memory: 512, cpuCores: 1, arch: 'amd64', disks: [{ driver: 'qcow2', source: '/a' }, { driver: 'raw', source: '/b' }], interfaces: [] }).split('\\n')[0];
out.yaml = cloudInitUserData({ machineId: '0', userData: 'runcmd: [ls]' }).split('\\n')[0];
await client.close();
console.log(JSON.stringify(out));
`);
    const bundleDir = join(work, 'bundle');
    const esbuild = (await import('esbuild')) as typeof import('esbuild');
    await esbuild.build({
      entryPoints: [app],
      absWorkingDir: consumer,
      outfile: join(bundleDir, 'app.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // what esbuild's documentation gives for CommonJS packages in an ES module bundle
      banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
      logLevel: 'silent',
    });
    const empty = join(work, 'empty');
    mkdirSync(empty);
    cpSync(join(bundleDir, 'app.mjs'), join(empty, 'app.mjs'));
    expect(readdirSync(empty)).to.deep.equal(['app.mjs']);
    const { stdout } = await run(process.execPath, [join(empty, 'app.mjs')], { cwd: empty, env: { ...process.env, NODE_PATH: '' } });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out['request']).to.deep.equal({ typed: true, code: 'LXD_ERR_CONNECTION' });
    expect(out['websocket']).to.have.property('code').that.is.a('string');
    expect(out['xml']).to.equal('<domain type="kvm">');
    expect(out['yaml']).to.equal('#cloud-config');
  });
});
