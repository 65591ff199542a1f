/**
 * The everyday `lxc` commands for any instance, named as `lxc` names them: `launch`, `init`, `list`,
 * `info`, `start`, `stop`, `restart`, `pause`, `delete`, `rename`.
 */
import { stringify } from 'yaml';
import { isNotFound } from '../../lxd/errors.js';
import type { LxdClient } from '../../lxd/client.js';
import type { Operation } from '../../lxd/operation.js';
import type { LxdInstance } from '../../lxd/schemas.js';
import type { InstancesPost } from '../../lxd/schemas.js';
import { validateInstanceName, validateNetworkName, validatePoolName, validateProfileName } from '../../lxd/validate.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode, exitCodeFor } from '../exit-codes.js';
import {
  DEFAULT_COLUMNS,
  MAX_PARALLEL,
  csvLine,
  humanBytes,
  matchesFilters,
  parseColumns,
  parseFilters,
  parseFormat,
  parseImageRef,
  parseKeyValues,
  settleLimited,
  type ListColumn,
} from '../instance-args.js';
import { terminalSafe } from '../log-pretty.js';
import { renderFields, renderTable } from '../output.js';

// ------------------------------------------------------------------------------------ launch, init

export interface LaunchOptions {
  /** -p: the profiles, instead of `default` (repeat for more). */
  profile?: string[];
  /** --no-profiles: none at all. */
  profiles?: boolean;
  /** -c KEY=VALUE (repeat for more). */
  config?: string[];
  /** -s: the storage pool of the root disk. */
  storage?: string;
  /** -n: eth0 on this network. */
  network?: string;
  vm?: boolean;
  ephemeral?: boolean;
  description?: string;
}

/** The request `launch` / `init` send, from the command line alone (checked before any I/O). */
export function launchBody(name: string, o: LaunchOptions): Omit<InstancesPost, 'source'> {
  validateInstanceName(name);
  const config = parseKeyValues(o.config ?? [], '-c');
  if (o.profiles === false && o.profile?.length) throw new CliError(ExitCode.USAGE, 'give either -p or --no-profiles, not both');
  for (const p of o.profile ?? []) validateProfileName(p);
  const devices: Record<string, Record<string, string>> = {};
  if (o.storage !== undefined) devices['root'] = { type: 'disk', path: '/', pool: validatePoolName(o.storage, '-s') };
  if (o.network !== undefined) devices['eth0'] = { type: 'nic', name: 'eth0', network: validateNetworkName(o.network, '-n') };
  const body: Omit<InstancesPost, 'source'> = { name, type: o.vm ? 'virtual-machine' : 'container', config, devices };
  if (o.profiles === false) body.profiles = [];
  else if (o.profile?.length) body.profiles = [...o.profile];
  if (o.ephemeral) body.ephemeral = true;
  if (o.description !== undefined) body.description = o.description;
  return body;
}

