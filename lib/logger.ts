/**
 * A pino-compatible logger: the subset of pino's API that lxdkit calls.
 * Any pino logger satisfies it; the default is silent.
 */
export interface LogFn {
  (msg: string): void;
  (obj: Record<string, unknown>, msg?: string): void;
}

/** The logger lxdkit writes to: pino's shape (a pino logger fits; `silentLogger` is the default). */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** pino's level check; lets hot paths skip building log objects nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};

/** What a secret is replaced with, in log lines and in recorded fixtures. */
export const REDACTED = '[redacted]';

/**
 * Keys whose values never reach a log line or a fixture, wherever they appear: cloud-init data,
 * trust passwords and tokens, certificates and private keys, operation websocket secrets.
 */
export const REDACTED_KEYS: readonly string[] = [
  'user-data',
  'userData',
  'vendor-data',
  'vendorData',
  'core.trust_password',
  'password',
  'trust_token',
  'token',
  'certificate',
  'cert',
  'key',
  'secret',
  'secrets',
  'fds',
];

/**
 * Config-map key prefixes whose values are redacted: `user.*` and `cloud-init.*` (cloud-init
 * user-data, vendor-data, network-config) and `environment.*` (variables given to the instance).
 */
export const REDACTED_KEY_PREFIXES: readonly string[] = ['user.', 'cloud-init.', 'environment.'];

const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * Variables of an exec's environment whose values are kept: the ones LXD and Incus set themselves
 * (`PATH`, `HOME`, `USER`, `LANG`, and `TERM` on a pty). They are never secrets, and the client reads
 * `PATH` back to tell a missing program from a command that exits 127.
 */
export const EXEC_ENVIRONMENT_KEPT: readonly string[] = ['PATH', 'HOME', 'USER', 'LANG', 'TERM'];

/**
 * True when `parent[key]` is the environment of an exec (`environment` beside a `command` list): the
 * body of `POST /1.0/instances/NAME/exec`, and the metadata of its operation, which LXD echoes in the
 * exec answer, `/wait`, `GET /1.0/operations/ID`, operation lists and `operation` events. Its values
 * (all but {@link EXEC_ENVIRONMENT_KEPT}) are secrets; its variable names are not.
 */
export function isExecEnvironment(parent: Readonly<Record<string, unknown>>, key: string): boolean {
  return key === 'environment' && Array.isArray(parent['command']);
}

/** An exec environment map with every value but those of {@link EXEC_ENVIRONMENT_KEPT} replaced by `"[redacted]"`. */
export function redactExecEnvironment(env: unknown): unknown {
  if (env === null || typeof env !== 'object' || Array.isArray(env)) return REDACTED;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) {
    const kept = EXEC_ENVIRONMENT_KEPT.includes(k) && typeof v === 'string' && !isSecretText(v);
    Object.defineProperty(copy, k, { value: kept || v === '' ? v : REDACTED, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** True when the value under `key` is a secret: a name in `names` or a key with a redacted prefix. */
export function isRedactedKey(key: string, names: readonly string[] | ReadonlySet<string> = REDACTED_KEYS): boolean {
  const named = Array.isArray(names) ? names.includes(key) : (names as ReadonlySet<string>).has(key);
  return named || REDACTED_KEY_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** True when a string holds a PEM private key block, whatever key it is under. */
export function isSecretText(value: string): boolean {
  return PRIVATE_KEY_PEM.test(value);
}

const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g;

/** `text` with every PEM private key block (to its END line, or to the end of the text) replaced by `[redacted]`. */
export function redactText(text: string): string {
  return isSecretText(text) ? text.replace(PRIVATE_KEY_BLOCK, REDACTED) : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const MAX_DEPTH = 32;

/**
 * Returns a deep copy of `value` in which the value under every secret key ({@link isRedactedKey}),
 * the values of every exec environment ({@link isExecEnvironment}) and every string holding a PEM
 * private key are `"[redacted]"`. Plain objects and arrays are copied;
 * other objects (errors, dates, buffers) are kept as they are. Anything nested deeper than 32
 * levels is redacted too, so that no secret escapes by depth.
 */
export function redact(value: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return isSecretText(v) ? REDACTED : v;
    if (!Array.isArray(v) && !isPlainObject(v)) return v;
    if (depth > MAX_DEPTH) return REDACTED;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map((item) => walk(item, depth + 1));
    else {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        // defineProperty: a `__proto__` key stays an ordinary key of the copy
        const value = isRedactedKey(k) ? REDACTED : isExecEnvironment(v, k) ? redactExecEnvironment(item) : walk(item, depth + 1);
        Object.defineProperty(copy, k, { value, enumerable: true, writable: true, configurable: true });
      }
      out = copy;
    }
    seen.delete(v);
    return out;
  };
  return walk(value, 0);
}

/**
 * A config or devices map (or a profile holding both) described by its key names only, for log
 * lines: values never appear. A map of plain values becomes the list of its keys; a map holding
 * maps shows each inner map in turn (other values as `…`).
 *
 * @example describeKeys({ config: { 'limits.cpu': '2', 'user.user-data': '#cloud-config…' }, devices: { eth0: { type: 'nic', parent: 'br0' } } })
 * // => '{"config":["limits.cpu","user.user-data"],"devices":{"eth0":["type","parent"]}}'
 */
export function describeKeys(map: Readonly<Record<string, unknown>>): string {
  const shape = (m: Record<string, unknown>, depth: number): unknown => {
    const entries = Object.entries(m);
    if (depth >= MAX_DEPTH || !entries.some(([, v]) => isPlainObject(v))) return entries.map(([k]) => k);
    return Object.fromEntries(entries.map(([k, v]) => [k, isPlainObject(v) ? shape(v, depth + 1) : '…']));
  };
  return JSON.stringify(isPlainObject(map) ? shape(map, 0) : []);
}
