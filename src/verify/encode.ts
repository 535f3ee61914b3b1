/**
 * The decision function of a policy as SMT-LIB terms: one term per condition, per rule match and per
 * action decision, with the native evaluator's semantics (missing facts, precedence, risk, transitions).
 */
import type { ConditionIR, Decision, PolicyIR, RuleIR, Scalar } from '../compiler/ir.js';
import { factSymbol, PREV, PLACE_SEPARATOR } from './facts.js';
import { globRegex, prefixRegex, suffixRegex, translateRegex } from './regex.js';
import { and, app, atom, declarePredicate, fitsAlphabet, isCtor, ite, not, or, realLit, reConcat, reUnion, strLit, sym, type Smt } from './smtlib.js';

/** A condition the encoding can't express exactly: it becomes an uninterpreted predicate on the string. */
export interface Opaque {
  symbol: Smt;
  /** What the predicate stands for, e.g. `regex /\bfoo/`. */
  what: string;
  /** Why it is not translated. */
  reason: string;
}

/**
 * Uninterpreted predicates shared by every policy of one query, so that the same condition
 * in two policies is the same predicate (a semantic diff stays exact on shared regexes).
 */
export class OpaqueRegistry {
  readonly #byKey = new Map<string, Opaque>();

  /** The predicate for a condition (created on first use). */
  get(key: string, what: string, reason: string): Opaque {
    let entry = this.#byKey.get(key);
    if (!entry) {
      entry = { symbol: sym(`opaque#${this.#byKey.size}`), what, reason };
      this.#byKey.set(key, entry);
    }
    return entry;
  }

  /** Every predicate created so far. */
  all(): Opaque[] {
    return [...this.#byKey.values()];
  }

  /** Declarations of the predicates. */
  declarations(): Smt[] {
    return this.all().map((o) => declarePredicate(o.symbol));
  }
}

const DECISION_ATOM: Record<Decision, Smt> = { allow: atom('allow'), deny: atom('deny'), escalate: atom('escalate') };

/** Maps a fact key to the term holding its value. */
export type FactTerms = (fact: string) => Smt;

/** The encoding of one policy. */
export class PolicyEncoding {
  readonly ir: PolicyIR;
  readonly opaque: OpaqueRegistry;
  /** Opaque predicates this policy's conditions use, by rule id. */
  readonly opaqueByRule = new Map<string, Opaque[]>();

  /** How a membership of a fact's string value in a regex is written (queries turn them into atoms). */
  readonly member: Membership;

  constructor(ir: PolicyIR, opaque: OpaqueRegistry = new OpaqueRegistry(), member: Membership = directMembership) {
    this.ir = ir;
    this.opaque = opaque;
    this.member = member;
  }

  /** Rules covering an action, in policy order. */
  rulesOf(action: string): RuleIR[] {
    return this.ir.rules.filter((r) => r.actions.includes(action));
  }

  #opaque(rule: RuleIR | undefined, c: ConditionIR, what: string, reason: string): Smt {
    const entry = this.opaque.get(JSON.stringify([c.op, c]), what, reason);
    if (rule) {
      const list = this.opaqueByRule.get(rule.id) ?? [];
      if (!list.includes(entry)) list.push(entry);
      this.opaqueByRule.set(rule.id, list);
    }
    return entry.symbol;
  }

  /** Whether the string value of `v` is in the regex (or the opaque predicate when the regex is undefined). */
  #strTest(rule: RuleIR | undefined, c: ConditionIR, v: Smt, re: Smt | undefined, what: string): Smt {
    const s = app('str_val', v);
    if (re === undefined) return app(this.#opaque(rule, c, what, 'it uses characters beyond U+2FFFF'), s);
    return this.member(v, re);
  }

