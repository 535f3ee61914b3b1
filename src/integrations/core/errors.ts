/** Typed errors of the framework integrations: a bad option, and an approval the integration refuses. */
import { ApeError } from '../../errors.js';

/** An integration option or argument is invalid (a tool without `execute`, a bad action map...). */
export class IntegrationConfigError extends ApeError {
  constructor(message: string) {
    super('APE_INTEGRATION_CONFIG', message);
  }
}

/**
 * A framework approval cannot be used for the call about to run: none was given, it expired, it was
 * already used, it approves other arguments, or it approves a whole tool instead of one call.
 */
export class FrameworkApprovalError extends ApeError {
  readonly tool: string;
  readonly reason: 'missing' | 'expired' | 'used' | 'mismatch' | 'whole_tool' | 'revoked';
  constructor(tool: string, reason: FrameworkApprovalError['reason']) {
    super('APE_FRAMEWORK_APPROVAL', `approval for '${tool}' refused: ${APPROVAL_REASONS[reason]}`);
    this.tool = tool;
    this.reason = reason;
  }
}

const APPROVAL_REASONS: Record<FrameworkApprovalError['reason'], string> = {
  missing: 'no approval was requested for this exact call',
  expired: 'the approval expired',
  used: 'the approval was already used',
  revoked: 'the approval was revoked',
  mismatch: 'the approval is bound to other arguments',
  whole_tool: 'an approval for the whole tool is not accepted; approve each call',
};
