/**
 * Parameter schema checks for raw requests (without `urn:ape:facts-canonical`), for every action
 * that can end in an allow. A parameter counts only as a string, number or boolean the PolicySet can
 * check against its JSON Schema: its declared types, one value, strings well-formed (no lone
 * surrogate), `enum`/`const`, `minLength`/`maxLength` (in code points, as native), `pattern` (where
 * it translates exactly to an XPath regular expression), `minimum`/`maximum` and their exclusive
 * forms, integers integral; required parameters present. Null, objects and arrays (nested values
 * XACML cannot inspect), and every schema keyword outside this list, fail closed: such a parameter
 * must be absent. The `urn:ape:param-names` bag may name only declared parameters and must name
 * every parameter the request carries; for a closed schema it must be given. Under `context`, only
 * the values the rules read and their parents may be carried. APE's own engines validate the whole
 * request before deciding, so their requests skip these checks.
 */
import { actionDefinition } from '../engine-input.js';
import type { JsonObject, JsonValue, PolicyIR } from '../ir.js';
import { KIND_FORMATS, STANDARD_ACTION_IDS } from '../repository.js';
import { CANONICAL_VAR } from './facts.js';
import { CODE_POINT, translatePattern } from './pattern.js';
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
import { element, isXmlWritable, type Xml } from './writer.js';

/** The variable holding whether the request's parameters pass the schema checks (always true for APE's requests). */
export const SCHEMA_VAR = 'ape.schema-ok';

