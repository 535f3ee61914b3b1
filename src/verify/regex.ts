/**
 * RE2 patterns and globs as SMT-LIB regular expressions. Only a subset of RE2 translates exactly;
 * anything else comes back as `{ unsupported }` and the caller treats the condition as unknown.
 */
import { RE2JS } from 're2js';
import { app, atom, fitsAlphabet, MAX_SMT_CHAR, reConcat, reLoop, reUnion, strLit, type Smt } from './smtlib.js';

/** A translated pattern, or why it could not be translated. */
export type RegexTranslation = { regex: Smt } | { unsupported: string };

/** A glob (`*` = any run of characters, the rest literal), anchored, as a regex term; undefined if it leaves the alphabet. */
export function globRegex(pattern: string): Smt | undefined {
  if (!fitsAlphabet(pattern)) return undefined;
  const parts = pattern.split('*');
  const terms: Smt[] = [];
  parts.forEach((part, i) => {
    if (i > 0) terms.push(atom('re.all'));
    if (part) terms.push(app('str.to_re', strLit(part)));
  });
  return reConcat(...terms);
}

/** Strings starting with one of the prefixes, as a regex term; undefined if one leaves the alphabet. */
export function prefixRegex(prefixes: readonly string[]): Smt | undefined {
  if (!prefixes.every(fitsAlphabet)) return undefined;
  return reConcat(reUnion(...prefixes.map((p) => app('str.to_re', strLit(p)))), atom('re.all'));
}

/** Strings ending with one of the suffixes, as a regex term; undefined if one leaves the alphabet. */
export function suffixRegex(suffixes: readonly string[]): Smt | undefined {
  if (!suffixes.every(fitsAlphabet)) return undefined;
  return reConcat(atom('re.all'), reUnion(...suffixes.map((p) => app('str.to_re', strLit(p)))));
}

class Unsupported extends Error {}

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

/** Parsed nodes; a class is a sorted list of inclusive code point ranges. */
type Node =
  | { t: 'class'; ranges: [number, number][] }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number | null }
  | { t: 'bol' }
  | { t: 'eol' };

const MAX_CP = 0x10ffff;
const DIGIT: [number, number][] = [[0x30, 0x39]];
const WORD: [number, number][] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: [number, number][] = [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]];

function normalizeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function negate(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

let foldOrbits: Map<number, number[]> | undefined;

/** Case-fold orbits (simple case mappings), built once, each member confirmed by re2js. */
function orbit(cp: number): number[] {
  if (!foldOrbits) {
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      let p = parent.get(x) ?? x;
      while (p !== (parent.get(p) ?? p)) p = parent.get(p) ?? p;
      return p;
    };
    const unite = (a: number, b: number) => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(ra, rb);
    };
    for (let c = 0; c <= MAX_SMT_CHAR; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      for (const mapped of [ch.toLowerCase(), ch.toUpperCase()]) {
        const m = mapped.codePointAt(0) as number;
        if (mapped !== ch && [...mapped].length === 1) unite(c, m);
      }
    }
    const groups = new Map<number, number[]>();
    for (const c of parent.keys()) {
      const root = find(c);
      groups.set(root, [...(groups.get(root) ?? [root]), c]);
    }
    foldOrbits = new Map();
    for (const members of groups.values()) {
      const unique = [...new Set(members)];
      for (const m of unique) foldOrbits.set(m, unique);
    }
  }
  const members = foldOrbits.get(cp);
  if (!members) return [cp];
  const re = RE2JS.compile(`(?i)${RE2JS.quote(String.fromCodePoint(cp))}`);
  return members.filter((m) => m === cp || re.matches(String.fromCodePoint(m)));
}

