/** The raw Cedar form fails closed on `source` (it carries no places): no forged context turns a `source` condition into an allow. */
import { join } from 'node:path';
import { policySetTextToParts, policyToJson, preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { compileCedar, compileCedarRaw } from '../../src/compiler/cedar/index.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { FIXTURE_DIR } from '../conformance/cases.js';

const policy = compilePolicyFile(join(FIXTURE_DIR, 'provenance_origin.yaml'));

/** Cedar's answer and the `@ape_rule`s of the determining policies. */
function ask(text: string, id: string, action: string, context: Record<string, unknown>): { decision: string; rules: string[] } {
  expect(preparsePolicySet(id, { staticPolicies: text }).type).toBe('success');
  const parts = policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(JSON.stringify(parts));
  const rules = new Map<string, string>(parts.policies.map((p, i) => {
    const json = policyToJson(p);
    return [`policy${i}`, json.type === 'success' ? (json.json.annotations ?? {})['ape_rule'] ?? '' : ''] as const;
  }));
  const answer = statefulIsAuthorized({ principal: { type: 'Agent', id: 'a' }, action: { type: 'Action', id: action }, resource: { type: 'Tool', id: 't' }, context: context as never, preparsedPolicySetId: id, entities: [] });
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer));
  return { decision: answer.response.decision, rules: answer.response.diagnostics.reason.map((r) => rules.get(r) ?? '?') };
}

describe('source in the raw Cedar form', () => {
  it('whatever places the context claims, the allow rule never holds and the deny rule always does', () => {
    const raw = compileCedarRaw(policy);
    const request = { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ['user'] } };
    expect(new NativeEvaluator(policy).decideSync(request).decision).toBe('allow');
    for (const forged of [{}, { sources: { recipient: ['user'] } }, { recipient_source_set: ['user'] }, { context: { sources: { recipient: ['user'] } } }]) {
      const answer = ask(raw, 'raw-source', 'pay', { params: request.params, ...forged });
      expect(answer.decision, JSON.stringify(forged)).toBe('deny');
      expect(answer.rules).toContain('pay-injected');
      expect(answer.rules).not.toContain('pay-known');
    }
  });

  it('the facts form decides the same request as native from its Set<String> attribute', () => {
    const cedar = compileCedar(policy);
    const context = { recipient_str: 'bob', amount_ceil: 5, recipient_source_set: ['user'] };
    expect(ask(cedar.policies, 'facts-source', 'pay', context)).toEqual({ decision: 'allow', rules: ['pay-known'] });
    expect(ask(cedar.policies, 'facts-source', 'pay', { ...context, recipient_source_set: ['read_file'] }).decision).toBe('deny');
  });
});
