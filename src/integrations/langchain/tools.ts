/** `apeLangChainTools(ape, tools)`: LangChain tools whose every invocation is decided and run through APE. */
import { ToolMessage } from '@langchain/core/messages';
import { tool, type StructuredToolInterface } from '@langchain/core/tools';
import type { Ape } from '../../agent/index.js';
import { ApprovalLedger, IntegrationConfigError, refusalText, resolveOptions, type IntegrationOptions } from '../core/index.js';
import { LANGGRAPH } from './approval.js';
import { guardedCall } from './guarded.js';

/**
 * Wraps LangChain tools (for a `ToolNode`, a custom graph, or `createAgent` without the middleware):
 * same name, description and schema; each invocation is decided by APE, an escalation interrupts the
 * graph (`ApeInterrupt` / `ApeResume`), and the tool runs through the gate. A refusal is an error
 * `ToolMessage` with the reason (`onDeny: 'result'`) or the thrown typed error. Use either these
 * tools or `apeMiddleware`, not both: each would decide the call.
 */
export function apeLangChainTools<T extends StructuredToolInterface>(ape: Ape, tools: readonly T[], options?: IntegrationOptions): StructuredToolInterface[] {
  const o = resolveOptions(options);
  const ledger = new ApprovalLedger(ape, LANGGRAPH, o.ledger);
  if (!Array.isArray(tools)) throw new IntegrationConfigError('apeLangChainTools needs an array of tools');
  return tools.map((original) => {
    if (original === null || typeof original !== 'object' || typeof original.invoke !== 'function' || typeof original.name !== 'string') {
      throw new IntegrationConfigError('apeLangChainTools: every tool must be a LangChain tool');
    }
    return tool(
      async (args: unknown, config) => {
        const toolCall = (config as { toolCall?: { id?: string } } | undefined)?.toolCall;
        const id = toolCall?.id ?? '';
        return guardedCall<unknown>(
          ape, o, ledger, { name: original.name, id, args },
          async (params) => original.invoke(params, config),
          (error) => (id ? new ToolMessage({ content: refusalText(original.name, error.message), tool_call_id: id, name: original.name, status: 'error' }) : refusalText(original.name, error.message)),
        );
      },
      { name: original.name, description: original.description, schema: original.schema },
    ) as unknown as StructuredToolInterface;
  });
}