function fold(ranges: [number, number][]): [number, number][] {
  const out = [...ranges];
  let size = 0;
  for (const [lo, hi] of ranges) size += hi - lo + 1;
  if (size > 4096) {
    // Large classes: folding only matters if the class is not closed under it; accept only classes with no cased letters missing.
    throw new Unsupported('a large character class under (?i)');
  }
  for (const [lo, hi] of ranges) for (let c = lo; c <= hi; c++) for (const m of orbit(c)) out.push([m, m]);
  return normalizeRanges(out);
}

/** A recursive-descent parser for the RE2 subset. */
class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  parse(): Node {
    const node = this.alt({ i: false, s: false, m: false });
    if (this.pos < this.src.length) throw new Unsupported(`unexpected '${this.src[this.pos] ?? ''}'`);
    return node;
  }

  peek(): string | undefined {
    return this.src[this.pos];
  }

  alt(flags: Flags): Node {
    const items: Node[] = [this.cat(flags)];
    while (this.peek() === '|') {
      this.pos++;
      items.push(this.cat(flags));
    }
    return items.length === 1 ? (items[0] as Node) : { t: 'alt', items };
  }

  cat(flags: Flags): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '(' && this.src.startsWith('(?', this.pos) && this.flagOnly(flags)) continue;
      let node = this.atom(flags);
      node = this.quantifiers(node);
      items.push(node);
    }
    return { t: 'cat', items };
  }

  /** `(?flags)` that changes the flags of the rest of the group; returns false if it is another group form. */
  flagOnly(flags: Flags): boolean {
    const m = /^\(\?([a-zA-Z-]*)\)/.exec(this.src.slice(this.pos));
    if (!m) return false;
    this.applyFlags(m[1] as string, flags);
    this.pos += m[0].length;
    return true;
  }

  applyFlags(text: string, flags: Flags): void {
    let on = true;
    for (const f of text) {
      if (f === '-') on = false;
      else if (f === 'i' || f === 's' || f === 'm') flags[f] = on;
      else if (f !== 'U') throw new Unsupported(`flag '${f}'`);
    }
  }

  quantifiers(node: Node): Node {
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number | null;
      if (c === '*') [min, max] = [0, null];
      else if (c === '+') [min, max] = [1, null];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
        if (!m) return node;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? null : Number(m[3]);
        this.pos += m[0].length - 1;
      } else return node;
      this.pos++;
      if (this.peek() === '?') this.pos++;
      node = { t: 'rep', node, min, max };
    }
  }

  atom(flags: Flags): Node {
    const c = this.src[this.pos] as string;
    if (c === '(') return this.group(flags);
    if (c === '[') return this.charClass(flags);
    this.pos++;
    if (c === '.') return { t: 'class', ranges: flags.s ? [[0, MAX_CP]] : negate([[0x0a, 0x0a]]) };
    if (c === '^') {
      if (flags.m) throw new Unsupported('^ in multi-line mode');
      return { t: 'bol' };
    }
    if (c === '$') {
      if (flags.m) throw new Unsupported('$ in multi-line mode');
      return { t: 'eol' };
    }
    if (c === '\\') return this.escape(flags, false);
    const cp = this.src.codePointAt(this.pos - 1) as number;
    if (cp > 0xffff) this.pos++;
    return this.literal(cp, flags);
  }

  literal(cp: number, flags: Flags): Node {
    return { t: 'class', ranges: flags.i ? fold([[cp, cp]]) : [[cp, cp]] };
  }

  group(flags: Flags): Node {
    this.pos++;
    const inner: Flags = { ...flags };
    const rest = this.src.slice(this.pos);
    const named = /^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest);
    const flagged = /^\?([a-zA-Z-]*):/.exec(rest);
    if (named) this.pos += named[0].length;
    else if (flagged) {
      this.applyFlags(flagged[1] as string, inner);
      this.pos += flagged[0].length;
    } else if (rest.startsWith('?')) throw new Unsupported('group syntax');
    const node = this.alt(inner);
    if (this.peek() !== ')') throw new Unsupported('unbalanced group');
    this.pos++;
    return node;
  }

  escape(flags: Flags, inClass: boolean): Node {
    const c = this.src[this.pos];
    if (c === undefined) throw new Unsupported('trailing backslash');
    this.pos++;
    const folded = (ranges: [number, number][]) => (flags.i ? fold(ranges) : ranges);
    const cls = (ranges: [number, number][], negated = false): Node => ({ t: 'class', ranges: negated ? negate(folded(ranges)) : folded(ranges) });
    switch (c) {
      case 'd':
        return cls(DIGIT);
      case 'D':
        return cls(DIGIT, true);
      case 'w':
        return cls(WORD);
      case 'W':
        return cls(WORD, true);
      case 's':
        return cls(SPACE);
      case 'S':
        return cls(SPACE, true);
      case 'n':
        return this.literal(0x0a, flags);
      case 't':
        return this.literal(0x09, flags);
      case 'r':
        return this.literal(0x0d, flags);
      case 'f':
        return this.literal(0x0c, flags);
      case 'v':
        return this.literal(0x0b, flags);
      case 'a':
        return this.literal(0x07, flags);
      case 'A':
        if (inClass) throw new Unsupported('\\A in a class');
        return { t: 'bol' };
      case 'z':
        if (inClass) throw new Unsupported('\\z in a class');
        return { t: 'eol' };
      case 'x': {
        const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2}))/.exec(this.src.slice(this.pos));
        if (!m) throw new Unsupported('\\x escape');
        this.pos += m[0].length;
        return this.literal(parseInt((m[1] ?? m[2]) as string, 16), flags);
      }
      default:
        if (/[\p{P}\p{S}]/u.test(c) && c.charCodeAt(0) < 0x80) return this.literal(c.charCodeAt(0), flags);
        throw new Unsupported(`escape \\${c}`);
    }
  }

  charClass(flags: Flags): Node {
    this.pos++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Unsupported('unterminated class');
      if (c === ']' && !first) break;
      first = false;
      if (this.src.startsWith('[:', this.pos)) throw new Unsupported('POSIX class');
      const lo = this.classAtom();
      if (Array.isArray(lo)) {
        ranges.push(...lo);
        continue;
      }
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']') {
        this.pos++;
        const hi = this.classAtom();
        if (Array.isArray(hi)) throw new Unsupported('class range to a class');
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.pos++;
    let set = normalizeRanges(ranges);
    if (flags.i) set = fold(set);
    return { t: 'class', ranges: negated ? negate(set) : set };
  }

  /** One class member: a code point, or a set (for \d, \w, \s...). */
  classAtom(): number | [number, number][] {
    const c = this.src[this.pos] as string;
    if (c === '\\') {
      this.pos++;
      const node = this.escape({ i: false, s: false, m: false }, true);
      if (node.t !== 'class') throw new Unsupported('escape in class');
      const r = node.ranges;
      return r.length === 1 && r[0]?.[0] === r[0]?.[1] ? (r[0] as [number, number])[0] : r;
    }
    const cp = this.src.codePointAt(this.pos) as number;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

/** Concatenated items with nested concatenations (groups) flattened. */
function flatItems(node: Node): Node[] {
  return node.t === 'cat' ? node.items.flatMap(flatItems) : [node];
}

/** Splits a pattern into top-level alternatives, each with its leading `^` and trailing `$` peeled off. */
function branches(node: Node): { bol: boolean; eol: boolean; body: Node }[] {
  if (node.t === 'alt') return node.items.flatMap(branches);
  const items = flatItems(node);
  if (items.length === 1 && (items[0] as Node).t === 'alt') return branches(items[0] as Node);
  let bol = false;
  let eol = false;
  while (items[0]?.t === 'bol') {
    bol = true;
    items.shift();
  }
  while (items[items.length - 1]?.t === 'eol') {
    eol = true;
    items.pop();
  }
  const body: Node = { t: 'cat', items };
  if (hasAnchor(body)) throw new Unsupported('an anchor inside the pattern');
  return [{ bol, eol, body }];
}

function hasAnchor(node: Node): boolean {
  switch (node.t) {
    case 'bol':
    case 'eol':
      return true;
    case 'class':
      return false;
    case 'rep':
      return hasAnchor(node.node);
    default:
      return node.items.some(hasAnchor);
  }
}

/** A set of code point ranges as a union of `re.range` terms (clipped to the solver's alphabet; no complement). */
export function charsRegex(ranges: [number, number][]): Smt {
  const parts: Smt[] = [];
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > MAX_SMT_CHAR) continue;
    const top = Math.min(hi, MAX_SMT_CHAR);
    parts.push(lo === top ? app('str.to_re', strLit(String.fromCodePoint(lo))) : app('re.range', strLit(String.fromCodePoint(lo)), strLit(String.fromCodePoint(top))));
  }
  return reUnion(...parts);
}

