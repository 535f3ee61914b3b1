/** Serving the proxy over Streamable HTTP: one MCP session per client, loopback unless a wider address is asked for explicitly. */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { McpSetupError } from '../errors.js';
import type { DirectCalls } from './downstream.js';
import { CallResponse, httpError, leanPostHeaders, leanToolCall, MAX_BODY_BYTES, readBody, type LeanStreams } from './http-call.js';
import { directCallsOf, type McpProxy } from './proxy.js';

/** Where to listen. */
export interface ListenOptions {
  host: string;
  port: number;
  /** Required to listen on anything but a loopback address. */
  allowRemote?: boolean;
  /** The endpoint path (default `/mcp`). */
  path?: string;
}

/** A listening HTTP endpoint. */
export interface HttpEndpoint {
  /** e.g. `http://127.0.0.1:8931/mcp`. */
  url: string;
  close(): Promise<void>;
}

/** Parses `host:port` (`[::1]:port` for IPv6). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new McpSetupError(`--listen expects host:port (e.g. 127.0.0.1:8931), got '${value}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** Whether a host is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** One HTTP session: the SDK's transport, the proxy's direct calls on it, and the lean calls in flight. */
interface HttpSession {
  id: string;
  transport: StreamableHTTPServerTransport;
  calls: DirectCalls;
  lean: LeanStreams;
}

/**
 * Serves the proxy at `http://host:port/mcp` (Streamable HTTP, sessions, DNS-rebinding protection on loopback).
 *
 * Sessions are the SDK's `StreamableHTTPServerTransport`s. A POST of one plain tools/call on an
 * established session takes the lean path (http-call.ts): its headers checked as the SDK checks them,
 * its body read and parsed once, the call decided and forwarded, and its result written as one JSON
 * response, or on an SSE stream when an approval is asked first. Every other request, including any
 * the lean path's checks refuse, is the SDK transport's (with the body already parsed, if it was read).
 */
export async function listenHttp(proxy: McpProxy, options: ListenOptions): Promise<HttpEndpoint> {
  if (!isLoopback(options.host) && !options.allowRemote) {
    throw new McpSetupError(`--listen ${options.host} is not a loopback address; pass --allow-remote to serve other machines (there is no authentication)`);
  }
  const path = options.path ?? '/mcp';
  const protect = isLoopback(options.host);
  const sessions = new Map<string, HttpSession>();
  const http = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: error.message }, id: null }));
    });
  });
  let allowedHosts: string[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    if ((query < 0 ? url : url.slice(0, query)) !== path && new URL(url, 'http://localhost').pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    const existing = sessionId !== undefined ? sessions.get(sessionId) : undefined;
    if (existing) {
      if (req.method === 'POST' && leanPostHeaders(req, protect ? allowedHosts : undefined)) await post(existing, req, res);
      else await existing.transport.handleRequest(req, res);
      return;
    }
    if (sessionId !== undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'unknown session' }, id: null }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no session: start with initialize' }, id: null }));
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        const calls = directCallsOf(transport);
        if (calls) sessions.set(id, routed({ id, transport, calls, lean: new Map() }));
      },
      ...(protect ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await proxy.connect(transport);
    await transport.handleRequest(req, res);
  };
  /** A POST on an established session whose headers passed: read once, then the lean path or the SDK's. */
  const post = async (session: HttpSession, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    if (text === 'too-large') {
      httpError(res, 413, -32000, `Payload Too Large: Request body must not exceed ${MAX_BODY_BYTES} bytes`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      httpError(res, 400, -32700, 'Parse error: Invalid JSON');
      return;
    }
    const call = leanToolCall(body);
    // A session closed while the body was read is the SDK's to refuse.
    if (call === undefined || sessions.get(session.id) !== session) {
      await session.transport.handleRequest(req, res, body);
      return;
    }
    const response = new CallResponse(res, session.id);
    session.lean.set(call.id, response);
    res.once('close', () => {
      if (session.lean.get(call.id) === response) session.lean.delete(call.id);
    });
    session.calls.submit(call, response);
  };
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => reject(new McpSetupError(`cannot listen on ${options.host}:${options.port}: ${error.message}`)));
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  allowedHosts = [`${hostInUrl}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
  return {
    url: `http://${hostInUrl}:${port}${path}`,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Routes what the proxy sends on a session in relation to a lean call in flight (an elicitation
 * asking to approve it) to that call's response; everything else goes through the SDK transport.
 */
function routed(session: HttpSession): HttpSession {
  const transport = session.transport;
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, options) => {
    const related = options?.relatedRequestId;
    const lean = related !== undefined && !('result' in message) && !('error' in message) ? session.lean.get(related) : undefined;
    return lean ? lean.event(message) : send(message, options);
  };
  return session;
}
