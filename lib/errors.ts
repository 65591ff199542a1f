/**
 * The base of every error lxdkit throws. A family (`LxdError`, `SimplestreamsError`, `ContainerError`,
 * `LxdManagerError`, `KvmError`, `TestingError`) declares only its `name` and its code table; the base
 * brands each instance so that `Family.is(err, code?)` recognises it, even one thrown by another copy
 * of lxdkit, where `instanceof` fails. Branch on `code`, never on message text.
 */
const BRAND = 'lxdkit.error.';

/** A family's constructor, as `annotate` needs it. */
export interface ErrorFamily<E extends LxdkitError> {
  new (code: E['code'], message: string, options?: { cause?: unknown }): E;
  is(value: unknown, code?: string): value is E;
}

/**
 * The base of every error lxdkit throws: a stable string `code` (docs/errors.md) and the message. Test with `SomeError.is(err, code?)`, which holds across copies of lxdkit where `instanceof` does not.
 */
export class LxdkitError<Code extends string = string> extends Error {
  override readonly name: string = 'LxdkitError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    // An absent cause leaves no `cause` property, however the options were spelled.
    super(message, options?.cause === undefined ? undefined : options);
    this.code = code;
    // One brand per class on the way up: `LxdError.is(notFound)` holds as `instanceof` would.
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      Object.defineProperty(this, Symbol.for(BRAND + (c as { name: string }).name), { value: true });
    }
  }

  /**
   * True when `value` is an error of this class (or a subclass), optionally with `code`:
   * `LxdError.is(err, LxdErrorCode.NOT_FOUND)`, `KvmError.is(err)`, `LxdkitError.is(err)`.
   */
  static is<T extends abstract new (...args: never[]) => LxdkitError>(this: T, value: unknown, code?: InstanceType<T>['code']): value is InstanceType<T> {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[Symbol.for(BRAND + this.name)] === true &&
      (code === undefined || (value as { code?: unknown }).code === code)
    );
  }

  /** The text Juju would show: the message (an LXD API error shows LXD's own text instead). */
  get text(): string {
    return this.message;
  }
}

/** The text of any thrown value: an lxdkit error's `text`, an Error's message, else `String(value)`. */
export function errorText(err: unknown): string {
  if (LxdkitError.is(err)) return err.text;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Juju's `errors.Annotate(err, prefix)`: a `Family` error `<prefix>: <text of err>` with `err` as its
 * cause. It keeps the code of an `err` of the same family, else takes `code`.
 */
export function annotate<E extends LxdkitError>(Family: ErrorFamily<E>, prefix: string, err: unknown, code: E['code']): E {
  return new Family(Family.is(err) ? err.code : code, `${prefix}: ${errorText(err)}`, { cause: err });
}

/** A family's code table: `{ KEY: '<prefix>_KEY' }` for every key, frozen. */
export function errorCodes<const P extends string, const K extends string>(prefix: P, keys: readonly K[]): { readonly [k in K]: `${P}_${k}` } {
  return Object.freeze(Object.fromEntries(keys.map((k) => [k, `${prefix}_${k}`]))) as { readonly [k in K]: `${P}_${k}` };
}

/** The union of the codes of a table made by `errorCodes`. */
export type CodeOf<T> = T[keyof T];

/** The stable codes of the family, `CONTAINER_ERR_*` (each is explained in docs/errors.md). */
export const ContainerErrorCode = errorCodes('CONTAINER_ERR', [
  'INVALID_NAME', 'NOT_VALID', 'BAD_REQUEST', 'NOT_SUPPORTED', 'DIRECTORY', 'INVALID_PROFILE', 'PARSE',
]);
export type ContainerErrorCode = CodeOf<typeof ContainerErrorCode>;

/**
 * The errors of Juju's `container` and `core/lxdprofile` ports (Juju's NotValid, BadRequest,
 * NotSupported, …), with Juju's exact texts. It lives here, below both packages, because both throw it.
 */
export class ContainerError extends LxdkitError<ContainerErrorCode> {
  override readonly name: string = 'ContainerError';
}
