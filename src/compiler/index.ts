/** The compiler layer: policy YAML -> IR, diagnostics, canonicalization and engine input. */
export * from './ir.js';
export * from './diagnostics.js';
export * from './compile.js';
export * from './engine-input.js';
export * from './explain.js';
export * from './hash.js';
export * from './canonical.js';
export { OPERATORS, OPERATOR_NAMES, factKey, type OperatorSpec } from './operators.js';
export { POLICY_SCHEMA } from './policy-schema.js';
export { standardAction, standardActions, STANDARD_ACTION_IDS, KIND_FORMATS } from './repository.js';
export type { PolicyExample, RuleSourceMap } from './normalize.js';
export { resolvePath, type ResolvedPath, type DerivedPart } from './paths.js';
export { diffPolicies, type ActionChange } from './diff.js';
export { simulate, type SimulatedDecision } from './simulate.js';
export { registerTarget, getTarget, targetNames, irJson, TargetRegistrationError, type CompileTarget, type TargetOptions, type TargetResult } from './targets.js';
export { isWellFormed } from './unicode.js';
