/**
 * From a request to the engine input: JSON checks, parameter-schema validation, and canonicalization
 * of every fact the policy's rules read. Every engine decides on the same engine input.
 */
import { ParameterValidationError, RequestError } from '../errors.js';
import { canonicalEmail, canonicalHost, canonicalIp, canonicalPath, canonicalUrl, codePointLength } from './canonical.js';
import type { ActionIR, ConditionOp, EngineInput, JsonValue, PolicyIR } from './ir.js';
import { parameterValidator } from './params-schema.js';
import { isWellFormed } from './unicode.js';
import { resolvePath, type ResolvedPath } from './paths.js';
import { standardAction } from './repository.js';

/** A request as callers write it. */
export interface DecisionRequest {
  action: string;
  params?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** The action that ran before this one in the session (for `tool_transitions`). */
  previous_action?: string;
  /** Provenance label of parameter values, keyed by parameter path (set by the runtime). */
  provenance?: Record<string, string>;
  /**
   * Where each parameter value was found, keyed by parameter path (set by the runtime): `user`,
   * `system`, or the action id of the tool whose output held it. Read by `source` conditions.
   */
  sources?: Record<string, string[]>;
}

/** How one fact of the engine input is computed from a request. */
export interface FactSpec {
  fact: string;
  resolved: ResolvedPath;
  transform: 'value' | 'length' | 'bits' | 'provenance' | 'source';
}

/** The facts each action's rules read, keyed by action id. */
export type FactPlans = Map<string, FactSpec[]>;

/** An action's definition: the policy's copy, else the standard repository's. */
export function actionDefinition(ir: PolicyIR, id: string): ActionIR | undefined {
  return Object.prototype.hasOwnProperty.call(ir.actions, id) ? ir.actions[id] : standardAction(id);
}

/**
 * Plans the facts of every action the rules cover. A rule's conditions are resolved against each
 * action it covers; for an action without a definition, against the rule's first defined action,
 * so that a path parameter is canonicalized as a path for every action of the rule.
 */
export function planFacts(ir: PolicyIR): { plans: FactPlans; conflicts: string[] } {
  const plans: FactPlans = new Map();
  const conflicts: string[] = [];
  for (const rule of ir.rules) {
    if (rule.conditions.length === 0) continue;
    const known = rule.actions.map((id) => actionDefinition(ir, id)).find((a) => a !== undefined);
    for (const id of rule.actions) {
      const action = actionDefinition(ir, id) ?? known;
      const specs = plans.get(id) ?? [];
      for (const condition of rule.conditions) {
        const transform = TRANSFORMS[condition.op] ?? 'value';
        const resolved = resolvePath(action, condition.path);
        const existing = specs.find((s) => s.fact === condition.fact);
        if (existing) {
          if (existing.resolved.kind !== resolved.kind || existing.resolved.derived !== resolved.derived) {
            conflicts.push(`'${condition.path}' of action '${id}' is read as ${existing.resolved.factKind} by one rule and as ${resolved.factKind} by rule '${rule.id}'`);
          }
          continue;
        }
        specs.push({ fact: condition.fact, resolved, transform });
      }
      plans.set(id, specs);
    }
  }
  return { plans, conflicts };
}

const TRANSFORMS: Partial<Record<ConditionOp, FactSpec['transform']>> = {
  min_length: 'length',
  max_length: 'length',
  cidr: 'bits',
  provenance: 'provenance',
  source: 'source',
};

/** The message of a malformed `request.sources` (the Rego request form gives the same). */
export const SOURCES_MESSAGE = 'request.sources must be an object of parameter path -> list of places';

/**
 * Copies `request.sources` once into plain data, checking it: an object whose values are lists of
 * well-formed strings (a lone UTF-16 surrogate is refused, as in parameters). Throws `RequestError`
 * otherwise.
 */
function readSources(raw: unknown): Map<string, string[]> | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RequestError(SOURCES_MESSAGE);
  const proto = Object.getPrototypeOf(raw) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new RequestError(SOURCES_MESSAGE);
  const out = new Map<string, string[]>();
  for (const key of Object.keys(raw)) {
    const places: unknown = (raw as Record<string, unknown>)[key];
    if (!Array.isArray(places)) throw new RequestError(SOURCES_MESSAGE);
    const copy: string[] = [];
    for (let i = 0; i < places.length; i++) {
      const place: unknown = places[i];
      if (typeof place !== 'string' || !isWellFormed(place)) throw new RequestError(SOURCES_MESSAGE);
      copy.push(place);
    }
    out.set(key, copy);
  }
  return out;
}

const MAX_DEPTH = 64;

/**
 * Throws unless `value` is plain JSON data (no NaN, Infinity, undefined, functions or class instances).
 * A cycle shows up as nesting deeper than the limit.
 */
