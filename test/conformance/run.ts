/** Runs the conformance suite against an engine: every decision must equal the native evaluator's, field for field. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEngine } from '../../src/adapters/engine.js';
import { NativeEngine } from '../../src/adapters/native/index.js';
import type { CompiledPolicy } from '../../src/compiler/compile.js';
import type { DecisionResult } from '../../src/compiler/ir.js';
import { conformanceSuite } from './cases.js';

/** Generated inputs per policy: 13 policies x 400 = 5,200 generated requests, plus the request-derived ones. */
export const GENERATED_PER_POLICY = 400;

/** The fields every engine must agree on (`engine` names the engine and differs by design). */
export function comparable(result: DecisionResult): Omit<DecisionResult, 'engine'> {
  const { decision, rule, matched, reasons, policy_hash } = result;
  return { decision, rule, matched, reasons, policy_hash };
}

/**
 * Declares the conformance suite for one engine. `create` builds the engine for a policy;
 * `prepare` (optional) runs once before the suite (e.g. to start a server).
 */
export function describeConformance(
  engineName: string,
  create: (policy: CompiledPolicy) => Promise<DecisionEngine>,
  options: {
    prepare?: () => Promise<void>;
    teardown?: () => Promise<void>;
    perPolicy?: number;
    /** Why a policy is left out for this engine (e.g. it uses what the engine can't express); undefined runs it. */
    exclude?: (policy: CompiledPolicy) => string | undefined;
  } = {},
): void {
  const suite = conformanceSuite(options.perPolicy ?? GENERATED_PER_POLICY);
  describe(`conformance: ${engineName} decides like native`, () => {
    if (options.prepare) beforeAll(options.prepare);
    if (options.teardown) afterAll(options.teardown);
    for (const { name, policy, inputs } of suite) {
      const reason = options.exclude?.(policy);
      if (reason !== undefined) {
        it.skip(`${name}: excluded, ${reason}`, () => undefined);
        continue;
      }
      it(`${name} (${inputs.length} inputs)`, async () => {
        const native = new NativeEngine(policy.ir, policy.hash);
        const engine = await create(policy);
        try {
          const mismatches: { input: unknown; native: unknown; engine: unknown }[] = [];
          for (const input of inputs) {
            const expected = comparable(native.decideSync(input));
            const actual = comparable(await engine.decide(input));
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              mismatches.push({ input, native: expected, engine: actual });
              if (mismatches.length >= 5) break;
            }
          }
          expect(mismatches).toEqual([]);
        } finally {
          await engine.close();
        }
      });
    }
  });
}
