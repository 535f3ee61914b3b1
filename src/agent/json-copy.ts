/** Copies caller data once into plain, frozen-able JSON: every property read exactly once, accessors and non-JSON refused. */
import { isWellFormed, type JsonObject, type JsonValue } from '../compiler/index.js';
import { ParameterValidationError } from '../index.js';

const MAX_DEPTH = 64;

/** A plain JSON copy of `value` (read once). Throws `ParameterValidationError` naming the first bad place. */
export function plainCopy(value: unknown, action: string, pointer = '', depth = 0): JsonValue {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new ParameterValidationError(action, pointer, 'is not valid Unicode (a lone UTF-16 surrogate)');
      return value;
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new ParameterValidationError(action, pointer, `is ${String(value)}, which is not a JSON number`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) throw new ParameterValidationError(action, pointer, `nests deeper than ${MAX_DEPTH} levels (or contains a cycle)`);
      if (Array.isArray(value)) {
        const length = value.length;
        const out: JsonValue[] = new Array<JsonValue>(length);
        for (let i = 0; i < length; i++) out[i] = plainCopy(dataOf(value, String(i), action, `${pointer}/${i}`), action, `${pointer}/${i}`, depth + 1);
        return out;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new ParameterValidationError(action, pointer, 'is not a plain JSON object');
      const out: JsonObject = {};
      for (const key of Object.keys(value)) {
        if (!isWellFormed(key)) throw new ParameterValidationError(action, pointer, 'has a key that is not valid Unicode');
        const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const child = plainCopy(dataOf(value, key, action, at), action, at, depth + 1);
        Object.defineProperty(out, key, { value: child, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default:
      throw new ParameterValidationError(action, pointer, `is ${typeof value}, which is not JSON`);
  }
}

/** A plain JSON object copy of `value`. Throws `ParameterValidationError` when it is not an object. */
export function plainObject(value: unknown, action: string, pointer = ''): JsonObject {
  const copy = plainCopy(value, action, pointer);
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) throw new ParameterValidationError(action, pointer, 'must be an object');
  return copy;
}

/** The value of an own data property (an accessor is refused: it could answer differently each time). */
function dataOf(target: object, key: string, action: string, pointer: string): unknown {
  const d = Object.getOwnPropertyDescriptor(target, key);
  if (d === undefined) return undefined;
  if (!('value' in d)) throw new ParameterValidationError(action, pointer, 'is an accessor, not plain data');
  return d.value as unknown;
}
