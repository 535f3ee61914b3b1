/** One Cedar emitter per IR condition kind; `regex` is unrepresentable (Cedar has no regular expressions). */
import type { ConditionIR, ConditionOp, Decision, Scalar } from '../ir.js';
import { keyParts, typedAttributes, usesIntEncoding, type FactAttributes } from './encoding.js';
import {
  and,
  bool,
  containsAny,
  ctx,
  ctxHas,
  ifThenElse,
  likePattern,
  long,
  not,
  op,
  or,
  setContains,
  str,
  WILDCARD,
  type Cedar,
} from './writer.js';

/** A condition in Cedar: the type check, and the predicate on a value that passed it. */
export interface ConditionCedar {
  /** The fact is present with a type the operator tests. */
  accepted: Cedar;
  /** The predicate. Valid Cedar under `accepted`; when `selfGuarded`, valid on its own. */
  test: Cedar;
  selfGuarded: boolean;
}

/** Why a condition has no Cedar form. */
export interface Unrepresentable {
  unrepresentable: string;
}

type Emitter<C extends ConditionIR> = (c: C, attrs: FactAttributes) => ConditionCedar | Unrepresentable;
type Emitters = { [K in ConditionOp]: Emitter<Extract<ConditionIR, { op: K }>> };

/** A number comparison, exact for every double (see `encoding.ts`): the attributes it reads, and the test. */
function numCompare(attrs: FactAttributes, operator: '>=' | '<=' | '==', value: number): { guard: Cedar; test: Cedar } {
  if (usesIntEncoding(value)) {
    const floor = op(ctx(attrs.floor), operator === '<=' ? '<=' : '>=', long(value));
    const ceil = op(ctx(attrs.ceil), '<=', long(value));
    if (operator === '>=') return { guard: ctxHas(attrs.floor), test: floor };
    if (operator === '<=') return { guard: ctxHas(attrs.ceil), test: ceil };
    return {
      guard: and([ctxHas(attrs.floor), ctxHas(attrs.ceil)]),
      test: and([op(ctx(attrs.floor), '==', long(value)), op(ctx(attrs.ceil), '==', long(value))]),
    };
  }
  const { khi, klo } = keyParts(value);
  const hi = ctx(attrs.khi);
  const lo = ctx(attrs.klo);
  const guard = and([ctxHas(attrs.khi), ctxHas(attrs.klo)]);
  if (operator === '==') return { guard, test: and([op(hi, '==', long(khi)), op(lo, '==', long(klo))]) };
  return { guard, test: or([op(hi, operator === '>=' ? '>' : '<', long(khi)), and([op(hi, '==', long(khi)), op(lo, operator, long(klo))])]) };
}

const onString = (attrs: FactAttributes, test: Cedar): ConditionCedar => ({ accepted: ctxHas(attrs.str), test, selfGuarded: false });
const onNumber = (attrs: FactAttributes, operator: '>=' | '<=', value: number): ConditionCedar => {
  const { guard, test } = numCompare(attrs, operator, value);
  return { accepted: guard, test, selfGuarded: false };
};
const like = (attrs: FactAttributes, parts: (string | typeof WILDCARD)[]): Cedar => op(ctx(attrs.str), 'like', likePattern(parts));

/** A glob (`*` = any run of characters, all else literal) as `like` pattern parts. */
export function globParts(glob: string): (string | typeof WILDCARD)[] {
  const parts: (string | typeof WILDCARD)[] = [];
  glob.split('*').forEach((literal, i) => {
    if (i > 0) parts.push(WILDCARD);
    if (literal) parts.push(literal);
  });
  return parts;
}

function stringIn(attrs: FactAttributes, values: readonly string[]): Cedar {
  if (values.length === 1) return op(ctx(attrs.str), '==', str(values[0] as string));
  return setContains(values.map(str), ctx(attrs.str));
}

/** `equals` / `one_of`: exact equality with no coercion, each JSON type on its own attribute. */
function scalars(values: readonly Scalar[], attrs: FactAttributes): ConditionCedar {
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const bools = values.filter((v): v is boolean => typeof v === 'boolean');
  const accepted: Cedar[] = [];
  const tests: Cedar[] = [];
  if (strings.length) {
    accepted.push(ctxHas(attrs.str));
    tests.push(and([ctxHas(attrs.str), stringIn(attrs, [...new Set(strings)])]));
  }
  if (numbers.length) {
    const compares = [...new Set(numbers.map((n) => n + 0))].map((n) => numCompare(attrs, '==', n));
    accepted.push((compares[0] as { guard: Cedar }).guard);
    tests.push(or(compares.map((c) => and([c.guard, c.test]))));
  }
  if (bools.length) {
    accepted.push(ctxHas(attrs.bool));
    tests.push(and([ctxHas(attrs.bool), or([...new Set(bools)].map((b) => op(ctx(attrs.bool), '==', bool(b))))]));
  }
  return { accepted: or(accepted), test: or(tests), selfGuarded: true };
}

/** The emitters, one per operator. */
export const CONDITION_EMITTERS = {
  prefix: (c, a) => onString(a, or(c.values.map((v) => like(a, [v, WILDCARD])))),
  suffix: (c, a) => onString(a, or(c.values.map((v) => like(a, [WILDCARD, v])))),
  allowlist: (c, a) => onString(a, or(c.patterns.map((p) => like(a, globParts(p))))),
  denylist: (c, a) => onString(a, not(or(c.patterns.map((p) => like(a, globParts(p)))))),
  equals: (c, a) => scalars([c.value], a),
  one_of: (c, a) => scalars(c.values, a),
  min: (c, a) => onNumber(a, '>=', c.value),
  max: (c, a) => onNumber(a, '<=', c.value),
  min_length: (c, a) => onNumber(a, '>=', c.value),
  max_length: (c, a) => onNumber(a, '<=', c.value),
  regex: () => ({ unrepresentable: 'Cedar has no regular expressions' }),
  exists: (c, a) => ({ accepted: or(typedAttributes(a).map((t) => ctxHas(t.name))), test: bool(c.value), selfGuarded: true }),
  cidr: (c, a) => onString(a, or(c.prefixes.map((p) => like(a, [p, WILDCARD])))),
  provenance: (c, a) => onString(a, stringIn(a, c.labels)),
  source: (c, a) => ({ accepted: ctxHas(a.set), test: containsAny(ctx(a.set), c.names.map(str)), selfGuarded: false }),
} satisfies Emitters;

/** Emits one condition (dispatching on its operator). */
export function emitCondition(c: ConditionIR, attrs: FactAttributes): ConditionCedar | Unrepresentable {
  return (CONDITION_EMITTERS[c.op] as Emitter<ConditionIR>)(c, attrs);
}

/**
 * When the condition holds inside a rule with this decision: an absent or wrongly typed fact makes
 * an allow rule's condition fail and a deny/escalate rule's condition hold (fail closed); `exists`
 * tests presence itself.
 */
export function holds(c: ConditionIR, e: ConditionCedar, decision: Decision): Cedar {
  if (c.op === 'exists') return c.value ? e.accepted : not(e.accepted);
  if (decision === 'allow') return e.selfGuarded ? e.test : and([e.accepted, e.test]);
  return ifThenElse(e.accepted, e.test, bool(true));
}
