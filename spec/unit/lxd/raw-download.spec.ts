/**
 * The raw-download HTTP/1.1 parser, strict: examples through a real unix socket, and fast-check
 * properties against a reference decoder written here (whole-input, regular expressions, BigInt),
 * with responses cut at random points and fed through one reused buffer, as the socket does.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { LxdConnectionError, LxdResponseValidationError } from '../../../lib/lxd/index.js';
import { DEFAULT_PARSER_LIMITS, HttpResponseParser, RawDownloadError, rawDownload, type ParserLimits } from '../../../lib/lxd/raw-download.js';
import { Transport } from '../../../lib/lxd/transport.js';
import { silentLogger } from '../../../lib/logger.js';
import { rejection } from '../../helpers/rejection.js';

type Outcome = { ok: true; status: number; headers: Record<string, string>; body: string } | { ok: false };
const FAIL: Outcome = { ok: false };

/**
 * The reference: RFC 9112's grammar as regular expressions over the whole input (latin1), sizes
 * as BigInt. `ok: false` for anything malformed or cut short before the response's end.
 */
function reference(input: Buffer, method: string, limits: ParserLimits): Outcome {
  const s = input.toString('latin1');
  let pos = 0;
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m) pos = re.lastIndex;
    return m;
  };
  const notCtl = '[^\\x00-\\x08\\x0a-\\x1f\\x7f]';
  const tchar = "[A-Za-z0-9!#$%&'*+.^_`|~-]";
  const statusLine = new RegExp(`HTTP/1\\.[01] ([1-9][0-9][0-9])(?: ${notCtl}*)?\\r\\n`, 'y');
  const fieldLine = new RegExp(`(${tchar}+):[ \\t]*(${notCtl}*?)[ \\t]*\\r\\n`, 'y');
  const crlf = /\r\n/y;
  const qdtext = '[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]';
  const quotedPair = '\\\\[\\t \\x21-\\x7e\\x80-\\xff]';
  const ext = `[ \\t]*;[ \\t]*${tchar}+(?:[ \\t]*=[ \\t]*(?:${tchar}+|"(?:${qdtext}|${quotedPair})*"))?`;
  const chunkLine = new RegExp(`([0-9a-fA-F]+)(?:${ext})*\\r\\n`, 'y');
  const MAX = BigInt(Number.MAX_SAFE_INTEGER);

  let interim = 0;
  for (;;) {
    const headStart = pos;
    const st = take(statusLine);
    if (!st) return FAIL;
    const fields = new Map<string, string>();
    const lengths: string[] = [];
    const codings: string[] = [];
    let sawCoding = false;
    let count = 0;
    while (!take(crlf)) {
      const f = take(fieldLine);
      if (!f) return FAIL;
      count++;
      const name = f[1]!.toLowerCase();
      if (!fields.has(name)) fields.set(name, f[2]!);
      if (name === 'content-length') lengths.push(f[2]!);
      if (name === 'transfer-encoding') {
        sawCoding = true;
        codings.push(f[2]!);
      }
    }
    if (count > limits.maxFields || pos - headStart > limits.maxHeadBytes) return FAIL;
    const status = Number(st[1]);
    if (status === 101) return FAIL;
    if (status < 200) {
      interim++;
      if (interim > limits.maxInterim) return FAIL;
      continue;
    }
    if (lengths.some((v) => !/^[0-9]+$/.test(v))) return FAIL;
    const values = new Set(lengths.map((v) => BigInt(v)));
    if (values.size > 1) return FAIL;
    const length = lengths.length ? BigInt(lengths[0]!) : undefined;
    if (length !== undefined && length > MAX) return FAIL;
    const chunked = sawCoding;
    if (sawCoding) {
      const list = codings.join(',').split(',').map((c) => c.trim().toLowerCase());
      if (list.length !== 1 || list[0] !== 'chunked' || length !== undefined) return FAIL;
    }
    const headers = Object.fromEntries(fields);
    const done = (body: string): Outcome => ({ ok: true, status, headers, body });
    if (method === 'HEAD' || status === 204 || status === 304) return done('');
    if (chunked) {
      let body = '';
      for (;;) {
        const lineStart = pos;
        const c = take(chunkLine);
        if (!c || pos - lineStart > limits.maxChunkLineBytes) return FAIL;
        const size = BigInt(`0x${c[1]}`);
        if (size > MAX) return FAIL;
        if (size === 0n) break;
        if (BigInt(s.length - pos) < size) return FAIL;
        body += s.slice(pos, pos + Number(size));
        pos += Number(size);
        if (!take(crlf)) return FAIL;
      }
      const trailerStart = pos;
      let trailers = 0;
      while (!take(crlf)) {
        if (!take(fieldLine)) return FAIL;
        trailers++;
      }
      if (trailers > limits.maxFields || pos - trailerStart > limits.maxTrailerBytes) return FAIL;
      return done(body);
    }
    if (length !== undefined) {
      if (BigInt(s.length - pos) < length) return FAIL;
      return done(s.slice(pos, pos + Number(length)));
    }
    return done(s.slice(pos));
  }
}

