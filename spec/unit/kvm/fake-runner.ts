/** A recording CommandRunner for the KVM unit specs: answers by handler, records every call. */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { KvmCommandError, KvmErrorCode, type CommandResult, type CommandRunner, type RunOptions } from '../../../lib/container/kvm/index.js';

export interface Call {
  command: string;
  args: string[];
  cwd: string | undefined;
}

export type Handler = (command: string, args: string[], opts: RunOptions) => Partial<CommandResult> | Error | undefined | Promise<Partial<CommandResult> | Error | undefined>;

/** A failure as the real runner reports it. */
export function failure(command: string, args: string[], stderr: string, exitCode = 1): KvmCommandError {
  return new KvmCommandError(
    KvmErrorCode.COMMAND_FAILED,
    `\`${[command, ...args].join(' ')}\` failed (exit ${exitCode}): ${stderr.trim()}`,
    { command, args, exitCode, stderr, stdout: '' },
  );
}

export function fakeRunner(handler: Handler = () => undefined): CommandRunner & { calls: Call[]; lines(): string[] } {
  const calls: Call[] = [];
  const run = (async (command: string, args: readonly string[], opts: RunOptions = {}) => {
    calls.push({ command, args: [...args], cwd: opts.cwd });
    const r = await handler(command, [...args], opts);
    if (r instanceof Error) throw r;
    return { stdout: r?.stdout ?? '', stderr: r?.stderr ?? '' };
  }) as CommandRunner & { calls: Call[]; lines(): string[] };
  run.calls = calls;
  run.lines = () => calls.map((c) => [c.command, ...c.args].join(' '));
  return run;
}

/** A domain of the fake libvirt. */
export interface FakeDomain {
  uuid: string;
  state: 'running' | 'shut off';
  autostart: boolean;
}

/** Like a Handler, with `next()` doing what the fake host does for the call. */
export type HostHandler = (
  command: string,
  args: string[],
  opts: RunOptions,
  next: () => Promise<Partial<CommandResult> | Error | undefined>,
) => ReturnType<Handler>;

/**
 * A fake host for the KVM manager: libvirt's domains in a map (`virsh` define, start, autostart,
 * destroy, undefine, domstate, domuuid, list answer and fail as the real one does), and
 * `genisoimage` / `qemu-img create` writing their output files (into an existing file, keeping its
 * mode, as the real programs do). `handler` sees every call first; `next()` runs the fake's own.
 */
export function fakeHost(handler?: HostHandler): { run: ReturnType<typeof fakeRunner>; domains: Map<string, FakeDomain> } {
  const domains = new Map<string, FakeDomain>();
  const own = (command: string, args: string[]): Partial<CommandResult> | Error | undefined => {
    if (command === 'genisoimage') {
      writeFileSync(args[args.indexOf('-output') + 1]!, 'ISO 9660');
      return undefined;
    }
    if (command === 'qemu-img') {
      if (args[0] === 'info') return { stdout: JSON.stringify({ format: 'raw', 'virtual-size': 1 }) };
      if (args[0] === 'create') writeFileSync(args.at(-2)!, 'QCOW overlay');
      return undefined;
    }
    if (command !== 'virsh') return undefined;
    const verb = args.find((a) => !a.startsWith('-') && a !== args[args.indexOf('-c') + 1])!;
    const name = args.at(-1)!;
    const domain = domains.get(name);
    const notFound = (): Error => failure(command, args, `error: failed to get domain '${name}'`);
    switch (verb) {
      case 'define': {
        const xml = readFileSync(name, 'utf8');
        const n = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? '';
        const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1] ?? randomUUID();
        const existing = domains.get(n);
        if (existing !== undefined && existing.uuid !== uuid) {
          return failure(command, args, `error: operation failed: domain '${n}' already exists with uuid ${existing.uuid}`);
        }
        domains.set(n, existing ?? { uuid, state: 'shut off', autostart: false });
        return { stdout: `Domain '${n}' defined from ${name}\n` };
      }
      case 'start':
        if (domain === undefined) return notFound();
        if (domain.state === 'running') return failure(command, args, 'error: Requested operation is not valid: domain is already active');
        domain.state = 'running';
        return undefined;
      case 'autostart':
        if (domain === undefined) return notFound();
        domain.autostart = true;
        return undefined;
      case 'destroy':
        if (domain === undefined) return notFound();
        if (domain.state !== 'running') return failure(command, args, 'error: Requested operation is not valid: domain is not running');
        domain.state = 'shut off';
        return undefined;
      case 'undefine':
        if (domain === undefined) return notFound();
        domains.delete(name);
        return undefined;
      case 'domstate':
        return domain === undefined ? notFound() : { stdout: `${domain.state}\n\n` };
      case 'domuuid':
        return domain === undefined ? notFound() : { stdout: `${domain.uuid}\n\n` };
      case 'list':
        return {
          stdout: [...domains]
            .map(([n, d], i) => ` ${d.state === 'running' ? String(i + 1) : '-'}    ${n}    ${d.state}`)
            .join('\n'),
        };
      default:
        return undefined;
    }
  };
  const run = fakeRunner((command, args, opts) => {
    const next = async (): Promise<Partial<CommandResult> | Error | undefined> => own(command, args);
    return handler ? handler(command, args, opts, next) : next();
  });
  return { run, domains };
}
