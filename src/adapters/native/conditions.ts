/** One small compiled predicate per operator: the reference semantics of every condition. */
import { RE2JS } from 're2js';
import { globToRegExp } from '../../compiler/glob.js';
import type { ConditionIR, JsonValue } from '../../compiler/ir.js';

/** A condition compiled once: its type check and its predicate on a value that passed the check. */
export interface CompiledCondition {
  condition: ConditionIR;
  /** Whether the (present) value has the type the operator tests. */
  accepts(value: JsonValue): boolean;
  /** The predicate, on a value `accepts` returned true for. */
  test(value: JsonValue): boolean;
}

const isString = (v: JsonValue): boolean => typeof v === 'string';
const isNumber = (v: JsonValue): boolean => typeof v === 'number';
const any = (): boolean => true;
const isStringList = (v: JsonValue): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

function typeOf(values: readonly (string | number | boolean)[]): (v: JsonValue) => boolean {
  const types = new Set(values.map((v) => typeof v));
  return (v) => types.has(typeof v as 'string' | 'number' | 'boolean');
}

/** Compiles one condition (regexes and globs are built here, once). */
export function compileCondition(c: ConditionIR): CompiledCondition {
  const make = (accepts: (v: JsonValue) => boolean, test: (v: JsonValue) => boolean): CompiledCondition => ({ condition: c, accepts, test });
  switch (c.op) {
    case 'prefix':
      return make(isString, (v) => c.values.some((p) => (v as string).startsWith(p)));
    case 'suffix':
      return make(isString, (v) => c.values.some((s) => (v as string).endsWith(s)));
    case 'allowlist': {
      const globs = c.patterns.map(globToRegExp);
      return make(isString, (v) => globs.some((g) => g.test(v as string)));
    }
    case 'denylist': {
      const globs = c.patterns.map(globToRegExp);
      return make(isString, (v) => !globs.some((g) => g.test(v as string)));
    }
    case 'equals':
      return make(typeOf([c.value]), (v) => v === c.value);
    case 'one_of':
      return make(typeOf(c.values), (v) => c.values.includes(v as string | number | boolean));
    case 'min':
      return make(isNumber, (v) => (v as number) >= c.value);
    case 'max':
      return make(isNumber, (v) => (v as number) <= c.value);
    case 'min_length':
      return make(isNumber, (v) => (v as number) >= c.value);
    case 'max_length':
      return make(isNumber, (v) => (v as number) <= c.value);
    case 'regex': {
      const re = RE2JS.compile(c.pattern);
      return make(isString, (v) => re.matcher(v as string).find());
    }
    case 'exists':
      return make(any, () => c.value);
    case 'cidr':
      return make(isString, (v) => c.prefixes.some((p) => (v as string).startsWith(p)));
    case 'provenance':
      return make(isString, (v) => (c.labels as readonly string[]).includes(v as string));
    case 'source':
      return make(isStringList, (v) => (v as string[]).some((place) => c.names.includes(place)));
  }
}
