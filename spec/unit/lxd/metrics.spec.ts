/**
 * The Prometheus text parser of `client.metrics.get()` (lib/lxd/metrics-text.ts): what the format
 * allows, what it refuses, and properties: whatever a server sends, the parser answers samples or an
 * LxdResponseValidationError, never another error; any exposition written by the format's rules
 * parses back to the samples it was written from.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { LxdResponseValidationError, parseMetrics, type MetricSample } from '../../../lib/lxd/index.js';

function refused(text: string): string {
  try {
    parseMetrics(text);
  } catch (err) {
    expect(err).to.be.instanceOf(LxdResponseValidationError);
    expect(err).to.have.property('code', 'LXD_ERR_INVALID_RESPONSE');
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

const plain = (s: MetricSample) => ({ ...s, labels: { ...s.labels } });

describe('lxd: the metrics text parser', () => {
  it('reads HELP, TYPE, labels with escapes, NaN and infinities, timestamps, blanks, an empty label set, a trailing comma and # EOF', () => {
    const text = [
      '# HELP lxd_memory_bytes Memory \\\\ in bytes\\nper instance.',
      '# TYPE lxd_memory_bytes gauge',
      'lxd_memory_bytes{name="c1",project="default",type="container"} 1.5e+06',
      'lxd_memory_bytes{ name = "a \\"quoted\\" \\\\ back\\nline" , } NaN 1712345678000',
      'lxd_up{} +Inf',
      '  lxd_down -Inf\t-5',
      'lxd_x:y_total .5',
      '',
    ];
    const m = parseMetrics([...text, '# a comment, ignored', '# EOF', ''].join('\n'));
    expect(m.samples.map(plain)).to.deep.equal([
      { name: 'lxd_memory_bytes', labels: { name: 'c1', project: 'default', type: 'container' }, value: 1.5e6 },
      { name: 'lxd_memory_bytes', labels: { name: 'a "quoted" \\ back\nline' }, value: NaN, timestamp: 1712345678000 },
      { name: 'lxd_up', labels: {}, value: Infinity },
      { name: 'lxd_down', labels: {}, value: -Infinity, timestamp: -5 },
      { name: 'lxd_x:y_total', labels: {}, value: 0.5 },
    ]);
    expect(m.types['lxd_memory_bytes']).to.equal('gauge');
    expect(m.help['lxd_memory_bytes']).to.equal('Memory \\ in bytes\nper instance.');
  });

  it('a label called __proto__ or constructor is only a label: label sets have no prototype', () => {
    const [s] = parseMetrics('m{__proto__="x",constructor="y",hasOwnProperty="z"} 1\n').samples;
    expect(Object.getPrototypeOf(s!.labels)).to.equal(null);
    expect(Object.keys(s!.labels)).to.deep.equal(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(s!.labels['__proto__']).to.equal('x');
    expect(({} as Record<string, unknown>)['x']).to.equal(undefined);
    const types = parseMetrics('# TYPE __proto__ counter\n__proto__ 1\n').types;
    expect(types['__proto__']).to.equal('counter');
    expect(Object.getPrototypeOf(types)).to.equal(null);
  });

  const bad: [string, string, RegExp][] = [
    ['a label given twice', 'm{a="1",a="2"} 1', /"a" is given twice/],
    ['an unknown escape', 'm{a="\\t"} 1', /unknown escape/],
    ['an unclosed label value', 'm{a="1} 1', /not closed/],
    ['an unquoted label value', 'm{a=1} 1', /must be quoted/],
    ['a label name starting with a digit', 'm{1a="1"} 1', /label name/],
    ['a label name with a colon', 'm{a:b="1"} 1', /"=" after label "a"/],
    ['a metric name starting with a digit', '1m 1', /metric name/],
    ['a value that is not a number', 'm abc', /not a number/],
    ['a hex value', 'm 0x10', /not a number/],
    ['no value', 'm{a="1"}', /no value/],
    ['a value glued to the labels', 'm{a="1"}1', /blank before the value/],
    ['a timestamp that is not a number', 'm 1 now', /timestamp/],
    ['text after the timestamp', 'm 1 2 3', /after the timestamp/],
    ['an unknown type', '# TYPE m countr', /not a metric type/],
    ['a TYPE given twice', '# TYPE m counter\n# TYPE m gauge', /TYPE of "m" is given twice/],
    ['a HELP given twice', '# HELP m a\n# HELP m b', /HELP of "m" is given twice/],
    ['an unknown escape in HELP', '# HELP m a\\tb', /unknown escape/],
    ['text after # EOF', 'm 1\n# EOF\nm 2', /after # EOF/],
    ['a carriage return', 'm 1\r\nn 2', /not a number/],
    ['a NUL in a name', 'm\u0000 1', /blank before the value|metric name/],
    ['no closing brace', 'm{a="1" 1', /"," or "}"/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}, naming the line`, () => {
      const msg = refused(`ok 1\n${text}\n`);
      expect(msg).to.match(message);
      expect(msg).to.match(/at line \d+:/);
    });
  }

  it('property: whatever the text, samples or LxdResponseValidationError, never another error; labels never pollute a prototype', () => {
    const piece = fc.constantFrom('m', 'lxd_cpu', '{', '}', '"', '\\', '\\"', '\\n', '=', ',', ' ', '\t', '\n', '#', '# HELP ', '# TYPE ', ' counter', '# EOF', 'NaN', '+Inf', '-Inf', '1', '1e3', '.5', '-', '__proto__', 'constructor', 'a="x"', '\r', '\u0000', 'é');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(piece, { maxLength: 60 }).map((a) => a.join(''))), (text) => {
        let parsed;
        try {
          parsed = parseMetrics(text);
        } catch (err) {
          expect(err).to.be.instanceOf(LxdResponseValidationError);
          return;
        }
        for (const s of parsed.samples) {
          expect(Object.getPrototypeOf(s.labels)).to.equal(null);
          expect(s.name).to.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
          expect(typeof s.value).to.equal('number');
        }
        expect(({} as Record<string, unknown>)['x']).to.equal(undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: an exposition written by the rules parses back to its samples', () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
    const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
    const value = fc.oneof(fc.double(), fc.integer().map(Number), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0));
    const sample = fc.record({
      name,
      labels: fc.dictionary(labelName, fc.string({ maxLength: 20, unit: 'grapheme' }), { maxKeys: 5 }),
      value,
      timestamp: fc.option(fc.integer({ min: -1e12, max: 1e13 }), { nil: undefined }),
    });
    const write = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 20 }), fc.boolean(), (samples, eof) => {
        const lines = samples.map((s) => {
          const labels = Object.entries(s.labels);
          const set = labels.length ? `{${labels.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
          return `${s.name}${set} ${write(s.value)}${s.timestamp === undefined ? '' : ` ${s.timestamp}`}`;
        });
        const parsed = parseMetrics(`${lines.join('\n')}\n${eof ? '# EOF\n' : ''}`).samples;
        expect(parsed.length).to.equal(samples.length);
        parsed.forEach((p, i) => {
          const s = samples[i]!;
          expect(p.name).to.equal(s.name);
          expect({ ...p.labels }).to.deep.equal({ ...s.labels });
          expect(Object.is(p.value, s.value) || (p.value === 0 && s.value === 0)).to.equal(true);
          expect(p.timestamp).to.equal(s.timestamp);
        });
      }),
      { numRuns: 500 },
    );
  });
});
