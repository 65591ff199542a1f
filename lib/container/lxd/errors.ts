/**
 * Errors of the LXD container manager. The message is Juju's text (LXD's own `error` / `err` text
 * where Juju passes it through); branch on `code`.
 */
import { errorCodes, LxdkitError, type CodeOf } from '../../errors.js';

/** The stable codes of the family, `LXD_MANAGER_ERR_*` (each is explained in docs/errors.md). */
export const LxdManagerErrorCode = errorCodes('LXD_MANAGER_ERR', [
  'IMAGE_NOT_FOUND', 'IMAGE', 'NOT_SUPPORTED', 'IMAGE_SOURCE', 'NETWORK', 'ALREADY_EXISTS', 'CREATE',
  'MEMBER_UNREACHABLE', 'START', 'REMOVE', 'PROFILE', 'INITIALISE',
]);
export type LxdManagerErrorCode = CodeOf<typeof LxdManagerErrorCode>;

/**
 * An error of `LxdManager` or `LxdInitialiser`, with a stable code (`LxdManagerErrorCode`, see docs/errors.md).
 */
export class LxdManagerError extends LxdkitError<LxdManagerErrorCode> {
  override readonly name: string = 'LxdManagerError';
  /**
   * For `assignLXDProfiles` failures: the instance's profiles as re-read after the failure (Juju
   * returns them alongside the error); `undefined` when they could not be read.
   */
  currentProfiles: string[] | undefined;
}
