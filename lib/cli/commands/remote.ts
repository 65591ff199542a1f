/**
 * `lxdkit remote …`: saved remotes (add with a trust token or an accepted certificate, list, remove,
 * rename, switch, get-default) and `remote import lxc|incus`. The files are described in
 * lib/cli/remote-config.ts and docs/cli.md.
 */
import { renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { connect } from 'node:tls';
import { LxdClient } from '../../lxd/client.js';
import { decodeCertificateToken, type DecodedCertificateToken } from '../../lxd/resources/certificates.js';
import { checkRemoteUrl } from '../../lxd/remote.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { renderTable } from '../output.js';
import {
  checkPemCertificate,
  ensureClientCertificate,
  fingerprintOf,
  LOCAL_REMOTE,
  loadRemotesConfig,
  MAX_CONFIG_BYTES,
  MAX_PEM_BYTES,
  parseHostileYaml,
  readCapped,
  readCertPair,
  saveRemotesConfig,
  saveServerCert,
  validateProjectName,
  validateRemoteName,
  writeCertPair,
  type RemoteEntry,
} from '../remote-config.js';

const DEFAULT_TIMEOUT_MS = 15_000;

export interface RemoteAddOptions {
  token?: string;
  acceptCertificate?: boolean;
  project?: string;
}

function timeoutMs(ctx: CliContext): number {
  return ctx.opts.timeout !== undefined ? ctx.opts.timeout * 1000 : DEFAULT_TIMEOUT_MS;
}

/**
 * The certificate a TLS server presents at `url` (not verified: it is what the user is asked to
 * accept, or what a trust token's fingerprint is checked against).
 */
export async function fetchServerCertificate(url: URL, opts: { signal: AbortSignal; timeoutMs: number }): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 8443 : Number(url.port);
  const servername = /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
  return new Promise<string>((resolve, reject) => {
    const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
    const socket = connect({ host, port, ...(servername ? { servername } : {}), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const done = (err: Error | undefined, pem?: string): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(pem!);
    };
    const onAbort = (): void => {
      const timedOut = !opts.signal.aborted;
      done(timedOut ? new CliError(ExitCode.TIMEOUT, `${url.origin}: no TLS answer within ${opts.timeoutMs / 1000} s`) : Object.assign(new Error('aborted'), { name: 'AbortError' }));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      if (!cert) return done(new CliError(ExitCode.UNAVAILABLE, `${url.origin} presented no certificate`));
      done(undefined, cert.toString());
    });
    socket.once('error', (err) => done(new CliError(ExitCode.UNAVAILABLE, `cannot reach ${url.origin}: ${err.message}`, { cause: err })));
  });
}

/** True when a `remote add` argument is a URL (or a host) rather than a trust token: base64 never holds `:` or `.`. */
function looksLikeUrl(arg: string): boolean {
  return /[:.]/.test(arg);
}

/**
 * The server a token names: each of its addresses is tried in turn, and the first whose certificate
 * has the token's fingerprint is the one. A certificate that does not match is never used (exit 6 when
 * no address matched); an address that cannot be reached is passed over.
 */
async function serverOfToken(ctx: CliContext, token: DecodedCertificateToken): Promise<{ u: URL; serverCert: string }> {
  const candidates: URL[] = [];
  for (const a of token.addresses) {
    try {
      candidates.push(checkRemoteUrl(`https://${a}`, 'token address'));
    } catch {
      // an address that is no host:port is skipped
    }
  }
  if (candidates.length === 0) throw new CliError(ExitCode.INVALID_INPUT, 'the trust token names no address of the server: give its URL too (lxdkit remote add NAME https://HOST:PORT --token TOKEN)');
  const failures: string[] = [];
  let mismatch = false;
  for (const u of candidates) {
    let serverCert: string;
    try {
      serverCert = await fetchServerCertificate(u, { signal: ctx.signal, timeoutMs: timeoutMs(ctx) });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failures.push(`${u.host}: ${(err as Error).message}`);
      continue;
    }
    const fingerprint = fingerprintOf(serverCert);
    if (fingerprint === token.fingerprint) return { u, serverCert };
    mismatch = true;
    failures.push(`${u.host}: a certificate with fingerprint ${fingerprint}, not the token's ${token.fingerprint}`);
  }
  throw new CliError(
    ExitCode.UNAVAILABLE,
    `no address of the trust token reached the server that made it${mismatch ? ' (a certificate other than the token names: another server, or someone in between)' : ''}; nothing was saved: ${failures.join('; ')}`,
  );
}

