/**
 * A small XML writer for the libvirt domain XML: elements, attributes and text, every value escaped,
 * pretty-printed. Names are checked, and a value that XML 1.0 cannot carry at all (a control
 * character, a lone surrogate, U+FFFE/U+FFFF) is refused rather than written: libvirt would reject
 * the document, or read something else than what was meant.
 */

/** XML 1.0 `Char`, less nothing: tab, newline, carriage return and the rest of Unicode but the noncharacters and surrogates. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** The names this writer is asked for are ASCII; a name outside this set is a programming error. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A value XML cannot carry, or a name that is not an XML name. */
export class XmlValueError extends Error {
  override readonly name = 'XmlValueError';
}

function checkChars(what: string, value: string): void {
  const bad = NOT_XML_CHAR.exec(value);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    throw new XmlValueError(`${what} contains U+${cp.toString(16).toUpperCase().padStart(4, '0')}, which XML cannot carry`);
  }
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new XmlValueError(`"${name}" is not an XML name`);
}

/** Text content: `&`, `<` and `>` become references; `\r` too, which a parser would otherwise turn into `\n`. */
export function escapeText(value: string): string {
  checkChars('text', value);
  return value.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/**
 * An attribute value in double quotes: `&`, `<`, `>`, `"` become references, and so do tab, newline
 * and carriage return, which a parser would otherwise normalise to spaces.
 */
export function escapeAttribute(value: string): string {
  checkChars('attribute value', value);
  return value.replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case '\t': return '&#9;';
      case '\n': return '&#10;';
      default: return '&#13;';
    }
  });
}

/** An element: attributes in the order given, then either text or child elements. */
export class XmlElement {
  private readonly children: XmlElement[] = [];
  private text: string | undefined;
  private readonly attrs: readonly (readonly [string, string])[];

  constructor(readonly name: string, attrs: Readonly<Record<string, string>> = {}) {
    checkName(name);
    this.attrs = Object.entries(attrs);
    for (const [k, v] of this.attrs) {
      checkName(k);
      checkChars(`attribute ${k}`, v);
    }
  }

  /** Adds a child element and returns it. */
  ele(name: string, attrs?: Readonly<Record<string, string>>): XmlElement {
    if (this.text !== undefined) throw new XmlValueError(`<${this.name}> has text; it cannot have elements too`);
    const child = new XmlElement(name, attrs);
    this.children.push(child);
    return child;
  }

  /** Sets the element's text and returns the element. */
  txt(text: string): this {
    if (this.children.length > 0) throw new XmlValueError(`<${this.name}> has elements; it cannot have text too`);
    checkChars(`text of <${this.name}>`, text);
    this.text = text;
    return this;
  }

  /** The element and its descendants, one element a line, each level indented by `indent`. */
  render(indent = '    ', depth = 0): string {
    const pad = indent.repeat(depth);
    const open = `${this.name}${this.attrs.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('')}`;
    if (this.text !== undefined) return `${pad}<${open}>${escapeText(this.text)}</${this.name}>`;
    if (this.children.length === 0) return `${pad}<${open}/>`;
    const inner = this.children.map((c) => c.render(indent, depth + 1)).join('\n');
    return `${pad}<${open}>\n${inner}\n${pad}</${this.name}>`;
  }
}
