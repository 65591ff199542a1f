/**
 * `npm run build`, second step: the lxdkit command. tsc has written dist/ (the library, as the
 * package exports it); this replaces dist/cli/ with
 * - dist/cli/lxdkit.cjs: lib/cli/entry.ts and everything it uses, one CommonJS file bundled by
 *   esbuild (the command starts without resolving and linking hundreds of modules). The commands
 *   stay lazily evaluated inside it: `lxdkit --help` runs none of their code.
 * - dist/cli/main.cjs (package.json `bin`): lib/cli/bin.ts, which compiles that bundle with V8's
 *   code cache of an earlier run (lib/cli/compile-cache.ts), and knows the bundle's content id.
 *   CommonJS: Node starts it without its ES module loader.
 * - dist/cli/main.js: `import './main.cjs'`, for `node dist/cli/main.js`.
 * - dist/cli/THIRD-PARTY-LICENSES.txt: the licences of the packages bundled into it.
 */
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_HEAD, BUNDLE_TAIL } from '../lib/cli/compile-cache.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist', 'cli');
const OUT = join(OUT_DIR, 'main.js');
const BUNDLE = join(OUT_DIR, 'lxdkit.cjs');
const BIN = join(OUT_DIR, 'main.cjs');

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

/**
 * A plugin that rewrites one file of a bundled package. `patch` gives the new code, or undefined when
 * the file is not as it expects, which fails the build: a package that changed is looked at again,
 * not bundled half-patched.
 */
function patchPlugin(name: string, filter: RegExp, patch: (code: string, path: string) => string | undefined): Plugin {
  return {
    name,
    setup(b) {
      b.onLoad({ filter }, async (args) => {
        const contents = patch(await readFile(args.path, 'utf8'), args.path);
        if (contents === undefined) throw new Error(`${args.path} is not as scripts/bundle-cli.ts expects; update its ${name} plugin`);
        return { contents, loader: 'js' };
      });
    },
  };
}

/** JavaScript for a Node built-in loaded on first use: `own` answers its properties until then. */
function lazyBuiltin(module: string, own: Record<string, unknown> = {}): string {
  return `new Proxy(${JSON.stringify(own)}, { get: (t, k) => (Object.hasOwn(t, k) ? t[k] : require(${JSON.stringify(module)})[k]) })`;
}

/**
 * undici's HTTP/2 client loads Node's `http2` (and with it `tls`) when undici loads, for its
 * constants; lxdkit speaks HTTP/1.1 to LXD and Incus, and loading them costs every command ~10 ms.
 * In the bundle, `http2` is an object that has those constants (their values taken from this Node
 * at build time: they are protocol constants) and loads the real module on first use of anything
 * else.
 */
const lazyHttp2 = patchPlugin('lazy-http2', /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/, (code) => {
  const load = /let http2\n(try \{\n\s*http2 = require\('node:http2'\)\n\} catch \{\n(?:\s*\/\/.*\n)?\s*http2 = \{ constants: \{\} \}\n\})/.exec(code);
  const names = /const \{\n\s*constants: \{\n([\s\S]*?)\n\s*\}\n\} = http2\n/.exec(code)?.[1]?.split(',').map((n) => n.trim()).filter(Boolean);
  if (!load || !names?.length || code.split("require('node:http2')").length !== 2) return undefined;
  const all = http2.constants as Record<string, unknown>;
  const constants = Object.fromEntries(names.map((n) => {
    if (!(n in all)) throw new Error(`node:http2 has no constant ${n}`);
    return [n, all[n]];
  }));
  return code.replace(load[1]!, `http2 = ${lazyBuiltin('node:http2', { constants })}`);
});

/**
 * undici reads Node's `http` when it loads, for one class it compares a stream's with and for the
 * default largest header size of a new client. In the bundle the class is read when used, and the
 * size is Node's default unless an option of Node's changes it: `http` (a lazy built-in above)
 * loads only when something needs it (~3 ms).
 */
