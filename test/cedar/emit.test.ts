/**
 * The emitted Cedar is real Cedar: committed files are fresh, every policy set validates strictly
 * against its schema with no error or warning, Cedar's formatter leaves it unchanged, the two
 * schema forms agree, and the committed policy set (real forbid/permit effects) decides like native.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { encodeFact, type ContextValue } from '../../src/compiler/cedar/encoding.js';
import { cedarDiagnostics, compileCedar, CedarUnrepresentableError, type CedarSchemaJson } from '../../src/compiler/cedar/index.js';
import { PREVIOUS_ACTION } from '../../src/compiler/cedar/policies.js';
import { formatPolicies, preparsePolicySet, schemaToJsonWithResolvedTypes, statefulIsAuthorized, validate } from '../../src/compiler/cedar/wasm.js';
import { compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { CedarLiteralError, ident, likePattern, str, WILDCARD } from '../../src/compiler/cedar/writer.js';
import { generatedCedar } from '../../scripts/gen-cedar.js';
import { generatedInputs, requestInputs, suitePolicies } from '../conformance/cases.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const representable = suitePolicies().filter(({ policy }) => cedarDiagnostics(policy).length === 0);

function strict(schema: string | CedarSchemaJson, policies: Record<string, string> | string) {
  const answer = validate({ schema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (answer.type !== 'success') return { errors: answer.errors.map((e) => e.message), warnings: [] };
  return {
    errors: answer.validationErrors.map((e) => e.error.message),
    warnings: [...answer.validationWarnings.map((e) => e.error.message), ...answer.otherWarnings.map((e) => e.message)],
  };
}

describe('committed cedar/ files', () => {
  it('are what scripts/gen-cedar.ts generates now (run `npx tsx scripts/gen-cedar.ts` when this fails)', () => {
    for (const [path, content] of generatedCedar()) expect(readFileSync(join(ROOT, path), 'utf8'), path).toBe(content);
  });
});

describe('emitted Cedar is valid, formatted Cedar', () => {
  it('covers at least the representable example and seed policies', () => {
    expect(representable.length).toBeGreaterThanOrEqual(8);
  });
  for (const { name, policy } of representable) {
    it(`${name}: strict validation, formatter fixed point, schema forms agree`, () => {
      const cedar = compileCedar(policy);
      expect(strict(cedar.schemaText, cedar.policies)).toEqual({ errors: [], warnings: [] });
      const formatted = formatPolicies({ policyText: cedar.policies, lineWidth: 100, indentWidth: 2 });
      expect(formatted.type === 'success' ? formatted.formatted_policy : formatted.errors).toBe(cedar.policies);
      const resolved = schemaToJsonWithResolvedTypes(cedar.schemaText);
      // Cedar's resolver names the primitive `Bool` where the JSON schema format spells it `Boolean`.
      const resolvedJson = resolved.type === 'success' ? JSON.parse(JSON.stringify(resolved.json).replace(/"type":"Bool"/g, '"type":"Boolean"')) : resolved.errors;
      expect(resolvedJson).toEqual(cedar.schemaJson);
      const evaluation: Record<string, string> = {};
      for (const p of cedar.set.policies) {
        evaluation[`p${p.index}`] = p.evaluation.cedar;
        p.detectors.forEach((d, i) => (evaluation[`d${p.index}_${i}`] = d.cedar));
      }
      expect(strict(cedar.schemaText, evaluation)).toEqual({ errors: [], warnings: [] });
      expect(strict(cedar.schemaJson, cedar.policies)).toEqual({ errors: [], warnings: [] });
    });
  }
});

/** Cedar's own decision on the committed (real-effect) policy set, for an engine input. */
const compiledCache = new WeakMap<CompiledPolicy, ReturnType<typeof compileCedar>>();
function realDecision(policy: CompiledPolicy, setId: string, input: Parameters<NativeEngine['decideSync']>[0]): string {
  const cedar = compiledCache.get(policy) ?? compileCedar(policy);
  compiledCache.set(policy, cedar);
  const context: Record<string, ContextValue> = {};
  for (const attrs of cedar.set.layout.byAction.get(input.action) ?? []) encodeFact(context, attrs, input.facts[attrs.fact]);
  if (cedar.set.hasTransitions && input.previous_action !== undefined) context[PREVIOUS_ACTION] = input.previous_action;
  const answer = statefulIsAuthorized({
    principal: { type: 'Agent', id: 'agent' },
    action: { type: 'Action', id: input.action },
    resource: { type: 'Tool', id: 'tool' },
    context,
    preparsedPolicySetId: setId,
    entities: [],
  });
  if (answer.type !== 'success' || answer.response.diagnostics.errors.length) throw new Error(JSON.stringify(answer));
  return answer.response.decision;
}

