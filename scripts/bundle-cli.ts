/**
 * `npm run build`, second step: the lxdkit command as one file. tsc has written dist/ (the library,
 * as the package exports it); this replaces dist/cli/ with dist/cli/main.js, lib/cli/main.ts and
 * everything it uses bundled by esbuild (the command starts without resolving and linking dozens of
 * modules), and dist/cli/THIRD-PARTY-LICENSES.txt, the licences of the packages bundled into it.
 * The commands stay lazily evaluated inside the bundle: `lxdkit --help` runs none of their code.
 */
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist', 'cli');
const OUT = join(OUT_DIR, 'main.js');

/** The package directory (under node_modules) of each bundled input, with its name. */
function packagesOf(inputs: readonly string[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (m) dirs.set(m[2]!, join(ROOT, m[1]!));
  }
  return dirs;
}

async function licenceText(dir: string): Promise<string | undefined> {
  const names = await readdir(dir);
  const file = names.find((n) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(n));
  return file ? (await readFile(join(dir, file), 'utf8')).trim() : undefined;
}

async function main(): Promise<void> {
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'lib', 'cli', 'main.ts')],
    outdir: OUT_DIR,
    entryNames: '[name]',
    // what a command needs is in chunks that load when it runs: --help compiles only the command line
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    // smaller chunks compile faster; class names stay (error names are set explicitly anyway)
    minify: true,
    keepNames: true,
    legalComments: 'none',
    // the bundled CommonJS packages require Node's built-ins
    banner: { js: 'import { createRequire as __lxdkitRequire } from "node:module"; const require = __lxdkitRequire(import.meta.url);' },
    // ws's optional native helpers, which it loads in a try/catch when they are installed
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
  await chmod(OUT, 0o755);
  const inputs = Object.keys(result.metafile.inputs);
  const sections: string[] = [];
  for (const [name, dir] of [...packagesOf(inputs)].sort(([a], [b]) => a.localeCompare(b))) {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: string; license?: string };
    const text = await licenceText(dir);
    sections.push(`${name} ${pkg.version ?? ''} (${pkg.license ?? 'see the package'})\n\n${text ?? `No licence file in the package; its package.json says: ${pkg.license ?? 'nothing'}.`}`);
  }
  await writeFile(join(OUT_DIR, 'THIRD-PARTY-LICENSES.txt'), `dist/cli/main.js bundles these packages, whose licences follow.\n\n${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`);
  const outputs = Object.entries(result.metafile.outputs);
  const main = outputs.find(([f]) => f === relative(ROOT, OUT))?.[1].bytes ?? 0;
  const all = outputs.reduce((n, [, o]) => n + o.bytes, 0);
  process.stderr.write(`bundled ${relative(ROOT, OUT)}: ${(main / 1024).toFixed(0)} KiB, and ${outputs.length - 1} chunks (${(all / 1024).toFixed(0)} KiB in all) from ${inputs.length} files\n`);
}

await main();
