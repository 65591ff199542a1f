import { expect } from 'chai';
import fc from 'fast-check';
import {
  ContainerError,
  ContainerErrorCode,
  devicesFromInterfaceInfo,
  generateVirtualMacAddress,
  interfaceInfoFromDevices,
  newInterfaceInfo,
  newNicDevice,
} from '../../../lib/container/index.js';
import type { InterfaceInfo, LxdDevices } from '../../../lib/container/index.js';

const zeroBytes = (n: number): Uint8Array => new Uint8Array(n);

function thrown(fn: () => unknown): ContainerError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ContainerError);
    return err as ContainerError;
  }
  throw new Error('expected an error');
}

describe('LXD NIC devices (Juju container/lxd network.go)', () => {
  describe('generateVirtualMacAddress', () => {
    it('gives 00:16:3e:00:00:00 with a zero random source (PatchGenerateVirtualMACAddress)', () => {
      expect(generateVirtualMacAddress(zeroBytes)).to.equal('00:16:3e:00:00:00');
    });

    it('renders the three random bytes as lowercase hex', () => {
      expect(generateVirtualMacAddress(() => Uint8Array.from([0xab, 0x0c, 0xff]))).to.equal('00:16:3e:ab:0c:ff');
    });

    it('always has the 00:16:3e prefix and 17 characters', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 3, maxLength: 3 }), (bytes) => {
          const mac = generateVirtualMacAddress(() => bytes);
          expect(mac).to.match(/^00:16:3e(:[0-9a-f]{2}){3}$/);
          expect(mac).to.have.length(17);
        }),
      );
      expect(generateVirtualMacAddress()).to.match(/^00:16:3e(:[0-9a-f]{2}){3}$/);
    });
  });

  describe('newNicDevice', () => {
    const table: { name: string; mac: string; mtu: number; expected: Record<string, string> }[] = [
      {
        name: 'TestNewNICDeviceWithoutMACAddressOrMTUGreaterThanZero',
        mac: '',
        mtu: 0,
        expected: { name: 'eth1', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
      },
      {
        name: 'TestNewNICDeviceWithMACAddressButNoMTU',
        mac: 'aa:bb:cc:dd:ee:f0',
        mtu: 0,
        expected: { hwaddr: 'aa:bb:cc:dd:ee:f0', name: 'eth1', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
      },
      {
        name: 'TestNewNICDeviceWithoutMACAddressButMTUGreaterThanZero',
        mac: '',
        mtu: 1492,
        expected: { mtu: '1492', name: 'eth1', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
      },
      {
        name: 'TestNewNICDeviceWithMACAddressAndMTUGreaterThanZero',
        mac: 'aa:bb:cc:dd:ee:f0',
        mtu: 9000,
        expected: {
          hwaddr: 'aa:bb:cc:dd:ee:f0',
          mtu: '9000',
          name: 'eth1',
          nictype: 'bridged',
          parent: 'br-eth1',
          type: 'nic',
        },
      },
      {
        name: 'negative MTU is left out',
        mac: '',
        mtu: -1,
        expected: { name: 'eth1', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
      },
    ];
    for (const { name, mac, mtu, expected } of table) {
      it(name, () => expect(newNicDevice('eth1', 'br-eth1', mac, mtu)).to.deep.equal(expected));
    }
  });

  describe('devicesFromInterfaceInfo', () => {
    const eth = (over: Partial<InterfaceInfo>): InterfaceInfo =>
      newInterfaceInfo({ interfaceType: 'ethernet', ...over });

    it('makes one bridged NIC per interface; parents without a CIDR are unknown (Juju manager test)', () => {
      const interfaces = [
        eth({
          interfaceName: 'eth0',
          parentInterfaceName: 'br-eth0',
          macAddress: 'aa:bb:cc:dd:ee:f0',
          mtu: 9000,
          addresses: [{ value: '10.10.0.5', cidr: '10.10.0.0/20' }],
        }),
        eth({ interfaceName: 'eth1', parentInterfaceName: 'br-eth1', macAddress: 'aa:bb:cc:dd:ee:f1' }),
        newInterfaceInfo({ interfaceName: 'lo', interfaceType: 'loopback' }),
        eth({ interfaceName: 'eth2', parentInterfaceName: 'br-eth1', addresses: [{ value: '10.0.0.2' }] }),
      ];
      expect(devicesFromInterfaceInfo(interfaces)).to.deep.equal({
        devices: {
          eth0: { hwaddr: 'aa:bb:cc:dd:ee:f0', mtu: '9000', name: 'eth0', nictype: 'bridged', parent: 'br-eth0', type: 'nic' },
          eth1: { hwaddr: 'aa:bb:cc:dd:ee:f1', name: 'eth1', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
          eth2: { name: 'eth2', nictype: 'bridged', parent: 'br-eth1', type: 'nic' },
        },
        unknownParents: ['br-eth1', 'br-eth1'],
      });
    });

    it('gives no devices for no interfaces', () => {
      expect(devicesFromInterfaceInfo([])).to.deep.equal({ devices: {}, unknownParents: [] });
    });

    const errors: { name: string; info: InterfaceInfo; message: string; code: string }[] = [
      {
        name: 'a bond',
        info: newInterfaceInfo({ interfaceName: 'bond0', interfaceType: 'bond', parentInterfaceName: 'br0' }),
        message: 'interface type "bond" not supported',
        code: ContainerErrorCode.NOT_SUPPORTED,
      },
      {
        name: 'an empty type',
        info: newInterfaceInfo({ interfaceName: 'eth0', parentInterfaceName: 'br0' }),
        message: 'interface type "" not supported',
        code: ContainerErrorCode.NOT_SUPPORTED,
      },
      {
        name: 'the fallback interface without a parent',
        info: newInterfaceInfo({ interfaceName: 'eth0', interfaceType: 'ethernet', configType: 'dhcp' }),
        message: 'parent interface name is empty',
        code: ContainerErrorCode.NOT_VALID,
      },
    ];
    for (const { name, info, message, code } of errors) {
      it(`rejects ${name} with ${JSON.stringify(message)}`, () => {
        const err = thrown(() => devicesFromInterfaceInfo([info]));
        expect(err.message).to.equal(message);
        expect(err.code).to.equal(code);
      });
    }
  });

  describe('interfaceInfoFromDevices', () => {
    it('maps devices to dhcp/provider interfaces sorted by name (TestInterfaceInfoFromDevices)', () => {
      const nics: LxdDevices = {
        eth0: { parent: 'lxdbr0', type: 'nic', nictype: 'bridged', hwaddr: '00:16:3e:00:00:00' },
        eno9: { parent: 'br1', type: 'nic', nictype: 'macvlan', hwaddr: '00:16:3e:00:00:3e' },
      };
      expect(interfaceInfoFromDevices(nics)).to.deep.equal([
        newInterfaceInfo({
          interfaceName: 'eno9',
          macAddress: '00:16:3e:00:00:3e',
          configType: 'dhcp',
          parentInterfaceName: 'br1',
          origin: 'provider',
        }),
        newInterfaceInfo({
          interfaceName: 'eth0',
          macAddress: '00:16:3e:00:00:00',
          configType: 'dhcp',
          parentInterfaceName: 'lxdbr0',
          origin: 'provider',
        }),
      ]);
    });

    const mtus: { mtu: string; expected?: number; err?: string }[] = [
      { mtu: '1500', expected: 1500 },
      { mtu: '+9000', expected: 9000 },
      { mtu: '', expected: 0 },
      { mtu: 'jumbo', err: 'parsing device MTU: strconv.Atoi: parsing "jumbo": invalid syntax' },
      { mtu: '1.5', err: 'parsing device MTU: strconv.Atoi: parsing "1.5": invalid syntax' },
      {
        mtu: '99999999999999999999',
        err: 'parsing device MTU: strconv.Atoi: parsing "99999999999999999999": value out of range',
      },
    ];
    for (const { mtu, expected, err } of mtus) {
      it(`mtu ${JSON.stringify(mtu)} ${err ? 'fails' : `gives ${expected}`}`, () => {
        const devices = { eth0: { type: 'nic', parent: 'br0', mtu } };
        if (err) {
          const e = thrown(() => interfaceInfoFromDevices(devices));
          expect(e.message).to.equal(err);
          expect(e.code).to.equal(ContainerErrorCode.PARSE);
        } else {
          expect(interfaceInfoFromDevices(devices)[0]!.mtu).to.equal(expected);
        }
      });
    }

    it('is always sorted by interface name and round-trips devicesFromInterfaceInfo', () => {
      const nameArb = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
      const devArb = fc.record({
        parent: fc.stringMatching(/^br[0-9]{1,2}$/),
        hwaddr: fc.uint8Array({ minLength: 3, maxLength: 3 }).map((b) => generateVirtualMacAddress(() => b)),
        mtu: fc.integer({ min: 1, max: 9000 }),
      });
      fc.assert(
        fc.property(fc.dictionary(nameArb, devArb), (spec) => {
          const devices: LxdDevices = Object.fromEntries(
            Object.entries(spec).map(([n, d]) => [n, newNicDevice(n, d.parent, d.hwaddr, d.mtu)]),
          );
          const infos = interfaceInfoFromDevices(devices);
          const names = infos.map((i) => i.interfaceName);
          expect(names).to.deep.equal([...names].sort());
          const back = devicesFromInterfaceInfo(infos.map((i) => ({ ...i, interfaceType: 'ethernet' })));
          expect(back.devices).to.deep.equal(devices);
          expect(back.unknownParents).to.deep.equal(infos.map((i) => i.parentInterfaceName));
        }),
      );
    });
  });
});