/**
 * The parser under test, fed `input` cut at `cuts`, each piece copied into one reused buffer first
 * (the socket's read buffer) and the body views copied out before the next piece.
 */
function parse(input: Buffer, cuts: number[], method: string, limits: ParserLimits): Outcome {
  const parser = new HttpResponseParser(method, limits);
  const scratch = Buffer.alloc(input.length + 1);
  const points = [...new Set([0, ...cuts.map((c) => Math.min(c, input.length)), input.length])].sort((a, b) => a - b);
  let body = '';
  try {
    for (let i = 0; i + 1 < points.length && !parser.done; i++) {
      const n = input.copy(scratch, 0, points[i], points[i + 1]);
      for (const slice of parser.feed(scratch.subarray(0, n))) body += slice.toString('latin1');
      scratch.fill(0x5a);
    }
  } catch (err) {
    expect(err).to.be.instanceOf(RawDownloadError);
    return FAIL;
  }
  if (parser.status === undefined || !parser.end()) return FAIL;
  return { ok: true, status: parser.status, headers: { ...parser.headers! }, body };
}

// ---- generators: valid responses, as a model and its bytes

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const fieldName = fc
  .oneof(token, fc.constantFrom('ETag', 'Content-Type', 'X-Lxd-Mode', '__proto__', 'constructor', 'toString', 'Location'))
  .filter((n) => !/^(content-length|transfer-encoding)$/i.test(n));
const visible = fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c));
const ows = fc.constantFrom('', ' ', '\t', '  ', ' \t');
/** A field value: visible characters with single spaces or tabs inside, and optional whitespace around. */
const fieldValue = fc
  .tuple(ows, fc.array(fc.string({ unit: visible, minLength: 1, maxLength: 6 }), { maxLength: 3 }), fc.constantFrom(' ', '\t'), ows)
  .map(([before, words, sep, after]) => ({ raw: `${before}${words.join(sep)}${after}`, value: words.join(sep) }));
const field = fc.tuple(fieldName, fieldValue).map(([name, v]) => ({ name, ...v }));
const reason = fc.oneof(fc.constant(null), fc.string({ unit: fc.oneof(visible, fc.constantFrom(' ', '\t')), maxLength: 12 }));
const bodyBytes = fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a).toString('latin1'));
const hexCase = (n: number, upper: boolean, zeros: number) => '0'.repeat(zeros) + (upper ? n.toString(16).toUpperCase() : n.toString(16));
const chunkExt = fc.array(
  fc.tuple(fc.constantFrom('', ' ', '\t'), token, fc.oneof(fc.constant(null), token, fc.string({ unit: fc.constantFrom('a', ' ', '\\"', '\\\\', 'é', '\t', ';'), maxLength: 5 }).map((q) => `"${q}"`))).map(
    ([ws, name, value]) => `${ws};${ws}${name}${value === null ? '' : `${ws}=${ws}${value}`}`,
  ),
  { maxLength: 2 },
).map((e) => e.join(''));

interface Model {
  method: 'GET' | 'HEAD';
  bytes: Buffer;
  expected: Outcome;
}

const statusLineOf = (version: string, status: number, r: string | null): string => `${version} ${status}${r === null ? '' : ` ${r}`}\r\n`;

const interimHead = fc
  .tuple(fc.constantFrom(100, 102, 103, 150, 199), reason, fc.array(field, { maxLength: 2 }))
  .map(([status, r, fields]) => statusLineOf('HTTP/1.1', status, r) + fields.map((f) => `${f.name}:${f.raw}\r\n`).join('') + '\r\n');

