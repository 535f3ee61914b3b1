/** Copy-once of caller values: every value a caller hands the runtime is read exactly once into frozen plain JSON data. */
import { types } from 'node:util';
import type { JsonObject, JsonValue } from '../compiler/ir.js';
import { InputError } from './errors.js';
import { Labeled, isGenuineLabeled } from './provenance.js';

/** Deepest nesting accepted (a deeper value is refused, not a stack overflow). */
export const MAX_DEPTH = 64;
/** Most object keys and array items accepted in one value (all levels together). */
export const MAX_NODES = 100_000;

/** Options of `plainCopy`. */
export interface PlainOptions {
  /** Keep genuine `Labeled` wrappers (copied as new wrappers around copied values); refused otherwise. */
  labeled?: boolean;
}

/** A plain JSON value, possibly with `Labeled` wrappers inside (when the copy allowed them). */
export type PlainValue = JsonValue | Labeled<PlainValue>;

/**
 * Copies a caller value into fresh, deeply frozen JSON data, reading every property exactly once
 * through its descriptor: getters, proxies, symbols, sparse arrays, non-plain objects (Date, Map, class
 * instances), cycles, nesting deeper than `MAX_DEPTH`, non-finite numbers, lone surrogates and
 * `undefined` are refused with `InputError` (`where` names the value, the pointer the place).
 */
export function plainCopy(value: unknown, where: string, options: PlainOptions = {}): PlainValue {
  const labeled = options.labeled === true;
  // A copy this function made is deeply frozen plain data: copying it again would give the same data.
  // A copy without wrappers serves both modes; one with wrappers only a copy that allows them.
  if (typeof value === 'object' && value !== null && (strictCopies.has(value) || (labeled && labeledCopies.has(value)))) return value as PlainValue;
  const out = copy(value, where, [], 0, new Set<object>(), { nodes: 0 }, labeled);
  if (typeof out === 'object' && out !== null) (labeled ? labeledCopies : strictCopies).add(out);
  return out;
}

/** Top-level values `plainCopy` made without `labeled` (no wrappers inside), and with it. */
const strictCopies = new WeakSet<object>();
const labeledCopies = new WeakSet<object>();

/** `plainCopy` of a value that must be a JSON object (no wrappers). */
export function plainObject(value: unknown, where: string): Readonly<JsonObject> {
  const v = plainCopy(value, where);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InputError(where, '', 'must be an object');
  return v as JsonObject;
}

/**
 * Reads the named own data properties of a caller object once each (absent ones are undefined).
 * Refuses proxies, getters and non-objects with `InputError`; the values themselves are not copied.
 */
export function readFields<K extends string>(value: unknown, where: string, keys: readonly K[]): Partial<Record<K, unknown>> {
  if (value === null || typeof value !== 'object') throw new InputError(where, '', 'must be an object');
  if (types.isProxy(value)) throw new InputError(where, '', 'must not be a proxy');
  const out: Partial<Record<K, unknown>> = {};
  for (const key of keys) {
    const d = Object.getOwnPropertyDescriptor(value, key);
    if (d === undefined) continue;
    if (!('value' in d)) throw new InputError(where, `/${key}`, 'must be a data property (not a getter)');
    out[key] = d.value;
  }
  return out;
}

function fail(where: string, pointer: string, message: string): never {
  throw new InputError(where, pointer, message);
}

/**
 * The copy walk. `path` holds the keys down to `value` (pushed and popped on the way, so no
 * pointer text is built unless a refusal names the place).
 */
function copy(value: unknown, where: string, path: string[], depth: number, stack: Set<object>, budget: { nodes: number }, labeled: boolean): PlainValue {
  switch (typeof value) {
    case 'string':
      if (!wellFormed(value)) fail(where, pointerOf(path), 'contains a lone surrogate (not valid Unicode text)');
      return value;
    case 'number':
      if (!Number.isFinite(value)) fail(where, pointerOf(path), `is ${String(value)} (not a JSON number)`);
      return value;
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      fail(where, pointerOf(path), `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} (not JSON)`);
  }
  if (value === null) return null;
  if (types.isProxy(value)) fail(where, pointerOf(path), 'is a proxy (not plain data)');
  if (depth >= MAX_DEPTH) fail(where, pointerOf(path), `is nested deeper than ${MAX_DEPTH} levels`);
  if (stack.has(value)) fail(where, pointerOf(path), 'is cyclic');
  if (labeled && isGenuineLabeled(value)) {
    // A genuine wrapper is frozen with own data properties (see `Labeled`): reading them is stable.
    stack.add(value);
    const inner = copy(value.value, where, path, depth + 1, stack, budget, labeled);
    stack.delete(value);
    return new Labeled(inner, value.label);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  const isArray = Array.isArray(value);
  if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    fail(where, pointerOf(path), `is ${describe(value)} (not plain JSON data)`);
  }
  stack.add(value);
  const keys = Reflect.ownKeys(value);
  budget.nodes += keys.length;
  if (budget.nodes > MAX_NODES) fail(where, pointerOf(path), `has more than ${MAX_NODES} keys and items`);
  let out: PlainValue;
  if (isArray) {
    const items: PlainValue[] = [];
    const length = (Object.getOwnPropertyDescriptor(value, 'length') as PropertyDescriptor).value as number;
    if (keys.length !== length + 1) fail(where, pointerOf(path), 'is a sparse array or has extra properties');
    for (let i = 0; i < length; i++) {
      const key = String(i);
      const item = dataOf(value, key, where, path);
      path.push(key);
      items.push(copy(item, where, path, depth + 1, stack, budget, labeled));
      path.pop();
    }
    out = items as JsonValue[];
  } else {
    const obj: Record<string, PlainValue> = {};
    for (const key of keys) {
      if (typeof key === 'symbol') fail(where, pointerOf(path), 'has a symbol key (not JSON)');
      if (!wellFormed(key)) fail(where, pointerOf(path), 'has a key with a lone surrogate');
      const item = dataOf(value, key, where, path);
      path.push(key);
      const child = copy(item, where, path, depth + 1, stack, budget, labeled);
      path.pop();
      // defineProperty: a `__proto__` key stays an own data property, as JSON.parse makes it.
      Object.defineProperty(obj, key, { value: child, enumerable: true, writable: true, configurable: true });
    }
    out = obj as JsonObject;
  }
  stack.delete(value);
  return Object.freeze(out) as PlainValue;
}

/** The JSON pointer of a path of keys. */
function pointerOf(path: readonly string[]): string {
  return path.map((key) => `/${escape(key)}`).join('');
}

/** Whether a string is valid Unicode text (no lone surrogate). `String.prototype.isWellFormed` (Node 20). */
function wellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function dataOf(obj: object, key: string, where: string, path: readonly string[]): unknown {
  const d = Object.getOwnPropertyDescriptor(obj, key) as PropertyDescriptor;
  if (!('value' in d)) fail(where, pointerOf([...path, key]), 'is a getter (not plain data)');
  if (!d.enumerable) fail(where, pointerOf([...path, key]), 'is not enumerable (not plain data)');
  return d.value;
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describe(value: object): string {
  if (value instanceof Date) return 'a Date';
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (value instanceof Labeled) return 'a provenance wrapper where none is allowed';
  // Read through descriptors only: a getter on the prototype must not run.
  const proto = Object.getPrototypeOf(value) as object | null;
  const ctor = proto ? (Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown) : undefined;
  const name = typeof ctor === 'function' ? (Object.getOwnPropertyDescriptor(ctor, 'name')?.value as unknown) : undefined;
  return typeof name === 'string' && name ? `an instance of ${name}` : 'an object with a custom prototype';
}
