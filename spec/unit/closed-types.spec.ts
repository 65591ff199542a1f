/**
 * The published response types are closed: a misspelled field is a compile error, while the loose
 * schemas keep at run time the fields a newer server adds (they go back on a round-trip PUT).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { InstanceSchema } from '../../lib/lxd/schemas.js';

const LIB = join(import.meta.dirname, '..', '..', 'lib', 'index.js');

/** The diagnostics of a consumer file, as `line: code`, compiled strict against lib/index.ts. */
function diagnostics(source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lxdkit-closed-'));
  try {
    const file = join(dir, 'consumer.ts');
    writeFileSync(file, source.replace('LIB', LIB));
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      exactOptionalPropertyTypes: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: [],
    });
    return ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file)
      .map((d) => `${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: TS${d.code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('published response types are closed', function () {
  this.timeout(120_000);

  it('a misspelled field of an instance, a server, a network or a storage volume does not compile; known fields and config maps do', function () {
    const found = diagnostics(`import type { LxdInstance, LxdServer, LxdNetwork, LxdStorageVolume } from 'LIB';
declare const i: LxdInstance;
declare const s: LxdServer;
declare const n: LxdNetwork;
declare const v: LxdStorageVolume;
export const ok = [i.status, i.config['user.anything'], i.devices['root']?.['path'], s.environment?.server_name, s.config['core.https_address'], n.managed, v.config['size']];
export const bad1 = i.stauts;
export const bad2 = s.environment?.server_nam;
export const bad3 = n.manged;
export const bad4 = v.conifg;
`);
    expect(found).to.deep.equal(['7: TS2551', '8: TS2551', '9: TS2551', '10: TS2551']);
  });

  it('the fields a newer server adds are kept at run time', function () {
    const parsed = InstanceSchema.parse({ name: 'c1', status: 'Running', status_code: 103, brand_new_field: { x: 1 } }) as Record<string, unknown>;
    expect(parsed['brand_new_field']).to.deep.equal({ x: 1 });
  });
});
