/**
 * Cedar joins the shared conformance suite: every policy Cedar can express decides exactly like
 * native. Policies using `regex` are excluded (Cedar has no regular expressions; the target refuses
 * them with a diagnostic, tested in cli.test.ts); their regex-free variants run here instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { CedarEngine } from '../../src/adapters/cedar/index.js';
import { createEngine } from '../../src/adapters/registry.js';
import { cedarDiagnostics } from '../../src/compiler/cedar/index.js';
import { compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { COMPAT_DIR, FIXTURE_DIR, generatedInputs, POLICY_DIR, requestInputs, suitePolicies } from '../conformance/cases.js';
import { comparable, describeConformance, GENERATED_PER_POLICY } from '../conformance/run.js';

const exclude = (policy: CompiledPolicy) =>
  cedarDiagnostics(policy).length ? 'it uses regex, which Cedar cannot express (its regex-free variant runs below)' : undefined;

describeConformance('cedar', (policy) => createEngine('cedar', policy), { exclude });

// The same decisions when cedar-wasm also validates every request against the emitted schema:
// the request encoding always matches the schema.
describeConformance('cedar (requests validated against the schema)', (policy) => Promise.resolve(new CedarEngine(policy, { validateRequests: true })), {
  exclude,
  perPolicy: 150,
});

/** The policy text with every `regex` condition removed (a rule left with no condition keeps its actions). */
function withoutRegex(text: string): string {
  const doc = parse(text) as { rules: { conditions?: Record<string, Record<string, unknown>> }[] };
  for (const rule of doc.rules) {
    for (const [path, ops] of Object.entries(rule.conditions ?? {})) {
      delete ops['regex'];
      if (Object.keys(ops).length === 0) delete rule.conditions?.[path];
    }
  }
  return stringify(doc);
}

describe('conformance: cedar on regex-free variants of the excluded policies', () => {
  const excluded = suitePolicies().filter(({ policy }) => cedarDiagnostics(policy).length > 0);
  it('excludes exactly the policies that use regex', () => {
    const usesRegex = suitePolicies().filter(({ policy }) => policy.ir.rules.some((r) => r.conditions.some((c) => c.op === 'regex')));
    expect(excluded.map((p) => p.name)).toEqual(usesRegex.map((p) => p.name));
  });
  for (const { name, policy: original } of excluded) {
    it(`${name} without regex`, async () => {
      const dir = name.startsWith('fixtures/') ? FIXTURE_DIR : name.startsWith('policies/') ? POLICY_DIR : name.startsWith('compat/') ? COMPAT_DIR : null;
      if (dir === null) throw new Error(`no source folder for ${name}`);
      const policy = compilePolicySource(withoutRegex(readFileSync(join(dir, name.slice(name.indexOf('/') + 1)), 'utf8')), `${name}.no-regex.yaml`);
      expect(cedarDiagnostics(policy)).toEqual([]);
      expect(policy.ir.rules.length).toBe(original.ir.rules.length);
      const native = new NativeEngine(policy.ir, policy.hash);
      const engine = await createEngine('cedar', policy);
      const mismatches: unknown[] = [];
      for (const input of [...requestInputs(policy), ...generatedInputs(policy, GENERATED_PER_POLICY)]) {
        const expected = comparable(native.decideSync(input));
        const actual = comparable(await engine.decide(input));
        if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push({ input, native: expected, cedar: actual });
        if (mismatches.length >= 5) break;
      }
      await engine.close();
      expect(mismatches).toEqual([]);
    });
  }
});
