import { expect } from 'chai';
import { hostArch, normaliseArch } from '../../../lib/container/index.js';

describe('architecture normalisation (juju/utils arch)', () => {
  const table: [string, string][] = [
    ['amd64', 'amd64'],
    ['x86_64', 'amd64'],
    ['  x86_64\n', 'amd64'],
    ['i386', 'i386'],
    ['i686', 'i386'],
    ['386', 'i386'],
    ['i986', 'i386'],
    ['arm', 'armhf'],
    ['armv7l', 'armhf'],
    ['armv8', 'armhf'],
    ['armhf', 'armhf'],
    ['aarch64', 'arm64'],
    ['arm64', 'arm64'],
    ['ppc64', 'ppc64el'],
    ['ppc64le', 'ppc64el'],
    ['ppc64el', 'ppc64el'],
    ['s390x', 's390x'],
    ['riscv64', 'riscv64'],
    ['', ''],
  ];
  for (const [input, expected] of table) {
    it(`normaliseArch(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
      expect(normaliseArch(input)).to.equal(expected);
    });
  }

  const hosts: [string, string][] = [
    ['x64', 'amd64'],
    ['arm64', 'arm64'],
    ['ia32', 'i386'],
    ['arm', 'armhf'],
    ['ppc64', 'ppc64el'],
    ['s390x', 's390x'],
    ['riscv64', 'riscv64'],
  ];
  for (const [node, expected] of hosts) {
    it(`hostArch maps Node's ${node} to ${expected}`, () => expect(hostArch(node)).to.equal(expected));
  }
});