export function assertJson(value: unknown, action: string, pointer = '', depth = 0): void {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new ParameterValidationError(action, pointer, 'is not valid Unicode (a lone UTF-16 surrogate)');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ParameterValidationError(action, pointer, `is ${String(value)}, which is not a JSON number`);
      return;
    case 'object': {
      if (value === null) return;
      if (depth > MAX_DEPTH) throw new ParameterValidationError(action, pointer, `nests deeper than ${MAX_DEPTH} levels (or contains a cycle)`);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) assertJson(value[i], action, `${pointer}/${i}`, depth + 1);
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) throw new ParameterValidationError(action, pointer, 'is not a plain JSON object');
        for (const key of Object.keys(value)) {
          if (!isWellFormed(key)) throw new ParameterValidationError(action, pointer, 'has a key that is not valid Unicode');
          const segment = key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;
          assertJson((value as Record<string, unknown>)[key], action, `${pointer}/${segment}`, depth + 1);
        }
      }
      return;
    }
    default:
      throw new ParameterValidationError(action, pointer, `is ${typeof value}, which is not JSON`);
  }
}

function lookup(root: Record<string, unknown> | undefined, segments: string[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Parses each URL string once per request, however many of its parts the rules read. */
type UrlMemo = Map<string, ReturnType<typeof canonicalUrl>>;

function canonicalValue(raw: unknown, resolved: ResolvedPath, urls: UrlMemo): JsonValue | undefined {
  if (raw === undefined) return undefined;
  switch (resolved.kind) {
    case 'plain':
      return raw as JsonValue;
    case 'path':
      return typeof raw === 'string' ? canonicalPath(raw) : undefined;
    case 'domain':
      return typeof raw === 'string' ? canonicalHost(raw) : undefined;
    case 'ip':
      return typeof raw === 'string' ? canonicalIp(raw)?.text : undefined;
    case 'url': {
      if (typeof raw !== 'string') return undefined;
      let url = urls.get(raw);
      if (url === undefined && !urls.has(raw)) {
        url = canonicalUrl(raw);
        urls.set(raw, url);
      }
      if (!url) return undefined;
      switch (resolved.derived) {
        case undefined:
          return url.href;
        case 'host':
          return url.host;
        case 'scheme':
          return url.scheme;
        case 'port':
          return url.port;
        case 'path':
          return url.path;
        default:
          return undefined;
      }
    }
    case 'email': {
      if (typeof raw !== 'string') return undefined;
      const email = canonicalEmail(raw);
      if (!email) return undefined;
      return resolved.derived === 'domain' ? email.domain : resolved.derived === 'local' ? email.local : email.address;
    }
  }
}

function transformValue(value: JsonValue | undefined, transform: FactSpec['transform']): JsonValue | undefined {
  if (value === undefined || transform === 'value') return value;
  if (transform === 'length') {
    if (typeof value === 'string') return codePointLength(value);
    return Array.isArray(value) ? value.length : undefined;
  }
  return typeof value === 'string' ? canonicalIp(value)?.bits : undefined;
}

/** Turns requests into engine inputs for one compiled policy (plans and validators prepared once). */
export class RequestPreparer {
  readonly #ir: PolicyIR;
  readonly #plans: FactPlans;

  constructor(ir: PolicyIR) {
    this.#ir = ir;
    this.#plans = planFacts(ir).plans;
  }

  /** Validates and canonicalizes a request. Throws `RequestError` or `ParameterValidationError`. */
  prepare(request: DecisionRequest): EngineInput {
    if (request === null || typeof request !== 'object') throw new RequestError('request must be an object');
    const { action } = request;
    if (typeof action !== 'string' || action.length === 0) throw new RequestError('request.action must be a non-empty string');
    const params = request.params ?? {};
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw new ParameterValidationError(action, '', 'must be an object');
    }
    assertJson(params, action);
    const context = request.context ?? {};
    if (context === null || typeof context !== 'object' || Array.isArray(context)) throw new RequestError('request.context must be an object');
    assertJson(context, action, '/context');

    const provenance = request.provenance;
    if (provenance !== undefined && (provenance === null || typeof provenance !== 'object' || Array.isArray(provenance))) {
      throw new RequestError('request.provenance must be an object of parameter path -> label');
    }
    const sources = readSources(request.sources);
    const definition = actionDefinition(this.#ir, action);
    if (definition) {
      const validate = parameterValidator(definition.parameters);
      if (!validate(params)) {
        const error = validate.errors?.[0];
        throw new ParameterValidationError(action, error?.instancePath ?? '', error?.message ?? 'do not match the schema');
      }
    }

    const facts: Record<string, JsonValue> = {};
    const specs = this.#plans.get(action);
    if (specs) {
      const urls: UrlMemo = new Map();
      for (const spec of specs) {
        if (spec.transform === 'provenance') {
          const label = provenance?.[spec.fact.slice(0, -'#provenance'.length)];
          if (typeof label === 'string') facts[spec.fact] = label;
          continue;
        }
        if (spec.transform === 'source') {
          const places = sources?.get(spec.fact.slice(0, -'#source'.length));
          if (places !== undefined) facts[spec.fact] = [...places];
          continue;
        }
        const root = spec.resolved.source === 'params' ? params : context;
        const value = transformValue(canonicalValue(lookup(root, spec.resolved.segments), spec.resolved, urls), spec.transform);
        if (value !== undefined) facts[spec.fact] = value;
      }
    }
    const input: EngineInput = { action, facts };
    if (request.previous_action !== undefined) {
      if (typeof request.previous_action !== 'string') throw new RequestError('request.previous_action must be a string');
      input.previous_action = request.previous_action;
    }
    return input;
  }
}
