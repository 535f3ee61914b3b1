/**
 * Parameter schema checks for raw requests (without `urn:ape:facts-canonical`): for each action
 * with a definition, its top-level parameters must have a declared JSON type, at most one value,
 * integers must be integral, `minimum` must hold, required parameters must be present, and for a
 * closed schema (`additionalProperties: false`) the request's `urn:ape:param-names` bag must be
 * given, name only declared parameters, and name every parameter the request carries. Other JSON
 * Schema keywords (nested schemas, `enum`, lengths, patterns) are not checked here; APE's own
 * engines validate the whole schema before deciding.
 */
import { actionDefinition } from '../engine-input.js';
import type { JsonObject, JsonValue, PolicyIR } from '../ir.js';
import { STANDARD_ACTION_IDS } from '../repository.js';
import { CANONICAL_VAR } from './facts.js';
import {
  and,
  anyOf,
  apply,
  ATTRIBUTE,
  bagSizeIs,
  boolValue,
  CATEGORY,
  designator,
  doubleValue,
  factAttributeId,
  FN,
  intValue,
  not,
  or,
  strValue,
  varRef,
} from './vocabulary.js';
import { element, type Xml } from './writer.js';

/** The variable holding whether the request's parameters pass the schema checks (always true for APE's requests). */
export const SCHEMA_VAR = 'ape.schema-ok';

const LARGEST = 1.7976931348623157e308;
const SCALAR = new Set(['string', 'number', 'integer', 'boolean']);

function typesOf(schema: JsonValue | undefined): Set<string> | null {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return null;
  const type = schema['type'];
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type) && type.every((t) => typeof t === 'string')) return new Set(type as string[]);
  return null;
}

const NAMES = designator(CATEGORY.resource, ATTRIBUTE.paramNames, 'string');

function propertyCheck(name: string, schema: JsonValue | undefined, required: boolean, closed: boolean): Xml {
  const s = designator(CATEGORY.resource, factAttributeId(name, 'string'), 'string');
  const d = designator(CATEGORY.resource, factAttributeId(name, 'double'), 'double');
  const b = designator(CATEGORY.resource, factAttributeId(name, 'boolean'), 'boolean');
  const other = apply(FN.stringIsIn, [strValue(name), designator(CATEGORY.resource, ATTRIBUTE.otherFacts, 'string')]);
  const atMostOne = (type: 'string' | 'double' | 'boolean', bag: Xml) => not(apply(FN.integerGe, [apply(FN.bagSize(type), [bag]), intValue(2)]));
  const types = typesOf(schema);
  const checks: Xml[] = [atMostOne('string', s), atMostOne('double', d), atMostOne('boolean', b)];
  const hasNumber = types === null || types.has('number') || types.has('integer');
  if (types !== null) {
    if (!types.has('string')) checks.push(bagSizeIs('string', s, 0));
    if (!hasNumber) checks.push(bagSizeIs('double', d, 0));
    if (!types.has('boolean')) checks.push(bagSizeIs('boolean', b, 0));
    if ([...types].every((t) => SCALAR.has(t))) checks.push(not(other));
  }
  if (hasNumber) {
    const one = apply('urn:oasis:names:tc:xacml:1.0:function:double-one-and-only', [d]);
    const numeric: Xml[] = [anyOf(FN.doubleLe, doubleValue(-LARGEST), d), anyOf(FN.doubleGe, doubleValue(LARGEST), d)];
    if (types !== null && types.has('integer') && !types.has('number')) {
      const truncated = apply('urn:oasis:names:tc:xacml:1.0:function:integer-to-double', [apply('urn:oasis:names:tc:xacml:1.0:function:double-to-integer', [one])]);
      numeric.push(apply('urn:oasis:names:tc:xacml:1.0:function:double-equal', [truncated, one]));
    }
    const minimum = schema !== null && typeof schema === 'object' && !Array.isArray(schema) ? schema['minimum'] : undefined;
    if (typeof minimum === 'number') numeric.push(anyOf(FN.doubleLe, doubleValue(minimum === 0 ? -0 : minimum), d));
    checks.push(or([bagSizeIs('double', d, 0), and(numeric)]));
  }
  if (closed) {
    // A parameter the request carries must be listed in the names bag (a PEP cannot hide one from the closed-schema check).
    const carried = or([not(bagSizeIs('string', s, 0)), not(bagSizeIs('double', d, 0)), not(bagSizeIs('boolean', b, 0)), other]);
    checks.push(or([not(carried), apply(FN.stringIsIn, [strValue(name), NAMES])]));
  }
  if (required) {
    const present: Xml[] = [];
    if (types === null || types.has('string')) present.push(bagSizeIs('string', s, 1));
    if (hasNumber) present.push(bagSizeIs('double', d, 1));
    if (types === null || types.has('boolean')) present.push(bagSizeIs('boolean', b, 1));
    if (types === null || [...types].some((t) => !SCALAR.has(t))) present.push(other);
    checks.push(or(present));
  }
  return and(checks);
}

/**
 * A closed schema's names check: the names bag is given (not empty) and is a subset of the declared
 * parameter names (an empty declared set admits no names, so such an action is never allowed raw).
 */
function namesCheck(declared: readonly string[]): Xml {
  if (declared.length === 0) return boolValue(false);
  return and([not(bagSizeIs('string', NAMES, 0)), apply(FN.stringSubset, [NAMES, apply(FN.stringBag, declared.map((n) => strValue(n)))])]);
}

/** The checks of one action's parameter schema (true when the schema is not an object schema). */
function actionCheck(parameters: JsonObject): Xml {
  const closed = parameters['additionalProperties'] === false;
  const raw = parameters['properties'];
  const properties = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : null;
  if (properties === null && !closed) return and([]);
  const required = new Set(Array.isArray(parameters['required']) ? parameters['required'].filter((r): r is string => typeof r === 'string') : []);
  const entries = Object.entries(properties ?? {});
  const checks = entries.map(([name, schema]) => propertyCheck(name, schema, required.has(name), closed));
  return and(closed ? [namesCheck(entries.map(([name]) => name).sort()), ...checks] : checks);
}

/**
 * The schema-check variable: APE's requests pass; a raw request must pass its action's checks.
 * Only actions that can end in an allow are checked (those of allow rules, or every defined action
 * when the default is allow): elsewhere a failed check could only turn a deny or escalate into a deny.
 */
export function emitSchemaCheck(ir: PolicyIR): Xml {
  const candidates = ir.defaultDecision === 'allow' ? [...STANDARD_ACTION_IDS, ...Object.keys(ir.actions)] : ir.rules.filter((r) => r.decision === 'allow').flatMap((r) => r.actions);
  const ids = [...new Set(candidates)].sort();
  const action = designator(CATEGORY.action, ATTRIBUTE.action, 'string');
  const perAction = ids.flatMap((id) => {
    const definition = actionDefinition(ir, id);
    if (!definition) return [];
    return [or([not(anyOf(FN.stringEqual, strValue(id), action)), actionCheck(definition.parameters)])];
  });
  return element('VariableDefinition', { VariableId: SCHEMA_VAR }, [or([varRef(CANONICAL_VAR), and(perAction)])]);
}
