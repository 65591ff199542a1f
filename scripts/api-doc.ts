/**
 * Writes docs/api.md, the endpoint table, from the route table (lib/lxd/routes/table.ts) and the
 * servers' own specs (fixtures/rest-api/*.pairs.tsv): one row per (method, path) of LXD 5.0's and
 * Incus 6.0's `rest-api.yaml`. Where each method is tested is read from the specs that call it.
 *
 *   npm run docs:api            # rewrite docs/api.md
 *   npm run docs:api -- --check # exit 1 if docs/api.md is not what the table gives
 *
 * spec/unit/lxd/routes.spec.ts runs `renderApiDoc()` and compares.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROUTES } from '../lib/lxd/routes/table.js';
import type { Route } from '../lib/lxd/routes/route.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface Pair {
  method: string;
  path: string;
  summary: string;
}

/** The (method, path) pairs of one spec, in its order. */
export function readPairs(file: string, root = ROOT): Pair[] {
  return readFileSync(join(root, 'fixtures/rest-api', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [method = '', path = '', , summary = ''] = l.split('\t');
      return { method, path, summary };
    });
}

export const key = (method: string, path: string): string => `${method} ${path}`;

/** An endpoint: the pair without its query-string variant. */
export const endpoint = (method: string, path: string): string => key(method, path.split('?')[0] ?? path);

type Where = 'real LXD' | 'real Incus' | 'recorded' | 'fake server';
const ORDER: readonly Where[] = ['real LXD', 'real Incus', 'recorded', 'fake server'];

function specFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...specFiles(p));
    else if (entry.name.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

/**
 * Where each method is called from a spec: an integration spec that runs on both servers
 * (`describeEachServer`, `SERVERS`) counts for real LXD and real Incus, any other integration or
 * cluster spec for real LXD, a fixture spec for recorded answers, any other unit spec for a fake server;
 * a helper in spec/helpers counts wherever the specs that import it run.
 */
export function testedWhere(root = ROOT): (name: string) => Where[] {
  const files: { text: string; where: Where[] }[] = specFiles(join(root, 'spec')).map((file) => {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    let where: Where[];
    if (rel.startsWith('spec/integration/') || rel.startsWith('spec/cluster/')) where = /describeEachServer|SERVERS/.test(text) ? ['real LXD', 'real Incus'] : ['real LXD'];
    else if (rel.startsWith('spec/unit/fixtures/')) where = ['recorded'];
    else where = ['fake server'];
    return { text, where };
  });
  // A helper (spec/helpers/*.ts) counts where the specs that import it run.
  const helpers = readdirSync(join(root, 'spec/helpers'))
    .filter((n) => n.endsWith('.ts'))
    .map((n) => {
      const importedAs = `helpers/${n.replace(/\.ts$/, '.js')}'`;
      const where = new Set<Where>(files.filter((f) => f.text.includes(importedAs)).flatMap((f) => f.where));
      return { text: readFileSync(join(root, 'spec/helpers', n), 'utf8'), where: ORDER.filter((w) => where.has(w)) };
    });
  files.push(...helpers);
  return (name) => {
    const call = `${name.replace(/^client\./, '')}(`;
    const found = new Set<Where>();
    for (const f of files) if (f.text.includes(`.${call}`)) for (const w of f.where) found.add(w);
    return ORDER.filter((w) => found.has(w));
  };
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** docs/api.md, as the route table gives it. */
export function renderApiDoc(root = ROOT, routes: readonly Route[] = ROUTES): string {
  const lxd = readPairs('lxd-5.0.pairs.tsv', root);
  const incus = readPairs('incus-6.0.pairs.tsv', root);
  const inLxd = new Set(lxd.map((p) => key(p.method, p.path)));
  const inIncus = new Set(incus.map((p) => key(p.method, p.path)));
  const byKey = new Map(routes.map((r) => [key(r.method, r.path), r]));
  const tested = testedWhere(root);
  const seen = new Set<string>();
  const rows: string[] = [];
  for (const p of [...incus, ...lxd]) {
    const k = key(p.method, p.path);
    if (seen.has(k)) continue;
    seen.add(k);
    const route = byKey.get(k);
    const name = route?.name;
    const method = name ? `\`${name}\`` : '—';
    const note = route?.why ? ` ${cell(route.why)}` : route ? '' : ' no route declared';
    // a method that runs on both servers exercises the route only on the servers that have it
    const where = name ? tested(name).filter((w) => (w !== 'real LXD' || route?.servers.lxd) && (w !== 'real Incus' || route?.servers.incus)).join(', ') || 'not yet' : '';
    const ext = route?.extension ? ` (\`${route.extension}\`)` : '';
    rows.push(`| ${p.method} | \`${cell(p.path)}\` | ${method}${note}${ext} | ${inLxd.has(k) ? 'yes' : ''} | ${inIncus.has(k) ? 'yes' : ''} | ${where} |`);
  }
  const coverage = (pairs: Pair[]): string => {
    const endpoints = new Set(pairs.map((p) => endpoint(p.method, p.path)));
    const typed = new Set(pairs.filter((p) => byKey.get(key(p.method, p.path))?.name !== undefined).map((p) => endpoint(p.method, p.path)));
    const typedPairs = pairs.filter((p) => byKey.get(key(p.method, p.path))?.name !== undefined).length;
    return `${typed.size} of ${endpoints.size} endpoints (${Math.round((100 * typed.size) / endpoints.size)} %), ${typedPairs} of ${pairs.length} pairs`;
  };
  return [
    '# The REST API, endpoint by endpoint',
    '',
    '<!-- Generated by `npm run docs:api` from lib/lxd/routes/table.ts and fixtures/rest-api/; do not edit. -->',
    '',
    'One row per (method, path) of LXD 5.0\'s and Incus 6.0\'s own `rest-api.yaml`',
    '(`fixtures/rest-api/*.pairs.tsv`), with the lxdkit method that serves it, or why none does. The',
    'table is generated from the route table (`lib/lxd/routes/table.ts`, see [client.md](client.md#the-route-table)),',
    'and `spec/unit/lxd/routes.spec.ts` fails when a route and a row disagree. An extension in brackets',
    'is checked before any request: a server without it gets `LxdExtensionMissingError` and no request.',
    '',
    `Typed: LXD 5.0 ${coverage(lxd)}; Incus 6.0 ${coverage(incus)}.`,
    '',
    '"Tested" says where a spec calls the method: on the real LXD 5.0.2 or Incus 6.0.4 of the host',
    '(`spec/integration/`), on answers recorded from them (`spec/unit/fixtures/`), or on a fake server',
    '(`spec/unit/`). Endpoints without a typed method are reachable through `client.query()`.',
    '',
    '| method | path | lxdkit | LXD 5.0 | Incus 6.0 | tested |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(ROOT, 'docs/api.md');
  const text = renderApiDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(out, 'utf8') !== text) {
      console.error('docs/api.md is out of date: run npm run docs:api');
      process.exit(1);
    }
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${relative(process.cwd(), out)}`);
  }
}
