/** The deterministic plan generator: one step per requested call, parameters from the prompt, missing ones as run-time inputs. */
import type { PlanInput, PlanStepInput } from '../../runtime/index.js';
import type { CompiledIntent } from '../intent/compile.js';

/** A plan for the calls the intent allows (or escalates); `toolFor` names the tool of an action. */
export function planFromIntent(compiled: CompiledIntent, toolFor: (action: string) => string): PlanInput {
  const steps: PlanStepInput[] = [];
  for (const r of compiled.requests) {
    const step: PlanStepInput = { action: r.action, tool: toolFor(r.action), parameters: { ...r.parameters } };
    if (r.missing.length > 0) step.inputs = [...r.missing];
    steps.push(step);
  }
  return { steps };
}
