/** Plans: steps {action, tool, parameters} checked against the intent, the action repository, the tool registry and the policy; hashed and frozen on approval. */
import { Ajv, type ValidateFunction } from 'ajv';
import { actionDefinition } from '../compiler/engine-input.js';
import { canonicalJson } from '../compiler/hash.js';
import type { JsonObject, JsonValue, PolicyIR } from '../compiler/ir.js';
import { parameterValidator } from '../compiler/params-schema.js';
import { ACTION_ID_PATTERN } from '../compiler/policy-schema.js';
import { PlanValidationError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { createBrand } from './brand.js';
import type { CopiedValue } from './plain.js';
import { canonicalForm } from './canonical.js';
import { sha256Hex } from './hmac.js';
import { intentDecision, scopeViolation, type Intent } from './intent.js';
import { isTrusted, requireTrusted, type ProvenanceLabel } from './provenance.js';

/** One step as callers write it. `inputs` names parameters filled in at run time (e.g. from an earlier tool's output). */
export interface PlanStepInput {
  action: string;
  tool: string;
  parameters?: JsonObject;
  inputs?: string[];
}

/** A plan as callers write it. */
export interface PlanInput {
  steps: PlanStepInput[];
}

/** One frozen step of an approved plan. */
export interface PlanStep {
  readonly action: string;
  readonly tool: string;
  readonly parameters: Readonly<JsonObject>;
  readonly inputs: readonly string[];
}

/** An approved plan: frozen canonical copy of the steps, bound to one tenant and one intent version. */
export interface Plan {
  readonly tenant: string;
  readonly intent: string;
  /** `sha256:<hex>` of the canonical JSON of {intent, steps}. */
  readonly hash: string;
  readonly steps: readonly PlanStep[];
  /** Provenance of the planned parameter values. */
  readonly label: ProvenanceLabel;
}

const PLAN_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['steps'],
  properties: {
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['action', 'tool'],
        properties: {
          action: { type: 'string', pattern: ACTION_ID_PATTERN },
          tool: { type: 'string', minLength: 1, maxLength: 200 },
          parameters: { type: 'object' },
          inputs: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' }, uniqueItems: true },
        },
      },
    },
  },
} as const;

const validatePlanShape = new Ajv({ strict: true, allErrors: false }).compile(PLAN_SCHEMA);
const partialValidators = new WeakMap<JsonObject, Map<string, ValidateFunction>>();

/** The validator of an action's parameters with the `inputs` not yet required. */
export function stepValidator(schema: JsonObject, inputs: readonly string[]): ValidateFunction {
  if (inputs.length === 0) return parameterValidator(schema);
  let byInputs = partialValidators.get(schema);
  if (!byInputs) partialValidators.set(schema, (byInputs = new Map()));
  const key = [...inputs].sort().join(',');
  let v = byInputs.get(key);
  if (!v) {
    const required = Array.isArray(schema['required']) ? schema['required'].filter((r) => !inputs.includes(r as string)) : undefined;
    const partial: JsonObject = { ...schema };
    if (required) partial['required'] = required;
    v = parameterValidator(partial);
    byInputs.set(key, v);
  }
  return v;
}

/** What plan validation needs from the runtime. */
export interface PlanContext {
  tenant: string;
  intent: Intent;
  ir: PolicyIR;
  /** The action a registered tool serves, or undefined for an unknown tool. */
  toolAction(tool: string): string | undefined;
  /**
   * Decides a complete step; throws `PolicyDenyError` on deny. `checked` is what validation found
   * for the step against the intent (the decision must refuse what the intent or its scope refuse).
   */
  checkPolicy(step: PlanStep, index: number, checked: StepVerdict): Promise<void> | undefined;
  /** Provenance of unlabeled plan data (default `user`). */
  source?: ProvenanceLabel;
  /**
   * Observe mode: called with the refusal of a step the intent, its scope or the policy would
   * refuse, instead of throwing it (the step is kept). Shape, tool and schema errors still throw.
   */
  observe?: (error: PlanValidationError) => void;
}

/** What plan validation found for a step against the intent: its verdict and the scope violation, if any. */
export interface StepVerdict {
  verdict: ReturnType<typeof intentDecision>;
  outside: string | undefined;
  /** The canonical JSON text of the step's parameters (what its call hash is taken of). */
  text: string;
}

/**
 * Validates a plan and returns its frozen, hashed copy. `copied` is the plan as the run read it once
 * (`copyOnce`, wrappers allowed), taken as it is. Throws `PlanValidationError` or `ProvenanceError`.
 */
