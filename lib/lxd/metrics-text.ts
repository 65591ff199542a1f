/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4, and the `# EOF` end of
 * OpenMetrics), as `GET /1.0/metrics` answers. The text is hostile: anything the format does not allow
 * (a bad name, an unknown escape, a label given twice, a value that is not a number, text after
 * `# EOF`) is refused with `LxdResponseValidationError` naming the line; label sets are objects
 * without a prototype, so a label called `__proto__` is only a label.
 */
import { LxdResponseValidationError } from './errors.js';

/** One sample: `name{labels} value [timestamp]`. */
export interface MetricSample {
  name: string;
  /** The labels (an object without a prototype). */
  labels: Record<string, string>;
  /** NaN, +Inf and -Inf included. */
  value: number;
  /** The sample's timestamp, as sent (milliseconds in the Prometheus format), when it has one. */
  timestamp?: number;
}

/** The metric types of a `# TYPE` line (Prometheus and OpenMetrics). */
export const MetricTypes = ['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'info', 'stateset', 'gaugehistogram'] as const;
/** One of `MetricTypes`. */
export type MetricType = (typeof MetricTypes)[number];

/** Metrics text, parsed: the samples, and each family's type and help. */
export interface ParsedMetrics {
  samples: MetricSample[];
  /** `# TYPE` of each metric family that has one. */
  types: Record<string, MetricType>;
  /** `# HELP` of each metric family that has one (unescaped). */
  help: Record<string, string>;
}

const TYPES = new Set<string>(MetricTypes);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF = /^[+-]?inf(?:inity)?$/i;

class ParseError extends Error {}

function fail(message: string): never {
  throw new ParseError(message);
}

/** a-z A-Z _ (and : for metric names) */
function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58);
}
function isNameChar(c: number, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= 48 && c <= 57);
}
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function parseValue(tok: string, what: string): number {
  if (NUMBER.test(tok)) return Number(tok);
  if (/^nan$/i.test(tok)) return NaN;
  if (INF.test(tok)) return tok.startsWith('-') ? -Infinity : Infinity;
  return fail(`${what} ${JSON.stringify(tok.slice(0, 40))} is not a number`);
}

/** A name (metric or label) starting at `i`; returns its end. */
function nameEnd(line: string, i: number, colon: boolean, what: string): number {
  if (i >= line.length || !isNameStart(line.charCodeAt(i), colon)) fail(`expected a ${what}`);
  let j = i + 1;
  while (j < line.length && isNameChar(line.charCodeAt(j), colon)) j++;
  return j;
}

function skipBlanks(line: string, i: number): number {
  while (i < line.length && isBlank(line.charCodeAt(i))) i++;
  return i;
}

function parseSample(line: string): MetricSample {
  let i = nameEnd(line, 0, true, 'metric name');
  const name = line.slice(0, i);
  const labels = Object.create(null) as Record<string, string>;
  const brace = skipBlanks(line, i);
  if (line.charCodeAt(brace) === 123 /* { */) {
    i = brace + 1;
    for (;;) {
      i = skipBlanks(line, i);
      if (line.charCodeAt(i) === 125 /* } */) {
        i++;
        break;
      }
      const start = i;
      i = nameEnd(line, i, false, 'label name');
      const label = line.slice(start, i);
      if (Object.prototype.hasOwnProperty.call(labels, label)) fail(`label "${label}" is given twice`);
      i = skipBlanks(line, i);
      if (line.charCodeAt(i) !== 61 /* = */) fail(`expected "=" after label "${label}"`);
      i = skipBlanks(line, i + 1);
      if (line.charCodeAt(i) !== 34 /* " */) fail(`the value of label "${label}" must be quoted`);
      i++;
      let value = '';
      let from = i;
      for (;;) {
        if (i >= line.length) fail(`the value of label "${label}" is not closed`);
        const c = line.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 /* \ */) {
          value += line.slice(from, i);
          const e = line.charCodeAt(i + 1);
          if (e === 92) value += '\\';
          else if (e === 34) value += '"';
          else if (e === 110) value += '\n';
          else fail(`the value of label "${label}" has an unknown escape`);
          i += 2;
          from = i;
          continue;
        }
        i++;
      }
      value += line.slice(from, i);
      labels[label] = value;
      i = skipBlanks(line, i + 1);
      const sep = line.charCodeAt(i);
      if (sep === 44 /* , */) i++;
      else if (sep !== 125) fail(`expected "," or "}" after label "${label}"`);
    }
  }
  const valueStart = skipBlanks(line, i);
  if (valueStart === i || valueStart >= line.length) fail(valueStart >= line.length ? `sample "${name}" has no value` : `expected a blank before the value of "${name}"`);
  let j = valueStart;
  while (j < line.length && !isBlank(line.charCodeAt(j))) j++;
  const value = parseValue(line.slice(valueStart, j), 'the value');
  const sample: MetricSample = { name, labels, value };
  const tsStart = skipBlanks(line, j);
  if (tsStart < line.length) {
    let k = tsStart;
    while (k < line.length && !isBlank(line.charCodeAt(k))) k++;
    const tok = line.slice(tsStart, k);
    if (!NUMBER.test(tok)) fail(`the timestamp ${JSON.stringify(tok.slice(0, 40))} is not a number`);
    sample.timestamp = Number(tok);
    if (skipBlanks(line, k) < line.length) fail(`unexpected text after the timestamp of "${name}"`);
  }
  return sample;
}

