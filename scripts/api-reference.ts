/**
 * Writes docs/reference/, the API reference, from the doc comments of the package's public entry
 * points (every `exports` entry of package.json: `lxdkit`, `lxdkit/testing`). It reads the sources
 * with the TypeScript compiler API: one Markdown page per source directory, each export with its
 * kind, signature and doc comment, classes with their public constructors, methods and properties.
 * The output is sorted and carries no date, so the same tree always gives the same pages.
 *
 *   npm run docs            # rewrite docs/reference/
 *   npm run docs -- --check # exit 1 if docs/reference/ is not what the sources give
 *
 * spec/unit/api-reference.spec.ts runs `collectApi()` and `renderReference()`: it fails on a public
 * export or method without a doc comment, and on a docs/reference/ that is out of date.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the reference is written, relative to the repository. */
export const REFERENCE_DIR = 'docs/reference';

/** A public member of an exported class. */
export interface ApiMember {
  name: string;
  kind: 'constructor' | 'method' | 'property' | 'accessor';
  isStatic: boolean;
  signature: string;
  doc: string;
  /** The class that declares it, when the member is inherited from a base class of lxdkit. */
  inheritedFrom?: string;
  /** The file that declares it, relative to the repository root. */
  file: string;
}

/** One public export (a symbol; an export of both entry points is one). */
export interface ApiExport {
  name: string;
  /** The package specifiers it is imported from: `lxdkit`, `lxdkit/testing`. */
  entries: string[];
  /** `class`, `function`, `interface`, `type`, `const`, `enum`, … (`const + type` for both). */
  kind: string;
  /** The declaring file, relative to the repository root (`lib/lxd/client.ts`). */
  file: string;
  signature: string;
  doc: string;
  members: ApiMember[];
}

/** The public entry points of package.json `exports`: specifier and source file (relative). */
export function entryPoints(root = ROOT): { specifier: string; file: string }[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const out: { specifier: string; file: string }[] = [];
  for (const [key, value] of Object.entries(pkg.exports)) {
    const types = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['types'] : undefined;
    if (typeof types !== 'string') continue;
    const match = /^\.\/dist\/(.+)\.d\.ts$/.exec(types);
    if (!match) continue;
    out.push({ specifier: key === '.' ? pkg.name : `${pkg.name}/${key.replace(/^\.\//, '')}`, file: `lib/${match[1]}.ts` });
  }
  return out.sort((a, b) => a.specifier.localeCompare(b.specifier));
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules', '@types')],
};

const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope | ts.TypeFormatFlags.WriteArrowStyleSignature;
/** Types longer than this are shortened with `…` (zod schemas spell out their whole shape). */
const MAX_TYPE = 200;

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function shorten(text: string, max = MAX_TYPE): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tags = symbol
    .getJsDocTags(checker)
    .filter((t) => t.name !== 'internal')
    .map((t) => `@${t.name}${t.text ? ` ${ts.displayPartsToString(t.text).trim()}` : ''}`);
  return [text, ...tags].filter((s) => s !== '').join('\n\n');
}

/** Tagged `@internal`: left out of the published declarations (`stripInternal`), so not public. */
function isInternal(decl: ts.Node): boolean {
  return ts.getJSDocTags(decl).some((t) => t.tagName.text === 'internal');
}

function isPublic(decl: ts.Declaration): boolean {
  if (isInternal(decl)) return false;
  const flags = ts.getCombinedModifierFlags(decl);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  const name = ts.getNameOfDeclaration(decl);
  return !(name && ts.isPrivateIdentifier(name));
}

function memberName(symbol: ts.Symbol, decl: ts.Declaration): string {
  const name = ts.getNameOfDeclaration(decl);
  if (name && ts.isComputedPropertyName(name)) return name.getText();
  return symbol.getName();
}

