/**
 * Engine `xacml`: decides through an XACML 3.0 PDP over the REST Profile with the JSON Profile
 * (AuthzForce CE's RESTful PDP server, serving the PolicySet of `ape compile --target xacml`).
 * Only Permit without the escalate obligation is an allow; NotApplicable, Indeterminate, a
 * timeout, an unreachable PDP or an answer that does not agree with itself are typed errors.
 */
import type { CompiledPolicy } from '../../compiler/compile.js';
import { candidatePrefix, failureTemplate, missingReason, renderReason } from '../../compiler/explain.js';
import type { ConditionIR, Decision, DecisionResult, EngineInput, JsonValue } from '../../compiler/ir.js';
import { compileXacml, PEP, xacmlRequest } from '../../compiler/xacml/index.js';
import { EngineError } from '../../errors.js';
import type { DecisionEngine } from '../engine.js';
import { HttpExchangeFailure, bodyExcerpt, httpUrl, postJson } from '../http.js';
import { OutcomeBuilder, type Findings, type RuleHit } from '../outcome.js';
import { XACML_ENGINE, XacmlInconsistentError, XacmlNotDecidedError, XacmlPdpResponseError, XacmlPdpTimeoutError, XacmlPdpUnreachableError } from './errors.js';
import { parseXacmlResponse, type PepAction, type XacmlResult } from './response.js';

export * from './errors.js';
export { PDP_PATH, writePdpConfig, type PdpConfigOptions } from './server-config.js';
export { parseXacmlResponse, type PepAction, type XacmlResult } from './response.js';

/** Milliseconds before a request to the PDP is abandoned (and the decision fails closed). */
export const DEFAULT_XACML_TIMEOUT_MS = 5000;

/** Options of the `xacml` engine. */
export interface XacmlEngineOptions {
  /** The PDP endpoint that takes `POST` JSON Profile requests, e.g. `http://127.0.0.1:8080/pdp`. */
  url: string;
  timeoutMs?: number;
}

/** Whether a present fact has a type the condition tests (native's rule: otherwise it counts as missing). */
function accepts(c: ConditionIR, value: JsonValue): boolean {
  switch (c.op) {
    case 'exists':
      return true;
    case 'equals':
    case 'one_of': {
      const values = c.op === 'equals' ? [c.value] : c.values;
      return values.some((v) => typeof v === typeof value);
    }
    case 'min':
    case 'max':
    case 'min_length':
    case 'max_length':
      return typeof value === 'number';
    case 'source':
      return Array.isArray(value) && value.every((x) => typeof x === 'string');
    default:
      return typeof value === 'string';
  }
}

function single(action: PepAction, id: string): string | undefined {
  const values = action.values.get(id);
  return values && values.length === 1 ? values[0] : undefined;
}

/** Delegates the decisions of one policy to an XACML PDP. */
export class XacmlEngine implements DecisionEngine {
  readonly name = XACML_ENGINE;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #policy: CompiledPolicy;
  readonly #outcome: OutcomeBuilder;

  /** Throws `XacmlUnrepresentableError` for a policy XACML cannot express. */
  constructor(policy: CompiledPolicy, options: XacmlEngineOptions) {
    const url = httpUrl(XACML_ENGINE, 'PDP', options.url);
    compileXacml(policy);
    this.#url = url.href;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_XACML_TIMEOUT_MS;
    this.#policy = policy;
    this.#outcome = new OutcomeBuilder(policy.ir, policy.hash, XACML_ENGINE);
  }

