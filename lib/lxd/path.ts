import { LxdValidationError } from './errors.js';

/** Escapes one path segment (an instance, profile, alias, ... name). */
export function segment(value: string): string {
  if (value.length === 0) throw new LxdValidationError('name', 'must not be empty');
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

/** The last segment of an LXD URL such as `/1.0/instances/c1?project=p`, decoded. */
export function nameFromUrl(url: string): string {
  const noQuery = url.split('?')[0] ?? url;
  const last = noQuery.slice(noQuery.lastIndexOf('/') + 1);
  return decodeURIComponent(last);
}