/** `remote add NAME URL [--token T] [--accept-certificate] [--project P]`, or `remote add NAME TOKEN` (the token's addresses). */
export async function remoteAdd(ctx: CliContext, name: string, url: string, o: RemoteAddOptions): Promise<void> {
  // everything the command line says is checked before any I/O
  validateRemoteName(name);
  if (name === LOCAL_REMOTE) throw new CliError(ExitCode.INVALID_INPUT, '"local" is the unix socket: give the remote another name');
  const byToken = !looksLikeUrl(url);
  if (byToken && o.token !== undefined) throw new CliError(ExitCode.USAGE, 'give either a URL with --token, or the token alone (remote add NAME TOKEN), not two tokens');
  if (byToken && o.acceptCertificate) throw new CliError(ExitCode.USAGE, '--accept-certificate: a trust token names the certificate to accept; give a URL to accept one without a token');
  let u = byToken ? undefined : checkRemoteUrl(url, 'URL');
  if (u && (u.pathname !== '/' || u.search !== '' || u.hash !== '')) throw new CliError(ExitCode.INVALID_INPUT, `URL "${url}": give only https://HOST[:PORT], without a path`);
  const tokenText = byToken ? url : o.token;
  const token: DecodedCertificateToken | undefined = tokenText !== undefined ? decodeCertificateToken(tokenText) : undefined;
  // --project (the global option) is the remote's project
  const project = o.project ?? ctx.opts.project;
  if (project !== undefined) validateProjectName(project);
  const { dir, config } = ctx.remotes();
  if (name in config.remotes) throw new CliError(ExitCode.CONFLICT, `a remote "${name}" is saved already (${config.remotes[name]!.url}); remove it first, or choose another name`);

  const signal = ctx.signal;
  let serverCert: string;
  if (u) {
    serverCert = await fetchServerCertificate(u, { signal, timeoutMs: timeoutMs(ctx) });
  } else {
    ({ u, serverCert } = await serverOfToken(ctx, token!));
  }
  const fingerprint = fingerprintOf(serverCert);
  if (token) {
    if (token.fingerprint !== fingerprint) {
      throw new CliError(
        ExitCode.UNAVAILABLE,
        `the server at ${u.origin} presents a certificate (fingerprint ${fingerprint}) other than the one the trust token names (${token.fingerprint}): not the server that made the token, or someone in between; nothing was saved`,
      );
    }
  } else if (!o.acceptCertificate) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `the server at ${u.origin} presents a certificate with fingerprint ${fingerprint}; compare it with the server's own ("lxc info" or "incus info", certificate_fingerprint) and run again with --accept-certificate, or give a trust token (--token)`,
    );
  }
  const own = ensureClientCertificate(dir);
  if (own.created) ctx.note(`made the client certificate ${join(dir, 'client.crt')}`);
  const client = new LxdClient({ url: u.origin, tls: { cert: own.cert, key: own.key, serverCert }, logger: ctx.logger, timeoutMs: timeoutMs(ctx) });
  let trusted: boolean;
  try {
    trusted = (await client.server.get({ signal })).value.auth === 'trusted';
    if (!trusted && token) {
      await client.certificates.add({ token: tokenText!.trim() }, { signal });
      trusted = (await client.server.get({ signal })).value.auth === 'trusted';
      if (!trusted) throw new CliError(ExitCode.LXD_FAILED, `${u.origin} took the trust token but still does not trust this client; nothing was saved`);
    }
    if (trusted && project !== undefined && project !== 'default') await client.projects.get(project, { signal });
  } finally {
    await client.close();
  }
  const entry: RemoteEntry = { url: u.origin, serverCert: saveServerCert(dir, name, serverCert) };
  if (project !== undefined) entry.project = project;
  // read again: another lxdkit may have saved something meanwhile
  const now = loadRemotesConfig(dir);
  now.remotes[name] = entry;
  saveRemotesConfig(dir, now);
  if (!trusted) {
    ctx.note(`saved "${name}", but ${u.origin} does not trust this client yet: add ${join(dir, 'client.crt')} to its trust store, or run "lxdkit remote remove ${name}" and add it again with a trust token ("lxc config trust add" or "incus config trust add" on the server)`);
  }
  ctx.print({ name, url: u.origin, project: project ?? null, fingerprint, trusted }, () => `remote "${name}": ${u.origin}${trusted ? '' : ' (not trusted yet)'}\n`);
}

interface RemoteRow {
  name: string;
  url: string;
  project: string | null;
  default: boolean;
}

