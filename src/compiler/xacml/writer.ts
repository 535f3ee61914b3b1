/** The typed XML writer of the XACML target: every attribute value and text goes through `escapeXml`. */

/** A fragment of XML built by this module (never a raw string from policy data). */
export interface Xml {
  readonly xml: string;
}

/** Thrown when a value has no XML 1.0 spelling (a C0 control other than tab/LF/CR, U+FFFE/U+FFFF, a lone surrogate). */
export class XmlLiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlLiteralError';
  }
}

/**
 * The one escaping function: markup characters become entities, tab/LF/CR become character
 * references (so attribute-value and line-end normalization leave them intact), and characters
 * XML 1.0 cannot carry at all are refused.
 */
export function escapeXml(value: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '&':
        out += '&amp;';
        continue;
      case '<':
        out += '&lt;';
        continue;
      case '>':
        out += '&gt;';
        continue;
      case '"':
        out += '&quot;';
        continue;
      case "'":
        out += '&apos;';
        continue;
      case '\t':
        out += '&#x9;';
        continue;
      case '\n':
        out += '&#xA;';
        continue;
      case '\r':
        out += '&#xD;';
        continue;
    }
    if (cp < 0x20) throw new XmlLiteralError(`U+${cp.toString(16).toUpperCase().padStart(4, '0')} cannot be written in XML 1.0`);
    if (cp >= 0xd800 && cp <= 0xdfff) throw new XmlLiteralError('a string with a lone UTF-16 surrogate has no XML spelling');
    if (cp === 0xfffe || cp === 0xffff) throw new XmlLiteralError(`U+${cp.toString(16).toUpperCase()} cannot be written in XML 1.0`);
    // Non-ASCII is written as a character reference: the file stays ASCII, no bidi or invisible character shows up raw.
    out += cp > 0x7e ? `&#x${cp.toString(16).toUpperCase()};` : ch;
  }
  return out;
}

/** Whether `value` can be written by `escapeXml`. */
export function isXmlWritable(value: string): boolean {
  try {
    escapeXml(value);
    return true;
  } catch {
    return false;
  }
}

/** An element with escaped attribute values; `null` children are left out. */
export function element(name: string, attributes: Record<string, string | undefined>, children: readonly (Xml | null)[] = []): Xml {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new XmlLiteralError(`'${name}' is not an element name this writer emits`);
  const attrs = Object.entries(attributes)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const body = children.filter((c): c is Xml => c !== null);
  if (body.length === 0) return { xml: `<${name}${attrs}/>` };
  return { xml: `<${name}${attrs}>${body.map((c) => c.xml).join('')}</${name}>` };
}

/** An element holding escaped text. */
export function textElement(name: string, attributes: Record<string, string | undefined>, text: string): Xml {
  const open = element(name, attributes).xml.slice(0, -2);
  return { xml: `${open}>${escapeXml(text)}</${name}>` };
}

/** A comment (`--` is broken up so the comment cannot end early). */
export function comment(text: string): Xml {
  return { xml: `<!-- ${escapeXml(text).replace(/-(?=-)/g, '- ')} -->` };
}

/** Indents a serialized document: one element per line, two spaces per level (text content is left untouched). */
export function indent(doc: Xml): string {
  const tokens = doc.xml.match(/<!--[\s\S]*?-->|<\/?[^>]+>|[^<]+/g) ?? [];
  const lines: string[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token.startsWith('</')) {
      depth--;
      lines.push(`${'  '.repeat(depth)}${token}`);
    } else if (token.startsWith('<!--') || token.endsWith('/>')) {
      lines.push(`${'  '.repeat(depth)}${token}`);
    } else if (token.startsWith('<')) {
      const next = tokens[i + 1];
      const close = tokens[i + 2];
      if (next !== undefined && !next.startsWith('<') && close !== undefined && close.startsWith('</')) {
        lines.push(`${'  '.repeat(depth)}${token}${next}${close}`);
        i += 2;
      } else {
        lines.push(`${'  '.repeat(depth)}${token}`);
        depth++;
      }
    } else {
      lines.push(`${'  '.repeat(depth)}${token}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
