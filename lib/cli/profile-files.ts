/**
 * Profiles kept as YAML files in the shape `lxc profile show` prints (`name`, `description`,
 * `config`, `devices`; `used_by` and `project` are accepted and ignored). A syntax or schema error
 * names the file, the line and the field; nothing is sent to LXD until every file is valid. Hostile
 * YAML is refused the same way: a file over 1 MiB (read no further than that), aliases that expand
 * too much ("billion laughs"), repeated keys (found in linear time) and `__proto__` keys, also through
 * an alias or a merge key.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { AllowedDeviceTypes, ForbiddenConfigPrefixes, validateProfile } from '../lxdprofile/profile.js';
import { validateProfileName } from '../lxd/validate.js';
import { CliError, ExitCode } from './exit-codes.js';

/** One profile read from a file. */
export interface ProfileDoc {
  name: string;
  description: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  /** The file, as given (relative to the working directory when under it). */
  file: string;
  /** 1-based line where the profile's document starts. */
  line: number;
}

/** A profile file that cannot be used: carries the file, line and field. Exit code 3. */
export class ProfileFileError extends CliError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(ExitCode.INVALID_INPUT, `${file}${line ? `:${line}` : ''}: ${field ? `${field}: ` : ''}${reason}`);
  }
}

const StringValue = z.string({
  error: (issue) =>
    issue.input === null || issue.input === undefined
      ? 'must be a string, not empty (write "" for an empty value)'
      : typeof issue.input === 'object'
        ? 'must be a string, not a map or list'
        : `must be a string: quote it ("${String(issue.input)}")`,
});

const ProfileFileSchema = z.strictObject({
  name: z.string({ error: 'is required: the profile name' }).min(1, 'must not be empty'),
  description: z.string({ error: 'must be a string' }).nullish(),
  config: z.record(z.string(), StringValue, { error: 'must be a map of key: "value"' }).nullish(),
  devices: z
    .record(z.string(), z.record(z.string(), StringValue, { error: 'must be a map of key: "value"' }), { error: 'must be a map of device name to device' })
    .nullish(),
  used_by: z.array(z.string()).nullish(),
  project: z.string().optional(),
});

const EXTENSIONS = new Set(['.yaml', '.yml']);

/**
 * The `yaml` package's limit on alias expansion (its own default, spelled out): converting a document
 * fails once the aliases of one anchor, times the aliases nested in it, pass this. A "billion laughs"
 * document is refused after a few dozen steps, before anything is expanded.
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * Keys refused anywhere in a profile file, also when written through an alias (`*k :`) or brought in
 * by a merge key (`<<`): `__proto__` would be dropped or set an object's prototype.
 */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/**
 * The largest profile file read (1 MiB): a profile is a few KB; a bigger file is refused before it is
 * parsed (parsing 1 MiB of YAML takes about a second and 150 MB).
 */
export const MAX_PROFILE_FILE_BYTES = 1024 * 1024;

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

/** Expands directories to their `*.yaml` / `*.yml` files (sorted, not recursive). */
export async function expandPaths(paths: readonly string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let s;
    try {
      s = await stat(abs);
    } catch {
      throw new ProfileFileError(p, undefined, undefined, 'no such file or directory');
    }
    if (s.isDirectory()) {
      const names = (await readdir(abs)).filter((n) => EXTENSIONS.has(extname(n))).sort();
      if (names.length === 0) throw new ProfileFileError(p, undefined, undefined, 'directory has no .yaml or .yml files');
      out.push(...names.map((n) => join(abs, n)));
    } else {
      out.push(abs);
    }
  }
  return out;
}

export function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel.startsWith('..') ? abs : rel;
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

/** The text of one profile file, up to `MAX_PROFILE_FILE_BYTES` (see `readCappedText`). */
async function readProfileFile(abs: string, file: string, signal?: AbortSignal): Promise<string> {
  try {
    return await readCappedText(abs, MAX_PROFILE_FILE_BYTES, `file too large: a profile file is at most ${MAX_PROFILE_FILE_BYTES / 1024 / 1024} MiB (${MAX_PROFILE_FILE_BYTES} bytes); split the profiles over several files`, signal);
  } catch (err) {
    if (err instanceof CappedReadError) throw new ProfileFileError(file, undefined, undefined, err.message);
    throw err;
  }
}

/** Reads and validates profile files (and directories of them). Duplicate names are an error. */
export async function loadProfileFiles(paths: readonly string[], cwd: string, opts: { charm?: boolean; signal?: AbortSignal | undefined } = {}): Promise<ProfileDoc[]> {
  if (paths.length === 0) throw new CliError(ExitCode.USAGE, 'give at least one profile file or directory');
  const docs: ProfileDoc[] = [];
  const seen = new Map<string, ProfileDoc>();
  for (const abs of await expandPaths(paths, cwd)) {
    const file = display(abs, cwd);
    const text = await readProfileFile(abs, file, opts.signal);
    for (const doc of parseProfileText(text, file, opts)) {
      const before = seen.get(doc.name);
      if (before) throw new ProfileFileError(file, doc.line, 'name', `profile "${doc.name}" is also defined in ${before.file}:${before.line}`);
      seen.set(doc.name, doc);
      docs.push(doc);
    }
  }
  return docs;
}

