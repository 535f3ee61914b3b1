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
import { STANDARD_ACTION_IDS } from '../../src/compiler/repository.js';
import { policySetTextToParts, policyToJson } from '@cedar-policy/cedar-wasm/nodejs';

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
  it('every schema declares every action of the repository (standard and the policy\'s own)', () => {
    for (const { policy } of representable) {
      const declared = Object.keys(compileCedar(policy).schemaJson[''].actions);
      for (const id of [...STANDARD_ACTION_IDS, ...Object.keys(policy.ir.actions)]) expect(declared, `${policy.ir.name}: ${id}`).toContain(id);
    }
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

/** The `@ape_decision` annotation of each policy of a set, by Cedar's policy id, read with Cedar's own API. */
function decisionAnnotations(text: string): Map<string, string> {
  const parts = policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(JSON.stringify(parts));
  const out = new Map<string, string>();
  parts.policies.forEach((policyText, i) => {
    const json = policyToJson(policyText);
    if (json.type !== 'success') throw new Error(JSON.stringify(json));
    out.set(`policy${i}`, (json.json.annotations ?? {})['ape_decision'] ?? '');
  });
  return out;
}

/**
 * Cedar's own answer on the committed (real-effect) policy set for an engine input, read as the
 * documentation says: Allow is allow; Deny is escalate when every determining policy is annotated
 * `@ape_decision("escalate")`, else deny.
 */
const compiledCache = new WeakMap<CompiledPolicy, { cedar: ReturnType<typeof compileCedar>; notes: Map<string, string> }>();
function realDecision(policy: CompiledPolicy, setId: string, input: Parameters<NativeEngine['decideSync']>[0]): string {
  const cached = compiledCache.get(policy) ?? { cedar: compileCedar(policy), notes: new Map<string, string>() };
  if (cached.notes.size === 0) cached.notes = decisionAnnotations(cached.cedar.policies);
  compiledCache.set(policy, cached);
  const { cedar, notes } = cached;
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
  if (answer.response.decision === 'allow') return 'allow';
  const reasons = answer.response.diagnostics.reason;
  return reasons.length > 0 && reasons.every((id) => notes.get(id) === 'escalate') ? 'escalate' : 'deny';
}

describe('the committed policy set, read as documented, gives native\'s three outcomes (escalate never Allow)', () => {
  for (const { name, policy } of representable) {
    it(name, () => {
      const setId = `test-real|${policy.hash}`;
      expect(preparsePolicySet(setId, { staticPolicies: compileCedar(policy).policies }).type).toBe('success');
      const native = new NativeEngine(policy.ir, policy.hash);
      const wrong: unknown[] = [];
      const inputs = [...requestInputs(policy), ...generatedInputs(policy, 150)];
      for (const action of STANDARD_ACTION_IDS) inputs.push({ action, facts: {} });
      for (const input of inputs) {
        const expected = native.decideSync(input).decision;
        const actual = realDecision(policy, setId, input);
        if (actual !== expected) wrong.push({ input, native: expected, cedar: actual });
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

describe('source: a Set<String> context attribute and containsAny', () => {
  it('declares <fact>_set as an optional Set<String>, tests it with containsAny, and sends only lists of strings', () => {
    const policy = compilePolicySource('name: s\nversion: "1"\nrules:\n  - { id: r, action: pay, decision: allow, conditions: { to: { source: [user, get_contacts] } } }\n', 's.yaml');
    const cedar = compileCedar(policy);
    expect(cedar.policies).toContain('context has to_source_set && context.to_source_set.containsAny(["user", "get_contacts"])');
    expect(cedar.schemaText).toContain('to_source_set?: Set<String>');
    expect(cedar.schemaJson[''].actions['pay']?.appliesTo.context).toEqual({ type: 'Record', attributes: { to_source_set: { type: 'Set', element: { type: 'String' }, required: false } } });
    const attrs = cedar.set.layout.byFact.get('to#source');
    expect(attrs).toBeDefined();
    const encode = (value: Parameters<typeof encodeFact>[2]) => {
      const context: Record<string, ContextValue> = {};
      encodeFact(context, attrs as NonNullable<typeof attrs>, value);
      return context;
    };
    expect(encode(['user', 'x'])).toEqual({ to_source_set: ['user', 'x'] });
    expect(encode([])).toEqual({ to_source_set: [] });
    for (const wrong of ['user', ['user', 1], [['user']], null, 3]) expect(encode(wrong)).toEqual({});
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
    conditions: { p: { prefix: ${JSON.stringify(hostile)} }, q: { allowlist: [${JSON.stringify(hostile)}] }, r: { equals: ${JSON.stringify(hostile)} }, s: { source: [${JSON.stringify(hostile)}] } }
`, 'injection.yaml');
    const cedar = compileCedar(policy);
    expect(strict(cedar.schemaText, cedar.policies)).toEqual({ errors: [], warnings: [] });
    // The rule and the default decision: nothing else.
    expect(cedar.policies.match(/^(permit|forbid) \(/gm)).toEqual(['permit (', 'forbid (']);
    const native = new NativeEngine(policy.ir, policy.hash);
    const inputs = [{ action: 'a', facts: { p: hostile, q: hostile, r: hostile, 's#source': [hostile] } }, { action: 'a', facts: { p: 'x', q: hostile, r: hostile, 's#source': [hostile] } }];
    expect(inputs.map((i) => native.decideSync(i).decision)).toEqual(['allow', 'deny']);
    const setId = `test-injection|${policy.hash}`;
    expect(preparsePolicySet(setId, { staticPolicies: cedar.policies }).type).toBe('success');
    expect(inputs.map((i) => realDecision(policy, setId, i))).toEqual(['allow', 'deny']);
  });
});
