/**
 * The facts a query ranges over: one `Fact` constant per engine-input fact of an action, with the
 * values its kind and the action's parameter schema allow (an over-approximation, so proofs are sound),
 * and the exact links between facts read from the same parameter.
 */
import { canonicalHost, canonicalIp, canonicalPath } from '../compiler/canonical.js';
import { actionDefinition, planFacts, type FactSpec } from '../compiler/engine-input.js';
import type { JsonObject, JsonValue, PolicyIR } from '../compiler/ir.js';
import { allExcept, charsRegex } from './regex.js';
import { and, app, atom, intLit, isCtor, not, or, realLit, reConcat, reLoop, reUnion, strLit, sym, type Smt } from './smtlib.js';

const plansCache = new WeakMap<PolicyIR, Map<string, FactSpec[]>>();

/** The facts an action's rules read, sorted by fact key. */
export function factSpecs(ir: PolicyIR, action: string): FactSpec[] {
  let plans = plansCache.get(ir);
  if (!plans) {
    plans = planFacts(ir).plans;
    plansCache.set(ir, plans);
  }
  return [...(plans.get(action) ?? [])].sort((a, b) => (a.fact < b.fact ? -1 : a.fact > b.fact ? 1 : 0));
}

/** The symbol of a fact constant in queries (`|f:<fact>|`, with `|` and `\` replaced). */
export function factSymbol(fact: string, prefix = 'f'): Smt {
  return sym(`${prefix}:${fact.replace(/[|\\]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`);
}

/** The symbol of the previous-action constant. */
export const PREV: Smt = sym('previous_action');

const str = (v: Smt) => app('str_val', v);
const num = (v: Smt) => app('num_val', v);
const lit = (s: string) => app('str.to_re', strLit(s));
const range = (lo: string, hi: string) => app('re.range', strLit(lo), strLit(hi));
const minus = (a: Smt, b: Smt) => app('re.diff', a, b);
const chars = (ranges: [number, number][]) => charsRegex(ranges);
const cp = (c: string) => c.codePointAt(0) as number;
const without = (ranges: [number, number][], excluded: string): [number, number][] => {
  const out: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    let start = lo;
    for (const x of [...excluded].map(cp).filter((x) => x >= lo && x <= hi).sort((a, b) => a - b)) {
      if (x > start) out.push([start, x - 1]);
      start = x + 1;
    }
    if (start <= hi) out.push([start, hi]);
  }
  return out;
};

/**
 * Canonical absolute paths: `/`, segments without `/` or NUL other than `.` and `..`, an optional trailing `/`.
 * Written with unions of ranges only (no complement), which the solver handles fastest.
 */
export const PATH_RE: Smt = (() => {
  const pchar = allExcept('/\0');
  const any = chars(pchar);
  const nodot = chars(without(pchar, '.'));
  const segment = reUnion(reConcat(nodot, app('re.*', any)), reConcat(lit('.'), nodot, app('re.*', any)), reConcat(lit('..'), app('re.+', any)));
  return reConcat(lit('/'), app('re.opt', reConcat(segment, app('re.*', reConcat(lit('/'), segment)), app('re.opt', lit('/')))));
})();

/** Canonical hosts (over-approximated): printable ASCII without upper case or forbidden host characters, not ending in a dot; or a bracketed IPv6. */
export const HOST_RE: Smt = (() => {
  const hostChars = without([[0x21, 0x7e]], 'ABCDEFGHIJKLMNOPQRSTUVWXYZ #/:<>?@[\\]^|%');
  const name = reConcat(app('re.*', chars(hostChars)), chars(without(hostChars, '.')));
  const v6 = reConcat(lit('['), app('re.+', reUnion(range('0', '9'), range('a', 'f'), lit(':'), lit('.'))), lit(']'));
  return reUnion(name, v6);
})();

/** Canonical IP texts (over-approximated): hex digits, dots and colons, with an optional zone. */
export const IP_RE: Smt = reConcat(
  app('re.+', reUnion(range('0', '9'), range('a', 'f'), lit('.'), lit(':'))),
  app('re.opt', reConcat(lit('%'), app('re.+', atom('re.allchar')))),
);

/** Family-tagged IP bit strings (IPv4-mapped IPv6 addresses are IPv4). */
export const BITS_RE: Smt = (() => {
  const bit = range('0', '1');
  const v4 = reConcat(lit('4:'), reLoop(bit, 32, 32));
  const v6 = minus(reConcat(lit('6:'), reLoop(bit, 128, 128)), reConcat(lit(`6:${'0'.repeat(80)}${'1'.repeat(16)}`), atom('re.all')));
  return reUnion(v4, v6);
})();

const SCHEME_RE: Smt = reConcat(range('a', 'z'), app('re.*', reUnion(range('a', 'z'), range('0', '9'), lit('+'), lit('.'), lit('-'))));

