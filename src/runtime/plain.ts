/** Copy-once of caller values: every value a caller hands the runtime is read exactly once into frozen plain JSON data. */
import { types } from 'node:util';
import type { JsonObject, JsonValue } from '../compiler/ir.js';
import { InputError } from './errors.js';
import { createBrand } from './brand.js';
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
  if (reusable(copies.read(value), labeled)) return value as PlainValue;
  // The copy's top object is stamped with what the walk found, just before it is frozen (see `copy`).
  return copy(value, where, [], 0, [], { nodes: 0, height: 0, wrappers: false, stamp: true }, labeled);
}

/** A copy made by `copyOnce`, and whether it holds `Labeled` wrappers. */
export interface CopiedValue {
  readonly value: PlainValue;
  readonly wrappers: boolean;
}

/**
 * `plainCopy` of a value only the caller keeps (a plan envelope): the same walk and refusals, but the
 * copy is not recorded for reuse inside later values. An earlier `plainCopy` given is taken as it is.
 * @internal
 */
export function copyOnce(value: unknown, where: string, labeled: boolean): CopiedValue {
  const found = copies.read(value);
  if (reusable(found, labeled)) return { value: value as PlainValue, wrappers: found.wrappers };
  const walk: Walk = { nodes: 0, height: 0, wrappers: false, stamp: false };
  return { value: copy(value, where, [], 0, [], walk, labeled), wrappers: walk.wrappers };
}

/**
 * `plainCopy({ steps: [{ action, tool, parameters }] }, 'plan', { labeled: true })`, the plan of one
 * call, without walking the three objects it builds itself: the same frozen data, stamped with what
 * that walk would find. `parameters` is taken as `plainCopy` takes it inside a value (an earlier copy
 * as it is, within the limits); anything else (a parameters object that is not a copy, a name that is
 * not well-formed text, the limits reached) goes through `plainCopy` and its refusals.
 */
export function plainCallPlan(action: unknown, tool: unknown, parameters: unknown): PlainValue {
  const found = copies.read(parameters);
  // What the walk counts: `steps` (1), the array's index and length (2), the step's three keys (3); the parameters sit at depth 3.
  const nodes = 6 + (found?.nodes ?? 0);
  const height = 3 + (found?.height ?? 0);
  if (
    found === undefined ||
    typeof action !== 'string' ||
    typeof tool !== 'string' ||
    !wellFormed(action) ||
    !wellFormed(tool) ||
    height >= MAX_DEPTH ||
    nodes > MAX_NODES
  ) {
    return plainCopy({ steps: [{ action, tool, parameters }] }, 'plan', { labeled: true });
  }
  const plan = { steps: Object.freeze([Object.freeze({ action, tool, parameters: parameters as PlainValue })]) };
  copies.mark(plan, { nodes, height, wrappers: found.wrappers });
  return Object.freeze(plan) as unknown as PlainValue;
}

/** What a copy's walk found: its keys and items (all levels), its deepest object below the top, whether it holds wrappers. */
interface Found {
  readonly nodes: number;
  readonly height: number;
  readonly wrappers: boolean;
}

/** A walk in progress: what it found so far, and whether its top object is stamped as a reusable copy. */
interface Walk {
  nodes: number;
  height: number;
  wrappers: boolean;
  stamp: boolean;
}

/**
 * Top objects and arrays `plainCopy` made (deeply frozen, read from nothing but its own walk), stamped
 * with what their walk found: a copy inside a later value is taken as it is (see `copy`) within the same limits.
 */
const copies = createBrand<Found>();

function reusable(found: Found | undefined, labeled: boolean): found is Found {
  return found !== undefined && (labeled || !found.wrappers);
}

/** Whether a value is a copy `plainCopy` made without any `Labeled` wrapper inside: deeply frozen plain JSON data. */
export function isPlainCopy(value: unknown): value is JsonValue {
  const found = copies.read(value);
  return found !== undefined && !found.wrappers;
}

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
function copy(value: unknown, where: string, path: string[], depth: number, stack: object[], budget: Walk, labeled: boolean): PlainValue {
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
  // An earlier copy (frozen plain data) inside this value is taken as it is when it fits in the limits
  // here; otherwise the walk below reads it again and names the place that breaks them.
  const earlier = copies.read(value);
  if (reusable(earlier, labeled) && depth + earlier.height < MAX_DEPTH && budget.nodes + earlier.nodes <= MAX_NODES) {
    budget.nodes += earlier.nodes;
    if (depth + earlier.height > budget.height) budget.height = depth + earlier.height;
    if (earlier.wrappers) budget.wrappers = true;
    return value as PlainValue;
  }
  if (types.isProxy(value)) fail(where, pointerOf(path), 'is a proxy (not plain data)');
  if (depth >= MAX_DEPTH) fail(where, pointerOf(path), `is nested deeper than ${MAX_DEPTH} levels`);
  // The objects being copied above this one (at most MAX_DEPTH): a value among them is a cycle.
  if (stack.includes(value)) fail(where, pointerOf(path), 'is cyclic');
  if (depth > budget.height) budget.height = depth;
  if (labeled && isGenuineLabeled(value)) {
    // A genuine wrapper is frozen with own data properties (see `Labeled`): reading them is stable.
    budget.wrappers = true;
    stack.push(value);
    const inner = copy(value.value, where, path, depth + 1, stack, budget, labeled);
    stack.pop();
    return new Labeled(inner, value.label);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  const isArray = Array.isArray(value);
  if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    fail(where, pointerOf(path), `is ${describe(value)} (not plain JSON data)`);
  }
  stack.push(value);
  // The own keys as `Reflect.ownKeys` lists them (string keys, then symbols), fetched in two cheaper calls for an object.
  const names = isArray ? Reflect.ownKeys(value) : Object.getOwnPropertyNames(value);
  const symbols = isArray ? NO_SYMBOLS : Object.getOwnPropertySymbols(value);
  budget.nodes += names.length + symbols.length;
  if (budget.nodes > MAX_NODES) fail(where, pointerOf(path), `has more than ${MAX_NODES} keys and items`);
  let out: PlainValue;
  if (isArray) {
    const keys = names;
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
    for (const key of names as string[]) {
      if (!wellFormed(key)) fail(where, pointerOf(path), 'has a key with a lone surrogate');
      const item = dataOf(value, key, where, path);
      path.push(key);
      const child = copy(item, where, path, depth + 1, stack, budget, labeled);
      path.pop();
      // defineProperty for `__proto__`: it stays an own data property, as JSON.parse makes it (an assignment would set the prototype).
      if (key === '__proto__') Object.defineProperty(obj, key, { value: child, enumerable: true, writable: true, configurable: true });
      else obj[key] = child;
    }
    if (symbols.length > 0) fail(where, pointerOf(path), 'has a symbol key (not JSON)');
    out = obj as JsonObject;
  }
  stack.pop();
  // The top of a plainCopy: stamped before it is frozen, with the whole walk's findings.
  if (depth === 0 && budget.stamp) copies.mark(out, { nodes: budget.nodes, height: budget.height, wrappers: budget.wrappers });
  return Object.freeze(out) as PlainValue;
}

const NO_SYMBOLS: readonly symbol[] = Object.freeze([]);

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
