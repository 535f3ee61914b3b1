/** Guards for code that holds the SDK objects itself: a `Client` whose tool calls go through APE, an `McpServer` whose tools are decided before their handlers run. */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, type CallToolRequest, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject } from '../index.js';
import type { Ape, ApprovalHandler } from '../agent/index.js';
import { toolActionId } from './action-id.js';
import { McpSetupError } from './errors.js';
import { elicitationApprover, supportsElicitation, type HandlerExtra } from './proxy/approval.js';
import { outcomeOfError } from './proxy/refusal.js';

/** Options of {@link guardMcpClient}. */
export interface GuardClientOptions {
  /** Action ids `<prefix>.<tool>` instead of `<tool>`. */
  prefix?: string;
  /** Approver of escalated calls (default: the Ape's `approvals`). */
  approve?: ApprovalHandler;
}

/**
 * Makes every tools/call of `client` (through `callTool` or a raw `request`) go through APE:
 * the exact call is decided, approved when escalated, run under a single-use authority and
 * audited. A refusal throws the agent layer's typed errors (`PolicyDenyError`,
 * `EscalationRequiredError`, `EscalationDeniedError`, `ParameterValidationError`); the server is
 * not called then. Returns the same client.
 */
export function guardMcpClient<C extends Client>(client: C, ape: Ape, options: GuardClientOptions = {}): C {
  const o = { ...options };
  const original = client.request.bind(client);
  const guarded: typeof client.request = async (request, resultSchema, requestOptions) => {
    if (request.method !== 'tools/call') return original(request, resultSchema, requestOptions);
    const params = (request.params ?? {}) as CallToolRequest['params'];
    const name = params.name;
    if (typeof name !== 'string' || name.length === 0) throw new McpSetupError('tools/call needs a tool name');
    const args = JSON.parse(JSON.stringify(params.arguments ?? {})) as JsonObject;
    return ape.call(
      toolActionId(name, o.prefix),
      args,
      (decided) => original({ method: 'tools/call', params: { ...params, name, arguments: decided as Record<string, unknown> } }, resultSchema, requestOptions),
      { tool: name, ...(o.approve ? { approve: o.approve } : {}) },
    );
  };
  client.request = guarded;
  return client;
}

/** Options of {@link guardMcpServer}. */
export interface GuardServerOptions {
  /** Action ids `<prefix>.<tool>` instead of `<tool>`. */
  prefix?: string;
  /** Time the user has to answer an elicitation (ms, default 300 000). */
  approvalTimeoutMs?: number;
}

/**
 * For authors of MCP servers with the SDK's `McpServer`: every tools/call is decided by APE
 * before the tool's handler runs (whatever way the tool was registered). An escalation asks
 * the client's user through elicitation when the client declared it; a refusal is a tool result
 * with `isError: true` and the reason. Call it before registering tools.
 */
export function guardMcpServer<S extends McpServer>(server: S, ape: Ape, options: GuardServerOptions = {}): S {
  const o = { ...options };
  const low = server.server;
  try {
    low.assertCanSetRequestHandler('tools/call');
  } catch {
    throw new McpSetupError('guardMcpServer must be called before the first tool is registered (a tools/call handler is already set)');
  }
  const setRequestHandler = low.setRequestHandler.bind(low);
  low.setRequestHandler = ((schema, handler) => {
    if (methodOf(schema) !== 'tools/call') return setRequestHandler(schema, handler);
    const inner = handler as unknown as (request: CallToolRequest, extra: HandlerExtra) => Promise<CallToolResult>;
    return setRequestHandler(CallToolRequestSchema, async (request: CallToolRequest, extra: HandlerExtra) => {
      const name = request.params.name;
      const args = JSON.parse(JSON.stringify(request.params.arguments ?? {})) as JsonObject;
      const approve = supportsElicitation(low.getClientCapabilities()) ? elicitationApprover(name, extra, o.approvalTimeoutMs ?? 300_000) : undefined;
      try {
        return await ape.call<CallToolResult>(
          toolActionId(name, o.prefix),
          args,
          (decided) => inner({ ...request, params: { ...request.params, arguments: decided as Record<string, unknown> } }, extra),
          { tool: name, ...(approve ? { approve } : {}) },
        );
      } catch (error) {
        return outcomeOfError(error, name);
      }
    });
  }) as typeof low.setRequestHandler;
  return server;
}

/** The method a request schema matches (`tools/call`...). */
function methodOf(schema: unknown): unknown {
  const method = (schema as { shape?: { method?: { value?: unknown; _def?: { value?: unknown } } } }).shape?.method;
  return method?.value ?? method?._def?.value;
}
