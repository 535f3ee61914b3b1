/** The agent layer: `Ape.fromPolicy`, `guard()`, sessions, the intent compiler, the plan generator and the orchestrator. */
export { Ape, type ApeOptions, type CallOptions, type CheckOptions, type GuardedTool, type ToolFunction, type RunBindingOptions } from './ape.js';
export { AgentSession, type AgentSessionOptions, type AgentSessionSummary } from './session.js';
export { AgentClosedError, AgentConfigError, IntentAmbiguityError, type IntentCandidate } from './errors.js';
export { loadPolicy, type PolicyInput } from './policy-source.js';
export type { IntentInput, PlanInput, PlanStepInput, ApprovalHandler, ApprovalRequest, ApprovalResponse } from '../runtime/index.js';
