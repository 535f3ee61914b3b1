import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { ApeError } from '../../src/errors.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { generatedInputs, suitePolicies } from '../conformance/cases.js';

const policies = suitePolicies();

describe('property: the evaluator never allows what no allow rule covers', () => {
  for (const { name, policy } of policies) {
    it(name, () => {
      const engine = new NativeEngine(policy.ir, policy.hash);
      const rules = new Map(policy.ir.rules.map((r) => [r.id, r]));
      for (const input of generatedInputs(policy, 500, 7)) {
        const result = engine.decideSync(input);
        const anyDenyMatched = result.matched.some((id) => rules.get(id)?.decision === 'deny');
        if (anyDenyMatched) expect(result.decision).toBe('deny');
        if (result.decision !== 'allow') continue;
        if (result.rule === null) {
          expect(policy.ir.defaultDecision).toBe('allow');
          expect(result.matched.every((id) => rules.get(id)?.decision === 'allow')).toBe(true);
        } else {
          const rule = rules.get(result.rule);
          expect(rule?.decision).toBe('allow');
          expect(rule?.actions).toContain(input.action);
          expect(result.matched).toContain(result.rule);
        }
        expect(policy.ir.riskEscalations.some((r) => r.action === input.action)).toBe(false);
      }
    });
  }
});

describe('property: arbitrary parameters never crash the evaluator', () => {
  for (const { name, policy } of policies.slice(0, 6)) {
    it(`${name}: a decision or a typed error, for any JSON and any JS value`, () => {
      const evaluator = new NativeEvaluator(policy);
      const actions = [...new Set(policy.ir.rules.flatMap((r) => r.actions)), 'read_file', 'unknown_action'];
      fc.assert(
        fc.property(fc.constantFrom(...actions), fc.oneof(fc.jsonValue(), fc.anything()), fc.dictionary(fc.string(), fc.anything()), (action, value, extra) => {
          for (const params of [{ path: value, url: value, size: value, ...extra }, { ...extra }, value]) {
            try {
              const result = evaluator.decideSync({ action, params: params as Record<string, unknown> });
              expect(['allow', 'deny', 'escalate']).toContain(result.decision);
            } catch (error) {
              expect(error).toBeInstanceOf(ApeError);
            }
          }
        }),
        { numRuns: 300, seed: 11 },
      );
    });
  }
});