/** Parses the text of one file (one or more YAML documents, one profile each). */
export function parseProfileText(text: string, file: string, opts: { charm?: boolean } = {}): ProfileDoc[] {
  const lc = new LineCounter();
  // duplicate keys are found by checkKeys: linear, where the parser's own check compares each key with
  // every key before it (40,000 keys took seconds)
  const documents = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (!Array.isArray(documents)) throw new ProfileFileError(file, undefined, undefined, 'not a YAML document stream');
  const out: ProfileDoc[] = [];
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lc.linePos(offset).line);
  for (const doc of documents) {
    const bad = doc.errors[0];
    if (bad) throw new ProfileFileError(file, bad.linePos?.[0].line ?? lineAt(bad.pos[0]), undefined, `YAML syntax: ${bad.message.split('\n')[0]}`);
    if (doc.contents === null) continue;
    const start = lineAt(doc.contents.range?.[0]) ?? 1;
    const problem = checkKeys(doc.contents);
    if (problem?.kind === 'forbidden') {
      throw new ProfileFileError(file, lineAt(problem.offset) ?? start, problem.path.join('.'), `the key "${problem.path.at(-1)}" is not allowed in a profile file`);
    }
    if (problem?.kind === 'duplicate') {
      const first = lineAt(problem.first);
      throw new ProfileFileError(file, lineAt(problem.offset) ?? start, undefined, `YAML syntax: Map keys must be unique: ${problem.path.join('.')} is given twice${first ? ` (first on line ${first})` : ''}`);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ProfileFileError(file, lineAt(firstAlias(doc.contents)) ?? start, undefined, `YAML aliases expand too much (${why}; at most ${MAX_ALIAS_COUNT} expansions)`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new ProfileFileError(file, start, undefined, 'a profile must be a map with name, description, config and devices');
    }
    const parsed = ProfileFileSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      let path = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0]!;
        path = [...path, key];
        throw new ProfileFileError(file, locate(doc, path, lineAt) ?? start, path.join('.'), `unknown field (a profile has name, description, config and devices)`);
      }
      throw new ProfileFileError(file, locate(doc, path, lineAt) ?? start, path.length ? path.join('.') : undefined, issue.message);
    }
    const p = parsed.data;
    try {
      validateProfileName(p.name);
    } catch (err) {
      throw new ProfileFileError(file, locate(doc, ['name'], lineAt) ?? start, 'name', (err as Error).message.replace(/^profile name: /, ''));
    }
    const profile: ProfileDoc = {
      name: p.name,
      description: p.description ?? '',
      config: p.config ?? {},
      devices: p.devices ?? {},
      file,
      line: start,
    };
    if (opts.charm) checkCharmRules(doc, profile, lineAt);
    out.push(profile);
  }
  if (out.length === 0) throw new ProfileFileError(file, 1, undefined, 'no profile in this file');
  return out;
}

/** Juju's charm lxd-profile rules (`validateProfile`), with the line of the offending device or key. */
function checkCharmRules(doc: Document, p: ProfileDoc, lineAt: (o: number | undefined) => number | undefined): void {
  try {
    validateProfile({ config: p.config, description: p.description, devices: p.devices });
  } catch (err) {
    let path: string[] = [];
    for (const [name, device] of Object.entries(p.devices)) {
      const t = device['type'];
      if (t !== undefined && !AllowedDeviceTypes.includes(t)) {
        path = ['devices', name, 'type'];
        break;
      }
    }
    if (path.length === 0) {
      const key = Object.keys(p.config).find((k) => ForbiddenConfigPrefixes.some((prefix) => k.startsWith(prefix)));
      if (key !== undefined) path = ['config', key];
    }
    throw new ProfileFileError(p.file, locate(doc, path, lineAt) ?? p.line, path.join('.') || undefined, `not allowed in a charm profile: ${(err as Error).message}`);
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

/** The profile as `lxc profile show` prints it (keys sorted), for `profile show` and diffs. */
export function profileYaml(p: { name: string; description: string; config: Record<string, string>; devices: Record<string, Record<string, string>>; used_by?: string[] }): string {
  const sortMap = <T>(m: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const devices = Object.fromEntries(Object.entries(sortMap(p.devices)).map(([k, v]) => [k, sortMap(v)]));
  const out: Record<string, unknown> = { config: sortMap(p.config), description: p.description, devices, name: p.name };
  if (p.used_by) out['used_by'] = p.used_by;
  return stringify(out, { lineWidth: 0 });
}
