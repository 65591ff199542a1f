/**
 * Juju's architecture names (juju/utils `arch`).
 */
import { arch as nodeArch } from 'node:os';

/** Juju's name of 64-bit x86 (`amd64`; from `x86_64`). */
export const AMD64 = 'amd64';
/** Juju's name of 32-bit x86 (`i386`, `i686`, …). */
export const I386 = 'i386';
/** Juju's name of 32-bit ARM (`armhf`; from `arm`, `armv7l`, …). */
export const ARM = 'armhf';
/** Juju's name of 64-bit ARM (`arm64`; from `aarch64`). */
export const ARM64 = 'arm64';
/** Juju's name of little-endian 64-bit POWER (`ppc64el`; from `ppc64le`, …). */
export const PPC64EL = 'ppc64el';
/** Juju's name of IBM Z (`s390x`). */
export const S390X = 's390x';

// Order matters: the first (unanchored) match wins, as in juju/utils.
const ARCH_PATTERNS: readonly (readonly [RegExp, string])[] = [
  [/amd64|x86_64/, AMD64],
  [/i?[3-9]86/, I386],
  [/(arm$)|(armv.*)/, ARM],
  [/aarch64/, ARM64],
  [/ppc64|ppc64el|ppc64le/, PPC64EL],
  [/s390x/, S390X],
];

/**
 * Juju `arch.NormaliseArch`: trims the input, then maps `x86_64` → `amd64`, `i686` → `i386`,
 * `armv7l` → `armhf`, `aarch64` → `arm64`, `ppc64le` → `ppc64el`, `s390x` → `s390x`. The first
 * unanchored match wins; anything else is returned (trimmed) unchanged.
 *
 * @example normaliseArch('x86_64') // => 'amd64'
 * @example normaliseArch('arm64')  // => 'arm64'
 */
export function normaliseArch(rawArch: string): string {
  const trimmed = rawArch.trim();
  for (const [pattern, name] of ARCH_PATTERNS) {
    if (pattern.test(trimmed)) return name;
  }
  return trimmed;
}

// Node's process.arch names → Go's GOARCH names, which Juju normalises.
const NODE_TO_GO: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm: 'arm',
  arm64: 'arm64',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/**
 * Juju `arch.HostArch()`: the normalised architecture of this host (`amd64`, `arm64`, …).
 *
 * @example hostArch() // => 'amd64' on an x86_64 machine
 */
export function hostArch(nodeArchName: string = nodeArch()): string {
  return normaliseArch(NODE_TO_GO[nodeArchName] ?? nodeArchName);
}
