import { expect } from 'chai';
import { convert } from 'xmlbuilder2';
import { domainXml, KvmError, type DomainParams } from '../../../lib/container/kvm/index.js';

const base: DomainParams = {
  name: 'juju-06f00d-0',
  domainType: 'kvm',
  memory: 1024,
  cpuCores: 2,
  arch: 'amd64',
  disks: [
    { driver: 'qcow2', source: '/g/juju-06f00d-0.qcow' },
    { driver: 'raw', source: '/g/juju-06f00d-0-ds.iso' },
  ],
  interfaces: [{ macAddress: '52:54:00:aa:bb:cc', parentBridge: 'br0', guestDevice: 'eth0' }],
};

type Obj = Record<string, unknown>;
const parse = (xml: string): Obj => (convert(xml, { format: 'object' }) as Obj)['domain'] as Obj;

describe('kvm domainXml', () => {
  it("renders Juju's domain with 4-space indentation", () => {
    const xml = domainXml(base);
    expect(xml).to.equal(
      [
        '<domain type="kvm">',
        '    <name>juju-06f00d-0</name>',
        '    <vcpu>2</vcpu>',
        '    <currentMemory unit="MiB">1024</currentMemory>',
        '    <memory unit="MiB">1024</memory>',
        '    <os>',
        '        <type>hvm</type>',
        '    </os>',
        '    <features>',
        '        <acpi/>',
        '    </features>',
        '    <devices>',
        '        <disk device="disk" type="file">',
        '            <driver type="qcow2" name="qemu"/>',
        '            <source file="/g/juju-06f00d-0.qcow"/>',
        '            <target dev="vda"/>',
        '        </disk>',
        '        <disk device="disk" type="file">',
        '            <driver type="raw" name="qemu"/>',
        '            <source file="/g/juju-06f00d-0-ds.iso"/>',
        '            <target dev="vdb"/>',
        '        </disk>',
        '        <interface type="bridge">',
        '            <mac address="52:54:00:aa:bb:cc"/>',
        '            <model type="virtio"/>',
        '            <source bridge="br0"/>',
        '            <guest dev="eth0"/>',
        '        </interface>',
        '        <serial type="pty">',
        '            <source path="/dev/pts/2"/>',
        '            <target port="0"/>',
        '        </serial>',
        '        <console type="pty" tty="/dev/pts/2">',
        '            <source path="/dev/pts/2"/>',
        '            <target port="0"/>',
        '        </console>',
        '    </devices>',
        '</domain>',
        '',
      ].join('\n'),
    );
  });

  it('uses the qemu type, default memory and cores, OVS virtualports, and leaves out an empty MAC', () => {
    const d = parse(
      domainXml({
        ...base,
        domainType: 'qemu',
        memory: 0,
        cpuCores: 0,
        interfaces: [{ macAddress: '', parentBridge: 'ovsbr', guestDevice: 'eth1', virtualPortType: 'openvswitch' }],
      }),
    );
    expect(d['@type']).to.equal('qemu');
    expect(d['vcpu']).to.equal('1');
    expect(d['memory']).to.deep.equal({ '@unit': 'MiB', '#': '512' });
    const iface = (d['devices'] as Obj)['interface'] as Obj;
    expect(iface).to.not.have.property('mac');
    expect(iface['virtualport']).to.deep.equal({ '@type': 'openvswitch' });
  });

  it('adds the aarch64 machine, UEFI loader, GIC and CPU model on arm64', () => {
    const d = parse(domainXml({ ...base, arch: 'arm64' }));
    expect((d['os'] as Obj)['type']).to.deep.equal({ '@arch': 'aarch64', '@machine': 'virt', '#': 'hvm' });
    expect((d['os'] as Obj)['loader']).to.deep.equal({ '@readonly': 'yes', '@type': 'pflash', '#': '/usr/share/AAVMF/AAVMF_CODE.fd' });
    expect((d['features'] as Obj)['gic']).to.deep.equal({ '@version': 'host' });
    expect(d['cpu']).to.deep.equal({ '@mode': 'custom', '@match': 'exact', model: { '@fallback': 'allow', '#': 'cortex-a53' } });
  });

  it('escapes every value instead of splicing it into the markup', () => {
    const xml = domainXml({ ...base, name: 'a<b>&"c\'', disks: [{ driver: 'qcow2', source: '/g/"><evil/>' }, base.disks[1]!] });
    expect(xml).to.contain('<name>a&lt;b&gt;&amp;"c\'</name>');
    expect(xml).to.contain('<source file="/g/&quot;&gt;&lt;evil/&gt;"/>');
    expect(xml).to.not.contain('<evil/>');
  });

  it('names the domain by the UUID given, and by none otherwise', () => {
    const uuid = '6f1c7c5e-2b1a-4c3e-9d1f-0a1b2c3d4e5f';
    expect(parse(domainXml({ ...base, uuid }))['uuid']).to.equal(uuid);
    expect(domainXml({ ...base, uuid })).to.contain(`    <name>juju-06f00d-0</name>\n    <uuid>${uuid}</uuid>\n`);
    expect(parse(domainXml(base))).to.not.have.property('uuid');
  });

  it("refuses what Juju's NewDomain refuses, with Juju's texts", () => {
    const cases: [Partial<DomainParams>, string][] = [
      [{ name: '' }, 'missing required hostname'],
      [{ disks: [base.disks[0]!] }, 'got 1 disks, need at least 2'],
      [{ disks: [base.disks[0]!, base.disks[0]!] }, 'missing data source disk'],
      [{ disks: [base.disks[1]!, base.disks[1]!] }, 'missing system disk'],
      [{ disks: [base.disks[0]!, { driver: 'vmdk' as 'raw', source: '/x' }] }, 'unsupported disk type'],
      [{ uuid: 'not-a-uuid</uuid>' }, 'invalid domain UUID "not-a-uuid</uuid>"'],
    ];
    for (const [patch, message] of cases) {
      expect(() => domainXml({ ...base, ...patch }), message)
        .to.throw(KvmError, message)
        .with.property('code', 'KVM_ERR_INVALID_ARGUMENT');
    }
  });
});
