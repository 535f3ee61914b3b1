/** How a refused or failed tools/call reaches the client: a tool result with `isError` (policy) or a JSON-RPC error (server failure). */
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ApeError } from '../../index.js';
import { EscalationDeniedError, EscalationRequiredError, PlanValidationError, PolicyDenyError, ToolExecutionError } from '../../runtime/index.js';

/** A refusal as the tool result the client sees: `isError: true`, the reason in text, the code in `_meta`. */
export function refusal(code: string, message: string): CallToolResult {
  return { content: [{ type: 'text', text: `APE: ${message}` }], isError: true, _meta: { 'ape/refused': code } };
}

/**
 * Maps what `ape.call` threw. Policy outcomes (deny, escalation refused or impossible, bad
 * arguments, limits) become refusals; a failure of the server itself becomes a JSON-RPC error.
 */
export function outcomeOfError(error: unknown, tool: string): CallToolResult {
  if (error instanceof ToolExecutionError) {
    const cause = error.cause;
    if (cause instanceof McpError) throw cause;
    if (cause instanceof ApeError) return refusal(cause.code, cause.message);
    throw new McpError(ErrorCode.InternalError, `tool '${tool}' failed upstream: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (error instanceof EscalationRequiredError) {
    return refusal(error.code, `the call of '${tool}' needs approval and this client cannot be asked (it did not declare elicitation); not run`);
  }
  if (error instanceof EscalationDeniedError) return refusal(error.code, `${error.message}; not run`);
  if (error instanceof PlanValidationError && error.reason === 'unknown_action') {
    return refusal(error.code, `the policy does not declare the action of tool '${tool}' (a tool call runs only as an action the policy declares under actions:, as ape mcp-scan --connect writes); not run`);
  }
  if (error instanceof PolicyDenyError) return refusal(error.code, `${error.message}; not run`);
  if (error instanceof ApeError) return refusal(error.code, `${error.message}; not run`);
  if (error instanceof McpError) throw error;
  throw new McpError(ErrorCode.InternalError, `APE could not decide the call of '${tool}': ${error instanceof Error ? error.message : String(error)}`);
}
