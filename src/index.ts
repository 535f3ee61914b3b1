/**
 * APE, the Agent Policy Engine: the public API, curated. The compiler's building blocks are under
 * `ape-policy-engine/compiler`, the back ends under their own subpaths (`/compiler/rego`,
 * `/compiler/cedar`, `/adapters/*`, `/verify`, `/targets`), the runtime under `/runtime`.
 */
// Policies: read, check, compile.
export { checkPolicyFile, checkPolicySource, compilePolicyFile, compilePolicySource, type CheckResult, type CompiledPolicy } from './compiler/compile.js';
export { DIAGNOSTIC_CODES, formatDiagnostic, hasErrors, type Diagnostic, type DiagnosticCode, type Severity } from './compiler/diagnostics.js';
export type { PolicyExample } from './compiler/normalize.js';
export type {
  ActionIR,
  Category,
  ConditionIR,
  Decision,
  DecisionResult,
  EngineInput,
  JsonObject,
  JsonValue,
  PolicyIR,
  ProvenanceLabel,
  RiskLevel,
  RuleIR,
} from './compiler/ir.js';
// Requests and decisions.
export { RequestPreparer, type DecisionRequest } from './compiler/engine-input.js';
export { createEvaluator, Evaluator, NativeEvaluator } from './evaluator.js';
export { simulate, type SimulatedDecision } from './compiler/simulate.js';
export { diffPolicies, type ActionChange } from './compiler/diff.js';
export { standardAction, standardActions, STANDARD_ACTION_IDS } from './compiler/repository.js';
// Engines.
export type { DecisionEngine } from './adapters/engine.js';
export { createEngine, engineNames, registerEngine, type EngineFactory, type EngineOptions } from './adapters/registry.js';
export { NativeEngine } from './adapters/native/index.js';
// Errors: one class per failure, one code each.
export * from './errors.js';
