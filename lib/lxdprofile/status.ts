/**
 * Juju's charm-profile upgrade statuses (core/lxdprofile/status.go).
 */

/** No status yet. */
export const EmptyStatus = '';
/** The profile change was applied. */
export const SuccessStatus = 'Success';
/** No profile change was needed. */
export const NotRequiredStatus = 'Not Required';
/** The status is not known. */
export const NotKnownStatus = 'Not known';
/** Prefix of failure statuses (`Error: <message>`). */
export const ErrorStatus = 'Error';
/** The machine cannot take LXD profiles. */
export const NotSupportedStatus = 'Not Supported';

/**
 * Juju `lxdprofile.AnnotateErrorStatus`: `Error: <message>`.
 *
 * @example annotateErrorStatus(new Error('boom')) // => 'Error: boom'
 */
export function annotateErrorStatus(err: Error | string): string {
  return `${ErrorStatus}: ${typeof err === 'string' ? err : err.message}`;
}

/**
 * Juju `UpgradeStatusFinished`: `Success`, `Not Required` or `Not Supported`.
 *
 * @example upgradeStatusFinished('Not Required') // => true
 */
export function upgradeStatusFinished(status: string): boolean {
  return status === SuccessStatus || status === NotRequiredStatus || status === NotSupportedStatus;
}

/**
 * Juju `UpgradeStatusErrorred`: the status starts with `Error`.
 *
 * @example upgradeStatusErrored('Error: boom') // => true
 */
export function upgradeStatusErrored(status: string): boolean {
  return status.startsWith(ErrorStatus);
}

/**
 * Juju `UpgradeStatusTerminal`: finished or errored.
 *
 * @example upgradeStatusTerminal('Not known') // => false
 */
export function upgradeStatusTerminal(status: string): boolean {
  return upgradeStatusFinished(status) || upgradeStatusErrored(status);
}
