/**
 * Conformance: `opa eval` on the emitted Rego decides exactly like native. One `opa eval` per policy
 * decides all of its suite inputs at once (they go in as data; the query maps each through `with input as`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionEngine } from '../../src/adapters/engine.js';
import { runOpa } from '../../src/adapters/opa/cli.js';
import { toDecisionResult, OpaUndefinedDecisionError } from '../../src/adapters/opa/decision.js';
import type { CompiledPolicy } from '../../src/compiler/compile.js';
import type { DecisionResult, EngineInput } from '../../src/compiler/ir.js';
import { emitRego } from '../../src/compiler/rego/index.js';
import { conformanceSuite } from '../conformance/cases.js';
import { describeConformance, GENERATED_PER_POLICY } from '../conformance/run.js';
import { tempDir } from './helpers.js';

const temp = tempDir();
const suite = conformanceSuite(GENERATED_PER_POLICY);

/** Decides every input with one `opa eval` process and serves the answers by input. */
async function batchEngine(policy: CompiledPolicy): Promise<DecisionEngine> {
  const entry = suite.find((s) => s.policy.hash === policy.hash && s.policy.file === policy.file);
  if (!entry) throw new Error(`policy ${policy.file} is not in the suite`);
  const dir = join(temp.dir, policy.hash.slice(7, 19));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.rego'), emitRego(policy));
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify({ ape_conformance: { inputs: entry.inputs } }));
  const query = `{i: d | some i, x in data.ape_conformance.inputs; d := data.ape.${policy.ir.name}.facts_decision with input as x}`;
  const { stdout } = await runOpa(['eval', '--format', 'json', '-d', join(dir, 'policy.rego'), '-d', join(dir, 'inputs.json'), query]);
  const out = JSON.parse(stdout) as { result?: { expressions: { value: Record<string, unknown> }[] }[] };
  const decisions = out.result?.[0]?.expressions[0]?.value ?? {};
  const byInput = new Map<string, unknown>();
  entry.inputs.forEach((input, i) => byInput.set(JSON.stringify(input), decisions[String(i)]));
  return {
    name: 'opa-eval',
    decide(input: EngineInput): Promise<DecisionResult> {
      const value = byInput.get(JSON.stringify(input));
      if (value === undefined) return Promise.reject(new OpaUndefinedDecisionError('opa-eval', `ape/${policy.ir.name}/facts_decision`));
      return Promise.resolve(toDecisionResult('opa-eval', value, policy.hash));
    },
    close: () => Promise.resolve(),
  };
}

describeConformance('opa eval', batchEngine, { teardown: () => Promise.resolve(temp.remove()) });
