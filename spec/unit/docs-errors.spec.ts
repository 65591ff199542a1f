import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ContainerErrorCode, KvmErrorCode, LxdErrorCode, LxdManagerErrorCode, ProxyErrorCode, SimplestreamsErrorCode } from '../../lib/index.js';
import { TestingErrorCode } from '../../lib/testing/index.js';
import { StackErrorCode } from '../../lib/stacks/index.js';

describe('docs/errors.md', function () {
  const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const families = { LxdErrorCode, SimplestreamsErrorCode, LxdManagerErrorCode, KvmErrorCode, ContainerErrorCode, TestingErrorCode, ProxyErrorCode, StackErrorCode };
  for (const [family, codes] of Object.entries(families)) {
    it(`lists every code of ${family}`, function () {
      const missing = Object.values(codes).filter((code) => !page.includes(`\`${code}\``));
      expect(missing).to.deep.equal([]);
    });
  }
});
