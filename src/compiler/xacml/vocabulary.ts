/** XACML 3.0 vocabulary the target uses: namespaces, data types, functions, categories and APE's attribute ids. */
import { element, textElement, type Xml } from './writer.js';

/** The XACML 3.0 core schema namespace. */
export const XACML_NS = 'urn:oasis:names:tc:xacml:3.0:core:schema:wd-17';

/** The XML Schema data types the policies and requests use. */
export const DATATYPE = {
  string: 'http://www.w3.org/2001/XMLSchema#string',
  double: 'http://www.w3.org/2001/XMLSchema#double',
  boolean: 'http://www.w3.org/2001/XMLSchema#boolean',
  integer: 'http://www.w3.org/2001/XMLSchema#integer',
} as const;
/** A data type name. */
export type DataTypeName = keyof typeof DATATYPE;

/** Attribute categories. */
export const CATEGORY = {
  action: 'urn:oasis:names:tc:xacml:3.0:attribute-category:action',
  resource: 'urn:oasis:names:tc:xacml:3.0:attribute-category:resource',
  environment: 'urn:oasis:names:tc:xacml:3.0:attribute-category:environment',
} as const;

/** APE's attribute ids (see docs/xacml.md for the request encoding). */
export const ATTRIBUTE = {
  /** The action id (action category, string, exactly one value). */
  action: 'urn:oasis:names:tc:xacml:1.0:action:action-id',
  /** The previous action of the session (action category, string, at most one value). */
  previousAction: 'urn:ape:previous-action',
  /** Names of facts present with a value that is not a string, number or boolean (resource category, string bag). */
  otherFacts: 'urn:ape:fact-present',
  /** Names of facts holding a list of strings (the places of a `source` fact; resource category, string bag). */
  listFacts: 'urn:ape:fact-list',
  /** The names of the request's top-level parameters (resource category, string bag; required for raw requests to actions with a closed schema). */
  paramNames: 'urn:ape:param-names',
  /** The dotted names of every value the request carries under `context`, at every level (resource category, string bag; raw requests). */
  contextNames: 'urn:ape:context-names',
  /** `true` when the facts were canonicalized by APE (environment category, boolean). */
  canonical: 'urn:ape:facts-canonical',
  /** The IR hash of the policy the caller means (environment category, string; only a multi-policy root reads it). */
  policyHash: 'urn:ape:policy-hash',
} as const;

/**
 * The attribute id of a fact of one type (resource category): `urn:ape:fact:<type>:<fact key>`.
 * One id per type, because a PDP may not read one attribute with several data types. `list` holds
 * the strings of a list-of-strings fact as a string bag.
 */
export function factAttributeId(fact: string, type: 'string' | 'double' | 'boolean' | 'list'): string {
  return `urn:ape:fact:${type}:${fact}`;
}

/** Obligation and advice ids, and the ids of the values they carry. */
export const PEP = {
  escalate: 'urn:ape:obligation:escalate',
  decision: 'urn:ape:advice:decision',
  explain: 'urn:ape:advice:explain',
  decisionValue: 'urn:ape:decision',
  rule: 'urn:ape:rule',
  reason: 'urn:ape:reason',
  explainRule: (index: number) => `urn:ape:explain:rule:${index}`,
  explainCondition: (rule: number, condition: number) => `urn:ape:explain:condition:${rule}:${condition}`,
  explainTransition: 'urn:ape:explain:transition',
} as const;

