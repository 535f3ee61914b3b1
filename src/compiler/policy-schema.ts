/** The JSON Schema of an APE policy file (both the rules shape and the lists shape). */
import { CATEGORIES, RISK_LEVELS, type JsonObject } from './ir.js';
import { OPERATORS } from './operators.js';

/** Pattern of a policy name: it becomes a Rego package segment and a Cedar namespace. */
export const POLICY_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** Pattern of an action id written in a policy. */
export const ACTION_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_.:/-]*$';
/** Pattern of a rule id. */
export const RULE_ID_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:-]*$';
/** Pattern of a condition key: a parameter path, dotted for nested values, or `context.<path>`. */
export const CONDITION_PATH_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$';

const actionId: JsonObject = { type: 'string', pattern: ACTION_ID_PATTERN };
const actionList: JsonObject = { type: 'array', items: actionId };
const decision: JsonObject = { type: 'string', enum: ['allow', 'deny', 'escalate'] };

const operatorObject: JsonObject = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: Object.fromEntries(Object.entries(OPERATORS).map(([name, spec]) => [name, spec.operand])),
};

const rule: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'decision'],
  properties: {
    id: { type: 'string', pattern: RULE_ID_PATTERN },
    description: { type: 'string' },
    action: { anyOf: [actionId, { type: 'array', items: actionId, minItems: 1 }] },
    decision,
    conditions: {
      type: 'object',
      propertyNames: { pattern: CONDITION_PATH_PATTERN },
      additionalProperties: operatorObject,
    },
  },
};

const actionDeclaration: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: actionId,
    description: { type: 'string' },
    category: { type: 'string', enum: [...CATEGORIES] },
    risk_level: { type: 'string', enum: [...RISK_LEVELS] },
    requires_human_review: { type: 'boolean' },
    parameters: { type: 'object' },
  },
};

const example: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'expect'],
  properties: {
    name: { type: 'string' },
    action: { type: 'string' },
    params: { type: 'object' },
    previous_action: { type: 'string' },
    context: { type: 'object' },
    expect: decision,
    rule: { type: ['string', 'null'] },
  },
};

const limit: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['limit'],
  properties: { limit: { type: 'integer', minimum: 0 }, window_seconds: { type: 'number', exclusiveMinimum: 0 } },
};

const rateLimits: JsonObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    global: limit,
    per_session: limit,
    per_action: { type: 'object', propertyNames: { pattern: ACTION_ID_PATTERN }, additionalProperties: limit },
    per_target: { type: 'object', propertyNames: { minLength: 1 }, additionalProperties: limit },
    risk_budget: { type: 'number', minimum: 0 },
  },
};

/** The policy schema, validated by ajv before normalization. */
export const POLICY_SCHEMA: JsonObject = {
  $id: 'https://ape.dev/schemas/policy-v1.json',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: POLICY_NAME_PATTERN },
    version: { type: ['string', 'number'] },
    description: { type: 'string' },
    default_decision: decision,
    default_deny: { type: 'boolean' },
    rules: { type: 'array', items: rule },
    allowed_actions: actionList,
    forbidden_actions: actionList,
    escalation_required: actionList,
    tool_transitions: { type: 'object', additionalProperties: actionList },
    actions: { type: 'array', items: actionDeclaration },
    risk: {
      type: 'object',
      additionalProperties: false,
      properties: {
        escalate_at_or_above: { type: 'string', enum: [...RISK_LEVELS] },
        escalate_human_review: { type: 'boolean' },
      },
    },
    rate_limits: rateLimits,
    examples: { type: 'array', items: example },
    metadata: { type: 'object' },
  },
};
