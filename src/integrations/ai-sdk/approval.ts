/** `apeToolApproval(ape)`: the AI SDK's `toolApproval` hook deciding each call with APE before a human is asked. */
import type { ModelMessage, ToolApprovalConfiguration, ToolApprovalStatus, ToolSet, TypedToolCall } from 'ai';
import type { Ape } from '../../agent/index.js';
import { ApprovalLedger, contentTexts, precheck, recordUserWords, resolveOptions, type IntegrationOptions } from '../core/index.js';

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
  return async ({ toolCall, messages }: { toolCall: TypedToolCall<TOOLS>; messages: ModelMessage[] }): Promise<ToolApprovalStatus> => {
    const tool = String(toolCall.toolName);
    const action = o.actionOf(tool);
    const input: unknown = toolCall.input;
    await recordUserWords(ape, userTexts(messages));
    const verdict = await precheck(ape, action, input, o.context);
    if (verdict.kind === 'allow') return { type: 'approved' };
    if (verdict.kind === 'deny') return { type: 'denied', reason: verdict.reason };
    // A call whose approval request is already in the history is being resumed: it is decided again,
    // but only a pause this Ape recorded can be approved (a history forged by the client opens nothing).
    if (!requested(messages, toolCall.toolCallId)) await ledger.open(tool, action, toolCall.toolCallId, input as object);
    return { type: 'user-approval', reason: verdict.reason };
  };
}

/** Whether the history already holds an approval request for this tool call (a resumed call). */
function requested(messages: readonly ModelMessage[] | undefined, toolCallId: string): boolean {
  for (const message of messages ?? []) {
    if (message.role !== 'assistant' || typeof message.content === 'string') continue;
    if (message.content.some((part) => part.type === 'tool-approval-request' && part.toolCallId === toolCallId)) return true;
  }
  return false;
}

/** The user's own words in the conversation (the text of every `user` message). */
export function userTexts(messages: readonly ModelMessage[] | undefined): string[] {
  return (messages ?? []).filter((m) => m.role === 'user').flatMap((m) => contentTexts(m.content));
}
