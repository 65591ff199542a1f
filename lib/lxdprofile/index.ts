/**
 * Juju's `core/lxdprofile`: charm LXD profiles, their names and validation.
 */
export type { Profile, ProfilePost } from './profile.js';
export {
  AllowedDeviceTypes,
  ForbiddenConfigPrefixes,
  ProfilePostSchema,
  ProfileSchema,
  isEmptyProfile,
  parseProfile,
  validateProfile,
} from './profile.js';
export {
  AppName,
  Prefix,
  isValidProfileName,
  lxdProfileNames,
  matchProfileNameByAppName,
  profileName,
  profileReplaceRevision,
  profileRevision,
} from './name.js';
export {
  EmptyStatus,
  ErrorStatus,
  NotKnownStatus,
  NotRequiredStatus,
  NotSupportedStatus,
  SuccessStatus,
  annotateErrorStatus,
  upgradeStatusErrored,
  upgradeStatusFinished,
  upgradeStatusTerminal,
} from './status.js';
