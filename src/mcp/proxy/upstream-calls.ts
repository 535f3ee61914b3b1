/** tools/call to the server straight over the client's transport: one JSON-RPC request and its raw result, without the SDK's per-request machinery. */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Cancellation } from './cancellation.js';

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  unlisten: (() => void) | undefined;
}

/**
 * Sends tools/call requests on a transport an SDK `Client` is connected to, under ids of its own
 * (`ape-<n>`, strings: the client's are numbers) so the two never meet; the answers to these ids
 * are taken before the client sees them and everything else reaches the client unchanged. Each
 * call has a timeout and follows a cancellation (both cancel it at the server); when the
 * transport closes, every pending call fails.
 */
export class UpstreamCalls {
  readonly #transport: Transport;
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  #closed = false;

  /** Attaches to `transport`: call after the client's `connect`, which installs the handlers wrapped here. */
  constructor(transport: Transport) {
    this.#transport = transport;
    const onmessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (!this.#take(message)) onmessage?.(message, extra);
    };
    const onclose = transport.onclose;
    transport.onclose = () => {
      this.#closed = true;
      this.#failAll(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
      onclose?.();
    };
  }

  /** Number of calls waiting for their answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Calls a tool; resolves with the server's raw `result` (unchecked), rejects with an `McpError` (its error answer, timeout, cancellation, closed). */
  call(params: { name: string; arguments: Record<string, unknown> }, timeoutMs: number, cancellation?: Cancellation): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
      if (cancellation?.cancelled) return reject(new McpError(ErrorCode.RequestTimeout, `Request was cancelled: ${String(cancellation.reason)}`));
      const id = `ape-${this.#next++}`;
      const cancel = (error: McpError, reason: string) => {
        if (!this.#settle(id)) return;
        reject(error);
        this.#transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => undefined);
      };
      const timer = setTimeout(() => cancel(new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: timeoutMs }), 'timed out'), timeoutMs);
      const unlisten = cancellation?.onCancel((reason) => cancel(new McpError(ErrorCode.RequestTimeout, `Request was cancelled: ${String(reason)}`), String(reason)));
      this.#pending.set(id, { resolve, reject, timer, unlisten });
      const request: JSONRPCMessage = { jsonrpc: '2.0', id, method: 'tools/call', params };
      this.#transport.send(request).catch((error: Error) => {
        if (this.#settle(id)) reject(new McpError(ErrorCode.ConnectionClosed, `cannot send to the MCP server: ${error.message}`));
      });
    });
  }

  /** Resolves or rejects the call a response answers; false when the message is not one of ours. */
  #take(message: JSONRPCMessage): boolean {
    const id = (message as { id?: unknown }).id;
    if (typeof id !== 'string' || !id.startsWith('ape-') || 'method' in message) return false;
    const pending = this.#pending.get(id);
    if (!pending) return true; // an answer to a call already cancelled or timed out: nobody waits for it
    this.#settle(id);
    if ('error' in message) {
      const e = message.error;
      pending.reject(new McpError(e.code, e.message, e.data));
    } else if ('result' in message) {
      pending.resolve(message.result);
    } else {
      pending.reject(new McpError(ErrorCode.InternalError, 'the MCP server answered with neither a result nor an error'));
    }
    return true;
  }

  /** Forgets a pending call (its timer and cancellation listener); false when it was already settled. */
  #settle(id: string): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.unlisten?.();
    return true;
  }

  #failAll(error: McpError): void {
    for (const [id, pending] of [...this.#pending]) {
      this.#settle(id);
      pending.reject(error);
    }
  }
}