const lazyHttpInUndiciUtil = patchPlugin('lazy-http-in-undici-util', /[\\/]undici[\\/]lib[\\/]core[\\/]util\.js$/, (code) => {
  const line = "const { IncomingMessage } = require('node:http')";
  const use = 'Object.getPrototypeOf(stream).constructor === IncomingMessage';
  if (code.split(line).length !== 2 || code.split(use).length !== 2 || code.split('IncomingMessage').length !== 3) return undefined;
  return code.replace(line, "const nodeHttp = require('node:http')").replace(use, 'Object.getPrototypeOf(stream).constructor === nodeHttp.IncomingMessage');
});
/** Node's largest header size when no option changes it (the same in every Node from 14 on). */
const NODE_MAX_HEADER_SIZE = 16 * 1024;
const lazyHttpInUndiciClient = patchPlugin('lazy-http-in-undici-client', /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/, (code) => {
  const eager = /const getDefaultNodeMaxHeaderSize = http &&\n\s*http\.maxHeaderSize &&\n\s*Number\.isInteger\(http\.maxHeaderSize\) &&\n\s*http\.maxHeaderSize > 0\n\s*\? \(\) => http\.maxHeaderSize\n\s*: \(\) => \{ (throw new InvalidArgumentError\('[^']*'\)) \}\n/.exec(code);
  if (!eager) return undefined;
  // Node's default (16 KiB) unless its option that changes it is given, on the command line or in
  // NODE_OPTIONS: then, as undici does, Node's http module says
  return code.replace(eager[0], `const getDefaultNodeMaxHeaderSize = () => {\n  if (![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--max-http-header-size'))) return ${NODE_MAX_HEADER_SIZE}\n  if (http && http.maxHeaderSize && Number.isInteger(http.maxHeaderSize) && http.maxHeaderSize > 0) return http.maxHeaderSize\n  ${eager[1]}\n}\n`);
});

/**
 * undici's HTTP/1 parser (llhttp) is WebAssembly that undici keeps as base64 in two JavaScript files
 * (with and without SIMD): 141 KiB of the bundle's source that every command would read, and that
 * V8's code cache would hold again. In the bundle, each file reads its WebAssembly from beside the
 * bundle (dist/cli/llhttp.wasm and llhttp_simd.wasm, 53 KiB each, written by the build) when undici
 * first makes a parser.
 */
const llhttpWasm = new Map<string, Buffer>();
const llhttpFromFile = patchPlugin('llhttp-from-file', /[\\/]undici[\\/]lib[\\/]llhttp[\\/]llhttp(?:_simd)?-wasm\.js$/, (code, path) => {
  const base64 = /^const wasmBase64 = '([A-Za-z0-9+/=]+)'$/m.exec(code)?.[1];
  const getter = /Object\.defineProperty\(module, 'exports', \{\n\s*get: \(\) => \{\n\s*return wasmBuffer\n\s*\? wasmBuffer\n\s*: \(wasmBuffer = Buffer\.from\(wasmBase64, 'base64'\)\)\n\s*\}\n\}\)/.test(code);
  if (base64 === undefined || !getter) return undefined;
  const file = `${basename(path, '-wasm.js')}.wasm`;
  llhttpWasm.set(file, Buffer.from(base64, 'base64'));
  return `'use strict'\nlet wasmBuffer\nObject.defineProperty(module, 'exports', {\n  get: () => wasmBuffer ?? (wasmBuffer = require('node:fs').readFileSync(require('node:path').join(__dirname, ${JSON.stringify(file)})))\n})\n`;
});

/**
 * zod's `z.locales` holds the error messages of some forty languages (a quarter of the bundle: zod
 * cannot leave them out, as they hang off the `z` namespace). lxdkit never sets a locale, and zod's
 * default is English, which it imports on its own; in the bundle, `z.locales` has English only.
 */
const englishOnlyZod = patchPlugin('english-only-zod', /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/, (code) => {
  const english = 'export { default as en } from "./en.js";';
  return code.includes(english) ? `${english}\n` : undefined;
});

/**
 * transport.ts loads undici's Agent from its file, and falls back on undici's entry (which brings
 * fetch, websockets, caches and mocks) if that file ever moves. In the bundle the file is there, and
 * the fallback is the same Agent from the same file: ~200 KiB of undici that no command runs stay out.
 */
const agentOnlyUndici: Plugin = {
  name: 'agent-only-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) => {
      if (!/[\\/]lib[\\/]lxd[\\/]transport\.ts$/.test(args.importer)) return undefined;
      return { path: 'undici-agent', namespace: 'agent-only-undici' };
    });
    b.onLoad({ filter: /.*/, namespace: 'agent-only-undici' }, () => ({
      contents: "export { default as Agent } from 'undici/lib/dispatcher/agent.js';\n",
      resolveDir: ROOT,
      loader: 'js',
    }));
  },
};

