/** The services a runtime shares with its runs and its gate (never exposed through the public API). */
import type { DecisionRequest } from '../compiler/engine-input.js';
import type { DecisionResult } from '../compiler/ir.js';
import type { Evaluator } from '../evaluator.js';
import type { Auditor } from './audit/events.js';
import type { InFlight } from './inflight.js';
import type { OriginRegistry } from './origin.js';
import type { ApprovalHandler, ApprovalRecord } from './escalation.js';
import type { RateLimiter } from './rate-limit.js';
import type { SessionManager } from './session.js';
import type { SingleUseStore } from './stores/types.js';
import type { TokenClaims, TokenSigner } from './tokens.js';

/** One decision the engine made for a call: the exact request (what `ape eval --requests` reads) and its result. */
export interface DecisionLogEntry {
  /** `plan`: deciding a step when its plan is approved (not under `decideAtExecution`, e.g. a guarded call); `call`: deciding the call about to run. */
  stage: 'plan' | 'call';
  request: DecisionRequest;
  result: DecisionResult;
}

/** How the gate treats a call: `enforce` blocks, `observe` decides and audits but never blocks, `disabled` only runs. */
export type GateMode = 'enforce' | 'observe' | 'disabled';

/** Shared runtime services. */
export interface RuntimeCore {
  /** The current policy's evaluator: replaced as one assignment by `ApeRuntime.swapPolicy` (read it once per decision). */
  evaluator: Evaluator;
  /** Asynchronous decisions running per evaluator (a swapped-out one is handed back once they ended). */
  inflight: InFlight<Evaluator>;
  signer: TokenSigner;
  tokens: SingleUseStore<TokenClaims>;
  approvals: SingleUseStore<ApprovalRecord>;
  sessions: SessionManager;
  limiter: RateLimiter;
  auditor: Auditor;
  now: () => number;
  mode: GateMode;
  tokenTtlMs: number;
  /** How far a token's issue time may lie ahead of this runtime's clock (another process's clock, or this one set back). */
  clockSkewMs: number;
  approvalTtlMs: number;
  approvalTimeoutMs: number;
  handler: ApprovalHandler | undefined;
  /** Whether a decision can depend on the session's facts (`context.session.*` conditions or tool transitions). */
  sessionDependent: boolean;
  /** Provenance by origin, when enabled: the tracker of each session (created on first use). */
  origins: OriginRegistry | undefined;
  /** Told every request the engine decided and its result (copies), when set. */
  decisionLog: ((entry: DecisionLogEntry) => void) | undefined;
  /** Risk score of an action (from the policy's or the repository's risk level). */
  riskOf(action: string): number;
}
