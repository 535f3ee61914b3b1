/** Escalations asked through MCP elicitation: the user sees the exact call, may approve, edit (decided again), decline or cancel. */
import type { ClientCapabilities, ElicitRequestFormParams, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JsonObject } from '../../index.js';
import { canonicalJson } from '../../compiler/index.js';
import type { ApprovalHandler, ApprovalRequest, ApprovalResponse } from '../../agent/index.js';

/** The extra argument of a request handler (to send a request on the same session and stream). */
export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Whether the client declared form elicitation. */
export function supportsElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const e = capabilities?.elicitation;
  if (!e) return false;
  // An empty object means form mode (before modes were declared).
  return Object.keys(e).length === 0 || e.form !== undefined;
}

/** The elicitation form asked for one escalated call. */
export function approvalForm(tool: string, request: ApprovalRequest): ElicitRequestFormParams {
  const args = JSON.stringify(request.params);
  const why = request.reasons[0] ? `: ${request.reasons[0]}` : '';
  return {
    mode: 'form',
    message: `APE policy: the call of tool '${tool}' (action '${request.action ?? tool}') needs your approval${request.rule ? ` (rule '${request.rule}'${why})` : why}.\nArguments: ${args}\nApprove to run exactly this call. Edited arguments are decided by the policy again.`,
    requestedSchema: {
      type: 'object',
      properties: {
        approve: { type: 'boolean', title: 'Run this call', description: `run ${tool} with the arguments shown`, default: false },
        arguments: { type: 'string', title: 'Arguments (JSON)', description: 'edit to change the call; the policy decides the edited call again', default: args },
      },
      required: ['approve'],
    },
  };
}

/**
 * An approver asking the client's user through elicitation, bound to the request being handled
 * (`extra.sendRequest` sends on that request's session and stream).
 * Accept with `approve: true` approves (with edited arguments when they changed); everything
 * else (decline, cancel, `approve: false`, arguments that are not a JSON object, no answer) refuses.
 */
export function elicitationApprover(tool: string, extra: Pick<HandlerExtra, 'sendRequest'>, timeoutMs: number): ApprovalHandler {
  return async (request: ApprovalRequest): Promise<ApprovalResponse> => {
    let result;
    try {
      result = await extra.sendRequest({ method: 'elicitation/create', params: approvalForm(tool, request) }, ElicitResultSchema, { timeout: timeoutMs });
    } catch (error) {
      return { approved: false, reason: `the approval request failed: ${(error as Error).message}` };
    }
    if (result.action !== 'accept') return { approved: false, approver: 'mcp-elicitation', reason: `the user chose ${result.action}` };
    const content = result.content ?? {};
    if (content['approve'] !== true) return { approved: false, approver: 'mcp-elicitation', reason: 'the user did not approve' };
    const edited = content['arguments'];
    if (edited === undefined || typeof edited !== 'string') return { approved: true, approver: 'mcp-elicitation' };
    let params: unknown;
    try {
      params = JSON.parse(edited);
    } catch {
      return { approved: false, approver: 'mcp-elicitation', reason: 'the edited arguments are not JSON' };
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return { approved: false, approver: 'mcp-elicitation', reason: 'the edited arguments are not a JSON object' };
    if (canonicalJson(params) === canonicalJson(request.params)) return { approved: true, approver: 'mcp-elicitation' };
    return { approved: true, approver: 'mcp-elicitation', params: params as JsonObject, note: 'arguments edited by the user' };
  };
}
