/**
 * The cedar engine: decides in-process with cedar-wasm, one `statefulIsAuthorized` call per
 * decision. Each action's policies are preparsed once: its rules as `permit`s (so Cedar reports
 * every rule that matched, whatever its decision), its transitions, and one detector per condition
 * of its allow rules (satisfied when the condition fails, naming the reasons of a default
 * decision). Precedence deny > escalate > allow > default is applied to the policies Cedar
 * reports. Cedar errors fail closed.
 */
import type { CompiledPolicy } from '../../compiler/compile.js';
import { cedarPolicySet, type CedarPolicy, type CedarPolicySet } from '../../compiler/cedar/index.js';
import { encodeFact, typedAttributes, type ContextValue, type FactAttributes } from '../../compiler/cedar/encoding.js';
import { PREVIOUS_ACTION, type CedarCondition } from '../../compiler/cedar/policies.js';
import { PRINCIPAL_TYPE, RESOURCE_TYPE, schemaText } from '../../compiler/cedar/schema.js';
import { preparsePolicySet, preparseSchema, statefulIsAuthorized, type AuthorizationAnswer, type StatefulAuthorizationCall } from '../../compiler/cedar/wasm.js';
import { candidatePrefix, failureTemplate, missingReason, renderReason, type ReasonTemplate } from '../../compiler/explain.js';
import type { DecisionResult, EngineInput } from '../../compiler/ir.js';
import { EngineError } from '../../errors.js';
import type { DecisionEngine } from '../engine.js';
import { OutcomeBuilder, type Findings, type RuleHit } from '../outcome.js';

const ENGINE = 'cedar';

/** Options of the cedar engine. */
export interface CedarEngineOptions {
  /** Validate each request against the preparsed Cedar schema before deciding (default false). */
  validateRequests?: boolean;
}
const PRINCIPAL = { type: PRINCIPAL_TYPE, id: 'agent' };
const RESOURCE = { type: RESOURCE_TYPE, id: 'tool' };

/** A detector: the condition of an allow rule it reports as failing, and how to say why. */
interface Detector {
  condition: CedarCondition;
  failure: ReasonTemplate;
  missing: string;
  prefix: string;
  /** The id is the rule's own policy, and the condition failed when it is NOT satisfied. */
  whenUnmatched: boolean;
}

/** What one action needs: its preparsed set, the policies by Cedar id, and the facts to encode. */
interface ActionState {
  setId: string | null;
  byId: Map<string, CedarPolicy>;
  /** Rule policies of the action, in policy order. */
  rules: CedarPolicy[];
  detectors: Map<string, Detector>;
  /** Detector ids in reason order (allow rules in policy order, conditions in order). */
  detectorOrder: string[];
  attrs: FactAttributes[];
}

/** Whether the encoded context holds a value of a type the condition tests (else it is "missing"). */
function accepted(context: Record<string, ContextValue>, c: CedarCondition): boolean {
  const { condition, attrs } = c;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(context, k);
  const isNumber = () => has(attrs.floor) || has(attrs.ceil) || has(attrs.khi);
  switch (condition.op) {
    case 'exists':
      return typedAttributes(attrs).some((t) => has(t.name));
    case 'equals':
    case 'one_of': {
      const values = condition.op === 'equals' ? [condition.value] : condition.values;
      return values.some((v) => (typeof v === 'string' ? has(attrs.str) : typeof v === 'number' ? isNumber() : has(attrs.bool)));
    }
    case 'min':
    case 'max':
    case 'min_length':
    case 'max_length':
      return isNumber();
    case 'source':
      return has(attrs.set);
    default:
      return has(attrs.str);
  }
}

/** The cedar decision engine for one compiled policy. */
export class CedarEngine implements DecisionEngine {
  readonly name = ENGINE;
  readonly #outcome: OutcomeBuilder;
  readonly #set: CedarPolicySet;
  readonly #prefix: string;
  readonly #states = new Map<string, ActionState>();
  readonly #unknown: ActionState;
  #closed = false;
  /** Name of the preparsed schema requests are validated against, when enabled. */
  readonly #schema: string | null;
  readonly #known: Set<string>;

  /**
   * Throws `CedarUnrepresentableError` when the policy uses what Cedar can't express.
   * `validateRequests` also checks every request against the preparsed schema (defense in depth,
   * at roughly 10 µs a decision); it is off by default.
   */
  constructor(policy: CompiledPolicy, options: CedarEngineOptions = {}) {
    this.#outcome = new OutcomeBuilder(policy.ir, policy.hash, ENGINE);
    this.#set = cedarPolicySet(policy);
    // Ids depend on the policy only: an engine re-created for the same policy reuses its sets.
    this.#prefix = `ape|${policy.hash}`;
    this.#unknown = this.#build(null);
    this.#known = new Set(this.#set.actions);
    this.#schema = null;
    if (options.validateRequests) {
      this.#schema = `${this.#prefix}|schema`;
      const answer = preparseSchema(this.#schema, schemaText(this.#set, policy.ir));
      if (answer.type !== 'success') throw new EngineError(ENGINE, `cannot load the schema: ${answer.errors.map((e) => e.message).join('; ')}`);
    }
  }

  #preparse(id: string, policies: Record<string, string>): void {
    const answer = preparsePolicySet(id, { staticPolicies: policies });
    if (answer.type !== 'success') throw new EngineError(ENGINE, `cannot load the policy set: ${answer.errors.map((e) => e.message).join('; ')}`);
  }

