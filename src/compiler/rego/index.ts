/** The Rego back end: emit a policy as a Rego v1 package and its `opa test` cases. */
export { emitRego, decisionPath, entrypoints, factsDecisionPath, packageSegments } from './emit.js';
export { emitRegoTests } from './tests.js';
export { CONDITION_EMITTERS, globToRe2 } from './conditions.js';
export { RegoEmitError, isIdent } from './writer.js';
