/**
 * A `fetch` for the SDK's HTTP client transports that follows the transport's long-lived abort
 * signal through one controller per request, linked only while the request and its body are open.
 */
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/**
 * The SDK's HTTP client transports pass one `AbortSignal` (the transport's, aborted on close) to
 * every request. Node's fetch (undici) adds an abort listener to that signal per request and keeps
 * it while the request object lives, so a proxy making thousands of calls piles listeners on one
 * signal (a `MaxListenersExceededWarning` after about 1,500 calls, and the memory they hold).
 * Here each request gets its own controller, aborted when the transport's signal is; the link is
 * removed as soon as the response body is read to its end, cancelled or fails (or the fetch itself
 * fails), so closing the transport still aborts every request and stream in flight.
 */
export function linkedAbortFetch(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const outer = init?.signal;
    if (!outer) return base(url, init);
    const inner = new AbortController();
    const forward = (): void => inner.abort(outer.reason);
    if (outer.aborted) inner.abort(outer.reason);
    else outer.addEventListener('abort', forward, { once: true });
    const unlink = (): void => outer.removeEventListener('abort', forward);
    let response: Response;
    try {
      response = await base(url, { ...init, signal: inner.signal });
    } catch (error) {
      unlink();
      throw error;
    }
    const source = response.body;
    // A response without a body, or a redirect the SDK inspects as it is (its type and url), is returned itself.
    if (source === null || response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      unlink();
      return response;
    }
    const reader = source.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            unlink();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          unlink();
          controller.error(error);
        }
      },
      cancel(reason) {
        unlink();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
