/** Redaction of secrets and configured sensitive parameters before an audit event leaves the runtime. */
import type { JsonValue } from '../../compiler/ir.js';

/** Parameter names redacted by default (compared case-insensitively, at any depth). */
export const DEFAULT_SENSITIVE = ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie', 'credentials', 'private_key'];

/** The text that replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/** Builds a redactor: keys named in `names` (any depth) or dotted `paths` (from the root) are replaced. */
export function redactor(names: readonly string[]): (value: JsonValue) => JsonValue {
  const keys = new Set(names.filter((n) => !n.includes('.')).map((n) => n.toLowerCase()));
  const paths = new Set(names.filter((n) => n.includes('.')));
  const walk = (node: JsonValue, path: string): JsonValue => {
    if (Array.isArray(node)) return node.map((item, i) => walk(item, path ? `${path}.${i}` : String(i)));
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, JsonValue> = {};
    for (const [key, child] of Object.entries(node)) {
      const childPath = path ? `${path}.${key}` : key;
      out[key] = keys.has(key.toLowerCase()) || paths.has(childPath) ? REDACTED : walk(child, childPath);
    }
    return out;
  };
  return (value) => walk(value, '');
}
