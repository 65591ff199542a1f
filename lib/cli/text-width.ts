/**
 * How many terminal columns a string takes: a CJK character or an emoji takes two, a combining mark
 * or a zero-width character none, everything else one. Strings are split into grapheme clusters
 * (`Intl.Segmenter`), so a flag, a skin-toned or ZWJ emoji, or a letter with its accents counts once.
 */

/** East Asian Wide and Fullwidth ranges (Unicode's EastAsianWidth.txt, W and F) that are not emoji. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x16fe4], [0x17000, 0x18aff],
  [0x1b000, 0x1b2ff], [0x1f200, 0x1f2ff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

// made on first use: a regular expression of Unicode properties takes ~1 ms to make
let emoji: RegExp | undefined;
let zero: RegExp | undefined;
const EMOJI = (): RegExp => (emoji ??= /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator}{2}/u);
const ZERO = (): RegExp => (zero ??= /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]+$/u);

let segmenter: Intl.Segmenter | undefined;

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = WIDE[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The columns one grapheme cluster takes: 0, 1 or 2. */
function clusterWidth(g: string): number {
  if (ZERO().test(g)) return 0;
  if (EMOJI().test(g)) return 2;
  return isWide(g.codePointAt(0) ?? 0) ? 2 : 1;
}

/** The terminal columns `s` takes. */
export function displayWidth(s: string): number {
  // plain ASCII (most cells): one column a character
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let width = 0;
  for (const { segment } of segmenter.segment(s)) width += clusterWidth(segment);
  return width;
}

/** `s` followed by spaces up to `width` columns. */
export function padEndColumns(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** Spaces up to `width` columns, then `s`. */
export function padStartColumns(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(s))) + s;
}
