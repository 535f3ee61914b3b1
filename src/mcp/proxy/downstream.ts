/** tools/call requests taken off a downstream session's transport and answered by the proxy itself, without the SDK's per-request machinery. */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, RELATED_TASK_META_KEY, type CallToolResult, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isRecord } from '../json-lines.js';
import { Cancellation } from './cancellation.js';

/** One tools/call taken directly: the request id, the tool and its arguments (as received, not yet copied). */
export interface DirectToolCall {
  id: RequestId;
  name: string;
  arguments: Record<string, unknown> | undefined;
}

/** Handles one direct tools/call: resolves with the result to send, or rejects with the error to send (an `McpError` keeps its code). */
export type DirectCallHandler = (call: DirectToolCall, cancellation: Cancellation) => Promise<CallToolResult>;

/**
 * The tools/call requests answered directly: well-formed (a string name, arguments an object if
 * any), with no progress token and no task (those, and anything malformed, take the SDK's path,
 * which relays progress and answers malformed requests with its own errors).
 */
export function directToolCall(message: JSONRPCMessage): DirectToolCall | undefined {
  const m = message as { method?: unknown; id?: unknown; params?: unknown };
  if (m.method !== 'tools/call' || (typeof m.id !== 'string' && typeof m.id !== 'number')) return undefined;
  const params = m.params;
  if (!isRecord(params) || typeof params['name'] !== 'string' || 'task' in params) return undefined;
  const args = params['arguments'];
  if (args !== undefined && !isRecord(args)) return undefined;
  const meta = params['_meta'];
  if (meta !== undefined && (!isRecord(meta) || 'progressToken' in meta || RELATED_TASK_META_KEY in meta)) return undefined;
  return { id: m.id, name: params['name'], arguments: args };
}

/**
 * Where the answer of one direct call goes: `send` with the JSON-RPC response, or `drop` when there
 * is none to send (the call was cancelled or its session closed).
 */
export interface DirectReply {
  send(message: JSONRPCMessage): Promise<void>;
  drop(): void;
}

/** The direct tools/calls of one session: those taken off its transport, and those a transport's own fast path hands in. */
export interface DirectCalls {
  /** Answers one call; its answer goes to `reply` (the session's transport by default). A cancellation for its id aborts it. */
  submit(call: DirectToolCall, reply?: DirectReply): void;
}

/**
 * Takes the direct tools/calls off a transport the SDK `Server` is connected to (call after its
 * `connect`): each is handed to `handle` and its answer sent on the transport under the request's
 * id; a `notifications/cancelled` for it aborts it (and nothing is answered, as the SDK does). Every
 * other message reaches the `Server` unchanged.
 */
export function takeToolCalls(transport: Transport, handle: DirectCallHandler, onError: (error: Error) => void): DirectCalls {
  const inflight = new Map<RequestId, Cancellation>();
  const toTransport: DirectReply = { send: (message) => transport.send(message), drop: () => undefined };
  const dispatch = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const call = directToolCall(message);
    if (call) {
      void answer(call, toTransport);
      return;
    }
    const m = message as { method?: unknown; params?: unknown };
    if (m.method === 'notifications/cancelled' && isRecord(m.params)) {
      const id = m.params['requestId'];
      if (typeof id === 'string' || typeof id === 'number') inflight.get(id)?.cancel(m.params['reason']);
    }
    dispatch?.(message, extra);
  };
  const onclose = transport.onclose;
  transport.onclose = () => {
    for (const cancellation of inflight.values()) cancellation.cancel('the session closed');
    inflight.clear();
    onclose?.();
  };
  const answer = async (call: DirectToolCall, reply: DirectReply): Promise<void> => {
    const cancellation = new Cancellation();
    inflight.set(call.id, cancellation);
    // Nothing is answered once cancelled: the reply is dropped then, not when the handler gets to its end.
    cancellation.onCancel(() => reply.drop());
    let message: JSONRPCMessage;
    try {
      message = { jsonrpc: '2.0', id: call.id, result: await handle(call, cancellation) };
    } catch (caught) {
      const error = (caught ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
      message = {
        jsonrpc: '2.0',
        id: call.id,
        error: {
          code: typeof error.code === 'number' && Number.isSafeInteger(error.code) ? error.code : ErrorCode.InternalError,
          message: typeof error.message === 'string' ? error.message : 'Internal error',
          ...(error.data !== undefined ? { data: error.data } : {}),
        },
      };
    }
    if (inflight.get(call.id) === cancellation) inflight.delete(call.id);
    if (cancellation.cancelled) return;
    try {
      await reply.send(message);
    } catch (error) {
      onError(new Error(`Failed to send response: ${(error as Error).message}`));
    }
  };
  return { submit: (call, reply = toTransport) => void answer(call, reply) };
}
