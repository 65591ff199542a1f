import { expect } from 'chai';
import fc from 'fast-check';
import { cloudInitUserData, generateNetplan, parseUserData } from '../../../lib/container/cloudinit.js';
import { applyLxdConstraints, parseConstraintsToStartParams, validateConstraints } from '../../../lib/container/constraints.js';
import { ContainerError, ContainerErrorCode, validateCreateArgs } from '../../../lib/container/index.js';
import { bridgeNetworkConfig, fallbackInterfaceInfo, newInterfaceInfo } from '../../../lib/container/network.js';
import { devicesFromInterfaceInfo, interfaceInfoFromDevices } from '../../../lib/container/nic.js';
import type { InterfaceInfo } from '../../../lib/container/types.js';

/** The ContainerError `fn` throws (and fails the spec when it throws something else or nothing). */
function notValid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ContainerError);
    expect(ContainerError.is(err, ContainerErrorCode.NOT_VALID), (err as Error).message).to.equal(true);
    return (err as Error).message;
  }
  throw new Error('expected a ContainerError');
}

const eth0 = (): InterfaceInfo =>
  newInterfaceInfo({
    interfaceName: 'eth0',
    interfaceType: 'ethernet',
    configType: 'static',
    parentInterfaceName: 'br0',
    macAddress: '00:16:3e:00:00:01',
    mtu: 9000,
    addresses: [{ value: '10.0.0.5', cidr: '10.0.0.0/24', type: 'ipv4' }],
    dnsServers: ['10.0.0.1'],
    dnsSearchDomains: ['example.com'],
    gatewayAddress: '10.0.0.1',
    routes: [{ destinationCidr: '10.1.0.0/16', gatewayIp: '10.0.0.1', metric: 10 }],
    providerId: 'p1',
    vlanTag: 42,
  });

const valid = () => ({
  instanceConfig: { machineId: '0/lxd/1', userData: { runcmd: ['true'] }, profiles: ['default', 'juju-m-app-1'], series: 'jammy', authorizedKeys: 'ssh-ed25519 AAAA k', extra: { kept: true } },
  constraints: { mem: 2048, cores: 2, rootDisk: 10240, rootDiskSource: 'default', instanceType: 't1', arch: 'amd64', container: 'lxd', cpuPower: 100, tags: ['a', 'b'] },
  series: 'jammy',
  network: bridgeNetworkConfig('br0', 1500, [eth0(), ...fallbackInterfaceInfo()]),
});

