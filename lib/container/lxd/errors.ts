/**
 * Errors of the LXD container manager. The message is Juju's text (LXD's own `error` / `err` text
 * where Juju passes it through); branch on `code`.
 */
import { LxdkitError } from '../../errors.js';

export const LxdManagerErrorCode = {
  /** No image for the series and architecture in the local store or any image source. */
  IMAGE_NOT_FOUND: 'LXD_MANAGER_ERR_IMAGE_NOT_FOUND',
  /** Finding or copying the image failed (`acquiring LXD image: …`). */
  IMAGE: 'LXD_MANAGER_ERR_IMAGE',
  /** The series has no LXD image alias (`series "<s>" not supported`, `unknown OS for series: …`). */
  NOT_SUPPORTED: 'LXD_MANAGER_ERR_NOT_SUPPORTED',
  /** A bad `container-image-metadata-url` (`generating image metadata source: …`). */
  IMAGE_SOURCE: 'LXD_MANAGER_ERR_IMAGE_SOURCE',
  /** Network devices or the default bridge could not be set up. */
  NETWORK: 'LXD_MANAGER_ERR_NETWORK',
  /**
   * An instance of that name exists already (a retry, or another caller creating the same machine).
   * It is left alone: the call that failed removes only what it created itself.
   */
  ALREADY_EXISTS: 'LXD_MANAGER_ERR_ALREADY_EXISTS',
  /** LXD refused or failed to create the container. */
  CREATE: 'LXD_MANAGER_ERR_CREATE',
  /**
   * The cluster member the container was placed on cannot be reached (it is down); the text names it.
   * A create sent to it made nothing; one whose wait was cut off may have left a container there.
   */
  MEMBER_UNREACHABLE: 'LXD_MANAGER_ERR_MEMBER_UNREACHABLE',
  /** The container was created but did not start (it has been removed). */
  START: 'LXD_MANAGER_ERR_START',
  /** Stopping or deleting a container failed. */
  REMOVE: 'LXD_MANAGER_ERR_REMOVE',
  /** Writing, reading or assigning LXD profiles failed. */
  PROFILE: 'LXD_MANAGER_ERR_PROFILE',
  /** The host's LXD set-up (storage, bridge, default profile) is unusable. */
  INITIALISE: 'LXD_MANAGER_ERR_INITIALISE',
} as const;

export type LxdManagerErrorCode = (typeof LxdManagerErrorCode)[keyof typeof LxdManagerErrorCode];

export class LxdManagerError extends LxdkitError<LxdManagerErrorCode> {
  override readonly name: string = 'LxdManagerError';
  /**
   * For `assignLXDProfiles` failures: the instance's profiles as re-read after the failure (Juju
   * returns them alongside the error); `undefined` when they could not be read.
   */
  currentProfiles: string[] | undefined;
}
