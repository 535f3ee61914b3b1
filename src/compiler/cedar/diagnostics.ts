/** The Cedar target's "can't express that" diagnostic and the typed error that carries it. */
import { ApeError } from '../../errors.js';
import type { ConditionOp } from '../ir.js';

/** A condition the Cedar target cannot express: which rule, which operator, which parameter. */
export interface CedarDiagnostic {
  code: 'cedar-unrepresentable';
  severity: 'error';
  target: 'cedar';
  /** The APE rule id. */
  rule: string;
  operator: ConditionOp;
  /** The condition's parameter path. */
  path: string;
  file: string;
  /** Keys from the policy document root to the condition. */
  location: (string | number)[];
  message: string;
}

/** Renders a diagnostic as one line. */
export function renderCedarDiagnostic(d: CedarDiagnostic): string {
  const where = d.location.length ? ` (${d.location.join('.')})` : '';
  return `${d.file}: rule '${d.rule}'${where}: operator '${d.operator}' on '${d.path}' cannot be compiled to target ${d.target}: ${d.message}`;
}

/** The policy uses something Cedar cannot express; compiling to or deciding with Cedar is refused. */
export class CedarUnrepresentableError extends ApeError {
  readonly diagnostics: CedarDiagnostic[];
  constructor(diagnostics: CedarDiagnostic[]) {
    const first = diagnostics[0];
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '';
    super('APE_TARGET_UNREPRESENTABLE', first ? `${renderCedarDiagnostic(first)}${more}` : 'the policy cannot be compiled to cedar');
    this.diagnostics = diagnostics;
  }
}
