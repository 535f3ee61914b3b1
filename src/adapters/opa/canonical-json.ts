/**
 * JSON written the way OPA hashes structured bundle files (keys sorted bytewise, no spaces, Go's
 * string escaping without HTML escapes), so a signature computed over the text verifies in OPA.
 */
import type { JsonValue } from '../../compiler/ir.js';

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The canonical text of a JSON value, as OPA's bundle hasher walks it. */
export function opaCanonicalJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(opaCanonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort(byteOrder);
  return `{${keys.map((k) => `${goString(k)}:${opaCanonicalJson(value[k] as JsonValue)}`).join(',')}}`;
}