/**
 * CommonJS source of a module that stands in for `id` (a built-in or a bundled package) until it is
 * used: `lazy` (an expression: `{}`, or a function that calls the module) with a getter for each of
 * `names` that loads `id` on the first one read; `onLoad` (JavaScript, `real` the module) runs once,
 * as it loads.
 */
function standIn(id: string, names: readonly string[], lazy: string, onLoad = ''): string {
  return `let real;\nconst load = () => {\n  if (real === undefined) {\n    real = require(${JSON.stringify(id)});\n    ${onLoad}\n  }\n  return real;\n};\nconst lazy = ${lazy};\nfor (const k of ${JSON.stringify(names)}) Object.defineProperty(lazy, k, { get: () => load()[k], enumerable: true, configurable: true });\nmodule.exports = lazy;\n`;
}

/**
 * Node built-ins that a command may never use, and that cost a command to load (`crypto` ~5 ms,
 * `http` ~3 ms, `fs/promises` ~2 ms, `assert` ~1.5 ms...): in the bundle, each is a stand-in that
 * has the module's properties (their names taken from this Node at build time) as getters, and
 * loads the module on the first one read (commander's `child_process`, for subcommands that are
 * programs of their own, which lxdkit has none of, so loads only if one ran). A stand-in for a module
 * that is a function (`assert`) is a function that calls it. Code that reads a property when it loads (`const { X } = require(...)`)
 * still loads the module then; the patches below defer the few of those a command meets first.
 */
const LAZY_BUILTINS = ['assert', 'child_process', 'crypto', 'fs/promises', 'http', 'https', 'os', 'perf_hooks', 'readline', 'tls', 'v8', 'worker_threads', 'zlib'];

async function lazyBuiltinModule(name: string, only?: readonly string[]): Promise<string> {
  const real: unknown = (await import(`node:${name}`)).default;
  if ((typeof real !== 'object' && typeof real !== 'function') || real === null) throw new Error(`node:${name} is not an object`);
  const all = Object.keys(real).filter((k) => k !== 'default');
  for (const k of only ?? []) if (!all.includes(k)) throw new Error(`node:${name} has no export ${k}`);
  const keys = only ?? all;
  // assert(value, message) with a truthy value does nothing: it loads `assert` only to fail
  const pass = name === 'assert' ? 'if (!new.target && a.length > 0 && a[0]) return undefined; ' : '';
  const target = typeof real === 'function'
    ? `function (...a) { ${pass}return new.target ? Reflect.construct(load(), a, new.target) : load().apply(this, a); }`
    : '{}';
  return standIn(`node:${name}`, keys, target);
}