const validResponse: fc.Arbitrary<Model> = fc
  .record({
    method: fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'HEAD'),
    interim: fc.array(interimHead, { maxLength: 2 }),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
    status: fc.oneof(fc.constantFrom(200, 201, 204, 206, 304, 400, 404, 500), fc.integer({ min: 200, max: 999 })),
    reason,
    fields: fc.array(field, { maxLength: 4 }),
    framing: fc.constantFrom('length', 'chunked', 'close'),
    lengthZeros: fc.nat({ max: 2 }),
    lengthTwice: fc.boolean(),
    coding: fc.constantFrom('chunked', 'Chunked', 'CHUNKED'),
    body: bodyBytes,
    cuts: fc.array(fc.nat({ max: 48 }), { maxLength: 4 }),
    exts: fc.array(chunkExt, { minLength: 6, maxLength: 6 }),
    upper: fc.boolean(),
    zeros: fc.nat({ max: 2 }),
    trailers: fc.array(field, { maxLength: 2 }),
    after: fc.constantFrom('', 'HTTP/1.1 200 OK\r\n', '\x00garbage'),
  })
  .map((m) => {
    const head = (extra: string[]) =>
      m.interim.join('') + statusLineOf(m.version, m.status, m.reason) + [...m.fields.map((f) => `${f.name}:${f.raw}`), ...extra].map((l) => `${l}\r\n`).join('') + '\r\n';
    const noBody = m.method === 'HEAD' || m.status === 204 || m.status === 304;
    let text: string;
    if (m.framing === 'length') {
      const cl = `Content-Length: ${'0'.repeat(m.lengthZeros)}${m.body.length}`;
      text = head(m.lengthTwice ? [cl, cl] : [cl]) + (noBody ? '' : m.body + m.after);
    } else if (m.framing === 'chunked') {
      const points = [...new Set(m.cuts.map((c) => Math.min(c, m.body.length)))].filter((c) => c > 0 && c < m.body.length).sort((a, b) => a - b);
      const pieces: string[] = [];
      let at = 0;
      for (const p of [...points, m.body.length]) {
        if (p > at) pieces.push(m.body.slice(at, p));
        at = p;
      }
      const chunks = pieces.map((p, i) => `${hexCase(p.length, m.upper, m.zeros)}${m.exts[i % 6]}\r\n${p}\r\n`).join('');
      const last = `${'0'.repeat(1 + m.zeros)}${m.exts[5]}\r\n${m.trailers.map((f) => `${f.name}:${f.raw}\r\n`).join('')}\r\n`;
      text = head([`Transfer-Encoding: ${m.coding}`]) + (noBody ? '' : chunks + last + m.after);
    } else {
      text = head([]) + (noBody ? '' : m.body);
    }
    const headers: Record<string, string> = {};
    for (const f of m.fields) if (!Object.hasOwn(headers, f.name.toLowerCase())) Object.defineProperty(headers, f.name.toLowerCase(), { value: f.value, enumerable: true, writable: true, configurable: true });
    if (m.framing === 'length' && !Object.hasOwn(headers, 'content-length')) headers['content-length'] = `${'0'.repeat(m.lengthZeros)}${m.body.length}`;
    if (m.framing === 'chunked') headers['transfer-encoding'] = m.coding;
    return {
      method: m.method,
      bytes: Buffer.from(text, 'latin1'),
      expected: { ok: true, status: m.status, headers, body: noBody ? '' : m.body } as Outcome,
    };
  });

/** One change to valid bytes: a byte inserted, dropped or replaced, a CRLF made LF, a cut. */
const mutated = fc
  .tuple(validResponse, fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'lf', 'cr', 'truncate'), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3b, 0x30, 0x78, 0x3a)))
  .map(([m, at, how, byte]) => {
    const b = m.bytes;
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    const s = b.toString('latin1');
    let out: string;
    switch (how) {
      case 'insert':
        out = s.slice(0, i) + String.fromCharCode(byte) + s.slice(i);
        break;
      case 'delete':
        out = s.slice(0, i) + s.slice(i + 1);
        break;
      case 'replace':
        out = s.slice(0, i) + String.fromCharCode(byte) + s.slice(i + 1);
        break;
      case 'lf':
      case 'cr': {
        const crlfs = [...s.matchAll(/\r\n/g)].map((x) => x.index);
        const k = crlfs.length ? crlfs[at % crlfs.length]! : 0;
        out = crlfs.length ? s.slice(0, k) + (how === 'lf' ? '\n' : '\r') + s.slice(k + 2) : s;
        break;
      }
      default:
        out = s.slice(0, i);
    }
    return { method: m.method, bytes: Buffer.from(out, 'latin1') };
  });

