/**
 * lib/cli/program.ts: a command line builds only the top-level command it runs (commandWord), and
 * every command when it names none that exists, so that commander answers as it always does.
 */
import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram, commandWord, runCli } from '../../../lib/cli/program.js';
import { ExitCode } from '../../../lib/cli/exit-codes.js';
import { LxdClient } from '../../../lib/lxd/client.js';
import { silentLogger } from '../../../lib/logger.js';
import { startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';
import { StringStream } from '../../../lib/cli/io.js';

const io = () => ({ stdout: new StringStream(), stderr: new StringStream(), env: {}, cwd: '/' });
const run = async (): Promise<void> => {};
const names = (p: Command): string[] => p.commands.map((c) => c.name());

describe('cli: the program builds the command a line runs', () => {
  const all = names(buildProgram(io(), run));

  it('commandWord reads the command after the options of the program, and the values of those that take one', () => {
    const p = buildProgram(io(), run, []);
    const cases: [string[], string | undefined][] = [
      [['status'], 'status'],
      [['--project', 'container', 'container', 'list'], 'container'],
      [['--project=p', 'status', '--extensions'], 'status'],
      [['--json', '--no-progress', 'image', 'list'], 'image'],
      [['--timeout', '5', '--log-level', 'debug', 'network', 'list'], 'network'],
      [['--server', 'incus', '--socket', '/s', 'list'], 'list'],
      // commander needs every command: its help, the completion, an option it does not know
      [['help', 'status'], undefined],
      [['__complete', '--', 'st'], undefined],
      [['--bogus', 'status'], undefined],
      [['--help'], undefined],
      [['-V'], undefined],
      [['--', 'status'], undefined],
      [[], undefined],
      [['--project'], undefined],
    ];
    for (const [argv, want] of cases) expect(commandWord(argv, p), argv.join(' ')).to.equal(want);
  });

  it('builds that command alone, with all its subcommands; a word that names none builds them all', () => {
    expect(all.length).to.be.greaterThan(30);
    expect(names(buildProgram(io(), run, ['status']))).to.deep.equal(['status']);
    const container = buildProgram(io(), run, ['--project', 'p', 'container', 'list']);
    expect(names(container)).to.deep.equal(['container']);
    const full = buildProgram(io(), run).commands.find((c) => c.name() === 'container')!;
    expect(names(container.commands[0]!)).to.deep.equal(names(full));
    // a typo, help, the completion and no command at all get every command
    for (const argv of [['statsu'], ['help'], ['__complete', '--', ''], [], ['--version']]) expect(names(buildProgram(io(), run, argv)), argv.join(' ')).to.deep.equal(all);
  });

  it('every top-level command alone has the options, arguments and subcommands it has among all', () => {
    const describe = (c: Command): unknown => ({ name: c.name(), options: c.options.map((o) => o.flags), args: c.registeredArguments.map((a) => a.name()), subs: c.commands.map(describe) });
    const full = buildProgram(io(), run);
    // (the completion's hidden __complete builds them all: it walks the program)
    for (const c of full.commands.filter((x) => x.name() !== '__complete')) {
      const alone = buildProgram(io(), run, [c.name()]);
      expect(alone.commands.map(describe), c.name()).to.deep.equal([describe(c)]);
      expect(alone.options.map((o) => o.flags)).to.deep.equal(full.options.map((o) => o.flags));
    }
    expect(names(buildProgram(io(), run, ['__complete']))).to.deep.equal(all);
  });
});

describe('cli: runCli tells its caller when the command is over (onDone)', () => {
  let fake: FakeLxd;
  before(async () => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0/storage-pools', () => sync([]));
    fake.on('GET', '/1.0/networks', () => sync([]));
    fake.on('GET', '/1.0/instances', () => sync([]));
  });
  after(async () => {
    await fake.close();
  });

  it('once, after the outcome is printed and before the client closes; after a failure too', async () => {
    for (const [args, code, printed] of [
      [['--socket', fake.socketPath, '--json', 'status'], ExitCode.OK, 'stdout'],
      [['--socket', fake.socketPath, 'container', 'list', '--model', 'not-a-uuid'], ExitCode.INVALID_INPUT, 'stderr'],
    ] as const) {
      const streams = io();
      const seen: string[] = [];
      const closeClient = LxdClient.prototype.close;
      LxdClient.prototype.close = function (this: LxdClient) {
        seen.push('close');
        return closeClient.call(this);
      };
      try {
        const got = await runCli(args, streams, { logger: silentLogger, onDone: () => seen.push(`done ${streams[printed].text.length > 0 ? 'after' : 'before'} the outcome`) });
        expect(got, streams.stderr.text).to.equal(code);
      } finally {
        LxdClient.prototype.close = closeClient;
      }
      expect(seen.filter((s) => s.startsWith('done')), args.join(' ')).to.deep.equal(['done after the outcome']);
      if (seen.includes('close')) expect(seen.indexOf('close')).to.be.above(seen.indexOf('done after the outcome'));
    }
  });
});
