/**
 * Every profile in profiles/ is valid: it parses in the `lxc profile show` shape, its name is its
 * file name, its charm-rule status is what profiles/README.md says, and the README lists it.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseProfileText } from '../../lib/cli/profile-files.js';
import { ProfileFileError } from '../../lib/cli/profile-files.js';

const dir = join(import.meta.dirname, '..', '..', 'profiles');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const readme = readFileSync(join(dir, 'README.md'), 'utf8');

/** The README's table: profile name → "yes" / "no ..." in the charm column. */
function readmeCharmColumn(): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of readme.split('\n')) {
    const m = /^\| `([^`]+)` \|.*\| (yes|no)\b[^|]*\|$/.exec(line);
    if (m) out.set(m[1]!, m[2] === 'yes');
  }
  return out;
}

describe('profiles/', () => {
  const table = readmeCharmColumn();

  it('has the documented collection', () => {
    expect(files.map((f) => basename(f, '.yaml'))).to.deep.equal([...table.keys()].sort());
    expect(files.length).to.be.at.least(4);
  });

  for (const file of files) {
    describe(file, () => {
      const text = readFileSync(join(dir, file), 'utf8');

      it('parses as one profile named after the file, with a description', () => {
        const docs = parseProfileText(text, file);
        expect(docs).to.have.length(1);
        expect(docs[0]!.name).to.equal(basename(file, '.yaml'));
        expect(docs[0]!.description).to.not.equal('');
      });

      it('passes the charm rules exactly when the README says so', () => {
        const expected = table.get(basename(file, '.yaml'));
        expect(expected, 'listed in profiles/README.md').to.be.a('boolean');
        let passes = true;
        try {
          parseProfileText(text, file, { charm: true });
        } catch (err) {
          expect(err).to.be.instanceOf(ProfileFileError);
          passes = false;
        }
        expect(passes).to.equal(expected);
      });

      it('never names a network, a storage pool or a host path outside /dev', () => {
        const [p] = parseProfileText(text, file);
        for (const device of Object.values(p!.devices)) {
          expect(device).to.not.have.any.keys('network', 'parent', 'pool', 'source');
          if (device['path'] !== undefined) expect(device['path']).to.match(/^\/dev\//);
        }
      });
    });
  }
});
