/**
 * From a model's fact values back to a request: values chosen so that canonicalization gives the
 * solver's facts (a canonical path is its own canonical form; a URL is rebuilt from its parts).
 * The caller decides the request with the native evaluator before it reports anything.
 */
import { canonicalIp } from '../compiler/canonical.js';
import type { FactSpec } from '../compiler/engine-input.js';
import type { JsonObject, JsonValue, PolicyIR } from '../compiler/ir.js';
import { actionDefinition } from '../compiler/engine-input.js';
import { parameterSchema, placesFromString } from './facts.js';
import type { ModelValue } from './solver.js';

/** A request in the form `ape eval --requests` reads, one per line. */
export interface RequestLine {
  action: string;
  params: JsonObject;
  context: JsonObject;
  previous_action?: string;
  provenance?: Record<string, string>;
  sources?: Record<string, string[]>;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };

/** Values no canonicalization accepts, for a required parameter whose fact is absent. */
const INVALID: Record<string, string> = { path: 'relative/path', url: 'not a url', email: 'not-an-email', domain: 'bad host/', ip: 'not-an-ip' };

function json(v: ModelValue | undefined): JsonValue | undefined {
  if (!v) return undefined;
  switch (v.kind) {
    case 'str':
    case 'num':
    case 'bool':
      return v.value;
    case 'other':
      return null;
    default:
      return undefined;
  }
}

function str(v: ModelValue | undefined): string | undefined {
  return v?.kind === 'str' ? v.value : undefined;
}

function ipFromBits(bits: string): string | undefined {
  const [family, body] = bits.split(':');
  if (!body) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i += 8) bytes.push(parseInt(body.slice(i, i + 8), 2));
  if (family === '4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return canonicalIp(groups.join(':'))?.text;
}

function types(schema: JsonObject | undefined): string[] {
  const t = schema?.['type'];
  return typeof t === 'string' ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

/** A value a schema accepts, for a required parameter no rule reads. */
function filler(schema: JsonObject | undefined): JsonValue {
  if (!schema) return 'x';
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0] as JsonValue;
  if (Object.hasOwn(schema, 'const')) return schema['const'] as JsonValue;
  const t = types(schema)[0];
  const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : 0;
  switch (t) {
    case 'string': {
      const format = schema['format'];
      const n = typeof schema['minLength'] === 'number' ? schema['minLength'] : 1;
      if (format === 'path') return '/x';
      if (format === 'url') return 'https://example.com/';
      if (format === 'email') return 'user@example.com';
      if (format === 'domain') return 'example.com';
      if (format === 'ip') return '127.0.0.1';
      return 'x'.repeat(n);
    }
    case 'number':
    case 'integer':
      return Math.ceil(min);
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'null':
      return null;
    default:
      return {};
  }
}

/** The raw parameter value whose canonical facts are the model's values, or undefined for "leave it out". */
function rawValue(group: FactSpec[], values: Map<string, ModelValue>, schema: JsonObject | undefined): JsonValue | undefined {
  const first = group[0] as FactSpec;
  const kind = first.resolved.kind;
  const find = (transform: FactSpec['transform'], derived?: string) =>
    values.get(group.find((s) => s.transform === transform && s.resolved.derived === derived)?.fact ?? '\u0000');
  const value = find('value');
  const length = find('length');
  const n = length?.kind === 'num' ? length.value : undefined;
  switch (kind) {
    case 'plain': {
      if (value && value.kind !== 'absent' && value.kind !== 'other') return json(value);
      const t = types(schema);
      if (value?.kind === 'other') {
        if (n !== undefined) return Array.from({ length: n }, () => null);
        return t.includes('null') || t.length === 0 ? null : t.includes('object') ? {} : [];
      }
      if (n !== undefined) return t.length === 0 || t.includes('string') ? 'a'.repeat(n) : Array.from({ length: n }, () => null);
      return undefined;
    }
    case 'path':
      return str(value) ?? (n !== undefined && n >= 1 ? `/${'a'.repeat(n - 1)}` : undefined);
    case 'domain':
      return str(value) ?? (n !== undefined && n >= 1 ? 'a'.repeat(n) : undefined);
    case 'ip': {
      const bits = str(find('bits'));
      return str(value) ?? (bits ? ipFromBits(bits) : undefined);
    }
    case 'url': {
      const href = str(value);
      if (href !== undefined) return href;
      const scheme = str(find('value', 'scheme'));
      const host = str(find('value', 'host'));
      const port = find('value', 'port');
      const path = str(find('value', 'path'));
      if (scheme === undefined && host === undefined && path === undefined && port?.kind !== 'num') return undefined;
      const s = scheme ?? 'https';
      const readsHost = group.some((g) => g.resolved.derived === 'host');
      if (host === undefined && readsHost) return `${s}:${path ?? ''}`;
      if (host === undefined) return `${s}://example.com${path ?? '/'}`;
      const p = port?.kind === 'num' && port.value !== DEFAULT_PORTS[s] ? `:${port.value}` : '';
      return `${s}://${host}${p}${path ?? '/'}`;
    }
    case 'email': {
      const address = str(value);
      if (address !== undefined) return address;
      const local = str(find('value', 'local'));
      const domain = str(find('value', 'domain'));
      if (local === undefined && domain === undefined) return undefined;
      return `${local ?? 'user'}@${domain ?? 'example.com'}`;
    }
  }
}

