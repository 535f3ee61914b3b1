/** The APE intermediate representation: plain JSON data every back end reads. */

/** A JSON value, as it appears in policies, parameters and engine input. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };
/** A scalar that `equals` and `one_of` compare exactly. */
export type Scalar = string | number | boolean;

/** The three outcomes of a decision, in increasing precedence: allow < escalate < deny. */
export type Decision = 'allow' | 'deny' | 'escalate';

/** Risk levels of the action repository, lowest first. */
export const RISK_LEVELS = ['minimal', 'low', 'moderate', 'high', 'critical'] as const;
/** A risk level of an action. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Action categories of the action repository. */
export const CATEGORIES = [
  'file_read',
  'file_write',
  'file_delete',
  'network',
  'database_read',
  'database_write',
  'system',
  'communication',
  'compute',
  'custom',
] as const;
/** The category of an action. */
export type Category = (typeof CATEGORIES)[number];

/**
 * What a parameter holds, declared by the action's parameter schema through `format`.
 * Values of these kinds are canonicalized in TypeScript before any engine sees them.
 */
export type ValueKind = 'plain' | 'path' | 'url' | 'domain' | 'email' | 'ip';

/** The JSON type a condition operator expects of the fact it tests (`list`: a list of strings). */
export type ValueType = 'string' | 'number' | 'list' | 'any';

/**
 * One condition: a predicate on one fact of the request.
 * `fact` names the key of the engine input's `facts` record the engines read.
 */
export type ConditionIR =
  | { op: 'prefix'; path: string; fact: string; kind: ValueKind; values: string[] }
  | { op: 'suffix'; path: string; fact: string; kind: ValueKind; values: string[] }
  | { op: 'allowlist'; path: string; fact: string; kind: ValueKind; patterns: string[] }
  | { op: 'denylist'; path: string; fact: string; kind: ValueKind; patterns: string[] }
  | { op: 'equals'; path: string; fact: string; kind: ValueKind; value: Scalar }
  | { op: 'one_of'; path: string; fact: string; kind: ValueKind; values: Scalar[] }
  | { op: 'min'; path: string; fact: string; kind: ValueKind; value: number }
  | { op: 'max'; path: string; fact: string; kind: ValueKind; value: number }
  | { op: 'regex'; path: string; fact: string; kind: ValueKind; pattern: string }
  | { op: 'min_length'; path: string; fact: string; kind: ValueKind; value: number }
  | { op: 'max_length'; path: string; fact: string; kind: ValueKind; value: number }
  | { op: 'exists'; path: string; fact: string; kind: ValueKind; value: boolean }
  | { op: 'cidr'; path: string; fact: string; kind: ValueKind; ranges: string[]; prefixes: string[] }
  | { op: 'provenance'; path: string; fact: string; kind: ValueKind; labels: ProvenanceLabel[] }
  | { op: 'source'; path: string; fact: string; kind: ValueKind; names: string[] };

/**
 * Where a value came from, most trusted first: the runtime labels values, and untrusted data can't
 * grant authority. `model`: written by the model (found in no trusted input and no tool output).
 */
export const PROVENANCE_LABELS = ['system', 'user', 'model', 'external'] as const;
/** A provenance label. */
export type ProvenanceLabel = (typeof PROVENANCE_LABELS)[number];

/** The operator names of the condition language. */
export type ConditionOp = ConditionIR['op'];

/** One rule: the actions it covers, its decision and the conditions that must all hold. */
export interface RuleIR {
  /** Stable id: the author's `id`, or one derived from where the rule stands. */
  id: string;
  /** Action ids the rule covers (exact, case-sensitive). */
  actions: string[];
  decision: Decision;
  conditions: ConditionIR[];
}

/** How a parameter path of an action is read from the request and canonicalized. */
export interface ParameterKindIR {
  path: string;
  kind: ValueKind;
}

/** An action as the policy sees it: repository entry or inline declaration. */
export interface ActionIR {
  id: string;
  category: Category;
  risk: RiskLevel;
  humanReview: boolean;
  description: string;
  /** JSON Schema of the parameters object. */
  parameters: JsonObject;
  /** Parameter paths with a declared kind (path, url, domain, email, ip). */
  kinds: ParameterKindIR[];
  /** Where the definition came from. */
  source: 'standard' | 'inline';
}

/** An allowed action that is escalated because of its risk or human-review flag. */
export interface RiskEscalationIR {
  action: string;
  /** Synthetic rule id reported as the determining rule, e.g. `risk:high`. */
  rule: string;
  reason: string;
}

/** One rate limit: at most `limit` calls per window, or in all (a quota) when `window_seconds` is absent. */
export interface LimitIR {
  limit: number;
  window_seconds?: number;
}

/** Rate limits and quotas a policy declares for the runtime (engines ignore them). */
export interface RateLimitsIR {
  /** Every call of the tenant. */
  global?: LimitIR;
  /** Every call of one session. */
  per_session?: LimitIR;
  /** Calls of one action, keyed by action id. */
  per_action?: Record<string, LimitIR>;
  /** Calls reaching a target (canonical host or path), keyed by glob: each pattern has one counter. */
  per_target?: Record<string, LimitIR>;
  /** Maximum cumulative risk score of one session. */
  risk_budget?: number;
}

/** The whole compiled policy. Plain JSON: hashed, snapshotted and handed to every back end. */
export interface PolicyIR {
  irVersion: 1;
  name: string;
  version: string;
  description: string;
  defaultDecision: Decision;
  /** Rules in precedence-neutral policy order (order only breaks ties between equal decisions). */
  rules: RuleIR[];
  /** Actions the policy references or declares, keyed by id. */
  actions: Record<string, ActionIR>;
  /** Allowed outcomes turned into escalations by the policy's `risk` settings. */
  riskEscalations: RiskEscalationIR[];
  /** After a tool in the keys, only the listed tools may follow (checked from `context.previous_action`). */
  toolTransitions: Record<string, string[]>;
  metadata: JsonObject;
  /** Rate limits for the runtime; absent when the policy declares none (so older policies hash the same). */
  rateLimits?: RateLimitsIR;
}

/**
 * What every engine receives: the action and the canonicalized facts its rules test,
 * keyed by `ConditionIR.fact`. Absent keys are missing or invalid values.
 */
export interface EngineInput {
  action: string;
  facts: Record<string, JsonValue>;
  /** The previous action of the session, for `tool_transitions`. */
  previous_action?: string;
}

/** The decision every engine returns, field for field. */
export interface DecisionResult {
  decision: Decision;
  /** The determining rule id, or null when the default decided. */
  rule: string | null;
  /** Ids of every rule that matched, in policy order. */
  matched: string[];
  /** Why: for a default denial, why each candidate allow rule failed. */
  reasons: string[];
  policy_hash: string;
  engine: string;
}
