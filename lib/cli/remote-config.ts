/**
 * The saved remotes: `$XDG_CONFIG_HOME/lxdkit/` (default `~/.config/lxdkit/`) holds `config.yml`
 * (the default remote, and each remote's URL, project and server certificate), `servercerts/NAME.crt`,
 * and the client certificate (`client.crt`, `client.key`), made on first use. Every file read here is
 * treated as hostile: its size is capped, it must be a regular file, the YAML is parsed without custom
 * tags and with few aliases, names are checked, and certificates must parse.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, constants, fstatSync, linkSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { CliError, ExitCode } from './exit-codes.js';
import { makeSelfSignedCertificate } from './self-signed.js';
import { LOCAL_REMOTE, validateRemoteName } from './remote-ref.js';

export { LOCAL_REMOTE, validateRemoteName };

/** The largest config.yml read. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The largest certificate or key file read. */
export const MAX_PEM_BYTES = 64 * 1024;
/** The most remotes one file may hold. */
export const MAX_REMOTES = 500;

/** A project's name as the servers take it: no `/`, space, `?`, `#`, `&` or control character; at most 63. */
const PROJECT = /^[^/\s?#&\u0000-\u001f\u007f]{1,63}$/;

/** Checks a project's name before any I/O (`--project` of `remote add`, `project:` of an imported remote). */
export function validateProjectName(name: string, what = '--project'): string {
  if (!PROJECT.test(name)) throw new CliError(ExitCode.INVALID_INPUT, `${what} ${JSON.stringify(name.slice(0, 80))} is not a project name (no "/", spaces, "?", "#" or "&"; at most 63 characters)`);
  return name;
}

/** A saved remote. */
export interface RemoteEntry {
  /** `https://host:port`. */
  url: string;
  /** The project of every call, unless `--project` says otherwise. */
  project?: string;
  /** The file in `servercerts/` that holds the server's pinned certificate. */
  serverCert?: string;
  /** A client certificate imported with the remote (`clientcerts/<name>.crt|.key`), instead of lxdkit's own. */
  clientCert?: string;
}

export interface RemotesConfig {
  defaultRemote: string;
  remotes: Record<string, RemoteEntry>;
}

// built on first use, as lxdkit's other schemas are (lib/lazy-schema.ts): most commands read no config
const FileName = lazySchema(() => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$/, 'must be a plain file name'));

const EntrySchema = lazySchema(() =>
  z.object({
    url: z.string().min(1).max(2048),
    project: z.string().regex(PROJECT, 'is not a project name').optional(),
    'server-cert': FileName.optional(),
    'client-cert': FileName.optional(),
  }),
);

const FileSchema = lazySchema(() =>
  z.object({
    'default-remote': z.string().optional(),
    remotes: z.record(z.string(), z.unknown()).nullish(),
  }),
);

/** The configuration directory: `$XDG_CONFIG_HOME/lxdkit` (an absolute path, as XDG says), else `$HOME/.config/lxdkit`. */
export function configDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'lxdkit');
  const home = env['HOME'];
  if (!home || !isAbsolute(home)) throw new CliError(ExitCode.INVALID_INPUT, 'cannot find the configuration directory: set XDG_CONFIG_HOME or HOME to an absolute path');
  return join(home, '.config', 'lxdkit');
}

/**
 * Reads a small file that may be hostile: a regular file of at most `max` bytes, as UTF-8.
 * Undefined when it does not exist.
 */
export function readCapped(path: string, max: number, what: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(ExitCode.INVALID_INPUT, `${what}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} is not a regular file`);
    if (st.size > max) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} is ${st.size} bytes, more than the ${max} read`);
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    // never more than max + 1 bytes, whatever the file says its size is (a file can grow, /proc lies)
    for (let r = -1; r !== 0 && n <= max; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} grew past the ${max} bytes read`);
    const text = buf.subarray(0, n).toString('utf8');
    if (text.includes('\0')) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} is not a text file`);
    return text;
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses YAML that may be hostile: the core schema (no custom tags), few aliases, unique keys; mappings
 * are read as Maps and turned into null-prototype objects, refusing a `__proto__` key (which would be
 * dropped or set a prototype) and keys that are not strings.
 */
export function parseHostileYaml(text: string, what: string): unknown {
  let doc: unknown;
  try {
    doc = parse(text, { schema: 'core', maxAliasCount: 50, uniqueKeys: true, prettyErrors: false, customTags: [], mapAsMap: true, merge: false });
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${what}: not valid YAML: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`, { cause: err });
  }
  return plain(doc, what, '', 0);
}

