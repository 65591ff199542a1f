/**
 * Shell completion. `lxdkit completion bash|zsh|fish` prints a small script; on each Tab the script runs
 * the hidden `lxdkit __complete -- WORD… CURRENT`, which walks the commander program (commands,
 * options, choices) and, for arguments that name them, asks the server for instance, profile and
 * project names and reads the saved remotes. `__complete` prints one candidate a line, gives up on the
 * server after a short timeout, and never prints an error nor exits non-zero.
 */
import { Help, type Command, type Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** How long `__complete` waits for a server. */
export const COMPLETION_TIMEOUT_MS = 2_000;

/** What the candidates of an argument or option value are. */
export type CompletionKind = 'instance' | 'instance-path' | 'profile' | 'project' | 'remote' | { choices: readonly string[] };

/** Where names come from (the server, the saved remotes); each may fail, which yields no candidates. */
export interface CompletionSources {
  /**
   * Instance names on `remote` (undefined: the remote the options on the line name, else the default
   * one); `seen` holds the global options on the line (server, socket, project …).
   */
  instances(remote: string | undefined, seen: SeenOptions): Promise<string[]>;
  profiles(remote: string | undefined, seen: SeenOptions): Promise<string[]>;
  projects(remote: string | undefined, seen: SeenOptions): Promise<string[]>;
  /** Saved remote names, `local` included. */
  remotes(): string[];
}

/** The kind of a command's positional argument, by the command's path and the argument's name. */
export function argumentKind(path: readonly string[], argName: string): CompletionKind | undefined {
  const p = path.join(' ');
  if (p === 'completion') return { choices: SHELLS };
  if (p === 'remote import') return { choices: ['lxc', 'incus'] };
  if (p === 'remote remove' || p === 'remote rename' || p === 'remote switch') return argName === 'new' ? undefined : 'remote';
  if (p === 'remote add') return undefined;
  if (path[0] === 'file') return 'instance-path';
  if (path[0] === 'profile' && argName === 'name') return 'profile';
  if (path[0] === 'container' && (argName === 'name' || argName === 'names')) return 'instance';
  if (/^(instance|instances|source|target)$/.test(argName)) return 'instance';
  if (argName === 'profile' || argName === 'profiles') return 'profile';
  if (argName === 'remote') return 'remote';
  return undefined;
}

/** The kind of an option's value. */
export function optionKind(opt: Option): CompletionKind | undefined {
  if (opt.argChoices && opt.argChoices.length > 0) return { choices: opt.argChoices };
  switch (opt.long) {
    case '--remote':
      return 'remote';
    case '--project':
      return 'project';
    case '--profile':
    case '--assign':
      return 'profile';
    default:
      return undefined;
  }
}

function ancestry(cmd: Command): Command[] {
  const all: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) all.push(c);
  return all;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (const c of ancestry(cmd)) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

const help = new Help();

function visibleSubcommands(cmd: Command): Command[] {
  return help.visibleCommands(cmd).filter((c) => c.name() !== 'help' || cmd.commands.includes(c));
}

/** Global option values seen on the line (attribute names: server, socket, project, remote …). */
export type SeenOptions = Record<string, string>;

/**
 * The candidates for the last of `words` (the words after the program's name; the last one is the
 * word being completed, possibly empty), given the commander `program`.
 */
export async function completeWords(program: Command, words: readonly string[], sources: CompletionSources): Promise<string[]> {
  const cur = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let cmd = program;
  const path: string[] = [];
  let positional = 0;
  let pending: Option | undefined;
  let endOfOptions = false;
  const seen: SeenOptions = {};
  for (const w of before) {
    if (pending) {
      seen[pending.attributeName()] = w;
      pending = undefined;
      continue;
    }
    if (!endOfOptions && w === '--') {
      endOfOptions = true;
      continue;
    }
    if (!endOfOptions && w.startsWith('-') && w !== '-') {
      const eq = w.indexOf('=');
      const opt = findOption(cmd, eq > 0 ? w.slice(0, eq) : w);
      if (opt && eq > 0) seen[opt.attributeName()] = w.slice(eq + 1);
      else if (opt && opt.required) pending = opt;
      continue;
    }
    const sub = positional === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) {
      cmd = sub;
      path.push(sub.name());
      continue;
    }
    positional++;
  }
  if (pending) return filter(await candidates(optionKind(pending), cur, seen, sources), cur);
  if (!endOfOptions && cur.startsWith('-')) {
    const eq = cur.indexOf('=');
    if (eq > 0) {
      const opt = findOption(cmd, cur.slice(0, eq));
      if (!opt || !takesValue(opt)) return [];
      const value = cur.slice(eq + 1);
      return filter(await candidates(optionKind(opt), value, seen, sources), value).map((v) => `${cur.slice(0, eq)}=${v}`);
    }
    const flags = new Set<string>();
    for (const c of ancestry(cmd)) for (const o of help.visibleOptions(c)) if (o.long) flags.add(o.long);
    return filter([...flags].sort(), cur);
  }
  const subs = visibleSubcommands(cmd);
  if (subs.length > 0 && positional === 0) return filter(subs.map((c) => c.name()).sort(), cur);
  const args = cmd.registeredArguments;
  const arg = args[Math.min(positional, args.length - 1)];
  if (!arg || (positional >= args.length && !arg.variadic)) return [];
  return filter(await candidates(argumentKind(path, arg.name()), cur, seen, sources), cur);
}

