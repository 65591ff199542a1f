/**
 * Profiles as files, with the library: read the YAML of profiles/, parse each into a Profile and
 * check Juju's charm-profile rules (what `lxdkit profile validate --charm` does). No daemon needed.
 * Run: npx tsx docs/examples/profiles.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ContainerError, ContainerErrorCode, isEmptyProfile, parseProfile, validateProfile } from 'lxdkit';

const dir = join(import.meta.dirname, '..', '..', 'profiles');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  const { name, ...rest } = parse(readFileSync(join(dir, file), 'utf8')) as { name: string; used_by?: unknown };
  delete rest.used_by;
  const profile = parseProfile(rest); // throws `invalid lxd-profile: <field>: ...` on a bad shape
  let charm = 'valid charm profile';
  try {
    validateProfile(profile);
  } catch (err) {
    if (!ContainerError.is(err, ContainerErrorCode.INVALID_PROFILE)) throw err;
    charm = err.message; // e.g. invalid lxd-profile: contains config value "limits.cpu"
  }
  console.log(`${name}: ${Object.keys(profile.config).length} config keys, ${Object.keys(profile.devices).length} devices${isEmptyProfile(profile) ? ' (empty)' : ''}; ${charm}`);
}
