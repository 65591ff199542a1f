/**
 * docs/cli.md's table of the `lxc` commands and their lxdkit forms cannot drift from the command: every
 * lxdkit form in it names commands and subcommands the program has (each alternative of `a|b`), and
 * options those commands (or the program) take; and every command issue #20 lists has a row.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Command } from 'commander';
import { StringStream } from '../../../lib/cli/io.js';
import { buildProgram } from '../../../lib/cli/program.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The lxdkit cell of each row of the table under "## lxc commands and their lxdkit forms". */
export function lxdkitForms(markdown: string): string[] {
  const start = markdown.indexOf('## lxc commands and their lxdkit forms');
  if (start < 0) throw new Error('docs/cli.md has no "lxc commands and their lxdkit forms" section');
  const section = markdown.slice(start, markdown.indexOf('\n## ', start + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| `lxc` | lxdkit'));
  return rows.map((row) => {
    // cells are split at pipes that are not escaped (\|)
    const cells = row.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
    const form = /`(lxdkit [^`]*)`/.exec(cells[2] ?? '');
    if (!form) throw new Error(`a row without an lxdkit form: ${row}`);
    return form[1]!;
  });
}

const sub = (cmd: Command, name: string): Command | undefined => cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));

/**
 * The commands a form names (`lxdkit a b|c d` gives a b d and a c d): while a command has subcommands
 * the next word must name them; a leaf ends the path. Errors name what is missing.
 */
export function leavesOf(program: Command, form: string): { leaves: Command[]; errors: string[] } {
  const words = form.split(/\s+/).slice(1);
  const errors: string[] = [];
  let current: Command[] = [program];
  for (const word of words) {
    if (current.every((c) => c.commands.length === 0)) break;
    const next: Command[] = [];
    for (const c of current) {
      if (c.commands.length === 0) {
        next.push(c);
        continue;
      }
      for (const alt of word.split('|')) {
        const s = sub(c, alt);
        if (s) next.push(s);
        else errors.push(`"${form}": "${c === program ? 'lxdkit' : c.name()}" has no subcommand "${alt}"`);
      }
    }
    current = next;
  }
  for (const c of current) if (c.commands.length > 0) errors.push(`"${form}": "${c.name()}" needs a subcommand`);
  return { leaves: current, errors };
}

/** The options a form shows (`-f`, `--alias`, …). */
export function optionsOf(form: string): string[] {
  return [...form.matchAll(/(?:^|[\s[(])(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]!).filter((o) => o !== '--');
}

const takes = (cmd: Command, flag: string): boolean => cmd.options.some((o) => o.short === flag || o.long === flag || (flag.startsWith('--no-') && o.long === flag));

/** The command paths issue #20 asks for, as the table must name them. */
const ISSUE_COMMANDS = [
  'launch', 'init', 'list', 'info', 'start', 'stop', 'restart', 'pause', 'delete', 'rename', 'copy', 'move',
  'config get', 'config set', 'config unset', 'config show', 'config edit',
  'config device add', 'config device remove', 'config device list', 'config device show',
  'profile assign', 'profile add', 'profile remove', 'shell', 'console',
  'image list', 'image info', 'image copy', 'image delete', 'image export', 'image import', 'image refresh',
  'image alias create', 'image alias delete', 'image alias list', 'publish',
  ...['list', 'show', 'create', 'delete', 'set', 'get', 'edit', 'attach', 'detach'].map((v) => `network ${v}`),
  ...['acl', 'zone', 'forward'].flatMap((k) => ['list', 'show', 'create', 'delete', 'edit'].map((v) => `network ${k} ${v}`)),
  ...['list', 'show', 'create', 'delete'].map((v) => `storage ${v}`),
  ...['list', 'show', 'create', 'delete', 'set', 'get', 'attach', 'detach', 'snapshot', 'copy', 'move', 'export', 'import'].map((v) => `storage volume ${v}`),
  'remote add', 'remote list', 'remote remove', 'remote rename', 'remote switch', 'remote get-default', 'remote import', 'completion',
];

const path = (cmd: Command): string => {
  const parts: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) parts.unshift(c.name());
  return parts.join(' ');
};

describe('docs/cli.md: the table of lxc commands and their lxdkit forms', () => {
  const program = buildProgram({ stdout: new StringStream(), stderr: new StringStream(), env: {}, cwd: '/' }, async () => {});
  const forms = lxdkitForms(readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8'));

  it('has a row per everyday command', () => {
    expect(forms.length).to.be.greaterThan(30);
  });

  it('names only commands and subcommands the program has, and options they (or the program) take', () => {
    const errors: string[] = [];
    for (const form of forms) {
      const { leaves, errors: e } = leavesOf(program, form);
      errors.push(...e);
      for (const flag of optionsOf(form)) {
        if (takes(program, flag)) continue;
        if (!leaves.some((l) => takes(l, flag))) errors.push(`"${form}": no command of it takes ${flag}`);
      }
    }
    expect(errors).to.deep.equal([]);
  });

  it('has a row for every command issue #20 lists', () => {
    const named = new Set(forms.flatMap((f) => leavesOf(program, f).leaves.map(path)));
    expect(ISSUE_COMMANDS.filter((c) => !named.has(c))).to.deep.equal([]);
  });

  it('the checks catch a command, a subcommand or an option that is not there', () => {
    expect(leavesOf(program, 'lxdkit imgae list').errors).to.have.length(1);
    expect(leavesOf(program, 'lxdkit image list|lst').errors).to.deep.equal(['"lxdkit image list|lst": "image" has no subcommand "lst"']);
    expect(leavesOf(program, 'lxdkit storage volume').errors).to.have.length(1);
    expect(leavesOf(program, 'lxdkit copy A B').leaves.map(path)).to.deep.equal(['copy']);
    const [copy] = leavesOf(program, 'lxdkit copy A B').leaves;
    expect(takes(copy!, '--mode')).to.equal(true);
    expect(takes(copy!, '--stateless')).to.equal(false);
    expect(optionsOf('lxdkit list [-c COLUMNS] [-f table|csv] (`--target` M) -- CMD')).to.deep.equal(['-c', '-f']);
  });
});
