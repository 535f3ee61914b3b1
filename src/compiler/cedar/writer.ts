/** The typed Cedar writer: every literal is quoted by `str`/`like`, every identifier checked by `ident`. */

/** A fragment of Cedar source built by this module (never a raw string from policy data). */
export interface Cedar {
  readonly cedar: string;
  /** How loosely the fragment binds, for parenthesising: `if` < `||` < `&&` < everything else. */
  readonly binds?: 'if' | 'or' | 'and';
}

/** Thrown when a value has no Cedar spelling (e.g. a lone UTF-16 surrogate). */
export class CedarLiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CedarLiteralError';
  }
}

const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The one identifier check: a plain Cedar identifier that is not reserved. Throws otherwise. */
export function ident(name: string): Cedar {
  if (!IDENT.test(name) || RESERVED.has(name)) throw new CedarLiteralError(`'${name}' is not a usable Cedar identifier`);
  return { cedar: name };
}

/** Whether `name` passes `ident` (for callers that derive identifiers and must pick another). */
export function isIdent(name: string): boolean {
  return IDENT.test(name) && !RESERVED.has(name);
}

/**
 * The one quoting function: a Cedar string literal body for `value`. Quotes and backslashes are
 * escaped, everything outside printable ASCII is written as `\u{...}` (so no bidi or invisible
 * character reaches the policy text), and inside `like` patterns a literal `*` becomes `\*`.
 */
function escapeBody(value: string, inPattern: boolean): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) throw new CedarLiteralError('a string with a lone UTF-16 surrogate has no Cedar spelling');
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '*' && inPattern) out += '\\*';
    else if (cp < 0x20 || cp > 0x7e) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return out;
}

/** A Cedar string literal. */
export function str(value: string): Cedar {
  return { cedar: `"${escapeBody(value, false)}"` };
}

/** The wildcard of a `like` pattern. */
export const WILDCARD: unique symbol = Symbol('like-wildcard');

/** A `like` pattern from literal parts and wildcards (literal `*` is escaped). */
export function likePattern(parts: readonly (string | typeof WILDCARD)[]): Cedar {
  return { cedar: `"${parts.map((p) => (p === WILDCARD ? '*' : escapeBody(p, true))).join('')}"` };
}

/** A Cedar Long literal (only safe integers are written). */
export function long(value: number): Cedar {
  if (!Number.isSafeInteger(value)) throw new CedarLiteralError(`${value} is not a safe integer`);
  return { cedar: String(value === 0 ? 0 : value) };
}

/** A Cedar boolean literal. */
export function bool(value: boolean): Cedar {
  return { cedar: value ? 'true' : 'false' };
}

/** An entity reference `Type::"id"`. */
export function entity(type: string, id: string): Cedar {
  return { cedar: `${ident(type).cedar}::${str(id).cedar}` };
}

/** `context.<attr>` and `context.<attr>.<field>`. */
export function ctx(attr: string, field?: string): Cedar {
  return { cedar: `context.${ident(attr).cedar}${field === undefined ? '' : `.${ident(field).cedar}`}` };
}

/** `context has <attr>`. */
export function ctxHas(attr: string): Cedar {
  return { cedar: `context has ${ident(attr).cedar}` };
}

/** A binary operator on two fragments. */
export function op(left: Cedar, operator: '==' | '>=' | '<=' | '>' | '<' | 'like', right: Cedar): Cedar {
  return { cedar: `${left.cedar} ${operator} ${right.cedar}` };
}

/** Parenthesised fragment. */
export function paren(e: Cedar): Cedar {
  return { cedar: `(${e.cedar})` };
}

/** Conjunction (`||` and `if` operands parenthesised); `true` when empty. */
export function and(parts: readonly Cedar[]): Cedar {
  if (parts.length === 0) return bool(true);
  if (parts.length === 1) return parts[0] as Cedar;
  return { cedar: parts.map((p) => (p.binds === 'or' || p.binds === 'if' ? paren(p) : p).cedar).join(' && '), binds: 'and' };
}

/** Disjunction (`&&` and `if` operands parenthesised, for readability); `false` when empty. */
export function or(parts: readonly Cedar[]): Cedar {
  if (parts.length === 0) return bool(false);
  if (parts.length === 1) return parts[0] as Cedar;
  return { cedar: parts.map((p) => (p.binds ? paren(p) : p).cedar).join(' || '), binds: 'or' };
}

/** Negation. */
export function not(e: Cedar): Cedar {
  return { cedar: e.binds || /\s/.test(e.cedar) ? `!${paren(e).cedar}` : `!${e.cedar}` };
}

/** `if c then a else b`. */
export function ifThenElse(c: Cedar, a: Cedar, b: Cedar): Cedar {
  return { cedar: `if ${c.cedar} then ${a.cedar} else ${b.cedar}`, binds: 'if' };
}

/** `[a, b].contains(x)`. */
export function setContains(items: readonly Cedar[], x: Cedar): Cedar {
  return { cedar: `[${items.map((i) => i.cedar).join(', ')}].contains(${x.cedar})` };
}

/** `s.containsAny([a, b])`: the set `s` holds at least one of the items. */
export function containsAny(s: Cedar, items: readonly Cedar[]): Cedar {
  return { cedar: `${s.cedar}.containsAny([${items.map((i) => i.cedar).join(', ')}])` };
}

/** `action == A` or `action in [A, B]`. */
export function actionScope(actions: readonly string[]): Cedar {
  if (actions.length === 1) return { cedar: `action == ${entity('Action', actions[0] as string).cedar}` };
  return { cedar: `action in [${actions.map((a) => entity('Action', a).cedar).join(', ')}]` };
}

/** `@name("value")`. */
export function annotation(name: string, value: string): Cedar {
  return { cedar: `@${ident(name).cedar}(${str(value).cedar})` };
}

/** One policy: annotations, effect, scope, and `when`/`unless` bodies. */
export function policy(p: {
  annotations: readonly Cedar[];
  effect: 'permit' | 'forbid';
  action: Cedar | null;
  when: Cedar | null;
  unless?: Cedar | null;
}): Cedar {
  const lines = p.annotations.map((a) => a.cedar);
  lines.push(`${p.effect} (principal, ${p.action ? p.action.cedar : 'action'}, resource)`);
  if (p.when) lines.push(`when { ${p.when.cedar} }`);
  if (p.unless) lines.push(`unless { ${p.unless.cedar} }`);
  return { cedar: `${lines.join('\n')};` };
}
