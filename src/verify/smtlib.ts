/** A small SMT-LIB 2 writer: every literal is quoted and every symbol checked, so no policy text can inject SMT code. */

/** An SMT-LIB term or command, only ever built by the helpers of this module. */
export type Smt = string & { readonly __smt: unique symbol };

/** The largest code point the solvers' string theory represents (Z3's default `unicode` encoding). */
export const MAX_SMT_CHAR = 0x2ffff;

const raw = (text: string): Smt => text as Smt;

/** A quoted symbol `|name|`; throws if the name holds `|` or `\` (callers pass generated names). */
export function sym(name: string): Smt {
  if (/[|\\]/.test(name)) throw new Error(`SMT symbol ${JSON.stringify(name)} contains | or \\`);
  return raw(`|${name}|`);
}

/** Whether every code point of a string fits the solver's alphabet. */
export function fitsAlphabet(value: string): boolean {
  for (const ch of value) if ((ch.codePointAt(0) as number) > MAX_SMT_CHAR) return false;
  return true;
}

/** A string literal: printable ASCII as is (`"` doubled), everything else (and `\`) as `\u{hex}`. */
export function strLit(value: string): Smt {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (cp > MAX_SMT_CHAR) throw new Error(`code point U+${cp.toString(16)} is outside the SMT string alphabet`);
    if (ch === '"') out += '""';
    else if (cp >= 0x20 && cp <= 0x7e && ch !== '\\') out += ch;
    else out += `\\u{${cp.toString(16)}}`;
  }
  return raw(`${out}"`);
}

/** A real literal whose value is the shortest decimal of a JS number (order- and equality-preserving for doubles). */
export function realLit(value: number): Smt {
  if (!Number.isFinite(value)) throw new Error(`${value} is not a finite number`);
  const magnitude = decimalText(Math.abs(value));
  return raw(value < 0 ? `(- ${magnitude})` : magnitude);
}

/** A non-negative integer literal. */
export function intLit(value: number): Smt {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${value} is not a natural number`);
  return raw(String(value));
}

function decimalText(value: number): string {
  const text = String(value);
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!match) throw new Error(`cannot write ${text} as an SMT decimal`);
  let digits = (match[1] as string) + (match[2] ?? '');
  let point = (match[1] as string).length + Number(match[3] ?? 0);
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(point).replace(/0+$/, '');
  return `${whole}.${fraction || '0'}`;
}

/** An application `(head args...)`; with no arguments, the head alone. */
export function app(head: string, ...args: Smt[]): Smt {
  return raw(args.length === 0 ? head : `(${head} ${args.join(' ')})`);
}

/** A keyword or built-in constant (`true`, `re.all`, `allow`...). */
export function atom(name: 'true' | 'false' | 're.all' | 're.allchar' | 're.none' | 'absent' | 'other' | 'allow' | 'deny' | 'escalate'): Smt {
  return raw(name);
}

/** Conjunction, simplified for zero and one operand. */
export function and(...terms: Smt[]): Smt {
  const kept = terms.filter((t) => t !== 'true');
  if (kept.includes('false' as Smt)) return raw('false');
  return kept.length === 0 ? raw('true') : kept.length === 1 ? (kept[0] as Smt) : app('and', ...kept);
}

/** Disjunction, simplified for zero and one operand. */
export function or(...terms: Smt[]): Smt {
  const kept = terms.filter((t) => t !== 'false');
  if (kept.includes('true' as Smt)) return raw('true');
  return kept.length === 0 ? raw('false') : kept.length === 1 ? (kept[0] as Smt) : app('or', ...kept);
}

/** Negation, simplified for constants. */
export function not(term: Smt): Smt {
  return term === 'true' ? raw('false') : term === 'false' ? raw('true') : app('not', term);
}

/** If-then-else, simplified for a constant condition. */
export function ite(cond: Smt, then: Smt, otherwise: Smt): Smt {
  return cond === 'true' ? then : cond === 'false' ? otherwise : then === otherwise ? then : app('ite', cond, then, otherwise);
}

/** A regex union, simplified for zero and one operand. */
export function reUnion(...terms: Smt[]): Smt {
  return terms.length === 0 ? raw('re.none') : terms.length === 1 ? (terms[0] as Smt) : app('re.union', ...terms);
}

/** A regex concatenation, simplified for zero and one operand. */
export function reConcat(...terms: Smt[]): Smt {
  return terms.length === 0 ? app('str.to_re', strLit('')) : terms.length === 1 ? (terms[0] as Smt) : app('re.++', ...terms);
}

/** A bounded repetition `((_ re.loop lo hi) r)`. */
export function reLoop(term: Smt, lo: number, hi: number): Smt {
  return raw(`((_ re.loop ${intLit(lo)} ${intLit(hi)}) ${term})`);
}

/** A tester `((_ is ctor) term)`. */
export function isCtor(ctor: 'absent' | 'str' | 'num' | 'bool' | 'other', term: Smt): Smt {
  return raw(`((_ is ${ctor}) ${term})`);
}

/** An SMT-LIB comment line (newlines in the text become separate comment lines). */
export function comment(text: string): Smt {
  return raw(
    text
      .split('\n')
      .map((line) => `; ${line}`)
      .join('\n'),
  );
}

/** `(declare-const name sort)`. */
export function declareConst(name: Smt, sort: 'Fact' | 'Decision' | 'String' | 'Bool'): Smt {
  return raw(`(declare-const ${name} ${sort})`);
}

/** `(declare-fun name (String) Bool)`: an uninterpreted string predicate. */
export function declarePredicate(name: Smt): Smt {
  return raw(`(declare-fun ${name} (String) Bool)`);
}

/** `(define-fun name ((p sort)...) result body)`. */
export function defineFun(name: Smt, params: [Smt, 'Fact' | 'String'][], result: 'Bool' | 'Decision', body: Smt): Smt {
  return raw(`(define-fun ${name} (${params.map(([p, s]) => `(${p} ${s})`).join(' ')}) ${result}\n  ${body})`);
}

/** `(assert term)`. */
export function assert(term: Smt): Smt {
  return raw(`(assert ${term})`);
}

/** A verbatim fragment: only for fixed text written in this package (never policy data). */
export function fixed(text: string): Smt {
  return raw(text);
}

/** The datatypes every encoding starts with: a fact value and a decision. */
export const PRELUDE: Smt = fixed(
  [
    '(declare-datatypes ((Fact 0)) (((absent) (str (str_val String)) (num (num_val Real)) (bool (bool_val Bool)) (other))))',
    '(declare-datatypes ((Decision 0)) (((allow) (deny) (escalate))))',
  ].join('\n'),
);
