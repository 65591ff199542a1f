/**
 * A strict reader of the XML subset the domain XML uses (elements, double- or single-quoted
 * attributes, text, the five entities and numeric references), written independently of
 * lib/container/kvm/xml.ts so that specs can check what a parser gets back from its output. It
 * throws on anything malformed: an unescaped `<` or `&`, a mismatched end tag, a duplicate attribute.
 * Attribute values are normalised as XML 1.0 says (a literal tab, newline or CR becomes a space).
 */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** The text directly inside the element (whitespace between child elements included). */
  text: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;

function decodeRefs(raw: string, at: number): string {
  return raw.replace(/&([^;]*);|&/g, (_m, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`bare & near offset ${at}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (ref in named) return named[ref]!;
    const num = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (!num) throw new Error(`unknown entity &${ref}; near offset ${at}`);
    return String.fromCodePoint(num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]));
  });
}

export function readXml(xml: string): XmlNode {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${i}: ${JSON.stringify(xml.slice(i, i + 20))}`);
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(xml);
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const skipWs = (): void => {
    while (i < xml.length && /[ \t\n\r]/.test(xml[i]!)) i++;
  };
  const element = (): XmlNode => {
    if (xml[i] !== '<') fail('expected <');
    i++;
    const node: XmlNode = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipWs();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return node;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const key = name();
      if (key in node.attrs) fail(`duplicate attribute ${key}`);
      if (xml[i] !== '=') fail('expected =');
      i++;
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") return fail('expected a quote');
      const end = xml.indexOf(quote, i + 1);
      if (end < 0) fail('unterminated attribute');
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) fail('< in an attribute value');
      node.attrs[key] = decodeRefs(raw.replace(/[\t\n\r]/g, ' '), i);
      i = end + 1;
    }
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) fail(`unterminated <${node.name}>`);
      node.text += decodeRefs(xml.slice(i, lt).replace(/\r\n?/g, '\n'), i);
      i = lt;
      if (xml.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== node.name) fail(`</${closing}> closes <${node.name}>`);
        skipWs();
        if (xml[i] !== '>') fail('expected >');
        i++;
        return node;
      }
      node.children.push(element());
    }
  };
  skipWs();
  const root = element();
  skipWs();
  if (i !== xml.length) fail('content after the root element');
  return root;
}

/** The first child named `name`. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}
