/**
 * The raw Cedar form: conditions on the parameters as the application sends them (context
 * `{params, context, previous_action}`, no APE canonicalization). Only values Cedar can check
 * exactly are decided exactly: plain strings, integers and booleans, and paths whose spelling `like`
 * proves canonical (absolute, no `//`, `.` or `..` segment, no NUL). Everything else (hosts, URLs,
 * emails, IPs, derived parts, lengths, provenance, non-identifier keys) fails closed: an allow
 * condition on it never holds, a deny or escalate condition always holds. Permits also require the
 * parameters to fit the action's schema and the request to carry no value no rule reads (Cedar
 * cannot see how deep such a value nests, which APE limits).
 */
import type { ConditionIR, Decision, JsonObject, JsonValue, PolicyIR, RuleIR } from '../ir.js';
import { actionDefinition, planFacts, type FactSpec } from '../engine-input.js';
import { KIND_FORMATS, STANDARD_ACTION_IDS } from '../repository.js';
import { globParts } from './conditions.js';
import { and, bool, entity, ifThenElse, isIdent, likePattern, long, not, or, str, WILDCARD, type Cedar } from './writer.js';

/** The Cedar context attributes of the raw form: `params` and `context` as in an APE request. */
const ROOTS = { params: 'params', context: 'context' } as const;

/** Where a raw value lives and how the condition reads it. */
interface RawValue {
  /** `context.params.a.b`. */
  value: Cedar;
  /** `context has params && context.params has a && context.params.a has b` (errors when a parent is not a record). */
  present: Cedar;
  /** A key identifying the location (for the well-typedness guard). */
  key: string;
  kind: 'plain' | 'path';
}

/** The value a condition reads, when it can be read exactly (else null: fail closed). */
function rawValue(spec: FactSpec | null): RawValue | null {
  if (!spec || spec.transform !== 'value' || spec.resolved.derived !== undefined) return null;
  const { kind, segments, source } = spec.resolved;
  if ((kind !== 'plain' && kind !== 'path') || segments.length === 0 || !segments.every(isIdent)) return null;
  const chain = [ROOTS[source], ...segments];
  const present: Cedar[] = [{ cedar: `context has ${chain[0] as string}` }];
  for (let i = 1; i < chain.length; i++) present.push({ cedar: `context.${chain.slice(0, i).join('.')} has ${chain[i] as string}` });
  return { value: { cedar: `context.${chain.join('.')}` }, present: and(present), key: `${source}:${segments.join('.')}`, kind };
}

/** The raw location of a condition's parameter, even when its value is not exact (for `exists`). */
function rawPresence(spec: FactSpec | null): Cedar | null {
  if (!spec) return null;
  const base: FactSpec = { ...spec, transform: 'value', resolved: { ...spec.resolved, kind: 'plain', factKind: 'plain' } };
  delete base.resolved.derived;
  return rawValue(base)?.present ?? null;
}

const like = (v: Cedar, parts: (string | typeof WILDCARD)[]): Cedar => ({ cedar: `${v.cedar} like ${likePattern(parts).cedar}` });

/** A string value that `canonicalPath` leaves unchanged: absolute, no empty, `.` or `..` segment, no NUL. */
function canonicalPathTest(v: Cedar): Cedar {
  return and([
    like(v, ['/', WILDCARD]),
    not(or([
      like(v, [WILDCARD, '//', WILDCARD]),
      like(v, [WILDCARD, '/./', WILDCARD]),
      like(v, [WILDCARD, '/../', WILDCARD]),
      like(v, [WILDCARD, '/.']),
      like(v, [WILDCARD, '/..']),
      like(v, [WILDCARD, '\0', WILDCARD]),
    ])),
  ]);
}

type RawType = 'string' | 'long' | 'bool' | 'any';

/** Holds for a value of this type; fails or errs for any other (`any`: always holds). */
function typeProbe(type: RawType, v: Cedar): Cedar {
  switch (type) {
    case 'string':
      return like(v, [WILDCARD]);
    case 'long':
      return { cedar: `${v.cedar} >= 0 || ${v.cedar} < 0`, binds: 'or' };
    case 'bool':
      return { cedar: `${v.cedar} == true || ${v.cedar} == false`, binds: 'or' };
    case 'any':
      return bool(true);
  }
}

/** Keys read under `params` or `context`: a node per key, its location key (as in `RawValue.key`) and the keys read below it. */
interface KeyTree {
  key: string;
  children: Map<string, KeyTree>;
}

