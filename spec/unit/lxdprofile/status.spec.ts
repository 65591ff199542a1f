import { expect } from 'chai';
import {
  EmptyStatus,
  ErrorStatus,
  NotKnownStatus,
  NotRequiredStatus,
  NotSupportedStatus,
  SuccessStatus,
  annotateErrorStatus,
  upgradeStatusErrored,
  upgradeStatusFinished,
  upgradeStatusTerminal,
} from '../../../lib/lxdprofile/index.js';

describe('lxdprofile upgrade statuses (Juju status.go)', () => {
  it('has Juju strings', () => {
    expect([EmptyStatus, SuccessStatus, NotRequiredStatus, NotKnownStatus, ErrorStatus, NotSupportedStatus]).to.deep.equal([
      '',
      'Success',
      'Not Required',
      'Not known',
      'Error',
      'Not Supported',
    ]);
  });

  it('annotateErrorStatus is "Error: <message>"', () => {
    expect(annotateErrorStatus(new Error('boom'))).to.equal('Error: boom');
    expect(annotateErrorStatus('cannot upgrade')).to.equal('Error: cannot upgrade');
  });

  const table: [string, boolean, boolean, boolean][] = [
    // status, finished, errored, terminal
    ['', false, false, false],
    ['Success', true, false, true],
    ['Not Required', true, false, true],
    ['Not Supported', true, false, true],
    ['Not known', false, false, false],
    ['Error', false, true, true],
    ['Error: boom', false, true, true],
    ['error: lower', false, false, false],
  ];
  for (const [status, finished, errored, terminal] of table) {
    it(`${JSON.stringify(status)}: finished=${finished} errored=${errored} terminal=${terminal}`, () => {
      expect(upgradeStatusFinished(status)).to.equal(finished);
      expect(upgradeStatusErrored(status)).to.equal(errored);
      expect(upgradeStatusTerminal(status)).to.equal(terminal);
    });
  }
});
