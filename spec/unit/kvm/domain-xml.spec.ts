import { expect } from 'chai';
import fc from 'fast-check';
import { domainXml, KvmError, type DomainParams } from '../../../lib/container/kvm/index.js';
import { escapeAttribute, escapeText, XmlElement } from '../../../lib/container/kvm/xml.js';
import { child, readXml, type XmlNode } from '../../helpers/xml-reader.js';

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

const parse = (xml: string): XmlNode => readXml(xml);
const at = (node: XmlNode, ...path: string[]): XmlNode => {
  let n = node;
  for (const name of path) {
    const c = child(n, name);
    if (!c) throw new Error(`no <${name}> in <${n.name}>`);
    n = c;
  }
  return n;
};

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
    expect(d.attrs).to.deep.equal({ type: 'qemu' });
    expect(at(d, 'vcpu').text).to.equal('1');
    expect(at(d, 'memory').attrs).to.deep.equal({ unit: 'MiB' });
    expect(at(d, 'memory').text).to.equal('512');
    const iface = at(d, 'devices', 'interface');
    expect(child(iface, 'mac')).to.equal(undefined);
    expect(at(iface, 'virtualport').attrs).to.deep.equal({ type: 'openvswitch' });
  });

  it('adds the aarch64 machine, UEFI loader, GIC and CPU model on arm64', () => {
    const d = parse(domainXml({ ...base, arch: 'arm64' }));
    expect(at(d, 'os', 'type').attrs).to.deep.equal({ arch: 'aarch64', machine: 'virt' });
    expect(at(d, 'os', 'type').text).to.equal('hvm');
    expect(at(d, 'os', 'loader').attrs).to.deep.equal({ readonly: 'yes', type: 'pflash' });
    expect(at(d, 'os', 'loader').text).to.equal('/usr/share/AAVMF/AAVMF_CODE.fd');
    expect(at(d, 'features', 'gic').attrs).to.deep.equal({ version: 'host' });
    expect(at(d, 'cpu').attrs).to.deep.equal({ mode: 'custom', match: 'exact' });
    expect(at(d, 'cpu', 'model').attrs).to.deep.equal({ fallback: 'allow' });
    expect(at(d, 'cpu', 'model').text).to.equal('cortex-a53');
  });

  it('escapes every value instead of splicing it into the markup', () => {
    const xml = domainXml({ ...base, name: 'a<b>&"c\'', disks: [{ driver: 'qcow2', source: '/g/"><evil/>' }, base.disks[1]!] });
    expect(xml).to.contain('<name>a&lt;b&gt;&amp;"c\'</name>');
    expect(xml).to.contain('<source file="/g/&quot;&gt;&lt;evil/&gt;"/>');
    expect(xml).to.not.contain('<evil/>');
  });

  it('gives a parser back exactly the hostile names, paths, bridges and MACs it was given', () => {
    // any string XML can carry: markup, quotes, entities, CDATA ends, tabs, newlines, CRs, astral characters
    const xmlChar = fc.oneof(
      fc.constantFrom('<', '>', '&', '"', "'", ']]>', '&amp;', '&#0;', '\t', '\n', '\r', '\r\n', ' ', '<!--', '<![CDATA[', '😀', '\u2028'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }).filter((g) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(g)),
    );
    const hostile = fc.array(xmlChar, { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, hostile, (name, source, bridge, mac, guest) => {
        const d = parse(domainXml({
          ...base,
          name,
          disks: [{ driver: 'qcow2', source }, base.disks[1]!],
          interfaces: [{ macAddress: mac, parentBridge: bridge, guestDevice: guest, virtualPortType: name }],
        }));
        expect(at(d, 'name').text).to.equal(name);
        expect(at(d, 'devices', 'disk', 'source').attrs['file']).to.equal(source);
        const iface = at(d, 'devices', 'interface');
        expect(at(iface, 'mac').attrs['address']).to.equal(mac);
        expect(at(iface, 'source').attrs['bridge']).to.equal(bridge);
        expect(at(iface, 'guest').attrs['dev']).to.equal(guest);
        expect(at(iface, 'virtualport').attrs['type']).to.equal(name);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a value XML cannot carry (control characters, lone surrogates, U+FFFE) with a typed error', () => {
    for (const bad of ['\u0000', '\u0001', '\u001b[31m', '\u000b', '\ud800', '\udc00x', '\ufffe', '\uffff']) {
      for (const patch of [{ name: `n${bad}` }, { disks: [{ driver: 'qcow2' as const, source: `/g/${bad}` }, base.disks[1]!] }]) {
        expect(() => domainXml({ ...base, ...patch }), JSON.stringify(patch))
          .to.throw(KvmError, /which XML cannot carry/)
          .with.property('code', 'KVM_ERR_INVALID_ARGUMENT');
      }
    }
  });

  it('the writer escapes text and attributes as XML 1.0 reads them back', () => {
    expect(escapeText('a&b<c>d"e\'f\tg\nh\ri')).to.equal('a&amp;b&lt;c&gt;d"e\'f\tg\nh&#13;i');
    expect(escapeAttribute('a&b<c>d"e\'f\tg\nh\ri')).to.equal('a&amp;b&lt;c&gt;d&quot;e\'f&#9;g&#10;h&#13;i');
    const root = new XmlElement('r', { a: ' x\ty\n' });
    root.ele('t').txt('\r\n');
    root.ele('e');
    const back = readXml(root.render());
    expect(back.attrs['a']).to.equal(' x\ty\n');
    expect(at(back, 't').text).to.equal('\r\n');
    expect(() => new XmlElement('bad name')).to.throw(/not an XML name/);
    expect(() => new XmlElement('r', { 'x"y': '1' })).to.throw(/not an XML name/);
    expect(() => new XmlElement('r').txt('a').ele('b')).to.throw(/has text/);
  });

  it('names the domain by the UUID given, and by none otherwise', () => {
    const uuid = '6f1c7c5e-2b1a-4c3e-9d1f-0a1b2c3d4e5f';
    expect(at(parse(domainXml({ ...base, uuid })), 'uuid').text).to.equal(uuid);
    expect(domainXml({ ...base, uuid })).to.contain(`    <name>juju-06f00d-0</name>\n    <uuid>${uuid}</uuid>\n`);
    expect(child(parse(domainXml(base)), 'uuid')).to.equal(undefined);
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
