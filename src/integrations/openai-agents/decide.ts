/** The Agents SDK pieces APE adds to a function tool: a per-call `needsApproval`, an input guardrail, and the approval lookup. */
import { defineToolInputGuardrail, ToolGuardrailFunctionOutputFactory, type RunContext, type ToolInputGuardrailDefinition } from '@openai/agents';
import type { Ape } from '../../agent/index.js';
import { FrameworkApprovalError, precheck, refusalText, type ApprovalLedger, type FrameworkAnswer, type ResolvedOptions } from '../core/index.js';

/** The framework name in approval keys. */
export const OPENAI_AGENTS = 'openai-agents';

/** A tool's own approval policy, as the SDK takes it. */
export type UserApproval = boolean | ((runContext: RunContext<unknown>, input: never, callId?: string) => Promise<boolean>) | undefined;

/**
 * `needsApproval` deciding with APE: an escalation asks a human (and is recorded as pending for this
 * call id), a denial does not (the input guardrail refuses it, so a denied call never reaches a human),
 * an allowed call asks only if the tool's own policy says so.
 */
export function approvalPolicy(ape: Ape, name: string, action: string, o: ResolvedOptions, ledger: ApprovalLedger, own: UserApproval) {
  return async (runContext: RunContext<unknown>, input: unknown, callId?: string): Promise<boolean> => {
    const verdict = await precheck(ape, action, input, o.context);
    if (verdict.kind === 'deny') return false;
    if (verdict.kind === 'escalate') {
      // The SDK evaluates the policy again when a run resumes with a decision already made: only the
      // first evaluation records the pause, so a restored (or forged) state can approve nothing new.
      if (callId !== undefined && runContext.isToolApproved({ toolName: name, callId }) === undefined) await ledger.open(name, action, callId, input as object);
      return true;
    }
    if (typeof own === 'function') return own(runContext, input as never, callId);
    return own === true;
  };
}

/** A tool input guardrail rejecting a call APE denies, with the reason as the content the model reads. */
export function policyGuardrail(ape: Ape, name: string, action: string, o: ResolvedOptions): ToolInputGuardrailDefinition {
  return defineToolInputGuardrail({
    name: 'ape_policy',
    run: async ({ toolCall }) => {
      let input: unknown;
      try {
        input = JSON.parse(toolCall.arguments);
      } catch {
        return ToolGuardrailFunctionOutputFactory.rejectContent(refusalText(name, 'the arguments are not JSON'));
      }
      const verdict = await precheck(ape, action, input, o.context);
      if (verdict.kind !== 'deny') return ToolGuardrailFunctionOutputFactory.allow();
      return ToolGuardrailFunctionOutputFactory.rejectContent(refusalText(name, verdict.reason), { rule: verdict.rule });
    },
  });
}

/**
 * The SDK's answer for this call id: approved only through `state.approve(item)` for this one call.
 * An approval of the whole tool for the run (`alwaysApprove`) is refused.
 */
export function approvalAnswer(runContext: RunContext<unknown> | undefined, name: string, callId: string | undefined): FrameworkAnswer | undefined {
  if (!runContext || callId === undefined) return undefined;
  if (runContext.isToolApproved({ toolName: name, callId }) !== true) return undefined;
  const record = runContext.toJSON().approvals[name];
  if (!record || !Array.isArray(record.approved) || !record.approved.includes(callId)) {
    return { approved: false, reason: new FrameworkApprovalError(name, 'whole_tool').message };
  }
  return { approved: true, approver: OPENAI_AGENTS };
}
