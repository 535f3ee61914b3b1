/**
 * The lean path of Streamable HTTP for one session's plain tools/call POSTs: the request is checked,
 * read and answered by the proxy itself (one JSON response, or an SSE stream once the call has
 * something to send before its result); everything else goes to the SDK's transport.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isPlainRequestOrResult } from '../json-lines.js';
import { directToolCall, type DirectReply, type DirectToolCall } from './downstream.js';

/** Largest request body read (the SDK transport's default, 4 MiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A JSON content type without parameters other than a UTF-8 charset (anything else is the SDK's to judge). */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether a POST may take the lean path: its headers pass every check the SDK transport makes
 * (Host on loopback, Accept, Content-Type, protocol version, body size). A request that fails one
 * goes to the SDK transport, which answers it with its own error, so this check only has to be
 * stricter than the SDK's, never looser.
 */
export function leanPostHeaders(req: IncomingMessage, allowedHosts: readonly string[] | undefined): boolean {
  if (allowedHosts !== undefined) {
    const host = header(req, 'host');
    if (host === undefined || !allowedHosts.includes(host)) return false;
  }
  const accept = header(req, 'accept');
  if (accept === undefined || !accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  const type = header(req, 'content-type');
  if (type === undefined || !PLAIN_JSON.test(type)) return false;
  const version = header(req, 'mcp-protocol-version');
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return false;
  const length = header(req, 'content-length');
  return length === undefined || Number(length) <= MAX_BODY_BYTES;
}

/** The body of a request: its text, or `too-large` once more than `MAX_BODY_BYTES` arrived (the rest is discarded). */
export function readBody(req: IncomingMessage): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', reject);
    // Decoded as the SDK does (TextDecoder: a byte order mark dropped, bad bytes replaced).
    req.once('end', () => resolve(decoder.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))));
  });
}

const decoder = new TextDecoder();

/** A JSON-RPC error response over HTTP with no request id, as the SDK transport writes them. */
export function httpError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The lean path's tools/call: a plain JSON-RPC request (as the stdio reader checks it: the SDK's schema, strict keys) that is a direct call. */
export function leanToolCall(body: unknown): DirectToolCall | undefined {
  return isPlainRequestOrResult(body) ? directToolCall(body) : undefined;
}

const KEEP_ALIVE_MS = 15_000;

/**
 * The HTTP response of one lean tools/call. The result alone is one `application/json` response
 * (written once, when it is ready). A message for the client before the result (an elicitation
 * asking to approve the call) turns it into an SSE stream, as the SDK writes them, kept alive with
 * comments every 15 s until the result ends it. A dropped call (cancelled, session closed) ends it empty.
 */
export class CallResponse implements DirectReply {
  readonly #res: ServerResponse;
  readonly #sessionId: string;
  #stream = false;
  #ended = false;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, sessionId: string) {
    this.#res = res;
    this.#sessionId = sessionId;
    res.once('close', () => this.#end());
  }

  /** Sends a message before the result (on the call's SSE stream, started now if needed). */
  event(message: JSONRPCMessage): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#startStream();
    this.#res.write(sseEvent(message));
    return Promise.resolve();
  }

  /** Sends the call's JSON-RPC response and ends the HTTP response. */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#ended) return Promise.resolve();
    if (this.#stream) {
      this.#res.end(sseEvent(message));
    } else {
      const body = JSON.stringify(message);
      this.#res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': this.#sessionId }).end(body);
    }
    this.#end();
    return Promise.resolve();
  }

  /** Ends the response without an answer (an empty SSE stream, as the SDK transport closes a cancelled request's). */
  drop(): void {
    if (this.#ended) return;
    this.#startStream();
    this.#res.end();
    this.#end();
  }

  #startStream(): void {
    if (this.#stream) return;
    this.#stream = true;
    this.#res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'mcp-session-id': this.#sessionId,
    });
    this.#keepAlive = setInterval(() => {
      if (!this.#ended) this.#res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS);
    this.#keepAlive.unref();
  }

  #end(): void {
    this.#ended = true;
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }
}

function sseEvent(message: JSONRPCMessage): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/** The lean calls in flight on one session, by request id: where the messages related to each go. */
export type LeanStreams = Map<RequestId, CallResponse>;
