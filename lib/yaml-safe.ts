/**
 * Reading YAML that may be hostile (profile files, stack files): a file read up to a cap, repeated
 * and `__proto__` keys found in linear time (also through aliases and merge keys), the line of a key
 * path, and the `yaml` package's alias-expansion limit spelled out.
 */
import { open } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';

/**
 * The `yaml` package's limit on alias expansion (its own default, spelled out): converting a document
 * fails once the aliases of one anchor, times the aliases nested in it, pass this. A "billion laughs"
 * document is refused after a few dozen steps, before anything is expanded.
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * Keys refused anywhere in a YAML file (profile or stack), also when written through an alias (`*k :`) or brought in
 * by a merge key (`<<`): `__proto__` would be dropped or set an object's prototype.
 */
const FORBIDDEN_KEYS = new Set(['__proto__']);

type YamlRange = { range?: [number, number, number] | null };

/** A key problem: a forbidden key, or a key a map already has. */
export interface KeyProblem {
  kind: 'forbidden' | 'duplicate';
  path: string[];
  /** The offset of the offending key. */
  offset: number | undefined;
  /** For a duplicate: the offset of the first occurrence. */
  first?: number | undefined;
}

/**
 * Each alias of the document and the node it stands for: the last node before it with that anchor,
 * as YAML defines it. One walk in document order (aliases are not followed), so linear in the size of
 * the document however many aliases it has.
 */
function resolveAliases(root: unknown): Map<unknown, unknown> {
  const anchors = new Map<string, unknown>();
  const targets = new Map<unknown, unknown>();
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isAlias(node)) {
      targets.set(node, anchors.get(node.source));
      continue;
    }
    const anchor = (node as { anchor?: unknown } | null)?.anchor;
    if (typeof anchor === 'string' && anchor !== '') anchors.set(anchor, node);
    // children pushed in reverse, so that they are visited in document order
    if (isMap(node)) for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]!.value, node.items[i]!.key);
    else if (isSeq(node)) for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
  }
  return targets;
}

/**
 * The first forbidden or repeated key in the document, with its path (`config.__proto__`,
 * `devices.eth0.__proto__`) and the offset of the key. Keys are compared as the text they become in
 * the profile (`1` and `"1"` are the same key). Aliases are resolved, in keys as in values, and every
 * node is checked once however often it is aliased, so the walk is linear in the size of the
 * document (a Set per map): a "billion laughs" file costs no more than its text.
 */
export function checkKeys(root: unknown): KeyProblem | undefined {
  const targets = resolveAliases(root);
  const seen = new Set<unknown>();
  const deref = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);
  const walk = (start: unknown, path: string[]): KeyProblem | undefined => {
    const node = deref(start);
    if (node === undefined || node === null || seen.has(node)) return undefined;
    seen.add(node);
    if (isMap(node)) {
      const keys = new Map<string, number | undefined>();
      for (const pair of node.items) {
        const keyNode = deref(pair.key);
        // a merge key (`<<` in a %YAML 1.1 document) is a symbol; its maps are checked where they are
        const key = isScalar(keyNode) ? (typeof keyNode.value === 'symbol' ? (keyNode.value.description ?? '<<') : String(keyNode.value)) : undefined;
        const at = (pair.key as YamlRange | null)?.range?.[0];
        if (key !== undefined) {
          if (FORBIDDEN_KEYS.has(key)) return { kind: 'forbidden', path: [...path, key], offset: at };
          if (keys.has(key)) return { kind: 'duplicate', path: [...path, key], offset: at, first: keys.get(key) };
          keys.set(key, at);
        } else {
          const found = walk(pair.key, [...path, '?']);
          if (found) return found;
        }
        const found = walk(pair.value, key === undefined ? [...path, '?'] : [...path, key]);
        if (found) return found;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const found = walk(item, [...path, String(i)]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(root, []);
}

/** The offset of the first alias (`*name`) in the document, for the line of an alias error. */
export function firstAlias(node: unknown): number | undefined {
  if (isAlias(node)) return (node as YamlRange).range?.[0];
  if (isMap(node)) {
    for (const pair of node.items) {
      const at = firstAlias(pair.key) ?? firstAlias(pair.value);
      if (at !== undefined) return at;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const at = firstAlias(item);
      if (at !== undefined) return at;
    }
  }
  return undefined;
}

/** A file that cannot be read, or is over the cap: `message` says which (no file name in it). */
export class CappedReadError extends Error {
  override readonly name = 'CappedReadError';
}

/**
 * The text of a file, read in chunks up to `cap` bytes: one byte more and it is refused
 * (`CappedReadError` with `tooLarge` as its message) without reading on, so `/dev/zero`, a FIFO or a
 * huge file costs at most the cap. A FIFO (`<(generate)`) or `/dev/stdin` is read like a file.
 */
export async function readCappedText(abs: string, cap: number, tooLarge: string, signal?: AbortSignal): Promise<string> {
  let handle;
  try {
    handle = await open(abs, 'r');
  } catch (err) {
    throw new CappedReadError(`cannot read: ${(err as Error).message}`);
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      signal?.throwIfAborted();
      const buf = Buffer.allocUnsafe(64 * 1024);
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(buf, 0, buf.length, null));
      } catch (err) {
        throw new CappedReadError(`cannot read: ${(err as Error).message}`);
      }
      if (n === 0) break;
      size += n;
      if (size > cap) throw new CappedReadError(tooLarge);
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return Buffer.concat(chunks, size).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The line of the deepest node along `path` that exists (the key's line for map entries, the item's for list items). */
export function locate(doc: Document, path: readonly string[], lineAt: (o: number | undefined) => number | undefined): number | undefined {
  let node: unknown = doc.contents;
  let line = lineAt((doc.contents as { range?: [number, number, number] } | null)?.range?.[0]);
  for (const key of path) {
    if (isSeq(node)) {
      // a list item (stack files): its index
      const item = /^\d+$/.test(key) ? node.items[Number(key)] : undefined;
      if (item === undefined) break;
      line = lineAt((item as { range?: [number, number, number] }).range?.[0]) ?? line;
      node = item;
      continue;
    }
    if (!isMap(node)) break;
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
    if (!pair || !isPair(pair)) break;
    line = lineAt((pair.key as { range?: [number, number, number] }).range?.[0]) ?? line;
    node = pair.value;
  }
  return line;
}