/** Every code point except the given ones, as code point ranges. */
export function allExcept(chars: string): [number, number][] {
  return negate([...chars].map((c) => [c.codePointAt(0) as number, c.codePointAt(0) as number]));
}

function classTerm(ranges: [number, number][]): Smt {
  const parts: Smt[] = [];
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > MAX_SMT_CHAR) {
      if (hi !== MAX_CP) throw new Unsupported('a character range beyond U+2FFFF');
      continue;
    }
    if (hi > MAX_SMT_CHAR && hi !== MAX_CP) throw new Unsupported('a character range beyond U+2FFFF');
    const top = Math.min(hi, MAX_SMT_CHAR);
    // A set reaching U+10FFFF is clipped at the alphabet's end; code points above behave like U+2FFFF.
    parts.push(lo === top ? app('str.to_re', strLit(String.fromCodePoint(lo))) : app('re.range', strLit(String.fromCodePoint(lo)), strLit(String.fromCodePoint(top))));
  }
  const hasHigh = ranges.some(([lo, hi]) => hi >= MAX_SMT_CHAR && lo <= MAX_SMT_CHAR);
  const touchesHigh = ranges.some(([, hi]) => hi >= MAX_SMT_CHAR);
  if (touchesHigh && !hasHigh) throw new Unsupported('a character set that splits the code points above U+2FFFF');
  return reUnion(...parts);
}

