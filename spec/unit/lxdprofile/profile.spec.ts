import { expect } from 'chai';
import { ContainerError, ContainerErrorCode } from '../../../lib/container/index.js';
import { isEmptyProfile, parseProfile, validateProfile } from '../../../lib/lxdprofile/index.js';
import type { Profile } from '../../../lib/lxdprofile/index.js';

const profile = (p: Partial<Profile>): Profile => ({ config: {}, description: '', devices: {}, ...p });

function validationError(p: Partial<Profile> | null | undefined): ContainerError | undefined {
  try {
    validateProfile(p);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(ContainerError);
    return err as ContainerError;
  }
}

describe('lxdprofile Profile (Juju ProfileSuite)', () => {
  describe('isEmptyProfile', () => {
    const table: { name: string; p: Partial<Profile> | null | undefined; empty: boolean }[] = [
      { name: 'TestEmptyTrue', p: profile({}), empty: true },
      { name: 'TestEmptyFalse', p: profile({ config: { hello: 'testing' } }), empty: false },
      { name: 'devices only', p: profile({ devices: { gpu: { type: 'gpu' } } }), empty: false },
      { name: 'description is ignored', p: profile({ description: 'words' }), empty: true },
      { name: 'null', p: null, empty: true },
      { name: 'missing maps', p: {}, empty: true },
    ];
    for (const { name, p, empty } of table) {
      it(name, () => expect(isEmptyProfile(p)).to.equal(empty));
    }
  });

  describe('validateProfile', () => {
    const table: { name: string; p: Partial<Profile> | null | undefined; err?: string }[] = [
      { name: 'TestValidateConfigDevices', p: profile({ config: { hello: 'testing' } }) },
      {
        name: 'TestValidateConfigDevicesBadConfigBoot',
        p: profile({ config: { 'boot.testme': 'testing' } }),
        err: 'invalid lxd-profile: contains config value "boot.testme"',
      },
      {
        name: 'TestValidateConfigDevicesBadConfigLimits',
        p: profile({ config: { 'limits.new': 'testing' } }),
        err: 'invalid lxd-profile: contains config value "limits.new"',
      },
      {
        name: 'TestValidateConfigDevicesBadConfigMigration',
        p: profile({ config: { migration: 'testing' } }),
        err: 'invalid lxd-profile: contains config value "migration"',
      },
      {
        name: 'a plain prefix: bootx',
        p: profile({ config: { bootx: 'y' } }),
        err: 'invalid lxd-profile: contains config value "bootx"',
      },
      {
        name: 'TestValidateConfigDevicesBadDevice',
        p: profile({ devices: { test: { type: 'unix-disk' } } }),
        err: 'invalid lxd-profile: contains device type "unix-disk"',
      },
      { name: 'TestValidateConfigDevicesGoodDeviceUnixChar', p: profile({ devices: { test: { type: 'unix-char' } } }) },
      { name: 'TestValidateConfigDevicesGoodDeviceUnixBlock', p: profile({ devices: { test: { type: 'unix-block' } } }) },
      { name: 'TestValidateConfigDevicesGoodDeviceGPU', p: profile({ devices: { test: { type: 'gpu' } } }) },
      { name: 'TestValidateConfigDevicesGoodDeviceUSB', p: profile({ devices: { test: { type: 'usb' } } }) },
      { name: 'a device without type', p: profile({ devices: { test: { path: '/dev/kvm' } } }) },
      {
        name: 'devices are checked before config',
        p: profile({ config: { 'limits.cpu': '2' }, devices: { eth0: { type: 'nic' } } }),
        err: 'invalid lxd-profile: contains device type "nic"',
      },
      { name: 'an empty profile', p: profile({}) },
      { name: 'null (Juju nil profile)', p: null },
      { name: 'undefined', p: undefined },
    ];
    for (const { name, p, err } of table) {
      it(`${name}${err ? ` → ${err}` : ' is valid'}`, () => {
        const e = validationError(p);
        if (err) {
          expect(e?.message).to.equal(err);
          expect(e?.code).to.equal(ContainerErrorCode.INVALID_PROFILE);
        } else {
          expect(e).to.equal(undefined);
        }
      });
    }
  });

  describe('parseProfile', () => {
    it('fills missing maps and description, drops unknown fields', () => {
      expect(parseProfile({ devices: { gpu: { type: 'gpu' } }, name: 'x', used_by: [] })).to.deep.equal({
        config: {},
        description: '',
        devices: { gpu: { type: 'gpu' } },
      });
    });

    it('refuses non-string config values with a field path', () => {
      let err: unknown;
      try {
        parseProfile({ config: { 'security.nesting': true } });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ContainerError);
      expect((err as ContainerError).code).to.equal(ContainerErrorCode.INVALID_PROFILE);
      expect((err as Error).message).to.match(/^invalid lxd-profile: config\.security\.nesting: /);
    });
  });
});
