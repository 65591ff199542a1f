/**
 * `lxdkit __complete`: the completion candidates, with names from the server. A server that does not
 * answer within `COMPLETION_TIMEOUT_MS`, or any error, gives no candidates (never an error message).
 */
import type { Command } from 'commander';
import { silentLogger } from '../logger.js';
import { CliContext, type GlobalOptions } from './context.js';
import { COMPLETION_TIMEOUT_MS, completeWords, type CompletionSources, type SeenOptions } from './completion.js';
import type { CliIo } from './io.js';
import { configDir, loadRemotesConfig, LOCAL_REMOTE } from './remote-config.js';

const GLOBALS = ['server', 'socket', 'project', 'remote', 'clientCert', 'clientKey', 'serverCert', 'ca'] as const;

/** The candidates for `words` (`__complete`'s arguments, after an optional `--`). */
export async function completeFor(program: Command, words: readonly string[], io: CliIo): Promise<string[]> {
  const w = words[0] === '--' ? words.slice(1) : [...words];
  // completion reads no stdin: not a spread, which would make its stream (io.ts)
  const quiet: CliIo = { env: io.env, cwd: io.cwd, stdout: { write: () => true }, stderr: { write: () => true } };
  const contexts: CliContext[] = [];
  const names = async (seen: SeenOptions, remote: string | undefined, list: (ctx: CliContext, r: string | undefined, signal: AbortSignal) => Promise<string[]>): Promise<string[]> => {
    const opts: GlobalOptions = { timeout: COMPLETION_TIMEOUT_MS / 1000 };
    for (const k of GLOBALS) if (seen[k] !== undefined) opts[k] = seen[k];
    const { LxdClient } = await import('../lxd/client.js');
    const ctx = new CliContext(quiet, opts, silentLogger, (o) => new LxdClient({ ...o, timeoutMs: COMPLETION_TIMEOUT_MS }), await import('./remote-config.js'));
    contexts.push(ctx);
    const signal = AbortSignal.timeout(COMPLETION_TIMEOUT_MS);
    try {
      return await list(ctx, remote, signal);
    } catch {
      return [];
    }
  };
  const sources: CompletionSources = {
    instances: (remote, seen) => names(seen, remote, async (ctx, r, signal) => ctx.clientFor(r).instances.list({ recursion: 0, signal })),
    profiles: (remote, seen) => names(seen, remote, async (ctx, r, signal) => ctx.clientFor(r).profiles.list({ recursion: 0, signal })),
    projects: (remote, seen) => names(seen, remote, async (ctx, r, signal) => ctx.clientFor(r).projects.list({ recursion: 0, signal })),
    remotes: () => {
      try {
        return [LOCAL_REMOTE, ...Object.keys(loadRemotesConfig(configDir(io.env)).remotes).sort()];
      } catch {
        return [LOCAL_REMOTE];
      }
    },
  };
  try {
    return await completeWords(program, w, sources);
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
  }
}