/** `remote list`. */
export function remoteList(ctx: CliContext): void {
  const { config } = ctx.remotes();
  const rows: RemoteRow[] = [
    { name: LOCAL_REMOTE, url: 'unix://', project: null, default: config.defaultRemote === LOCAL_REMOTE },
    ...Object.keys(config.remotes)
      .sort()
      .map((n) => ({ name: n, url: config.remotes[n]!.url, project: config.remotes[n]!.project ?? null, default: config.defaultRemote === n })),
  ];
  ctx.print(rows, () =>
    renderTable(rows, [
      { header: 'name', value: (r) => (r.default ? `${r.name} (default)` : r.name) },
      { header: 'url', value: (r) => r.url },
      { header: 'project', value: (r) => r.project ?? '' },
    ]),
  );
}

function requireSaved(ctx: CliContext, name: string, verb: string): void {
  validateRemoteName(name);
  if (name === LOCAL_REMOTE) throw new CliError(ExitCode.INVALID_INPUT, `"local" is the unix socket: it cannot be ${verb}`);
  if (!(name in ctx.remotes().config.remotes)) throw new CliError(ExitCode.NOT_FOUND, `no remote "${name}" is saved ("lxdkit remote list" shows them)`);
}

/** `remote remove NAME`: never the default remote. */
export function remoteRemove(ctx: CliContext, name: string): void {
  requireSaved(ctx, name, 'removed');
  const { dir, config } = ctx.remotes();
  if (config.defaultRemote === name) throw new CliError(ExitCode.INVALID_INPUT, `"${name}" is the default remote: "lxdkit remote switch local" (or another) first`);
  const entry = config.remotes[name]!;
  delete config.remotes[name];
  saveRemotesConfig(dir, config);
  if (entry.serverCert) rmSync(join(dir, 'servercerts', entry.serverCert), { force: true });
  ctx.print({ removed: name }, () => `removed remote "${name}"\n`);
}

/** `remote rename OLD NEW`. */
export function remoteRename(ctx: CliContext, from: string, to: string): void {
  requireSaved(ctx, from, 'renamed');
  validateRemoteName(to);
  const { dir, config } = ctx.remotes();
  if (to === LOCAL_REMOTE || to in config.remotes) throw new CliError(ExitCode.CONFLICT, `a remote "${to}" exists already`);
  const entry = { ...config.remotes[from]! };
  if (entry.serverCert) {
    const file = `${to}.crt`;
    renameSync(join(dir, 'servercerts', entry.serverCert), join(dir, 'servercerts', file));
    entry.serverCert = file;
  }
  delete config.remotes[from];
  config.remotes[to] = entry;
  if (config.defaultRemote === from) config.defaultRemote = to;
  saveRemotesConfig(dir, config);
  ctx.print({ renamed: from, to }, () => `renamed remote "${from}" to "${to}"\n`);
}

/** `remote switch NAME`: the remote used when none is named. */
export function remoteSwitch(ctx: CliContext, name: string): void {
  validateRemoteName(name);
  const { dir, config } = ctx.remotes();
  if (name !== LOCAL_REMOTE && !(name in config.remotes)) throw new CliError(ExitCode.NOT_FOUND, `no remote "${name}" is saved ("lxdkit remote list" shows them)`);
  config.defaultRemote = name;
  saveRemotesConfig(dir, config);
  ctx.print({ default: name }, () => `the default remote is "${name}"\n`);
}

/** `remote get-default`. */
export function remoteGetDefault(ctx: CliContext): void {
  const d = ctx.remotes().config.defaultRemote;
  ctx.print({ default: d }, () => `${d}\n`);
}

/** Where `lxc` or `incus` keeps its client configuration ($LXD_CONF / $INCUS_CONF, else ~/.config/lxc|incus). */
export function clientConfigDir(tool: 'lxc' | 'incus', env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env[tool === 'lxc' ? 'LXD_CONF' : 'INCUS_CONF'];
  if (fromEnv) {
    if (!isAbsolute(fromEnv)) throw new CliError(ExitCode.INVALID_INPUT, `${tool === 'lxc' ? 'LXD_CONF' : 'INCUS_CONF'} must be an absolute path`);
    return fromEnv;
  }
  const home = env['HOME'] ?? homedir();
  return join(home, '.config', tool);
}

export interface ImportedRemote {
  name: string;
  url: string;
  project: string | null;
  status: 'imported' | 'skipped';
  reason?: string;
}

/**
 * `remote import lxc|incus`: the remotes of that client's configuration (LXD or Incus remotes over
 * HTTPS; not `local`, not simplestreams image servers), with their server certificates and the
 * client's certificate (kept in `clientcerts/<tool>.crt|.key`, so lxdkit's own is never replaced).
 * A name saved already is skipped.
 */
