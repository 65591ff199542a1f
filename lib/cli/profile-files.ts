/**
 * Profiles kept as YAML files in the shape `lxc profile show` prints (`name`, `description`,
 * `config`, `devices`; `used_by` and `project` are accepted and ignored). A syntax or schema error
 * names the file, the line and the field; nothing is sent to LXD until every file is valid. Hostile
 * YAML is refused the same way: a file over 1 MiB (read no further than that), aliases that expand
 * too much ("billion laughs"), repeated keys (found in linear time) and `__proto__` keys, also through
 * an alias or a merge key.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, stringify, type Document } from 'yaml';
import { CappedReadError, checkKeys, firstAlias, locate, MAX_ALIAS_COUNT, readCappedText } from '../yaml-safe.js';

export { CappedReadError, checkKeys, firstAlias, locate, MAX_ALIAS_COUNT, readCappedText, type KeyProblem } from '../yaml-safe.js';
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
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

const StringValue = lazySchema(() => z.string({
  error: (issue) =>
    issue.input === null || issue.input === undefined
      ? 'must be a string, not empty (write "" for an empty value)'
      : typeof issue.input === 'object'
        ? 'must be a string, not a map or list'
        : `must be a string: quote it ("${String(issue.input)}")`,
}));

const ProfileFileSchema = lazySchema(() => z.strictObject({
  name: z.string({ error: 'is required: the profile name' }).min(1, 'must not be empty'),
  description: z.string({ error: 'must be a string' }).nullish(),
  config: z.record(z.string(), StringValue, { error: 'must be a map of key: "value"' }).nullish(),
  devices: z
    .record(z.string(), z.record(z.string(), StringValue, { error: 'must be a map of key: "value"' }), { error: 'must be a map of device name to device' })
    .nullish(),
  used_by: z.array(z.string()).nullish(),
  project: z.string().optional(),
}));

const EXTENSIONS = new Set(['.yaml', '.yml']);

/**
 * The largest profile file read (1 MiB): a profile is a few KB; a bigger file is refused before it is
 * parsed (parsing 1 MiB of YAML takes about a second and 150 MB).
 */
export const MAX_PROFILE_FILE_BYTES = 1024 * 1024;

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

function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel.startsWith('..') ? abs : rel;
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

/** The profile as `lxc profile show` prints it (keys sorted), for `profile show` and diffs. */
export function profileYaml(p: { name: string; description: string; config: Record<string, string>; devices: Record<string, Record<string, string>>; used_by?: string[] }): string {
  const sortMap = <T>(m: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const devices = Object.fromEntries(Object.entries(sortMap(p.devices)).map(([k, v]) => [k, sortMap(v)]));
  const out: Record<string, unknown> = { config: sortMap(p.config), description: p.description, devices, name: p.name };
  if (p.used_by) out['used_by'] = p.used_by;
  return stringify(out, { lineWidth: 0 });
}
