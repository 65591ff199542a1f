/**
 * The lxdkit command line: commands, options, help, and the mapping of errors to exit codes.
 * `runCli(argv, io)` runs one command in-process and resolves to its exit code.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Logger } from '../logger.js';
import { CliContext, type GlobalOptions } from './context.js';
import { CliError, ExitCode, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { lazyCliLogger, LOG_LEVELS, parseLogLevel } from './log.js';
import { addResourceCommands } from './resource-commands.js';
// Commands are loaded when they run, so `lxdkit --help` (and each command) loads only what it needs.
import type { CreateOptions as ContainerCreateOptions } from './commands/container.js';
import type { DemoOptions } from './commands/demo.js';
import type { ClusterMembersOptions } from './commands/cluster.js';
import type { ExecCommandOptions } from './commands/exec.js';
import type { PullCommandOptions, PushCommandOptions } from './commands/file.js';
import type { ApplyCommandOptions, PlanCommandOptions } from './commands/stack.js';
import type { LaunchOptions, ListOptions, StateCommand } from './commands/instance.js';
import type { RemoteAddOptions } from './commands/remote.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected failure
  2    usage error (unknown command or option, missing argument)
  3    invalid input, nothing changed (YAML syntax or schema, charm rules, names, UUIDs);
       a local path that cannot take a pulled file (name too long, a directory in the way)
  4    not found (container, profile, image, network, pool, volume)
  5    conflict: exists already, or changed by someone else (ETag); re-run
  6    LXD, Incus, a cluster member or libvirt unreachable (socket, permissions, TLS)
  7    LXD or Incus refused the request or an operation failed
  8    timed out
  10   profile diff --exit-code: there are differences
  plan exits 2 when applying the stack would change something (0: nothing would)
  130  interrupted (Ctrl-C)
  141  the reader of the output went away (a closed pipe)
  143  stopped by SIGTERM
  exec exits with the command's own exit status (127: the program is not there)`;

/** The package's version, written into the command's bundle by its build (scripts/bundle-cli.ts). */
declare const LXDKIT_VERSION: string | undefined;

