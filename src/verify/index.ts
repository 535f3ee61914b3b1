/** Verification: export policies as models (JSON, SMT-LIB, TLA+) and prove properties with Z3, in-process. */
import './targets.js';

export { PropertyError } from './errors.js';
export { smtExport, SMT_EXPORT_VERSION } from './export-smt.js';
export { solverLints, type SolverLint, type SolverLintCode } from './lints.js';
export { MODEL_FORMAT, MODEL_VERSION, verificationModel } from './model.js';
export { loadProperties, parseConditions, parseProperties, propertyFrom, PERMITTED, type ConditionsMap, type Property } from './properties.js';
export type { RequestLine } from './realize.js';
export { semanticDiff, type SemanticDiff, type SemanticDiffOptions, type SemanticDifference } from './semantic-diff.js';
export { checkSmt, DEFAULT_TIMEOUT_MS, z3Context, type QueryResult } from './solver.js';
export { modelCheckingFiles, tokenSpec, TLA_INVARIANTS } from './tla.js';
export { verifyProperties, verifyProperty, type PropertyResult, type VerifyOptions } from './verify.js';
