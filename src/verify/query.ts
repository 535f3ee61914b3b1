/**
 * One solver query over the facts of one action: declarations, fact domains, the caller's assertions,
 * and the search for a counterexample the native evaluator confirms (blocking any it does not).
 *
 * Regex memberships are Boolean atoms, solved lazily (DPLL(T) style): the solver first finds a model with
 * the atoms free; then, for each string fact, one membership in the intersection of its atoms' regexes (or
 * their complements) and its canonical-form domain picks the string. An empty intersection becomes a lemma
 * blocking that combination, and the solver tries again. Z3 decides one membership in an intersection far
 * faster than several memberships of the same string.
 */
import type { FactSpec } from '../compiler/engine-input.js';
import type { PolicyIR } from '../compiler/ir.js';
import type { Membership, OpaqueRegistry } from './encode.js';
import { factDomain, factLinks, factSymbol, PREV, prevDomain, READABLE_RE } from './facts.js';
import { buildRequest, type RequestLine } from './realize.js';
import { and, app, assert, atom, declareConst, fitsAlphabet, fixed, not, PRELUDE, realLit, strLit, sym, type Smt } from './smtlib.js';
import { checkSmt, type ModelValue } from './solver.js';

/** How many models a search tries before it answers `unknown`. */
const MAX_ATTEMPTS = 4;

/** Time given to the search for a more readable model once a model is found. */
const READABLE_TIMEOUT_MS = 1_000;

/** How many rounds of string lemmas one solve may take. */
const MAX_ROUNDS = 64;

/** The outcome of a counterexample search. */
export type SearchResult =
  | { status: 'unsat' }
  | { status: 'unknown'; reason: string }
  | { status: 'sat'; request: RequestLine; model: Map<string, ModelValue> };

interface Atom {
  symbol: Smt;
  /** The symbol's name (as models report it). */
  name: string;
  re: Smt;
}

/** A query under construction. */
export class Query {
  readonly specs: FactSpec[] = [];
  readonly #assertions: Smt[] = [];
  readonly #decls: Smt[] = [];
  /** Canonical-form regexes of string facts, by fact term. */
  readonly #domains = new Map<Smt, Smt[]>();
  /** Membership atoms by fact term. */
  readonly #atoms = new Map<Smt, Atom[]>();
  /** Lemmas: atom combinations no string satisfies. */
  readonly #lemmas: Smt[] = [];
  readonly opaque: OpaqueRegistry;
  readonly ir: PolicyIR;
  readonly action: string;
  conflict: string | undefined;

  /** A query about `action`; `ir` supplies parameter schemas for domains and requests. */
  constructor(ir: PolicyIR, action: string, opaque: OpaqueRegistry) {
    this.ir = ir;
    this.action = action;
    this.opaque = opaque;
    this.#decls.push(declareConst(PREV, 'Fact'));
    this.#assertions.push(assert(prevDomain(PREV)));
  }

  /** The membership writer of this query: one Boolean atom per distinct (fact, regex). */
  readonly member: Membership = (v, re) => {
    const list = this.#atoms.get(v) ?? [];
    let atom = list.find((a) => a.re === re);
    if (!atom) {
      const name = `m#${[...this.#atoms.values()].reduce((n, l) => n + l.length, 0)}`;
      atom = { symbol: sym(name), name, re };
      list.push(atom);
      this.#atoms.set(v, list);
      this.#decls.push(declareConst(atom.symbol, 'Bool'));
    }
    return atom.symbol;
  };

  /** Adds facts (the same fact twice must be read the same way, else the query is marked conflicting). */
  addFacts(specs: readonly FactSpec[], ir: PolicyIR = this.ir): void {
    for (const spec of specs) {
      const existing = this.specs.find((s) => s.fact === spec.fact);
      if (existing) {
        if (existing.resolved.kind !== spec.resolved.kind || existing.resolved.derived !== spec.resolved.derived) {
          this.conflict = `fact '${spec.fact}' is read as ${existing.resolved.factKind} and as ${spec.resolved.factKind}`;
        }
        if (ir !== this.ir) this.#domain(spec, ir);
        continue;
      }
      this.specs.push(spec);
      this.#decls.push(declareConst(factSymbol(spec.fact), 'Fact'));
      this.#domain(spec, this.ir);
      if (ir !== this.ir) this.#domain(spec, ir);
    }
  }

