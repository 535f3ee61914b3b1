/** Serving the proxy over Streamable HTTP: one MCP session per client, loopback unless a wider address is asked for explicitly. */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { McpSetupError } from '../errors.js';
import type { McpProxy } from './proxy.js';

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

/** Serves the proxy at `http://host:port/mcp` (Streamable HTTP, sessions, DNS-rebinding protection on loopback). */
export async function listenHttp(proxy: McpProxy, options: ListenOptions): Promise<HttpEndpoint> {
  if (!isLoopback(options.host) && !options.allowRemote) {
    throw new McpSetupError(`--listen ${options.host} is not a loopback address; pass --allow-remote to serve other machines (there is no authentication)`);
  }
  const path = options.path ?? '/mcp';
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: error.message }, id: null }));
    });
  });
  let allowedHosts: string[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    const existing = sessionId !== undefined ? transports.get(sessionId) : undefined;
    if (existing) {
      await existing.handleRequest(req, res);
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
        transports.set(id, transport);
      },
      ...(isLoopback(options.host) ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) transports.delete(transport.sessionId);
    };
    await proxy.connect(transport);
    await transport.handleRequest(req, res);
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
      await Promise.all([...transports.values()].map((t) => t.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