export function remoteImport(ctx: CliContext, tool: string): void {
  if (tool !== 'lxc' && tool !== 'incus') throw new CliError(ExitCode.USAGE, `import from "lxc" or "incus", not "${tool}"`);
  const src = clientConfigDir(tool, ctx.io.env);
  const file = join(src, 'config.yml');
  const text = readCapped(file, MAX_CONFIG_BYTES, `${tool} config`);
  if (text === undefined) throw new CliError(ExitCode.NOT_FOUND, `${file} does not exist: ${tool} has no configuration there (set ${tool === 'lxc' ? 'LXD_CONF' : 'INCUS_CONF'} to its directory)`);
  const raw = parseHostileYaml(text, file);
  const remotesRaw = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)['remotes'] : undefined;
  if (remotesRaw === undefined || remotesRaw === null) throw new CliError(ExitCode.INVALID_INPUT, `${file}: no remotes in it`);
  if (typeof remotesRaw !== 'object' || Array.isArray(remotesRaw)) throw new CliError(ExitCode.INVALID_INPUT, `${file}: remotes must be a mapping of names`);
  const entries = Object.entries(remotesRaw as Record<string, unknown>);
  if (entries.length > 500) throw new CliError(ExitCode.INVALID_INPUT, `${file}: ${entries.length} remotes, more than the 500 read`);

  const { dir, config } = ctx.remotes();
  const results: ImportedRemote[] = [];
  let clientCopied = false;
  const skip = (name: string, url: string, reason: string): void => {
    results.push({ name, url, project: null, status: 'skipped', reason });
  };
  for (const [name, value] of entries) {
    const shownName = name.slice(0, 80);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      skip(shownName, '', 'not a mapping');
      continue;
    }
    const r = value as Record<string, unknown>;
    const addr = typeof r['addr'] === 'string' ? r['addr'].slice(0, 2048) : '';
    const protocol = typeof r['protocol'] === 'string' ? r['protocol'] : tool === 'lxc' ? 'lxd' : 'incus';
    try {
      validateRemoteName(name);
    } catch (err) {
      skip(JSON.stringify(shownName), addr, (err as Error).message);
      continue;
    }
    if (name === LOCAL_REMOTE || addr.startsWith('unix:')) {
      skip(name, addr, 'the unix socket (lxdkit\'s own "local")');
      continue;
    }
    if (protocol !== 'lxd' && protocol !== 'incus') {
      skip(name, addr, `a ${protocol.slice(0, 40)} server, not an LXD or Incus remote`);
      continue;
    }
    if (name in config.remotes) {
      skip(name, addr, 'a remote of that name is saved already');
      continue;
    }
    let url: URL;
    try {
      url = checkRemoteUrl(addr, 'addr');
    } catch (err) {
      skip(name, addr, (err as Error).message);
      continue;
    }
    const project = typeof r['project'] === 'string' && r['project'] !== '' && r['project'] !== 'default' ? r['project'] : undefined;
    if (project !== undefined) {
      try {
        validateProjectName(project, 'project');
      } catch (err) {
        skip(name, addr, (err as Error).message);
        continue;
      }
    }
    let serverCert: string | undefined;
    try {
      const pem = readCapped(join(src, 'servercerts', `${name}.crt`), MAX_PEM_BYTES, `${tool} server certificate`);
      if (pem !== undefined) serverCert = checkPemCertificate(pem, join(src, 'servercerts', `${name}.crt`));
    } catch (err) {
      skip(name, addr, (err as Error).message);
      continue;
    }
    if (!clientCopied) {
      const pair = readCertPair(src, 'client', `${tool} client certificate`);
      if (!pair) {
        skip(name, addr, `${tool} has no client certificate (${join(src, 'client.crt')}) for it to trust`);
        continue;
      }
      writeCertPair(join(dir, 'clientcerts'), tool, pair, false);
      clientCopied = true;
    }
    const entry: RemoteEntry = { url: url.origin, clientCert: tool };
    if (serverCert !== undefined) entry.serverCert = saveServerCert(dir, name, serverCert);
    if (project !== undefined) entry.project = project;
    config.remotes[name] = entry;
    results.push({ name, url: url.origin, project: project ?? null, status: 'imported' });
  }
  saveRemotesConfig(dir, config);
  ctx.print(results, () =>
    renderTable(results, [
      { header: 'name', value: (r) => r.name },
      { header: 'url', value: (r) => r.url },
      { header: 'status', value: (r) => (r.reason ? `${r.status}: ${r.reason}` : r.status) },
    ]),
  );
}

