/**
 * One Rego emitter per IR condition kind. Each names the library predicate that tests the
 * condition and the operand it passes; the rule writer decides how a missing value counts.
 */
import type { ConditionIR, ConditionOp, JsonObject } from '../ir.js';
import { literal, type Code } from './writer.js';

/** The library predicates (see `library.ts`): `_<name>` holds, `_not_<name>` fails, both on a well-typed value. */
export type Predicate = 'prefix' | 'suffix' | 'glob' | 'outside' | 'equals' | 'one_of' | 'min' | 'max' | 'regex' | 'label' | 'source';

/** How one condition is tested in Rego. */
export type ConditionCode =
  /** A typed predicate with an operand: undefined for a missing value, neither holding nor failing for a wrongly typed one. */
  | { kind: 'test'; predicate: Predicate; operand: Code }
  /** A presence test (`exists`). */
  | { kind: 'presence'; present: boolean };

/** The emitter of one condition kind. */
export type ConditionEmitter<K extends ConditionOp> = (c: Extract<ConditionIR, { op: K }>) => ConditionCode;

const test = (predicate: Predicate, operand: Code): ConditionCode => ({ kind: 'test', predicate, operand });

/**
 * A glob (`*` = any run of characters, `/` and newlines included; everything else literal) as an
 * anchored RE2 pattern, built at emit time. Matches exactly what the native evaluator's glob does.
 */
export function globToRe2(pattern: string): string {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&'))
    .join('.*');
  return `(?s)^${body}$`;
}

/** A glob as data for the library's `_glob_match`: exact text, prefix/suffix/middle parts, or (rarely) a regex. */
export type GlobSpec = { equals: string } | { prefix: string; suffix: string; middle: string[] } | { regex: string };

/**
 * Compiles a glob for the string builtins (native in OPA's WASM, unlike a regex, which it would
 * compile on every evaluation): text between stars must appear in order, which a leftmost search
 * decides. Globs with more than two inner parts fall back to the anchored regex.
 */
export function globSpec(pattern: string): GlobSpec {
  const parts = pattern.split('*');
  if (parts.length === 1) return { equals: pattern };
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  if (middle.length > 2) return { regex: globToRe2(pattern) };
  return { prefix: parts[0] ?? '', suffix: parts[parts.length - 1] ?? '', middle };
}

const globs = (patterns: readonly string[]): Code => literal(patterns.map((p) => globSpec(p) as unknown as JsonObject));

/** Every condition kind's emitter: a missing kind is a compile error. */
export const CONDITION_EMITTERS = {
  prefix: (c) => test('prefix', literal(c.values)),
  suffix: (c) => test('suffix', literal(c.values)),
  allowlist: (c) => test('glob', globs(c.patterns)),
  denylist: (c) => test('outside', globs(c.patterns)),
  equals: (c) => test('equals', literal(c.value)),
  one_of: (c) => test('one_of', literal(c.values)),
  min: (c) => test('min', literal(c.value)),
  max: (c) => test('max', literal(c.value)),
  min_length: (c) => test('min', literal(c.value)),
  max_length: (c) => test('max', literal(c.value)),
  regex: (c) => test('regex', literal(c.pattern)),
  exists: (c) => ({ kind: 'presence', present: c.value }),
  cidr: (c) => test('prefix', literal(c.prefixes)),
  provenance: (c) => test('label', literal(c.labels)),
  source: (c) => test('source', literal(c.names)),
} as const satisfies { [K in ConditionOp]: ConditionEmitter<K> };

/** The Rego of one condition. */
export function conditionCode(c: ConditionIR): ConditionCode {
  return (CONDITION_EMITTERS[c.op] as ConditionEmitter<typeof c.op>)(c as never);
}
