import { expect } from 'chai';
import type { Fixture } from '../../../lib/testing/fixture.js';
import { FIXTURE_REDACTED_KEYS, normaliseFixture, RECORDED_AT } from '../../../lib/testing/normalise.js';

const OP = '3f6c1a2e-9b7d-4c55-8e21-0a1b2c3d4e5f';
const OTHER = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';

function raw(interactions: Fixture['interactions'], events?: Fixture['events']): Fixture {
  return { format: 1, lxd: { version: '5.0.2', api_extensions_count: 318 }, recordedAt: '2026-11-25T15:00:00.123Z', interactions, ...(events ? { events } : {}) };
}

describe('testing: normaliseFixture', () => {
  it('gives each UUID one placeholder across paths, headers and bodies (case-insensitively)', () => {
    const fx = normaliseFixture(
      raw([
        {
          request: { method: 'POST', path: '/1.0/instances', query: {} },
          response: { status: 202, headers: { location: `/1.0/operations/${OP}` }, body: { operation: `/1.0/operations/${OP}`, metadata: { id: OP, other: OTHER } } },
        },
        { request: { method: 'GET', path: `/1.0/operations/${OP.toUpperCase()}/wait`, query: { timeout: '5' } }, response: { status: 200, headers: {}, body: { metadata: { id: OP } } } },
      ]),
    );
    const [a, b] = fx.interactions;
    const id = '00000000-0000-4000-8000-000000000001';
    expect(a!.response.headers['location']).to.equal(`/1.0/operations/${id}`);
    expect(a!.response.body).to.deep.equal({ operation: `/1.0/operations/${id}`, metadata: { id, other: '00000000-0000-4000-8000-000000000002' } });
    expect(b!.request.path).to.equal(`/1.0/operations/${id}/wait`);
    expect(b!.response.body).to.deep.equal({ metadata: { id } });
  });

  it('maps timestamps to a fixed sequence in chronological order, nanoseconds included, and keeps the zero time', () => {
    const fx = normaliseFixture(
      raw([
        {
          request: { method: 'GET', path: '/1.0/x', query: {} },
          response: {
            status: 200,
            headers: {},
            body: {
              later: '2026-11-25T15:00:01.000000002Z',
              earlier: '2026-11-25T15:00:01.000000001Z',
              offset: '2026-11-25T16:00:00+01:00',
              never: '0001-01-01T00:00:00Z',
              again: '2026-11-25T15:00:01.000000001Z',
              text: 'created at 2026-11-25T14:59:59Z by root',
            },
          },
        },
      ]),
    );
    expect(fx.interactions[0]!.response.body).to.deep.equal({
      later: '2000-01-01T00:00:03Z',
      earlier: '2000-01-01T00:00:02Z',
      offset: '2000-01-01T00:00:01Z',
      never: '0001-01-01T00:00:00Z',
      again: '2000-01-01T00:00:02Z',
      text: 'created at 2000-01-01T00:00:00Z by root',
    });
    expect(fx.recordedAt).to.equal(RECORDED_AT);
  });

  it('redacts secrets (websocket fds, certificates, user-data) but keeps keys, empty values and ETags', () => {
    const fx = normaliseFixture(
      raw([
        {
          request: { method: 'POST', path: '/1.0/instances', query: {}, body: { config: { 'user.user-data': '#cloud-config\npassword: x' }, source: { type: 'image', certificate: '' } } },
          response: {
            status: 200,
            headers: { etag: '"abc123"' },
            body: { metadata: { metadata: { fds: { '0': 'f00d', control: 'c0ffee' } }, environment: { certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n', server_name: 'build-7' }, secret: 's3cret' } },
          },
        },
      ]),
      { hostname: 'build-7' },
    );
    const i = fx.interactions[0]!;
    expect(i.request.body).to.deep.equal({ config: { 'user.user-data': '[redacted]' }, source: { type: 'image', certificate: '' } });
    expect(i.response.headers['etag']).to.equal('"abc123"');
    expect(i.response.body).to.deep.equal({
      metadata: { metadata: { fds: { '0': '[redacted]', control: '[redacted]' } }, environment: { certificate: '[redacted]', server_name: 'lxd-host' }, secret: '[redacted]' },
    });
  });

  // The keys docs/testing.md lists. Each is given a real, unredacted value here: a fixture that
  // holds "[redacted]" already cannot tell whether normalising redacted it.
  const DOCUMENTED_KEYS = [
    'secret', 'secrets', 'fds', 'certificate', 'certificate_fingerprint', 'cert', 'key', 'password', 'token',
    'trust_token', 'core.trust_password', 'user-data', 'userData', 'vendor-data', 'vendorData',
  ];

  it('the default redacted keys are the documented ones', () => {
    expect([...FIXTURE_REDACTED_KEYS].sort()).to.deep.equal([...DOCUMENTED_KEYS].sort());
  });

  for (const key of DOCUMENTED_KEYS) {
    it(`redacts an unredacted value under "${key}" in requests, responses and events, nested or not`, () => {
      const value = key === 'certificate_fingerprint' ? '7b2e8c1f0d9a4e6b3c5d7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c' : `real-${key}-value`;
      const fx = normaliseFixture(
        raw(
          [
            {
              request: { method: 'POST', path: '/1.0/images', query: {}, body: { source: { [key]: value, server: 'https://images.example' } } },
              response: { status: 200, headers: {}, body: { metadata: [{ [key]: value, name: 'kept' }], [key]: [value, ''] } },
            },
          ],
          [{ path: '/1.0/events', query: { type: 'lifecycle' }, messages: [{ after: 0, message: { metadata: { [key]: value } } }] }],
        ),
        { hostname: 'h' },
      );
      const i = fx.interactions[0]!;
      expect(i.request.body).to.deep.equal({ source: { [key]: '[redacted]', server: 'https://images.example' } });
      expect(i.response.body).to.deep.equal({ metadata: [{ [key]: '[redacted]', name: 'kept' }], [key]: ['[redacted]', ''] });
      expect(fx.events![0]!.messages[0]!.message).to.deep.equal({ metadata: { [key]: '[redacted]' } });
      expect(JSON.stringify(fx)).not.to.contain(value);
    });
  }

  it('redactKeys replaces the list: certificate_fingerprint is kept when it is not in it, prefixes and PEM keys never are', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
    const fx = normaliseFixture(
      raw([
        {
          request: { method: 'GET', path: '/1.0/x', query: {} },
          response: { status: 200, headers: {}, body: { certificate_fingerprint: 'abc', mine: 'hidden', config: { 'user.x': 'u', 'cloud-init.y': 'c', 'environment.Z': 'e' }, other: pem } },
        },
      ]),
      { redactKeys: ['mine'], hostname: 'h' },
    );
    expect(fx.interactions[0]!.response.body).to.deep.equal({
      certificate_fingerprint: 'abc',
      mine: '[redacted]',
      config: { 'user.x': '[redacted]', 'cloud-init.y': '[redacted]', 'environment.Z': '[redacted]' },
      other: '[redacted]',
    });
  });

  it('applies the replace map (longest first) to names in paths, queries, bodies, keys and events', () => {
    const fx = normaliseFixture(
      raw(
        [
          {
            request: { method: 'GET', path: '/1.0/instances', query: { filter: 'name eq run-1a2b-c1' } },
            response: { status: 200, headers: {}, body: { metadata: ['/1.0/instances/run-1a2b-c1'], 'run-1a2b-c1': 'run-1a2b' } },
          },
        ],
        [{ path: '/1.0/events', query: { type: 'lifecycle' }, messages: [{ after: 0, message: { metadata: { source: '/1.0/instances/run-1a2b-c1' } } }] }],
      ),
      { replace: { 'run-1a2b': 'run', 'run-1a2b-c1': 'first' } },
    );
    expect(fx.interactions[0]!.request.query).to.deep.equal({ filter: 'name eq first' });
    expect(fx.interactions[0]!.response.body).to.deep.equal({ metadata: ['/1.0/instances/first'], first: 'run' });
    expect(fx.events![0]!.messages[0]!.message).to.deep.equal({ metadata: { source: '/1.0/instances/first' } });
  });

  it('numbers MAC addresses and is idempotent', () => {
    const once = normaliseFixture(
      raw([
        {
          request: { method: 'GET', path: `/1.0/operations/${OP}`, query: {} },
          response: { status: 200, headers: {}, body: { hw: '00:16:3E:AB:CD:EF', same: '00:16:3e:ab:cd:ef', other: '10:66:6a:01:02:03', at: '2026-01-01T00:00:00Z' } },
        },
      ]),
    );
    expect(once.interactions[0]!.response.body).to.deep.equal({ hw: '00:16:3e:00:00:01', same: '00:16:3e:00:00:01', other: '00:16:3e:00:00:02', at: '2000-01-01T00:00:00Z' });
    expect(normaliseFixture(once)).to.deep.equal(once);
  });
});

describe('testing: normaliseFixture at the edges', () => {
  const body = (fx: Fixture, i = 0): unknown => fx.interactions[i]!.response.body;
  const one = (responseBody: unknown): Fixture => raw([{ request: { method: 'GET', path: '/1.0/x', query: {} }, response: { status: 200, headers: {}, body: responseBody as never } }]);

  it('recordedAt is the fixed 2000-01-01T00:00:00Z; the description and websockets are kept; a fixture without them has none', () => {
    const ws = [{ path: `/1.0/operations/${OP}/websocket`, operation: `/1.0/operations/${OP}`, fd: '0', after: 1, frames: [{ from: 'daemon' as const, kind: 'text' as const, text: '' }] }];
    const fx = normaliseFixture({ ...one({}), description: `exec in ${OP}`, websockets: ws }, { hostname: 'h' });
    expect(RECORDED_AT).to.equal('2000-01-01T00:00:00Z');
    expect(fx.recordedAt).to.equal('2000-01-01T00:00:00Z');
    expect(fx.description).to.equal('exec in 00000000-0000-4000-8000-000000000001');
    expect(fx.websockets).to.deep.equal([{ ...ws[0], path: '/1.0/operations/00000000-0000-4000-8000-000000000001/websocket', operation: '/1.0/operations/00000000-0000-4000-8000-000000000001' }]);
    expect(Object.keys(normaliseFixture(one({}), { hostname: 'h' })).sort()).to.deep.equal(['format', 'interactions', 'lxd', 'recordedAt']);
  });

  it('keeps the Unix epoch and non-string leaves (null, numbers, booleans) as they are', () => {
    const fx = normaliseFixture(one({ epoch: '1970-01-01T00:00:00Z', never: '0001-01-01T00:00:00Z', n: null, size: 42, ok: true, list: [null, 0, false, 'x'] }), { hostname: 'h' });
    expect(body(fx)).to.deep.equal({ epoch: '1970-01-01T00:00:00Z', never: '0001-01-01T00:00:00Z', n: null, size: 42, ok: true, list: [null, 0, false, 'x'] });
  });

  it('a UUID that appears only as a key gets its placeholder too', () => {
    const fx = normaliseFixture(one({ [OP]: { name: 'c1' } }), { hostname: 'h' });
    expect(body(fx)).to.deep.equal({ '00000000-0000-4000-8000-000000000001': { name: 'c1' } });
  });

  it('numbers new UUIDs and timestamps after the placeholders a normalised fixture already holds', () => {
    const fx = normaliseFixture(
      one({ kept: '00000000-0000-4000-8000-000000000001', fresh: OP, also: OTHER, at: '2000-01-01T00:00:03Z', before: '2000-01-01T00:00:01Z', newer: '2026-01-01T00:00:00Z' }),
      { hostname: 'h' },
    );
    expect(body(fx)).to.deep.equal({
      kept: '00000000-0000-4000-8000-000000000001',
      fresh: '00000000-0000-4000-8000-000000000002',
      also: '00000000-0000-4000-8000-000000000003',
      at: '2000-01-01T00:00:03Z',
      before: '2000-01-01T00:00:01Z',
      newer: '2000-01-01T00:00:04Z',
    });
  });

  it('orders timestamps of the same millisecond by their fraction, then by their text, whatever order they appear in', () => {
    const fx = normaliseFixture(
      one({
        // the same instant in two zones, the later text first
        zoned: '2026-11-25T16:00:00+01:00',
        utc: '2026-11-25T15:00:00Z',
        // a fraction below the millisecond: the whole second comes first
        sub: '2026-11-25T15:00:05.0001Z',
        whole: '2026-11-25T15:00:05Z',
        // the same millisecond in two zones: the fraction decides, not the text
        z: '2026-11-25T15:00:09.0002Z',
        plus: '2026-11-25T16:00:09.0001+01:00',
      }),
      { hostname: 'h' },
    );
    expect(body(fx)).to.deep.equal({
      utc: '2000-01-01T00:00:00Z',
      zoned: '2000-01-01T00:00:01Z',
      whole: '2000-01-01T00:00:02Z',
      sub: '2000-01-01T00:00:03Z',
      plus: '2000-01-01T00:00:04Z',
      z: '2000-01-01T00:00:05Z',
    });
  });

  it('a MAC address must stand alone: hex glued to either end is not one', () => {
    const fx = normaliseFixture(one({ mac: 'eth0 00:16:3e:ab:cd:ef up', before: 'a00:16:3e:ab:cd:ef', after: '00:16:3e:ab:cd:ef0' }), { hostname: 'h' });
    expect(body(fx)).to.deep.equal({ mac: 'eth0 00:16:3e:00:00:01 up', before: 'a00:16:3e:ab:cd:ef', after: '00:16:3e:ab:cd:ef0' });
  });

  it('a new MAC address never takes the number of a MAC placeholder the fixture already holds', () => {
    const fx = normaliseFixture(one({ kept: '00:16:3e:00:00:01', also: '00:16:3E:00:00:03', fresh: '00:16:3e:ab:cd:ef', next: '10:66:6a:01:02:03' }), { hostname: 'h' });
    expect(body(fx)).to.deep.equal({ kept: '00:16:3e:00:00:01', also: '00:16:3E:00:00:03', fresh: '00:16:3e:00:00:02', next: '00:16:3e:00:00:04' });
    expect(normaliseFixture(fx, { hostname: 'h' })).to.deep.equal(fx);
  });

  it('more than 255 MAC addresses go on into the fifth octet, each distinct and still valid, and normalising again changes nothing', () => {
    const macs = Array.from({ length: 300 }, (_, i) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`);
    const fx = normaliseFixture(one({ macs }), { hostname: 'h' });
    const out = (body(fx) as { macs: string[] }).macs;
    expect(new Set(out).size).to.equal(300);
    expect(out[0]).to.equal('00:16:3e:00:00:01');
    expect(out[254]).to.equal('00:16:3e:00:00:ff');
    expect(out[255]).to.equal('00:16:3e:00:01:00');
    for (const m of out) expect(m).to.match(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(normaliseFixture(fx, { hostname: 'h' })).to.deep.equal(fx);
  });

  it('replace: keys are literal text (no pattern), and an empty key replaces nothing', () => {
    const special = 'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o';
    const fx = normaliseFixture(one({ name: `x-${special}-y`, lookalike: 'c1Xc2', dot: 'c1.c2', other: 'kept' }), { hostname: 'h', replace: { [special]: 'S', 'c1.c2': 'C', '': 'E' } });
    expect(body(fx)).to.deep.equal({ name: 'x-S-y', lookalike: 'c1Xc2', dot: 'C', other: 'kept' });
  });

  it('an empty host name hides nothing: empty strings stay empty', () => {
    const fx = normaliseFixture(one({ server_name: '', other: 'build-7' }), { hostname: '' });
    expect(body(fx)).to.deep.equal({ server_name: '', other: 'build-7' });
  });

  it('a value under a secret key is redacted whole, even when it is shaped like an exec with LXD\'s own variables', () => {
    const fx = normaliseFixture(one({ secret: { command: ['sh'], environment: { PATH: '/bin', HOME: '/root' } } }), { hostname: 'h' });
    expect(body(fx)).to.deep.equal({ secret: { command: ['[redacted]'], environment: { PATH: '[redacted]', HOME: '[redacted]' } } });
  });
});
