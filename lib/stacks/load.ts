/**
 * Reading a stack: one YAML file, or a folder of `*.yaml` / `*.yml` files merged. Hostile YAML is
 * refused as profile files refuse it (a size cap, aliases that expand too much, repeated and
 * `__proto__` keys); a schema error names the file, the line and the key; a resource defined twice
 * names both places.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { CappedReadError, checkKeys, firstAlias, locate, MAX_ALIAS_COUNT, readCappedText } from '../yaml-safe.js';
import { StackError, StackErrorCode } from './errors.js';
import { keyOf } from './kinds.js';
import { STACK_KINDS, StackFileSchema, type ImageItem, type Sourced, type Stack, type StackItems, type StackKind } from './schema.js';

/** The largest stack file read (4 MiB). */
export const MAX_STACK_FILE_BYTES = 4 * 1024 * 1024;

function invalid(file: string, line: number, key: string | undefined, message: string): StackError {
  return new StackError(StackErrorCode.INVALID, message, { source: { file, line }, key });
}

/** The parts of one stack file: its name (if it gives one) and its items. */
interface Parsed {
  name: { value: string; file: string; line: number } | undefined;
  items: { [K in StackKind]: Sourced<StackItems[K]>[] };
}

function emptyItems(): { [K in StackKind]: Sourced<StackItems[K]>[] } {
  return Object.fromEntries(STACK_KINDS.map((k) => [k, []])) as unknown as { [K in StackKind]: Sourced<StackItems[K]>[] };
}

/** Image files written relative to the stack file, made absolute. */
function resolveImage(item: ImageItem, dir: string): ImageItem {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  if (item.file === undefined) return item;
  const f = item.file;
  return { ...item, file: typeof f === 'string' ? abs(f) : 'unified' in f ? { unified: abs(f.unified) } : { metadata: abs(f.metadata), rootfs: abs(f.rootfs) } };
}

/** Parses the text of one stack file (`file` is how it is named in errors; `dir` is where image files are looked for). */
export function parseStackText(text: string, file: string, dir = '.'): Parsed {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (!Array.isArray(docs)) throw invalid(file, 1, undefined, 'not a YAML document stream');
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lc.linePos(offset).line);
  const out: Parsed = { name: undefined, items: emptyItems() };
  for (const doc of docs as Document[]) {
    const bad = doc.errors[0];
    if (bad) throw invalid(file, bad.linePos?.[0].line ?? lineAt(bad.pos[0]) ?? 1, undefined, `YAML syntax: ${bad.message.split('\n')[0]}`);
    if (doc.contents === null) continue;
    const start = lineAt(doc.contents.range?.[0]) ?? 1;
    const problem = checkKeys(doc.contents);
    if (problem?.kind === 'forbidden') throw invalid(file, lineAt(problem.offset) ?? start, problem.path.join('.'), `the key "${problem.path.at(-1)}" is not allowed`);
    if (problem?.kind === 'duplicate') {
      const first = lineAt(problem.first);
      throw invalid(file, lineAt(problem.offset) ?? start, problem.path.join('.'), `given twice${first ? ` (first on line ${first})` : ''}`);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      throw invalid(file, lineAt(firstAlias(doc.contents)) ?? start, undefined, `YAML aliases expand too much (${(err as Error).message}; at most ${MAX_ALIAS_COUNT} expansions)`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid(file, start, undefined, `a stack is a map with the keys name, ${STACK_KINDS.join(', ')}`);
    const parsed = StackFileSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      let path = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        path = [...path, issue.keys[0]!];
        const where = path.length === 1 ? `unknown key (a stack has name, ${STACK_KINDS.join(', ')})` : 'unknown key';
        throw invalid(file, locate(doc, path, lineAt) ?? start, path.join('.'), where);
      }
      throw invalid(file, locate(doc, path, lineAt) ?? start, path.length ? path.join('.') : undefined, issue.message);
    }
    const s = parsed.data;
    if (s.name !== undefined) {
      const line = locate(doc, ['name'], lineAt) ?? start;
      if (out.name && out.name.value !== s.name) throw invalid(file, line, 'name', `the stack is also named "${out.name.value}" (${out.name.file}:${out.name.line})`);
      out.name = { value: s.name, file, line };
    }
    for (const kind of STACK_KINDS) {
      const list = s[kind] as StackItems[typeof kind][] | undefined;
      if (!list) continue;
      list.forEach((value, i) => {
        const source = { file, line: locate(doc, [kind, String(i)], lineAt) ?? start, key: `${kind}.${i}` };
        const v = kind === 'images' ? resolveImage(value as ImageItem, dir) : value;
        (out.items[kind] as Sourced<unknown>[]).push({ value: v, source });
      });
    }
  }
  return out;
}