/** The fingerprint of an image given as `lxc` takes it: an alias first, else a fingerprint (or its prefix). */
async function resolveImage(ctx: CliContext, image: string): Promise<string> {
  const { name } = parseImageRef(image);
  const images = ctx.client().images;
  try {
    return (await images.getAlias(name, { signal: ctx.signal })).value.target;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (/^[0-9a-f]+$/.test(name)) {
    try {
      return (await images.get(name, { signal: ctx.signal })).value.fingerprint;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  throw new CliError(ExitCode.NOT_FOUND, `image "${image}" not found on the server: neither an alias nor a fingerprint (see lxc image list; lxdkit image import FILE --alias NAME)`);
}

/** How long the clean-up of an interrupted launch may take. */
const CLEANUP_MS = 60_000;

/**
 * Removes the instance an interrupted launch made (the name was free before it): waits for the
 * creation to end, stops the instance when it runs, deletes it, and says so. A creation request the
 * interruption cut short may still be made by the server: the name is looked for a few times.
 */
async function removeInterrupted(ctx: CliContext, client: LxdClient, name: string, pending: Operation | undefined, made: boolean): Promise<void> {
  const signal = AbortSignal.timeout(CLEANUP_MS);
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 500));
  ctx.io.stderr.write(`lxdkit: interrupted: removing ${name}\n`);
  try {
    if (pending) await pending.wait({ signal }).catch(() => {});
    let found: LxdInstance | undefined;
    // a request the interruption cut short may still be carried out: looked for a few times
    const looks = pending || made ? 1 : 4;
    for (let i = 0; i < looks && !found; i++) {
      if (i > 0) await pause();
      found = await client.instances.get(name, { signal }).then(
        (r) => r.value,
        (err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        },
      );
    }
    if (!found) {
      ctx.io.stderr.write(`lxdkit: ${name} was not made; nothing to remove\n`);
      return;
    }
    // a start whose request was cut short may still hold the instance ("busy"): tried again for a while
    for (let attempt = 1; ; attempt++) {
      try {
        const { value } = await client.instances.get(name, { signal });
        if (value.status_code !== 102) await (await client.instances.setState(name, { action: 'stop', force: true }, { signal })).wait({ signal });
        await (await client.instances.delete(name, { signal })).wait({ signal });
        break;
      } catch (err) {
        if (isNotFound(err)) break;
        if (attempt >= 10 || signal.aborted) throw err;
        await pause();
      }
    }
    ctx.io.stderr.write(`lxdkit: removed ${name}\n`);
  } catch (err) {
    ctx.io.stderr.write(`lxdkit: ${name} could not be removed (lxdkit delete -f ${name}): ${(err as Error).message}\n`);
  }
}

/** `launch` (start: true) and `init` (start: false). */
export async function launchCommand(ctx: CliContext, image: string, name: string, o: LaunchOptions, start: boolean): Promise<void> {
  const body = launchBody(name, o);
  parseImageRef(image);
  const client = ctx.client();
  const fingerprint = await resolveImage(ctx, image);
  // LXD reports a taken name only as a failed operation ("already exists"): told first, as a conflict
  const exists = await client.instances.get(name, { signal: ctx.signal }).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
  if (exists) throw new CliError(ExitCode.CONFLICT, `instance "${name}" exists already: pick another name, or lxdkit delete -f ${name} first`);
  // the operation under way (the creation, then the start), waited for before the clean-up
  let creation: Operation | undefined;
  let starting = false;
  try {
    ctx.note(`creating ${name}`);
    creation = await client.instances.create({ ...body, source: { type: 'image', fingerprint } }, { signal: ctx.signal });
    await creation.wait({ signal: ctx.signal });
    if (start) {
      ctx.note(`starting ${name}`);
      creation = undefined;
      starting = true;
      creation = await client.instances.setState(name, { action: 'start' }, { signal: ctx.signal });
      await creation.wait({ signal: ctx.signal });
    }
  } catch (err) {
    // interrupted (Ctrl-C, SIGTERM): what this launch made is removed, as the manager's abort does
    if (ctx.signal.aborted) await removeInterrupted(ctx, client, name, creation, starting);
    throw err;
  }
  const { value: made } = await client.instances.get(name, { signal: ctx.signal });
  const location = made.location && made.location !== 'none' ? made.location : undefined;
  const out = { name, image: fingerprint, type: made.type, status: made.status, profiles: made.profiles, location };
  ctx.print(out, () => `${start ? 'launched' : 'created'} ${name} (${made.type}, image ${fingerprint.slice(0, 12)}${location ? `, on ${location}` : ''})\n`);
}

// ------------------------------------------------------------------------------------ list

export interface ListOptions {
  format?: string;
  columns?: string;
}

export async function listCommand(ctx: CliContext, filterArgs: string[], o: ListOptions): Promise<void> {
  const format = parseFormat(o.format, ctx.json);
  const filters = parseFilters(filterArgs);
  const chosen = o.columns === undefined ? undefined : parseColumns(o.columns);
  const all = await ctx.client().instances.list({ recursion: 2, signal: ctx.signal });
  const rows = all.filter((i) => matchesFilters(i, filters));
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (format === 'yaml') {
    ctx.io.stdout.write(rows.length ? stringify(rows, { lineWidth: 0 }) : '[]\n');
    return;
  }
  const clustered = all.some((i) => i.location !== undefined && i.location !== '' && i.location !== 'none');
  const columns: ListColumn[] = chosen ?? parseColumns(DEFAULT_COLUMNS + (clustered ? 'L' : ''));
  if (format === 'csv') {
    ctx.io.stdout.write(rows.map((r) => csvLine(columns.map((c) => terminalSafe(c.value(r))))).join(''));
    return;
  }
  ctx.io.stdout.write(renderTable(rows, columns.map((c) => ({ header: c.header, value: c.value, right: c.right }))));
}

// ------------------------------------------------------------------------------------ info

const NEVER = '0001-01-01T00:00:00Z';

export async function infoCommand(ctx: CliContext, name: string): Promise<void> {
  validateInstanceName(name);
  const client = ctx.client();
  const [{ value: inst }, { value: state }, snaps] = await Promise.all([
    client.instances.get(name, { signal: ctx.signal }),
    client.instances.state(name, { signal: ctx.signal }),
    client.instances.snapshots.list(name, { signal: ctx.signal }),
  ]);
  const isRunning = state.status_code === 103 || state.status_code === 110;
  const network = Object.entries(state.network ?? {}).map(([iface, n]) => ({
    name: iface,
    type: n.type ?? '',
    state: n.state ?? '',
    hostName: n.host_name ?? '',
    mac: n.hwaddr ?? '',
    mtu: n.mtu,
    addresses: (n.addresses ?? []).map((a) => `${a.address}/${a.netmask} (${a.family === 'inet' ? 'inet' : a.family === 'inet6' ? 'inet6' : a.family}, ${a.scope})`),
  }));
  const snapshots = snaps.map((s) => ({ name: s.name, createdAt: s.created_at ?? '', expiresAt: s.expires_at && s.expires_at !== NEVER ? s.expires_at : null, stateful: s.stateful }));
  const out = {
    name: inst.name,
    status: inst.status,
    type: inst.type,
    architecture: inst.architecture,
    location: inst.location && inst.location !== 'none' ? inst.location : null,
    createdAt: inst.created_at ?? null,
    lastUsedAt: inst.last_used_at && !inst.last_used_at.startsWith('0001-') ? inst.last_used_at : null,
    profiles: inst.profiles,
    description: inst.description,
    pid: isRunning ? state.pid : null,
    processes: isRunning ? state.processes : null,
    resources: {
      cpuSeconds: state.cpu ? state.cpu.usage / 1e9 : null,
      memoryBytes: state.memory?.usage ?? null,
      disk: Object.fromEntries(Object.entries(state.disk ?? {}).map(([k, d]) => [k, d.usage])),
    },
    network,
    snapshots,
  };
  ctx.print(out, () => {
    const safe = (s: string | number | null | undefined): string | undefined => (s === null || s === undefined || s === '' ? undefined : terminalSafe(String(s)));
    const fields: [string, string | undefined][] = [
      ['name', safe(out.name)],
      ['status', safe(out.status.toUpperCase())],
      ['type', safe(out.type)],
      ['architecture', safe(out.architecture)],
      ...(out.location ? [['location', safe(out.location)] as [string, string | undefined]] : []),
      ['created', safe(out.createdAt?.replace(/\.\d+/, ''))],
      ['last used', safe(out.lastUsedAt?.replace(/\.\d+/, ''))],
      ['profiles', safe(out.profiles.join(', '))],
      ...(out.description ? [['description', safe(out.description)] as [string, string | undefined]] : []),
    ];
    let text = renderFields(fields);
    if (isRunning) {
      text += '\nresources:\n';
      const res: [string, string | undefined][] = [
        ['pid', safe(out.pid)],
        ['processes', safe(out.processes)],
        ['cpu usage', out.resources.cpuSeconds === null ? undefined : `${out.resources.cpuSeconds.toFixed(2)} s`],
        ['memory usage', out.resources.memoryBytes === null ? undefined : humanBytes(out.resources.memoryBytes)],
        ...Object.entries(out.resources.disk).map(([k, v]) => [`disk ${terminalSafe(k)}`, humanBytes(v)] as [string, string]),
      ];
      text += indent(renderFields(res));
      for (const n of network) {
        text += `  network ${terminalSafe(n.name)}:${n.type ? ` ${terminalSafe(n.type)}` : ''}${n.state ? `, ${terminalSafe(n.state)}` : ''}${n.mac ? `, ${terminalSafe(n.mac)}` : ''}\n`;
        for (const a of n.addresses) text += `    ${terminalSafe(a)}\n`;
      }
    }
    text += '\nsnapshots:\n';
    text += snapshots.length
      ? indent(
          renderTable(snapshots, [
            { header: 'name', value: (r) => r.name },
            { header: 'taken at', value: (r) => r.createdAt.replace(/\.\d+/, '') },
            { header: 'expires at', value: (r) => r.expiresAt?.replace(/\.\d+/, '') ?? 'never' },
            { header: 'stateful', value: (r) => (r.stateful ? 'yes' : 'no') },
          ]),
        )
      : '  (none)\n';
    return text;
  });
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

// ------------------------------------------------------------------------------------ one action, many instances

/** The outcome of one instance of a command over several. */
export interface EachResult {
  name: string;
  ok: boolean;
  error?: string;
  code?: string;
  exitCode?: number;
}

/**
 * Runs `fn` on each name (a few at a time), reports each success (`done NAME`) on stdout and each
 * failure on stderr, and exits with the first failure's exit code in the order given (0: all done).
 * With --json, an array of `{name, ok, error?, code?, exitCode?}`.
 */
async function eachInstance(ctx: CliContext, names: readonly string[], done: string, fn: (name: string) => Promise<void>): Promise<number> {
  const settled = await settleLimited(names, MAX_PARALLEL, fn);
  const results: EachResult[] = [];
  let code: number = ExitCode.OK;
  for (const [n, r] of settled.entries()) {
    const name = names[n]!;
    if (r.status === 'fulfilled') {
      results.push({ name, ok: true });
      if (!ctx.json) ctx.io.stdout.write(`${done} ${name}\n`);
      continue;
    }
    const err = r.reason as Error & { code?: unknown };
    const exitCode = ctx.signal.aborted ? ExitCode.INTERRUPTED : exitCodeFor(err);
    const message = isNotFound(err) ? `instance "${name}" not found` : err.message;
    results.push({ name, ok: false, error: message, ...(typeof err.code === 'string' ? { code: err.code } : {}), exitCode });
    if (code === ExitCode.OK) code = exitCode;
    if (!ctx.json) ctx.io.stderr.write(`lxdkit: ${name}: ${message}\n`);
  }
  if (ctx.json) ctx.print(results, () => '');
  return code;
}

/** The names a command over several instances acts on: those given, checked, or with --all those `all` selects. */
async function namesOrAll(ctx: CliContext, command: string, names: readonly string[], all: boolean | undefined, select: (i: LxdInstance) => boolean): Promise<string[]> {
  if (all && names.length) throw new CliError(ExitCode.USAGE, `${command}: give instance names or --all, not both`);
  if (!all && !names.length) throw new CliError(ExitCode.USAGE, `${command}: give one or more instance names, or --all`);
  for (const n of names) validateInstanceName(n);
  if (!all) return [...new Set(names)];
  return (await ctx.client().instances.list({ recursion: 1, signal: ctx.signal })).filter(select).map((i) => i.name);
}

export type StateCommand = 'start' | 'stop' | 'restart' | 'pause';

const RUNNING = 103;
const FROZEN = 110;
const STOPPED = 102;

export async function stateCommand(ctx: CliContext, command: StateCommand, names: string[], o: { all?: boolean; force?: boolean }): Promise<number> {
  if (o.force && (command === 'start' || command === 'pause')) throw new CliError(ExitCode.USAGE, `${command}: -f is for stop and restart`);
  const select: Record<StateCommand, (i: LxdInstance) => boolean> = {
    start: (i) => i.status_code === STOPPED || i.status_code === FROZEN,
    stop: (i) => i.status_code === RUNNING || i.status_code === FROZEN,
    restart: (i) => i.status_code === RUNNING,
    pause: (i) => i.status_code === RUNNING,
  };
  const targets = await namesOrAll(ctx, command, names, o.all, select[command]);
  const client = ctx.client();
  const done = { start: 'started', stop: 'stopped', restart: 'restarted', pause: 'paused' }[command];
  return eachInstance(ctx, targets, done, async (name) => {
    let action: 'start' | 'stop' | 'restart' | 'freeze' | 'unfreeze' = command === 'pause' ? 'freeze' : command;
    // as lxc does: start resumes a paused instance
    if (command === 'start' && (await client.instances.get(name, { signal: ctx.signal })).value.status_code === FROZEN) action = 'unfreeze';
    const change = o.force ? { action, force: true } : { action };
    await (await client.instances.setState(name, change, { signal: ctx.signal })).wait({ signal: ctx.signal });
  });
}

// ------------------------------------------------------------------------------------ delete, rename

/** `NAME` or `NAME/SNAPSHOT`, checked. */
function splitSnapshot(target: string): { instance: string; snapshot?: string } {
  const slash = target.indexOf('/');
  if (slash < 0) return { instance: validateInstanceName(target) };
  const snapshot = target.slice(slash + 1);
  if (snapshot === '' || snapshot.includes('/')) throw new CliError(ExitCode.INVALID_INPUT, `"${target}" is neither an instance nor INSTANCE/SNAPSHOT`);
  return { instance: validateInstanceName(target.slice(0, slash)), snapshot };
}

export async function deleteCommand(ctx: CliContext, targets: string[], o: { force?: boolean }): Promise<number> {
  if (!targets.length) throw new CliError(ExitCode.USAGE, 'delete: give one or more instance names');
  const parsed = new Map(targets.map((t) => [t, splitSnapshot(t)]));
  const client = ctx.client();
  return eachInstance(ctx, [...parsed.keys()], 'deleted', async (target) => {
    const { instance, snapshot } = parsed.get(target)!;
    if (snapshot !== undefined) {
      await (await client.instances.snapshots.delete(instance, snapshot, { signal: ctx.signal })).wait({ signal: ctx.signal });
      return;
    }
    const { value } = await client.instances.get(instance, { signal: ctx.signal });
    if (value.status_code !== STOPPED) {
      if (!o.force) throw new CliError(ExitCode.LXD_FAILED, `instance "${instance}" is ${value.status.toLowerCase()}: stop it first, or give -f to stop and delete it`);
      await (await client.instances.setState(instance, { action: 'stop', force: true }, { signal: ctx.signal })).wait({ signal: ctx.signal });
    }
    await (await client.instances.delete(instance, { signal: ctx.signal })).wait({ signal: ctx.signal });
  });
}

export async function renameCommand(ctx: CliContext, from: string, to: string): Promise<void> {
  validateInstanceName(from);
  validateInstanceName(to, 'new instance name');
  if (from === to) throw new CliError(ExitCode.INVALID_INPUT, `rename: "${from}" already has that name`);
  await (await ctx.client().instances.rename(from, to, { signal: ctx.signal })).wait({ signal: ctx.signal });
  ctx.print({ from, to }, () => `renamed ${from} to ${to}\n`);
}