  #domain(spec: FactSpec, ir: PolicyIR): void {
    const domain = factDomain(ir, this.action, spec, factSymbol(spec.fact));
    this.#assertions.push(assert(domain.eager));
    if (domain.lazy) this.#domains.set(factSymbol(spec.fact), [...(this.#domains.get(factSymbol(spec.fact)) ?? []), domain.lazy]);
  }

  /** The length fact linked to a value fact (same parameter), if the query reads both. */
  #lengthOf(v: Smt): Smt | undefined {
    const value = this.specs.find((s) => factSymbol(s.fact) === v && s.transform === 'value' && s.resolved.derived === undefined);
    if (!value) return undefined;
    const key = value.resolved.segments.join('\u0000');
    const length = this.specs.find((s) => s.transform === 'length' && s.resolved.derived === undefined && s.resolved.source === value.resolved.source && s.resolved.segments.join('\u0000') === key);
    return length ? factSymbol(length.fact) : undefined;
  }

  /**
   * Picks the string of one fact for the atom values of a model: one membership in an intersection.
   * Returns the string, a lemma (the combination is empty), or unknown.
   */
  async #pickString(v: Smt, model: Map<string, { value: ModelValue; term: string }>, timeoutMs: number): Promise<{ value: string } | { lemma: Smt } | { unknown: string }> {
    const atoms = this.#atoms.get(v) ?? [];
    const lits: Smt[] = [];
    const res: Smt[] = [...(this.#domains.get(v) ?? [])];
    for (const a of atoms) {
      const truth = model.get(a.name)?.value;
      const on = truth?.kind === 'truth' && truth.value;
      lits.push(on ? a.symbol : not(a.symbol));
      res.push(on ? a.re : app('re.comp', a.re));
    }
    const s = sym('s');
    const length = this.#lengthOf(v);
    const lengthValue = length ? model.get(length.slice(1, -1))?.value : undefined;
    const lengthTerm = lengthValue?.kind === 'num' ? fixed(String(lengthValue.value)) : undefined;
    const text = (readable: boolean) => {
      const all = readable ? [...res, READABLE_RE] : res;
      const lines: Smt[] = [declareConst(s, 'String')];
      if (all.length > 0) lines.push(assert(app('str.in_re', s, all.length === 1 ? (all[0] as Smt) : app('re.inter', ...all))));
      if (lengthTerm) lines.push(assert(app('=', app('str.len', s), lengthTerm)));
      return lines.join('\n');
    };
    let result = await checkSmt(text(true), Math.min(timeoutMs, READABLE_TIMEOUT_MS));
    if (result.status !== 'sat') result = await checkSmt(text(false), timeoutMs);
    if (result.status === 'unknown') return { unknown: result.reason };
    if (result.status === 'unsat') {
      const lemma = lengthTerm && length ? [...lits, app('=', length, app('num', app('to_real', lengthTerm)))] : lits;
      return { lemma: lemma.length === 0 ? fixed('false') : not(and(...lemma)) };
    }
    const picked = result.model.get('s')?.value;
    return picked?.kind === 'string' ? { value: picked.value } : { unknown: 'no string in the model' };
  }

  /**
   * Solves the query with extra assertions: sat with every fact's value, unsat, or unknown.
   * Lemmas learnt on the way are kept (they hold for every later call).
   */
  async solve(extra: Smt[], timeoutMs: number): Promise<{ status: 'sat'; model: Map<string, ModelValue> } | { status: 'unsat' } | { status: 'unknown'; reason: string }> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const result = await checkSmt(this.text([...extra, ...this.#lemmas]), timeoutMs);
      if (result.status !== 'sat') return result;
      const values = new Map<string, ModelValue>();
      for (const [name, entry] of result.model) values.set(name, entry.value);
      let learnt = false;
      for (const v of [...this.specs.map((spec) => factSymbol(spec.fact)), PREV]) {
        const name = v.slice(1, -1);
        if (values.get(name)?.kind !== 'str') continue;
        const picked = await this.#pickString(v, result.model, timeoutMs);
        if ('unknown' in picked) return { status: 'unknown', reason: picked.unknown };
        if ('lemma' in picked) {
          this.#lemmas.push(assert(picked.lemma));
          learnt = true;
          break;
        }
        values.set(name, { kind: 'str', value: picked.value });
      }
      if (!learnt) return { status: 'sat', model: values };
    }
    return { status: 'unknown', reason: `no model after ${MAX_ROUNDS} rounds of string lemmas` };
  }

  /** Declares a decision constant equal to a decision term; returns its symbol. */
  decision(name: string, term: Smt): Smt {
    const s = sym(`decision:${name}`);
    this.#decls.push(declareConst(s, 'Decision'));
    this.#assertions.push(assert(app('=', s, term)));
    return s;
  }

  /** Adds an assertion. */
  assert(term: Smt): void {
    this.#assertions.push(assert(term));
  }

  /** The SMT-LIB text of the query, with extra assertions. */
  text(extra: Smt[] = []): string {
    const links = factLinks(this.specs, (f) => factSymbol(f)).map(assert);
    return [PRELUDE, ...this.opaque.declarations(), ...this.#decls, ...this.#assertions, ...links, ...extra].join('\n');
  }

  /**
   * Searches for a model whose request `confirm` accepts (it decides the request natively).
   * Models it rejects are blocked and the search goes on, a few times, then answers `unknown`.
   */
  async search(timeoutMs: number, confirm: (request: RequestLine, model: Map<string, ModelValue>) => string | undefined): Promise<SearchResult> {
    const blocks: Smt[] = [];
    let lastWhy = '';
    const symbols = [...this.specs.map((s) => ({ name: `f:${s.fact}`, term: factSymbol(s.fact) })), { name: 'previous_action', term: PREV }];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await this.solve(blocks, timeoutMs);
      if (result.status === 'unsat') return attempt === 0 ? { status: 'unsat' } : { status: 'unknown', reason: `no confirmed counterexample: ${lastWhy}` };
      if (result.status === 'unknown') return result;
      const values = new Map<string, ModelValue>();
      const terms: Smt[] = [];
      for (const s of symbols) {
        const value = result.model.get(s.name);
        if (!value) continue;
        values.set(s.name === 'previous_action' ? '\u0000prev' : s.name.slice(2), value);
        const term = valueTerm(value);
        if (term) terms.push(app('=', s.term, term));
      }
      for (const [name, value] of result.model) if (name.startsWith('decision:')) values.set(`\u0000${name}`, value);
      const built = buildRequest(this.ir, this.action, this.specs, values, values.get('\u0000prev'));
      const why = 'error' in built ? built.error : confirm(built, values);
      if (why === undefined && !('error' in built)) return { status: 'sat', request: built, model: values };
      lastWhy = why ?? '';
      if (terms.length === 0) break;
      blocks.push(assert(not(and(...terms))));
    }
    return { status: 'unknown', reason: `the solver's counterexamples did not survive the native evaluator (${lastWhy})` };
  }
}

/** A fact value as an SMT term (for blocking a model). */
function valueTerm(value: ModelValue): Smt | undefined {
  switch (value.kind) {
    case 'absent':
    case 'other':
      return atom(value.kind);
    case 'str':
      return fitsAlphabet(value.value) ? app('str', strLit(value.value)) : undefined;
    case 'num':
      return app('num', realLit(value.value));
    case 'bool':
      return app('bool', atom(value.value ? 'true' : 'false'));
    default:
      return undefined;
  }
}

/** The model's value of a decision constant. */
export function modelDecision(model: Map<string, ModelValue>, name: string): 'allow' | 'deny' | 'escalate' | undefined {
  const v = model.get(`\u0000decision:${name}`);
  return v?.kind === 'decision' ? v.value : undefined;
}
