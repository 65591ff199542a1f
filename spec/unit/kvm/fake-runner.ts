/** A recording CommandRunner for the KVM unit specs: answers by handler, records every call. */
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