describe('container: validating what JavaScript callers pass', () => {
  describe('validateCreateArgs', () => {
    it('returns the values as given for valid input (unknown keys kept)', () => {
      const args = valid();
      expect(validateCreateArgs(args)).to.deep.equal(args);
      expect(validateCreateArgs({ instanceConfig: { machineId: '0', userData: '#cloud-config\n' }, constraints: {}, series: '' })).to.deep.equal({
        instanceConfig: { machineId: '0', userData: '#cloud-config\n' },
        constraints: {},
        series: '',
        network: undefined,
      });
      expect(validateCreateArgs({ instanceConfig: { machineId: '0' }, constraints: {}, series: 'focal', network: null }).network).to.equal(undefined);
    });

    it('keeps any valid interface info as it is (generated)', () => {
      const str = fc.string({ maxLength: 8 });
      const info = fc.record({
        deviceIndex: fc.nat(),
        macAddress: str,
        interfaceName: str,
        parentInterfaceName: str,
        interfaceType: str,
        configType: str,
        mtu: fc.integer(),
        addresses: fc.array(fc.record({ value: str, cidr: fc.option(str, { nil: undefined }), type: fc.constantFrom('ipv4' as const, 'ipv6' as const, 'hostname' as const) }, { requiredKeys: ['value'] }), { maxLength: 2 }),
        dnsServers: fc.array(str, { maxLength: 2 }),
        dnsSearchDomains: fc.array(str, { maxLength: 2 }),
        gatewayAddress: str,
        routes: fc.array(fc.record({ destinationCidr: str, gatewayIp: str, metric: fc.integer() }), { maxLength: 2 }),
        origin: str,
        noAutoStart: fc.boolean(),
        disabled: fc.boolean(),
        virtualPortType: str,
      });
      fc.assert(
        fc.property(fc.array(info, { maxLength: 3 }), (interfaces) => {
          const network = { networkType: 'bridge', device: 'br0', mtu: 0, interfaces };
          expect(validateCreateArgs({ instanceConfig: { machineId: '0' }, constraints: {}, series: 'jammy', network }).network).to.deep.equal(network);
        }),
        { numRuns: 200 },
      );
    });

    const cases: [string, (a: ReturnType<typeof valid>) => unknown, string][] = [
      ['an interface name that is a number', (a) => ((a.network.interfaces[0] as unknown as Record<string, unknown>)['interfaceName'] = 5), 'network.interfaces[0].interfaceName: expected string, got number'],
      ['a missing list', (a) => delete (a.network.interfaces[1] as unknown as Record<string, unknown>)['dnsServers'], 'network.interfaces[1].dnsServers: expected array, got undefined'],
      ['an MTU given as a string', (a) => ((a.network as unknown as Record<string, unknown>)['mtu'] = '1500'), 'network.mtu: expected number, got string'],
      ['a fractional MTU', (a) => (a.network.interfaces[0]!.mtu = 1.5), 'network.interfaces[0].mtu: expected an integer, got 1.5'],
      ['interfaces that are not a list', (a) => ((a.network as unknown as Record<string, unknown>)['interfaces'] = { eth0: eth0() }), 'network.interfaces: expected array, got object'],
      ['an address without a value', (a) => delete (a.network.interfaces[0]!.addresses[0] as unknown as Record<string, unknown>)['value'], 'network.interfaces[0].addresses[0].value: expected string, got undefined'],
      ['an unknown address type', (a) => ((a.network.interfaces[0]!.addresses[0] as unknown as Record<string, unknown>)['type'] = 'ipv5'), 'network.interfaces[0].addresses[0].type: expected one of "ipv4", "ipv6", "hostname", got "ipv5"'],
      ['a route metric given as a string', (a) => ((a.network.interfaces[0]!.routes[0] as unknown as Record<string, unknown>)['metric'] = '10'), 'network.interfaces[0].routes[0].metric: expected number, got string'],
      ['a network that is a string', (a) => ((a as unknown as Record<string, unknown>)['network'] = 'br0'), 'network: expected object, got string'],
      ['no instance config', (a) => ((a as unknown as Record<string, unknown>)['instanceConfig'] = undefined), 'instanceConfig: expected object, got undefined'],
      ['a numeric machine id', (a) => ((a.instanceConfig as unknown as Record<string, unknown>)['machineId'] = 0), 'instanceConfig.machineId: expected string, got number'],
      ['user data that is a number', (a) => ((a.instanceConfig as unknown as Record<string, unknown>)['userData'] = 5), 'instanceConfig.userData: expected string or object, got number'],
      ['user data that is a list', (a) => ((a.instanceConfig as unknown as Record<string, unknown>)['userData'] = ['runcmd']), 'instanceConfig.userData: expected string or object, got array'],
      ['profiles given as one string', (a) => ((a.instanceConfig as unknown as Record<string, unknown>)['profiles'] = 'default'), 'instanceConfig.profiles: expected array, got string'],
      ['a profile that is not a string', (a) => ((a.instanceConfig as unknown as Record<string, unknown>)['profiles'] = ['default', null]), 'instanceConfig.profiles[1]: expected string, got null'],
      ['null constraints', (a) => ((a as unknown as Record<string, unknown>)['constraints'] = null), 'constraints: expected object, got null'],
      ['memory given as a string', (a) => ((a.constraints as unknown as Record<string, unknown>)['mem'] = '2048'), 'constraints.mem: expected number, got string'],
      ['tags given as one string', (a) => ((a.constraints as unknown as Record<string, unknown>)['tags'] = 'a,b'), 'constraints.tags: expected array, got string'],
      ['no series', (a) => ((a as unknown as Record<string, unknown>)['series'] = undefined), 'series is required'],
      ['a numeric series', (a) => ((a as unknown as Record<string, unknown>)['series'] = 22.04), 'series is required'],
    ];
    for (const [what, spoil, message] of cases) {
      it(`refuses ${what}, naming the field`, () => {
        const args = valid();
        spoil(args);
        expect(notValid(() => validateCreateArgs(args))).to.equal(message);
      });
    }
  });

  describe('the public helpers check their own arguments', () => {
    const partial = { interfaceName: 'eth0', interfaceType: 'ethernet', parentInterfaceName: 'br0' } as unknown as InterfaceInfo;

    it('a half-built interface is a ContainerError naming the field, not a TypeError from netplan or NIC code', () => {
      expect(notValid(() => generateNetplan([partial]))).to.equal('interfaces[0].deviceIndex: expected number, got undefined');
      expect(notValid(() => devicesFromInterfaceInfo([eth0(), partial]))).to.equal('interfaces[1].deviceIndex: expected number, got undefined');
      expect(notValid(() => cloudInitUserData({ machineId: '0' }, { networkType: 'bridge', device: 'br0', mtu: 0, interfaces: [{ ...eth0(), dnsServers: null as never }] }))).to.equal(
        'network.interfaces[0].dnsServers: expected array, got null',
      );
      expect(notValid(() => cloudInitUserData({ machineId: 7 as never }, null))).to.equal('instanceConfig.machineId: expected string, got number');
    });

    it('bridgeNetworkConfig and newInterfaceInfo', () => {
      expect(notValid(() => bridgeNetworkConfig(0 as never, 0))).to.equal('device: expected string, got number');
      expect(notValid(() => bridgeNetworkConfig('br0', '0' as never))).to.equal('mtu: expected number, got string');
      expect(notValid(() => bridgeNetworkConfig('br0', 0, [partial]))).to.equal('interfaces[0].deviceIndex: expected number, got undefined');
      expect(notValid(() => newInterfaceInfo({ mtu: '1500' as never }))).to.equal('interfaceInfo.mtu: expected number, got string');
      expect(notValid(() => newInterfaceInfo({ addresses: [{ cidr: '10.0.0.0/24' } as never] }))).to.equal('interfaceInfo.addresses[0].value: expected string, got undefined');
      // as before for what is valid
      expect(bridgeNetworkConfig('br0', 0, null).interfaces).to.deep.equal(fallbackInterfaceInfo());
      const given = [eth0()];
      expect(bridgeNetworkConfig('br0', 0, given).interfaces[0]).to.equal(given[0]);
    });

    it('constraints, devices and user data', () => {
      expect(notValid(() => validateConstraints({ cores: '2' } as never))).to.equal('constraints.cores: expected number, got string');
      expect(notValid(() => applyLxdConstraints('5.0.2', undefined as never, { config: {} }))).to.equal('constraints: expected object, got undefined');
      expect(notValid(() => parseConstraintsToStartParams({ tags: [1] } as never))).to.equal('constraints.tags[0]: expected string, got number');
      // Juju's range texts stay
      expect(notValid(() => validateConstraints({ mem: -1 }))).to.equal('constraint mem must be a non-negative integer, got -1');
      expect(notValid(() => interfaceInfoFromDevices({ eth0: { type: 'nic', mtu: 1500 as never } }))).to.equal('devices.eth0.mtu: expected string, got number');
      expect(notValid(() => parseUserData(5 as never))).to.equal('userData: expected string or object, got number');
    });
  });
});
