/** One XACML emitter per IR condition kind; `regex` is unrepresentable (RE2 and XML Schema regular expressions differ). */
import type { ConditionIR, ConditionOp, Decision, Scalar } from '../ir.js';
import { globRegex } from './regex.js';
import {
  and,
  anyOf,
  apply,
  boolValue,
  doubleValue,
  FN,
  not,
  or,
  strValue,
  varRef,
} from './vocabulary.js';
import type { Xml } from './writer.js';

/** The variables and bags of one fact (see `facts.ts`): a value of each type is "accepted" only when single and trusted. */
export interface FactRefs {
  /** Variable ids: the fact holds exactly one trusted string / finite double / boolean, or is present at all. */
  string: string;
  double: string;
  boolean: string;
  present: string;
  /** The fact may be present: some attribute holds it, or (without APE) it is derived and so unknown. */
  maybe: string;
  /** The fact holds a list of strings from APE (a `source` fact's places; never trusted raw). */
  list: string;
  /** The bags themselves (tests run `any-of` over them, false on an empty bag). */
  stringBag: Xml;
  doubleBag: Xml;
  booleanBag: Xml;
  /** The strings of a list-of-strings fact. */
  listBag: Xml;
}

/** A condition in XACML: the type check, and the predicate on a value that passed it. */
export interface ConditionXacml {
  accepted: Xml;
  test: Xml;
  /** For `exists`: the fact may be present (a value that can't be trusted is neither present nor absent). */
  maybe?: Xml;
}

/** Why a condition has no XACML form. */
export interface Unrepresentable {
  unrepresentable: string;
}

type Emitter<C extends ConditionIR> = (c: C, f: FactRefs) => ConditionXacml | Unrepresentable;
type Emitters = { [K in ConditionOp]: Emitter<Extract<ConditionIR, { op: K }>> };

const onString = (f: FactRefs, test: Xml): ConditionXacml => ({ accepted: varRef(f.string), test });

const startsWith = (f: FactRefs, prefixes: readonly string[]): Xml => or(prefixes.map((p) => anyOf(FN.stringStartsWith, strValue(p), f.stringBag)));
const endsWith = (f: FactRefs, suffixes: readonly string[]): Xml => or(suffixes.map((s) => anyOf(FN.stringEndsWith, strValue(s), f.stringBag)));
const globs = (f: FactRefs, patterns: readonly string[]): Xml => or(patterns.map((p) => anyOf(FN.stringRegexpMatch, strValue(globRegex(p)), f.stringBag)));
const stringIn = (f: FactRefs, values: readonly string[]): Xml => or([...new Set(values)].map((v) => anyOf(FN.stringEqual, strValue(v), f.stringBag)));

/**
 * `x >= v` and `x <= v` on the double bag. Zero is written as -0.0 on the `>=` side and 0.0 on the
 * `<=` side, so the comparison is JavaScript's whether the PDP orders doubles by IEEE 754 or by
 * `Double.compare` (which puts -0.0 below 0.0).
 */
const atLeast = (f: FactRefs, v: number): Xml => anyOf(FN.doubleLe, doubleValue(v === 0 ? -0 : v), f.doubleBag);
const atMost = (f: FactRefs, v: number): Xml => anyOf(FN.doubleGe, doubleValue(v === 0 ? 0 : v), f.doubleBag);
const onNumber = (f: FactRefs, test: Xml): ConditionXacml => ({ accepted: varRef(f.double), test });

/** `equals` / `one_of`: exact equality with no coercion, each JSON type on its own bag. */
function scalars(values: readonly Scalar[], f: FactRefs): ConditionXacml {
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = [...new Set(values.filter((v): v is number => typeof v === 'number').map((n) => n + 0))];
  const bools = [...new Set(values.filter((v): v is boolean => typeof v === 'boolean'))];
  const accepted: Xml[] = [];
  const tests: Xml[] = [];
  if (strings.length) {
    accepted.push(varRef(f.string));
    tests.push(and([varRef(f.string), stringIn(f, strings)]));
  }
  if (numbers.length) {
    accepted.push(varRef(f.double));
    tests.push(and([varRef(f.double), or(numbers.map((n) => and([atLeast(f, n), atMost(f, n)])))]));
  }
  if (bools.length) {
    accepted.push(varRef(f.boolean));
    tests.push(and([varRef(f.boolean), or(bools.map((b) => anyOf(FN.booleanEqual, boolValue(b), f.booleanBag)))]));
  }
  return { accepted: or(accepted), test: or(tests) };
}

/** The emitters, one per operator. */
export const CONDITION_EMITTERS = {
  prefix: (c, f) => onString(f, startsWith(f, c.values)),
  suffix: (c, f) => onString(f, endsWith(f, c.values)),
  allowlist: (c, f) => onString(f, globs(f, c.patterns)),
  denylist: (c, f) => onString(f, not(globs(f, c.patterns))),
  equals: (c, f) => scalars([c.value], f),
  one_of: (c, f) => scalars(c.values, f),
  min: (c, f) => onNumber(f, atLeast(f, c.value)),
  max: (c, f) => onNumber(f, atMost(f, c.value)),
  min_length: (c, f) => onNumber(f, atLeast(f, c.value)),
  max_length: (c, f) => onNumber(f, atMost(f, c.value)),
  regex: () => ({ unrepresentable: "XACML's regular expressions (XML Schema syntax, Unicode code points) are not RE2's" }),
  exists: (c, f) => ({ accepted: varRef(f.present), test: boolValue(c.value), maybe: varRef(f.maybe) }),
  cidr: (c, f) => onString(f, startsWith(f, c.prefixes)),
  provenance: (c, f) => onString(f, stringIn(f, c.labels)),
  source: (c, f) => ({ accepted: varRef(f.list), test: apply(FN.stringAtLeastOneMemberOf, [apply(FN.stringBag, c.names.map(strValue)), f.listBag]) }),
} satisfies Emitters;

/** Emits one condition (dispatching on its operator). */
export function emitCondition(c: ConditionIR, f: FactRefs): ConditionXacml | Unrepresentable {
  return (CONDITION_EMITTERS[c.op] as Emitter<ConditionIR>)(c, f);
}

/**
 * When the condition holds inside a rule with this decision: an absent, untrusted or wrongly typed
 * fact makes an allow rule's condition fail and a deny/escalate rule's condition hold (fail
 * closed). `exists` tests presence itself, and an untrusted value (which APE might canonicalize to
 * a present value or to nothing) counts against the rule's decision when it is allow and for it
 * otherwise.
 */
export function holds(c: ConditionIR, e: ConditionXacml, decision: Decision): Xml {
  if (c.op === 'exists') {
    const maybe = e.maybe ?? e.accepted;
    if (decision === 'allow') return c.value ? e.accepted : not(maybe);
    return c.value ? maybe : not(e.accepted);
  }
  if (decision === 'allow') return and([e.accepted, e.test]);
  return or([not(e.accepted), e.test]);
}
