/**
 * Juju's charm LXD profile names (core/lxdprofile/name.go): `juju-<model>-<app>-<revision>`.
 */
import { ContainerError, ContainerErrorCode } from '../errors.js';
import { goAtoi, goQuote } from '../go-compat.js';

/** Juju `lxdprofile.AppName`. */
export const AppName = 'juju';
/** Juju `lxdprofile.Prefix`: every charm profile name starts with it. */
export const Prefix = `${AppName}-`;

/**
 * Juju `lxdprofile.Name`: `juju-<model>-<app>-<rev>`.
 *
 * @example profileName('default', 'mysql', 12) // => 'juju-default-mysql-12'
 */
export function profileName(modelName: string, appName: string, revision: number): string {
  return `${Prefix}${modelName}-${appName}-${revision}`;
}

function isAtoi(s: string): boolean {
  try {
    goAtoi(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Juju `lxdprofile.IsValidName`: starts with `juju-`, has at least 5 bytes after it, and the text
 * after the last `-` of that suffix (the whole suffix when it has none) is a Go `Atoi` integer.
 *
 * @example isValidProfileName('juju-default-mysql-12') // => true
 * @example isValidProfileName('juju-model')           // => false
 */
export function isValidProfileName(name: string): boolean {
  if (!name.startsWith(Prefix)) return false;
  const suffix = name.slice(Prefix.length);
  if (Buffer.byteLength(suffix, 'utf8') < 5) return false;
  return isAtoi(suffix.slice(suffix.lastIndexOf('-') + 1));
}

/**
 * Juju `lxdprofile.LXDProfileNames` (`FilterLXDProfileNames`): keeps the valid charm profile
 * names, without duplicates, ordered by where each name last occurs in the input.
 *
 * @example lxdProfileNames(['default', 'juju-a-b-1', 'juju-c-d-2', 'juju-a-b-1']) // => ['juju-c-d-2', 'juju-a-b-1']
 */
export function lxdProfileNames(names: readonly string[]): string[] {
  const lastIndex = new Map<string, number>();
  names.forEach((name, i) => {
    if (isValidProfileName(name)) lastIndex.set(name, i);
  });
  return [...lastIndex.entries()].sort((a, b) => a[1] - b[1]).map(([name]) => name);
}

function notAProfileName(name: string): ContainerError {
  return new ContainerError(ContainerErrorCode.BAD_REQUEST, `not a juju profile name: ${goQuote(name)}`);
}

/**
 * Juju `lxdprofile.ProfileRevision`: the revision at the end of a charm profile name.
 *
 * @example profileRevision('juju-default-mysql-12') // => 12
 * @throws ContainerError `CONTAINER_ERR_BAD_REQUEST` `not a juju profile name: "<name>"`.
 */
export function profileRevision(name: string): number {
  if (!isValidProfileName(name)) throw notAProfileName(name);
  return goAtoi(name.slice(name.lastIndexOf('-') + 1));
}

/**
 * Juju `lxdprofile.ProfileReplaceRevision`: the same name with another revision.
 *
 * @example profileReplaceRevision('juju-default-mysql-12', 13) // => 'juju-default-mysql-13'
 * @throws ContainerError `CONTAINER_ERR_BAD_REQUEST` `not a juju profile name: "<name>"`.
 */
export function profileReplaceRevision(name: string, revision: number): string {
  if (!isValidProfileName(name)) throw notAProfileName(name);
  return `${name.slice(0, name.lastIndexOf('-') + 1)}${revision}`;
}

/**
 * Juju `lxdprofile.MatchProfileNameByAppName`: the first (per {@link lxdProfileNames}) charm
 * profile of application `appName` (a name ending in `-<app>-<rev>`), or `""` when there is none.
 *
 * @example matchProfileNameByAppName(['default', 'juju-foo-bar-2'], 'bar') // => 'juju-foo-bar-2'
 * @throws ContainerError `CONTAINER_ERR_BAD_REQUEST` `no application name specified`.
 */
export function matchProfileNameByAppName(names: readonly string[], appName: string): string {
  if (appName === '') {
    throw new ContainerError(ContainerErrorCode.BAD_REQUEST, 'no application name specified');
  }
  for (const name of lxdProfileNames(names)) {
    const rev = profileRevision(name);
    if (name.endsWith(`-${appName}-${rev}`)) return name;
  }
  return '';
}
