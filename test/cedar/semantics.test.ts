/**
 * Cedar decides exactly like native on the edges where Cedar is treacherous: numbers (fractions,
 * negative zero, values past 2^53 and past 64 bits, non-integer constants), wrong types, absent
 * facts in deny rules (fail closed), `*` and quotes in literal operands, and Unicode.
 */
import { describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { CedarEngine } from '../../src/adapters/cedar/index.js';
import { keyParts } from '../../src/compiler/cedar/encoding.js';
import { compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import type { EngineInput, JsonValue } from '../../src/compiler/ir.js';
import { comparable } from '../conformance/run.js';

const NUMERIC = `
name: numeric_edges
version: "1"
default_decision: deny
rules:
  - { id: int-range, action: n, decision: allow, conditions: { x: { min: -3, max: 65537 } } }
  - { id: frac-range, action: n, decision: allow, conditions: { y: { min: 0.5, max: 1e300 } } }
  - { id: eq-int, action: n, decision: escalate, conditions: { x: { equals: 7 } } }
  - { id: eq-frac, action: n, decision: allow, conditions: { y: { equals: -2.25 } } }
  - { id: one-of-mixed, action: n, decision: allow, conditions: { z: { one_of: [1, "1", true, 9007199254740993, -0.0] } } }
  - { id: deny-big, action: n, decision: deny, conditions: { x: { min: 9007199254740992 } } }
  - { id: deny-neg, action: n, decision: deny, conditions: { y: { max: -1e-300 } } }
  - { id: deny-len, action: n, decision: deny, conditions: { s: { max_length: 3 } } }
`;

const STRINGS = `
name: string_edges
version: "1"
default_decision: deny
rules:
  - id: star-prefix
    action: s
    decision: allow
    conditions: { p: { prefix: ["/a*b/", "q\\"uote'\\\\"] } }
  - id: glob
    action: s
    decision: allow
    conditions: { g: { allowlist: ["*.ex*mple.com", "exact", "日本*", "tab\\tnew\\nline*"] } }
  - id: deny-star
    action: s
    decision: deny
    conditions: { d: { denylist: ["safe*"], suffix: ["*"] } }
  - id: eq-strings
    action: s
    decision: escalate
    conditions: { e: { equals: "é\\u202e\\u0000*" } }
`;

const NUMBERS: JsonValue[] = [
  0, -0, 1, -1, -3, -3.5, -2.999, 0.5, 0.49999999999999994, 0.5000000000000001, 7, 7.000000000000001, 6.999999999999999,
  65537, 65537.5, 65536.5, 65538, -2.25, -2.2500000000000004, 1e300, 1.0000000000000002e300, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2,
  2 ** 53 + 1, -(2 ** 53), 2 ** 63, -(2 ** 63), 1e21, 5e-324, -5e-324, -1e-300, -1e-300 * (1 + 2 ** -52), 1e-7,
];
const OTHERS: JsonValue[] = ['1', '7', 'x', true, false, null, [], [1], {}];

function compare(policy: CompiledPolicy, inputs: EngineInput[]): unknown[] {
  const native = new NativeEngine(policy.ir, policy.hash);
  const cedar = new CedarEngine(policy);
  const mismatches: unknown[] = [];
  for (const input of inputs) {
    const expected = comparable(native.decideSync(input));
    const actual = comparable(cedar.decideSync(input));
    if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push({ input, native: expected, cedar: actual });
  }
  return mismatches.slice(0, 5);
}

describe('cedar numbers are exact', () => {
  it('the order-preserving key orders doubles exactly like JavaScript', () => {
    const values = NUMBERS.filter((v): v is number => typeof v === 'number');
    const key = (v: number) => BigInt(keyParts(v).khi) * 2n ** 32n + BigInt(keyParts(v).klo);
    for (const a of values) for (const b of values) expect([a, b, key(a) < key(b)]).toEqual([a, b, a < b]);
    expect(keyParts(-0)).toEqual(keyParts(0));
  });

  it('min, max, equals and one_of decide like native on every edge value and wrong type', () => {
    const policy = compilePolicySource(NUMERIC, 'numeric_edges.yaml');
    const inputs: EngineInput[] = [{ action: 'n', facts: {} }];
    for (const v of [...NUMBERS, ...OTHERS]) {
      for (const fact of ['x', 'y', 'z', 's#length']) inputs.push({ action: 'n', facts: { [fact]: v } });
      inputs.push({ action: 'n', facts: { x: v, y: v, z: v, 's#length': v } });
    }
    expect(compare(policy, inputs)).toEqual([]);
  });
});

describe('cedar strings are literal', () => {
  it('quotes, backslashes, `*` and Unicode in operands match literally, like native', () => {
    const policy = compilePolicySource(STRINGS, 'string_edges.yaml');
    const values: JsonValue[] = [
      '/a*b/x', '/aXb/x', '/a*b', 'q"uote\'\\', 'q"uote\'\\rest', 'q"uote\'', 'www.ex*mple.com', 'www.example.com', 'a.exxmple.com',
      'exact', 'exactly', '日本語', '日本', 'tab\tnew\nline', 'tab\\tnew\\nline', 'safe', 'safe*', 'unsafe*', '*', '', 'é\u202e\u0000*',
      'é\u202e\u0000', 'é‮\u0000*', 5, null, ['*'],
    ];
    const inputs: EngineInput[] = [{ action: 's', facts: {} }];
    for (const v of values) {
      for (const fact of ['p', 'g', 'd', 'e']) inputs.push({ action: 's', facts: { [fact]: v } });
      inputs.push({ action: 's', facts: { p: v, g: v, d: v, e: v } });
    }
    expect(compare(policy, inputs)).toEqual([]);
  });
});
