/** Validates a plan before anything runs: shape, repository, tool compatibility, parameter schemas, the intent (actions and scope) and the policy with the step's parameters. */
import { Ajv, type ValidateFunction } from 'ajv';
import { standardAction, type ActionIR, type DecisionResult, type JsonObject, type PolicyIR } from '../../compiler/index.js';
import { PlanValidationError, type IntentInput, type PlanInput } from '../../runtime/index.js';

/** What validation needs: the intent, the policy, the tools, and a way to decide a complete step. */
export interface PlanCheckContext {
  intent: IntentInput;
  ir: PolicyIR;
  /** The action a tool serves, or undefined for an unknown tool. */
  toolAction(tool: string): string | undefined;
  /** Decides a complete step against the policy (optional: without it the policy is not consulted). */
  decide?(action: string, parameters: JsonObject): Promise<DecisionResult>;
}

const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
const validators = new WeakMap<object, Map<string, ValidateFunction>>();

function validatorFor(action: ActionIR, optional: readonly string[]): ValidateFunction {
  let byKey = validators.get(action.parameters);
  if (!byKey) validators.set(action.parameters, (byKey = new Map()));
  const key = [...optional].sort().join(',');
  let v = byKey.get(key);
  if (!v) {
    const schema: JsonObject = { ...action.parameters };
    if (Array.isArray(schema['required'])) schema['required'] = schema['required'].filter((r) => !optional.includes(r as string));
    v = ajv.compile(schema);
    byKey.set(key, v);
  }
  return v;
}

/** How the intent treats an action. */
export function intentVerdict(intent: IntentInput, action: string): 'allowed' | 'escalate' | 'forbidden' {
  if (intent.forbidden_actions?.includes(action)) return 'forbidden';
  if (intent.escalation_actions?.includes(action)) return 'escalate';
  return intent.allowed_actions.includes(action) ? 'allowed' : 'forbidden';
}

/**
 * Validates every step; returns the policy decision of each complete step (undefined when the step
 * has run-time inputs). Throws `PlanValidationError` naming the first bad step and why.
 */
export async function validatePlan(plan: PlanInput, ctx: PlanCheckContext): Promise<(DecisionResult | undefined)[]> {
  if (plan === null || typeof plan !== 'object' || !Array.isArray(plan.steps) || plan.steps.length === 0) {
    throw new PlanValidationError(-1, 'shape', 'a plan needs at least one step');
  }
  const decisions: (DecisionResult | undefined)[] = [];
  for (const [i, step] of plan.steps.entries()) {
    if (step === null || typeof step !== 'object' || typeof step.action !== 'string' || typeof step.tool !== 'string') {
      throw new PlanValidationError(i, 'shape', 'a step needs an action and a tool');
    }
    const verdict = intentVerdict(ctx.intent, step.action);
    if (verdict === 'forbidden') throw new PlanValidationError(i, 'intent', `action '${step.action}' is not allowed by the intent`);
    const definition = ctx.ir.actions[step.action] ?? standardAction(step.action);
    if (!definition) throw new PlanValidationError(i, 'unknown_action', `action '${step.action}' is not in the action repository or the policy`);
    const served = ctx.toolAction(step.tool);
    if (served === undefined) throw new PlanValidationError(i, 'tool', `tool '${step.tool}' is not registered`);
    if (served !== step.action) throw new PlanValidationError(i, 'tool', `tool '${step.tool}' serves action '${served}', not '${step.action}'`);
    const parameters = step.parameters ?? {};
    const inputs = step.inputs ?? [];
    const validate = validatorFor(definition, inputs);
    if (!validate(parameters)) {
      const e = validate.errors?.[0];
      throw new PlanValidationError(i, 'parameters', `parameters${e?.instancePath ? ` at ${e.instancePath}` : ''} ${e?.message ?? 'do not match the schema'}`);
    }
    const outside = scopeProblem(ctx.intent, parameters);
    if (outside) throw new PlanValidationError(i, 'scope', outside);
    if (inputs.length === 0 && ctx.decide) {
      const decision = await ctx.decide(step.action, parameters);
      if (decision.decision === 'deny') {
        throw new PlanValidationError(i, 'policy', `action '${step.action}' is denied${decision.rule ? ` by rule '${decision.rule}'` : ' by default'}${decision.reasons[0] ? `: ${decision.reasons[0]}` : ''}`);
      }
      decisions.push(decision);
    } else {
      decisions.push(undefined);
    }
  }
  return decisions;
}

/** A first look at the intent's scope (the runtime checks it again on canonical values). */
function scopeProblem(intent: IntentInput, parameters: JsonObject): string | undefined {
  const path = parameters['path'];
  const paths = intent.scope?.paths;
  if (paths && typeof path === 'string') {
    const inside = paths.some((p) => `${path}/`.startsWith(p.endsWith('/') ? p : `${p}/`));
    if (!inside) return `'path' (${path}) is outside the intent's paths`;
  }
  const url = parameters['url'];
  const hosts = intent.scope?.hosts;
  if (hosts && typeof url === 'string') {
    let host = '';
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      return `'url' (${url}) is not a URL`;
    }
    const inside = hosts.some((h) => new RegExp(`^${h.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(host));
    if (!inside) return `'url' (${url}) is outside the intent's hosts`;
  }
  return undefined;
}