function setPath(root: JsonObject, segments: readonly string[], value: JsonValue): boolean {
  let node = root;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined) node[segment] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) return false;
    node = node[segment] as JsonObject;
  }
  const last = segments[segments.length - 1] as string;
  if (Object.hasOwn(node, last)) return false;
  node[last] = value;
  return true;
}

/** Builds the request for a model, or says why it can't. */
export function buildRequest(
  ir: PolicyIR,
  action: string,
  specs: readonly FactSpec[],
  values: Map<string, ModelValue>,
  prev: ModelValue | undefined,
): RequestLine | { error: string } {
  const request: RequestLine = { action, params: {}, context: {} };
  const groups = new Map<string, FactSpec[]>();
  for (const spec of specs) {
    if (spec.transform === 'provenance') {
      const label = str(values.get(spec.fact));
      if (label !== undefined) (request.provenance ??= {})[spec.fact.slice(0, -'#provenance'.length)] = label;
      continue;
    }
    if (spec.transform === 'source') {
      const text = str(values.get(spec.fact));
      const places = text === undefined ? undefined : placesFromString(text);
      if (places !== undefined) (request.sources ??= {})[spec.fact.slice(0, -'#source'.length)] = places;
      continue;
    }
    const key = `${spec.resolved.source}\u0000${spec.resolved.segments.join('\u0000')}`;
    groups.set(key, [...(groups.get(key) ?? []), spec]);
  }
  const ordered = [...groups.values()].sort((a, b) => (a[0] as FactSpec).resolved.segments.length - (b[0] as FactSpec).resolved.segments.length);
  for (const group of ordered) {
    const { source, segments, kind } = (group[0] as FactSpec).resolved;
    const param = source === 'params' ? parameterSchema(ir, action, segments) : { required: false };
    let raw = rawValue(group, values, param.schema);
    if (raw === undefined && param.required) {
      const invalid = INVALID[kind];
      if (invalid === undefined) return { error: `required parameter '${segments.join('.')}' has no value` };
      raw = invalid;
    }
    if (raw === undefined) continue;
    if (!setPath(source === 'params' ? request.params : request.context, segments, raw)) {
      return { error: `parameter '${segments.join('.')}' can't hold a value` };
    }
  }
  const schema = actionDefinition(ir, action)?.parameters;
  const required = schema?.['required'];
  const properties = schema?.['properties'];
  if (Array.isArray(required) && properties && typeof properties === 'object' && !Array.isArray(properties)) {
    for (const name of required) {
      if (typeof name !== 'string' || Object.hasOwn(request.params, name)) continue;
      const sub = properties[name];
      request.params[name] = filler(sub && typeof sub === 'object' && !Array.isArray(sub) ? sub : undefined);
    }
  }
  if (prev?.kind === 'str') request.previous_action = prev.value;
  return request;
}
