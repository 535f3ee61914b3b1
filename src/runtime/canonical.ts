/** Canonical JSON of the runtime's own plain data in one walk: the RFC 8785 text and whether the data already has canonical form. */
import type { JsonValue } from '../compiler/ir.js';

/** The canonical text of a value and whether parsing that text would give the value back as it is. */
export interface CanonicalForm {
  /** The RFC 8785 canonical JSON text: what `canonicalJson` answers for the same data. */
  text: string;
  /**
   * Whether `JSON.parse(text)` would build the same data in the same shape: every object's keys
   * already in canonical (code unit) order and no `-0`. Then the value can stand for its canonical copy.
   */
  canonical: boolean;
}

/**
 * The canonical form of plain JSON data (a `plainCopy`: only objects, arrays, strings without lone
 * surrogates, finite numbers, booleans and null; anything else is the caller's error). Strings and
 * numbers are written by `JSON.stringify` and keys sorted by code units, as RFC 8785 and the
 * `canonicalize` package do.
 */
export function canonicalForm(value: JsonValue): CanonicalForm {
  const state = { canonical: true };
  const text = write(value, state);
  return { text, canonical: state.canonical };
}

function write(value: JsonValue, state: { canonical: boolean }): string {
  if (value === null || typeof value !== 'object') {
    if (value === 0 && Object.is(value, -0)) state.canonical = false;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += write(value[i] as JsonValue, state);
    }
    return `${out}]`;
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      state.canonical = false;
      keys.sort();
      break;
    }
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += `${JSON.stringify(key)}:${write(value[key] as JsonValue, state)}`;
  }
  return `${out}}`;
}
