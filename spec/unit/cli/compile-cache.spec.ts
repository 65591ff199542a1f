/**
 * The lxdkit command's code cache (lib/cli/compile-cache.ts): where it lives, what V8 is handed, when
 * it is written again, and what it refuses to read (links, other users' or shared files, headers
 * that are not its own). Bundles here are a few lines of CommonJS run in this process.
 */
import { utimesSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runProbe } from '../../helpers/probe.js';
import { expect } from 'chai';
import { BUNDLE_HEAD, BUNDLE_TAIL, DATA_ALIGNMENT, cacheDirectory, cacheFile, helpFile, isHelpRequest, pruneCaches, readCache, runBundle, runCommand, STALE_MS, writeCache } from '../../../lib/cli/compile-cache.js';

const ID = '0123456789abcdef';

/** A bundle whose main() reports the command of `globalThis.__compileCacheCommand` (none: no command ran) and counts its runs. */
function bundleSource(marker: string): string {
  // enough functions that V8 has something to cache beyond the top level
  const helpers = Array.from({ length: 20 }, (_, i) => `function f${i}(x) { return x * ${i + 1} + ${marker.length}; }`).join('\n');
  return `${BUNDLE_HEAD}${helpers}
exports.main = async function (opts) {
  let n = 0;
  for (let i = 0; i < 20; i++) n += eval('f' + i)(i);
  globalThis.__compileCacheSpec = { runs: (globalThis.__compileCacheSpec?.runs ?? 0) + 1, n, marker: ${JSON.stringify(marker)}, url: __lxdkit_import_meta_url };
  if (globalThis.__compileCacheCommand !== undefined) opts.onCommand(globalThis.__compileCacheCommand);
  else if (opts.onStdout) { opts.onStdout('Usage: lxdkit '); opts.onStdout(Buffer.from(${JSON.stringify(marker)} + '\\n')); }
  if (globalThis.__compileCacheExit !== undefined) process.exitCode = globalThis.__compileCacheExit;
  // the loader's wind-down, or a V8 flag changed behind its back (what the wind-down must undo)
  if (globalThis.__compileCacheWindDown === 'onDone') opts.onDone();
  else if (globalThis.__compileCacheWindDown === 'flag') require('node:v8').setFlagsFromString('--minor-gc-task-trigger=1000');
};${BUNDLE_TAIL}`;
}

