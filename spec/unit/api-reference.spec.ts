/**
 * The API reference (docs/reference/, written by `npm run docs` from scripts/api-reference.ts): every
 * public export of the package's entry points and every public method of its classes has a doc
 * comment, and the committed pages are what the sources give.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { collectApi, entryPoints, renderReference, staleReferencePages, undocumented, type ApiExport } from '../../scripts/api-reference.js';

/** A small package: what the check must name, and what it must leave alone. */
const DEMO = `
import { EventEmitter } from 'node:events';

/** A documented base. */
export class Base {
  /** Lists. */
  list(): string[] { return []; }
  get(): number { return 1; }
}

/** A subclass: its override of list() has the base's comment. */
export class Sub extends Base {
  override list(): string[] { return ['x']; }
  private secret(): void {}
  protected guarded(): void {}
  #hidden(): void {}
  static make(): Sub { return new Sub(); }
  /** Documented static. */
  static of(): Sub { return new Sub(); }
}

/** An emitter: on(), emit() and the rest are Node's. */
export class Emitter extends EventEmitter {
  /** Starts. */
  start(): void { this.emit('start'); }
  stop(): void { this.#hidden(); }
  #hidden(): void {}
  /** @internal left out of the published declarations */
  hook(): void {}
}

/** @internal */
export const HIDDEN = 3;

export const UNDOCUMENTED = 1;
/** A documented constant. */
export const DOCUMENTED = 2;
export type Bare = string;
/** An interface whose fields need no comment. */
export interface Options { quiet?: boolean; run(): void }
`;

describe('the API reference (npm run docs)', () => {
  let api: ApiExport[];

  before(() => {
    api = collectApi();
  });

  it('walks every entry point of package.json exports', () => {
    expect(entryPoints().map((e) => e.specifier)).to.deep.equal(['lxdkit', 'lxdkit/testing']);
    const entries = new Set(api.flatMap((e) => e.entries));
    expect([...entries].sort()).to.deep.equal(['lxdkit', 'lxdkit/testing']);
    expect(api.map((e) => e.name)).to.include.members(['LxdClient', 'LxdManager', 'Replayer', 'LxdkitError']);
  });

  it('every public export and public method has a doc comment', () => {
    const missing = undocumented(api);
    expect(missing, `${missing.length} without a doc comment:\n  ${missing.join('\n  ')}`).to.deep.equal([]);
  });

  it('docs/reference/ is what the sources give (npm run docs)', () => {
    const stale = staleReferencePages(renderReference(api));
    expect(stale, `out of date in docs/reference/: run npm run docs`).to.deep.equal([]);
  });

  describe('on a small package', () => {
    let dir: string;
    let demo: ApiExport[];

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'lxdkit-apiref-'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'demo', type: 'module', exports: { '.': { types: './dist/index.d.ts' } } }));
      mkdirSync(join(dir, 'lib'));
      writeFileSync(join(dir, 'lib', 'index.ts'), DEMO);
      demo = collectApi(dir);
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it('names each undocumented export and public method once, and nothing private, internal, inherited from Node or documented by a base', () => {
      expect(undocumented(demo)).to.deep.equal([
        'Bare (type, lib/index.ts)',
        'Base.get (method, lib/index.ts)',
        'Emitter.stop (method, lib/index.ts)',
        'Sub.static make (method, lib/index.ts)',
        'UNDOCUMENTED (const, lib/index.ts)',
      ]);
    });

    it('lists public members only, with the inherited ones marked and the base comment on an override', () => {
      const sub = demo.find((e) => e.name === 'Sub')!;
      expect(sub.members.map((m) => `${m.kind} ${m.isStatic ? 'static ' : ''}${m.name}${m.inheritedFrom ? ` from ${m.inheritedFrom}` : ''}`)).to.deep.equal([
        'constructor constructor',
        'method static make',
        'method static of',
        'method get from Base',
        'method list',
      ]);
      expect(sub.members.find((m) => m.name === 'list')!.doc).to.equal('Lists.');
      const emitter = demo.find((e) => e.name === 'Emitter')!;
      expect(emitter.members.filter((m) => m.kind === 'method').map((m) => m.name)).to.deep.equal(['start', 'stop']);
    });

    it('renders a page per source directory and an index, the same every time', () => {
      const pages = renderReference(demo, dir);
      expect([...pages.keys()].sort()).to.deep.equal(['README.md', 'core.md']);
      const page = pages.get('core.md')!;
      expect(page).to.contain('### Sub').and.to.contain('static make(): Sub').and.to.contain('*(no doc comment)*');
      expect(page.indexOf('### Base')).to.be.lessThan(page.indexOf('### Sub'));
      expect(renderReference(collectApi(dir), dir)).to.deep.equal(pages);
      expect(staleReferencePages(pages, dir)).to.deep.equal(['README.md', 'core.md']);
    });
  });
});