  async decide(input: EngineInput): Promise<DecisionResult> {
    const result = await this.#ask(input);
    if (result.decision !== 'Permit' && result.decision !== 'Deny') throw new XacmlNotDecidedError(result.decision, result.status);
    const explain = result.advice.find((a) => a.id === PEP.explain);
    if (!explain) throw new XacmlInconsistentError('no explain advice');
    const flag = (id: string): boolean => {
      const value = single(explain, id);
      if (value !== 'true' && value !== 'false') throw new XacmlInconsistentError(`explain value ${id} is ${JSON.stringify(value)}`);
      return value === 'true';
    };
    const { ir } = this.#policy;
    const hits: RuleHit[] = [];
    ir.rules.forEach((rule, i) => {
      if (flag(PEP.explainRule(i))) hits.push({ id: rule.id, decision: rule.decision });
    });
    const failures: string[] = [];
    if (hits.length === 0) {
      ir.rules.forEach((rule, i) => {
        if (rule.decision !== 'allow' || !rule.actions.includes(input.action)) return;
        rule.conditions.forEach((c, k) => {
          if (flag(PEP.explainCondition(i, k))) return;
          const value = Object.prototype.hasOwnProperty.call(input.facts, c.fact) ? input.facts[c.fact] : undefined;
          const prefix = candidatePrefix(rule.id);
          if (value === undefined || !accepts(c, value)) failures.push(prefix + missingReason(c));
          else failures.push(prefix + renderReason(failureTemplate(c), value));
        });
      });
    }
    const findings: Findings = { action: input.action, hits, failures };
    if (flag(PEP.explainTransition)) {
      if (input.previous_action === undefined) throw new XacmlInconsistentError('a transition was forbidden without a previous action');
      findings.forbiddenAfter = input.previous_action;
    }
    const decided = this.#outcome.build(findings);
    this.#check(result, decided);
    return decided;
  }

  /** The PDP's own answer must say what the explain advice implies: Deny, Permit, or Permit with the escalate obligation. */
  #check(result: XacmlResult, decided: DecisionResult): void {
    const escalations = result.obligations.filter((o) => o.id === PEP.escalate);
    const unknown = result.obligations.filter((o) => o.id !== PEP.escalate);
    if (unknown.length) throw new XacmlInconsistentError(`unknown obligation ${unknown[0]?.id ?? ''}`);
    const xacml: Decision = result.decision === 'Deny' ? 'deny' : escalations.length ? 'escalate' : 'allow';
    if (xacml !== decided.decision) throw new XacmlInconsistentError(`the PDP says ${xacml} (${result.decision}) where its explanation says ${decided.decision}`);
    const pep = xacml === 'escalate' ? escalations : result.advice.filter((a) => a.id === PEP.decision);
    if (pep.length !== 1) throw new XacmlInconsistentError(`${pep.length} decision obligations or advice`);
    const rule = single(pep[0] as PepAction, PEP.rule) ?? null;
    if (rule !== decided.rule) throw new XacmlInconsistentError(`the PDP names rule ${JSON.stringify(rule)} where its explanation says ${JSON.stringify(decided.rule)}`);
  }

  async #ask(input: EngineInput): Promise<XacmlResult> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await postJson(this.#url, xacmlRequest(input, this.#policy.hash), 'application/xacml+json', this.#timeoutMs));
    } catch (error) {
      if (!(error instanceof HttpExchangeFailure)) throw error;
      if (error.timedOut) throw new XacmlPdpTimeoutError(this.#url, this.#timeoutMs);
      throw new XacmlPdpUnreachableError(this.#url, error.message);
    }
    if (status !== 200) throw new XacmlPdpResponseError(this.#url, status, bodyExcerpt(text));
    return parseXacmlResponse(text, this.#url);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The `xacml` engine; `xacmlUrl` is required. */
export function createXacmlEngine(policy: CompiledPolicy, options: { xacmlUrl?: string; timeoutMs?: number }): Promise<XacmlEngine> {
  if (!options.xacmlUrl) return Promise.reject(new EngineError(XACML_ENGINE, 'no PDP URL: pass --xacml-url http://127.0.0.1:8080/pdp'));
  try {
    const engineOptions: XacmlEngineOptions = { url: options.xacmlUrl };
    if (options.timeoutMs !== undefined) engineOptions.timeoutMs = options.timeoutMs;
    return Promise.resolve(new XacmlEngine(policy, engineOptions));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
