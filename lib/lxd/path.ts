import { LxdResponseValidationError, LxdValidationError } from './errors.js';

/**
 * Escapes one path segment (an instance, profile, alias, ... name). A value that is not a string,
 * is empty, is `.` or `..` (which would name the parent resource once the URL is resolved), or holds
 * NUL is refused with `LxdValidationError` (`LXD_ERR_INVALID_ARGUMENT`), before any I/O.
 */
export function segment(value: string, field = 'name'): string {
  if (typeof value !== 'string') throw new LxdValidationError(field, `must be a string, got ${value === null ? 'null' : typeof value}`);
  if (value.length === 0) throw new LxdValidationError(field, 'must not be empty');
  if (value === '.' || value === '..') throw new LxdValidationError(field, `"${value}" is not a valid name: a path segment cannot be "." or ".."`);
  if (value.includes('\0')) throw new LxdValidationError(field, 'must not contain NUL');
  return encodeURIComponent(value);
}

/**
 * Tagged template that escapes every interpolated value as a path segment:
 * lxdPath`/1.0/instances/${name}/state`.
 */
export function lxdPath(strings: TemplateStringsArray, ...values: string[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += segment(v) + (strings[i + 1] ?? '');
  });
  return out;
}

/** A value of the query string (`undefined` leaves the key out). */
export type QueryValue = string | number | boolean | undefined;

export function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Where a URL came from, for the error when it cannot be decoded: the request that listed it. */
export interface UrlSource {
  method: string;
  path: string;
  /** Its index in the list LXD answered. */
  index?: number;
}

/**
 * The last segment of an LXD URL such as `/1.0/instances/c1?project=p`, decoded. A malformed
 * percent-escape (`%zz`, a lone `%`, invalid UTF-8) is LXD's fault, not the caller's:
 * `LxdResponseValidationError` (`LXD_ERR_INVALID_RESPONSE`) naming the URL and, when given, the
 * request that listed it.
 */
export function nameFromUrl(url: string, source: UrlSource = { method: 'GET', path: url }): string {
  const noQuery = url.split('?')[0] ?? url;
  const last = noQuery.slice(noQuery.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new LxdResponseValidationError(source.method, source.path, [
      { path: source.index === undefined ? [] : [source.index], message: `${JSON.stringify(url)} has a malformed percent-escape in its name (${why})` },
    ]);
  }
}

/** The names of a `recursion=0` listing (URLs), decoded with {@link nameFromUrl}. */
export function namesFromUrls(urls: readonly string[], method: string, path: string): string[] {
  return urls.map((url, index) => nameFromUrl(url, { method, path, index }));
}