function version(): string {
  // the bundle knows it; run from the sources (or tsc's output), it is read from package.json
  if (typeof LXDKIT_VERSION === 'string') return LXDKIT_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function int(what: string, min = 0): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${what} must be a whole number`);
    const n = Number(v);
    if (n < min) throw new InvalidArgumentError(`${what} must be at least ${min}`);
    return n;
  };
}

function positive(what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
    return n;
  };
}

export interface RunOptions {
  /** Aborted on SIGINT/SIGTERM by entry.ts. */
  signal?: AbortSignal;
  /** A logger instead of pino on stderr (specs). */
  logger?: Logger | undefined;
  /** Told the command that runs, as its words (`image alias list`), before it runs. */
  onCommand?: ((command: string) => void) | undefined;
  /** Called once the command is over (its outcome printed, or its error), before the client closes. */
  onDone?: (() => void) | undefined;
}

/** A command's words below the program (`image alias list`). */
function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/** A repeatable option's values, in order. */
function collect(v: string, all: string[]): string[] {
  return [...all, v];
}

const LIST_COLUMNS_HELP = `
Columns (-c), as lxc names them (default ns46tS, and L in a cluster):
  n name, s state, 4 IPv4, 6 IPv6, t type, S snapshots, L location, a architecture,
  b storage pool, c created at, l last used at, d description, e project, f base image,
  F base image (full), p PID, N processes, P profiles, m memory usage, u CPU usage,
  D disk usage; KEY[:HEADER] a config key (user.comment:COMMENT)
Filters, as lxc takes them (all must match):
  NAME          a regular expression the name matches whole (^ or $ in it: as written), or its start
  KEY=VALUE     type, status, architecture, location, ipv4, ipv6, name, or a config key (image.os=busybox;
                parts may be shortened: i.os=busybox); VALUE is a regular expression matched whole`;

/** The everyday lxc commands for any instance: launch, init, list, info, start…, delete, rename, config, shell, console. */
function addInstanceCommands(program: Pick<Command, 'command'>, profile: Command, run: (cmd: Command, work: (ctx: CliContext) => Promise<number | void>) => Promise<void>): void {
  const inst = (): Promise<typeof import('./commands/instance.js')> => import('./commands/instance.js');
  const conf = (): Promise<typeof import('./commands/instance-config.js')> => import('./commands/instance-config.js');
  for (const [verb, start] of [['launch', true], ['init', false]] as const) {
    program
      .command(verb)
      .description(start ? 'create an instance from an image and start it (as lxc launch)' : 'create an instance from an image, not started (as lxc init)')
      .argument('<image>', 'an image alias or fingerprint on the server ([local:]ALIAS)')
      .argument('<name>', 'the instance name')
      .option('-p, --profile <profile>', 'a profile, instead of "default" (repeat for more, in order)', collect, [] as string[])
      .option('--no-profiles', 'no profiles at all')
      .option('-c, --config <KEY=VALUE>', 'a config key (repeat for more)', collect, [] as string[])
      .option('-s, --storage <pool>', 'the storage pool of the root disk')
      .option('-n, --network <network>', 'eth0 on this network')
      .option('--vm', 'a virtual machine instead of a container')
      .option('-e, --ephemeral', 'deleted when it stops')
      .option('--description <text>', 'its description')
      .action((image: string, name: string, o: LaunchOptions, cmd: Command) => run(cmd, async (ctx) => (await inst()).launchCommand(ctx, image, name, o, start)));
  }
  program
    .command('list')
    .description('instances (of any name) with their state, addresses, type and snapshots (as lxc list)')
    .argument('[filters...]', 'NAME (a regular expression) or KEY=VALUE filters; see below')
    .option('-f, --format <format>', 'table (default), csv, json or yaml')
    .option('-c, --columns <columns>', 'the columns, as lxc letters (default ns46tS)')
    .addHelpText('after', LIST_COLUMNS_HELP)
    .action((filters: string[], o: ListOptions, cmd: Command) => run(cmd, async (ctx) => (await inst()).listCommand(ctx, filters, o)));
  program
    .command('info')
    .description("an instance's state, resources (processes, CPU, memory, disk, network) and snapshots")
    .argument('<name>', 'the instance')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await inst()).infoCommand(ctx, name)));
  const verbs: [StateCommand, string][] = [
    ['start', 'start instances (a paused one resumes)'],
    ['stop', 'stop instances (-f: at once)'],
    ['restart', 'restart instances (-f: stop them at once)'],
    ['pause', 'freeze instances (start resumes them)'],
  ];
  for (const [verb, description] of verbs) {
    const c = program
      .command(verb)
      .description(`${description}; each failure is reported, and the exit code is the first one's`)
      .argument('[names...]', 'instance names')
      .option('--all', verb === 'start' ? 'every stopped or paused instance of the project' : 'every running instance of the project');
    if (verb === 'stop' || verb === 'restart') c.option('-f, --force', 'kill instead of a clean shutdown');
    c.action((names: string[], o: { all?: boolean; force?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await inst()).stateCommand(ctx, verb, names, o)));
  }
  program
    .command('delete')
    .description('delete instances (NAME/SNAPSHOT: a snapshot); -f stops a running one first; each failure is reported')
    .argument('<names...>', 'instance names, or INSTANCE/SNAPSHOT')
    .option('-f, --force', 'stop running instances first (killed)')
    .action((names: string[], o: { force?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await inst()).deleteCommand(ctx, names, o)));
  program
    .command('rename')
    .description('rename a stopped instance')
    .argument('<old>', 'its name')
    .argument('<new>', 'the new name')
    .action((from: string, to: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await inst()).renameCommand(ctx, from, to)));
  const transfer = (): Promise<typeof import('./commands/transfer.js')> => import('./commands/transfer.js');
  for (const [verb, description] of [
    ['copy', 'copy an instance (or INSTANCE/SNAPSHOT) on its server, or to another one ([REMOTE:]NAME; as lxc copy); the copy is left stopped'],
    ['move', 'rename an instance, move it to another pool (-s), or to another server ([REMOTE:]NAME; as lxc move)'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<source>', verb === 'copy' ? '[REMOTE:]INSTANCE[/SNAPSHOT]' : '[REMOTE:]INSTANCE')
      .argument('<target>', '[REMOTE:]NAME, or REMOTE: (the same name there)')
      .option('--instance-only', 'without the snapshots')
      .addOption(new Option('--mode <mode>', 'between servers: pull (the target connects to the source; default), push (the source to the target) or relay (lxdkit carries the data)').choices(['pull', 'push', 'relay']))
      .option('-s, --storage <pool>', 'the storage pool of the root disk on the target')
      .action((src: string, dst: string, o: import('./commands/transfer.js').TransferOptions, cmd: Command) => run(cmd, async (ctx) => (await transfer())[verb === 'copy' ? 'copyCommand' : 'moveCommand'](ctx, src, dst, o)));
  }

  const config = program.command('config').description("an instance's configuration: keys, devices, all of it as YAML (as lxc config)");
  config
    .command('get')
    .description('the value of a config key (empty when unset)')
    .argument('<name>', 'the instance')
    .argument('<key>', 'the key')
    .option('-e, --expanded', 'with what its profiles set')
    .action((name: string, key: string, o: { expanded?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await conf()).configGet(ctx, name, key, o)));
  config
    .command('set')
    .description('set config keys (KEY=VALUE…, or KEY VALUE)')
    .argument('<name>', 'the instance')
    .argument('<pairs...>', 'KEY=VALUE pairs')
    .action((name: string, pairs: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).configSet(ctx, name, pairs)));
  config
    .command('unset')
    .description('remove config keys')
    .argument('<name>', 'the instance')
    .argument('<keys...>', 'the keys')
    .action((name: string, keys: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).configUnset(ctx, name, keys)));
  config
    .command('show')
    .description('the writable configuration as YAML (what config edit takes)')
    .argument('<name>', 'the instance')
    .option('-e, --expanded', 'with what its profiles set')
    .action((name: string, o: { expanded?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await conf()).configShow(ctx, name, o)));
  config
    .command('edit')
    .description('edit the configuration as YAML in $VISUAL or $EDITOR (default vi), or read it from stdin when stdin is not a terminal')
    .argument('<name>', 'the instance')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).configEdit(ctx, name)));
  const device = config.command('device').description("an instance's own devices");
  device
    .command('add')
    .description('add a device: NAME DEVICE TYPE [KEY=VALUE…]')
    .argument('<name>', 'the instance')
    .argument('<device>', 'the device name')
    .argument('<type>', 'disk, nic, unix-char, proxy, …')
    .argument('[pairs...]', 'its fields, KEY=VALUE')
    .action((name: string, dev: string, type: string, pairs: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).deviceAdd(ctx, name, dev, type, pairs)));
  device
    .command('remove')
    .description('remove devices of the instance (not those of its profiles)')
    .argument('<name>', 'the instance')
    .argument('<devices...>', 'device names')
    .action((name: string, devs: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).deviceRemove(ctx, name, devs)));
  device
    .command('list')
    .description("the instance's own devices")
    .argument('<name>', 'the instance')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).deviceList(ctx, name)));
  device
    .command('show')
    .description("the instance's own devices as YAML")
    .argument('<name>', 'the instance')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).deviceShow(ctx, name)));

  profile
    .command('assign')
    .description('set the profiles of an instance to exactly these (comma-separated, in order; "" for none)')
    .argument('<name>', 'the instance')
    .argument('<profiles>', 'P1,P2,…')
    .action((name: string, list: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).profileAssign(ctx, name, list)));
  profile
    .command('add')
    .description('add a profile to an instance (last)')
    .argument('<name>', 'the instance')
    .argument('<profile>', 'the profile')
    .action((name: string, p: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).profileAdd(ctx, name, p)));
  profile
    .command('remove')
    .description('remove a profile from an instance')
    .argument('<name>', 'the instance')
    .argument('<profile>', 'the profile')
    .action((name: string, p: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await conf()).profileRemove(ctx, name, p)));

  program
    .command('shell')
    .description('a login shell in an instance (su -l, as lxc shell), a pty on a terminal')
    .argument('<name>', 'the instance')
    .option('-t, --force-interactive', 'a pty even when stdin or stdout is not a terminal')
    .option('-T, --force-noninteractive', 'no pty, even on a terminal')
    .action((name: string, o: { forceInteractive?: boolean; forceNoninteractive?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await conf()).shellCommand(ctx, name, o)));
  program
    .command('console')
    .description("an instance's console: --show-log prints its log")
    .argument('<name>', 'the instance')
    .option('--show-log', 'print the console log')
    .action((name: string, o: { showLog?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await conf()).consoleCommand(ctx, name, o)));
}

