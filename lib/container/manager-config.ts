/**
 * Juju's `container.ManagerConfig`: the string map a manager is configured with.
 */
import { isRedactedKey, REDACTED, silentLogger, type Logger } from '../logger.js';
import { ContainerLoggerName } from './constants.js';
import { goQuote } from '../go-compat.js';

export { goQuote } from '../go-compat.js';

/**
 * The configuration a container manager is built from (Juju `container.ManagerConfig`, a
 * `map[string]string`). Managers pop the keys they understand and report the rest with
 * {@link ManagerConfig.warnAboutUnused}.
 *
 * @example
 * const cfg = new ManagerConfig({ 'model-uuid': uuid, 'shazam': 'Captain Marvel' });
 * cfg.popValue('model-uuid'); // => uuid, and the key is gone
 * cfg.warnAboutUnused(logger); // INFO unused config option: "shazam" -> "Captain Marvel"
 */
export class ManagerConfig {
  readonly #values: Map<string, string>;

  constructor(values: Readonly<Record<string, string>> | ManagerConfig = {}) {
    this.#values = new Map(values instanceof ManagerConfig ? values.entries() : Object.entries(values));
  }

  /**
   * Returns the value of `key`, or `""` when it is absent, and removes the key either way.
   * As in Juju, an absent key cannot be told from an empty value.
   */
  popValue(key: string): string {
    const value = this.#values.get(key) ?? '';
    this.#values.delete(key);
    return value;
  }

  /** Reads a value without consuming it; `undefined` when absent. */
  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  /** Sets a value (Juju's callers mutate the map, e.g. to add `availability-zone`). */
  set(key: string, value: string): void {
    this.#values.set(key, value);
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** The remaining keys, in insertion order. */
  keys(): string[] {
    return [...this.#values.keys()];
  }

  /** The remaining `[key, value]` pairs, in insertion order. */
  entries(): [string, string][] {
    return [...this.#values.entries()];
  }

  /** Number of keys left. */
  get size(): number {
    return this.#values.size;
  }

  /** A plain-object copy of what is left. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }

  /**
   * Logs every key that is still present at INFO (despite the name, as Juju does) with Juju's text
   * `unused config option: "<key>" -> "<value>"`, both parts Go-`%q`-quoted. Entries are logged in
   * insertion order (Juju's order is random). The logger gets a `{ module: "juju.container" }` child.
   * The value of a secret key (`user.*`, `cloud-init.*`, `environment.*`, `password`, … : the rule of
   * `redact()`) is logged as `"[redacted]"`, so only its name reaches the log.
   */
  warnAboutUnused(logger: Logger = silentLogger): void {
    if (this.#values.size === 0) return;
    const log = logger.child({ module: ContainerLoggerName });
    for (const [key, value] of this.#values) {
      log.info(`unused config option: ${goQuote(key)} -> ${goQuote(isRedactedKey(key) ? REDACTED : value)}`);
    }
  }
}
