import { expect } from 'chai';
import { parse } from 'yaml';
import {
  CloudInitNetworkConfigDisabled,
  ContainerError,
  ContainerErrorCode,
  JujuNetplanFile,
  bridgeNetworkConfig,
  cloudInitUserData,
  generateNetplan,
  newInterfaceInfo,
  shQuote,
} from '../../../lib/container/index.js';
import type { InstanceConfig, InterfaceInfo } from '../../../lib/container/index.js';

const staticEth0 = newInterfaceInfo({
  interfaceName: 'eth0',
  interfaceType: 'ethernet',
  parentInterfaceName: 'lxdbr0',
  macAddress: 'aa:bb:cc:dd:ee:f0',
  configType: 'static',
  mtu: 9000,
  addresses: [{ value: '0.1.2.3', cidr: '0.1.2.0/24' }],
  dnsServers: ['ns1.invalid', 'ns2.invalid'],
  dnsSearchDomains: ['foo', 'bar'],
  gatewayAddress: '0.1.2.1',
  routes: [{ destinationCidr: '0.5.6.0/24', gatewayIp: '0.2.2.1', metric: 50 }],
});
const dhcpEth1 = newInterfaceInfo({
  interfaceName: 'eth1',
  interfaceType: 'ethernet',
  parentInterfaceName: 'br1',
  configType: 'dhcp',
  mtu: 1500,
});

const expectedNetplan = `network:
  version: 2
  ethernets:
    eth0:
      match:
        macaddress: aa:bb:cc:dd:ee:f0
      addresses:
      - 0.1.2.3/24
      gateway4: 0.1.2.1
      nameservers:
        search: [foo, bar]
        addresses: [ns1.invalid, ns2.invalid]
      mtu: 9000
      routes:
      - to: 0.5.6.0/24
        via: 0.2.2.1
        metric: 50
    eth1:
      match:
        name: eth1
      dhcp4: true
`;

function thrown(fn: () => unknown): ContainerError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ContainerError);
    return err as ContainerError;
  }
  throw new Error('expected an error');
}

