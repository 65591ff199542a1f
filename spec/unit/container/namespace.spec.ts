import { expect } from 'chai';
import fc from 'fast-check';
import {
  ContainerError,
  ContainerErrorCode,
  MachineTag,
  Namespace,
  goQuote,
  isValidMachineId,
  isValidModelUUID,
} from '../../../lib/container/index.js';

const modelUUID = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';

function thrown(fn: () => unknown): ContainerError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ContainerError);
    return err as ContainerError;
  }
  throw new Error('expected an error');
}

describe('Namespace (Juju NamespaceSuite)', () => {
  it('rejects an invalid model tag (TestInvalidModelTag)', () => {
    const err = thrown(() => new Namespace('foo'));
    expect(err.message).to.equal('model ID "foo" is not a valid model');
    expect(err.code).to.equal(ContainerErrorCode.NOT_VALID);
  });

  it('rejects an invalid machine id (TestInvalidMachineTag)', () => {
    const err = thrown(() => new Namespace(modelUUID).hostname('foo'));
    expect(err.message).to.equal('machine ID "foo" is not a valid machine');
  });

  it('hostname of a machine (TestHostname)', () => {
    expect(new Namespace(modelUUID).hostname('2')).to.equal('juju-c3d479-2');
  });

  it('hostname of a container (TestContainerHostname)', () => {
    expect(new Namespace(modelUUID).hostname('2/lxd/4')).to.equal('juju-c3d479-2-lxd-4');
  });

  it('prefix and value', () => {
    const ns = new Namespace('deadbeef-0bad-400d-8000-4b1d0d06f00d');
    expect(ns.prefix()).to.equal('juju-06f00d-');
    expect(ns.value('thing')).to.equal('juju-06f00d-thing');
  });

  const uuids: [string, boolean][] = [
    [modelUUID, true],
    ['F47AC10B-58CC-4372-A567-0E02B2C3D479', false],
    ['foo', false],
    ['', false],
    [`model-${modelUUID}-extra`, true],
    ['f47ac10b58cc4372a5670e02b2c3d479', false],
    // each group needs all its digits, the first and the last included
    ['f47ac10-58cc-4372-a567-0e02b2c3d479', false],
    ['f47ac10b-58cc-4372-a567-0e02b2c3d47', false],
    ['f47ac10b-58c-4372-a567-0e02b2c3d479', false],
  ];
  for (const [uuid, valid] of uuids) {
    it(`isValidModelUUID(${JSON.stringify(uuid)}) is ${valid} (unanchored, lowercase only)`, () => {
      expect(isValidModelUUID(uuid)).to.equal(valid);
    });
  }

  it('a MachineTag needs a valid machine id, and names it machine-<id with - for />', () => {
    const e = thrown(() => new MachineTag('01'));
    expect(e.code).to.equal(ContainerErrorCode.NOT_VALID);
    expect(e.message).to.equal('"01" is not a valid machine id');
    expect(() => new MachineTag('2/LXD/4')).to.throw('"2/LXD/4" is not a valid machine id');
    const tag = new MachineTag('2/lxd/4');
    expect([tag.id, tag.kind, String(tag)]).to.deep.equal(['2/lxd/4', 'machine', 'machine-2-lxd-4']);
  });

  it('keeps the last 6 characters of a string that merely contains a UUID', () => {
    expect(new Namespace(`model-${modelUUID}-xyz123`).prefix()).to.equal('juju-xyz123-');
  });

  const machineIds: [string, boolean][] = [
    ['0', true],
    ['2', true],
    ['10', true],
    ['2/lxd/4', true],
    ['2/lxd/0/kvm/13', true],
    ['01', false],
    ['-1', false],
    ['foo', false],
    ['2/LXD/4', false],
    ['2/lxd', false],
    ['2/lxd/04', false],
    ['', false],
    ['2-lxd-4', false],
  ];
  for (const [id, valid] of machineIds) {
    it(`isValidMachineId(${JSON.stringify(id)}) is ${valid}`, () => expect(isValidMachineId(id)).to.equal(valid));
  }

  const tagCases: { hostname: string; id?: string; tag?: string; err?: string }[] = [
    { hostname: 'juju-c3d479-2', id: '2', tag: 'machine-2' },
    { hostname: 'juju-c3d479-2-lxd-4', id: '2/lxd/4', tag: 'machine-2-lxd-4' },
    { hostname: 'juju-aaaaaa-2', err: 'hostname "juju-aaaaaa-2" not from namespace "juju-c3d479-"' },
    { hostname: 'juju-c3d479-', err: 'unexpected machine id ""' },
    { hostname: 'juju-c3d479-2-lxd', err: 'unexpected machine id "2/lxd"' },
    { hostname: 'juju-c3d479-02', err: 'unexpected machine id "02"' },
  ];
  for (const { hostname, id, tag, err } of tagCases) {
    it(`machineTag(${JSON.stringify(hostname)}) ${err ? `fails with ${err}` : `is ${tag}`}`, () => {
      const ns = new Namespace(modelUUID);
      if (err) {
        const e = thrown(() => ns.machineTag(hostname));
        expect(e.message).to.equal(err);
        expect(e.code).to.equal(ContainerErrorCode.NOT_VALID);
      } else {
        const machineTag = ns.machineTag(hostname);
        expect(machineTag).to.be.instanceOf(MachineTag);
        expect(machineTag.id).to.equal(id);
        expect(machineTag.toString()).to.equal(tag);
        expect(machineTag.kind).to.equal('machine');
      }
    });
  }

  describe('properties', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    const uuidArb = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join('-'));
    const num = fc.nat({ max: 10_000 }).map(String);
    const machineIdArb = fc
      .tuple(num, fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), num), { maxLength: 3 }))
      .map(([root, nested]) => [root, ...nested.map(([kind, n]) => `${kind}/${n}`)].join('/'));

    it('machineTag(hostname(id)).id === id for every valid machine id and model', () => {
      fc.assert(
        fc.property(uuidArb, machineIdArb, (uuid, id) => {
          const ns = new Namespace(uuid);
          const hostname = ns.hostname(id);
          expect(hostname.startsWith(ns.prefix())).to.equal(true);
          expect(ns.prefix()).to.equal(`juju-${uuid.slice(-6)}-`);
          const tag = ns.machineTag(hostname);
          expect(tag.id).to.equal(id);
          expect(tag.toString()).to.equal(`machine-${id.replaceAll('/', '-')}`);
        }),
      );
    });

    it('hostname(machineTag(h).id) === h for every hostname the namespace accepts', () => {
      fc.assert(
        fc.property(uuidArb, fc.stringMatching(/^[0-9a-z-]{0,20}$/), (uuid, tail) => {
          const ns = new Namespace(uuid);
          const h = ns.value(tail);
          let id: string;
          try {
            id = ns.machineTag(h).id;
          } catch (err) {
            expect(err).to.be.instanceOf(ContainerError);
            expect(isValidMachineId(tail.replaceAll('-', '/'))).to.equal(false);
            return;
          }
          expect(ns.hostname(id)).to.equal(h);
        }),
      );
    });

    it('hostname rejects every id that is not a valid machine id', () => {
      fc.assert(
        fc.property(uuidArb, fc.string(), (uuid, id) => {
          fc.pre(!isValidMachineId(id));
          const ns = new Namespace(uuid);
          const err = thrown(() => ns.hostname(id));
          expect(err.message).to.equal(`machine ID ${goQuote(id)} is not a valid machine`);
        }),
      );
    });
  });
});