function unescapeHelp(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = text[++i];
    if (e === '\\') out += '\\';
    else if (e === 'n') out += '\n';
    else fail('the HELP text has an unknown escape');
  }
  return out;
}

function parseComment(line: string, out: ParsedMetrics): 'eof' | undefined {
  let i = skipBlanks(line, 1);
  let j = i;
  while (j < line.length && !isBlank(line.charCodeAt(j))) j++;
  const keyword = line.slice(i, j);
  if (keyword === 'EOF' && skipBlanks(line, j) === line.length) return 'eof';
  if ((keyword !== 'HELP' && keyword !== 'TYPE') || j === line.length) return undefined; // any other comment
  i = skipBlanks(line, j);
  const end = nameEnd(line, i, true, `metric name after # ${keyword}`);
  const name = line.slice(i, end);
  if (end < line.length && !isBlank(line.charCodeAt(end))) fail(`expected a metric name after # ${keyword}`);
  const rest = line.slice(skipBlanks(line, end));
  if (keyword === 'TYPE') {
    const type = rest.replace(/[ \t]+$/, '');
    if (!TYPES.has(type)) fail(`"${type.slice(0, 40)}" is not a metric type`);
    if (Object.prototype.hasOwnProperty.call(out.types, name)) fail(`# TYPE of "${name}" is given twice`);
    out.types[name] = type as MetricType;
  } else {
    if (Object.prototype.hasOwnProperty.call(out.help, name)) fail(`# HELP of "${name}" is given twice`);
    out.help[name] = unescapeHelp(rest);
  }
  return undefined;
}

/**
 * Parses a Prometheus text exposition (`GET /1.0/metrics`). Throws `LxdResponseValidationError`
 * (code `LXD_ERR_INVALID_RESPONSE`) at the first line the format does not allow.
 */
export function parseMetrics(text: string, method = 'GET', path = '/1.0/metrics'): ParsedMetrics {
  const out: ParsedMetrics = { samples: [], types: Object.create(null) as Record<string, MetricType>, help: Object.create(null) as Record<string, string> };
  if (typeof text !== 'string') throw new LxdResponseValidationError(method, path, [{ path: [], message: 'the metrics are not text' }]);
  let eof = false;
  let n = 0;
  let start = 0;
  try {
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const lead = skipBlanks(text, start);
      const line = lead >= end ? '' : text.slice(lead, end);
      start = end + 1;
      n++;
      if (line === '') continue;
      if (eof) fail('text after # EOF');
      if (line.charCodeAt(0) === 35 /* # */) {
        if (parseComment(line, out) === 'eof') eof = true;
        continue;
      }
      out.samples.push(parseSample(line));
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    throw new LxdResponseValidationError(method, path, [{ path: [`line ${n}`], message: err.message }]);
  }
  return out;
}
