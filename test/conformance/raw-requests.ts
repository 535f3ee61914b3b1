/**
 * Generated raw APE requests for the standalone tests (Rego, Cedar, XACML): values of each
 * parameter's schema, canonical ones (from the policy's operands) and hostile, non-canonical ones;
 * with `violations`, also values the schema or APE's JSON checks refuse (enum outsiders, strings
 * one code point too short or too long, pattern mismatches, bounds crossed, fractions for integers,
 * lone surrogates, nesting deeper than 64 levels, wrong nested types, null).
 */
import fc from 'fast-check';
import type { CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { ADVERSARIAL, actionsOf } from './cases.js';

/** What to generate besides schema-valid values. */
export interface RawRequestOptions {
  /** Values the action's schema (or APE's JSON checks) refuse, about one parameter in four. */
  violations?: boolean;
  /** A `context` with scalar and nested values no rule reads, some too deep or not valid Unicode. */
  context?: boolean;
}

/** `n` nested containers (arrays and objects in turn) around a string: APE refuses more than 64 levels below `params`. */
export function nested(n: number): JsonValue {
  let value: JsonValue = 'x';
  for (let i = 0; i < n; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

/** Depths on both sides of APE's limit, and beyond it up to what Cedar's JSON parser still reads. */
const DEPTHS = [2, 62, 63, 64, 65, 66, 80, 100];
/** Strings that are not valid Unicode (APE refuses them anywhere in a request). */
const LONE_SURROGATES = ['\ud800', 'a\udc00b', '\udfff\ud800', 'x\ud83d'];
/** Code units of one, two (astral) and several kinds, so that lengths in code points and in UTF-16 units differ. */
const UNITS = ['a', 'Z', 'é', '😀', '\n', ' ', '-', '\u2028', '1', '𝒳'];

const isObject = (v: JsonValue | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A string of exactly `length` code points. */
function stringOfLength(length: number): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...UNITS), { minLength: Math.max(0, length), maxLength: Math.max(0, length) }).map((a) => a.join(''));
}

/** Strings matching an ECMAScript pattern, when fast-check can generate them. */
function matching(pattern: string): fc.Arbitrary<string> | null {
  try {
    return fc.stringMatching(new RegExp(pattern, 'u'));
  } catch {
    return null;
  }
}

/** Values the JSON Schema keywords of `schema` accept or just miss (valid and invalid alike: native decides which). */
function keywordValues(schema: JsonObject): fc.Arbitrary<JsonValue>[] {
  const out: fc.Arbitrary<JsonValue>[] = [];
  const values = schema['const'] !== undefined ? [schema['const']] : Array.isArray(schema['enum']) ? schema['enum'] : null;
  if (values) {
    out.push(fc.constantFrom(...values));
    const outsiders = values.flatMap((v): JsonValue[] => (typeof v === 'string' ? [`${v}x`, v.toUpperCase(), v.slice(1), ''] : typeof v === 'number' ? [v + 1, -v, v + 0.5] : typeof v === 'boolean' ? [!v] : []));
    if (outsiders.length) out.push(fc.constantFrom(...outsiders));
  }
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : undefined;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : undefined;
  for (const n of [min, max]) if (n !== undefined) out.push(fc.integer({ min: Math.max(0, n - 1), max: n + 1 }).chain(stringOfLength));
  if (typeof schema['pattern'] === 'string') {
    const m = matching(schema['pattern']);
    if (m) out.push(m, m.map((s) => `${s}\n`), m.map((s) => `😀${s}`));
    out.push(fc.string({ unit: 'grapheme', maxLength: 8 }));
  }
  for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
    const bound = schema[k];
    if (typeof bound === 'number') out.push(fc.constantFrom(bound, bound + 1, bound - 1, bound + 0.5, bound - 0.5, bound + 1e-9, bound - 1e-9, -0, 0));
  }
  return out;
}

/** Values of a parameter's schema: canonical ones (from the policy's operands) and hostile, non-canonical ones of the right type. */
export function valueFor(schema: JsonObject, operands: string[], options: RawRequestOptions = {}): fc.Arbitrary<JsonValue> {
  const valid = validValue(schema, operands);
  if (!options.violations) return valid;
  const type = schema['type'];
  const wrong: fc.Arbitrary<JsonValue>[] = [
    fc.constantFrom(...LONE_SURROGATES),
    fc.constantFrom(...DEPTHS).map(nested),
    fc.constantFrom<JsonValue>(null, 7, 1.5, -1, 'text', true, [], {}),
    ...keywordValues(schema),
  ];
  if (type === 'object') wrong.push(fc.constantFrom<JsonValue>({ host: 5 }, { host: { a: 'b' } }, { host: null }, { host: 'ok', accept: ['x'] }, { host: '\ud800' }));
  if (type === 'array') wrong.push(fc.constantFrom<JsonValue>([5], [null], ['bob@example.com', {}], [['x']], ['\udc00']));
  return fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: fc.oneof(...wrong), weight: 1 });
}