/**
 * A stand-in for a command that is not built: every method returns it, so that the chain that
 * declares the command (and its subcommands) runs without making anything.
 */
const UNBUILT: Command = new Proxy(function unbuilt() {}, { get: (_t, key) => (key === 'then' ? undefined : () => UNBUILT) }) as unknown as Command;

/**
 * The top-level command `argv` runs, read as commander will read it: after the program's own
 * options (and the values of those that take one). Undefined when there is none, or when commander
 * needs every command to answer: `help`, the completion's `__complete`, an option it does not know.
 */
export function commandWord(argv: readonly string[], program: Command): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (!a.startsWith('-') || a === '-') return a === 'help' || a === '__complete' ? undefined : a;
    const long = a.startsWith('--');
    const name = long ? a.split('=', 1)[0] : a.slice(0, 2);
    const opt = program.options.find((o) => o.long === name || o.short === name);
    if (!opt) return undefined;
    // its value is the next word, unless it is in this one (--project=p, -pP)
    if ((opt.required || opt.optional) && (long ? !a.includes('=') : a.length === 2)) i++;
  }
  return undefined;
}

/**
 * Builds the program; `run` receives each command's work and its context. Given `argv`, only the
 * top-level command it runs is built (the others cost a command's start ~5 ms): `commandWord` finds
 * it, and when it names none that exists, every command is built, so that commander answers as
 * it always does (its help, an unknown command).
 */
