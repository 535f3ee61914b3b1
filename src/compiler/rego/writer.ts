/**
 * A small typed Rego writer: every literal goes through `literal`, every identifier through
 * `ident`, and text is laid out with tabs exactly as `opa fmt` prints it. No raw YAML string
 * ever reaches the output any other way.
 */
import { ApeError } from '../../errors.js';
import type { JsonValue } from '../ir.js';

/** A policy uses something the Rego back end can't express faithfully. */
export class RegoEmitError extends ApeError {
  constructor(message: string) {
    super('APE_REGO_UNREPRESENTABLE', `rego: ${message}`);
  }
}

/** Rego keywords and names that can't be used as a bare identifier. */
const KEYWORDS = new Set([
  'as', 'contains', 'data', 'default', 'else', 'every', 'false', 'if', 'import', 'in', 'input', 'not', 'null', 'package', 'some', 'true', 'with',
]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a name can be written as a bare Rego identifier (or ref segment). */
export function isIdent(name: string): boolean {
  return IDENT.test(name) && !KEYWORDS.has(name);
}

/** A checked identifier, as code. Throws `RegoEmitError` for anything else. */
export function ident(name: string): Code {
  if (!isIdent(name)) throw new RegoEmitError(`'${name}' is not a valid Rego identifier`);
  return new Code(name);
}

/** A piece of Rego source that was built by this writer (never a raw string). */
export class Code {
  readonly text: string;
  /** Use `ident`, `literal`, `code` or `join`: only they build code. */
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

function hasLoneSurrogate(s: string): boolean {
  return /\p{Cs}/u.test(s);
}

/** A string literal: JSON escaping, which Rego string literals share. */
export function stringLiteral(s: string): Code {
  if (hasLoneSurrogate(s)) throw new RegoEmitError(`string ${JSON.stringify(s)} holds a lone surrogate, which has no UTF-8 form`);
  return new Code(JSON.stringify(s));
}

/** A number literal, in the shortest form that reads back as the same double. */
export function numberLiteral(n: number): Code {
  if (!Number.isFinite(n)) throw new RegoEmitError(`number ${String(n)} is not finite`);
  return new Code(JSON.stringify(n));
}

/** Any JSON value as a Rego term, on one line (objects keep their key order). */
export function literal(value: JsonValue | ReadonlySet<string>): Code {
  if (value instanceof Set) {
    const items = [...value].sort().map((v) => stringLiteral(v).text);
    return new Code(items.length === 0 ? 'set()' : `{${items.join(', ')}}`);
  }
  const v = value as JsonValue;
  if (v === null) return new Code('null');
  if (typeof v === 'string') return stringLiteral(v);
  if (typeof v === 'number') return numberLiteral(v);
  if (typeof v === 'boolean') return new Code(v ? 'true' : 'false');
  if (Array.isArray(v)) return new Code(`[${v.map((x) => literal(x).text).join(', ')}]`);
  return new Code(`{${Object.entries(v).map(([k, x]) => `${stringLiteral(k).text}: ${literal(x).text}`).join(', ')}}`);
}

/** A reference `base.key` or `base["key"]`, the way `opa fmt` writes it. */
export function member(base: Code, key: string): Code {
  return new Code(isIdent(key) ? `${base.text}.${key}` : `${base.text}[${stringLiteral(key).text}]`);
}

/** Constant text of the emitter's own source (library lines, keywords): never policy data. */
export function fixed(text: string): Code {
  return new Code(text);
}

/** Code from a template whose interpolations are all code already. */
export function code(strings: TemplateStringsArray, ...parts: Code[]): Code {
  let text = strings[0] ?? '';
  parts.forEach((part, i) => {
    text += part.text + (strings[i + 1] ?? '');
  });
  return new Code(text);
}

/** Joins code with a separator. */
export function join(parts: readonly Code[], separator: string): Code {
  return new Code(parts.map((p) => p.text).join(separator));
}

/** A line-oriented writer indenting with tabs, like `opa fmt`. */
export class RegoWriter {
  readonly #lines: string[] = [];
  #depth = 0;

  /** Writes one line of code at the current depth (no argument: an empty line). */
  line(text?: Code): this {
    this.#lines.push(text === undefined || text.text === '' ? '' : '\t'.repeat(this.#depth) + text.text);
    return this;
  }

  /** Writes a comment line; the text is flattened to one line. */
  comment(text: string): this {
    const flat = text.replace(/[\r\n\u2028\u2029]+/g, ' ');
    this.#lines.push(`${'\t'.repeat(this.#depth)}# ${flat}`.trimEnd());
    return this;
  }

  /** Writes the body one level deeper. */
  indented(body: () => void): this {
    this.#depth++;
    body();
    this.#depth--;
    return this;
  }

  /** Writes `open`, the body one level deeper, then `close`. */
  block(open: Code, body: () => void, close: Code = new Code('}')): this {
    this.line(open);
    this.#depth++;
    body();
    this.#depth--;
    return this.line(close);
  }

  /** The text, ending in exactly one newline. */
  toString(): string {
    const lines = [...this.#lines];
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return `${lines.join('\n')}\n`;
  }
}
