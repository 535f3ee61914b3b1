/**
 * JSON Schema `pattern` (an ECMAScript regular expression, compiled by ajv with the `u` flag) as an
 * XPath regular expression for `string-regexp-match`, only where the two match exactly the same
 * strings on AuthzForce (whose engine works on UTF-16 code units). Anything outside the subset below
 * has no translation (null): the caller then refuses every string value (fail closed).
 *
 * Subset: literals of the Basic Multilingual Plane (no surrogates, no character XML cannot carry),
 * `.`, classes with such literals and ranges (not spanning the surrogates), `\d \D \w \W \s \S`,
 * `\t \n \r`, `\xHH`, `\uHHHH`, `\u{...}`, identity escapes of syntax characters, groups
 * (`(...)`, `(?:...)`, `(?<name>...)`), alternation, the anchors `^` `$`, and the quantifiers
 * `* + ? {n} {n,} {n,m}` (greedy or lazy: only whether a match exists matters). No lookaround,
 * back-references, word boundaries, property escapes, astral literals, empty branches or groups.
 */
import { isXmlWritable } from './writer.js';

/** High and low surrogate code units, as XML Schema block escapes (AuthzForce matches code units). */
const HIGH = '\\p{IsHighSurrogates}\\p{IsHighPrivateUseSurrogates}';
const LOW = '\\p{IsLowSurrogates}';
/** One code point of a well-formed string: a non-surrogate unit or a surrogate pair. */
export const CODE_POINT = `([^${HIGH}${LOW}]|[${HIGH}][${LOW}])`;
/** A code point outside a class of BMP characters (`members` is the inside of an XML Schema class). */
const outside = (members: string): string => `([^${members}${HIGH}${LOW}]|[${HIGH}][${LOW}])`;

/** Characters with a meaning in XML Schema / XPath regular expressions (escaped when literal). */
const SPECIAL = new Set(['\\', '|', '.', '-', '^', '?', '*', '+', '{', '}', '(', ')', '[', ']', '$']);
/** ECMAScript's SyntaxCharacter and `/`: the identity escapes the `u` flag allows. */
const IDENTITY = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);
/** ECMAScript's `\s` (WhiteSpace and LineTerminator), written as XML Schema class members. */
const SPACE = '\\t-\\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const DIGIT = '0-9';
const WORD = 'A-Za-z0-9_';

