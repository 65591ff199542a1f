/**
 * The base of every error lxdkit throws: `LxdError` (the client), `SimplestreamsError`,
 * `ContainerError`, `LxdManagerError` and `KvmError` all extend it. Each has a stable `code`
 * (`LXD_ERR_*`, `SIMPLESTREAMS_ERR_*`, `CONTAINER_ERR_*`, `LXD_MANAGER_ERR_*`, `KVM_ERR_*`);
 * branch on it, never on message text.
 */
const BRAND = Symbol.for('lxdkit.Error');

export class LxdkitError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `value` carries `brand` (and, if given, has `code`). Brands are `Symbol.for` keys, so the
 * check works across copies of lxdkit where `instanceof` does not.
 */
export function hasBrand(value: unknown, brand: symbol, code?: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    (code === undefined || (value as { code?: unknown }).code === code)
  );
}

/** True for any error lxdkit throws, even one from another copy of the package. */
export function isLxdkitError(value: unknown): value is LxdkitError {
  return hasBrand(value, BRAND);
}
