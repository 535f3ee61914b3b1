/** The agent layer: `Ape.fromPolicy`, `guard()`, sessions, the intent compiler, the plan generator and the orchestrator. */
export { Ape, type ApeOptions, type ApePolicyStatus, type PolicyFeed, type CallOptions, type CheckOptions, type GuardedTool, type ToolFunction, type RunBindingOptions } from './ape.js';
export { AgentSession, type AgentSessionOptions, type AgentSessionSummary } from './session.js';
export { AgentClosedError, AgentConfigError, IntentAmbiguityError, type IntentCandidate } from './errors.js';
export { loadPolicy, type PolicyInput } from './policy-source.js';
export { compileIntent, policyStance, type ActionRequest, type CompiledIntent, type IntentCompilerOptions, type PolicyStance } from './intent/compile.js';
export { extractEntities, type Entity, type EntityKind } from './intent/entities.js';
export { planFromIntent } from './plan/generate.js';
export { parsePlan } from './plan/parse.js';
export { validatePlan, intentVerdict, type PlanCheckContext } from './plan/validate.js';
export { toLlmPrompt } from './plan/prompt.js';
export {
  ModelOutputError,
  PLAN_OUTPUT_SCHEMA,
  aiSdkModelHook,
  planWithModel,
  refineIntent,
  wideningOf,
  type ModelContext,
  type ModelHook,
  type PlanWithModelOptions,
  type StructuredOutputRequest,
} from './model.js';
export type { Analysis, AnalyzedStep, ExecuteOptions, ExecutionResult, ExecutionStatus, PendingApproval, StepReport, StepStatus } from './orchestrator.js';
export type { IntentInput, PlanInput, PlanStepInput, ApprovalHandler, ApprovalRequest, ApprovalResponse } from '../runtime/index.js';