/** One BMP character as a class member or atom, or null when it cannot be written exactly. */
function literal(cp: number): string | null {
  if (cp === 0x09) return '\\t';
  if (cp === 0x0a) return '\\n';
  if (cp === 0x0d) return '\\r';
  if (cp > 0xffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  const ch = String.fromCharCode(cp);
  if (!isXmlWritable(ch)) return null;
  return SPECIAL.has(ch) ? `\\${ch}` : ch;
}

class Unsupported extends Error {}

/** A recursive-descent reader of the `u`-mode grammar, emitting the XPath form as it goes. */
class Translator {
  #i = 0;
  readonly #src: string;

  constructor(source: string) {
    this.#src = source;
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#i + offset];
  }

  #fail(): never {
    throw new Unsupported();
  }

  run(): string {
    const out = this.#disjunction();
    if (this.#i !== this.#src.length) this.#fail();
    return out;
  }

  #disjunction(): string {
    const parts = [this.#alternative()];
    while (this.#peek() === '|') {
      this.#i++;
      parts.push(this.#alternative());
    }
    // An empty branch is not written (not every XML Schema regex engine accepts it): no translation.
    if (parts.length > 1 && parts.includes('')) this.#fail();
    return parts.join('|');
  }

  #alternative(): string {
    let out = '';
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === '|' || c === ')') return out;
      if (c === '^' || c === '$') {
        this.#i++;
        if (this.#quantifierAhead()) this.#fail();
        out += c;
        continue;
      }
      const atom = this.#atom();
      out += atom + this.#quantifier();
    }
  }

  #quantifierAhead(): boolean {
    const c = this.#peek();
    return c === '*' || c === '+' || c === '?' || c === '{';
  }

  #quantifier(): string {
    const c = this.#peek();
    let out = '';
    if (c === '*' || c === '+' || c === '?') {
      this.#i++;
      out = c;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(this.#i));
      if (!m) this.#fail();
      const low = Number(m[1]);
      const high = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
      if (!Number.isSafeInteger(low) || low > 2 ** 31 - 1 || (high !== undefined && (!Number.isSafeInteger(high) || high > 2 ** 31 - 1 || high < low))) this.#fail();
      this.#i += m[0].length;
      out = m[2] === undefined ? `{${low}}` : high === undefined ? `{${low},}` : `{${low},${high}}`;
    } else return '';
    // Lazy and greedy quantifiers accept the same strings.
    if (this.#peek() === '?') this.#i++;
    if (this.#quantifierAhead()) this.#fail();
    return out;
  }

  #atom(): string {
    const c = this.#peek() as string;
    switch (c) {
      case '.':
        this.#i++;
        return outside('\\n\\r\u2028\u2029');
      case '(': {
        this.#i++;
        if (this.#peek() === '?') {
          if (this.#peek(1) === ':') this.#i += 2;
          else if (this.#peek(1) === '<' && /^<[A-Za-z_$][A-Za-z0-9_$]*>/.test(this.#src.slice(this.#i + 1))) this.#i = this.#src.indexOf('>', this.#i) + 1;
          else this.#fail();
        }
        const inner = this.#disjunction();
        if (this.#peek() !== ')' || inner === '') this.#fail();
        this.#i++;
        return `(${inner})`;
      }
      case '[':
        return this.#class();
      case '\\':
        return this.#escape(false);
      case ')':
      case ']':
      case '{':
      case '}':
      case '*':
      case '+':
      case '?':
        return this.#fail();
      default: {
        const cp = this.#src.codePointAt(this.#i) as number;
        this.#i += cp > 0xffff ? 2 : 1;
        return literal(cp) ?? this.#fail();
      }
    }
  }

  /** `\...`: an atom (or, in a class, a class member); class escapes give their member list. */
  #escape(inClass: boolean): string {
    this.#i++;
    const c = this.#peek();
    if (c === undefined) this.#fail();
    this.#i++;
    switch (c) {
      case 'd':
        return inClass ? DIGIT : `[${DIGIT}]`;
      case 'w':
        return inClass ? WORD : `[${WORD}]`;
      case 's':
        return inClass ? SPACE : `[${SPACE}]`;
      case 'D':
        return inClass ? this.#fail() : outside(DIGIT);
      case 'W':
        return inClass ? this.#fail() : outside(WORD);
      case 'S':
        return inClass ? this.#fail() : outside(SPACE);
      case 't':
        return '\\t';
      case 'n':
        return '\\n';
      case 'r':
        return '\\r';
      case '-':
        return inClass ? '\\-' : this.#fail();
      default:
        break;
    }
    const cp = this.#escapedCodePoint(c);
    return literal(cp) ?? this.#fail();
  }

  /** The code point of `\xHH`, `\uHHHH`, `\u{...}` or an identity escape (the backslash and `c` consumed). */
  #escapedCodePoint(c: string): number {
    const rest = this.#src.slice(this.#i);
    if (c === 'x') {
      const m = /^[0-9A-Fa-f]{2}/.exec(rest);
      if (!m) this.#fail();
      this.#i += 2;
      return parseInt(m[0], 16);
    }
    if (c === 'u') {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(rest);
      if (braced) {
        this.#i += braced[0].length;
        return parseInt(braced[1] as string, 16);
      }
      const m = /^[0-9A-Fa-f]{4}/.exec(rest);
      if (!m) this.#fail();
      this.#i += 4;
      return parseInt(m[0], 16);
    }
    if (IDENTITY.has(c)) return c.codePointAt(0) as number;
    return this.#fail();
  }

  /** One class member: a character (its code point) or a class escape (its member list). */
  #classAtom(): { cp: number } | { members: string } {
    const c = this.#peek();
    if (c === undefined) this.#fail();
    if (c === '\\') {
      const next = this.#peek(1);
      if (next === 'd' || next === 'w' || next === 's') return { members: this.#escape(true) };
      if (next === 't' || next === 'n' || next === 'r' || next === '-') {
        this.#i += 2;
        return { cp: next === 't' ? 9 : next === 'n' ? 10 : next === 'r' ? 13 : 45 };
      }
      if (next === 'b') {
        this.#i += 2;
        return { cp: 8 };
      }
      this.#i += 2;
      if (next === undefined) this.#fail();
      return { cp: this.#escapedCodePoint(next) };
    }
    const cp = this.#src.codePointAt(this.#i) as number;
    this.#i += cp > 0xffff ? 2 : 1;
    return { cp };
  }

  #class(): string {
    this.#i++;
    const negated = this.#peek() === '^';
    if (negated) this.#i++;
    let members = '';
    while (this.#peek() !== ']') {
      const first = this.#classAtom();
      if (this.#peek() === '-' && this.#peek(1) !== ']' && this.#peek(1) !== undefined) {
        this.#i++;
        const last = this.#classAtom();
        if (!('cp' in first) || !('cp' in last) || last.cp < first.cp) this.#fail();
        // A range over the surrogates would match halves of astral characters on a code-unit engine.
        if (first.cp <= 0xdfff && last.cp >= 0xd800) this.#fail();
        members += `${literal(first.cp) ?? this.#fail()}-${literal(last.cp) ?? this.#fail()}`;
        continue;
      }
      members += 'cp' in first ? (literal(first.cp) ?? this.#fail()) : first.members;
    }
    this.#i++;
    if (members === '') this.#fail();
    return negated ? outside(members) : `[${members}]`;
  }
}

/**
 * The XPath regular expression that matches (unanchored, like ECMAScript's `test`) exactly the
 * strings this `u`-mode ECMAScript pattern matches, or null when this subset cannot express it.
 */
export function translatePattern(pattern: string): string | null {
  try {
    new RegExp(pattern, 'u');
  } catch {
    return null;
  }
  try {
    return new Translator(pattern).run();
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}
