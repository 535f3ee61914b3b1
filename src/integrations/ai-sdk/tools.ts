/** `apeTools(ape, tools)`: every AI SDK tool's `execute` runs through APE's gate on the exact call. */
import type { ModelMessage, ToolExecutionOptions, ToolSet } from 'ai';
import type { Ape } from '../../agent/index.js';
import type { JsonObject } from '../../compiler/index.js';
import {
  ApprovalLedger,
  IntegrationConfigError,
  refusalOf,
  recordUserWords,
  refusalResult,
  resolveOptions,
  type FrameworkAnswer,
  type IntegrationOptions,
} from '../core/index.js';
import { AI_SDK, userTexts } from './approval.js';

type Execute = (input: unknown, options: ToolExecutionOptions<unknown>) => unknown;

/**
 * Wraps every tool's `execute`: the exact call is decided by APE, runs once under a single-use
 * authority bound to its canonical arguments, and is audited; its output is recorded as external
 * data (and, with provenance by origin, the text of the conversation's user messages is recorded as
the user's words first). An escalated call runs only with the SDK approval of this call id (from `apeToolApproval`),
 * re-checked against the arguments that actually run. A refused call never runs: the model gets an
 * error result with the reason (`onDeny: 'result'`, default) or the typed error is thrown.
 * Tools without `execute` (provider-executed or client-side) cannot be guarded and are refused.
 */
export function apeTools<TOOLS extends ToolSet>(ape: Ape, tools: TOOLS, options?: IntegrationOptions): TOOLS {
  const o = resolveOptions(options);
  const ledger = new ApprovalLedger(ape, AI_SDK, o.ledger);
  if (tools === null || typeof tools !== 'object') throw new IntegrationConfigError('apeTools needs an object of tools');
  const out: Record<string, unknown> = {};
  for (const [name, tool] of Object.entries(tools)) {
    const execute = (tool as { execute?: unknown }).execute;
    if (typeof execute !== 'function') throw new IntegrationConfigError(`tool '${name}' has no execute function: APE cannot guard it`);
    const original = execute as Execute;
    const action = o.actionOf(name);
    const guarded = async (input: unknown, opts: ToolExecutionOptions<unknown>): Promise<unknown> => {
      const answer = approvalFor(opts.toolCallId, opts.messages);
      try {
        await recordUserWords(ape, userTexts(opts.messages));
        return await ape.call(action, input as JsonObject, (params) => finalValue(original(params, opts)), {
          tool: name,
          approve: ledger.approver(name, opts.toolCallId, answer),
          ...(o.context !== undefined ? { context: o.context } : {}),
        });
      } catch (error) {
        const refusal = refusalOf(error);
        if (o.onDeny === 'throw') throw refusal;
        return refusalResult(name, refusal);
      }
    };
    out[name] = { ...tool, execute: guarded };
  }
  return out as TOOLS;
}

/** The SDK approval answering `toolCallId` in the messages of this step, if any. */
function approvalFor(toolCallId: string, messages: readonly ModelMessage[]): FrameworkAnswer | undefined {
  const approvalIds = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'assistant' || typeof message.content === 'string') continue;
    for (const part of message.content) {
      if (part.type === 'tool-approval-request' && part.toolCallId === toolCallId) approvalIds.add(part.approvalId);
    }
  }
  let answer: FrameworkAnswer | undefined;
  for (const message of messages) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) {
      if (part.type !== 'tool-approval-response' || !approvalIds.has(part.approvalId)) continue;
      // Any refusal of this call wins over an approval.
      if (!part.approved) return part.reason === undefined ? { approved: false } : { approved: false, reason: part.reason };
      answer = { approved: true, approver: AI_SDK };
    }
  }
  return answer;
}

/** The final output of an `execute` result: a value, a promise, or the last value of an async iterable. */
async function finalValue(result: unknown): Promise<unknown> {
  if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
    let last: unknown;
    for await (const value of result as AsyncIterable<unknown>) last = value;
    return last;
  }
  return await result;
}