/** Grammar soup: a status line, then pieces of HTTP in any order. */
const soup = fc
  .tuple(
    fc.constantFrom('HTTP/1.1 200 OK\r\n', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n', 'HTTP/1.1 404 Not Found\r\n'),
    fc.array(
      fc.constantFrom('\r\n', '\n', '\r', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 3\r\n', 'Content-Length: 4\r\n', 'X: y\r\n', ' folded\r\n', '0', '1', 'a', 'F', 'x', ';', ';e=1', '="q"', ' ', '\t', 'abc', ':', 'HTTP/1.1 200 OK\r\n', '\x00'),
      { maxLength: 24 },
    ),
  )
  .map(([start, parts]) => ({ method: 'GET', bytes: Buffer.from(start + parts.join(''), 'latin1') }));

const cutsFor = (len: number) => fc.array(fc.nat({ max: Math.max(len, 1) }), { maxLength: 8 });
const TINY: ParserLimits = { maxHeadBytes: 120, maxFields: 3, maxInterim: 1, maxChunkLineBytes: 16, maxTrailerBytes: 30 };

describe('the raw-download HTTP/1.1 parser', function () {
  describe('against a reference decoder (fast-check)', function () {
    it('valid responses: the reference and the parser, cut anywhere, both give the model', function () {
      fc.assert(
        fc.property(validResponse.chain((m) => fc.tuple(fc.constant(m), cutsFor(m.bytes.length))), ([m, cuts]) => {
          expect(reference(m.bytes, m.method, DEFAULT_PARSER_LIMITS)).to.deep.equal(m.expected);
          expect(parse(m.bytes, cuts, m.method, DEFAULT_PARSER_LIMITS)).to.deep.equal(m.expected);
        }),
        { numRuns: 400 },
      );
    });

    it('one byte changed, dropped, added, a CRLF broken or the input cut: the parser agrees with the reference', function () {
      fc.assert(
        fc.property(mutated.chain((m) => fc.tuple(fc.constant(m), cutsFor(m.bytes.length))), ([m, cuts]) => {
          expect(parse(m.bytes, cuts, m.method, DEFAULT_PARSER_LIMITS)).to.deep.equal(reference(m.bytes, m.method, DEFAULT_PARSER_LIMITS));
        }),
        { numRuns: 1500 },
      );
    });

    it('grammar soup: the parser agrees with the reference', function () {
      fc.assert(
        fc.property(soup.chain((m) => fc.tuple(fc.constant(m), cutsFor(m.bytes.length))), ([m, cuts]) => {
          expect(parse(m.bytes, cuts, m.method, DEFAULT_PARSER_LIMITS)).to.deep.equal(reference(m.bytes, m.method, DEFAULT_PARSER_LIMITS));
        }),
        { numRuns: 1500 },
      );
    });

    it('small limits (head, fields, interim responses, chunk-size lines, trailers): the parser agrees with the reference', function () {
      fc.assert(
        fc.property(fc.oneof(validResponse, mutated).chain((m) => fc.tuple(fc.constant(m), cutsFor(m.bytes.length))), ([m, cuts]) => {
          expect(parse(m.bytes, cuts, m.method, TINY)).to.deep.equal(reference(m.bytes, m.method, TINY));
        }),
        { numRuns: 800 },
      );
    });
  });

  describe('what it refuses', function () {
    const body = (text: string, method = 'GET'): Outcome => parse(Buffer.from(text, 'latin1'), [], method, DEFAULT_PARSER_LIMITS);
    const ok = (b: string, headers: Record<string, string> = {}) => ({ ok: true, status: 200, headers, body: b });
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

    it('a chunk size that is not 1*HEXDIG (with optional extensions): "1x", "-1", " 1", "0x1", "1 ", none', function () {
      for (const size of ['1x', '-1', ' 1', '0x1', '1 ', '', '+1', '1;', '1;=a', '1;a="b']) expect(body(`${chunked}${size}\r\na\r\n0\r\n\r\n`), JSON.stringify(size)).to.deep.equal(FAIL);
      expect(body(`${chunked}1;a=b ;c="d\\"e"\r\na\r\n0\r\n\r\n`)).to.deep.equal(ok('a', { 'transfer-encoding': 'chunked' }));
      expect(body(`${chunked}0001\r\na\r\n0\r\n\r\n`)).to.deep.equal(ok('a', { 'transfer-encoding': 'chunked' }));
    });

    it('anything but CRLF after a chunk\'s data, and a bare LF or CR anywhere', function () {
      for (const tail of ['XY\r\n', '\n', '\r', '\rX\n', ' \r\n']) expect(body(`${chunked}5\r\nhello${tail}0\r\n\r\n`), JSON.stringify(tail)).to.deep.equal(FAIL);
      expect(body('HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\na')).to.deep.equal(FAIL);
      expect(body('HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\na')).to.deep.equal(FAIL);
      expect(body('HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 1\r\n\r\na')).to.deep.equal(FAIL);
      expect(body(`${chunked}1\n`)).to.deep.equal(FAIL);
    });

    it('skips 1xx interim responses (100 Continue, 103 Early Hints) and reads the final one; refuses 101', function () {
      expect(body('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')).to.deep.equal(ok('hi', { 'content-length': '2' }));
      expect(body('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')).to.deep.equal(FAIL);
      // only interim responses, then the end
      expect(body('HTTP/1.1 100 Continue\r\n\r\n')).to.deep.equal(FAIL);
      const many = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(DEFAULT_PARSER_LIMITS.maxInterim + 1);
      expect(body(`${many}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`)).to.deep.equal(FAIL);
    });

    it('framing that could be read two ways: Transfer-Encoding with Content-Length, two lengths, a length not all digits, another coding', function () {
      expect(body(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\na\r\n0\r\n\r\n`)).to.deep.equal(FAIL);
      expect(body('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')).to.deep.equal(FAIL);
      for (const v of ['1a', '-1', '+1', '1,1', '1 1', '0x1', '', '99999999999999999999']) expect(body(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\nab`), v).to.deep.equal(FAIL);
      for (const v of ['gzip', 'gzip, chunked', 'chunked, chunked', 'identity', '']) expect(body(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`), v).to.deep.equal(FAIL);
    });

    it('chunk sizes past Number.MAX_SAFE_INTEGER, however many leading zeros', function () {
      expect(body(`${chunked}20000000000000\r\na`)).to.deep.equal(FAIL);
      expect(body(`${chunked}ffffffffffffffffffffffff\r\na`)).to.deep.equal(FAIL);
      const parser = new HttpResponseParser('GET');
      expect(parser.feed(Buffer.from(`${chunked}${'0'.repeat(40)}1fffffffffffff\r\nab`, 'latin1')).map(String)).to.deep.equal(['ab']);
    });

    it('heads, fields, chunk-size lines and trailers past their bounds, folded and malformed fields, a bad status line', function () {
      const big = 'x'.repeat(DEFAULT_PARSER_LIMITS.maxHeadBytes);
      expect(body(`HTTP/1.1 200 OK\r\nX: ${big}\r\n\r\n`)).to.deep.equal(FAIL);
      expect(body(`HTTP/1.1 200 OK\r\n${'X: y\r\n'.repeat(DEFAULT_PARSER_LIMITS.maxFields + 1)}\r\n`)).to.deep.equal(FAIL);
      expect(body(`${chunked}1;${'a'.repeat(DEFAULT_PARSER_LIMITS.maxChunkLineBytes)}\r\na\r\n0\r\n\r\n`)).to.deep.equal(FAIL);
      expect(body(`${chunked}0\r\nX: ${'y'.repeat(DEFAULT_PARSER_LIMITS.maxTrailerBytes)}\r\n\r\n`)).to.deep.equal(FAIL);
      for (const f of [' X: y', 'X : y', 'X:\x01y', ':y', 'X y', 'Ä: y']) expect(body(`HTTP/1.1 200 OK\r\n${f}\r\nContent-Length: 0\r\n\r\n`), JSON.stringify(f)).to.deep.equal(FAIL);
      for (const l of ['HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'HTTP/2 200 OK', 'http/1.1 200 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200 O\x00K', 'ICY 200 OK']) expect(body(`${l}\r\nContent-Length: 0\r\n\r\n`), JSON.stringify(l)).to.deep.equal(FAIL);
    });

    it('keeps odd header names as own properties of the headers record', function () {
      const r = body('HTTP/1.1 200 OK\r\n__proto__: x\r\nconstructor: y\r\nContent-Length: 0\r\n\r\n');
      expect(r.ok && Object.keys(r.headers)).to.deep.equal(['__proto__', 'constructor', 'content-length']);
      expect(r.ok && Object.getPrototypeOf(r.headers)).to.equal(Object.prototype);
    });
  });

  describe('rawDownload over a unix socket', function () {
    let dir: string;
    let server: Server;
    let socketPath: string;
    let answer: (socket: Socket) => void;

    before(async function () {
      dir = await mkdtemp(join(tmpdir(), 'lxdkit-raw-dl-'));
      socketPath = join(dir, 'raw.socket');
      server = createServer((socket) => {
        socket.once('data', () => answer(socket));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    });
    after(async function () {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });

    /** Answers with `parts`, written one by one a tick apart, then closes. */
    const sends = (...parts: string[]) => (socket: Socket) => {
      let i = 0;
      const next = (): void => {
        if (i < parts.length) socket.write(Buffer.from(parts[i++]!, 'latin1'), () => setImmediate(next));
        else socket.end();
      };
      next();
    };

    async function download(): Promise<{ result?: Awaited<ReturnType<typeof rawDownload>>; error?: unknown; file: string }> {
      const file = join(dir, `out-${Math.random().toString(36).slice(2)}`);
      const fh = await open(file, 'w');
      try {
        return { result: await rawDownload({ socketPath, method: 'GET', path: '/1.0/x', headers: {} }, fh, AbortSignal.timeout(10_000)), file };
      } catch (error) {
        return { error, file };
      } finally {
        await fh.close();
      }
    }

    it('reads the final response after a 100 Continue, its body in the file', async function () {
      answer = sends('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe', 'llo\r\n0\r\n\r\n');
      const r = await download();
      expect(r.error).to.equal(undefined);
      expect(r.result).to.deep.include({ status: 200, bytes: 5 });
      expect(await readFile(r.file, 'latin1')).to.equal('hello');
    });

    it('refuses a chunk size "1x" and junk where the CRLF after a chunk belongs', async function () {
      for (const parts of [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '1x\r\na\r\n0\r\n\r\n'], ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello', 'XY\r\n0\r\n\r\n']]) {
        answer = sends(...parts);
        const r = await download();
        expect(r.error, parts.join('')).to.be.instanceOf(RawDownloadError);
        expect((r.error as RawDownloadError).reason).to.equal('malformed');
        expect((r.error as Error).message).to.match(/malformed chunked encoding/);
      }
    });

    it('a body read to the end of the connection is whole even when the end comes during a write', async function () {
      const big = 'z'.repeat(600 * 1024);
      answer = sends('HTTP/1.1 200 OK\r\n\r\n', big);
      const r = await download();
      expect(r.error).to.equal(undefined);
      expect(r.result).to.deep.include({ status: 200, bytes: big.length });
      expect((await readFile(r.file, 'latin1')).length).to.equal(big.length);
    });

    it('through the transport: a malformed response is LXD_ERR_INVALID_RESPONSE, a connection cut short LXD_ERR_CONNECTION', async function () {
      const transport = new Transport({ socketPath, logger: silentLogger, tuneWasmTiering: false });
      const fh = await open(join(dir, 'via-transport'), 'w');
      try {
        answer = sends('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\na\r\n0\r\n\r\n');
        const bad = await rejection(transport.requestToFile('GET', '/1.0/x', fh));
        expect(bad).to.be.instanceOf(LxdResponseValidationError);
        expect(bad.message).to.equal('GET /1.0/x: unexpected response from LXD at (root): malformed HTTP response: malformed chunked encoding: chunk-size line "1x"');
        // the same through undici (every other request): its parser's refusal is typed alike
        answer = sends('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\na\r\n0\r\n\r\n');
        const rest = await rejection(transport.request('GET', '/1.0/x'));
        expect(rest, String(rest)).to.be.instanceOf(LxdResponseValidationError);
        expect(rest.message).to.match(/^GET \/1\.0\/x: unexpected response from LXD at \(root\): malformed HTTP response: /);
        answer = sends('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
        const short = await rejection(transport.requestToFile('GET', '/1.0/x', fh));
        expect(short).to.be.instanceOf(LxdConnectionError);
        expect(short.message).to.contain('the connection closed after 3 of 10 bytes of the body');
      } finally {
        await fh.close();
        await transport.close();
      }
    });
  });
});