function plain(value: unknown, what: string, path: string, depth: number): unknown {
  if (depth > 32) throw new CliError(ExitCode.INVALID_INPUT, `${what}: nested too deep`);
  if (value instanceof Map) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of value) {
      if (typeof k !== 'string' && typeof k !== 'number') throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path || 'the top level'} has a key that is not a string`);
      const key = String(k);
      if (key === '__proto__') throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path ? `${path}.` : ''}__proto__ is not allowed as a key`);
      out[key] = plain(v, what, path ? `${path}.${key}` : key, depth + 1);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => plain(v, what, `${path}[${i}]`, depth + 1));
  return value;
}

/** Checks that `pem` holds one PEM certificate; returns it. */
export function checkPemCertificate(pem: string, what: string): string {
  if (!/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(pem)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: not a PEM certificate`);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${what}: not a PEM certificate`, { cause: err });
  }
  return pem;
}

/** The SHA-256 fingerprint of a PEM certificate, lower-case hex. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** Reads the remotes of `config.yml` in `dir` (none saved: only `local`). */
export function loadRemotesConfig(dir: string): RemotesConfig {
  const file = join(dir, 'config.yml');
  const text = readCapped(file, MAX_CONFIG_BYTES, 'config');
  return text === undefined ? { defaultRemote: LOCAL_REMOTE, remotes: {} } : parseRemotesConfig(text, file);
}

/** Parses and checks the text of a `config.yml`. */
export function parseRemotesConfig(text: string, file: string): RemotesConfig {
  const raw = parseHostileYaml(text, file) ?? {};
  const top = FileSchema.safeParse(raw);
  if (!top.success) throw new CliError(ExitCode.INVALID_INPUT, `${file}: ${top.error.issues[0]?.path.join('.') || 'the file'}: ${top.error.issues[0]?.message ?? 'unexpected content'}`);
  const entries = Object.entries(top.data.remotes ?? {});
  if (entries.length > MAX_REMOTES) throw new CliError(ExitCode.INVALID_INPUT, `${file}: ${entries.length} remotes, more than the ${MAX_REMOTES} read`);
  const remotes: Record<string, RemoteEntry> = Object.create(null) as Record<string, RemoteEntry>;
  for (const [name, value] of entries) {
    validateRemoteName(name, `${file}: remote`);
    if (name === LOCAL_REMOTE) throw new CliError(ExitCode.INVALID_INPUT, `${file}: "local" is the unix socket and cannot be saved as a remote`);
    const e = EntrySchema.safeParse(value);
    if (!e.success) throw new CliError(ExitCode.INVALID_INPUT, `${file}: remote "${name}": ${e.error.issues[0]?.path.join('.') || 'entry'} ${e.error.issues[0]?.message ?? 'is not valid'}`);
    if (!/^https:\/\/[^\s@]+$/.test(e.data.url)) throw new CliError(ExitCode.INVALID_INPUT, `${file}: remote "${name}": url must be an https:// URL without a user name or password`);
    const entry: RemoteEntry = { url: e.data.url };
    if (e.data.project !== undefined) entry.project = e.data.project;
    if (e.data['server-cert'] !== undefined) entry.serverCert = e.data['server-cert'];
    if (e.data['client-cert'] !== undefined) entry.clientCert = e.data['client-cert'];
    remotes[name] = entry;
  }
  const defaultRemote = top.data['default-remote'] ?? LOCAL_REMOTE;
  if (defaultRemote !== LOCAL_REMOTE) {
    validateRemoteName(defaultRemote, `${file}: default-remote`);
    if (!(defaultRemote in remotes)) throw new CliError(ExitCode.INVALID_INPUT, `${file}: default-remote "${defaultRemote}" is not one of its remotes; run "lxdkit remote switch local"`);
  }
  return { defaultRemote, remotes };
}

/** Writes `data` to `path` through a temporary file and a rename (never half written), with `mode`. */
export function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

/** Writes `config.yml` (mode 0600), making the directory (0700) when needed. */
export function saveRemotesConfig(dir: string, cfg: RemotesConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const remotes: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(cfg.remotes).sort()) {
    const r = cfg.remotes[name]!;
    remotes[name] = { url: r.url, ...(r.project ? { project: r.project } : {}), ...(r.serverCert ? { 'server-cert': r.serverCert } : {}), ...(r.clientCert ? { 'client-cert': r.clientCert } : {}) };
  }
  writeAtomic(join(dir, 'config.yml'), stringify({ 'default-remote': cfg.defaultRemote, remotes }), 0o600);
}

