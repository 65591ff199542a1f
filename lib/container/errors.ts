/**
 * Typed errors of the container package. The message is always Juju's exact text; the stable
 * `code` is what callers should branch on.
 */
import { LxdkitError, hasBrand } from '../errors.js';

/** Stable error codes of the container and lxdprofile packages. */
export const ContainerErrorCode = {
  /** A container name that is empty, contains `/`, `..` or NUL. Refused before any I/O. */
  INVALID_NAME: 'CONTAINER_ERR_INVALID_NAME',
  /** Juju's NotValid: a bad model UUID, machine id or hostname outside the namespace. */
  NOT_VALID: 'CONTAINER_ERR_NOT_VALID',
  /** Juju's BadRequest: e.g. `not a juju profile name: "…"`. */
  BAD_REQUEST: 'CONTAINER_ERR_BAD_REQUEST',
  /** Juju's NotSupported: e.g. `interface type "bond" not supported`. */
  NOT_SUPPORTED: 'CONTAINER_ERR_NOT_SUPPORTED',
  /** A filesystem operation on the container directories failed; `cause` has the OS error. */
  DIRECTORY: 'CONTAINER_ERR_DIRECTORY',
  /** An LXD profile failed validation (`invalid lxd-profile: …`). */
  INVALID_PROFILE: 'CONTAINER_ERR_INVALID_PROFILE',
  /** A device or interface value could not be parsed (e.g. `parsing device MTU: …`). */
  PARSE: 'CONTAINER_ERR_PARSE',
} as const;

export type ContainerErrorCode = (typeof ContainerErrorCode)[keyof typeof ContainerErrorCode];

const BRAND = Symbol.for('lxdkit.ContainerError');

/** Base class of every error the container and lxdprofile packages throw. */
export class ContainerError extends LxdkitError<ContainerErrorCode> {

  constructor(code: ContainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ContainerError';
  }

  /** Recognises a ContainerError even when it comes from another copy of lxdkit. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== ContainerError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value, BRAND);
  }

  get [BRAND](): true {
    return true;
  }
}

/** True when `err` is a ContainerError, optionally with the given code. */
export function isContainerError(err: unknown, code?: ContainerErrorCode): err is ContainerError {
  return err instanceof ContainerError && (code === undefined || err.code === code);
}