/** The separator of a list of places written as one string (see `placesString`); never inside a place the solver picks. */
export const PLACE_SEPARATOR = '\u0000';

/**
 * A list of places (a `source` fact) as the string the solver reasons about: each place followed by
 * NUL, after a leading NUL (`[]` is NUL alone, `["a", "b"]` is NUL a NUL b NUL). A place the policy
 * names (without NUL) is in the list exactly when NUL place NUL occurs in the string.
 */
export function placesString(places: readonly string[]): string {
  return PLACE_SEPARATOR + places.map((p) => p + PLACE_SEPARATOR).join('');
}

/** The list of places a `placesString` string stands for (undefined when it is not one). */
export function placesFromString(text: string): string[] | undefined {
  if (!PLACES_TEXT.test(text)) return undefined;
  return text.length === 1 ? [] : text.slice(1, -1).split(PLACE_SEPARATOR);
}

const PLACES_TEXT = /^\u0000(?:[^\u0000]*\u0000)*$/u;

/**
 * The strings that stand for lists of places. Lists whose places hold NUL are left out: a condition
 * can only tell one from a list of the places the policy names (which hold no NUL, see encode.ts).
 */
export const PLACES_RE: Smt = reConcat(lit(PLACE_SEPARATOR), app('re.*', reConcat(app('re.*', chars(allExcept(PLACE_SEPARATOR))), lit(PLACE_SEPARATOR))));

const isInt = (v: Smt) => app('is_int', num(v));
const nat = (v: Smt) => and(isCtor('num', v), isInt(v), app('>=', num(v), realLit(0)));

/** The JSON Schema of a parameter path of an action, and whether the parameter is required. */
export function parameterSchema(ir: PolicyIR, action: string, segments: readonly string[]): { schema?: JsonObject; required: boolean } {
  let node: JsonValue | undefined = actionDefinition(ir, action)?.parameters;
  let required = true;
  for (const segment of segments) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return { required: false };
    const properties: JsonValue | undefined = node['properties'];
    const list: JsonValue | undefined = node['required'];
    required = required && Array.isArray(list) && list.includes(segment);
    if (!properties || typeof properties !== 'object' || Array.isArray(properties) || !Object.hasOwn(properties, segment)) return { required: false };
    node = properties[segment];
  }
  if (!node || typeof node !== 'object' || Array.isArray(node)) return { required: false };
  return { schema: node, required };
}

function schemaTypes(schema: JsonObject): string[] | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return undefined;
}

/** Values a plain parameter may take under its schema (type, enum/const, bounds), as a constraint on its fact. */
function schemaDomain(v: Smt, schema: JsonObject | undefined): Smt {
  if (!schema) return atom('true');
  const scalars = (values: JsonValue[]) =>
    or(
      ...values.map((e) =>
        typeof e === 'string' ? and(isCtor('str', v), app('=', str(v), strLit(e)))
          : typeof e === 'number' ? and(isCtor('num', v), app('=', num(v), realLit(e)))
            : typeof e === 'boolean' ? and(isCtor('bool', v), app('=', app('bool_val', v), atom(e ? 'true' : 'false')))
              : isCtor('other', v),
      ),
    );
  const parts: Smt[] = [];
  const e = schema['enum'];
  if (Array.isArray(e)) parts.push(scalars(e));
  if (Object.hasOwn(schema, 'const')) parts.push(scalars([schema['const'] as JsonValue]));
  const types = schemaTypes(schema);
  if (types) {
    const bound = (key: string, op: string) => {
      const b = schema[key];
      return typeof b === 'number' ? app(op, num(v), realLit(b)) : atom('true');
    };
    const numeric = and(bound('minimum', '>='), bound('maximum', '<='), bound('exclusiveMinimum', '>'), bound('exclusiveMaximum', '<'));
    const length = (key: string, op: string) => {
      const b = schema[key];
      return typeof b === 'number' && Number.isInteger(b) && b >= 0 ? app(op, app('str.len', str(v)), intLit(b)) : atom('true');
    };
    const alternatives: Smt[] = [];
    for (const t of types) {
      if (t === 'string') alternatives.push(and(isCtor('str', v), length('minLength', '>='), length('maxLength', '<=')));
      else if (t === 'number') alternatives.push(and(isCtor('num', v), numeric));
      else if (t === 'integer') alternatives.push(and(isCtor('num', v), isInt(v), numeric));
      else if (t === 'boolean') alternatives.push(isCtor('bool', v));
      else alternatives.push(isCtor('other', v));
    }
    parts.push(or(...alternatives));
  }
  return and(...parts);
}

/**
 * The values one fact can take in some request for `action` (never fewer than it really can): `eager` is
 * cheap (types, bounds, presence) and always asserted; `lazy` is the canonical-form regex of the fact's kind,
 * asserted only once the solver proposes a value that is not canonical (regex domains slow the solver down).
 */