export async function approvePlan(copied: CopiedValue, ctx: PlanContext): Promise<Plan> {
  const label = ctx.source ?? 'user';
  // A copy without wrappers under a trusted label is trusted as a whole; otherwise every part is checked.
  const frozen = !copied.wrappers && isTrusted(label);
  const plain = frozen ? copied.value : requireTrusted('plan', copied.value, label);
  if (!validatePlanShape(plain)) {
    const e = validatePlanShape.errors?.[0];
    throw new PlanValidationError(-1, 'shape', `${e?.instancePath || 'plan'} ${e?.message ?? 'does not match the plan schema'}`);
  }
  // The shape is checked: steps of strings, a string list and a parameters object. Each step's parameters
  // become a canonical JSON copy (their canonical text is kept for the plan and call hashes).
  const texts: string[] = [];
  const steps: PlanStep[] = (plain as unknown as PlanInput).steps.map((s) => {
    const { parameters, text } = canonicalParameters(s.parameters ?? {}, frozen);
    texts.push(text);
    return { action: s.action, tool: s.tool, parameters, inputs: s.inputs === undefined || s.inputs.length === 0 ? [] : [...s.inputs] };
  });
  for (const [i, step] of steps.entries()) {
    const refuse = (error: PlanValidationError): void => {
      if (!ctx.observe) throw error;
      ctx.observe(error);
    };
    const verdict = intentDecision(ctx.intent, step.action);
    if (verdict === 'forbidden') refuse(new PlanValidationError(i, 'intent', `action '${step.action}' is not allowed by the intent`));
    const definition = actionDefinition(ctx.ir, step.action);
    if (!definition) throw new PlanValidationError(i, 'unknown_action', `action '${step.action}' is not in the action repository or the policy`);
    const served = ctx.toolAction(step.tool);
    if (served === undefined) throw new PlanValidationError(i, 'tool', `tool '${step.tool}' is not registered`);
    if (served !== step.action) throw new PlanValidationError(i, 'tool', `tool '${step.tool}' serves action '${served}', not '${step.action}'`);
    const overlap = step.inputs.find((name) => Object.hasOwn(step.parameters, name));
    if (overlap) throw new PlanValidationError(i, 'parameters', `'${overlap}' is both a planned parameter and a run-time input`);
    const validate = stepValidator(definition.parameters, step.inputs);
    if (!validate(step.parameters)) {
      const e = validate.errors?.[0];
      throw new PlanValidationError(i, 'parameters', `parameters${e?.instancePath ? ` at ${e.instancePath}` : ''} ${e?.message ?? 'do not match the schema'}`);
    }
    const outside = scopeViolation(ctx.intent, definition, step.parameters as JsonValue);
    if (outside) refuse(new PlanValidationError(i, 'scope', outside));
    if (step.inputs.length === 0) {
      try {
        const checking = ctx.checkPolicy(step, i, { verdict, outside, text: texts[i] as string });
        if (checking !== undefined) await checking;
      } catch (error) {
        if (!(error instanceof PlanValidationError)) throw error;
        refuse(error);
      }
    }
  }
  // Deeply frozen: each step, its inputs and its parameters (a copy taken as it is is frozen already: deepFreeze stops there).
  for (const step of steps) {
    Object.freeze(step.inputs);
    deepFreeze(step.parameters);
    Object.freeze(step);
  }
  Object.freeze(steps);
  const hash = planHash(ctx.intent.version, steps, texts);
  const plan: Plan = { tenant: ctx.tenant, intent: ctx.intent.version, hash, steps, label };
  genuine.mark(plan, Object.freeze(texts));
  return Object.freeze(plan);
}

/**
 * A step's parameters as their canonical copy, and its text (for the plan and call hashes).
 * Parameters that are frozen plain data already in canonical form are that copy themselves (the same
 * data `JSON.parse` of their text would build); anything else is parsed from the text into a fresh object.
 */
function canonicalParameters(source: JsonObject, frozen: boolean): { parameters: JsonObject; text: string } {
  if (frozen) {
    const form = canonicalForm(source);
    return { parameters: form.canonical ? source : (JSON.parse(form.text) as JsonObject), text: form.text };
  }
  const text = canonicalJson(source);
  return { parameters: JSON.parse(text) as JsonObject, text };
}

/**
 * `sha256:<hex>` of the canonical JSON of `{intent, steps}` (what `hashJson` gives), written from the
 * canonical text of each step's parameters, which is kept for the step's call hash (`canonicalParamsText`).
 * Keys in canonical (code unit) order: action, inputs, parameters, tool; strings as JSON.stringify writes them.
 */
function planHash(intent: string, steps: readonly PlanStep[], texts: readonly string[]): string {
  let out = `{"intent":${JSON.stringify(intent)},"steps":[`;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as PlanStep;
    if (i > 0) out += ',';
    out += `{"action":${JSON.stringify(s.action)},"inputs":${s.inputs.length === 0 ? '[]' : canonicalJson(s.inputs)},"parameters":${texts[i] as string},"tool":${JSON.stringify(s.tool)}}`;
  }
  return sha256Hex(`${out}]}`);
}

/** The canonical JSON text of the parameters of step `index` of an approved plan, or undefined. */
export function canonicalParamsText(plan: Plan, index: number): string | undefined {
  return genuine.read(plan)?.[index];
}

/** Plans made by `approvePlan` (frozen, validated: the only ones taken without a copy), with the canonical text of each step's parameters. */
const genuine = createBrand<readonly string[]>();

/** Whether a value is a plan `approvePlan` made (not a look-alike object). */
export function isGenuinePlan(value: unknown): value is Plan {
  return genuine.read(value) !== undefined;
}