describe('the committed policy set decides like native (forbid wins, escalate is a permit)', () => {
  for (const { name, policy } of representable) {
    it(name, () => {
      const setId = `test-real|${policy.hash}`;
      expect(preparsePolicySet(setId, { staticPolicies: compileCedar(policy).policies }).type).toBe('success');
      const native = new NativeEngine(policy.ir, policy.hash);
      const rules = new Map(policy.ir.rules.map((r) => [r.id, r.decision]));
      const wrong: unknown[] = [];
      for (const input of [...requestInputs(policy), ...generatedInputs(policy, 150)]) {
        const result = native.decideSync(input);
        const decisions = result.matched.map((id) => rules.get(id) ?? 'deny');
        const expected = decisions.includes('deny') || decisions.length === 0 ? 'deny' : 'allow';
        const actual = realDecision(policy, setId, input);
        if (actual !== expected) wrong.push({ input, native: result, cedar: actual });
        if (wrong.length >= 3) break;
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('what Cedar cannot express is a typed diagnostic, never a weaker policy', () => {
  const REGEX = `
name: with_regex
version: "1"
default_decision: deny
rules:
  - { id: ok, action: a, decision: allow, conditions: { p: { prefix: /w/ } } }
  - { id: commands, action: run, decision: deny, conditions: { command: { regex: "rm\\\\s+-rf" } } }
`;
  it('names the rule, the operator, the parameter and the target', () => {
    const policy = compilePolicySource(REGEX, 'with_regex.yaml');
    expect(cedarDiagnostics(policy)).toEqual([
      expect.objectContaining({ code: 'cedar-unrepresentable', target: 'cedar', rule: 'commands', operator: 'regex', path: 'command', file: 'with_regex.yaml' }),
    ]);
    expect(() => compileCedar(policy)).toThrow(CedarUnrepresentableError);
    try {
      compileCedar(policy);
    } catch (error) {
      expect((error as CedarUnrepresentableError).code).toBe('APE_TARGET_UNREPRESENTABLE');
      expect((error as Error).message).toContain("rule 'commands'");
      expect((error as Error).message).toContain("operator 'regex'");
    }
  });

  it('a string with no Cedar spelling (lone surrogate) is refused by the one quoting function', () => {
    expect(() => str('/x\ud800')).toThrow(CedarLiteralError);
    expect(() => likePattern(['\udc00', WILDCARD])).toThrow(CedarLiteralError);
  });

  it('quotes every literal and checks every identifier through one function each', () => {
    expect(str('a"b\\c\n日*\u202e').cedar).toBe('"a\\"b\\\\c\\u{a}\\u{65e5}*\\u{202e}"');
    expect(likePattern(['/a*b"', WILDCARD, '\\']).cedar).toBe('"/a\\*b\\"*\\\\"');
    for (const bad of ['has', 'like', 'a-b', '1a', '', 'a b', 'é']) expect(() => ident(bad), bad).toThrow(CedarLiteralError);
    expect(ident('path_str').cedar).toBe('path_str');
  });
});

describe('no policy value can inject Cedar', () => {
  it('quotes, backslashes, comment markers and policy syntax in operands stay inside one literal', () => {
    const hostile = `") || true }; permit (principal, action, resource); // \\\\" \\n /* *`;
    const policy = compilePolicySource(`
name: injection
version: "1"
default_decision: deny
rules:
  - id: evil
    action: a
    decision: allow
    conditions: { p: { prefix: ${JSON.stringify(hostile)} }, q: { allowlist: [${JSON.stringify(hostile)}] }, r: { equals: ${JSON.stringify(hostile)} } }
`, 'injection.yaml');
    const cedar = compileCedar(policy);
    expect(strict(cedar.schemaText, cedar.policies)).toEqual({ errors: [], warnings: [] });
    expect(cedar.policies.match(/^(permit|forbid) \(/gm)).toHaveLength(1);
    const native = new NativeEngine(policy.ir, policy.hash);
    const inputs = [{ action: 'a', facts: { p: hostile, q: hostile, r: hostile } }, { action: 'a', facts: { p: 'x', q: hostile, r: hostile } }];
    expect(inputs.map((i) => native.decideSync(i).decision)).toEqual(['allow', 'deny']);
    const setId = `test-injection|${policy.hash}`;
    expect(preparsePolicySet(setId, { staticPolicies: cedar.policies }).type).toBe('success');
    expect(inputs.map((i) => realDecision(policy, setId, i))).toEqual(['allow', 'deny']);
  });
});
