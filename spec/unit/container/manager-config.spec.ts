import { expect } from 'chai';
import fc from 'fast-check';
import {
  BridgeNetwork,
  ConfigAvailabilityZone,
  ConfigLogDir,
  ConfigModelUUID,
  ManagerConfig,
  goQuote,
} from '../../../lib/container/index.js';
import { captureLogger } from './capture-logger.js';

describe('container constants', () => {
  const table: [string, string, string][] = [
    ['ConfigModelUUID', ConfigModelUUID, 'model-uuid'],
    ['ConfigLogDir', ConfigLogDir, 'log-dir'],
    ['ConfigAvailabilityZone', ConfigAvailabilityZone, 'availability-zone'],
    ['BridgeNetwork', BridgeNetwork, 'bridge'],
  ];
  for (const [name, actual, expected] of table) {
    it(`${name} is ${JSON.stringify(expected)}`, () => expect(actual).to.equal(expected));
  }
});

describe('ManagerConfig', () => {
  it('popValue returns the value and deletes the key; absent keys give "" (Juju PopValue)', () => {
    const cfg = new ManagerConfig({ foo: 'bar', empty: '' });
    expect(cfg.popValue('foo')).to.equal('bar');
    expect(cfg.has('foo')).to.equal(false);
    expect(cfg.popValue('foo')).to.equal('');
    expect(cfg.popValue('missing')).to.equal('');
    expect(cfg.popValue('empty')).to.equal('');
    expect(cfg.size).to.equal(0);
  });

  it('does not alias the record it was built from', () => {
    const record = { foo: 'bar' };
    const cfg = new ManagerConfig(record);
    cfg.popValue('foo');
    expect(record).to.deep.equal({ foo: 'bar' });
  });

  it('warnAboutUnused logs Juju INFO text for each remaining key (TestWarnAboutUnused)', () => {
    const { logger, entries } = captureLogger();
    const cfg = new ManagerConfig({ shazam: 'Captain Marvel', 'model-uuid': 'x' });
    cfg.popValue('model-uuid');
    cfg.warnAboutUnused(logger);
    expect(entries).to.deep.equal([
      {
        level: 'info',
        msg: 'unused config option: "shazam" -> "Captain Marvel"',
        bindings: { module: 'juju.container' },
      },
    ]);
  });

  it('warnAboutUnused logs nothing when every key was consumed', () => {
    const { logger, entries } = captureLogger();
    const cfg = new ManagerConfig({ a: '1' });
    cfg.popValue('a');
    cfg.warnAboutUnused(logger);
    expect(entries).to.deep.equal([]);
  });

  it('warnAboutUnused Go-quotes keys and values', () => {
    const { logger, entries } = captureLogger();
    new ManagerConfig({ 'a"b': 'line\nbreak' }).warnAboutUnused(logger);
    expect(entries.map((e) => e.msg)).to.deep.equal(['unused config option: "a\\"b" -> "line\\nbreak"']);
  });
});

describe('goQuote (Go %q)', () => {
  const table: [string, string][] = [
    ['', '""'],
    ['Captain Marvel', '"Captain Marvel"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
    ['\x00\x1b\x7f', '"\\x00\\x1b\\x7f"'],
    ['\u0085\u00a0', '"\\u0085\\u00a0"'],
    ['héllo 世界', '"héllo 世界"'],
    ['\u{e0001}', '"\\U000e0001"'],
    ['emoji 😀', '"emoji 😀"'],
  ];
  for (const [input, expected] of table) {
    it(`quotes ${JSON.stringify(input)} as ${expected}`, () => expect(goQuote(input)).to.equal(expected));
  }

  it('agrees with JSON quoting on printable ASCII', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ -~]*$/), (s) => {
        expect(goQuote(s)).to.equal(JSON.stringify(s));
      }),
    );
  });
});
