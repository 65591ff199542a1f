/**
 * An instance's configuration, as `lxc` changes it: `config get|set|unset|show|edit`, `config device
 * add|remove|list|show`, `profile assign|add|remove`. Every change reads the instance with its ETag
 * and writes it back with it: a change made by someone else in between exits 5, and nothing is lost.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { instanceWritable, InstancePutSchema, type InstancePut, type LxdInstance } from '../../lxd/schemas.js';
import { validateBody, validateInstanceName, validateProfileName } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { checkDeviceName, checkKey, parseKeyValues } from '../instance-args.js';
import { terminalSafe } from '../log-pretty.js';
import { MAX_ALIAS_COUNT, MAX_PROFILE_FILE_BYTES } from '../profile-files.js';

/** Reads the instance, lets `change` modify its writable part, and writes it back with the ETag read. */
async function modify(ctx: CliContext, name: string, change: (put: InstancePut, inst: LxdInstance) => void): Promise<InstancePut> {
  validateInstanceName(name);
  const client = ctx.client();
  const { value, etag } = await client.instances.get(name, { signal: ctx.signal });
  const put = instanceWritable(value);
  change(put, value);
  await (await client.instances.update(name, put, { etag, signal: ctx.signal })).wait({ signal: ctx.signal });
  return put;
}

/** Sets a property that may be `__proto__`-like safely (config keys come from the command line). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

async function yamlText(value: unknown): Promise<string> {
  return stringify(value, { lineWidth: 0, indentSeq: false });
}

// ------------------------------------------------------------------------------------ config get|set|unset|show

export async function configGet(ctx: CliContext, name: string, key: string, o: { expanded?: boolean }): Promise<void> {
  validateInstanceName(name);
  checkKey(key, 'config get');
  const { value } = await ctx.client().instances.get(name, { signal: ctx.signal });
  const config = o.expanded ? (value.expanded_config ?? value.config) : value.config;
  const v = Object.hasOwn(config, key) ? config[key] : undefined;
  ctx.print({ name, key, value: v ?? null }, () => `${terminalSafe(v ?? '')}\n`);
}

/** `config set NAME KEY=VALUE…`, or `lxc`'s older `config set NAME KEY VALUE`. */
export function configSetPairs(args: readonly string[]): Record<string, string> {
  if (args.length === 0) throw new CliError(ExitCode.USAGE, 'config set: give KEY=VALUE pairs after the instance name');
  if (args.length === 2 && !args[0]!.includes('=')) return parseKeyValues([`${args[0]}=${args[1]}`], 'config set');
  return parseKeyValues(args, 'config set');
}

export async function configSet(ctx: CliContext, name: string, args: string[]): Promise<void> {
  validateInstanceName(name);
  const pairs = configSetPairs(args);
  await modify(ctx, name, (put) => {
    for (const [k, v] of Object.entries(pairs)) setOwn(put.config, k, v);
  });
  ctx.print({ name, set: pairs }, () => Object.keys(pairs).map((k) => `set ${k} on ${name}\n`).join(''));
}

export async function configUnset(ctx: CliContext, name: string, keys: string[]): Promise<void> {
  validateInstanceName(name);
  if (!keys.length) throw new CliError(ExitCode.USAGE, 'config unset: give the keys to remove');
  for (const k of keys) checkKey(k, 'config unset');
  await modify(ctx, name, (put) => {
    for (const k of keys) {
      if (!Object.hasOwn(put.config, k)) throw new CliError(ExitCode.NOT_FOUND, `config unset: ${k} is not set on ${name}`);
      delete put.config[k];
    }
  });
  ctx.print({ name, unset: keys }, () => keys.map((k) => `unset ${k} on ${name}\n`).join(''));
}

/** The instance as `config show` prints it and `config edit` takes it: its writable fields. */
function shown(inst: LxdInstance, expanded: boolean): InstancePut {
  const put = instanceWritable(inst);
  if (expanded) {
    put.config = { ...(inst.expanded_config ?? inst.config) };
    put.devices = { ...(inst.expanded_devices ?? inst.devices) };
  }
  return put;
}

export async function configShow(ctx: CliContext, name: string, o: { expanded?: boolean }): Promise<void> {
  validateInstanceName(name);
  const { value } = await ctx.client().instances.get(name, { signal: ctx.signal });
  const put = shown(value, o.expanded === true);
  const text = await yamlText(put);
  ctx.print(put, () => text);
}

// ------------------------------------------------------------------------------------ config edit

