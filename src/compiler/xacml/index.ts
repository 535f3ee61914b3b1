/** The XACML 3.0 back end: a compiled APE policy as one PolicySet, and the JSON Profile request encoding. */
import type { CompiledPolicy } from '../compile.js';
import { XacmlUnrepresentableError, type XacmlDiagnostic } from './diagnostics.js';
import { emitPolicySet, type XacmlPolicySet } from './policy.js';

export { XacmlUnrepresentableError, renderXacmlDiagnostic, type XacmlDiagnostic } from './diagnostics.js';
export { policySetId, type XacmlPolicySet, type XacmlRuleInfo } from './policy.js';
export { ATTRIBUTE, CATEGORY, DATATYPE, PEP, XACML_NS, factAttributeId } from './vocabulary.js';
export { xacmlRequest, type XacmlJsonRequest } from './request.js';
export { escapeXml, XmlLiteralError } from './writer.js';

/** The diagnostics of compiling this policy to XACML (empty when it is representable). */
export function xacmlDiagnostics(policy: CompiledPolicy): XacmlDiagnostic[] {
  return emitPolicySet(policy).diagnostics;
}

/** Compiles to an XACML 3.0 PolicySet. Throws `XacmlUnrepresentableError` on what XACML can't express. */
export function compileXacml(policy: CompiledPolicy): XacmlPolicySet {
  const { set, diagnostics } = emitPolicySet(policy);
  if (!set) throw new XacmlUnrepresentableError(diagnostics);
  return set;
}
