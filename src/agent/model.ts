/** Optional model hooks: a model may refine the intent (validated with ajv, proven to only narrow) or write the plan (validated, repaired a bounded number of times). */
import { Ajv } from 'ajv';
import type { JsonObject, PolicyIR } from '../compiler/index.js';
import { ApeError } from '../index.js';
import { INTENT_SCHEMA, PlanValidationError, type IntentInput, type PlanInput } from '../runtime/index.js';
import type { ActionRequest, CompiledIntent } from './intent/compile.js';
import { plainCopy } from './json-copy.js';
import { parsePlan } from './plan/parse.js';
import { toLlmPrompt } from './plan/prompt.js';

/** What a model hook is asked for. */
export interface ModelContext {
  /** `intent`: narrow the deterministic intent; `plan`: write the steps. */
  purpose: 'intent' | 'plan';
  /** JSON Schema the answer must match. */
  schema: JsonObject;
  /** Instructions for the model (the planner prompt for `plan`). */
  instructions: string;
  /** The deterministic intent, the ceiling of any answer. */
  intent: IntentInput;
  /** Errors of the previous answer, when the hook is asked to repair it. */
  errors: string[];
}

/** Any model: gets the user's prompt and the context, answers JSON (or text holding JSON). */
export type ModelHook = (prompt: string, context: ModelContext) => Promise<unknown>;

/** A model's answer does not match the schema, or would widen what the policy and the deterministic compiler allow. */
export class ModelOutputError extends ApeError {
  readonly reason: 'schema' | 'widens';
  constructor(reason: 'schema' | 'widens', message: string) {
    super('APE_MODEL_OUTPUT', `model output ${reason === 'schema' ? 'is invalid' : 'widens the intent'}: ${message}`);
    this.reason = reason;
  }
}

/** The JSON Schema of a plan answer. */
export const PLAN_OUTPUT_SCHEMA: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['steps'],
  properties: {
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['action', 'tool', 'parameters'],
        properties: { action: { type: 'string' }, tool: { type: 'string' }, parameters: { type: 'object' } },
      },
    },
  },
};

const validateIntent = new Ajv({ strict: false, allErrors: false }).compile(INTENT_SCHEMA);

/**
 * Lets a model narrow a compiled intent. The answer is validated against the intent schema, then
 * checked to be a subset: allowed actions within the deterministic allowed ones, escalations within
 * allowed or escalated ones, every forbidden action kept, scope inside the deterministic scope.
 * Throws `ModelOutputError` otherwise; returns the compiled intent with the model's narrowing applied.
 */
export async function refineIntent(compiled: CompiledIntent, model: ModelHook): Promise<CompiledIntent> {
  const base = compiled.intent;
  const raw = await model(compiled.prompt, {
    purpose: 'intent',
    schema: INTENT_SCHEMA as unknown as JsonObject,
    instructions: `Narrow this intent to what the user asked for. You may drop actions, move allowed actions to escalation_actions, add forbidden actions and narrow the scope; never add anything. Intent: ${JSON.stringify(base)}`,
    intent: base,
    errors: [],
  });
  const answer = plainCopy(typeof raw === 'string' ? parseJson(raw) : raw, 'intent');
  if (!validateIntent(answer)) {
    const e = validateIntent.errors?.[0];
    throw new ModelOutputError('schema', `${e?.instancePath || 'intent'} ${e?.message ?? 'does not match the intent schema'}`);
  }
  const narrowed = answer as unknown as IntentInput;
  const widening = wideningOf(base, narrowed);
  if (widening) throw new ModelOutputError('widens', widening);
  const keep = new Set([...narrowed.allowed_actions, ...(narrowed.escalation_actions ?? [])]);
  const forbidden = [...new Set([...(base.forbidden_actions ?? []), ...(narrowed.forbidden_actions ?? [])])].filter((a) => !keep.has(a));
  const intent: IntentInput = {
    description: base.description ?? compiled.prompt,
    allowed_actions: narrowed.allowed_actions.filter((a) => !forbidden.includes(a)),
    forbidden_actions: forbidden,
    escalation_actions: (narrowed.escalation_actions ?? []).filter((a) => !forbidden.includes(a)),
  };
  const scope = narrowed.scope ?? base.scope;
  if (scope) intent.scope = scope;
  const requests: ActionRequest[] = compiled.requests.filter((r) => keep.has(r.action) || !keep.has(r.action) && forbidden.includes(r.action) && compiled.denied.includes(r.action));
  return { ...compiled, intent, requests };
}