/** Any `__proto__` key, at any depth, of what YAML gave. */
function protoPath(v: unknown, path: string[] = []): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, child] of Object.entries(v)) {
    if (k === '__proto__') return [...path, k].join('.');
    const found = protoPath(child, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/**
 * What `config edit` takes: the YAML `config show` prints (the writable fields), checked as the
 * request body is. A syntax error, a repeated key, an alias bomb, a `__proto__` key or an unknown
 * field exits 3 and changes nothing.
 */
export async function parseInstanceYaml(text: string, source: string): Promise<InstancePut> {
  if (Buffer.byteLength(text) > MAX_PROFILE_FILE_BYTES) throw new CliError(ExitCode.INVALID_INPUT, `${source}: larger than ${MAX_PROFILE_FILE_BYTES} bytes`);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) throw new CliError(ExitCode.INVALID_INPUT, `${source}:${lines.linePos(first.pos[0]).line}: ${first.message.split('\n')[0]}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${source}: ${(err as Error).message}`);
  }
  const proto = protoPath(value);
  if (proto) throw new CliError(ExitCode.INVALID_INPUT, `${source}: ${proto}: "__proto__" is not a key`);
  try {
    return validateBody(InstancePutSchema, value, 'instance');
  } catch (err) {
    throw new CliError(ExitCode.INVALID_INPUT, `${source}: ${(err as Error).message}`, { cause: err });
  }
}

function sameInstance(a: InstancePut, b: InstancePut): boolean {
  const norm = (p: InstancePut): string =>
    JSON.stringify({
      architecture: p.architecture ?? '',
      config: Object.fromEntries(Object.entries(p.config).sort()),
      devices: Object.fromEntries(Object.entries(p.devices).sort().map(([k, d]) => [k, Object.fromEntries(Object.entries(d).sort())])),
      ephemeral: p.ephemeral ?? false,
      profiles: p.profiles,
      description: p.description ?? '',
      stateful: p.stateful ?? false,
    });
  return norm(a) === norm(b);
}

/** Runs `$VISUAL` / `$EDITOR` (default `vi`) on `file`, through the shell as git does (an editor may have arguments). */
async function runEditor(ctx: CliContext, file: string): Promise<void> {
  const editor = ctx.io.env['VISUAL'] || ctx.io.env['EDITOR'] || 'vi';
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', signal: ctx.signal });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
  });
  if (code !== 0) throw new CliError(ExitCode.INVALID_INPUT, `config edit: the editor (${editor}) exited with status ${code}: nothing changed`);
}

/**
 * `config edit NAME`: the instance's writable fields as YAML, in `$EDITOR` on a temporary file (or,
 * as `lxc` does, read from stdin when stdin is not a terminal), written back with the ETag read.
 */
export async function configEdit(ctx: CliContext, name: string): Promise<void> {
  validateInstanceName(name);
  const client = ctx.client();
  const { value, etag } = await client.instances.get(name, { signal: ctx.signal });
  const before = shown(value, false);
  const stdin = ctx.io.stdin;
  let text: string;
  let source: string;
  if (stdin && stdin.isTTY !== true) {
    text = await readLimited(stdin, MAX_PROFILE_FILE_BYTES);
    source = '<stdin>';
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'lxdkit-edit-'));
    const file = join(dir, `${name}.yaml`);
    try {
      await writeFile(file, `### Edit the configuration of instance ${name}; lines starting with # are ignored.\n${await yamlText(before)}`, { mode: 0o600 });
      await runEditor(ctx, file);
      text = await readFile(file, 'utf8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    source = 'the edited file';
  }
  const after = await parseInstanceYaml(text, source);
  if (sameInstance(before, after)) {
    ctx.print({ name, changed: false }, () => `unchanged ${name}\n`);
    return;
  }
  await (await client.instances.update(name, after, { etag, signal: ctx.signal })).wait({ signal: ctx.signal });
  ctx.print({ name, changed: true }, () => `updated ${name}\n`);
}