describe('cli: the code cache of the bundled command', () => {
  let dir: string;
  let cacheDir: string;
  let bundle: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdkit-compile-cache-'));
    cacheDir = join(dir, 'cache', 'lxdkit');
    bundle = join(dir, 'lxdkit.cjs');
    delete (globalThis as { __compileCacheSpec?: unknown }).__compileCacheSpec;
    delete (globalThis as { __compileCacheCommand?: unknown }).__compileCacheCommand;
  });
  afterEach(() => {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
    delete (globalThis as { __compileCacheSpec?: unknown }).__compileCacheSpec;
    delete (globalThis as { __compileCacheCommand?: unknown }).__compileCacheCommand;
  });

  const ran = (): { runs: number; n: number; marker: string; url: string } => (globalThis as unknown as { __compileCacheSpec: { runs: number; n: number; marker: string; url: string } }).__compileCacheSpec;
  const run = (command: string | undefined, marker = 'one') => {
    (globalThis as { __compileCacheCommand?: string | undefined }).__compileCacheCommand = command;
    const source = bundleSource(marker);
    writeFileSync(bundle, source);
    return runBundle(bundle, source, ID, cacheDir);
  };

  it('lives in $XDG_CACHE_HOME/lxdkit, else ~/.cache/lxdkit; NODE_DISABLE_COMPILE_CACHE or no absolute home turns it off', () => {
    expect(cacheDirectory({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).to.equal('/x/cache/lxdkit');
    expect(cacheDirectory({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' })).to.equal('/home/u/.cache/lxdkit');
    expect(cacheDirectory({ HOME: '/home/u' })).to.equal('/home/u/.cache/lxdkit');
    expect(cacheDirectory({ HOME: '/home/u', NODE_DISABLE_COMPILE_CACHE: '1' })).to.equal(undefined);
    expect(cacheDirectory({ HOME: 'relative' })).to.equal(undefined);
    expect(cacheDirectory({})).to.equal(undefined);
  });

  it('one file per bundle id, Node version and architecture; an id that is not hexadecimal is refused', () => {
    expect(cacheFile('/c', ID)).to.equal(`/c/cli-${ID}-${process.version}-${process.arch}.v8cache`);
    expect(() => cacheFile('/c', '../../etc/passwd')).to.throw(TypeError, /hexadecimal/);
  });

  it('the first run writes the cache (0600 in a 0700 directory); the next is handed it by V8, and writes nothing', async () => {
    const first = await run('status');
    expect(first).to.deep.equal({ cache: 'none', command: 'status', wrote: true });
    expect(ran()).to.include({ runs: 1, n: Array.from({ length: 20 }, (_, i) => i * (i + 1) + 3).reduce((a, b) => a + b), marker: 'one' });
    expect(ran().url).to.equal(`file://${bundle}`);
    const file = cacheFile(cacheDir, ID);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(cacheDir).mode & 0o777).to.equal(0o700);
    expect(readCache(file, 'v8').commands).to.deep.equal(['status']);
    const before = statSync(file);
    const second = await run('status');
    expect(second).to.deep.equal({ cache: 'accepted', command: 'status', wrote: false });
    expect(ran().runs).to.equal(2);
    expect(statSync(file).mtimeMs).to.equal(before.mtimeMs);
    expect(readdirSync(cacheDir)).to.deep.equal([`cli-${ID}-${process.version}-${process.arch}.v8cache`]);
  });

  it('a command the cache has not seen writes it again with that command added; help is what ran when no command did', async () => {
    await run('status');
    expect(await run('image list')).to.deep.equal({ cache: 'accepted', command: 'image list', wrote: true });
    expect(await run(undefined)).to.deep.equal({ cache: 'accepted', command: 'help', wrote: true });
    expect(readCache(cacheFile(cacheDir, ID), 'v8').commands).to.deep.equal(['status', 'image list', 'help']);
    expect(await run('image list')).to.deep.equal({ cache: 'accepted', command: 'image list', wrote: false });
  });

  it('a cache V8 refuses (made from another source under the same id) is replaced, and the command runs', async () => {
    await run('status', 'one');
    const r = await run('status', 'a longer marker');
    expect(r).to.deep.equal({ cache: 'rejected', command: 'status', wrote: true });
    expect(ran()).to.include({ runs: 2, marker: 'a longer marker' });
    expect(await run('status', 'a longer marker')).to.deep.equal({ cache: 'accepted', command: 'status', wrote: false });
  });

  it("a damaged cache (V8 would crash on one it does not check) fails V8's own checksum: it is not run, and is replaced", async function () {
    this.timeout(60_000);
    // each run in a fresh process: V8 keeps what a process compiled, and would not look at the cache
    const source = bundleSource('one');
    writeFileSync(bundle, source);
    const probe = async (): Promise<unknown> =>
      JSON.parse(
        await runProbe(
          `import { runBundle } from ${JSON.stringify(join(import.meta.dirname, '..', '..', '..', 'lib', 'cli', 'compile-cache.ts'))};\n` +
            `globalThis.__compileCacheCommand = 'status';\n` +
            `const r = await runBundle(${JSON.stringify(bundle)}, ${JSON.stringify(source)}, ${JSON.stringify(ID)}, ${JSON.stringify(cacheDir)});\n` +
            'console.log(JSON.stringify({ ...r, n: globalThis.__compileCacheSpec.n }));',
        ),
      );
    const n = Array.from({ length: 20 }, (_, i) => i * (i + 1) + 3).reduce((a, b) => a + b);
    expect(await probe()).to.deep.equal({ cache: 'none', command: 'status', wrote: true, n });
    expect(await probe()).to.deep.equal({ cache: 'accepted', command: 'status', wrote: false, n });
    const file = cacheFile(cacheDir, ID);
    const bytes = readFileSync(file);
    const nl = bytes.indexOf(10);
    // the header stays, the payload changes past V8's own header: what crashed V8 before it checked
    writeFileSync(file, Buffer.from(bytes.map((b, i) => (i > nl + 64 ? b ^ 0x5a : b))), { mode: 0o600 });
    // refused, the bundle compiled from its source (the right result), and the cache made again
    expect(await probe()).to.deep.equal({ cache: 'rejected', command: 'status', wrote: true, n });
    expect(await probe()).to.deep.equal({ cache: 'accepted', command: 'status', wrote: false, n });
  });

  it('a command that winds down (onDone) leaves a cache the next process accepts; a V8 flag left changed would not', async function () {
    this.timeout(60_000);
    const source = bundleSource('one');
    writeFileSync(bundle, source);
    const probe = async (windDown: 'onDone' | 'flag' | undefined): Promise<unknown> =>
      JSON.parse(
        await runProbe(
          `import { runBundle } from ${JSON.stringify(join(import.meta.dirname, '..', '..', '..', 'lib', 'cli', 'compile-cache.ts'))};\n` +
            `globalThis.__compileCacheCommand = 'status';\n` +
            `globalThis.__compileCacheWindDown = ${JSON.stringify(windDown)};\n` +
            `console.log(JSON.stringify(await runBundle(${JSON.stringify(bundle)}, ${JSON.stringify(source)}, ${JSON.stringify(ID)}, ${JSON.stringify(cacheDir)})));`,
        ),
      );
    expect(await probe('onDone')).to.deep.equal({ cache: 'none', command: 'status', wrote: true });
    expect(await probe('onDone')).to.deep.equal({ cache: 'accepted', command: 'status', wrote: false });
    // the control: V8 checks a cache against its flags, and one made under a changed flag is refused
    rmSync(cacheDir, { recursive: true, force: true });
    expect(await probe('flag')).to.deep.equal({ cache: 'none', command: 'status', wrote: true });
    expect(await probe(undefined)).to.deep.equal({ cache: 'rejected', command: 'status', wrote: true });
  });

  it("V8's data starts at a multiple of 8 bytes into the file and into the buffer it is read into (V8 copies data that is not)", async () => {
    await run('status');
    const file = cacheFile(cacheDir, ID);
    const bytes = readFileSync(file);
    expect((bytes.indexOf(10) + 1) % DATA_ALIGNMENT).to.equal(0);
    const { data } = readCache(file, 'v8');
    expect(data!.byteOffset % DATA_ALIGNMENT).to.equal(0);
    expect(data!.length).to.equal(bytes.length - bytes.indexOf(10) - 1);
  });

  it('no cache directory: the command runs and nothing is written', async () => {
    (globalThis as { __compileCacheCommand?: string }).__compileCacheCommand = 'status';
    const source = bundleSource('one');
    writeFileSync(bundle, source);
    expect(await runBundle(bundle, source, ID, undefined)).to.deep.equal({ cache: 'none', command: 'status', wrote: false });
    expect(ran().runs).to.equal(1);
    expect(existsSync(join(dir, 'cache'))).to.equal(false);
  });

  it('a cache that cannot be written costs nothing but speed, and leaves no temporary file', async () => {
    mkdirSync(join(dir, 'cache'));
    writeFileSync(cacheDir, 'a file where the directory would be');
    expect(await run('status')).to.deep.equal({ cache: 'none', command: 'status', wrote: false });
    expect(readdirSync(join(dir, 'cache'))).to.deep.equal(['lxdkit']);
    mkdirSync(join(dir, 'ro'), { mode: 0o500 });
    if (process.getuid?.() !== 0) expect(writeCache(join(dir, 'ro', 'x.v8cache'), Buffer.from('x'), [], 'v8')).to.equal(false);
  });

  it("a write removes other bundles' and Nodes' caches unused for 30 days, and cut-short temporary files; nothing else", async () => {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const old = (Date.now() - STALE_MS - 60_000) / 1000;
    const files = {
      staleOther: `cli-fedcba9876543210-v18.20.0-x64.v8cache`,
      freshOther: `cli-fedcba9876543211-${process.version}-x64.v8cache`,
      staleTmp: `cli-fedcba9876543210-${process.version}-x64.v8cache.4242.tmp`,
      notOurs: 'notes.txt',
      oldNotOurs: 'cli-notes.v8cache.bak',
    };
    for (const f of Object.values(files)) writeFileSync(join(cacheDir, f), 'x');
    for (const f of [files.staleOther, files.staleTmp, files.oldNotOurs]) utimesSync(join(cacheDir, f), old, old);
    mkdirSync(join(cacheDir, `cli-0000000000000000-${process.version}-x64.v8cache`));
    utimesSync(join(cacheDir, `cli-0000000000000000-${process.version}-x64.v8cache`), old, old);
    expect(await run('status')).to.include({ wrote: true });
    expect(readdirSync(cacheDir).sort()).to.deep.equal([files.oldNotOurs, `cli-0000000000000000-${process.version}-x64.v8cache`, `cli-${ID}-${process.version}-${process.arch}.v8cache`, files.freshOther, files.notOurs].sort());
    // its own cache, however old, stays
    const own = cacheFile(cacheDir, ID);
    utimesSync(own, old, old);
    expect(pruneCaches(cacheDir, own)).to.deep.equal([]);
    expect(existsSync(own)).to.equal(true);
  });

  describe('--help, kept once printed', () => {
    const out = (isTTY: boolean, columns?: number) => ({ isTTY, columns, text: '', write(c: string | Uint8Array) { this.text += Buffer.from(c).toString(); return true; } });
    const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
    const command = (args: string[], stdout = out(false)) => {
      writeFileSync(bundle, bundleSource('one'));
      return runCommand(bundle, ID, args, env(), stdout);
    };
    afterEach(() => {
      process.exitCode = undefined;
      delete (globalThis as { __compileCacheExit?: unknown }).__compileCacheExit;
    });

    it('is `--help` or `-h` alone', () => {
      expect(isHelpRequest(['--help'])).to.equal(true);
      expect(isHelpRequest(['-h'])).to.equal(true);
      for (const no of [[], ['help'], ['status', '--help'], ['--help', '--json'], ['--HELP']]) expect(isHelpRequest(no), no.join(' ')).to.equal(false);
    });

    it('the first `--help` runs the bundle and keeps what it printed; the next prints it without running the bundle', async () => {
      const first = await command(['--help']);
      expect(first).to.deep.include({ help: 'kept', command: 'help' });
      expect(ran().runs).to.equal(1);
      const second = out(false);
      expect(await command(['-h'], second)).to.deep.include({ help: 'printed' });
      expect(ran().runs).to.equal(1);
      expect(second.text).to.equal('Usage: lxdkit one\n');
      expect(statSync(helpFile(cacheDir, ID, undefined)).mode & 0o777).to.equal(0o600);
    });

    it('a kept help whose reader went away ends as the command does (141 for a closed pipe, else 1), without a stack', async () => {
      await command(['--help']);
      for (const [code, exit] of [['EPIPE', 141], ['ENOSPC', 1]] as const) {
        let onError: ((err: NodeJS.ErrnoException) => void) | undefined;
        const stdout = { ...out(false), once: (_event: 'error', listener: (err: NodeJS.ErrnoException) => void) => (onError = listener) };
        expect(await command(['--help'], stdout)).to.deep.include({ help: 'printed' });
        onError!(Object.assign(new Error('write failed'), { code }));
        expect(process.exitCode, code).to.equal(exit);
        process.exitCode = undefined;
      }
    });

    it('one file per terminal width (commander wraps to it), and one for pipes', async () => {
      expect(helpFile('/c', ID, undefined)).to.equal(`/c/help-${ID}-pipe.txt`);
      expect(helpFile('/c', ID, 120)).to.equal(`/c/help-${ID}-120.txt`);
      expect(helpFile('/c', ID, -1)).to.equal(`/c/help-${ID}-pipe.txt`);
      expect(() => helpFile('/c', 'x/../y', 80)).to.throw(TypeError);
      await command(['--help'], out(true, 120));
      expect(await command(['--help'], out(false))).to.deep.include({ help: 'kept' });
      expect(ran().runs).to.equal(2);
      expect(await command(['--help'], out(true, 120))).to.deep.include({ help: 'printed' });
      expect(await command(['--help'], out(true, 80))).to.deep.include({ help: 'kept' });
      expect(ran().runs).to.equal(3);
    });

    it('nothing is kept when the run failed, when a command ran, or for other arguments', async () => {
      (globalThis as { __compileCacheExit?: number }).__compileCacheExit = 2;
      expect(await command(['--help'])).to.deep.include({ help: 'none' });
      expect(existsSync(helpFile(cacheDir, ID, undefined))).to.equal(false);
      delete (globalThis as { __compileCacheExit?: unknown }).__compileCacheExit;
      process.exitCode = undefined;
      (globalThis as { __compileCacheCommand?: string }).__compileCacheCommand = 'status';
      expect(await command(['--help'])).to.deep.include({ help: 'none', command: 'status' });
      expect(await command(['status'])).to.deep.include({ help: 'none' });
      expect(readdirSync(cacheDir).filter((f) => f.startsWith('help-'))).to.deep.equal([]);
    });

    it('a kept help that is damaged, or not the user\'s own, is not printed: the bundle runs', async () => {
      await command(['--help']);
      const file = helpFile(cacheDir, ID, undefined);
      const bytes = readFileSync(file);
      writeFileSync(file, Buffer.concat([bytes.subarray(0, -2), Buffer.from('X\n')]), { mode: 0o600 });
      const shown = out(false);
      expect(await command(['--help'], shown)).to.deep.include({ help: 'kept' });
      expect(ran().runs).to.equal(2);
      chmodSync(file, 0o666);
      expect(await command(['--help'])).to.deep.include({ help: 'kept' });
      expect(ran().runs).to.equal(3);
    });
  });

  it('a bundle without main(), or not wrapped as the build wraps it, is named as the problem', async () => {
    for (const source of [`${BUNDLE_HEAD}exports.other = 1;${BUNDLE_TAIL}`, 'exports.main = async function () {};', `${BUNDLE_HEAD}exports.main = async function () {};`]) {
      writeFileSync(bundle, source);
      let err: unknown;
      await runBundle(bundle, source, ID, cacheDir).catch((e: unknown) => (err = e));
      expect(String(err), source).to.match(/is not the lxdkit command's bundle .*reinstall lxdkit/);
    }
    expect(existsSync(cacheFile(cacheDir, ID))).to.equal(false);
  });

  describe('what it refuses to read (each reads as no cache)', () => {
    let file: string;
    beforeEach(async () => {
      await run('status');
      file = cacheFile(cacheDir, ID);
      expect(readCache(file, 'v8').data).to.be.instanceOf(Buffer);
    });

    it('a symbolic link in place of the file', () => {
      const real = join(dir, 'elsewhere.v8cache');
      writeFileSync(real, readFileSync(file), { mode: 0o600 });
      rmSync(file);
      symlinkSync(real, file);
      expect(readCache(file, 'v8')).to.deep.equal({ data: undefined, commands: [] });
    });

    it('a file others can write, or a directory others can write', () => {
      chmodSync(file, 0o620);
      expect(readCache(file, 'v8').data).to.equal(undefined);
      chmodSync(file, 0o602);
      expect(readCache(file, 'v8').data).to.equal(undefined);
      chmodSync(file, 0o600);
      chmodSync(cacheDir, 0o770);
      expect(readCache(file, 'v8').data).to.equal(undefined);
      chmodSync(cacheDir, 0o700);
      expect(readCache(file, 'v8').data).to.be.instanceOf(Buffer);
    });

    it('a header that is not its own: another tag, a command that is not words, no newline, not JSON', () => {
      const data = readCache(file, 'v8').data!;
      const withHeader = (h: string): Buffer => Buffer.concat([Buffer.from(h), data]);
      const bad = [
        // a kept --help's tag (checked with its SHA-256) on a code cache, and the tags before
        `lxdkit-compile-cache 2 {"commands":["status"]}\n`,
        `lxdkit-compile-cache 1 {"commands":["status"]}\n`,
        `lxdkit-compile-cache 3 {"commands":["../x"]}\n`,
        `lxdkit-compile-cache 3 {"commands":[1]}\n`,
        `lxdkit-compile-cache 3 {"commands":"status"}\n`,
        `lxdkit-compile-cache 3 {}\n`,
        `lxdkit-compile-cache 3 ["status"]\n`,
        `lxdkit-compile-cache 3 null\n`,
        `lxdkit-compile-cache 3 {"commands":["status"]}`,
        `lxdkit-compile-cache 3 {commands:["status"]}\n`,
      ];
      for (const h of bad) {
        writeFileSync(file, withHeader(h), { mode: 0o600 });
        expect(readCache(file, 'v8'), h).to.deep.equal({ data: undefined, commands: [] });
      }
      writeFileSync(file, withHeader(`lxdkit-compile-cache 3 {"commands":["status","image alias list"]}\n`), { mode: 0o600 });
      expect(readCache(file, 'v8').commands).to.deep.equal(['status', 'image alias list']);
    });

    it("a kept text (a --help) is checked with the SHA-256 in its header: a wrong or missing sum, or a code cache's tag, reads as none", () => {
      const text = Buffer.from('Usage: lxdkit [options] [command]\n');
      expect(writeCache(file, text, [], 'sha256')).to.equal(true);
      expect(readCache(file, 'sha256').data?.toString()).to.equal(text.toString());
      // a code cache is not a kept text, nor the other way round
      expect(readCache(file, 'v8').data).to.equal(undefined);
      const sum = createHash('sha256').update(text).digest('hex');
      const other = createHash('sha256').update('other').digest('hex');
      const withHeader = (h: string): Buffer => Buffer.concat([Buffer.from(h), text]);
      for (const h of [
        `lxdkit-compile-cache 2 {"sha256":"${other}","commands":[]}\n`,
        `lxdkit-compile-cache 2 {"sha256":7,"commands":[]}\n`,
        `lxdkit-compile-cache 2 {"commands":[]}\n`,
        `lxdkit-compile-cache 3 {"sha256":"${sum}","commands":[]}\n`,
      ]) {
        writeFileSync(file, withHeader(h), { mode: 0o600 });
        expect(readCache(file, 'sha256'), h).to.deep.equal({ data: undefined, commands: [] });
      }
      writeFileSync(file, withHeader(`lxdkit-compile-cache 2 {"sha256":"${sum}","commands":[]}\n`), { mode: 0o600 });
      expect(readCache(file, 'sha256').data?.toString()).to.equal(text.toString());
    });

    it('a missing file', () => {
      rmSync(file);
      expect(readCache(file, 'v8')).to.deep.equal({ data: undefined, commands: [] });
    });
  });
});
