/**
 * Input checks done before any I/O, following LXD's own rules for names.
 */
import type { z } from 'zod';
import { LxdValidationError } from './errors.js';

/** LXD instance names are hostnames: 1–63 of [A-Za-z0-9-], not starting with a digit or hyphen, not ending with a hyphen. */
export function validateInstanceName(name: unknown, field = 'instance name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.length > 63) throw new LxdValidationError(field, `"${name}" is longer than 63 characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) throw new LxdValidationError(field, `"${name}" may contain only letters, digits and hyphens`);
  if (/^[0-9-]/.test(name)) throw new LxdValidationError(field, `"${name}" must not start with a digit or a hyphen`);
  if (name.endsWith('-')) throw new LxdValidationError(field, `"${name}" must not end with a hyphen`);
  return name;
}

/** LXD profile names: non-empty, no slash, not "." or "..". */
export function validateProfileName(name: unknown, field = 'profile name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.includes('/')) throw new LxdValidationError(field, `"${name}" must not contain a slash`);
  if (name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" is not a valid profile name`);
  if (/[\s\0]/.test(name)) throw new LxdValidationError(field, `"${name}" must not contain whitespace or NUL`);
  return name;
}

/** LXD network names are interface names: 1–15 characters, no slash, colon, whitespace or NUL, not "." or "..". */
export function validateNetworkName(name: unknown, field = 'network name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.length > 15) throw new LxdValidationError(field, `"${name}" is longer than 15 characters (a Linux interface name limit)`);
  if (/[/:\s\0]/.test(name)) throw new LxdValidationError(field, `"${name}" must not contain "/", ":", whitespace or NUL`);
  if (name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" is not a valid network name`);
  return name;
}

/** LXD storage pool names: non-empty, no slash, not "." or "..". */
export function validatePoolName(name: unknown, field = 'storage pool name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (name.includes('/')) throw new LxdValidationError(field, `"${name}" must not contain a slash`);
  if (name === '.' || name === '..') throw new LxdValidationError(field, `"${name}" is not a valid storage pool name`);
  return name;
}

/** Any other path segment (image fingerprints, aliases, operation ids): non-empty, not "." or "..", no NUL. */
export function validateSegment(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new LxdValidationError(field, 'must be a non-empty string');
  if (value === '.' || value === '..') throw new LxdValidationError(field, `"${value}" is not a valid name: a path segment cannot be "." or ".."`);
  if (value.includes('\0')) throw new LxdValidationError(field, 'must not contain NUL');
  return value;
}

/** Parses a request body with its strict schema; a failure becomes an LxdValidationError naming the field. */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length ? `${what}.${issue.path.map(String).join('.')}` : what;
  throw new LxdValidationError(field, issue?.message ?? 'invalid');
}

/** Volume names: a path segment without a slash (a slash names a snapshot). */
export function validateVolumeName(name: unknown, field = 'storage volume name'): string {
  validateSegment(name, field);
  if ((name as string).includes('/')) throw new LxdValidationError(field, `"${String(name)}" must not contain a slash`);
  return name as string;
}