describe('cloud-init user-data (Juju containerinit / network_ubuntu.go)', () => {
  it('CloudInitNetworkConfigDisabled is Juju text', () => {
    expect(CloudInitNetworkConfigDisabled).to.equal('config: "disabled"\n');
  });

  describe('generateNetplan', () => {
    it('renders Juju netplan: match, addresses or dhcp4, gateway, flow nameservers, mtu (not 1500), routes', () => {
      expect(generateNetplan([dhcpEth1, staticEth0])).to.equal(expectedNetplan);
    });

    const cases: { name: string; info: Partial<InterfaceInfo>; expected: Record<string, unknown> }[] = [
      { name: 'a manual interface without address', info: { configType: 'manual' }, expected: { match: { name: 'eth9' } } },
      {
        name: 'an IPv6 gateway',
        info: { configType: 'static', gatewayAddress: 'fd00::1', addresses: [{ value: 'fd00::5', cidr: 'fd00::/64' }] },
        expected: { match: { name: 'eth9' }, addresses: ['fd00::5/64'], gateway6: 'fd00::1' },
      },
      {
        name: 'an address without CIDR on dhcp',
        info: { configType: 'dhcp', addresses: [{ value: '10.0.0.9' }] },
        expected: { match: { name: 'eth9' }, dhcp4: true },
      },
      { name: 'MTU 0', info: { configType: 'dhcp', mtu: 0 }, expected: { match: { name: 'eth9' }, dhcp4: true } },
      {
        name: 'MTU 1492',
        info: { configType: 'dhcp', mtu: 1492 },
        expected: { match: { name: 'eth9' }, dhcp4: true, mtu: 1492 },
      },
    ];
    for (const { name, info, expected } of cases) {
      it(name, () => {
        const yaml = generateNetplan([newInterfaceInfo({ interfaceName: 'eth9', ...info })]);
        expect(parse(yaml)).to.deep.equal({ network: { version: 2, ethernets: { eth9: expected } } });
      });
    }

    it('rejects an empty interface list with Juju text', () => {
      const err = thrown(() => generateNetplan([]));
      expect(err.message).to.equal('missing container network config');
    });
  });

  describe('cloudInitUserData', () => {
    it('starts with #cloud-config and writes and applies the netplan file', () => {
      const text = cloudInitUserData({ machineId: '0' }, bridgeNetworkConfig('lxdbr0', 0, [staticEth0, dhcpEth1]));
      expect(text.startsWith('#cloud-config\n')).to.equal(true);
      const doc = parse(text) as Record<string, unknown>;
      expect(Object.keys(doc)).to.deep.equal(['bootcmd', 'write_files']);
      expect(doc['write_files']).to.deep.equal([{ path: '/etc/netplan/99-juju.yaml', permissions: '0644', content: expectedNetplan }]);
      const bootcmd = doc['bootcmd'] as string[];
      expect(bootcmd[0]).to.equal(`install -D -m 644 /dev/null '${JujuNetplanFile}'`);
      expect(bootcmd[1]).to.equal(`printf '%s\\n' ${shQuote(expectedNetplan)} > '${JujuNetplanFile}'`);
      expect(bootcmd[2]).to.equal(
        '\nif [ ! -f /sbin/ifup ]; then\n    echo "No /sbin/ifup, applying netplan configuration."\n    netplan generate\n    netplan apply\nfi\n',
      );
    });

    it('adds no network files without interfaces or on a non-Ubuntu series', () => {
      expect(cloudInitUserData({ machineId: '0' })).to.equal('#cloud-config\n{}\n');
      expect(cloudInitUserData({ machineId: '0' }, { networkType: 'bridge', device: 'br0', mtu: 0, interfaces: [] })).to.equal(
        '#cloud-config\n{}\n',
      );
      const centos = cloudInitUserData({ machineId: '0', series: 'centos7' }, bridgeNetworkConfig('br0', 0, [dhcpEth1]));
      expect(centos).to.equal('#cloud-config\n{}\n');
    });

    it('sets hostname only when machineContainerHostname is given (KVM sets it)', () => {
      expect(parse(cloudInitUserData({ machineId: '0', machineContainerHostname: 'juju-06f00d-0' }))).to.deep.equal({
        hostname: 'juju-06f00d-0',
      });
    });

    it('adds authorized keys, one per non-empty line', () => {
      const text = cloudInitUserData({ machineId: '0', authorizedKeys: 'ssh-ed25519 AAAA one\n\n# comment\nssh-rsa BBBB two\n' });
      expect(parse(text)).to.deep.equal({ ssh_authorized_keys: ['ssh-ed25519 AAAA one', 'ssh-rsa BBBB two'] });
    });

    const merges: { name: string; userData: InstanceConfig['userData']; expected: Record<string, unknown> }[] = [
      {
        name: 'a #cloud-config string',
        userData: '#cloud-config\npackages: [jq]\nruncmd: [echo hi]\n',
        expected: { packages: ['jq'], runcmd: ['echo hi'] },
      },
      {
        name: 'an object',
        userData: { packages: ['jq'], hostname: 'override' },
        expected: { packages: ['jq'], hostname: 'override' },
      },
      {
        name: 'Juju preruncmd and postruncmd around runcmd',
        userData: { preruncmd: ['echo first'], runcmd: ['echo middle'], postruncmd: ['echo last'] },
        expected: { runcmd: ['echo first', 'echo middle', 'echo last'] },
      },
      {
        name: 'lists appended after the generated ones',
        userData: { write_files: [{ path: '/etc/motd', content: 'hi' }] },
        expected: {
          write_files: [
            { path: '/etc/netplan/99-juju.yaml', permissions: '0644', content: generateNetplan([dhcpEth1]) },
            { path: '/etc/motd', content: 'hi' },
          ],
        },
      },
      { name: 'an empty string', userData: '', expected: {} },
    ];
    for (const { name, userData, expected } of merges) {
      it(`merges user data given as ${name}`, () => {
        const withNet = name.startsWith('lists');
        const doc = parse(
          cloudInitUserData(
            { machineId: '0', userData, ...(name === 'an object' ? { machineContainerHostname: 'generated' } : {}) },
            withNet ? bridgeNetworkConfig('br1', 0, [dhcpEth1]) : undefined,
          ),
        ) as Record<string, unknown>;
        if (withNet) delete doc['bootcmd'];
        expect(doc).to.deep.equal(expected);
      });
    }

    const badUserData = ['#cloud-config\n- just\n- a list\n', 'plain words', '#cloud-config\nkey: [unclosed\n'];
    for (const userData of badUserData) {
      it(`rejects user data ${JSON.stringify(userData)}`, () => {
        const err = thrown(() => cloudInitUserData({ machineId: '0', userData }));
        expect(err.code).to.equal(ContainerErrorCode.NOT_VALID);
      });
    }
  });

  it('shQuote single-quotes like Juju utils.ShQuote', () => {
    expect(shQuote("it's")).to.equal(`'it'"'"'s'`);
    expect(shQuote('')).to.equal("''");
  });
});
