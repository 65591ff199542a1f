import { expect } from 'chai';
import fc from 'fast-check';
import { ContainerError, ContainerErrorCode } from '../../../lib/container/index.js';
import {
  AppName,
  Prefix,
  isValidProfileName,
  lxdProfileNames,
  matchProfileNameByAppName,
  profileName,
  profileReplaceRevision,
  profileRevision,
} from '../../../lib/lxdprofile/index.js';

const odd = 'b312--?123!!bb-x__xx-012-y123yy';

function thrown(fn: () => unknown): ContainerError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ContainerError);
    return err as ContainerError;
  }
  throw new Error('expected an error');
}

describe('lxdprofile names (Juju LXDProfileNameSuite)', () => {
  it('AppName and Prefix', () => {
    expect(AppName).to.equal('juju');
    expect(Prefix).to.equal('juju-');
  });

  it('profileName is juju-<model>-<app>-<rev>', () => {
    expect(profileName('default', 'mysql', 12)).to.equal('juju-default-mysql-12');
  });

  describe('lxdProfileNames (TestProfileNames)', () => {
    const table: { input: string[]; output: string[] }[] = [
      { input: [], output: [] },
      { input: ['default'], output: [] },
      { input: ['default', 'juju-model'], output: [] },
      { input: [profileName('foo', 'bar', 1)], output: [profileName('foo', 'bar', 1)] },
      {
        input: ['default', profileName('foo', 'bar', 1), profileName('foo', 'bar', 1), profileName('aaa', 'bbb', 100)],
        output: [profileName('foo', 'bar', 1), profileName('aaa', 'bbb', 100)],
      },
      {
        input: [
          'default',
          profileName('foo', 'bar', 1),
          profileName('foo', 'bar', 1),
          'some-other-profile',
          profileName('aaa', 'bbb', 100),
        ],
        output: [profileName('foo', 'bar', 1), profileName('aaa', 'bbb', 100)],
      },
      {
        input: [profileName('a', 'b', 1), profileName('c', 'd', 2), profileName('a', 'b', 1)],
        output: [profileName('c', 'd', 2), profileName('a', 'b', 1)],
      },
    ];
    for (const { input, output } of table) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => expect(lxdProfileNames(input)).to.deep.equal(output));
    }
  });

  describe('isValidProfileName (TestIsValidName)', () => {
    const table: [string, boolean][] = [
      ['', false],
      ['default', false],
      ['juju-model', false],
      [profileName('foo', 'bar', 1), true],
      [profileName('aaa-zzz', odd, 100), true],
      ['juju-12345', true],
      ['juju-1234', false],
      ['juju-a-b--1', true],
      ['juju-a-b-+1', true],
      ['juju-a-b-1.0', false],
      ['juju-a-b-', false],
      ['JUJU-a-b-1', false],
      // Go measures the suffix in bytes: 'é' is 2 bytes (1 UTF-16 unit), '😀' 4 bytes (2 units)
      ['juju-é-12', true], // 5 bytes, 4 units
      ['juju-éé-1', true], // 6 bytes, 4 units
      ['juju-😀-1', true], // 6 bytes, 4 units
      ['juju-é-1', false], // 4 bytes
      ['juju-éab', false], // 5 bytes, but no integer at the end
    ];
    for (const [input, valid] of table) {
      it(`${JSON.stringify(input)} is ${valid ? 'valid' : 'invalid'}`, () => expect(isValidProfileName(input)).to.equal(valid));
    }
  });

  describe('profileRevision (TestProfileRevision)', () => {
    const table: { input: string; output?: number; err?: string }[] = [
      { input: '', err: 'not a juju profile name: ""' },
      { input: 'default', err: 'not a juju profile name: "default"' },
      { input: 'juju-model', err: 'not a juju profile name: "juju-model"' },
      { input: profileName('foo', 'bar', 1), output: 1 },
      { input: profileName('aaa-zzz', odd, 100), output: 100 },
      { input: 'juju-é-12', output: 12 },
      { input: 'juju-é-1', err: 'not a juju profile name: "juju-é-1"' },
    ];
    for (const { input, output, err } of table) {
      it(`${JSON.stringify(input)} ${err ? `fails with ${err}` : `is ${output}`}`, () => {
        if (err) {
          const e = thrown(() => profileRevision(input));
          expect(e.message).to.equal(err);
          expect(e.code).to.equal(ContainerErrorCode.BAD_REQUEST);
        } else {
          expect(profileRevision(input)).to.equal(output);
        }
      });
    }
  });

  describe('profileReplaceRevision (TestProfileReplaceRevision)', () => {
    const table: { input: string; rev: number; output?: string; err?: string }[] = [
      { input: '', rev: 0, err: 'not a juju profile name: ""' },
      { input: 'default', rev: 0, err: 'not a juju profile name: "default"' },
      { input: 'juju-model', rev: 0, err: 'not a juju profile name: "juju-model"' },
      { input: profileName('foo', 'bar', 1), rev: 4, output: profileName('foo', 'bar', 4) },
      { input: profileName('aaa-zzz', odd, 123), rev: 312, output: profileName('aaa-zzz', odd, 312) },
      // Juju replaces the text after the last "-": without one in the suffix, that is the whole prefix.
      { input: 'juju-12345', rev: 7, output: 'juju-7' },
    ];
    for (const { input, rev, output, err } of table) {
      it(`${JSON.stringify(input)} with ${rev} ${err ? `fails with ${err}` : `is ${output}`}`, () => {
        if (err) {
          const e = thrown(() => profileReplaceRevision(input, rev));
          expect(e.message).to.equal(err);
          expect(e.code).to.equal(ContainerErrorCode.BAD_REQUEST);
        } else {
          expect(profileReplaceRevision(input, rev)).to.equal(output);
        }
      });
    }
  });

  describe('matchProfileNameByAppName (TestMatchProfileNameByAppName)', () => {
    const table: { input: string[]; app: string; output?: string; err?: string }[] = [
      { input: [], app: '', err: 'no application name specified' },
      { input: ['default'], app: 'one', output: '' },
      { input: ['default', 'juju-model'], app: 'one', output: '' },
      { input: ['default', 'juju-model', profileName('foo', 'bar', 2)], app: 'bar', output: profileName('foo', 'bar', 2) },
      {
        input: ['default', 'juju-model', profileName('foo', 'nonebar', 2), profileName('foo', 'bar', 2)],
        app: 'bar',
        output: profileName('foo', 'bar', 2),
      },
      {
        input: ['default', 'juju-model', profileName('aaa-zzz', odd, 123)],
        app: odd,
        output: profileName('aaa-zzz', odd, 123),
      },
    ];
    for (const { input, app, output, err } of table) {
      it(`${JSON.stringify(input)} for ${JSON.stringify(app)} ${err ? `fails with ${err}` : `is ${JSON.stringify(output)}`}`, () => {
        if (err) {
          const e = thrown(() => matchProfileNameByAppName(input, app));
          expect(e.message).to.equal(err);
          expect(e.code).to.equal(ContainerErrorCode.BAD_REQUEST);
        } else {
          expect(matchProfileNameByAppName(input, app)).to.equal(output);
        }
      });
    }
  });

  describe('properties', () => {
    const part = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
    const rev = fc.nat({ max: 1_000_000 });

    it('profileName builds a valid name whose revision and app are recovered', () => {
      fc.assert(
        fc.property(part, part, rev, rev, (model, app, r, r2) => {
          const name = profileName(model, app, r);
          expect(isValidProfileName(name)).to.equal(true);
          expect(profileRevision(name)).to.equal(r);
          expect(profileReplaceRevision(name, r2)).to.equal(profileName(model, app, r2));
          expect(matchProfileNameByAppName(['default', name], app)).to.equal(name);
        }),
      );
    });

    it('lxdProfileNames keeps only valid names, each once, in last-occurrence order', () => {
      const nameArb = fc.oneof(
        fc.tuple(part, part, rev).map(([m, a, r]) => profileName(m, a, r)),
        fc.constantFrom('default', 'juju-model', 'juju-1234', 'other'),
        fc.string({ maxLength: 12 }),
      );
      fc.assert(
        fc.property(fc.array(nameArb, { maxLength: 20 }), (names) => {
          const out = lxdProfileNames(names);
          expect(new Set(out).size).to.equal(out.length);
          expect(out.every(isValidProfileName)).to.equal(true);
          expect(new Set(out)).to.deep.equal(new Set(names.filter(isValidProfileName)));
          const last = out.map((n) => names.lastIndexOf(n));
          expect(last).to.deep.equal([...last].sort((a, b) => a - b));
          expect(lxdProfileNames(out)).to.deep.equal(out);
        }),
      );
    });

    it('profileRevision and profileReplaceRevision accept exactly the valid names and edit the last segment', () => {
      const nameArb = fc.oneof(
        fc.tuple(part, part, rev).map(([m, a, r]) => profileName(m, a, r)),
        fc.constantFrom('juju-12345', 'juju-a-b--1', 'juju-a-b-+7', 'default', 'juju-model'),
        fc.string({ maxLength: 20 }),
      );
      fc.assert(
        fc.property(nameArb, rev, (name, r) => {
          if (isValidProfileName(name)) {
            const cut = name.lastIndexOf('-') + 1;
            expect(profileRevision(name)).to.equal(Number(name.slice(cut)));
            expect(profileReplaceRevision(name, r)).to.equal(`${name.slice(0, cut)}${r}`);
          } else {
            expect(() => profileRevision(name)).to.throw(ContainerError, `not a juju profile name: `);
            expect(() => profileReplaceRevision(name, r)).to.throw(ContainerError, `not a juju profile name: `);
          }
        }),
      );
    });
  });
});
