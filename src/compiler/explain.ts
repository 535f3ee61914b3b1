/**
 * The texts of decision reasons, fixed at compile time so every engine renders them identically:
 * a reason is static text, or static text around the (string) value that failed.
 */
import type { ConditionIR, Decision, PolicyIR, Scalar } from './ir.js';

/**
 * A reason with no value in it, or one that wraps the failing value: a string as it is, or (with
 * `places`) a list of places rendered by `placesText`.
 */
export type ReasonTemplate = { static: string } | { head: string; tail: string; places?: true };

/** Where a value was found, for a reason: `in a, b` (the list's order), or `nowhere` for an empty list. */
export function placesText(places: readonly string[]): string {
  return places.length === 0 ? 'nowhere' : `in ${places.join(', ')}`;
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

function scalarText(value: Scalar): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** Names of the JSON types that satisfy a condition's type check, for the "missing" reason. */
export function expectedTypeText(c: ConditionIR): string {
  switch (c.op) {
    case 'equals':
      return typeof c.value;
    case 'one_of':
      return [...new Set(c.values.map((v) => typeof v))].sort().join(' or ');
    case 'min':
    case 'max':
      return 'number';
    case 'min_length':
    case 'max_length':
      return 'string or list';
    case 'cidr':
      return 'IP address';
    case 'provenance':
      return 'labelled value';
    case 'source':
      return 'list of places';
    default:
      return 'string';
  }
}

/** Why a condition fails on a value that is absent, invalid or of the wrong type. */
export function missingReason(c: ConditionIR): string {
  if (c.op === 'exists') return c.value ? `${c.path} is missing` : `${c.path} is present`;
  return `${c.path} is missing, invalid or not a ${expectedTypeText(c)}`;
}

/** Why a condition fails on a present value of the right type. */
export function failureTemplate(c: ConditionIR): ReasonTemplate {
  const p = c.path;
  switch (c.op) {
    case 'prefix':
      return { head: `${p} '`, tail: `' does not start with any of ${quoteList(c.values)}` };
    case 'suffix':
      return { head: `${p} '`, tail: `' does not end with any of ${quoteList(c.values)}` };
    case 'allowlist':
      return { head: `${p} '`, tail: `' matches none of ${quoteList(c.patterns)}` };
    case 'denylist':
      return { head: `${p} '`, tail: `' matches a denied pattern of ${quoteList(c.patterns)}` };
    case 'regex':
      return { head: `${p} '`, tail: `' does not match /${c.pattern}/` };
    case 'equals':
      return { static: `${p} does not equal ${scalarText(c.value)}` };
    case 'one_of':
      return { static: `${p} is not one of ${c.values.map(scalarText).join(', ')}` };
    case 'min':
      return { static: `${p} is less than ${String(c.value)}` };
    case 'max':
      return { static: `${p} is greater than ${String(c.value)}` };
    case 'min_length':
      return { static: `${p} is shorter than ${String(c.value)}` };
    case 'max_length':
      return { static: `${p} is longer than ${String(c.value)}` };
    case 'exists':
      return { static: missingReason(c) };
    case 'cidr':
      return { static: `${p} is not in any of ${quoteList(c.ranges)}` };
    case 'provenance':
      return { head: `${p} comes from '`, tail: `', not from ${quoteList(c.labels)}` };
    case 'source':
      return { head: `${p} was found `, tail: `, not in any of ${c.names.join(', ')}`, places: true };
  }
}

/** Renders a template with the failing value. */
export function renderReason(template: ReasonTemplate, value: unknown): string {
  if ('static' in template) return template.static;
  const text = template.places ? placesText(value as string[]) : String(value);
  return `${template.head}${text}${template.tail}`;
}

/** Prefix of a candidate allow rule's failure reason. */
export function candidatePrefix(ruleId: string): string {
  return `rule '${ruleId}': `;
}

/** The reason given when a rule decided. */
export function ruleDecidedReason(decision: Decision, ruleId: string): string {
  return `${decision} by rule '${ruleId}'`;
}

/** The reason given when no rule covers the action. */
export function noRuleReason(ir: PolicyIR, action: string): string {
  return `no rule matches action '${action}'; the default decision is ${ir.defaultDecision}`;
}

/** The reason given when a tool transition is not allowed. */
export function transitionReason(previous: string, action: string): string {
  return `'${action}' may not follow '${previous}' (tool_transitions)`;
}

/** The synthetic rule id reported for a tool transition denial. */
export const TRANSITION_RULE = 'tool_transitions';