/**
 * Reads a stack from a file or a folder (its `*.yaml` and `*.yml` files, in name order, merged).
 * Throws `StackError` (`STACK_ERR_INVALID`, `STACK_ERR_DUPLICATE`) before anything is sent anywhere.
 */
export async function loadStack(fileOrDir: string | readonly string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<Stack> {
  const cwd = opts.cwd ?? process.cwd();
  const paths = typeof fileOrDir === 'string' ? [fileOrDir] : fileOrDir;
  if (paths.length === 0) throw new StackError(StackErrorCode.INVALID, 'give a stack file or a directory of them');
  const files = await expandPaths(paths, cwd);
  const parts: Parsed[] = [];
  for (const abs of files) {
    const file = display(abs, cwd);
    let text;
    try {
      text = await readCappedText(abs, MAX_STACK_FILE_BYTES, `file too large: a stack file is at most ${MAX_STACK_FILE_BYTES / 1024 / 1024} MiB; split it over several files in a folder`, opts.signal);
    } catch (err) {
      if (err instanceof CappedReadError) throw new StackError(StackErrorCode.INVALID, `${file}: ${err.message}`, { cause: err });
      throw err;
    }
    parts.push(parseStackText(text, file, dirname(abs)));
  }
  return mergeStacks(parts, files.length === 1 ? dirname(files[0]!) : resolve(cwd, paths[0]!));
}

/** Directories expanded to their `*.yaml` / `*.yml` files (sorted, not recursive). */
async function expandPaths(paths: readonly string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let s;
    try {
      s = await stat(abs);
    } catch {
      throw new StackError(StackErrorCode.INVALID, `${p}: no such file or directory`);
    }
    if (!s.isDirectory()) {
      out.push(abs);
      continue;
    }
    const names = (await readdir(abs)).filter((n) => extname(n) === '.yaml' || extname(n) === '.yml').sort();
    if (names.length === 0) throw new StackError(StackErrorCode.INVALID, `${p}: the directory has no .yaml or .yml files`);
    out.push(...names.map((n) => join(abs, n)));
  }
  return out;
}

/** A path as messages show it: relative to `cwd` when under it. */
function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel.startsWith('..') ? abs : rel;
}

/** Merges the parts of a stack; a name defined twice is an error that names both places. */
export function mergeStacks(parts: readonly Parsed[], baseDir = '.'): Stack {
  let name: Parsed['name'];
  const items = emptyItems();
  const seen = new Map<string, { file: string; line: number }>();
  for (const part of parts) {
    if (part.name) {
      if (name && name.value !== part.name.value) {
        throw invalid(part.name.file, part.name.line, 'name', `the stack is also named "${name.value}" (${name.file}:${name.line})`);
      }
      name ??= part.name;
    }
    for (const kind of STACK_KINDS) {
      for (const item of part.items[kind]) {
        const id = `${kind}:${keyOf(kind, item.value)}`;
        const before = seen.get(id);
        if (before) {
          throw new StackError(StackErrorCode.DUPLICATE, `${kind.replace(/_/g, ' ').replace(/s$/, '')} "${keyOf(kind, item.value)}" is defined twice: here and in ${before.file}:${before.line}`, {
            source: item.source,
            key: item.source.key,
          });
        }
        seen.set(id, item.source);
        (items[kind] as Sourced<unknown>[]).push(item);
      }
    }
  }
  if (!name) {
    const first = parts.flatMap((p) => STACK_KINDS.flatMap((k): Sourced<unknown>[] => p.items[k])).at(0);
    throw new StackError(StackErrorCode.INVALID, 'the stack has no name: add `name: my-stack` (it marks what the stack creates, so that --prune removes only that)', {
      source: first ? { file: first.source.file, line: 1 } : undefined,
      key: 'name',
    });
  }
  return { name: name.value, baseDir, items };
}

/** A stack from an object (a stack written in code, or an export), checked as a file would be. */
export function stackFromObject(data: unknown, file = '<object>'): Stack {
  const parsed = StackFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path.map(String), issue.keys[0]!] : issue.path.map(String);
    throw new StackError(StackErrorCode.INVALID, issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message, { key: path.join('.') || undefined });
  }
  const part: Parsed = { name: parsed.data.name ? { value: parsed.data.name, file, line: 1 } : undefined, items: emptyItems() };
  for (const kind of STACK_KINDS) {
    const list = parsed.data[kind] as StackItems[typeof kind][] | undefined;
    list?.forEach((value, i) => (part.items[kind] as Sourced<unknown>[]).push({ value, source: { file, line: 1, key: `${kind}.${i}` } }));
  }
  return mergeStacks([part]);
}