export interface FactDomain {
  eager: Smt;
  /** The regex a string value must be in. */
  lazy?: Smt;
  /** Whether a value is in the lazy domain (checked in TypeScript on the solver's proposal). */
  accepts?: (value: string) => boolean;
}

/** The domain of one fact. */
export function factDomain(ir: PolicyIR, action: string, spec: FactSpec, v: Smt): FactDomain {
  const absent = isCtor('absent', v);
  const strIn = (re: Smt, accepts: (value: string) => boolean): FactDomain => ({
    eager: or(absent, isCtor('str', v)),
    lazy: re,
    accepts,
  });
  const { resolved, transform } = spec;
  if (transform === 'provenance') return { eager: or(absent, isCtor('str', v)) };
  if (transform === 'source') return strIn(PLACES_RE, (x) => placesFromString(x) !== undefined);
  if (transform === 'bits') return strIn(BITS_RE, (x) => /^(4:[01]{32}|6:[01]{128})$/.test(x) && !x.startsWith(`6:${'0'.repeat(80)}${'1'.repeat(16)}`));
  const param = resolved.source === 'params' ? parameterSchema(ir, action, resolved.segments) : { required: false };
  if (transform === 'length') {
    const types = param.schema ? schemaTypes(param.schema) : undefined;
    const always = param.required && resolved.kind === 'plain' && types !== undefined && types.every((t) => t === 'string' || t === 'array');
    return { eager: always ? nat(v) : or(absent, nat(v)) };
  }
  if (resolved.source === 'context') return { eager: atom('true') };
  const host = (x: string) => canonicalHost(x) === x;
  switch (resolved.kind) {
    case 'plain':
      return { eager: and(param.required ? not(absent) : atom('true'), or(absent, schemaDomain(v, param.schema))) };
    case 'path':
      return strIn(PATH_RE, (x) => canonicalPath(x) === x);
    case 'domain':
      return strIn(HOST_RE, host);
    case 'ip':
      return strIn(IP_RE, (x) => canonicalIp(x)?.text === x);
    case 'url':
      switch (resolved.derived) {
        case 'host':
          return strIn(HOST_RE, host);
        case 'scheme':
          return strIn(SCHEME_RE, (x) => /^[a-z][a-z0-9+.-]*$/.test(x));
        case 'port':
          return { eager: or(absent, and(nat(v), app('<=', num(v), realLit(65535)))) };
        default:
          return { eager: or(absent, isCtor('str', v)) };
      }
    case 'email':
      if (resolved.derived === 'domain') return strIn(HOST_RE, host);
      if (resolved.derived === 'local') return strIn(app('re.+', atom('re.allchar')), (x) => x.length > 0);
      return strIn(reConcat(app('re.+', atom('re.allchar')), lit('@'), app('re.+', atom('re.allchar'))), (x) => /.@./su.test(x));
  }
}

/** Exact links between facts read from one parameter: lengths of values, parts of one URL or email. */
export function factLinks(specs: readonly FactSpec[], symbolOf: (fact: string) => Smt): Smt[] {
  const out: Smt[] = [];
  const groups = new Map<string, FactSpec[]>();
  for (const s of specs) {
    if (s.transform === 'provenance' || s.transform === 'source') continue;
    const key = `${s.resolved.source}\u0000${s.resolved.segments.join('\u0000')}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const group of groups.values()) {
    const value = group.find((s) => s.transform === 'value' && s.resolved.derived === undefined);
    const length = group.find((s) => s.transform === 'length' && s.resolved.derived === undefined);
    if (value && length) {
      const v = symbolOf(value.fact);
      const l = symbolOf(length.fact);
      out.push(app('=>', isCtor('absent', v), isCtor('absent', l)));
      out.push(app('=>', or(isCtor('num', v), isCtor('bool', v)), isCtor('absent', l)));
      out.push(app('=>', isCtor('str', v), app('=', l, app('num', app('to_real', app('str.len', str(v)))))));
    }
    const kind = group[0]?.resolved.kind;
    if (kind === 'url' || kind === 'email') {
      const parts = group.filter((s) => s.transform === 'value');
      const always = parts.filter((s) => kind === 'email' || s.resolved.derived === undefined || s.resolved.derived === 'scheme' || s.resolved.derived === 'path');
      const sometimes = parts.filter((s) => !always.includes(s));
      const anchor = always[0];
      if (anchor) {
        const a = isCtor('absent', symbolOf(anchor.fact));
        for (const s of always.slice(1)) out.push(app('=', a, isCtor('absent', symbolOf(s.fact))));
        for (const s of sometimes) out.push(app('=>', a, isCtor('absent', symbolOf(s.fact))));
      }
    }
  }
  return out;
}

/** Values the previous action can take: absent, or any action id. */
export function prevDomain(v: Smt): Smt {
  return or(isCtor('absent', v), isCtor('str', v));
}

/** Printable ASCII strings (used to prefer readable counterexamples). */
export const READABLE_RE: Smt = app('re.*', range(' ', '~'));