const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(?:node:)?(${LAZY_BUILTINS.map((n) => n.replace('/', '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => {
      // the stand-in's own require is of the real module
      if (args.namespace === 'lazy-builtin' || args.namespace === 'lazy-builtin-named') return { path: args.path, external: true };
      // an import of lib/ gets a stand-in with only the names lib/ imports: esbuild copies every
      // name of a CommonJS module into each module that imports it (crypto: ~60 getters, 15 times)
      const named = args.kind === 'import-statement' && /[\\/]lib[\\/]/.test(args.importer) && !/[\\/]node_modules[\\/]/.test(args.importer);
      return { path: filter.exec(args.path)![1]!, namespace: named ? 'lazy-builtin-named' : 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => ({ contents: await lazyBuiltinModule(args.path), loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin-named' }, async (args) => ({ contents: await lazyBuiltinModule(args.path, await namesImportedByLib([`node:${args.path}`, args.path])), loader: 'js' }));
  },
};

/**
 * zod and yaml, loaded on first use. A command that parses no YAML (most) never loads yaml, and a
 * command's requests go out before zod loads: zod loads when the first answer is checked (~10 ms of
 * zod's own set-up and the schemas, done while the server works on the other requests). In the
 * bundle, lxdkit's imports of them are a stand-in with a getter for each name lxdkit imports (the
 * build reads them from lib/; a default or namespace import fails the build), which loads the package
 * on the first one read.
 */
const LAZY_PACKAGES = ['zod', 'yaml'];
/**
 * What is done to a package as it loads. zod compiles a parser for each object schema the first time
 * it parses with it (its "JIT"): a long-lived program wins it back, a command that parses a few
 * answers does not (`status`: ~12 ms). The command's zod runs without it (`z.config`, before any
 * schema is made: the schemas are built on first use).
 */
const ON_LOAD: Record<string, string> = { zod: 'real.z.config({ jitless: true });' };

/**
 * The names lib/ imports from any of `specifiers` (`import { a, b as c } from '…'`; type imports left
 * out), or undefined when a file imports one of them whole (a default or namespace import).
 */
async function namesImportedByLib(specifiers: readonly string[]): Promise<string[] | undefined> {
  const names = new Set<string>();
  let whole = false;
  const from = specifiers.map((x) => x.replace(/[/.]/g, (c) => `\\${c}`)).join('|');
  for (const code of await libSources()) {
    for (const m of code.matchAll(new RegExp(`^import\\s+(type\\s+)?([^;]*?)\\s+from\\s+'(?:${from})';`, 'gm'))) {
      if (m[1]) continue;
      const spec = /^\{([^}]*)\}$/.exec(m[2]!.trim());
      if (!spec) {
        whole = true;
        continue;
      }
      for (const part of spec[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
        if (part.startsWith('type ')) continue;
        names.add(part.split(/\s+as\s+/)[0]!);
      }
    }
  }
  return whole ? undefined : [...names].sort();
}

let sources: Promise<string[]> | undefined;
/** The text of every .ts file under lib/, read once for all the stand-ins of a build. */
function libSources(): Promise<string[]> {
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(path)));
      else if (e.name.endsWith('.ts')) out.push(await readFile(path, 'utf8'));
    }
    return out;
  };
  sources ??= walk(join(ROOT, 'lib'));
  return sources;
}

async function importedNames(pkg: string): Promise<string[]> {
  const names = await namesImportedByLib([pkg]);
  if (names === undefined) throw new Error(`lib/ imports ${pkg} whole (a default or namespace import): only named imports can be loaded lazily (scripts/bundle-cli.ts)`);
  const real = (await import(pkg)) as Record<string, unknown>;
  for (const n of names) if (!(n in real)) throw new Error(`${pkg} has no export ${n}`);
  return names;
}

const lazyPackages: Plugin = {
  name: 'lazy-packages',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
    b.onResolve({ filter }, async (args) => {
      if ((args.pluginData as { real?: boolean } | undefined)?.real) return undefined;
      // the stand-in's own require is of the package, as an import resolves it (ES modules: one copy,
      // the one the other plugins patch, not the CommonJS build a require would pick)
      if (args.namespace === 'lazy-package') {
        const real = await b.resolve(args.path, { kind: 'import-statement', resolveDir: ROOT, pluginData: { real: true } });
        return real.errors.length ? { errors: real.errors } : { path: real.path };
      }
      if (!/[\\/]lib[\\/]/.test(args.importer) || /[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      return { path: args.path, namespace: 'lazy-package' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, async (args) => {
      const names = await importedNames(args.path);
      return { contents: standIn(args.path, names, '{}', ON_LOAD[args.path]), loader: 'js', resolveDir: ROOT };
    });
  },
};

async function main(): Promise<void> {
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });
  // the command's code: one CommonJS file, which main.js compiles with V8's code cache
  const result = await build({
    entryPoints: [join(ROOT, 'lib', 'cli', 'entry.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    metafile: true,
    // a smaller file reads and compiles faster. Names are not kept (esbuild's keepNames names each
    // function and class as it is made: ~2,800 calls, ~14 ms of a command): nothing in the command
    // reads a function's name, errors carry an explicit \`name\`, and lxdkit's error brands
    // (LxdkitError.is) come from class names that are all top-level, so unique in the bundle too.
    // LXDKIT_READABLE_BUNDLE=1 keeps names and lines, so that a CPU profile says which module is which
    ...(process.env['LXDKIT_READABLE_BUNDLE'] ? { minifySyntax: true, keepNames: true } : { minify: true }),
    legalComments: 'none',
    // main.js runs the bundle in a function that is given the bundle's own URL
    define: { 'import.meta.url': '__lxdkit_import_meta_url', LXDKIT_VERSION: JSON.stringify(((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0')) },
    // ws's optional native helpers, which it loads in a try/catch when they are installed
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [lazyPackages, lazyBuiltins, lazyHttpInUndiciUtil, lazyHttpInUndiciClient, llhttpFromFile, lazyHttp2, englishOnlyZod, agentOnlyUndici],
    logLevel: 'warning',
  });
  if ([...llhttpWasm.keys()].sort().join(' ') !== 'llhttp.wasm llhttp_simd.wasm') throw new Error(`undici's llhttp was not bundled as expected: ${[...llhttpWasm.keys()].join(', ') || 'none of it'}`);
  for (const [file, wasm] of llhttpWasm) {
    if (!wasm.subarray(0, 4).equals(Buffer.from('\0asm', 'latin1'))) throw new Error(`undici's ${file} is not WebAssembly`);
    await writeFile(join(OUT_DIR, file), wasm);
  }
  const code = await readFile(BUNDLE, 'utf8');
  // a dynamic import() left in the bundle (esbuild keeps one of a Node built-in) would need Node's
  // module loader inside vm.Script: every import must be bundled or static
  // (a readable bundle keeps comments, where JSDoc types say import('...'): it is not checked)
  const left = process.env['LXDKIT_READABLE_BUNDLE'] ? null : /(?<![.\w$])import\(\s*["'`][^"'`]*["'`]\s*\)/.exec(code);
  if (left) throw new Error(`${relative(ROOT, BUNDLE)} still has a dynamic ${left[0]}; import it statically`);
  // main.js reads it as latin1 (no UTF-8 decoding): esbuild writes ASCII, escaping anything else
  // (a readable bundle keeps comments, some of them not ASCII: read as latin1, they stay comments)
  if (!process.env['LXDKIT_READABLE_BUNDLE'] && /[^\x00-\x7f]/.test(code)) throw new Error(`${relative(ROOT, BUNDLE)} is not ASCII; main.js reads it as latin1`);
  // the file is handed to V8 as read: wrapped here in the function main.cjs calls (compile-cache.ts)
  const wrapped = `${BUNDLE_HEAD}${code}${BUNDLE_TAIL}`;
  await writeFile(BUNDLE, wrapped);
  const bundleId = createHash('sha256').update(wrapped).digest('hex').slice(0, 16);
  // the command itself: a few KiB of CommonJS that compile the bundle (lib/cli/bin.ts)
  await build({
    entryPoints: [join(ROOT, 'lib', 'cli', 'bin.ts')],
    outfile: BIN,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    define: { LXDKIT_BUNDLE_ID: JSON.stringify(bundleId) },
    // `crypto` (for a kept --help's checksum) loads only on the path that reads one
    plugins: [lazyBuiltins],
    logLevel: 'warning',
  });
  await chmod(BIN, 0o755);
  // `node dist/cli/main.js`, as the docs and older scripts run it: the same command
  await writeFile(OUT, "#!/usr/bin/env node\n// the lxdkit command is main.cjs (package.json bin); this runs it for `node dist/cli/main.js`\nimport './main.cjs';\n");
  await chmod(OUT, 0o755);
  const inputs = Object.keys(result.metafile.inputs);
  const sections: string[] = [];
  for (const [name, dir] of [...packagesOf(inputs)].sort(([a], [b]) => a.localeCompare(b))) {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: string; license?: string };
    const text = await licenceText(dir);
    sections.push(`${name} ${pkg.version ?? ''} (${pkg.license ?? 'see the package'})\n\n${text ?? `No licence file in the package; its package.json says: ${pkg.license ?? 'nothing'}.`}`);
  }
  await writeFile(join(OUT_DIR, 'THIRD-PARTY-LICENSES.txt'), `dist/cli/lxdkit.cjs bundles these packages, whose licences follow.\n\n${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`);
  const loader = (await readFile(BIN)).length;
  process.stderr.write(`bundled ${relative(ROOT, BUNDLE)}: ${(code.length / 1024).toFixed(0)} KiB from ${inputs.length} files (id ${bundleId}); ${relative(ROOT, BIN)}: ${(loader / 1024).toFixed(1)} KiB\n`);
}

await main();