/** The class declaration a member belongs to, if any. */
function owningClass(decl: ts.Node): ts.ClassLikeDeclaration | undefined {
  let node: ts.Node | undefined = decl.parent;
  while (node && !ts.isClassLike(node)) node = node.parent;
  return node;
}

function kindOf(symbol: ts.Symbol): string {
  const f = symbol.flags;
  const kinds: string[] = [];
  if (f & ts.SymbolFlags.Class) kinds.push(symbol.declarations?.some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Abstract) ? 'abstract class' : 'class');
  if (f & ts.SymbolFlags.Function) kinds.push('function');
  if (f & ts.SymbolFlags.Enum) kinds.push('enum');
  if (f & ts.SymbolFlags.Variable) {
    const decl = symbol.declarations?.find(ts.isVariableDeclaration);
    kinds.push(decl && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const ? 'const' : 'let');
  }
  if (f & ts.SymbolFlags.Interface) kinds.push('interface');
  if (f & ts.SymbolFlags.TypeAlias) kinds.push('type');
  if (f & ts.SymbolFlags.ValueModule) kinds.push('namespace');
  return kinds.join(' + ') || 'export';
}

/** The file of a declaration, relative to the repository root, with `/`. */
function relFile(node: ts.Node, root: string): string {
  return relative(root, node.getSourceFile().fileName).split(sep).join('/');
}

function printNode(node: ts.Node): string {
  return printer.printNode(ts.EmitHint.Unspecified, node, node.getSourceFile());
}

function signatureOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const parts: string[] = [];
  for (const decl of symbol.declarations ?? []) {
    if (ts.isFunctionDeclaration(decl)) {
      // The implementation of overloads is not part of the public signature.
      if (decl.body && (symbol.declarations ?? []).filter(ts.isFunctionDeclaration).length > 1) continue;
      const sig = checker.getSignatureFromDeclaration(decl);
      if (sig) parts.push(`function ${symbol.getName()}${checker.signatureToString(sig, undefined, ts.TypeFormatFlags.NoTruncation)}`);
    } else if (ts.isClassDeclaration(decl)) {
      const abstract = ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Abstract ? 'abstract ' : '';
      const params = decl.typeParameters ? `<${decl.typeParameters.map((p) => printNode(p)).join(', ')}>` : '';
      const heritage = (decl.heritageClauses ?? []).map((h) => printNode(h)).join(' ');
      parts.push(`${abstract}class ${symbol.getName()}${params}${heritage ? ` ${heritage}` : ''}`);
    } else if (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl) || ts.isEnumDeclaration(decl)) {
      parts.push(printNode(decl).replace(/^export (declare )?/, ''));
    } else if (ts.isVariableDeclaration(decl)) {
      const keyword = ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const ? 'const' : 'let';
      let type: string;
      if (decl.type) type = printNode(decl.type);
      else if (decl.initializer && (ts.isStringLiteral(decl.initializer) || ts.isNumericLiteral(decl.initializer) || ts.isPrefixUnaryExpression(decl.initializer))) {
        parts.push(`${keyword} ${symbol.getName()} = ${printNode(decl.initializer)}`);
        continue;
      } else type = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, decl), undefined, FORMAT);
      parts.push(`${keyword} ${symbol.getName()}: ${shorten(type)}`);
    } else if (ts.isModuleDeclaration(decl)) {
      parts.push(`namespace ${symbol.getName()}`);
    }
  }
  return parts.join('\n');
}

/** The documented fields and methods of an interface (the signature shows them all without their comments). */
function interfaceMembersOf(symbol: ts.Symbol, checker: ts.TypeChecker, root: string): ApiMember[] {
  const out: ApiMember[] = [];
  for (const decl of symbol.declarations ?? []) {
    if (!ts.isInterfaceDeclaration(decl)) continue;
    for (const m of decl.members) {
      const member = m.name && checker.getSymbolAtLocation(m.name);
      if (!member) continue;
      const doc = docOf(member, checker);
      if (doc === '') continue;
      out.push({ name: memberName(member, m), kind: ts.isMethodSignature(m) ? 'method' : 'property', isStatic: false, signature: memberName(member, m), doc, file: relFile(m, root) });
    }
  }
  return out;
}

