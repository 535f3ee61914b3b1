/** `apeToolApproval(ape)`: the AI SDK's `toolApproval` hook deciding each call with APE before a human is asked. */
import type { ToolApprovalConfiguration, ToolApprovalStatus, ToolSet, TypedToolCall } from 'ai';
import type { Ape } from '../../agent/index.js';
import { ApprovalLedger, precheck, resolveOptions, type IntegrationOptions } from '../core/index.js';

/** The framework name in approval keys. */
export const AI_SDK = 'ai-sdk';

/**
 * The AI SDK `toolApproval` configuration for any tool set: APE's allow, deny and escalate become
 * the SDK's `approved`, `denied` (with the reason, which the model reads) and `user-approval`
 * (with the reason, shown to the approver). An escalated call is recorded as pending so that only
 * an approval of exactly these arguments, used once and before it expires, lets it run in `apeTools`.
 * Set the SDK's `experimental_toolApprovalSecret` so the SDK signs approval requests as well.
 */
export function apeToolApproval<TOOLS extends ToolSet = ToolSet, RUNTIME_CONTEXT extends Record<string, unknown> = Record<string, unknown>>(
  ape: Ape,
  options?: IntegrationOptions,
): ToolApprovalConfiguration<TOOLS, RUNTIME_CONTEXT> {
  const o = resolveOptions(options);
  const ledger = new ApprovalLedger(ape, AI_SDK, o.ledger);
  return async ({ toolCall }: { toolCall: TypedToolCall<TOOLS> }): Promise<ToolApprovalStatus> => {
    const tool = String(toolCall.toolName);
    const action = o.actionOf(tool);
    const input: unknown = toolCall.input;
    const verdict = await precheck(ape, action, input, o.context);
    if (verdict.kind === 'allow') return { type: 'approved' };
    if (verdict.kind === 'deny') return { type: 'denied', reason: verdict.reason };
    await ledger.open(tool, action, toolCall.toolCallId, input as object);
    return { type: 'user-approval', reason: verdict.reason };
  };
}