  /** The truth of one condition on a fact value `v` (`missingHolds` for deny and escalate rules). */
  condition(c: ConditionIR, v: Smt, missingHolds: boolean, rule?: RuleIR): Smt {
    if (c.op === 'exists') return c.value ? not(isCtor('absent', v)) : isCtor('absent', v);
    const isStr = isCtor('str', v);
    const isNum = isCtor('num', v);
    const s = app('str_val', v);
    const n = app('num_val', v);
    let typeOk: Smt;
    let test: Smt;
    switch (c.op) {
      case 'prefix':
        [typeOk, test] = [isStr, this.#strTest(rule, c, v, prefixRegex(c.values), `prefix ${c.values.join(', ')}`)];
        break;
      case 'suffix':
        [typeOk, test] = [isStr, this.#strTest(rule, c, v, suffixRegex(c.values), `suffix ${c.values.join(', ')}`)];
        break;
      case 'allowlist':
      case 'denylist': {
        const globs = c.patterns.map(globRegex);
        const re = globs.every((g) => g !== undefined) ? reUnion(...(globs as Smt[])) : undefined;
        const inList = this.#strTest(rule, c, v, re, `glob ${c.patterns.join(', ')}`);
        [typeOk, test] = [isStr, c.op === 'allowlist' ? inList : not(inList)];
        break;
      }
      case 'regex': {
        const translated = translateRegex(c.pattern);
        if ('regex' in translated) [typeOk, test] = [isStr, this.member(v, translated.regex)];
        else [typeOk, test] = [isStr, app(this.#opaque(rule, c, `regex /${c.pattern}/`, translated.unsupported), s)];
        break;
      }
      case 'cidr':
        [typeOk, test] = [isStr, this.member(v, prefixRegex(c.prefixes) as Smt)];
        break;
      case 'provenance':
        [typeOk, test] = [isStr, this.member(v, reUnion(...c.labels.map((l) => app('str.to_re', strLit(l)))))];
        break;
      case 'source':
        [typeOk, test] = [isStr, this.#places(rule, c, v)];
        break;
      case 'equals':
        [typeOk, test] = this.#scalars(rule, c, v, [c.value]);
        break;
      case 'one_of':
        [typeOk, test] = this.#scalars(rule, c, v, c.values);
        break;
      case 'min':
      case 'min_length':
        [typeOk, test] = [isNum, app('>=', n, realLit(c.value))];
        break;
      case 'max':
      case 'max_length':
        [typeOk, test] = [isNum, app('<=', n, realLit(c.value))];
        break;
    }
    return ite(typeOk, test, atom(missingHolds ? 'true' : 'false'));
  }

  /**
   * A `source` condition on a list of places written as one string (see `placesString`): some named
   * place, between separators. Names holding the separator or beyond the alphabet stay uninterpreted.
   */
  #places(rule: RuleIR | undefined, c: Extract<ConditionIR, { op: 'source' }>, v: Smt): Smt {
    if (!c.names.every((n) => fitsAlphabet(n) && !n.includes(PLACE_SEPARATOR))) {
      return app(this.#opaque(rule, c, `source ${c.names.join(', ')}`, 'a place name holds NUL or characters beyond U+2FFFF'), app('str_val', v));
    }
    const sep = app('str.to_re', strLit(PLACE_SEPARATOR));
    const names = reUnion(...c.names.map((n) => app('str.to_re', strLit(n))));
    return this.member(v, reConcat(atom('re.all'), sep, names, sep, atom('re.all')));
  }

  #scalars(rule: RuleIR | undefined, c: ConditionIR, v: Smt, values: readonly Scalar[]): [Smt, Smt] {
    const strings = values.filter((x): x is string => typeof x === 'string');
    const others = values.filter((x) => typeof x !== 'string');
    const types = [...new Set(values.map((x) => typeof x))];
    const stringTest = (): Smt[] => {
      if (strings.length === 0) return [];
      if (!strings.every(fitsAlphabet)) {
        const what = `equals ${strings.map((x) => `'${x}'`).join(', ')}`;
        return [and(isCtor('str', v), app(this.#opaque(rule, c, what, 'it uses characters beyond U+2FFFF'), app('str_val', v)))];
      }
      return [and(isCtor('str', v), this.member(v, reUnion(...strings.map((x) => app('str.to_re', strLit(x))))))];
    };
    const typeOk = or(...types.map((t) => isCtor(t === 'string' ? 'str' : t === 'number' ? 'num' : 'bool', v)));
    const test = or(
      ...stringTest(),
      ...others.map((x) => {
        if (typeof x === 'number') return and(isCtor('num', v), app('=', app('num_val', v), realLit(x)));
        return and(isCtor('bool', v), app('=', app('bool_val', v), atom(x ? 'true' : 'false')));
      }),
    );
    return [typeOk, test];
  }

  /** Whether a rule matches (all its conditions hold). */
  ruleMatch(rule: RuleIR, facts: FactTerms): Smt {
    const missingHolds = rule.decision !== 'allow';
    return and(...rule.conditions.map((c) => this.condition(c, facts(c.fact), missingHolds, rule)));
  }

  /** Whether a rule determines the decision: it matches and no rule ranked above it (or before it at equal rank) does. */
  ruleDecides(rule: RuleIR, action: string, facts: FactTerms): Smt {
    const rules = this.rulesOf(action);
    const index = rules.indexOf(rule);
    const above = rules.filter((r, i) => RANK[r.decision] > RANK[rule.decision] || (r.decision === rule.decision && i < index));
    return and(this.ruleMatch(rule, facts), ...above.map((r) => not(this.ruleMatch(r, facts))));
  }

  /** Whether `tool_transitions` denies the action after the previous action `prev`. */
  transitionDenies(action: string, prev: Smt): Smt {
    const keys = Object.entries(this.ir.toolTransitions)
      .filter(([, to]) => !to.includes(action))
      .map(([from]) => from)
      .filter(fitsAlphabet);
    if (keys.length === 0) return atom('false');
    return and(isCtor('str', prev), this.member(prev, reUnion(...keys.map((k) => app('str.to_re', strLit(k))))));
  }

  /** The decision the policy gives `action` on these facts after previous action `prev`. */
  decision(action: string, facts: FactTerms, prev: Smt = PREV): Smt {
    const rules = this.rulesOf(action);
    const matches = (d: Decision) => or(...rules.filter((r) => r.decision === d).map((r) => this.ruleMatch(r, facts)));
    const risky = this.ir.riskEscalations.some((e) => e.action === action);
    const outcome = (d: Decision) => DECISION_ATOM[d === 'allow' && risky ? 'escalate' : d];
    const base = ite(matches('deny'), outcome('deny'), ite(matches('escalate'), outcome('escalate'), ite(matches('allow'), outcome('allow'), outcome(this.ir.defaultDecision))));
    return ite(this.transitionDenies(action, prev), DECISION_ATOM.deny, base);
  }

  /** Actions whose transitions keys hold characters the solver can't represent (those keys are ignored: results are unknown). */
  unrepresentableTransitions(): string[] {
    return Object.keys(this.ir.toolTransitions).filter((k) => !fitsAlphabet(k));
  }
}

/** Writes "the string value of fact `v` is in regex `re`". */
export type Membership = (v: Smt, re: Smt) => Smt;

/** The plain membership term `(str.in_re (str_val v) re)` (exports use it). */
export const directMembership: Membership = (v, re) => app('str.in_re', app('str_val', v), re);

/** Precedence of decisions: deny > escalate > allow. */
export const RANK: Record<Decision, number> = { allow: 1, escalate: 2, deny: 3 };

/** The fact terms of query constants (`|f:<fact>|`). */
export const constantFacts: FactTerms = (fact) => factSymbol(fact);