function membersOf(symbol: ts.Symbol, checker: ts.TypeChecker, root: string): ApiMember[] {
  const classDecl = symbol.declarations?.find(ts.isClassDeclaration);
  if (!classDecl) return [];
  const members: ApiMember[] = [];
  const staticType = checker.getTypeOfSymbolAtLocation(symbol, classDecl);
  for (const sig of staticType.getConstructSignatures()) {
    const decl = sig.getDeclaration() as ts.Declaration | undefined;
    if (decl && !isPublic(decl)) continue;
    const params = sig.getParameters().map((p) => {
      const pdecl = p.valueDeclaration;
      const optional = pdecl && ts.isParameter(pdecl) && (pdecl.questionToken || pdecl.initializer) ? '?' : '';
      const rest = pdecl && ts.isParameter(pdecl) && pdecl.dotDotDotToken ? '...' : '';
      return `${rest}${p.getName()}${optional}: ${shorten(checker.typeToString(checker.getTypeOfSymbol(p), undefined, FORMAT))}`;
    });
    const doc = decl ? ts.displayPartsToString(sig.getDocumentationComment(checker)).trim() : '';
    members.push({ name: 'constructor', kind: 'constructor', isStatic: false, signature: `new ${symbol.getName()}(${params.join(', ')})`, doc, file: relFile(classDecl, root) });
  }
  const sides: [ts.Type, boolean][] = [
    [checker.getDeclaredTypeOfSymbol(symbol), false],
    [staticType, true],
  ];
  for (const [type, isStatic] of sides) {
    for (const member of type.getProperties()) {
      if (isStatic && member.getName() === 'prototype') continue;
      const decl = member.valueDeclaration ?? member.declarations?.[0];
      if (!decl) continue;
      const file = decl.getSourceFile();
      // What a Node class (EventEmitter, Error, …) brings is not lxdkit's to document.
      if (file.isDeclarationFile || file.fileName.includes('/node_modules/')) continue;
      if (!isPublic(decl) || member.getName().startsWith('__#')) continue;
      const owner = owningClass(decl);
      const name = memberName(member, decl);
      const memberType = checker.getTypeOfSymbolAtLocation(member, decl);
      let kind: ApiMember['kind'];
      let signature: string;
      const prefix = isStatic ? 'static ' : '';
      if (ts.isMethodDeclaration(decl)) {
        kind = 'method';
        const sigs = memberType.getCallSignatures();
        signature = sigs.map((s) => `${prefix}${name}${checker.signatureToString(s, undefined, ts.TypeFormatFlags.NoTruncation)}`).join('\n');
      } else if (ts.isGetAccessorDeclaration(decl) || ts.isSetAccessorDeclaration(decl)) {
        kind = 'accessor';
        const readonly = member.declarations?.some(ts.isSetAccessorDeclaration) ? '' : 'readonly ';
        signature = `${prefix}${readonly}${name}: ${shorten(checker.typeToString(memberType, undefined, FORMAT))}`;
      } else {
        kind = 'property';
        const readonly = ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
        signature = `${prefix}${readonly}${name}: ${shorten(checker.typeToString(memberType, undefined, FORMAT))}`;
      }
      const entry: ApiMember = { name, kind, isStatic, signature, doc: docOf(member, checker), file: relFile(decl, root) };
      if (owner && owner !== classDecl) entry.inheritedFrom = owner.name?.getText() ?? '(anonymous class)';
      members.push(entry);
    }
  }
  const order = { constructor: 0, property: 1, accessor: 1, method: 2 } as const;
  return members.sort((a, b) => order[a.kind] - order[b.kind] || Number(b.isStatic) - Number(a.isStatic) || a.name.localeCompare(b.name, 'en'));
}