/** The pinned certificate of a saved remote (undefined when none was saved). */
export function readServerCert(dir: string, name: string, entry: RemoteEntry): string | undefined {
  if (!entry.serverCert) return undefined;
  const file = join(dir, 'servercerts', entry.serverCert);
  const pem = readCapped(file, MAX_PEM_BYTES, `remote "${name}"`);
  if (pem === undefined) throw new CliError(ExitCode.INVALID_INPUT, `remote "${name}": its server certificate ${file} is missing; add the remote again`);
  return checkPemCertificate(pem, file);
}

/** Saves a server certificate as `servercerts/NAME.crt`; returns the file name. */
export function saveServerCert(dir: string, name: string, pem: string): string {
  mkdirSync(join(dir, 'servercerts'), { recursive: true, mode: 0o700 });
  const file = `${name}.crt`;
  writeAtomic(join(dir, 'servercerts', file), pem, 0o644);
  return file;
}

export interface ClientCertificate {
  cert: string;
  key: string;
}

function readKey(path: string, what: string): string | undefined {
  const st = (() => {
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        return fstatSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  })();
  if (st && st.isFile() && (st.mode & 0o077) !== 0) {
    throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} is open to others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): run "chmod 600 ${path}"`);
  }
  const key = readCapped(path, MAX_PEM_BYTES, what);
  if (key !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${path} is not a PEM private key`);
  return key;
}

/** Reads a certificate and key pair (`<base>.crt`, `<base>.key`); undefined when neither exists. */
export function readCertPair(dir: string, base: string, what: string): ClientCertificate | undefined {
  const certPath = join(dir, `${base}.crt`);
  const keyPath = join(dir, `${base}.key`);
  const cert = readCapped(certPath, MAX_PEM_BYTES, what);
  const key = readKey(keyPath, what);
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new CliError(ExitCode.INVALID_INPUT, `${what}: ${cert === undefined ? certPath : keyPath} is missing beside ${cert === undefined ? keyPath : certPath}; remove the other or restore it`);
  return { cert: checkPemCertificate(cert, certPath), key };
}

/**
 * Writes a certificate pair as `<base>.crt` (0644) and `<base>.key` (0600), each through a temporary
 * file; with `exclusive`, an existing one is never overwritten (a link, which fails when the name is
 * taken): then false, and the existing pair stays.
 */
export function writeCertPair(dir: string, base: string, pair: ClientCertificate, exclusive: boolean): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!exclusive) {
    writeAtomic(join(dir, `${base}.key`), pair.key, 0o600);
    writeAtomic(join(dir, `${base}.crt`), pair.cert, 0o644);
    return true;
  }
  const put = (name: string, data: string, mode: number): boolean => {
    const tmp = join(dir, `.${name}.${process.pid}.${Date.now().toString(36)}.tmp`);
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    try {
      linkSync(tmp, join(dir, name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      unlinkSync(tmp);
    }
  };
  // the key first: a certificate is only ever beside its key
  if (!put(`${base}.key`, pair.key, 0o600)) return false;
  if (!put(`${base}.crt`, pair.cert, 0o644)) {
    throw new CliError(ExitCode.CONFLICT, `${join(dir, `${base}.crt`)} appeared beside a new key: remove both ${base}.crt and ${base}.key, and run again`);
  }
  return true;
}

/** lxdkit's own client certificate (`client.crt`, `client.key` in `dir`), made on first use. */
export function ensureClientCertificate(dir: string): ClientCertificate & { created: boolean } {
  const existing = readCertPair(dir, 'client', 'client certificate');
  if (existing) return { ...existing, created: false };
  let user = 'lxdkit';
  try {
    user = userInfo().username;
  } catch {
    // no user name: keep lxdkit
  }
  const pair = makeSelfSignedCertificate(`${user}@${hostname()}`);
  if (writeCertPair(dir, 'client', pair, true)) return { ...pair, created: true };
  // another lxdkit made one at the same moment: use it
  const theirs = readCertPair(dir, 'client', 'client certificate');
  if (!theirs) throw new CliError(ExitCode.CONFLICT, `${join(dir, 'client.key')} is being written by another lxdkit: run again`);
  return { ...theirs, created: false };
}

/** The client certificate a saved remote uses: an imported one (`clientcerts/`), else lxdkit's own. */
export function clientCertificateFor(dir: string, name: string, entry: RemoteEntry): ClientCertificate {
  if (entry.clientCert) {
    const pair = readCertPair(join(dir, 'clientcerts'), entry.clientCert, `remote "${name}": client certificate`);
    if (!pair) throw new CliError(ExitCode.INVALID_INPUT, `remote "${name}": its client certificate clientcerts/${entry.clientCert}.crt is missing; import the remote again`);
    return pair;
  }
  return ensureClientCertificate(dir);
}