/** An exactly decided condition: the guard that the value is usable, the test, and the type it needs. */
interface Exact {
  accepted: Cedar;
  test: Cedar;
  type: RawType;
}

/**
 * `equals`/`one_of` on operands of one JSON type: the test, and the type the value must have (a
 * value of another type makes native's deny and escalate rules hold, which the raw form can only
 * honour by refusing every permit, through the well-typedness guard). Null for operands of several
 * types or integers beyond 2^53 (fail closed).
 */
function scalarsTest(v: Cedar, values: readonly (string | number | boolean)[]): { test: Cedar; type: RawType } | null {
  const types = new Set(values.map((x) => typeof x));
  if (types.size !== 1) return null;
  const parts: Cedar[] = [];
  for (const value of values) {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) {
        if (Number.isInteger(value)) return null; // beyond 2^53: doubles and Longs disagree
        continue; // a fraction never equals a Long
      }
      parts.push({ cedar: `${v.cedar} == ${long(value + 0).cedar}` });
    } else parts.push({ cedar: `${v.cedar} == ${typeof value === 'string' ? str(value).cedar : bool(value).cedar}` });
  }
  const type = types.has('string') ? 'string' : types.has('number') ? 'long' : 'bool';
  return { test: or(parts), type };
}

function exactCondition(c: ConditionIR, raw: RawValue): Exact | null {
  const v = raw.value;
  const isPath = raw.kind === 'path';
  const accepted = isPath ? and([raw.present, canonicalPathTest(v)]) : raw.present;
  const onString = (test: Cedar): Exact => ({ accepted, test, type: 'string' });
  switch (c.op) {
    case 'prefix':
      return onString(or(c.values.map((p) => like(v, [p, WILDCARD]))));
    case 'suffix':
      return onString(or(c.values.map((p) => like(v, [WILDCARD, p]))));
    case 'allowlist':
      return onString(or(c.patterns.map((p) => like(v, globParts(p)))));
    case 'denylist':
      return onString(not(or(c.patterns.map((p) => like(v, globParts(p))))));
    case 'equals':
    case 'one_of': {
      const scalar = scalarsTest(v, c.op === 'equals' ? [c.value] : c.values);
      if (!scalar || (isPath && scalar.type !== 'string')) return null;
      return { accepted, test: scalar.test, type: scalar.type };
    }
    case 'min':
    case 'max': {
      if (isPath) return null;
      const bound = c.op === 'min' ? Math.ceil(c.value) : Math.floor(c.value);
      if (!Number.isSafeInteger(bound)) return null;
      return { accepted, test: { cedar: `${v.cedar} ${c.op === 'min' ? '>=' : '<='} ${long(bound + 0).cedar}` }, type: 'long' };
    }
    default:
      return null;
  }
}

/** The raw Cedar of a rule's conditions, and the types their values must have. */
export class RawConditions {
  readonly #plans: Map<string, FactSpec[]>;
  /** By action: the raw locations its rules read exactly, with the type each needs (`conflict` when two differ). */
  readonly #types = new Map<string, Map<string, { raw: RawValue; type: RawType | 'conflict' }>>();

  constructor(ir: PolicyIR) {
    this.#plans = planFacts(ir).plans;
    // Every condition registers the type its value needs first, so the guard is complete when the policies are written.
    for (const rule of ir.rules) for (const c of rule.conditions) this.holds(rule, c, rule.decision);
  }

