/**
 * Properties: what `ape verify` proves. A property file (YAML) holds several named properties;
 * `--never`, `--where` and `--always-within` build the same objects from the command line.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { compilePolicySource } from '../compiler/compile.js';
import type { ActionIR, ConditionIR, Decision, JsonObject, PolicyIR, RuleIR } from '../compiler/ir.js';
import { PolicyCompileError } from '../errors.js';
import { PropertyError } from './errors.js';

/** Conditions as a policy rule writes them: `{ <path>: { <operator>: <operand> } }`. */
export type ConditionsMap = Record<string, Record<string, unknown>>;

/**
 * A property of a policy.
 * - `never`: no request for the actions (matching `where`) gets one of `decisions`.
 * - `always`: every request for the actions (matching `where`) that gets one of `decisions` satisfies `always`.
 */
export interface Property {
  name: string;
  kind: 'never' | 'always';
  actions: string[];
  where?: ConditionsMap;
  always?: ConditionsMap;
  /** The outcomes the property is about (default: allow and escalate, i.e. anything that may run). */
  decisions: Decision[];
}

/** Outcomes that let a call run (escalate: after a human approves). */
export const PERMITTED: Decision[] = ['allow', 'escalate'];

const conditionsSchema = { type: 'object', additionalProperties: { type: 'object' } };
const actionsSchema = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] };
const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['properties'],
  properties: {
    version: { const: 1 },
    properties: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          description: { type: 'string' },
          action: actionsSchema,
          never: actionsSchema,
          always: conditionsSchema,
          within: { type: 'object', additionalProperties: actionsSchema },
          where: conditionsSchema,
          decisions: { type: 'array', minItems: 1, items: { enum: ['allow', 'escalate', 'deny'] } },
        },
      },
    },
  },
};
const validateFile = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(fileSchema);

interface RawProperty {
  name: string;
  action?: string | string[];
  never?: string | string[];
  always?: ConditionsMap;
  within?: Record<string, string | string[]>;
  where?: ConditionsMap;
  decisions?: Decision[];
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Builds a property from its file form (also used for command-line properties). */
export function propertyFrom(raw: RawProperty): Property {
  const always: ConditionsMap = { ...(raw.always ?? {}) };
  for (const [path, prefixes] of Object.entries(raw.within ?? {})) always[path] = { ...(always[path] ?? {}), prefix: list(prefixes) };
  const isAlways = Object.keys(always).length > 0;
  if (raw.never !== undefined && isAlways) throw new PropertyError(`property '${raw.name}': give either never or always/within, not both`);
  if (raw.never !== undefined && raw.action !== undefined) throw new PropertyError(`property '${raw.name}': never names the actions; drop action`);
  const actions = raw.never !== undefined ? list(raw.never) : raw.action !== undefined ? list(raw.action) : [];
  if (actions.length === 0) throw new PropertyError(`property '${raw.name}': name the actions (never: <action> or action: <action>)`);
  if (!isAlways && raw.never === undefined) throw new PropertyError(`property '${raw.name}': say what must hold (never, always or within)`);
  const property: Property = { name: raw.name, kind: isAlways ? 'always' : 'never', actions: [...new Set(actions)], decisions: raw.decisions ?? PERMITTED };
  if (raw.where) property.where = raw.where;
  if (isAlways) property.always = always;
  return property;
}

/** Parses a property file's text. Throws `PropertyError`. */
export function parseProperties(text: string, file = '<properties>'): Property[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new PropertyError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  if (!validateFile(data)) {
    const e = validateFile.errors?.[0];
    throw new PropertyError(`${file}: ${e?.instancePath || '/'} ${e?.message ?? 'is not a property file'}`);
  }
  const raws = (data as { properties: RawProperty[] }).properties;
  const names = new Set<string>();
  return raws.map((raw) => {
    if (names.has(raw.name)) throw new PropertyError(`${file}: property name '${raw.name}' is used twice`);
    names.add(raw.name);
    return propertyFrom(raw);
  });
}

/** Reads a property file. Throws `PropertyError`. */
export function loadProperties(file: string): Property[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PropertyError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseProperties(text, file);
}

/** Parses a `--where`-style condition map given as YAML or JSON. */
export function parseConditions(text: string, option: string): ConditionsMap {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new PropertyError(`${option} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data) || Object.values(data).some((v) => !v || typeof v !== 'object' || Array.isArray(v))) {
    throw new PropertyError(`${option} must be conditions like {path: {prefix: /etc/}}`);
  }
  return data as ConditionsMap;
}

/** Rule ids of the synthetic rules a property adds (not valid policy rule ids' usual form, so no clash). */
export const WHERE_RULE = 'verify:where';
export const ALWAYS_RULE = 'verify:always';

function inlineActionSource(a: ActionIR): JsonObject {
  return { id: a.id, description: a.description, category: a.category, risk_level: a.risk, requires_human_review: a.humanReview, parameters: a.parameters };
}

/**
 * Compiles condition maps for an action with the real compiler (operands canonicalized as a policy's are),
 * returning them as allow rules (a missing fact makes them fail).
 */
export function compileConditions(ir: PolicyIR, action: string, maps: { id: string; conditions: ConditionsMap }[]): RuleIR[] {
  if (maps.length === 0) return [];
  const inline = Object.values(ir.actions).filter((a) => a.source === 'inline' && a.id === action);
  const source = {
    name: 'verify_property',
    default_decision: 'deny',
    actions: inline.map(inlineActionSource),
    rules: maps.map((m) => ({ id: m.id, action, decision: 'allow', conditions: m.conditions })),
  };
  let compiled;
  try {
    compiled = compilePolicySource(JSON.stringify(source), '<property>');
  } catch (error) {
    if (error instanceof PolicyCompileError) {
      const first = error.diagnostics.find((d) => d.severity === 'error');
      throw new PropertyError(`conditions for '${action}': ${first ? `${first.code} ${first.message}` : error.message}`);
    }
    throw error;
  }
  return compiled.ir.rules.map((r) => ({ ...r, conditions: r.conditions.map((c): ConditionIR => c) }));
}