function filter(list: readonly string[], cur: string): string[] {
  return [...new Set(list)].filter((c) => c.startsWith(cur) && c !== '' && !/[\s\u0000-\u001f\u007f]/.test(c));
}

async function candidates(kind: CompletionKind | undefined, cur: string, seen: SeenOptions, sources: CompletionSources): Promise<string[]> {
  if (kind === undefined) return [];
  if (typeof kind === 'object') return [...kind.choices];
  const remoteOf = (): string | undefined => seen['remote'];
  switch (kind) {
    case 'remote':
      return sources.remotes();
    case 'profile':
      return sources.profiles(remoteOf(), seen);
    case 'project':
      return sources.projects(remoteOf(), seen);
    case 'instance':
    case 'instance-path': {
      const suffix = kind === 'instance-path' ? '/' : '';
      if (kind === 'instance-path' && /^[^:]*:?[^/]*\//.test(cur)) return []; // inside the instance: nothing to offer
      const colon = cur.indexOf(':');
      if (colon > 0) {
        const remote = cur.slice(0, colon);
        return (await sources.instances(remote, seen)).map((n) => `${remote}:${n}${suffix}`);
      }
      const names = (await sources.instances(remoteOf(), seen)).map((n) => `${n}${suffix}`);
      return [...names, ...sources.remotes().map((r) => `${r}:`)];
    }
  }
}

/** The completion script for `shell`; `bin` is the command's name as the user types it. */
export function completionScript(shell: Shell, bin = 'lxdkit'): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  switch (shell) {
    case 'bash':
      return `# ${bin} completion for bash. Load it with: source <(${bin} completion bash)
# or save it as /etc/bash_completion.d/${bin} (or ~/.local/share/bash-completion/completions/${bin}).
${fn}() {
  local line="\${COMP_LINE:0:COMP_POINT}" IFS=$' \\t\\n'
  local -a words
  read -r -a words <<< "$line"
  [[ $line == *[[:space:]] || \${#words[@]} -eq 0 ]] && words+=("")
  local cur="\${words[\${#words[@]}-1]}"
  IFS=$'\\n'
  COMPREPLY=($("\${words[0]:-${bin}}" __complete -- "\${words[@]:1}" 2>/dev/null))
  # bash splits words at ':' (COMP_WORDBREAKS): give back only what follows the last one
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix="\${cur%"\${cur##*:}"}"
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
  if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *[:/=] ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -o default -F ${fn} ${bin}
`;
    case 'zsh':
      return `#compdef ${bin}
# ${bin} completion for zsh. Load it with: source <(${bin} completion zsh)   (after compinit)
# or save it as _${bin} in a directory of $fpath.
${fn}() {
  local -a candidates
  local c
  candidates=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for c in $candidates; do
    [[ -z $c ]] && continue
    if [[ $c == *[:/=] ]]; then compadd -Q -S '' -- "$c"; else compadd -Q -- "$c"; fi
  done
}
compdef ${fn} ${bin}
`;
    case 'fish':
      return `# ${bin} completion for fish. Load it with: ${bin} completion fish | source
# or save it as ~/.config/fish/completions/${bin}.fish
function ${fn}
    set -l tokens (commandline -opc)
    $tokens[1] __complete -- $tokens[2..-1] (commandline -ct) 2>/dev/null
end
complete -c ${bin} -f -a '(${fn})'
`;
  }
}
