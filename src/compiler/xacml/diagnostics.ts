/** The XACML target's "can't express that" diagnostic and the typed error that carries it. */
import { ApeError } from '../../errors.js';
import type { ConditionOp } from '../ir.js';

/** Something the XACML target cannot express: which rule (or part of the policy), which operator, which parameter. */
export interface XacmlDiagnostic {
  code: 'xacml-unrepresentable';
  severity: 'error';
  target: 'xacml';
  /** The APE rule id, or the part of the policy (`tool_transitions`, `actions`, `metadata`). */
  rule: string;
  operator: ConditionOp | null;
  /** The condition's parameter path ('' outside conditions). */
  path: string;
  file: string;
  /** Keys from the policy document root to the condition. */
  location: (string | number)[];
  message: string;
}

/** Renders a diagnostic as one line. */
export function renderXacmlDiagnostic(d: XacmlDiagnostic): string {
  const where = d.location.length ? ` (${d.location.join('.')})` : '';
  const what = d.operator ? `operator '${d.operator}' on '${d.path}'` : `'${d.rule}'`;
  return `${d.file}: rule '${d.rule}'${where}: ${what} cannot be compiled to target ${d.target}: ${d.message}`;
}

/** The policy uses something XACML cannot express; compiling to or deciding with XACML is refused. */
export class XacmlUnrepresentableError extends ApeError {
  readonly diagnostics: XacmlDiagnostic[];
  constructor(diagnostics: XacmlDiagnostic[]) {
    const first = diagnostics[0];
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '';
    super('APE_TARGET_UNREPRESENTABLE', first ? `${renderXacmlDiagnostic(first)}${more}` : 'the policy cannot be compiled to xacml');
    this.diagnostics = diagnostics;
  }
}
