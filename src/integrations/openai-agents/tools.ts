/** `apeTool(ape, definition)` and `apeAgentTools(ape, tools)`: Agents SDK function tools decided and run through APE. */
import { tool, type FunctionTool, type RunContext, type Tool, type ToolInputParameters, type ToolOptions } from '@openai/agents';
import type { Ape } from '../../agent/index.js';
import type { JsonObject } from '../../compiler/index.js';
import { ApprovalLedger, IntegrationConfigError, refusalOf, refusalText, resolveOptions, type IntegrationOptions, type ResolvedOptions } from '../core/index.js';
import { approvalAnswer, approvalPolicy, OPENAI_AGENTS, policyGuardrail, type UserApproval } from './decide.js';

type Execute = (input: unknown, runContext?: RunContext<unknown>, details?: { toolCall?: { callId: string } }) => unknown;

/** Runs one call through `ape.call`; a refusal becomes the text the model reads, or the thrown typed error. */
async function guardedCall(ape: Ape, name: string, action: string, o: ResolvedOptions, ledger: ApprovalLedger, input: unknown, runContext: RunContext<unknown> | undefined, callId: string | undefined, run: (params: unknown) => unknown): Promise<unknown> {
  try {
    return await ape.call(action, input as JsonObject, (params) => run(params), {
      tool: name,
      approve: ledger.approver(name, callId ?? '', approvalAnswer(runContext, name, callId)),
      ...(o.context !== undefined ? { context: o.context } : {}),
    });
  } catch (error) {
    const refusal = refusalOf(error);
    if (o.onDeny === 'throw') throw refusal;
    return refusalText(name, refusal.message);
  }
}

/**
 * `tool(definition)` with APE: `needsApproval` from APE's decision (an escalation asks a human for
 * this call only), a tool input guardrail that refuses denied calls with the reason, and `execute`
 * through APE's gate, where the approval is checked against the arguments that actually run.
 * The tool's own `needsApproval` and guardrails still apply.
 */
export function apeTool<TParameters extends ToolInputParameters = undefined, Context = unknown, Result = string>(
  ape: Ape,
  definition: ToolOptions<TParameters, Context>,
  options?: IntegrationOptions,
): FunctionTool<Context, TParameters, Result> {
  const o = resolveOptions(options);
  return buildTool(ape, definition as unknown as ToolOptions<ToolInputParameters, unknown>, o, new ApprovalLedger(ape, OPENAI_AGENTS, o.ledger)) as unknown as FunctionTool<Context, TParameters, Result>;
}

function buildTool(ape: Ape, definition: ToolOptions<ToolInputParameters, unknown>, o: ResolvedOptions, ledger: ApprovalLedger): FunctionTool<unknown, ToolInputParameters, unknown> {
  if (definition === null || typeof definition !== 'object' || typeof definition.execute !== 'function') throw new IntegrationConfigError('apeTool needs a tool definition with an execute function');
  const execute = definition.execute as Execute;
  const name = definition.name ?? execute.name;
  if (!name) throw new IntegrationConfigError('apeTool needs a tool name');
  const action = o.actionOf(name);
  const guarded = {
    ...definition,
    name,
    needsApproval: approvalPolicy(ape, name, action, o, ledger, definition.needsApproval as UserApproval),
    inputGuardrails: [policyGuardrail(ape, name, action, o), ...(definition.inputGuardrails ?? [])],
    execute: (input: unknown, runContext?: RunContext<unknown>, details?: { toolCall?: { callId: string } }) =>
      guardedCall(ape, name, action, o, ledger, input, runContext, details?.toolCall?.callId, (params) => execute(params, runContext, details)),
  };
  return tool(guarded as unknown as ToolOptions<ToolInputParameters, unknown>) as unknown as FunctionTool<unknown, ToolInputParameters, unknown>;
}

/** Wraps a function tool the SDK already built (`tool()`, MCP, `agent.asTool()`): same three pieces around its `invoke`. */
function wrapFunctionTool(ape: Ape, t: FunctionTool<unknown, ToolInputParameters, unknown>, o: ResolvedOptions, ledger: ApprovalLedger): FunctionTool<unknown, ToolInputParameters, unknown> {
  const action = o.actionOf(t.name);
  const invoke = t.invoke.bind(t);
  return {
    ...t,
    needsApproval: approvalPolicy(ape, t.name, action, o, ledger, t.needsApproval as UserApproval),
    inputGuardrails: [policyGuardrail(ape, t.name, action, o), ...(t.inputGuardrails ?? [])],
    invoke: async (runContext, input, details) => {
      let params: unknown;
      try {
        params = JSON.parse(input);
      } catch {
        if (o.onDeny === 'throw') throw new IntegrationConfigError(`tool '${t.name}': the arguments are not JSON`);
        return refusalText(t.name, 'the arguments are not JSON');
      }
      return guardedCall(ape, t.name, action, o, ledger, params, runContext, details?.toolCall?.callId, (p) => invoke(runContext, JSON.stringify(p), details)) as Promise<string>;
    },
  };
}

/**
 * Guards a list of tools for an `Agent`: definitions (objects with `execute`) are built with
 * `apeTool`, function tools are wrapped around their `invoke`. Hosted and other tools APE cannot
 * see run are refused with `IntegrationConfigError`.
 */
export function apeAgentTools(ape: Ape, tools: ReadonlyArray<Tool<unknown> | ToolOptions<ToolInputParameters, unknown>>, options?: IntegrationOptions): Tool<unknown>[] {
  const o = resolveOptions(options);
  const ledger = new ApprovalLedger(ape, OPENAI_AGENTS, o.ledger);
  if (!Array.isArray(tools)) throw new IntegrationConfigError('apeAgentTools needs an array of tools');
  return tools.map((t) => {
    if (t !== null && typeof t === 'object' && 'execute' in t && typeof t.execute === 'function' && !('type' in t)) return buildTool(ape, t, o, ledger);
    if (t !== null && typeof t === 'object' && 'type' in t && t.type === 'function' && 'invoke' in t) return wrapFunctionTool(ape, t as FunctionTool<unknown, ToolInputParameters, unknown>, o, ledger);
    const label = t !== null && typeof t === 'object' && 'name' in t ? String(t.name) : String(t);
    throw new IntegrationConfigError(`tool '${label}' is not a function tool: APE cannot guard it`);
  });
}
