/** `apeMiddleware(ape)`: a `createAgent` middleware deciding every tool call as it really runs (after any human edit). */
import { createMiddleware, HumanMessage, ToolMessage } from 'langchain';
import type { Ape } from '../../agent/index.js';
import { ApprovalLedger, contentTexts, recordUserWords, refusalText, resolveOptions, type IntegrationOptions } from '../core/index.js';
import { LANGGRAPH } from './approval.js';
import { guardedCall } from './guarded.js';

/**
 * A `createAgent` middleware on the tool-call path (`wrapToolCall`). Every call is decided as it will
 * run, after any human-in-the-loop edit, so an edited call is decided again. A denial returns a
 * `ToolMessage` with status `error` and the reason; an escalation interrupts the graph with the exact
 * call (`ApeInterrupt`) and resumes with an `ApeResume` (approve, edit, reject); the tool then runs
 * through APE's gate, its output recorded as external data. With provenance by origin, the human
 * messages of the conversation are recorded as the user's words first. Needs a checkpointer for escalations.
 */
export function apeMiddleware(ape: Ape, options?: IntegrationOptions) {
  const o = resolveOptions(options);
  const ledger = new ApprovalLedger(ape, LANGGRAPH, o.ledger);
  return createMiddleware({
    name: 'ApeMiddleware',
    wrapToolCall: async (request, handler) => {
      await recordUserWords(ape, humanTexts(request.state.messages));
      const call = request.toolCall;
      const id = call.id ?? '';
      return guardedCall(
        ape, o, ledger, { name: call.name, id, args: call.args },
        async (params) => handler({ ...request, toolCall: { ...call, args: params } }),
        (error) => new ToolMessage({ content: refusalText(call.name, error.message), tool_call_id: id, name: call.name, status: 'error' }),
      );
    },
  });
}

/** The text of the conversation's human messages. */
function humanTexts(messages: unknown): string[] {
  if (!Array.isArray(messages)) return [];
  return messages.filter((m) => HumanMessage.isInstance(m)).flatMap((m) => contentTexts((m as HumanMessage).content));
}
