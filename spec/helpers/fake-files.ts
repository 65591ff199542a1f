/**
 * A file tree served by the fake LXD (spec/helpers/fake-lxd.ts) at `/1.0/instances/:name/files`, as
 * LXD 5.0.2 serves one: GET of a file gives its bytes, of a symlink its target, of a directory a sync
 * envelope listing its entries, each with `X-LXD-type`/`-uid`/`-gid`/`-mode`; HEAD the headers only.
 * A `fifo` behaves as LXD's FIFO does: HEAD says `file`, GET never answers. The tree may lie: entry
 * names are served as given (`..`, `a/b`, twice), and `set()` swaps the tree between two pulls.
 *
 * ```ts
 * const tree = serveFiles(fake, '/t', dir([['a', file('hi', 0o4755)], ['..', file('up')]]));
 * ```
 */
import { posix } from 'node:path';
import { lxdError, sync, type FakeLxd, type FakeResponse } from './fake-lxd.js';

export type FakeNode =
  | { type: 'file'; content: string; mode: number }
  | { type: 'directory'; entries: [string, FakeNode][]; mode: number }
  | { type: 'symlink'; target: string }
  /** LXD's view of a FIFO: a file whose GET waits for a writer that never comes. */
  | { type: 'fifo' }
  /** A server that names another type in X-LXD-type (e.g. `fifo`), with an empty body. */
  | { type: 'special'; header: string };

export const file = (content: string, mode = 0o644): FakeNode => ({ type: 'file', content, mode });
export const dir = (entries: [string, FakeNode][], mode = 0o755): FakeNode => ({ type: 'directory', entries, mode });
export const link = (target: string): FakeNode => ({ type: 'symlink', target });
export const fifo = (): FakeNode => ({ type: 'fifo' });

export interface FakeFiles {
  /** Serves `root` from now on. */
  set(root: FakeNode): void;
  /** The paths GET and HEAD asked for, in order. */
  asked: string[];
}

/**
 * Serves `root` at `rootPath` (for every instance name). `at` is the files endpoint (default an
 * instance's; a custom volume's is `/1.0/storage-pools/:pool/volumes/custom/:volume/files`), `kind`
 * the server whose header names it uses (`X-LXD-*` or `X-Incus-*`).
 */
export function serveFiles(fake: FakeLxd, rootPath: string, root: FakeNode, opts: { at?: string; kind?: 'lxd' | 'incus' } = {}): FakeFiles {
  const at = opts.at ?? '/1.0/instances/:name/files';
  const h = opts.kind === 'incus' ? 'x-incus' : 'x-lxd';
  let byPath = new Map<string, FakeNode>();
  const asked: string[] = [];
  const set = (node: FakeNode): void => {
    byPath = new Map();
    // keyed as a client joins the paths it asks for (posix.join): a hostile name lands where it points
    const add = (path: string, n: FakeNode): void => {
      if (!byPath.has(path)) byPath.set(path, n);
      if (n.type === 'directory') for (const [name, child] of n.entries) if (posix.join(path, name) !== path) add(posix.join(path, name), child);
    };
    add(rootPath, node);
  };
  set(root);
  const headers = (type: string, mode: number): Record<string, string> => ({ [`${h}-type`]: type, [`${h}-uid`]: '0', [`${h}-gid`]: '0', [`${h}-mode`]: `0${mode.toString(8)}` });
  const answer = (head: boolean) => (req: { query: URLSearchParams }): FakeResponse | Promise<FakeResponse> => {
    const path = req.query.get('path') ?? '';
    asked.push(path);
    const n = byPath.get(posix.normalize(path).replace(/(.)\/$/, '$1'));
    if (!n) return lxdError(404, 'Not Found');
    switch (n.type) {
      case 'file':
        return { body: n.content, headers: headers('file', n.mode) };
      case 'symlink':
        return { body: n.target, headers: headers('symlink', 0o777) };
      case 'directory':
        return { ...sync(n.entries.map(([name]) => name)), headers: headers('directory', n.mode) };
      case 'special':
        return { body: '', headers: headers(n.header, 0o644) };
      case 'fifo':
        return head ? { body: '', headers: headers('file', 0o644) } : new Promise<FakeResponse>(() => undefined);
    }
  };
  fake.on('GET', at, answer(false));
  fake.on('HEAD', at, answer(true));
  return { set, asked };
}
