/** The condition operators: operand schema, expected value type and meaning of each, in one catalog. */
import { PROVENANCE_LABELS, type ConditionOp, type JsonObject, type ValueType } from './ir.js';

/** What the compiler and every back end know about one operator. */
export interface OperatorSpec {
  /** JSON Schema of the operand as written in YAML. */
  operand: JsonObject;
  /** The type the fact must have for the predicate to be tested; otherwise it counts as missing. */
  valueType: ValueType;
  /** One line for the language reference. */
  summary: string;
}

const stringOrList: JsonObject = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
};
const label: JsonObject = { type: 'string', enum: [...PROVENANCE_LABELS] };
const scalar: JsonObject = { type: ['string', 'number', 'boolean'] };

/** Every operator of the condition language. */
export const OPERATORS = {
  prefix: { operand: stringOrList, valueType: 'string', summary: 'string starts with one of the prefixes' },
  suffix: { operand: stringOrList, valueType: 'string', summary: 'string ends with one of the suffixes' },
  allowlist: { operand: stringOrList, valueType: 'string', summary: 'string matches one of the glob patterns (`*` = any run of characters)' },
  denylist: { operand: stringOrList, valueType: 'string', summary: 'string matches none of the glob patterns' },
  equals: { operand: scalar, valueType: 'any', summary: 'value is exactly this string, number or boolean (no type coercion)' },
  one_of: { operand: { type: 'array', items: scalar, minItems: 1 }, valueType: 'any', summary: 'value is exactly one of these' },
  min: { operand: { type: 'number' }, valueType: 'number', summary: 'number is at least this' },
  max: { operand: { type: 'number' }, valueType: 'number', summary: 'number is at most this' },
  regex: { operand: { type: 'string' }, valueType: 'string', summary: 'string contains a match of this RE2 regular expression (anchor with ^ and $)' },
  min_length: { operand: { type: 'integer', minimum: 0 }, valueType: 'number', summary: 'string (in code points) or array has at least this length' },
  max_length: { operand: { type: 'integer', minimum: 0 }, valueType: 'number', summary: 'string (in code points) or array has at most this length' },
  exists: { operand: { type: 'boolean' }, valueType: 'any', summary: 'the parameter is present and valid (true) or absent (false)' },
  cidr: { operand: stringOrList, valueType: 'string', summary: 'IP address lies in one of the CIDR ranges' },
  provenance: {
    operand: { anyOf: [label, { type: 'array', items: label, minItems: 1 }] },
    valueType: 'string',
    summary: `the value's provenance label is one of these (${PROVENANCE_LABELS.join(', ')}); unlabelled counts as missing`,
  },
  source: {
    operand: stringOrList,
    valueType: 'list',
    summary: "the value was found in at least one of these places (`user`, `system` or a tool's action id, from `request.sources`); no list of places counts as missing",
  },
} as const satisfies Record<ConditionOp, OperatorSpec>;

/** Operator names, in catalog order. */
export const OPERATOR_NAMES = Object.keys(OPERATORS) as ConditionOp[];

/** The engine-input fact an operator reads for a parameter path (derived facts carry a `#` suffix). */
export function factKey(op: ConditionOp, path: string): string {
  switch (op) {
    case 'min_length':
    case 'max_length':
      return `${path}#length`;
    case 'cidr':
      return `${path}#bits`;
    case 'provenance':
      return `${path}#provenance`;
    case 'source':
      return `${path}#source`;
    default:
      return path;
  }
}