const LARGEST = 1.7976931348623157e308;
/** Longest repetition count written into a regular expression (no Java string is longer). */
const MAX_COUNT = 2 ** 31 - 1;
const ANNOTATIONS = new Set(['description', 'title', '$comment', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
const PROPERTY_KEYWORDS = new Set(['type', 'format', 'enum', 'const', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const TOP_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties']);
const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

const NAMES = designator(CATEGORY.resource, ATTRIBUTE.paramNames, 'string');
const ACTION = designator(CATEGORY.action, ATTRIBUTE.action, 'string');

/** The checks each JSON type of a parameter's value must pass (null: a value of that type is refused). */
interface ValueChecks {
  string: Xml[] | null;
  double: Xml[] | null;
  boolean: Xml[] | null;
}

const isObject = (v: JsonValue | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The string-length regular expression, counting code points (AuthzForce counts UTF-16 units); it also refuses lone surrogates. */
function lengthRegex(min: number, max: number | undefined): string {
  if (min === 0 && max === undefined) return `^${CODE_POINT}*$`;
  return `^${CODE_POINT}{${min},${max === undefined ? '' : max}}$`;
}

/**
 * What the PolicySet checks of one parameter's schema, on its string (`s`), double (`d`) and
 * boolean (`b`) bags; null when the schema uses anything it cannot check (the parameter must be absent).
 */
function valueChecks(schema: JsonValue | undefined, s: Xml, d: Xml, b: Xml): ValueChecks | null {
  if (!isObject(schema)) return schema === true ? valueChecks({}, s, d, b) : null;
  if (!Object.keys(schema).every((k) => ANNOTATIONS.has(k) || PROPERTY_KEYWORDS.has(k))) return null;
  const rawType = schema['type'];
  const typeList = rawType === undefined ? ['string', 'number', 'boolean'] : typeof rawType === 'string' ? [rawType] : rawType;
  if (!Array.isArray(typeList) || !typeList.every((t): t is string => typeof t === 'string' && JSON_TYPES.has(t))) return null;
  const types = new Set(typeList);
  const checks: ValueChecks = {
    string: types.has('string') ? [] : null,
    double: types.has('number') || types.has('integer') ? [] : null,
    boolean: types.has('boolean') ? [] : null,
  };

  if (checks.double) {
    checks.double.push(anyOf(FN.doubleLe, doubleValue(-LARGEST), d), anyOf(FN.doubleGe, doubleValue(LARGEST), d));
    if (types.has('integer') && !types.has('number')) {
      const one = apply('urn:oasis:names:tc:xacml:1.0:function:double-one-and-only', [d]);
      const truncated = apply('urn:oasis:names:tc:xacml:1.0:function:integer-to-double', [apply('urn:oasis:names:tc:xacml:1.0:function:double-to-integer', [one])]);
      checks.double.push(apply(FN.doubleEqual, [truncated, one]));
    }
    // `-0.0` and `0.0` compare as in JavaScript whether the PDP orders them or not: each bound picks the zero that gives JavaScript's answer.
    const bounds: [string, string, (n: number) => number][] = [
      ['minimum', FN.doubleLe, (n) => (n === 0 ? -0 : n)],
      ['maximum', FN.doubleGe, (n) => (n === 0 ? 0 : n)],
      ['exclusiveMinimum', FN.doubleLt, (n) => (n === 0 ? 0 : n)],
      ['exclusiveMaximum', FN.doubleGt, (n) => (n === 0 ? -0 : n)],
    ];
    for (const [keyword, fn, zero] of bounds) {
      const bound = schema[keyword];
      if (bound === undefined) continue;
      if (typeof bound !== 'number' || !Number.isFinite(bound)) return null;
      checks.double.push(anyOf(fn, doubleValue(zero(bound)), d));
    }
  } else if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].some((k) => schema[k] !== undefined && typeof schema[k] !== 'number')) return null;

  if (checks.string) {
    const min = schema['minLength'] ?? 0;
    const max = schema['maxLength'];
    if (!isCount(min) || (max !== undefined && !isCount(max))) return null;
    if (min > MAX_COUNT || (max !== undefined && max < min)) checks.string = null;
    else checks.string.push(anyOf(FN.stringRegexpMatch, strValue(lengthRegex(min, max === undefined || max >= MAX_COUNT ? undefined : max)), s));
    const pattern = schema['pattern'];
    if (pattern !== undefined) {
      if (typeof pattern !== 'string') return null;
      const translated = translatePattern(pattern);
      if (translated === null) checks.string = null;
      else if (translated !== '') checks.string?.push(anyOf(FN.stringRegexpMatch, strValue(translated), s));
    }
    const format = schema['format'];
    if (format !== undefined && (typeof format !== 'string' || !Object.prototype.hasOwnProperty.call(KIND_FORMATS, format))) checks.string = null;
  }

  const values = schema['const'] !== undefined ? [schema['const']] : schema['enum'];
  if (values !== undefined) {
    if (!Array.isArray(values)) return null;
    const strings = values.filter((v): v is string => typeof v === 'string' && isXmlWritable(v));
    const numbers = values.filter((v): v is number => typeof v === 'number').flatMap((n) => (n === 0 ? [0, -0] : [n]));
    const booleans = values.filter((v): v is boolean => typeof v === 'boolean');
    checks.string?.push(or(strings.map((v) => anyOf(FN.stringEqual, strValue(v), s))));
    checks.double?.push(or(numbers.map((v) => anyOf(FN.doubleEqual, doubleValue(v), d))));
    checks.boolean?.push(or(booleans.map((v) => anyOf(FN.booleanEqual, boolValue(v), b))));
  }
  return checks;
}

function propertyCheck(name: string, schema: JsonValue | undefined, required: boolean): Xml {
  const s = designator(CATEGORY.resource, factAttributeId(name, 'string'), 'string');
  const d = designator(CATEGORY.resource, factAttributeId(name, 'double'), 'double');
  const b = designator(CATEGORY.resource, factAttributeId(name, 'boolean'), 'boolean');
  const other = apply(FN.stringIsIn, [strValue(name), designator(CATEGORY.resource, ATTRIBUTE.otherFacts, 'string')]);
  const listed = apply(FN.stringIsIn, [strValue(name), NAMES]);
  const checks = valueChecks(schema, s, d, b);
  if (checks === null) return required ? boolValue(false) : and([bagSizeIs('string', s, 0), bagSizeIs('double', d, 0), bagSizeIs('boolean', b, 0), not(other), not(listed)]);
  const out: Xml[] = [not(other)];
  const present: Xml[] = [];
  const typed: ['string' | 'double' | 'boolean', Xml, Xml[] | null][] = [
    ['string', s, checks.string],
    ['double', d, checks.double],
    ['boolean', b, checks.boolean],
  ];
  for (const [type, bag, tests] of typed) {
    if (tests === null) {
      out.push(bagSizeIs(type, bag, 0));
      continue;
    }
    // At most one value; a value passes every check of its type.
    out.push(not(apply(FN.integerGe, [apply(FN.bagSize(type), [bag]), intValue(2)])));
    if (tests.length) out.push(or([bagSizeIs(type, bag, 0), and(tests)]));
    present.push(bagSizeIs(type, bag, 1));
  }
  // A parameter the request carries must be listed in the names bag (a PEP cannot hide one from the names check).
  out.push(or([and([bagSizeIs('string', s, 0), bagSizeIs('double', d, 0), bagSizeIs('boolean', b, 0)]), listed]));
  if (required) out.push(or(present));
  return and(out);
}

/**
 * The names check: every name in the bag is a declared parameter (`string-subset`); a closed schema
 * also needs the bag given (not empty), so a closed schema that declares no parameter admits nothing.
 */
function namesCheck(declared: readonly string[], closed: boolean): Xml {
  const empty = bagSizeIs('string', NAMES, 0);
  if (declared.length === 0) return closed ? boolValue(false) : empty;
  const subset = apply(FN.stringSubset, [NAMES, apply(FN.stringBag, declared.map((n) => strValue(n)))]);
  return closed ? and([not(empty), subset]) : subset;
}

/** The checks of one action's parameter schema (false when the schema uses a keyword the PolicySet cannot check). */
function actionCheck(parameters: JsonObject): Xml {
  if (!Object.keys(parameters).every((k) => ANNOTATIONS.has(k) || TOP_KEYWORDS.has(k))) return boolValue(false);
  if (parameters['type'] !== undefined && parameters['type'] !== 'object') return boolValue(false);
  const rawProperties = parameters['properties'] ?? {};
  if (!isObject(rawProperties)) return boolValue(false);
  const rawRequired = parameters['required'] ?? [];
  if (!Array.isArray(rawRequired) || !rawRequired.every((r): r is string => typeof r === 'string' && Object.prototype.hasOwnProperty.call(rawProperties, r))) return boolValue(false);
  const required = new Set(rawRequired);
  const entries = Object.entries(rawProperties);
  // Parameters the schema does not declare are refused, closed schema or not: XACML cannot see their values.
  const closed = parameters['additionalProperties'] === false;
  return and([namesCheck(entries.map(([name]) => name).sort(), closed), ...entries.map(([name, schema]) => propertyCheck(name, schema, required.has(name)))]);
}

/** The proper prefixes of a context path that are themselves below `context` (`context.a.b.c` -> `context.a`, `context.a.b`). */
function contextParents(path: string): string[] {
  const segments = path.split('.');
  if (segments[0] !== 'context') return [];
  return segments.slice(2).map((_, i) => segments.slice(0, i + 2).join('.'));
}

/**
 * What a raw request may carry under `context`: values only at the paths the rules read and their
 * parents (`urn:ape:context-names`), nulls, lists and objects only as such parents
 * (`urn:ape:fact-present`), and well-formed strings where the rules read them. XACML cannot
 * enumerate attributes, so any other context value, which could nest deeper than APE allows or hold
 * a lone surrogate, is refused (fail closed).
 */
function contextCheck(ir: PolicyIR): Xml {
  const read = [...new Set(ir.rules.flatMap((r) => r.conditions.map((c) => c.path)).filter((p) => p.startsWith('context.')))].sort();
  const parents = [...new Set(read.flatMap(contextParents))].sort();
  const allowed = [...new Set([...read, ...parents])].sort();
  const subsetOf = (bag: Xml, names: string[]) => (names.length ? apply(FN.stringSubset, [bag, apply(FN.stringBag, names.map((n) => strValue(n)))]) : bagSizeIs('string', bag, 0));
  const wellFormed = read.map((path) => {
    const s = designator(CATEGORY.resource, factAttributeId(path, 'string'), 'string');
    return or([bagSizeIs('string', s, 0), anyOf(FN.stringRegexpMatch, strValue(lengthRegex(0, undefined)), s)]);
  });
  return and([
    subsetOf(designator(CATEGORY.resource, ATTRIBUTE.contextNames, 'string'), allowed),
    subsetOf(designator(CATEGORY.resource, ATTRIBUTE.otherFacts, 'string'), parents),
    ...wellFormed,
  ]);
}

/**
 * The schema-check variable: APE's requests pass; a raw request must pass its action's checks.
 * Only actions that can end in an allow are checked (those of allow rules, or every action when the
 * default is allow): elsewhere a failed check could only turn a deny or escalate into a deny. An
 * action without a definition takes no parameter on the raw path (the names bag must be empty).
 */
export function emitSchemaCheck(ir: PolicyIR): Xml {
  const defined = [...new Set([...STANDARD_ACTION_IDS, ...Object.keys(ir.actions)])].sort();
  const candidates = ir.defaultDecision === 'allow' ? defined : ir.rules.filter((r) => r.decision === 'allow').flatMap((r) => r.actions);
  const ids = [...new Set(candidates)].sort();
  const noNames = bagSizeIs('string', NAMES, 0);
  const perAction = ids.map((id) => {
    const definition = actionDefinition(ir, id);
    return or([not(anyOf(FN.stringEqual, strValue(id), ACTION)), definition ? actionCheck(definition.parameters) : noNames]);
  });
  if (ir.defaultDecision === 'allow') perAction.push(or([...ids.map((id) => anyOf(FN.stringEqual, strValue(id), ACTION)), noNames]));
  const candidate = ir.defaultDecision === 'allow' ? boolValue(true) : or(ids.map((id) => anyOf(FN.stringEqual, strValue(id), ACTION)));
  perAction.push(or([not(candidate), contextCheck(ir)]));
  return element('VariableDefinition', { VariableId: SCHEMA_VAR }, [or([varRef(CANONICAL_VAR), and(perAction)])]);
}
