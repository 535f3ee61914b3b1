/** Every built-in compile target registered, for library users: what `ape compile --target <name>` can emit. */
import './adapters/opa/targets.js';
import './compiler/cedar/target.js';
import './compiler/xacml/target.js';
import './verify/targets.js';

export { getTarget, irJson, registerTarget, targetNames, type CompileTarget, type TargetOptions, type TargetResult } from './compiler/targets.js';
