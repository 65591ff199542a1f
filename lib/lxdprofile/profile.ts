/**
 * Juju's `core/lxdprofile` profile types and validation.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { goQuote } from '../go-compat.js';

/** An LXD profile's writable part (Juju `lxdprofile.Profile`, LXD's ProfilePut). */
export interface Profile {
  config: Record<string, string>;
  description: string;
  devices: Record<string, Record<string, string>>;
}

/**
 * One profile change for `assignLXDProfiles` (Juju `lxdprofile.ProfilePost`): with a `profile`,
 * create that profile if it is absent; without one (`undefined` or `null`), delete the profile
 * named `name` after the instance's profiles were updated.
 */
export interface ProfilePost {
  name: string;
  profile?: Profile | null;
}

/** zod schema of {@link Profile}; missing maps and description default to empty. */
export const ProfileSchema = lazySchema(() => z.object({
  config: z.record(z.string(), z.string()).default({}),
  description: z.string().default(''),
  devices: z.record(z.string(), z.record(z.string(), z.string())).default({}),
}));

/** zod schema of {@link ProfilePost}. */
export const ProfilePostSchema = lazySchema(() => z.object({
  name: z.string(),
  profile: ProfileSchema.nullable().optional(),
}));

/**
 * Parses untrusted data (e.g. a profile YAML file) into a {@link Profile}.
 *
 * @example parseProfile({ devices: { gpu: { type: 'gpu' } } }) // => { config: {}, description: '', devices: { gpu: { type: 'gpu' } } }
 * @throws ContainerError `CONTAINER_ERR_INVALID_PROFILE` naming the first bad field.
 */
export function parseProfile(data: unknown): Profile {
  const result = ProfileSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'profile';
    throw new ContainerError(
      ContainerErrorCode.INVALID_PROFILE,
      `invalid lxd-profile: ${where}: ${issue?.message ?? 'not a profile'}`,
      { cause: result.error },
    );
  }
  return result.data;
}

/** Device types a charm profile may contain. */
export const AllowedDeviceTypes: readonly string[] = ['unix-char', 'unix-block', 'gpu', 'usb'];
/** Config key prefixes a charm profile may not use (plain string prefixes: `bootx` matches too). */
export const ForbiddenConfigPrefixes: readonly string[] = ['boot', 'limits', 'migration'];

/**
 * True when the profile has no devices and no config (the description is ignored). Juju
 * `Profile.Empty()`.
 *
 * @example isEmptyProfile({ config: {}, description: 'x', devices: {} }) // => true
 */
export function isEmptyProfile(profile: Readonly<Partial<Profile>> | null | undefined): boolean {
  if (!profile) return true;
  return Object.keys(profile.devices ?? {}).length < 1 && Object.keys(profile.config ?? {}).length < 1;
}

/**
 * Juju `ValidateLXDProfile` / `Profile.ValidateConfigDevices`: devices are checked first (in
 * insertion order; Juju's is random), then config keys. A device with a `type` other than
 * `unix-char`, `unix-block`, `gpu` or `usb` gives `invalid lxd-profile: contains device type "<t>"`
 * (a device without `type` is allowed); a config key starting with `boot`, `limits` or `migration`
 * gives `invalid lxd-profile: contains config value "<key>"`. Empty, `null` and `undefined`
 * profiles are valid.
 *
 * @example validateProfile({ config: { 'limits.new': 'x' }, description: '', devices: {} })
 * // throws 'invalid lxd-profile: contains config value "limits.new"'
 * @throws ContainerError `CONTAINER_ERR_INVALID_PROFILE`.
 */
export function validateProfile(profile: Readonly<Partial<Profile>> | null | undefined): void {
  if (!profile) return;
  for (const device of Object.values(profile.devices ?? {})) {
    const type = device['type'];
    if (type !== undefined && !AllowedDeviceTypes.includes(type)) {
      throw new ContainerError(
        ContainerErrorCode.INVALID_PROFILE,
        `invalid lxd-profile: contains device type ${goQuote(type)}`,
      );
    }
  }
  for (const key of Object.keys(profile.config ?? {})) {
    if (ForbiddenConfigPrefixes.some((prefix) => key.startsWith(prefix))) {
      throw new ContainerError(
        ContainerErrorCode.INVALID_PROFILE,
        `invalid lxd-profile: contains config value ${goQuote(key)}`,
      );
    }
  }
}