export function buildProgram(io: CliIo, run: (cmd: Command, work: (ctx: CliContext) => Promise<number | void>) => Promise<void>, argv?: readonly string[]): Command {
  const built = buildCommands(io, run, argv);
  return built.some ? built.program : buildCommands(io, run, undefined).program;
}

function buildCommands(io: CliIo, run: (cmd: Command, work: (ctx: CliContext) => Promise<number | void>) => Promise<void>, argv: readonly string[] | undefined): { program: Command; some: boolean } {
  const program = new Command('lxdkit');
  // every --project given, in order (the option itself keeps the last): `export` exports each
  const projectArgs: string[] = [];
  program
    .description('Drive LXD (or Incus) from a shell or a script: status, profiles as YAML files, containers of a model, images, events, and inside instances: exec, files, snapshots, backups.')
    .version(version(), '-V, --version')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: (s, write) => write(s) })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(new Option('--server <kind>', "the local daemon: lxd ($LXD_SOCKET, $LXD_DIR/unix.socket, the snap socket, /var/lib/lxd/unix.socket) or incus ($INCUS_SOCKET, $INCUS_DIR/unix.socket, /run/incus, /var/lib/incus); default: LXD's socket, else Incus's (env LXDKIT_SERVER)").choices(['lxd', 'incus']))
    .option('--socket <path>', 'the unix socket of LXD or Incus (instead of --server)')
    .option('--remote <name|url>', 'a saved remote (lxdkit remote add; "local": the unix socket) or a remote LXD over HTTPS, e.g. https://10.0.0.5:8443 (env LXDKIT_REMOTE); default: the default remote (lxdkit remote switch)')
    .option('--client-cert <file>', 'PEM client certificate the remote trusts (env LXDKIT_CLIENT_CERT)')
    .option('--client-key <file>', 'PEM key of the client certificate (env LXDKIT_CLIENT_KEY)')
    .option('--server-cert <file>', "the remote's PEM certificate, pinned (env LXDKIT_SERVER_CERT)")
    .option('--ca <file>', "PEM CA certificates the remote's certificate must chain to, instead of the system's (env LXDKIT_CA)")
    .option('--project <name>', 'project of every call (default: "default"); export takes it more than once', (v: string) => {
      projectArgs.push(v);
      return v;
    })
    .option('--target <member>', 'in an LXD cluster: the member to create on, or whose own config and state to read (LXD\'s ?target=)')
    .option('--json', 'machine-readable JSON on stdout')
    .option('--no-progress', 'no progress bars, even on a terminal')
    .addOption(new Option('--log-level <level>', 'log level of the JSON / pretty logs on stderr').choices([...LOG_LEVELS]).default('warn'))
    .option('--timeout <seconds>', 'per-request timeout', positive('--timeout'))
    .addHelpText('after', EXIT_CODES_HELP);

  // the commands: all of them, or only the one argv runs (the others are declared on UNBUILT)
  const only = argv === undefined ? undefined : commandWord(argv, program);
  let some = only === undefined;
  const top: Pick<Command, 'command'> =
    only === undefined
      ? program
      : {
          command: ((nameAndArgs: string, ...rest: unknown[]) => {
            if (nameAndArgs.split(' ', 1)[0] !== only) return UNBUILT;
            some = true;
            return (program.command as (n: string, ...r: unknown[]) => Command)(nameAndArgs, ...rest);
          }) as Command['command'],
        };

  top
    .command('status')
    .description('the server, its API extensions, storage pools, networks and instance counts')
    .option('--extensions', 'list every API extension')
    .action((o: { extensions?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/status.js')).statusCommand(ctx, o)));

  const profile = top.command('profile').description('LXD profiles kept as YAML files (the shape `lxc profile show` prints)');
  profile
    .command('list')
    .description('the profiles LXD has')
    .action((_o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/profile.js')).profileList(ctx)));
  profile
    .command('show')
    .description('one profile as YAML (save it to a file to manage it with apply)')
    .argument('<name>', 'profile name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/profile.js')).profileShow(ctx, name)));
  profile
    .command('validate')
    .description('check profile files (and directories of *.yaml) without contacting LXD')
    .argument('<files...>', 'profile files or directories')
    .option('--charm', "also apply Juju's charm-profile rules (devices unix-char, unix-block, gpu, usb only; no boot.*, limits.*, migration.* keys)")
    .action((files: string[], o: { charm?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/profile.js')).profileValidate(ctx, files, o)));
  profile
    .command('diff')
    .description('what apply would change: a diff of each profile (- LXD now, + the file)')
    .argument('<files...>', 'profile files or directories')
    .option('--charm', "apply Juju's charm-profile rules first")
    .option('--prune', 'also show the profiles apply --prune would delete')
    .option('--prune-prefix <prefix>', 'with --prune: only profiles whose name starts with this')
    .option('--exit-code', 'exit with 10 when there are differences')
    .option('--show-secrets', 'print the values of user.*, cloud-init.* and environment.* keys (masked by default: diffs end up in CI logs)')
    .action((files: string[], o: { charm?: boolean; prune?: boolean; prunePrefix?: string; exitCode?: boolean; showSecrets?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/profile.js')).profileDiff(ctx, files, o)));
  profile
    .command('apply')
    .description('create or update profiles from files (with ETags); reports created / updated / unchanged')
    .argument('<files...>', 'profile files or directories')
    .option('--dry-run', 'report what would change; change nothing')
    .option('--prune', 'delete profiles no file defines (never "default", never one in use)')
    .option('--prune-prefix <prefix>', 'with --prune: only profiles whose name starts with this')
    .option('--charm', "refuse files that break Juju's charm-profile rules")
    .option('--create-project', 'with --project: create the project first when it does not exist (with the server\'s default features: profiles, images and storage volumes of its own)')
    .option('--show-secrets', 'with --json: print the values of user.*, cloud-init.* and environment.* keys in "changes" (masked by default)')
    .action((files: string[], o: { dryRun?: boolean; prune?: boolean; prunePrefix?: string; charm?: boolean; createProject?: boolean; showSecrets?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/profile.js')).profileApply(ctx, files, o)));

  addInstanceCommands(top, profile, run);

  const container = top.command('container').description("containers of one model (Juju's namespace juju-<uuid tail>-<machine>), through LxdManager or KvmManager");
  container
    .command('create')
    .description('create and start a container for a machine of a model')
    .requiredOption('--model <uuid>', 'model UUID (the namespace)')
    .requiredOption('--machine <id>', 'machine id, e.g. 0/lxd/1')
    .requiredOption('--series <series>', 'series; the image is the local alias juju/<series>/<arch>, else the image sources')
    .option('--profile <names...>', 'profiles to apply after "default"')
    .option('--mem <MiB>', 'memory limit in MiB', int('--mem', 1))
    .option('--cores <n>', 'CPU cores', int('--cores', 1))
    .option('--root-disk <MiB>', 'root disk size in MiB', int('--root-disk', 1))
    .option('--bridge <device>', 'put eth0 on this bridge (default: the NICs of the "default" profile)')
    .option('--mtu <n>', 'MTU of eth0 (with --bridge)', int('--mtu', 68))
    .option('--kvm', 'a KVM guest through libvirt (KvmManager) instead of an LXD container')
    .action((o: ContainerCreateOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/container.js')).containerCreate(ctx, o)));
  container
    .command('list')
    .description("the model's containers")
    .requiredOption('--model <uuid>', 'model UUID')
    .option('--kvm', 'KVM guests instead of LXD containers')
    .action((o: { model: string; kvm?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/container-list.js')).containerList(ctx, o)));
  container
    .command('destroy')
    .description("stop and delete containers (only a manager's containers: the model comes from user.juju-model)")
    .argument('<names...>', 'container names')
    .option('--model <uuid>', 'the model (needed with --kvm)')
    .option('--kvm', 'KVM guests')
    .action((names: string[], o: { model?: string; kvm?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/container.js')).containerDestroy(ctx, names, o)));
  container
    .command('profiles')
    .description("a container's profiles; with --assign, set them to exactly the list given")
    .argument('<name>', 'container name')
    .option('--assign <profiles...>', 'the new profile list, in order (include "default")')
    .option('--model <uuid>', 'the model (default: from user.juju-model)')
    .action((name: string, o: { assign?: string[]; model?: string }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/container.js')).containerProfiles(ctx, name, o)));

  // image, network and storage (as lxc names them)
  addResourceCommands(top, run);

  top
    .command('exec')
    .description("run a command in an instance: stdin, stdout and stderr wired through, a pty when stdin and stdout are terminals; exits with the command's status")
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--env <KEY=VALUE>', 'an environment variable (repeat for more)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--cwd <dir>', 'working directory inside the instance')
    .option('--user <uid>', 'user id to run as', int('--user'))
    .option('--group <gid>', 'group id to run as', int('--group'))
    .option('-t, --force-interactive', 'a pty even when stdin or stdout is not a terminal')
    .option('-T, --force-noninteractive', 'no pty, even on a terminal')
    .action((instance: string, command: string[], o: ExecCommandOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/exec.js')).execCommand(ctx, instance, command, o)));

  const file = top.command('file').description('files in instances, streamed (never held in memory)');
  file
    .command('push')
    .description('push local files (-r: directories) to <instance>/<path>; several files, or a path ending in /, go into that directory')
    .argument('<sources...>', 'local files (and the target <instance>/<path> last)')
    .option('-r, --recursive', 'push directories and what is in them')
    .option('-p, --create-dirs', 'create missing parent directories')
    .option('--mode <mode>', 'permissions of new files, e.g. 0640 (default: the local file\'s)')
    .option('--uid <uid>', 'owner of new files', int('--uid'))
    .option('--gid <gid>', 'group of new files', int('--gid'))
    .action((args: string[], o: PushCommandOptions, cmd: Command) => run(cmd, async (ctx) => {
      if (args.length < 2) throw new CliError(ExitCode.USAGE, 'give local files and then <instance>/<path>');
      return (await import('./commands/file.js')).filePush(ctx, args.slice(0, -1), args.at(-1)!, o);
    }));
  file
    .command('pull')
    .description('pull <instance>/<path> (-r: a directory) to a local path; several go into a local directory; - writes one file to stdout')
    .argument('<sources...>', '[<remote>:]<instance>/<path> sources (and the local target last)')
    .option('-r, --recursive', 'pull directories and what is in them')
    .option('--stall-timeout <seconds>', 'give up on a file that sends no data for this long (-r: skip it with a warning; default 30)', positive('--stall-timeout'))
    .action((args: string[], o: PullCommandOptions, cmd: Command) => run(cmd, async (ctx) => {
      if (args.length < 2) throw new CliError(ExitCode.USAGE, 'give <instance>/<path> and then a local target');
      return (await import('./commands/file.js')).filePull(ctx, args.slice(0, -1), args.at(-1)!, o);
    }));
  file
    .command('delete')
    .description('delete files, symlinks or empty directories (-r: directories and what is in them)')
    .argument('<targets...>', '[<remote>:]<instance>/<path>')
    .option('-r, --recursive', 'delete directories and what is in them')
    .action((targets: string[], o: { recursive?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/file.js')).fileDelete(ctx, targets, o)));
  file
    .command('list')
    .description('the entries of a directory, with their type, mode and owner')
    .argument('<target>', '[<remote>:]<instance>/<path>')
    .action((target: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/file.js')).fileList(ctx, target)));

  const snapshot = top.command('snapshot').description('snapshots of an instance');
  snapshot
    .command('create')
    .description('take a snapshot (LXD names it snapN unless given a name)')
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .argument('[snapshot]', 'snapshot name')
    .option('--expiry <when>', 'when LXD deletes it: 30m, 12h, 7d, 2w, or a date')
    .option('--stateful', 'with the running state')
    .action((instance: string, name: string | undefined, o: { expiry?: string; stateful?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/snapshot.js')).snapshotCreate(ctx, instance, name, o)));
  snapshot
    .command('list')
    .description("an instance's snapshots (--json for scripts)")
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .action((instance: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/snapshot.js')).snapshotList(ctx, instance)));
  snapshot
    .command('restore')
    .description('bring the instance back to a snapshot')
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .argument('[snapshot]', 'snapshot name')
    .option('--stateful', 'with the running state saved in the snapshot')
    .action((instance: string, name: string | undefined, o: { stateful?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/snapshot.js')).snapshotRestore(ctx, instance, name, o)));
  snapshot
    .command('delete')
    .description('delete a snapshot')
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .argument('[snapshot]', 'snapshot name')
    .action((instance: string, name: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/snapshot.js')).snapshotDelete(ctx, instance, name)));

  const backup = top.command('backup').description('backup tarballs of instances, streamed to and from disk');
  backup
    .command('export')
    .description('make a backup of an instance, download it to <file>, delete it from the server')
    .argument('<instance>', '[<remote>:]<instance> (a saved remote: lxdkit remote add)')
    .argument('<file>', 'the tarball to write')
    .option('--instance-only', 'without the snapshots')
    .option('--compression <algorithm>', 'gzip (default), none, xz, zstd, ...')
    .action((instance: string, f: string, o: { instanceOnly?: boolean; compression?: string }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/backup.js')).backupExport(ctx, instance, f, o)));
  backup
    .command('import')
    .description('make an instance from a backup tarball (streamed from disk)')
    .argument('<file>', 'the tarball')
    .option('--name <instance>', 'the new instance\'s name (default: the one in the backup)')
    .option('--pool <pool>', 'the storage pool (default: the backup\'s)')
    .action((f: string, o: { name?: string; pool?: string }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/backup.js')).backupImport(ctx, f, o)));

  top
    .command('events')
    .description('stream LXD events: one JSON line per event when piped (or --json), a short line on a terminal')
    .option('--type <types...>', 'event types: lifecycle, operation, logging (default: all)')
    .option('--all-projects', 'events of every project')
    .option('--count <n>', 'stop after n events', int('--count', 1))
    .option('--for <seconds>', 'stop after this long', positive('--for'))
    .option('--server-events', 'with --project: also the server-wide events (every logging event), which belong to no project')
    .action((o: { type?: string[]; allProjects?: boolean; count?: number; for?: number; serverEvents?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/events.js')).eventsCommand(ctx, o)));

  top
    .command('operations')
    .description("LXD's operations (running, and finished in the last seconds)")
    .option('--all-projects', 'operations of every project')
    .action((o: { allProjects?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/operations.js')).operationsCommand(ctx, o)));

  top
    .command('plan')
    .description('what apply would change to make the server match a stack (a YAML file, or a folder of them): exit 0 when nothing, 2 when something')
    .argument('<path>', 'stack file or directory')
    .option('--prune', 'also what apply --prune would delete (only what this stack created)')
    .option('--show-secrets', 'show the values of secret keys (user.*, cloud-init.*, environment.*, ...) in changes')
    .action((path: string, o: PlanCommandOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/stack.js')).planCommand(ctx, path, o)));
  top
    .command('apply')
    .description('make the server match a stack, in dependency order, with ETags; asks nothing')
    .argument('<path>', 'stack file or directory')
    .option('--prune', 'delete what this stack created and no longer declares (never anything else)')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--show-secrets', 'show the values of secret keys in changes')
    .action((path: string, o: ApplyCommandOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/stack.js')).applyCommand(ctx, path, o)));
  top
    .command('export')
    .description('the server\'s projects, pools, networks, volumes, profiles and instances as a stack that plan finds equal (--project P, repeated: only those projects)')
    .option('--name <name>', 'the stack name written into the file', 'exported')
    .option('-o, --output <file>', 'write the stack to this file (mode 0600) instead of stdout')
    .action((o: { name?: string; output?: string }, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/stack.js')).exportCommand(ctx, { ...o, projects: [...new Set(projectArgs)] })));

  const cluster = top.command('cluster').description('an LXD cluster: its members and their state');
  cluster
    .command('members')
    .description('the members of the cluster: name, status, URL, roles, groups (--json: an array of them)')
    .action((o: ClusterMembersOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/cluster.js')).clusterMembers(ctx, o)));

  const remote = top.command('remote').description('saved remotes (in $XDG_CONFIG_HOME/lxdkit/, default ~/.config/lxdkit/): use one with --remote NAME or REMOTE:INSTANCE');
  remote
    .command('add')
    .description('save a remote: with a token (alone, or --token with a URL), redeem a trust token (lxc/incus config trust add) after checking the server\'s certificate against it; without, pin the server\'s certificate once you accept its fingerprint')
    .argument('<name>', 'the name to save it as')
    .argument('<url-or-token>', "https://HOST[:PORT] (port 8443 when left out), or a trust token alone: its addresses are tried and its fingerprint pinned")
    .option('--token <token>', 'a trust token made on the server for this client')
    .option('--accept-certificate', 'trust the certificate the server presents (compare its fingerprint first)')
    .option('--project <name>', 'the project of every call to this remote')
    .action((name: string, url: string, o: RemoteAddOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteAdd(ctx, name, url, o)));
  remote
    .command('list')
    .description('the saved remotes and "local" (the unix socket); the default one is marked')
    .action((_o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteList(ctx)));
  remote
    .command('remove')
    .description('forget a saved remote (not the default one) and its server certificate')
    .argument('<name>', 'remote name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteRemove(ctx, name)));
  remote
    .command('rename')
    .description('rename a saved remote')
    .argument('<name>', 'remote name')
    .argument('<new>', 'its new name')
    .action((name: string, to: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteRename(ctx, name, to)));
  remote
    .command('switch')
    .description('make a remote the default (used when a command names none; "local": the unix socket)')
    .argument('<name>', 'remote name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteSwitch(ctx, name)));
  remote
    .command('get-default')
    .description('the default remote')
    .action((_o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteGetDefault(ctx)));
  remote
    .command('import')
    .description('save the remotes of an lxc ($LXD_CONF, else ~/.config/lxc) or incus ($INCUS_CONF, else ~/.config/incus) configuration, with their server certificates and that client\'s certificate')
    .argument('<tool>', 'lxc or incus')
    .action((tool: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/remote.js')).remoteImport(ctx, tool)));

  top
    .command('completion')
    .description('print a completion script: commands, options, and instance, profile and remote names (bash: source <(lxdkit completion bash))')
    .argument('<shell>', 'bash, zsh or fish')
    .action(async (shell: string) => {
      const { completionScript, SHELLS } = await import('./completion.js');
      if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError(ExitCode.USAGE, `completion for bash, zsh or fish, not "${shell.slice(0, 40)}"`);
      io.stdout.write(completionScript(shell as 'bash' | 'zsh' | 'fish'));
    });
  top
    .command('__complete', { hidden: true })
    .description('the candidates for the last word (used by the completion scripts)')
    .argument('[words...]')
    .helpOption(false)
    .allowUnknownOption()
    .action(async (words: string[] | undefined) => {
      try {
        const { completeFor } = await import('./complete-run.js');
        const list = await completeFor(program, words ?? [], io);
        if (list.length > 0) io.stdout.write(`${list.join('\n')}\n`);
      } catch {
        // completion never fails loudly: no candidates
      }
    });

  top
    .command('demo')
    .description('end to end: three containers of a new model on an address-less bridge, listed, a profile assigned, destroyed')
    .option('--bridge <device>', 'bridge for eth0, without IPv4/IPv6 addresses (default: lxdkitbr0 on LXD, lxdkitbr1 on Incus, lxdkitcbr0 with --cluster; env LXDKIT_TEST_BRIDGE, LXDKIT_TEST_BRIDGE_INCUS)')
    .option('--cluster', "spread the containers over the cluster's members (availability zones) and show where each runs")
    .option('--image <alias>', 'image the demo series alias points at', 'lxdkit/busybox')
    .option('--series <series>', 'series of the demo (alias juju/<series>/<arch>)', 'busybox')
    .option('--profile <name>', 'profile assigned to the first container', 'lxdkit-nesting')
    .option('--count <n>', 'containers to create', int('--count', 1), 3)
    .action((o: DemoOptions, cmd: Command) => run(cmd, async (ctx) => (await import('./commands/demo.js')).demoCommand(ctx, o)));

  return { program, some };
}

/** Runs the command line `argv` (without `node` and the script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, opts: RunOptions = {}): Promise<number> {
  let code: number = ExitCode.OK;
  let ctx: CliContext | undefined;
  const program = buildProgram(
    io,
    async (cmd, work) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const level = parseLogLevel(g.logLevel ?? 'warn');
      const logger = opts.logger ?? lazyCliLogger({ level, pretty: io.stderr.isTTY === true });
      const { LxdClient } = await import('../lxd/client.js');
      ctx = new CliContext(io, g, logger, (options) => new LxdClient(options), await import('./remote-config.js'));
      if (opts.signal) {
        const c = ctx;
        if (opts.signal.aborted) c.controller.abort();
        else opts.signal.addEventListener('abort', () => c.controller.abort(), { once: true });
      }
      const r = await work(ctx);
      if (typeof r === 'number') code = r;
    },
    argv,
  );
  const onCommand = opts.onCommand;
  if (onCommand) program.hook('preAction', (_program, command) => onCommand(commandPath(command)));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    code = report(err, io, ctx);
  } finally {
    opts.onDone?.();
    // Closing the client ends each connection with an error whose stack Node reads (its streams do,
    // to free memory), and formatting a stack of the bundle makes V8 index the lines of all 1.1 MB
    // of it (~4 ms of every command). The command is over and what close throws is dropped: no
    // stack is taken while it closes.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      await ctx?.close().catch(() => {});
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
  return code;
}

function report(err: unknown, io: CliIo, ctx: CliContext | undefined): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    if (err.code === 'commander.executeSubCommandAsync') return ExitCode.OK;
    // commander already printed the message
    return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  const code = ctx?.signal.aborted ? ExitCode.INTERRUPTED : exitCodeFor(err);
  const e = err as { message?: string; code?: string };
  const message = err instanceof Error ? err.message : String(err);
  if (ctx?.json) io.stdout.write(`${JSON.stringify({ error: { message, code: typeof e.code === 'string' ? e.code : undefined, exitCode: code } })}\n`);
  io.stderr.write(`lxdkit: ${message}\n`);
  if (code === ExitCode.FAILURE && err instanceof Error && err.stack && !(err instanceof CliError)) ctx?.logger.debug({ stack: err.stack }, 'unexpected error');
  return code;
}