const F1 = 'urn:oasis:names:tc:xacml:1.0:function:';
const F3 = 'urn:oasis:names:tc:xacml:3.0:function:';
/** The functions the target calls. */
export const FN = {
  and: `${F1}and`,
  or: `${F1}or`,
  not: `${F1}not`,
  anyOf: `${F3}any-of`,
  stringEqual: `${F1}string-equal`,
  stringStartsWith: `${F3}string-starts-with`,
  stringEndsWith: `${F3}string-ends-with`,
  stringRegexpMatch: `${F1}string-regexp-match`,
  stringIsIn: `${F1}string-is-in`,
  stringAtLeastOneMemberOf: `${F1}string-at-least-one-member-of`,
  stringConcatenate: 'urn:oasis:names:tc:xacml:2.0:function:string-concatenate',
  stringOneAndOnly: `${F1}string-one-and-only`,
  stringBag: `${F1}string-bag`,
  stringSubset: `${F1}string-subset`,
  booleanEqual: `${F1}boolean-equal`,
  doubleGe: `${F1}double-greater-than-or-equal`,
  doubleLe: `${F1}double-less-than-or-equal`,
  doubleGt: `${F1}double-greater-than`,
  doubleLt: `${F1}double-less-than`,
  doubleEqual: `${F1}double-equal`,
  integerEqual: `${F1}integer-equal`,
  integerGe: `${F1}integer-greater-than-or-equal`,
  integerAdd: `${F1}integer-add`,
  bagSize: (type: DataTypeName) => `${F1}${type}-bag-size`,
} as const;

/** Combining algorithms. */
export const COMBINING = {
  denyOverridesRules: 'urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides',
  denyOverridesPolicies: 'urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-overrides',
  firstApplicablePolicies: 'urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:first-applicable',
} as const;

/** `<AttributeValue>` of a type. */
export function value(type: DataTypeName, text: string): Xml {
  return textElement('AttributeValue', { DataType: DATATYPE[type] }, text);
}

/** A string literal. */
export const strValue = (text: string): Xml => value('string', text);
/** A boolean literal. */
export const boolValue = (b: boolean): Xml => value('boolean', b ? 'true' : 'false');
/** An integer literal. */
export const intValue = (n: number): Xml => value('integer', String(n));

/** A double literal, exactly the IEEE value `n` (JavaScript's shortest round-trip form). */
export function doubleValue(n: number): Xml {
  if (!Number.isFinite(n)) throw new Error(`${n} is not a finite double`);
  return value('double', Object.is(n, -0) ? '-0.0' : String(n));
}

/** `<AttributeDesignator>` (never MustBePresent: an absent attribute is an empty bag). */
export function designator(category: string, attributeId: string, type: DataTypeName): Xml {
  return element('AttributeDesignator', { AttributeId: attributeId, Category: category, DataType: DATATYPE[type], MustBePresent: 'false' });
}

/** `<Apply>`. */
export function apply(functionId: string, args: readonly Xml[]): Xml {
  return element('Apply', { FunctionId: functionId }, args);
}

/** `<Function>` (an argument of a higher-order function). */
export function fn(functionId: string): Xml {
  return element('Function', { FunctionId: functionId });
}

/** `<VariableReference>`. */
export function varRef(id: string): Xml {
  return element('VariableReference', { VariableId: id });
}

/** Conjunction (`true` when empty). */
export function and(parts: readonly Xml[]): Xml {
  if (parts.length === 0) return boolValue(true);
  if (parts.length === 1) return parts[0] as Xml;
  return apply(FN.and, parts);
}

/** Disjunction (`false` when empty). */
export function or(parts: readonly Xml[]): Xml {
  if (parts.length === 0) return boolValue(false);
  if (parts.length === 1) return parts[0] as Xml;
  return apply(FN.or, parts);
}

/** Negation. */
export function not(e: Xml): Xml {
  return apply(FN.not, [e]);
}

/** `any-of(f, literal, bag)`: true when `f(literal, v)` holds for some `v` of the bag (false on an empty bag). */
export function anyOf(functionId: string, literal: Xml, bag: Xml): Xml {
  return apply(FN.anyOf, [fn(functionId), literal, bag]);
}

/** `<type>-bag-size(bag) == n`. */
export function bagSizeIs(type: DataTypeName, bag: Xml, n: number): Xml {
  return apply(FN.integerEqual, [apply(FN.bagSize(type), [bag]), intValue(n)]);
}