/** Every public export of the entry points, sorted by name, each once. */
export function collectApi(root = ROOT): ApiExport[] {
  const entries = entryPoints(root);
  const program = ts.createProgram(
    entries.map((e) => join(root, e.file)),
    COMPILER_OPTIONS,
  );
  const checker = program.getTypeChecker();
  const bySymbol = new Map<ts.Symbol, ApiExport>();
  for (const entry of entries) {
    const source = program.getSourceFile(join(root, entry.file));
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${entry.file}: not found or not a module`);
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (symbol.declarations?.length && symbol.declarations.every(isInternal)) continue;
      const known = bySymbol.get(symbol);
      if (known) {
        if (!known.entries.includes(entry.specifier)) known.entries.push(entry.specifier);
        continue;
      }
      const decl = symbol.declarations?.[0];
      const file = decl ? relFile(decl, root) : '';
      bySymbol.set(symbol, {
        name: exported.getName(),
        entries: [entry.specifier],
        kind: kindOf(symbol),
        file,
        signature: signatureOf(symbol, checker),
        doc: docOf(symbol, checker),
        members: symbol.flags & ts.SymbolFlags.Class ? membersOf(symbol, checker, root) : symbol.flags & ts.SymbolFlags.Interface ? interfaceMembersOf(symbol, checker, root) : [],
      });
    }
  }
  return [...bySymbol.values()].sort((a, b) => a.name.localeCompare(b.name, 'en') || a.file.localeCompare(b.file, 'en'));
}

/**
 * The public exports and methods without a doc comment: `Name` for an export, `Class.method` for a
 * method (an inherited one is named once, by the class that declares it).
 */
export function undocumented(api: readonly ApiExport[]): string[] {
  const out = new Set<string>();
  for (const e of api) {
    if (e.doc === '') out.add(`${e.name} (${e.kind}, ${e.file})`);
    if (!e.kind.includes('class')) continue;
    for (const m of e.members) {
      if (m.kind !== 'method' || m.doc !== '') continue;
      out.add(`${m.inheritedFrom ?? e.name}.${m.isStatic ? 'static ' : ''}${m.name} (method, ${m.file})`);
    }
  }
  return [...out].sort();
}

/** The page of an export: one per source directory (`lib/lxd/resources` → `lxd-resources.md`). */
export function pageOf(file: string): string {
  const dir = dirname(file).replace(/^lib\/?/, '');
  return `${dir === '' || dir === '.' ? 'core' : dir.replace(/\//g, '-')}.md`;
}

const anchor = (name: string): string => name.toLowerCase().replace(/[^a-z0-9_-]/g, '');

function fence(code: string): string {
  return `\`\`\`ts\n${code}\n\`\`\``;
}

function renderExport(e: ApiExport): string {
  const lines: string[] = [`### ${e.name}`, ''];
  lines.push(`*${e.kind}* · ${e.entries.map((s) => `\`${s}\``).join(', ')} · \`${e.file}\``, '');
  if (e.signature) lines.push(fence(e.signature), '');
  lines.push(e.doc === '' ? '*(no doc comment)*' : e.doc, '');
  if (!e.kind.includes('class')) {
    if (e.members.length > 0) lines.push('#### Members', '', ...e.members.map((m) => `- \`${m.name}\`: ${m.doc.split('\n').join('\n  ')}`), '');
    return lines.join('\n');
  }
  const groups: [string, ApiMember[]][] = [
    ['Constructor', e.members.filter((m) => m.kind === 'constructor')],
    ['Properties', e.members.filter((m) => m.kind === 'property' || m.kind === 'accessor')],
    ['Methods', e.members.filter((m) => m.kind === 'method')],
  ];
  for (const [title, members] of groups) {
    if (members.length === 0) continue;
    lines.push(`#### ${title}`, '');
    for (const m of members) {
      const from = m.inheritedFrom ? ` *(from ${m.inheritedFrom})*` : '';
      lines.push(`- \`${m.signature.split('\n').join('`<br>`').replace(/\|/g, '\\|')}\`${from}`);
      if (m.doc) lines.push(...m.doc.split('\n').map((l) => (l === '' ? '' : `  ${l}`)));
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The pages of docs/reference/, by file name, as the sources give them. */
export function renderReference(api: readonly ApiExport[], root = ROOT): Map<string, string> {
  const pages = new Map<string, ApiExport[]>();
  for (const e of api) {
    const page = pageOf(e.file);
    pages.set(page, [...(pages.get(page) ?? []), e]);
  }
  const out = new Map<string, string>();
  const names = [...pages.keys()].sort();
  const rows: string[] = [];
  for (const page of names) {
    const exports = pages.get(page)!;
    const dir = dirname(exports[0]!.file);
    const files = [...new Set(exports.map((e) => e.file))].sort();
    const entries = [...new Set(exports.flatMap((e) => e.entries))].sort();
    const lines = [`# ${dir}`, '', `Generated by \`npm run docs\` from the doc comments of ${files.map((f) => `\`${f}\``).join(', ')}; do not edit. Imported from ${entries.map((s) => `\`${s}\``).join(', ')}. [All pages](README.md).`, ''];
    for (const file of files) {
      const inFile = exports.filter((e) => e.file === file);
      lines.push(`## ${file}`, '', inFile.map((e) => `[${e.name}](#${anchor(e.name)})`).join(' · '), '');
      for (const e of inFile) lines.push(renderExport(e));
    }
    out.set(page, `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`);
    const methods = exports.reduce((n, e) => n + e.members.filter((m) => m.kind === 'method' && !m.inheritedFrom).length, 0);
    rows.push(`| [${dir}](${page}) | ${entries.map((s) => `\`${s}\``).join(', ')} | ${exports.length} | ${methods} |`);
  }
  const entryList = entryPoints(root).map((e) => `\`${e.specifier}\` (\`${e.file}\`)`).join(' and ');
  out.set(
    'README.md',
    [
      '# API reference',
      '',
      `Every public export of ${entryList}, with its kind, signature and doc comment; classes with their public constructors, properties and methods. One page per source directory.`,
      '',
      'Generated from the doc comments by `npm run docs` (scripts/api-reference.ts); do not edit these pages. `npm run docs -- --check` says whether they are up to date, and `spec/unit/api-reference.spec.ts` fails on an out-of-date page and on a public export or method without a doc comment.',
      '',
      '| Page | Imported from | Exports | Methods declared |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  return out;
}

/** The files of docs/reference/ that differ from `pages`, are missing, or should not be there. */
export function staleReferencePages(pages: Map<string, string>, root = ROOT): string[] {
  const dir = join(root, REFERENCE_DIR);
  const present = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')) : [];
  const stale = present.filter((f) => !pages.has(f));
  for (const [name, text] of pages) {
    const path = join(dir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(name);
  }
  return stale.sort();
}

function main(argv: readonly string[]): number {
  const api = collectApi();
  const pages = renderReference(api);
  const missing = undocumented(api);
  if (argv.includes('--check')) {
    const stale = staleReferencePages(pages);
    for (const f of stale) process.stderr.write(`${REFERENCE_DIR}/${f} is out of date: run npm run docs\n`);
    for (const m of missing) process.stderr.write(`no doc comment: ${m}\n`);
    return stale.length === 0 && missing.length === 0 ? 0 : 1;
  }
  const dir = join(ROOT, REFERENCE_DIR);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.md') && !pages.has(f)) rmSync(join(dir, f));
  for (const [name, text] of pages) writeFileSync(join(dir, name), text);
  process.stdout.write(`${REFERENCE_DIR}/: ${pages.size} pages, ${api.length} exports\n`);
  for (const m of missing) process.stderr.write(`no doc comment: ${m}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
