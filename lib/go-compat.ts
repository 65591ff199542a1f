/**
 * Go's `%q` / `strconv.Quote` for log and error texts, so messages match Juju's byte for byte.
 */

// made on first use: a regular expression of Unicode properties takes ~1 ms to make
let printable: RegExp | undefined;
const PRINTABLE = (): RegExp => (printable ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u);

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * Quotes `s` the way Go's `strconv.Quote` (and so `fmt`'s `%q`) does: double quotes, backslash
 * escapes for `"`, `\` and control characters, `\xNN` for other C0 controls and DEL, `\uNNNN` /
 * `\UNNNNNNNN` for non-printable code points. Printable Unicode stays as it is.
 *
 * @example goQuote('Captain Marvel') // => '"Captain Marvel"'
 * @example goQuote('a\nb') // => '"a\\nb"'
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate cannot be encoded as UTF-8; Go would see U+FFFD.
      out += '\ufffd';
    } else if (PRINTABLE().test(ch)) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${hex(cp, 2)}`;
    } else if (cp < 0x10000) {
      out += `\\u${hex(cp, 4)}`;
    } else {
      out += `\\U${hex(cp, 8)}`;
    }
  }
  return `${out}"`;
}

const ATOI_SYNTAX = /^[+-]?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The error Go's `strconv.Atoi` returns, with Go's text (`strconv.Atoi: parsing "x": invalid syntax`). */
export class GoNumError extends Error {
  constructor(
    readonly input: string,
    readonly reason: 'invalid syntax' | 'value out of range',
  ) {
    super(`strconv.Atoi: parsing ${goQuote(input)}: ${reason}`);
    this.name = 'GoNumError';
  }
}

/**
 * Go's `strconv.Atoi` on a 64-bit platform: an optional sign then decimal digits, in int64 range.
 *
 * @example goAtoi('-12') // => -12
 * @throws GoNumError `strconv.Atoi: parsing "1.5": invalid syntax` / `…: value out of range`.
 */
export function goAtoi(s: string): number {
  if (!ATOI_SYNTAX.test(s)) throw new GoNumError(s, 'invalid syntax');
  const big = BigInt(s);
  if (big < INT64_MIN || big > INT64_MAX) throw new GoNumError(s, 'value out of range');
  return Number(big);
}