function term(node: Node): Smt {
  switch (node.t) {
    case 'class':
      return classTerm(node.ranges);
    case 'cat':
      return reConcat(...node.items.map(term));
    case 'alt':
      return reUnion(...node.items.map(term));
    case 'rep': {
      const inner = term(node.node);
      if (node.max === null) {
        if (node.min === 0) return app('re.*', inner);
        if (node.min === 1) return app('re.+', inner);
        return reConcat(reLoop(inner, node.min, node.min), app('re.*', inner));
      }
      if (node.min === 0 && node.max === 1) return app('re.opt', inner);
      return reLoop(inner, node.min, node.max);
    }
    default:
      throw new Unsupported('an anchor inside the pattern');
  }
}

/**
 * The strings in which an RE2 pattern finds a match (unanchored search), as one regex term,
 * or why the pattern is outside the exactly translated subset.
 */
export function translateRegex(pattern: string): RegexTranslation {
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    return { unsupported: `not a valid RE2 expression: ${(error as Error).message}` };
  }
  try {
    const parsed = new Parser(pattern).parse();
    const alternatives = branches(parsed).map(({ bol, eol, body }) => {
      const items: Smt[] = [];
      if (!bol) items.push(atom('re.all'));
      items.push(term(body));
      if (!eol) items.push(atom('re.all'));
      return reConcat(...items);
    });
    return { regex: reUnion(...alternatives) };
  } catch (error) {
    if (error instanceof Unsupported) return { unsupported: error.message };
    throw error;
  }
}
