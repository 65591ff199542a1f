import { expect } from 'chai';
import {
  ContainerError,
  ContainerErrorCode,
  KvmDefaultCpu,
  KvmDefaultDisk,
  KvmDefaultMemory,
  KvmMinCpu,
  KvmMinDisk,
  KvmMinMemory,
  applyLxdConstraints,
  lxdSupportsMiB,
  parseConstraintsToStartParams,
} from '../../../lib/container/index.js';
import type { Constraints, LxdConstraintSpec } from '../../../lib/container/index.js';
import { captureLogger } from './capture-logger.js';

describe('LXD constraints (Juju ContainerSpec.ApplyConstraints)', () => {
  const versions: [string, boolean][] = [
    ['3.10', true],
    ['3.10.0', true],
    ['3.9', false],
    ['3.0.3', false],
    ['4.0.8', true],
    ['5.21.1', true],
    ['5.0.2 LTS', true],
    ['10.0', true],
    ['', false],
    ['unknown', false],
    ['v5.0', false],
  ];
  for (const [version, mib] of versions) {
    it(`server version ${JSON.stringify(version)} uses ${mib ? 'MiB' : 'MB'}`, () => {
      expect(lxdSupportsMiB(version)).to.equal(mib);
    });
  }

  const table: { name: string; version: string; cons: Constraints; spec?: LxdConstraintSpec; expected: LxdConstraintSpec }[] = [
    { name: 'no constraints', version: '5.0.2', cons: {}, expected: { config: {} } },
    {
      name: 'all constraints on a new server',
      version: '5.0.2',
      cons: { instanceType: 't2.micro', cores: 2, mem: 2046, arch: 'arm64', rootDisk: 10240, rootDiskSource: 'fast' },
      expected: {
        config: { 'limits.cpu': '2', 'limits.memory': '2046MiB' },
        instanceType: 't2.micro',
        architecture: 'arm64',
        devices: { root: { type: 'disk', pool: 'fast', path: '/', size: '10240MiB' } },
      },
    },
    {
      name: 'memory and root disk in MB on an old server',
      version: '3.0.0',
      cons: { mem: 2046, rootDisk: 1024 },
      expected: {
        config: { 'limits.memory': '2046MB' },
        devices: { root: { type: 'disk', pool: 'default', path: '/', size: '1024MB' } },
      },
    },
    {
      name: 'memory in MB when the version is unknown',
      version: '',
      cons: { mem: 512 },
      expected: { config: { 'limits.memory': '512MB' } },
    },
    {
      name: 'root disk source alone gives a root device without size',
      version: '5.0.2',
      cons: { rootDiskSource: 'ssd' },
      expected: { config: {}, devices: { root: { type: 'disk', pool: 'ssd', path: '/' } } },
    },
    {
      name: 'zero and empty values count as unset',
      version: '5.0.2',
      cons: { cores: 0, mem: 0, rootDisk: 0, rootDiskSource: '', instanceType: '', arch: '' },
      expected: { config: {} },
    },
    {
      name: 'existing config and devices are kept; root is overwritten',
      version: '5.0.2',
      cons: { rootDisk: 2048 },
      spec: {
        config: { 'user.juju-model': 'm' },
        devices: { eth0: { type: 'nic' }, root: { type: 'disk', pool: 'old', path: '/' } },
      },
      expected: {
        config: { 'user.juju-model': 'm' },
        devices: { eth0: { type: 'nic' }, root: { type: 'disk', pool: 'default', path: '/', size: '2048MiB' } },
      },
    },
  ];
  for (const { name, version, cons, spec, expected } of table) {
    it(name, () => {
      const input: LxdConstraintSpec = spec ?? { config: {} };
      const before = structuredClone(input);
      expect(applyLxdConstraints(version, cons, input)).to.deep.equal(expected);
      expect(input).to.deep.equal(before);
    });
  }

  it('keeps the other fields of the spec', () => {
    const out = applyLxdConstraints('5.0.2', { cores: 1 }, { name: 'juju-06f00d-0', profiles: ['default'], config: { a: 'b' } });
    expect(out).to.deep.equal({ name: 'juju-06f00d-0', profiles: ['default'], config: { a: 'b', 'limits.cpu': '1' } });
    expect(out.name).to.equal('juju-06f00d-0');
  });

  const bad: Constraints[] = [{ mem: -1 }, { cores: 1.5 }, { rootDisk: Number.NaN }, { cpuPower: Infinity }];
  for (const cons of bad) {
    it(`rejects ${JSON.stringify(cons)}`, () => {
      let err: unknown;
      try {
        applyLxdConstraints('5.0', cons, { config: {} });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ContainerError);
      expect((err as ContainerError).code).to.equal(ContainerErrorCode.NOT_VALID);
    });
  }
});