async function readLimited(stream: AsyncIterable<unknown>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > max) throw new CliError(ExitCode.INVALID_INPUT, `config edit: stdin is larger than ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ------------------------------------------------------------------------------------ config device

export async function deviceAdd(ctx: CliContext, name: string, device: string, type: string, pairs: string[]): Promise<void> {
  validateInstanceName(name);
  checkDeviceName(device);
  if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new CliError(ExitCode.INVALID_INPUT, `config device add: "${type}" is not a device type (disk, nic, unix-char, proxy, …)`);
  const fields = parseKeyValues(pairs, 'config device add');
  if (Object.hasOwn(fields, 'type')) throw new CliError(ExitCode.USAGE, 'config device add: the type is the third argument, not type=');
  await modify(ctx, name, (put) => {
    if (Object.hasOwn(put.devices, device)) throw new CliError(ExitCode.CONFLICT, `device "${device}" already exists on ${name} (config device remove it first)`);
    setOwn(put.devices, device, { type, ...fields });
  });
  ctx.print({ name, device, added: { type, ...fields } }, () => `added device ${device} to ${name}\n`);
}

export async function deviceRemove(ctx: CliContext, name: string, devices: string[]): Promise<void> {
  validateInstanceName(name);
  if (!devices.length) throw new CliError(ExitCode.USAGE, 'config device remove: give the devices to remove');
  for (const d of devices) checkDeviceName(d);
  await modify(ctx, name, (put, inst) => {
    for (const d of devices) {
      if (Object.hasOwn(put.devices, d)) {
        delete put.devices[d];
      } else if (inst.expanded_devices && Object.hasOwn(inst.expanded_devices, d)) {
        throw new CliError(ExitCode.INVALID_INPUT, `device "${d}" of ${name} comes from a profile: change the profile, or override the device on the instance`);
      } else {
        throw new CliError(ExitCode.NOT_FOUND, `device "${d}" not found on ${name}`);
      }
    }
  });
  ctx.print({ name, removed: devices }, () => devices.map((d) => `removed device ${d} from ${name}\n`).join(''));
}

export async function deviceList(ctx: CliContext, name: string): Promise<void> {
  validateInstanceName(name);
  const { value } = await ctx.client().instances.get(name, { signal: ctx.signal });
  const names = Object.keys(value.devices).sort();
  ctx.print(names, () => names.map((n) => `${terminalSafe(n)}\n`).join(''));
}

export async function deviceShow(ctx: CliContext, name: string): Promise<void> {
  validateInstanceName(name);
  const { value } = await ctx.client().instances.get(name, { signal: ctx.signal });
  const text = await yamlText(value.devices);
  ctx.print(value.devices, () => text);
}

// ------------------------------------------------------------------------------------ profile assign|add|remove

function print(ctx: CliContext, name: string, put: InstancePut, text: string): void {
  ctx.print({ name, profiles: put.profiles }, () => text);
}

/** `profile assign NAME P1,P2` (`""`: no profiles): the instance's profiles become exactly these, in order. */
export async function profileAssign(ctx: CliContext, name: string, list: string): Promise<void> {
  validateInstanceName(name);
  const profiles = list === '' ? [] : list.split(',');
  for (const p of profiles) validateProfileName(p);
  if (new Set(profiles).size !== profiles.length) throw new CliError(ExitCode.INVALID_INPUT, `profile assign: "${list}" names a profile twice`);
  const put = await modify(ctx, name, (p) => {
    p.profiles = profiles;
  });
  print(ctx, name, put, profiles.length ? `profiles ${profiles.join(',')} applied to ${name}\n` : `profiles removed from ${name}\n`);
}

export async function profileAdd(ctx: CliContext, name: string, profile: string): Promise<void> {
  validateInstanceName(name);
  validateProfileName(profile);
  const put = await modify(ctx, name, (p) => {
    if (p.profiles.includes(profile)) throw new CliError(ExitCode.CONFLICT, `profile ${profile} is applied to ${name} already`);
    p.profiles = [...p.profiles, profile];
  });
  print(ctx, name, put, `profile ${profile} added to ${name}\n`);
}

export async function profileRemove(ctx: CliContext, name: string, profile: string): Promise<void> {
  validateInstanceName(name);
  validateProfileName(profile);
  const put = await modify(ctx, name, (p) => {
    if (!p.profiles.includes(profile)) throw new CliError(ExitCode.NOT_FOUND, `profile ${profile} is not applied to ${name}`);
    p.profiles = p.profiles.filter((x) => x !== profile);
  });
  print(ctx, name, put, `profile ${profile} removed from ${name}\n`);
}

// ------------------------------------------------------------------------------------ shell, console

/** `shell NAME`: a login shell in the instance, as `lxc shell` runs it (`su -l`), a pty on a terminal. */
export async function shellCommand(ctx: CliContext, name: string, o: { forceInteractive?: boolean; forceNoninteractive?: boolean }): Promise<number> {
  validateInstanceName(name);
  const { execCommand } = await import('./exec.js');
  return execCommand(ctx, name, ['su', '-l'], o);
}

/**
 * `console NAME --show-log`: the console log. On a terminal its control characters are shown escaped
 * (the log is whatever the instance wrote); piped, it is written as it is.
 */
export async function consoleCommand(ctx: CliContext, name: string, o: { showLog?: boolean }): Promise<void> {
  validateInstanceName(name);
  if (!o.showLog) {
    throw new CliError(ExitCode.USAGE, `console: attaching to the console is not supported yet; lxdkit console ${name} --show-log prints its log (lxdkit shell ${name} gives a shell)`);
  }
  const log = await ctx.client().instances.console.log(name, { signal: ctx.signal });
  ctx.print({ name, log }, () => (ctx.io.stdout.isTTY ? log.split('\n').map(terminalSafe).join('\n') : log));
}