  /** The spec of a condition's fact, when every action of the rule reads it the same way. */
  #spec(rule: RuleIR, c: ConditionIR): FactSpec | null {
    let found: FactSpec | null = null;
    for (const action of rule.actions) {
      const spec = this.#plans.get(action)?.find((s) => s.fact === c.fact);
      if (!spec) return null;
      if (found && JSON.stringify(found) !== JSON.stringify(spec)) return null;
      found = spec;
    }
    return found;
  }

  #need(rule: RuleIR, raw: RawValue, type: RawType): void {
    for (const action of rule.actions) {
      const types = this.#types.get(action) ?? new Map<string, { raw: RawValue; type: RawType | 'conflict' }>();
      this.#types.set(action, types);
      const seen = types.get(raw.key);
      if (!seen || seen.type === 'any') types.set(raw.key, { raw, type });
      else if (type !== 'any' && seen.type !== type) seen.type = 'conflict';
    }
  }

  /** When the condition holds inside a rule with this decision (fail closed where not exact). */
  holds(rule: RuleIR, c: ConditionIR, decision: Decision): Cedar {
    const spec = this.#spec(rule, c);
    const raw = rawValue(spec);
    if (c.op === 'exists') {
      const exact = raw && !c.fact.includes('#') ? raw : null;
      if (exact) this.#need(rule, exact, exact.kind === 'path' ? 'string' : 'any');
      const accepted = exact ? (exact.kind === 'path' ? and([exact.present, canonicalPathTest(exact.value)]) : exact.present) : null;
      const present = rawPresence(spec);
      if (decision === 'allow') {
        if (c.value) return accepted ?? bool(false);
        return present ? not(present) : bool(false);
      }
      if (c.value) return present ?? bool(true);
      return accepted ? not(accepted) : bool(true);
    }
    const exact = raw ? exactCondition(c, raw) : null;
    if (!exact || !raw) return bool(decision !== 'allow');
    this.#need(rule, raw, exact.type);
    if (decision === 'allow') return and([exact.accepted, exact.test]);
    return ifThenElse(exact.accepted, exact.test, bool(true));
  }

  /** The keys the rules of this action read under `params` or `context`, as a tree (identifier keys only). */
  #tree(source: 'params' | 'context', action: string): KeyTree {
    const root: KeyTree = { key: `${source}:`, children: new Map() };
    for (const spec of this.#plans.get(action) ?? []) {
      const { segments } = spec.resolved;
      if (spec.resolved.source !== source || segments.length === 0 || !segments.every(isIdent)) continue;
      let node = root;
      segments.forEach((segment, i) => {
        let child = node.children.get(segment);
        if (!child) {
          child = { key: `${source}:${segments.slice(0, i + 1).join('.')}`, children: new Map() };
          node.children.set(segment, child);
        }
        node = child;
      });
    }
    return root;
  }

  /**
   * A probe that holds only for a scalar value this action's rules read at this key: of the one type
   * they need, else (only `exists` reads it, or conditions of several types) a string or a boolean;
   * it fails or errs otherwise (Cedar has no test for "any scalar").
   */
  #leafProbe(action: string, key: string, v: Cedar): Cedar {
    const type = this.#types.get(action)?.get(key)?.type;
    if (type === 'string' || type === 'long' || type === 'bool') return typeProbe(type, v);
    return { cedar: `${v.cedar} == true || ${v.cedar} == false || ${like(v, [WILDCARD]).cedar}`, binds: 'or' };
  }

  /**
   * The record `v` holds only keys of this tree (record equality over the keys present, at most
   * six per level), its records recursively so, and its leaves scalars: so no value anywhere below
   * it nests deeper than the tree (APE refuses nesting beyond 64 levels, which Cedar cannot count).
   */
  #shape(action: string, v: Cedar, node: KeyTree): Cedar {
    const keys = [...node.children.keys()].sort();
    if (keys.length > MAX_OPTIONAL) return bool(false);
    const has = (k: string): Cedar => ({ cedar: `${v.cedar} has ${k}` });
    const shapes: Cedar[] = [];
    for (let mask = 0; mask < 1 << keys.length; mask++) {
      const present = keys.filter((_, i) => mask & (1 << i));
      const record = `{${present.map((k) => `${k}: ${v.cedar}.${k}`).join(', ')}}`;
      shapes.push(and([...keys.map((k) => (present.includes(k) ? has(k) : not(has(k)))), { cedar: `${v.cedar} == ${record}` }]));
    }
    const parts: Cedar[] = [or(shapes)];
    for (const k of keys) {
      const child = node.children.get(k) as KeyTree;
      const value: Cedar = { cedar: `${v.cedar}.${k}` };
      parts.push(or([not(has(k)), child.children.size ? this.#shape(action, value, child) : this.#leafProbe(action, child.key, value)]));
    }
    return and(parts);
  }

  /**
   * The shape checks for a permit of these actions (null: every action): `context.context` holds
   * only keys the action's rules read, and for an action without a definition `context.params`
   * holds only keys its rules read (none for an action no rule names). Values no rule reads are
   * refused (fail closed), because Cedar can neither enumerate them nor measure their nesting.
   */
  shapeCheck(ir: PolicyIR, actions: readonly string[] | null): Cedar {
    const defined = new Set([...STANDARD_ACTION_IDS, ...Object.keys(ir.actions)]);
    const named = [...new Set(actions ?? [...defined, ...ir.rules.flatMap((r) => r.actions)])].sort();
    const within = (root: string, action: string, node: KeyTree): Cedar => or([{ cedar: `!(context has ${root})` }, this.#shape(action, { cedar: `context.${root}` }, node)]);
    const shapeOf = (action: string): Cedar => {
      const parts = [within(ROOTS.context, action, this.#tree('context', action))];
      if (!defined.has(action)) parts.push(within(ROOTS.params, action, this.#tree('params', action)));
      return and(parts);
    };
    const parts = named.map((id) => (actions !== null && actions.length === 1 ? shapeOf(id) : or([{ cedar: `action != ${entity('Action', id).cedar}` }, shapeOf(id)])));
    if (actions === null) {
      // Any other action has no definition and no rule: it takes no parameter and no context.
      const empty: KeyTree = { key: '', children: new Map() };
      parts.push(or([...named.map((id) => ({ cedar: `action == ${entity('Action', id).cedar}` })), and([within(ROOTS.params, '', empty), within(ROOTS.context, '', empty)])]));
    }
    return and(parts);
  }

  /**
   * Holds when every raw value the rules of these actions (null: of every action) read exactly has
   * the type its conditions need; a value of another type makes it fail or raise an error, so a
   * permit that includes it never applies then (Cedar skips a policy whose evaluation errs, which
   * would otherwise silence a forbid).
   */
  wellTyped(actions: readonly string[] | null): Cedar {
    const ids = actions ?? [...this.#types.keys()].sort();
    const parts: Cedar[] = [];
    for (const id of ids) {
      const types = this.#types.get(id);
      if (!types) continue;
      const checks: Cedar[] = [];
      for (const key of [...types.keys()].sort()) {
        const { raw, type } = types.get(key) as { raw: RawValue; type: RawType | 'conflict' };
        if (type === 'conflict') {
          checks.push(bool(false));
          continue;
        }
        checks.push(or([not(raw.present), typeProbe(type, raw.value)]));
      }
      parts.push(ids.length === 1 && actions !== null ? and(checks) : or([{ cedar: `action != ${entity('Action', id).cedar}` }, and(checks)]));
    }
    return and(parts);
  }
}

const PROPERTY_KEYS = new Set(['type', 'format', 'description', 'title', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'enum', 'const']);
const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;
const MAX_OPTIONAL = 6;

/**
 * An integer bound as the Long bound Cedar compares with (`v >= b` for minimum and exclusive
 * minimum, `v <= b` for the maxima): exact, because a fraction is no Cedar value, so every value
 * Cedar compares is an integer. Null when the bound is not a finite number or leaves the safe range.
 */
function longBound(keyword: (typeof BOUNDS)[number], bound: JsonValue | undefined): number | null {
  if (typeof bound !== 'number' || !Number.isFinite(bound)) return null;
  const b = keyword === 'minimum' ? Math.ceil(bound) : keyword === 'maximum' ? Math.floor(bound) : keyword === 'exclusiveMinimum' ? Math.floor(bound) + 1 : Math.ceil(bound) - 1;
  return Number.isSafeInteger(b) ? b + 0 : null;
}

/** The checks of one parameter (null: Cedar cannot check it, so the parameter must be absent). */
function propertyCheck(v: Cedar, schema: JsonValue | undefined): Cedar | null {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return null;
  if (!Object.keys(schema).every((k) => PROPERTY_KEYS.has(k))) return null;
  const format = schema['format'];
  if (format !== undefined && (typeof format !== 'string' || !(format in KIND_FORMATS))) return null;
  const values = schema['const'] !== undefined ? [schema['const']] : schema['enum'];
  if (values !== undefined && !Array.isArray(values)) return null;
  const type = schema['type'];
  // `enum`/`const`: the listed values of the parameter's type (a fractional or unsafe number never equals a Long exactly: left out, fail closed).
  const members = (jsType: 'string' | 'number' | 'boolean'): Cedar | null =>
    values === undefined
      ? null
      : or(
          values.flatMap((x): Cedar[] => {
            if (typeof x !== jsType) return [];
            if (typeof x === 'number') return Number.isSafeInteger(x) ? [{ cedar: `${v.cedar} == ${long(x + 0).cedar}` }] : [];
            return [{ cedar: `${v.cedar} == ${typeof x === 'string' ? str(x).cedar : bool(x as boolean).cedar}` }];
          }),
        );
  switch (type) {
    case 'string':
    case 'boolean': {
      if (BOUNDS.some((k) => schema[k] !== undefined)) return null;
      const listed = members(type);
      return listed ?? typeProbe(type === 'string' ? 'string' : 'bool', v);
    }
    case 'integer':
    case 'number': {
      // A fraction is no Cedar value (the request is refused), so both are Longs here; a comparison errs on anything else.
      const checks: Cedar[] = [];
      for (const keyword of BOUNDS) {
        if (schema[keyword] === undefined) continue;
        const b = longBound(keyword, schema[keyword]);
        if (b === null) return null;
        checks.push({ cedar: `${v.cedar} ${keyword === 'minimum' || keyword === 'exclusiveMinimum' ? '>=' : '<='} ${long(b).cedar}` });
      }
      const listed = members('number');
      if (listed) checks.push(listed);
      return checks.length ? and(checks) : typeProbe('long', v);
    }
    default:
      return null;
  }
}

/**
 * The parameter-schema checks of one action that Cedar can make exactly: required parameters
 * present, each parameter of its declared scalar type, `enum`/`const` and integer bounds, and no other parameter
 * (record equality over the present optional ones, with or without `additionalProperties: false`). A parameter whose schema uses anything else must be absent; a schema beyond this
 * (nested objects, arrays, unions, lengths, patterns, more than six optional parameters) never
 * passes. False is fail closed: the action is never allowed.
 */
function actionSchemaCheck(parameters: JsonObject): Cedar {
  const params: Cedar = { cedar: `context.${ROOTS.params}` };
  const known = new Set(['type', 'properties', 'required', 'additionalProperties', 'description']);
  if (parameters['type'] !== 'object' || !Object.keys(parameters).every((k) => known.has(k))) return bool(false);
  const properties = parameters['properties'] ?? {};
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return bool(false);
  const names = Object.keys(properties).sort();
  if (!names.every(isIdent)) return bool(false);
  const requiredList = parameters['required'] ?? [];
  if (!Array.isArray(requiredList) || !requiredList.every((r): r is string => typeof r === 'string' && names.includes(r))) return bool(false);
  const required = new Set(requiredList);
  const closed = parameters['additionalProperties'];
  if (closed !== undefined && closed !== false) return bool(false);
  const has = (name: string): Cedar => ({ cedar: `${params.cedar} has ${name}` });
  const checks: Cedar[] = [];
  for (const name of names) {
    const value: Cedar = { cedar: `${params.cedar}.${name}` };
    const check = propertyCheck(value, (properties as JsonObject)[name]);
    if (required.has(name)) checks.push(has(name), check ?? bool(false));
    else checks.push(check ? or([not(has(name)), check]) : not(has(name)));
  }
  // No parameter but the declared ones, closed schema or not: Cedar cannot see what an undeclared one holds (nor how deep it nests).
  const optional = names.filter((n) => !required.has(n));
  if (optional.length > MAX_OPTIONAL) return bool(false);
  const shapes: Cedar[] = [];
  for (let mask = 0; mask < 1 << optional.length; mask++) {
    const present = optional.filter((_, i) => mask & (1 << i));
    const keys = names.filter((n) => required.has(n) || present.includes(n));
    const record = `{${keys.map((k) => `${k}: ${params.cedar}.${k}`).join(', ')}}`;
    shapes.push(and([...optional.map((n) => (present.includes(n) ? has(n) : not(has(n)))), { cedar: `${params.cedar} == ${record}` }]));
  }
  checks.push(or(shapes));
  const body = and(checks);
  // Absent parameters are `{}` (as in APE): only required ones make that fail.
  return required.size ? and([{ cedar: `context has ${ROOTS.params}` }, body]) : or([{ cedar: `!(context has ${ROOTS.params})` }, body]);
}

/**
 * The checks for a permit whose scope is these actions (null: every action): the request's shape
 * (`params` and `context` records, `previous_action` a string), and for each action with a
 * definition, `action != A || <its schema checks>`.
 */
export function schemaCheck(ir: PolicyIR, actions: readonly string[] | null): Cedar {
  const ids = actions ?? [...new Set([...STANDARD_ACTION_IDS, ...Object.keys(ir.actions)])].sort();
  // The request's shape, as APE refuses it: `params` and `context` records, `previous_action` a string
  // (`has` on anything but a record, and `like` on anything but a string, raise an error).
  const record = (root: string): Cedar => ({ cedar: `!(context has ${root}) || context.${root} has ape || true` , binds: 'or' });
  const parts: Cedar[] = [
    record(ROOTS.params),
    record(ROOTS.context),
    or([{ cedar: '!(context has previous_action)' }, like({ cedar: 'context.previous_action' }, [WILDCARD])]),
  ];
  for (const id of ids) {
    const definition = actionDefinition(ir, id);
    if (!definition) continue;
    const check = actionSchemaCheck(definition.parameters);
    parts.push(actions !== null && actions.length === 1 ? check : or([{ cedar: `action != ${entity('Action', id).cedar}` }, check]));
  }
  return and(parts);
}