describe('KVM start parameters (Juju ConstraintsSuite.TestDefaults)', () => {
  it('has Juju defaults and minimums', () => {
    expect([KvmDefaultMemory, KvmDefaultCpu, KvmDefaultDisk]).to.deep.equal([512, 1, 8]);
    expect([KvmMinMemory, KvmMinCpu, KvmMinDisk]).to.deep.equal([512, 1, 2]);
  });

  const G = 1024;
  const table: { cons: string; value: Constraints; expected: [number, number, number]; infoLog?: string[] }[] = [
    { cons: '', value: {}, expected: [512, 1, 8] },
    { cons: 'mem=256M', value: { mem: 256 }, expected: [512, 1, 8] },
    { cons: 'mem=4G', value: { mem: 4 * G }, expected: [4 * 1024, 1, 8] },
    { cons: 'cores=4', value: { cores: 4 }, expected: [512, 4, 8] },
    { cons: 'cores=0', value: { cores: 0 }, expected: [512, 1, 8] },
    { cons: 'root-disk=512M', value: { rootDisk: 512 }, expected: [512, 1, 2] },
    { cons: 'root-disk=4G', value: { rootDisk: 4 * G }, expected: [512, 1, 4] },
    { cons: 'root-disk=4607M', value: { rootDisk: 4607 }, expected: [512, 1, 4] },
    {
      cons: 'arch=armhf',
      value: { arch: 'armhf' },
      expected: [512, 1, 8],
      infoLog: ['arch constraint of "armhf" being ignored as not supported'],
    },
    {
      cons: 'container=lxd',
      value: { container: 'lxd' },
      expected: [512, 1, 8],
      infoLog: ['container constraint of "lxd" being ignored as not supported'],
    },
    {
      cons: 'cpu-power=100',
      value: { cpuPower: 100 },
      expected: [512, 1, 8],
      infoLog: ['cpu-power constraint of 100 being ignored as not supported'],
    },
    {
      cons: 'tags=foo,bar',
      value: { tags: ['foo', 'bar'] },
      expected: [512, 1, 8],
      infoLog: ['tags constraint of "foo,bar" being ignored as not supported'],
    },
    {
      cons: 'mem=4G cores=4 root-disk=20G arch=arm64 cpu-power=100 container=lxd tags=foo,bar',
      value: { mem: 4 * G, cores: 4, rootDisk: 20 * G, arch: 'arm64', cpuPower: 100, container: 'lxd', tags: ['foo', 'bar'] },
      expected: [4 * 1024, 4, 20],
      infoLog: [
        'arch constraint of "arm64" being ignored as not supported',
        'container constraint of "lxd" being ignored as not supported',
        'cpu-power constraint of 100 being ignored as not supported',
        'tags constraint of "foo,bar" being ignored as not supported',
      ],
    },
    { cons: 'instance-type=m1 root-disk-source=x', value: { instanceType: 'm1', rootDiskSource: 'x' }, expected: [512, 1, 8] },
  ];
  for (const { cons, value, expected, infoLog } of table) {
    it(`constraints ${JSON.stringify(cons)}`, () => {
      const { logger, entries } = captureLogger();
      const [memory, cpuCores, rootDisk] = expected;
      expect(parseConstraintsToStartParams(value, logger)).to.deep.equal({ memory, cpuCores, rootDisk });
      expect(entries).to.deep.equal(
        (infoLog ?? []).map((msg) => ({ level: 'info', msg, bindings: { module: 'juju.container.kvm' } })),
      );
    });
  }
});
