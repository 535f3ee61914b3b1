/** Intents: what the user asked for, validated against a JSON Schema, frozen, versioned by the hash of its canonical JSON. */
import { Ajv } from 'ajv';
import { canonicalPath } from '../compiler/canonical.js';
import { canonicalJson, hashJson } from '../compiler/hash.js';
import type { ActionIR, JsonObject, JsonValue } from '../compiler/ir.js';
import { globToRegExp } from '../compiler/glob.js';
import { ACTION_ID_PATTERN } from '../compiler/policy-schema.js';
import { callTargets } from './call-targets.js';
import { IntentValidationError } from './errors.js';
import { requireTrusted, type ProvenanceLabel } from './provenance.js';
import { deepFreeze } from './freeze.js';
import { plainCopy } from './plain.js';

/** An intent as callers write it. */
export interface IntentInput {
  description?: string;
  /** Actions the user asked for. */
  allowed_actions: string[];
  /** Actions that must never run under this intent. */
  forbidden_actions?: string[];
  /** Actions that may run only after a human approves each call. */
  escalation_actions?: string[];
  /** Where the actions may reach: path prefixes and host globs (`*` = any run of characters). */
  scope?: { paths?: string[]; hosts?: string[] };
  metadata?: JsonObject;
}

/** A validated, frozen intent bound to one tenant. */
export interface Intent {
  readonly tenant: string;
  /** `sha256:<hex>` of the canonical JSON of `data`. */
  readonly version: string;
  readonly data: Readonly<IntentInput>;
}

const actionList = { type: 'array', items: { type: 'string', pattern: ACTION_ID_PATTERN }, uniqueItems: true, maxItems: 1000 };

/** The JSON Schema every intent must match. */
export const INTENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['allowed_actions'],
  properties: {
    description: { type: 'string', maxLength: 10000 },
    allowed_actions: actionList,
    forbidden_actions: actionList,
    escalation_actions: actionList,
    scope: {
      type: 'object',
      additionalProperties: false,
      properties: {
        paths: { type: 'array', items: { type: 'string', pattern: '^/' }, maxItems: 1000 },
        hosts: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 1000 },
      },
    },
    metadata: { type: 'object' },
  },
} as const;

const validate = new Ajv({ strict: true, allErrors: false }).compile(INTENT_SCHEMA);

/**
 * Validates and freezes an intent for a tenant. `source` is the provenance of unlabeled input
 * (default `user`); untrusted (`external`) data anywhere in it is refused with `ProvenanceError`.
 */
export function createIntent(input: unknown, options: { tenant: string; source?: ProvenanceLabel }): Intent {
  // Read once into frozen plain data (getters, proxies, cycles, Dates... refused with InputError).
  const plain = requireTrusted('intent', plainCopy(input, 'intent', { labeled: true }), options.source ?? 'user');
  if (!validate(plain)) {
    const e = validate.errors?.[0];
    throw new IntentValidationError(e?.instancePath ?? '', e?.message ?? 'does not match the intent schema');
  }
  const data = JSON.parse(canonicalJson(plain)) as IntentInput;
  const forbidden = new Set(data.forbidden_actions ?? []);
  for (const list of ['allowed_actions', 'escalation_actions'] as const) {
    const clash = (data[list] ?? []).find((a) => forbidden.has(a));
    if (clash) throw new IntentValidationError(`/${list}`, `lists '${clash}', which is also forbidden`);
  }
  for (const p of data.scope?.paths ?? []) {
    if (canonicalPath(p) === undefined) throw new IntentValidationError('/scope/paths', `'${p}' is not an absolute path`);
  }
  const intent: Intent = Object.freeze({ tenant: options.tenant, version: hashJson(data as unknown as JsonValue), data: deepFreeze(data) });
  genuine.add(intent);
  return intent;
}

/** Intents made by `createIntent` (frozen, validated): the only ones taken without a copy. */
const genuine = new WeakSet<object>();

/** Whether a value is an intent `createIntent` made (not a look-alike object). */
export function isGenuineIntent(value: unknown): value is Intent {
  return typeof value === 'object' && value !== null && genuine.has(value);
}

/** How an intent treats an action: `allowed`, `escalate` (approval needed), or `forbidden` (also when unlisted). */
export function intentDecision(intent: Intent, action: string): 'allowed' | 'escalate' | 'forbidden' {
  const d = intent.data;
  if (d.forbidden_actions?.includes(action)) return 'forbidden';
  if (d.escalation_actions?.includes(action)) return 'escalate';
  if (d.allowed_actions.includes(action)) return 'allowed';
  return 'forbidden';
}

const compiledScopes = new WeakMap<Intent, { prefixes?: string[]; globs?: RegExp[] }>();

function compiledScope(intent: Intent): { prefixes?: string[]; globs?: RegExp[] } {
  let compiled = compiledScopes.get(intent);
  if (!compiled) {
    const scope = intent.data.scope ?? {};
    compiled = {};
    if (scope.paths) {
      compiled.prefixes = scope.paths.map((p) => {
        const c = canonicalPath(p) as string;
        return c.endsWith('/') ? c : `${c}/`;
      });
    }
    if (scope.hosts) compiled.globs = scope.hosts.map((h) => globToRegExp(h.toLowerCase().replace(/\.$/, '')));
    compiledScopes.set(intent, compiled);
  }
  return compiled;
}

/** Why a call falls outside the intent's scope, or undefined when it is inside. */
export function scopeViolation(intent: Intent, action: ActionIR | undefined, params: JsonValue): string | undefined {
  if (!intent.data.scope) return undefined;
  const { prefixes, globs } = compiledScope(intent);
  for (const target of callTargets(action, params)) {
    if (target.kind === 'path' && prefixes) {
      if (target.value === undefined || !prefixes.some((p) => `${target.value}/`.startsWith(p))) {
        return `'${target.param}' (${target.value ?? 'invalid path'}) is outside the intent's paths`;
      }
    }
    if (target.kind === 'host' && globs) {
      if (target.value === undefined || !globs.some((g) => g.test(target.value as string))) {
        return `'${target.param}' (${target.value ?? 'invalid host'}) is outside the intent's hosts`;
      }
    }
  }
  return undefined;
}
