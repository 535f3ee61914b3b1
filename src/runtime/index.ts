/** APE's runtime: intents, plans, authority tokens, the enforcement gate, escalation, sessions, rate limits, provenance, audit. */
export * from './errors.js';
export { ApeRuntime, type RuntimeOptions, type RuntimeStores } from './runtime.js';
// `Run` is a type only: runs are made by `ApeRuntime.createRun` (its constructor is internal).
export type { Run, Authorization, PlanApprovalOptions, StepOptions } from './run.js';
export { Capability } from './capability.js';
export { plainCopy, plainCallPlan, MAX_DEPTH, MAX_NODES, type PlainValue, type PlainOptions } from './plain.js';
export type { GateMode } from './core.js';
export type { Call, StepResult, ToolContext, ToolDefinition, ToolInfo } from './gate.js';
export { createIntent, intentDecision, scopeViolation, INTENT_SCHEMA, type Intent, type IntentInput } from './intent.js';
export type { Plan, PlanInput, PlanStep, PlanStepInput } from './plan.js';
export { StateMachine, TRANSITIONS, type RuntimeState } from './state-machine.js';
export { TokenSigner, type TokenClaims } from './tokens.js';
export type { ApprovalHandler, ApprovalRequest, ApprovalResponse, ApprovalRecord } from './escalation.js';
export type { DecisionLogEntry } from './core.js';
export { OriginTracker, OriginRegistry, normalizeForOrigin, TRUSTED_PLACES, type OriginRegistryLimits, type OriginOptions, type OriginLabels, type ValueOrigin, type OriginFacts } from './origin.js';
export { Labeled, label, lowest, combine, isTrusted, unwrap, requireTrusted, type ProvenanceLabel } from './provenance.js';
export { RISK_SCORES, sessionContext, type Session, type SessionSummary } from './session.js';
export { RateLimiter, type LimitedCall, type LimitIR, type RateLimitsIR } from './rate-limit.js';
export { callTargets, type CallTarget } from './call-targets.js';
export { Auditor, type AuditEvent, type AuditEventType, type AuditSink } from './audit/events.js';
export { MemorySink, CallbackSink, JsonlSink } from './audit/sinks.js';
export { verifyChain, verifyAuditFile, lineHash, chainLine, GENESIS, type VerifyResult } from './audit/chain.js';
export { redactor, DEFAULT_SENSITIVE, REDACTED } from './audit/redact.js';
export * from './stores/types.js';
export { MemoryCounterStore, MemorySessionStore, MemorySingleUseStore } from './stores/memory.js';
export {
  RedisCounterStore,
  RedisSessionStore,
  RedisSingleUseStore,
  StoreUnavailableError,
  connectRedisStores,
  redisStores,
  redisClusterStores,
  type ConnectRedisOptions,
  type RedisScriptClient,
  type RedisStoreOptions,
  type RedisStoresConnection,
} from './stores/redis.js';
