import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile, checkPolicyFile } from '../../src/compiler/compile.js';
import { simulate } from '../../src/compiler/simulate.js';
import { irJson } from '../../src/compiler/targets.js';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { actionsOf, COMPAT_DIR, POLICY_DIR } from '../conformance/cases.js';

const examplePolicies = readdirSync(POLICY_DIR).filter((f) => f.endsWith('.yaml')).sort();

// Their decisions are compared with the Python APE 1.0.2 itself, live, in test/compat.
describe('policies in the lists shape of the Python APE', () => {
  const listsShaped = readdirSync(COMPAT_DIR).filter((f) => f.endsWith('.yaml') && !readFileSync(join(COMPAT_DIR, f), 'utf8').includes('\nrules:'));
  it('are the five shaped like its examples', () => {
    expect(listsShaped).toHaveLength(5);
  });
  for (const file of listsShaped) {
    it(`${file}: the action-level simulation is the engine's decision (list rules read no parameters)`, () => {
      const policy = compilePolicyFile(join(COMPAT_DIR, file));
      const engine = new NativeEngine(policy.ir, policy.hash);
      for (const action of actionsOf(policy)) {
        expect(engine.decideSync({ action, facts: {} }).decision, action).toBe(simulate(policy.ir, action).decision);
      }
    });
  }
});

describe('example policies', () => {
  for (const file of examplePolicies) {
    it(`${file} validates without errors and decides its own examples`, () => {
      const { policy, diagnostics } = checkPolicyFile(join(POLICY_DIR, file));
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(policy).toBeDefined();
      expect(policy!.examples.length).toBeGreaterThan(0);
      const evaluator = new NativeEvaluator(policy!);
      for (const example of policy!.examples) {
        const result = evaluator.decideSync(example);
        expect({ name: example.name, decision: result.decision }).toEqual({ name: example.name, decision: example.expect });
        if (example.rule !== undefined) expect(result.rule).toBe(example.rule);
      }
    });
    it(`${file} compiles to its golden IR (regenerate with npx tsx scripts/gen-ir-fixtures.ts)`, () => {
      const policy = compilePolicyFile(join(POLICY_DIR, file));
      const golden = readFileSync(join(POLICY_DIR, '../test/fixtures/ir', file.replace(/\.yaml$/, '.json')), 'utf8');
      expect(irJson(policy)).toBe(golden);
    });
  }
  it('has the six policies the README documents', () => {
    expect(examplePolicies).toEqual([
      'development.yaml',
      'filesystem_scoped.yaml',
      'human_in_loop.yaml',
      'minimal_safe.yaml',
      'read_only.yaml',
      'scoped_access.yaml',
    ]);
  });
});

describe('policy hash', () => {
  it('is the sha256 of the canonical IR: stable across formatting, changed by semantics', async () => {
    const { compilePolicySource } = await import('../../src/compiler/compile.js');
    const a = compilePolicySource('name: p\nrules:\n  - {action: read_file, decision: allow}\n');
    const b = compilePolicySource('# comment\nname:   p\nrules:\n  - action: read_file\n    decision: allow\n');
    const c = compilePolicySource('name: p\nrules:\n  - {action: read_file, decision: escalate}\n');
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
  });
});
