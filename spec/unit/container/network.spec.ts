import { expect } from 'chai';
import { bridgeNetworkConfig, fallbackInterfaceInfo, newInterfaceInfo } from '../../../lib/container/index.js';
import type { InterfaceInfo } from '../../../lib/container/index.js';

const zeroEth0: InterfaceInfo = {
  deviceIndex: 0,
  macAddress: '',
  interfaceName: 'eth0',
  parentInterfaceName: '',
  interfaceType: 'ethernet',
  configType: 'dhcp',
  mtu: 0,
  addresses: [],
  dnsServers: [],
  dnsSearchDomains: [],
  gatewayAddress: '',
  routes: [],
  origin: '',
  noAutoStart: false,
  disabled: false,
  virtualPortType: '',
};

describe('network config', () => {
  it('fallbackInterfaceInfo is exactly one eth0/ethernet/dhcp with every other field zero', () => {
    expect(fallbackInterfaceInfo()).to.deep.equal([zeroEth0]);
  });

  it('fallbackInterfaceInfo returns a fresh list each time', () => {
    const a = fallbackInterfaceInfo();
    a[0]!.parentInterfaceName = 'lxdbr0';
    expect(fallbackInterfaceInfo()[0]!.parentInterfaceName).to.equal('');
  });

  const custom = newInterfaceInfo({ interfaceName: 'eth1', interfaceType: 'ethernet', parentInterfaceName: 'br-eth1' });
  const table: { name: string; interfaces: InterfaceInfo[] | undefined | null; expected: InterfaceInfo[] }[] = [
    { name: 'undefined interfaces', interfaces: undefined, expected: [zeroEth0] },
    { name: 'null interfaces', interfaces: null, expected: [zeroEth0] },
    { name: 'empty interfaces', interfaces: [], expected: [zeroEth0] },
    { name: 'given interfaces', interfaces: [custom], expected: [custom] },
  ];
  for (const { name, interfaces, expected } of table) {
    it(`bridgeNetworkConfig with ${name}`, () => {
      expect(bridgeNetworkConfig('lxdbr0', 9000, interfaces)).to.deep.equal({
        networkType: 'bridge',
        device: 'lxdbr0',
        mtu: 9000,
        interfaces: expected,
      });
    });
  }

  it('newInterfaceInfo fills Go zero values and copies lists', () => {
    const addresses = [{ value: '10.0.0.5', cidr: '10.0.0.0/24' }];
    const info = newInterfaceInfo({ interfaceName: 'eth0', addresses });
    expect(info).to.deep.equal({ ...zeroEth0, interfaceType: '', configType: '', addresses });
    info.addresses[0]!.value = 'changed';
    expect(addresses[0]!.value).to.equal('10.0.0.5');
  });
});
