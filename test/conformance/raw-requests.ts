/** Generated raw APE requests for the standalone tests (Rego, Cedar, XACML): schema-valid, with canonical values from the policy's operands and hostile, non-canonical ones. */
import fc from 'fast-check';
import type { CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { ADVERSARIAL, actionsOf } from './cases.js';

/** Values of a schema's kind: canonical ones (from the policy's operands) and hostile, non-canonical ones. */
export function valueFor(schema: JsonObject, operands: string[]): fc.Arbitrary<JsonValue> {
  const format = schema['format'];
  const type = schema['type'];
  const strings = (extra: readonly string[]) =>
    fc.oneof(fc.constantFrom(...extra, ...operands.map((o) => `${o}x`), ...operands), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
  if (format === 'path') {
    const segment = fc.constantFrom('workspace', 'srv', 'app', 'tmp', 'build', 'data', 'etc', '..', '.', '', '.env', 'secrets', 'a.pem', 'WORKSPACE', 'x\u0000', 'project');
    return fc.oneof(strings(ADVERSARIAL.path as string[]), fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`));
  }
  if (format === 'url' || format === 'domain' || format === 'email' || format === 'ip') return strings(ADVERSARIAL[format] as string[]);
  if (type === 'string') return strings(ADVERSARIAL.string as string[]);
  if (type === 'integer') return fc.oneof(fc.nat(), fc.constantFrom(0, 1, 65536, 65537, 1048576, 1048577, 2 ** 53));
  if (type === 'number') return fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constantFrom(0, 0.5, 1e21, 1048576, 1048577, 7));
  if (type === 'boolean') return fc.boolean();
  if (type === 'array') return fc.array(fc.constantFrom('bob@example.com', 'eve@evil.io'), { maxLength: 25 });
  if (type === 'object') return fc.dictionary(fc.constantFrom('host', 'accept'), fc.string({ maxLength: 5 }), { maxKeys: 2 });
  const untyped: fc.Arbitrary<JsonValue>[] = [fc.string({ maxLength: 5 }), fc.constant({}), fc.constant([1])];
  return fc.oneof(...untyped);
}

/** Schema-valid requests with hostile values, for every action of the policy. */
export function rawRequests(policy: CompiledPolicy, count: number, seed: number): DecisionRequest[] {
  const operands = policy.ir.rules.flatMap((r) =>
    r.conditions.flatMap((c) => ('values' in c && Array.isArray(c.values) ? (c.values as unknown[]).filter((v): v is string => typeof v === 'string') : 'patterns' in c ? c.patterns.map((p) => p.replace(/\*/g, 'ab')) : [])),
  );
  const actions = actionsOf(policy).filter((a) => actionDefinition(policy.ir, a) !== undefined);
  const request = fc.constantFrom(...actions).chain((action) => {
    const schema = (actionDefinition(policy.ir, action) as { parameters: JsonObject }).parameters;
    const properties = (schema['properties'] ?? {}) as Record<string, JsonObject>;
    const required = (schema['required'] ?? []) as string[];
    const record = Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, valueFor(s, operands)]));
    return fc.record(record, { requiredKeys: required }).map((params) => ({ action, params: params as Record<string, unknown> }));
  });
  return fc.sample(request, { numRuns: count, seed });
}

