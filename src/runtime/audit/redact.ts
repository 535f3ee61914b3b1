/** Redaction of secrets and configured sensitive parameters before an audit event leaves the runtime. */
import type { JsonValue } from '../../compiler/ir.js';

/** Parameter names redacted by default (compared case-insensitively, at any depth). */
export const DEFAULT_SENSITIVE = ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie', 'credentials', 'private_key'];

/** The text that replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Builds a reason scrubber: every string (or number) found under a redacted key of `params` is
 * replaced by `[REDACTED]` wherever a reason quotes it (engines quote values in their reasons).
 */
export function reasonScrubber(names: readonly string[]): (reasons: readonly string[], params: JsonValue) => string[] {
  const keys = new Set(names.filter((n) => !n.includes('.')).map((n) => n.toLowerCase()));
  const paths = new Set(names.filter((n) => n.includes('.')));
  // Frozen parameters (a plan step's) cannot change: their pattern is computed once. A small object
  // without secrets is walked again instead (cheaper than recording every call's fresh parameters).
  const patterns = new WeakMap<object, RegExp | null>();
  const patternOf = (params: JsonValue): RegExp | null => {
    const frozen = params !== null && typeof params === 'object' && Object.isFrozen(params);
    if (frozen) {
      const known = patterns.get(params);
      if (known !== undefined) return known;
    }
    const secrets: string[] = [];
    let visited = 0;
    const collect = (node: JsonValue, path: string, hidden: boolean): void => {
      visited++;
      if (Array.isArray(node)) node.forEach((item, i) => collect(item, path ? `${path}.${i}` : String(i), hidden));
      else if (node !== null && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) {
          const childPath = path ? `${path}.${key}` : key;
          collect(child, childPath, hidden || keys.has(key.toLowerCase()) || paths.has(childPath));
        }
      } else if (hidden && (typeof node === 'string' || typeof node === 'number') && String(node).length > 0) secrets.push(String(node));
    };
    collect(params, '', false);
    const pattern = secrets.length === 0 ? null : new RegExp(secrets.sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    if (frozen && (pattern !== null || visited > SMALL_WALK)) patterns.set(params, pattern);
    return pattern;
  };
  return (reasons, params) => {
    if (reasons.length === 0) return reasons as string[];
    const pattern = patternOf(params);
    return pattern ? reasons.map((r) => r.replace(pattern, REDACTED)) : (reasons as string[]);
  };
}

/** Values walked at most to find no secret: below this, walking again costs less than recording the answer. */
const SMALL_WALK = 32;

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