function validValue(schema: JsonObject, operands: string[]): fc.Arbitrary<JsonValue> {
  const format = schema['format'];
  const type = schema['type'];
  const keyword = keywordValues(schema);
  const strings = (extra: readonly string[]) =>
    fc.oneof(fc.constantFrom(...extra, ...operands.map((o) => `${o}x`), ...operands), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), ...keyword);
  if (format === 'path') {
    const segment = fc.constantFrom('workspace', 'srv', 'app', 'tmp', 'build', 'data', 'etc', '..', '.', '', '.env', 'secrets', 'a.pem', 'WORKSPACE', 'x\u0000', 'project');
    return fc.oneof(strings(ADVERSARIAL.path as string[]), fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`));
  }
  if (format === 'url' || format === 'domain' || format === 'email' || format === 'ip') return strings(ADVERSARIAL[format] as string[]);
  if (type === 'string') return strings(ADVERSARIAL.string as string[]);
  if (type === 'integer') return fc.oneof(fc.nat(), fc.constantFrom(0, 1, 65536, 65537, 1048576, 1048577, 2 ** 53), ...keyword);
  if (type === 'number') return fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constantFrom(0, 0.5, 1e21, 1048576, 1048577, 7), ...keyword);
  if (type === 'boolean') return fc.boolean();
  if (type === 'array') return fc.array(fc.constantFrom('bob@example.com', 'eve@evil.io'), { maxLength: 25 });
  if (type === 'object') return fc.dictionary(fc.constantFrom('host', 'accept'), fc.string({ maxLength: 5 }), { maxKeys: 2 });
  const untyped: fc.Arbitrary<JsonValue>[] = [fc.string({ maxLength: 5 }), fc.constant({}), fc.constant([1]), ...keyword];
  return fc.oneof(...untyped);
}

/** A context no rule reads: scalars and shallow records, and with violations deep or ill-formed values. */
function contextValue(options: RawRequestOptions): fc.Arbitrary<Record<string, JsonValue> | undefined> {
  const plain = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant<JsonValue>({ a: { b: 1 } }));
  const value = options.violations ? fc.oneof({ arbitrary: plain, weight: 2 }, { arbitrary: fc.constantFrom(...DEPTHS).map(nested), weight: 1 }, { arbitrary: fc.constantFrom(...LONE_SURROGATES), weight: 1 }) : plain;
  return fc.option(fc.dictionary(fc.constantFrom('trace', 'note', 'extra'), value, { minKeys: 1, maxKeys: 2 }), { nil: undefined, freq: 2 });
}

/** Requests with hostile values (and, with `options.violations`, schema violations), for every action of the policy with a definition. */
export function rawRequests(policy: CompiledPolicy, count: number, seed: number, options: RawRequestOptions = {}): DecisionRequest[] {
  const operands = policy.ir.rules.flatMap((r) =>
    r.conditions.flatMap((c) => ('values' in c && Array.isArray(c.values) ? (c.values as unknown[]).filter((v): v is string => typeof v === 'string') : 'patterns' in c ? c.patterns.map((p) => p.replace(/\*/g, 'ab')) : [])),
  );
  const actions = actionsOf(policy).filter((a) => actionDefinition(policy.ir, a) !== undefined);
  const request = fc.constantFrom(...actions).chain((action) => {
    const schema = (actionDefinition(policy.ir, action) as { parameters: JsonObject }).parameters;
    const properties = (isObject(schema['properties']) ? schema['properties'] : {}) as Record<string, JsonValue>;
    const required = (Array.isArray(schema['required']) ? schema['required'] : []) as string[];
    const record = Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, valueFor(isObject(s) ? s : {}, operands, options)]));
    const params = fc.record(record, { requiredKeys: options.violations ? [] : required.filter((r) => r in record) });
    const context = options.context ? contextValue(options) : fc.constant(undefined);
    return fc.tuple(params, context).map(([p, c]) => {
      const out: DecisionRequest = { action, params: p as Record<string, unknown> };
      if (c !== undefined) out.context = c;
      return out;
    });
  });
  return fc.sample(request, { numRuns: count, seed });
}