/** Why `narrowed` is wider than `base`, or undefined when it only narrows. */
export function wideningOf(base: IntentInput, narrowed: IntentInput): string | undefined {
  const allowed = new Set(base.allowed_actions);
  const escalated = new Set(base.escalation_actions ?? []);
  for (const a of narrowed.allowed_actions) {
    if (!allowed.has(a)) return `'${a}' is allowed by the model but not by the ${escalated.has(a) ? 'policy without approval' : 'prompt and policy'}`;
  }
  for (const a of narrowed.escalation_actions ?? []) {
    if (!allowed.has(a) && !escalated.has(a)) return `'${a}' is not something the prompt and policy allow`;
  }
  const forbidden = new Set(narrowed.forbidden_actions ?? []);
  for (const a of base.forbidden_actions ?? []) if (!forbidden.has(a)) return `'${a}' must stay forbidden`;
  const basePaths = base.scope?.paths;
  if (basePaths) {
    const paths = narrowed.scope?.paths;
    if (!paths) return 'the scope of paths is dropped';
    for (const p of paths) {
      const inside = basePaths.some((b) => `${canonical(p)}/`.startsWith(`${canonical(b)}/`));
      if (!inside) return `path '${p}' is outside the scope ${JSON.stringify(basePaths)}`;
    }
  }
  const baseHosts = base.scope?.hosts;
  if (baseHosts) {
    const hosts = narrowed.scope?.hosts;
    if (!hosts) return 'the scope of hosts is dropped';
    for (const h of hosts) if (!baseHosts.includes(h.toLowerCase())) return `host '${h}' is outside the scope ${JSON.stringify(baseHosts)}`;
  }
  return undefined;
}

/** Options of `planWithModel`. */
export interface PlanWithModelOptions {
  /** How many times a refused plan is sent back with its errors (default 2). */
  maxRepairs?: number;
  /** Tool name of each action, for the prompt. */
  tools?: Record<string, string>;
}

/**
 * Asks a model for a plan, parses it (JSON, fenced JSON, numbered list) and validates it with
 * `validate`; a refused plan goes back to the model with the error, at most `maxRepairs` times.
 * Throws the last `PlanValidationError`.
 */
export async function planWithModel(
  compiled: CompiledIntent,
  ir: PolicyIR,
  model: ModelHook,
  validate: (plan: PlanInput) => Promise<unknown>,
  options: PlanWithModelOptions = {},
): Promise<PlanInput> {
  const maxRepairs = options.maxRepairs ?? 2;
  if (!Number.isInteger(maxRepairs) || maxRepairs < 0 || maxRepairs > 10) throw new ModelOutputError('schema', 'maxRepairs must be an integer from 0 to 10');
  const instructions = toLlmPrompt(compiled.prompt, compiled.intent, ir, options.tools ?? {});
  const errors: string[] = [];
  let last: PlanValidationError | undefined;
  for (let attempt = 0; attempt <= maxRepairs; attempt++) {
    const raw = await model(compiled.prompt, { purpose: 'plan', schema: PLAN_OUTPUT_SCHEMA, instructions, intent: compiled.intent, errors: [...errors] });
    try {
      const plan = parsePlan(raw);
      await validate(plan);
      return plan;
    } catch (error) {
      if (!(error instanceof PlanValidationError)) throw error;
      last = error;
      errors.push(error.message);
    }
  }
  throw last as PlanValidationError;
}

/** One structured-output request, as the AI SDK adapter hands it to `generateText` with `Output.object`. */
export interface StructuredOutputRequest {
  system: string;
  prompt: string;
  /** JSON Schema of the object (wrap it with the AI SDK's `jsonSchema`). */
  schema: JsonObject;
}

/**
 * A model hook over the Vercel AI SDK's structured output. `generate` runs one request, e.g.
 * `({ system, prompt, schema }) => generateText({ model, system, prompt, output: Output.object({ schema: jsonSchema(schema) }) }).then((r) => r.output)`.
 * The object it returns is validated and checked by APE like any model answer.
 */
export function aiSdkModelHook(generate: (request: StructuredOutputRequest) => PromiseLike<unknown>): ModelHook {
  return async (prompt, context) => {
    const system = context.errors.length > 0 ? `${context.instructions}\n\nYour previous answer was refused: ${context.errors.join('; ')}. Fix it.` : context.instructions;
    return generate({ system, prompt, schema: context.schema });
  };
}

function parseJson(text: string): unknown {
  const fenced = /```(?:json)?\s*\n([\s\S]*?)```/.exec(text);
  try {
    return JSON.parse(fenced?.[1] ?? text);
  } catch {
    throw new ModelOutputError('schema', 'the answer is not JSON');
  }
}

function canonical(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}