  /** Builds (and preparses) the state of one action; `null` builds the state of actions no rule covers. */
  #build(action: string | null): ActionState {
    const rules = action === null ? [] : this.#set.policies.filter((p) => p.kind === 'rule' && (p.actions as string[]).includes(action));
    const transitions = this.#set.policies.filter((p) => p.kind === 'transition' && (action === null || !(p.transition?.allowed ?? []).includes(action)));
    const byId = new Map<string, CedarPolicy>();
    const texts: Record<string, string> = {};
    for (const p of [...rules, ...transitions]) {
      const id = `p${p.index}`;
      byId.set(id, p);
      texts[id] = p.evaluation.cedar;
    }
    const setId = byId.size ? `${this.#prefix}|${action === null ? 'other' : `action|${action}`}` : null;
    const detectors = new Map<string, Detector>();
    const detectorOrder: string[] = [];
    const detectorTexts: Record<string, string> = {};
    for (const rule of rules) {
      // A rule with one condition needs no detector: that condition failed exactly when the rule did not match.
      const single = rule.detectors.length === 1;
      rule.detectors.forEach((text, i) => {
        const id = single ? `p${rule.index}` : `d${rule.index}_${i}`;
        const condition = rule.conditions[i] as CedarCondition;
        detectors.set(id, {
          condition,
          failure: failureTemplate(condition.condition),
          missing: missingReason(condition.condition),
          prefix: candidatePrefix(rule.rule),
          whenUnmatched: single,
        });
        detectorOrder.push(id);
        if (!single) detectorTexts[id] = text.cedar;
      });
    }
    Object.assign(texts, detectorTexts);
    if (setId) this.#preparse(setId, texts);
    const attrs = action === null ? [] : (this.#set.layout.byAction.get(action) ?? []);
    return { setId, byId, rules, detectors, detectorOrder, attrs };
  }

  #state(action: string): ActionState {
    let state = this.#states.get(action);
    if (!state) {
      state = this.#set.layout.byAction.has(action) ? this.#build(action) : this.#unknown;
      this.#states.set(action, state);
    }
    return state;
  }

  /** One Cedar call: the ids of the satisfied policies. Errors and failures throw (fail closed). */
  #authorize(setId: string, action: string, context: Record<string, ContextValue>): Set<string> {
    let answer: AuthorizationAnswer;
    try {
      const call: StatefulAuthorizationCall = { principal: PRINCIPAL, action: { type: 'Action', id: action }, resource: RESOURCE, context, preparsedPolicySetId: setId, entities: [] };
      if (this.#schema && this.#known.has(action)) {
        call.preparsedSchemaName = this.#schema;
        call.validateRequest = true;
      }
      answer = statefulIsAuthorized(call);
    } catch (error) {
      throw new EngineError(ENGINE, `cedar-wasm failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (answer.type !== 'success') throw new EngineError(ENGINE, `cedar rejected the request: ${answer.errors.map((e) => e.message).join('; ')}`);
    const { errors, reason } = answer.response.diagnostics;
    if (errors.length) throw new EngineError(ENGINE, `policy evaluation failed (fail closed): ${errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`);
    return new Set(reason);
  }

  /** Decides one engine input with Cedar. Rejects with `EngineError` (never allows) when Cedar fails. */
  decide(input: EngineInput): Promise<DecisionResult> {
    try {
      return Promise.resolve(this.decideSync(input));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new EngineError(ENGINE, String(error)));
    }
  }

  /** Decides synchronously (cedar-wasm is synchronous). */
  decideSync(input: EngineInput): DecisionResult {
    if (this.#closed) throw new EngineError(ENGINE, 'the engine is closed');
    const state = this.#state(input.action);
    const context: Record<string, ContextValue> = {};
    for (const attrs of state.attrs) encodeFact(context, attrs, input.facts[attrs.fact]);
    if (this.#set.hasTransitions && input.previous_action !== undefined) context[PREVIOUS_ACTION] = input.previous_action;
    const satisfied = state.setId ? this.#authorize(state.setId, input.action, context) : new Set<string>();

    const hits: RuleHit[] = [];
    let transition: CedarPolicy | undefined;
    for (const [id, p] of state.byId) {
      if (!satisfied.has(id)) continue;
      if (p.kind === 'transition') transition = p;
      else hits.push({ id: p.rule, decision: p.decision });
    }
    const failures = hits.length === 0 ? this.#failures(state, input, context, satisfied) : [];
    const findings: Findings = { action: input.action, hits, failures };
    if (transition?.transition) findings.forbiddenAfter = transition.transition.from;
    return this.#outcome.build(findings);
  }

  /** Why each allow rule of the action failed: the detectors Cedar reports, in policy order. */
  #failures(state: ActionState, input: EngineInput, context: Record<string, ContextValue>, failing: Set<string>): string[] {
    const out: string[] = [];
    for (const id of state.detectorOrder) {
      const d = state.detectors.get(id) as Detector;
      if (failing.has(id) === d.whenUnmatched) continue;
      out.push(d.prefix + (accepted(context, d.condition) ? renderReason(d.failure, input.facts[d.condition.condition.fact]) : d.missing));
    }
    return out;
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Creates the cedar engine for a policy (throws `CedarUnrepresentableError` on what Cedar can't express). */
export function createCedarEngine(policy: CompiledPolicy, options: CedarEngineOptions = {}): Promise<DecisionEngine> {
  try {
    return Promise.resolve(new CedarEngine(policy, options));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
