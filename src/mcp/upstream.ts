/** Connecting the official SDK client to an MCP server: a stdio child process, Streamable HTTP or SSE. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { linkedAbortFetch } from './linked-fetch.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, Tool } from '@modelcontextprotocol/sdk/types.js';
import { McpUpstreamError } from './errors.js';
import { StdioChildTransport } from './stdio.js';

/** How to reach an MCP server. */
export interface UpstreamSpec {
  transport: 'stdio' | 'http' | 'sse';
  command?: string;
  args?: string[];
  /** Added to the SDK's safe default environment (PATH, HOME...). */
  env?: Record<string, string>;
  cwd?: string;
  url?: string;
  headers?: Record<string, string>;
}

/** Options of {@link connectUpstream}. */
export interface ConnectOptions {
  /** Name the client announces. */
  clientName?: string;
  /** Time allowed to start and initialize (ms, default 30 000). */
  timeoutMs?: number;
  /** A stdio server's stderr: `inherit` (default) passes it through, `pipe` collects the last lines. */
  stderr?: 'inherit' | 'pipe' | 'ignore';
  /** Client capabilities to declare to the server. */
  capabilities?: ClientCapabilities;
}

/** A connected client and, for a stdio server, the tail of what it wrote on stderr. */
export interface Upstream {
  client: Client;
  transport: Transport;
  stderrTail(): string;
}

/**
 * The transport for a server spec (not yet started). A stdio server is started by the lean
 * {@link StdioChildTransport}; on Windows by the SDK's `StdioClientTransport` (its cross-spawn
 * resolves `.cmd` shims such as `npx`).
 */
export function upstreamTransport(spec: UpstreamSpec, stderr: 'inherit' | 'pipe' | 'ignore' = 'inherit'): Transport {
  if (spec.transport === 'stdio') {
    if (!spec.command) throw new McpUpstreamError('a stdio server needs a command');
    const params = { command: spec.command, args: spec.args ?? [], env: { ...getDefaultEnvironment(), ...(spec.env ?? {}) }, stderr };
    const withCwd = spec.cwd !== undefined ? { ...params, cwd: spec.cwd } : params;
    return process.platform === 'win32' ? new StdioClientTransport(withCwd) : new StdioChildTransport(withCwd);
  }
  if (!spec.url) throw new McpUpstreamError(`an ${spec.transport} server needs a URL`);
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new McpUpstreamError(`'${spec.url}' is not a URL`);
  }
  const options = { fetch: linkedAbortFetch(), ...(spec.headers && Object.keys(spec.headers).length > 0 ? { requestInit: { headers: spec.headers } } : {}) };
  return spec.transport === 'sse' ? new SSEClientTransport(url, options) : new StreamableHTTPClientTransport(url, options);
}

/** Starts (or reaches) a server and completes the MCP handshake; a typed error when it cannot. */
export async function connectUpstream(spec: UpstreamSpec, options: ConnectOptions = {}): Promise<Upstream> {
  const transport = upstreamTransport(spec, options.stderr ?? 'inherit');
  const lines: string[] = [];
  if ((transport instanceof StdioChildTransport || transport instanceof StdioClientTransport) && transport.stderr) {
    transport.stderr.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
      if (lines.length > 20) lines.splice(0, lines.length - 20);
    });
  }
  const client = new Client({ name: options.clientName ?? 'ape', version: '0.1.0' }, { capabilities: options.capabilities ?? {} });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(transport, { timeout: timeoutMs }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to initialize within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await client.close().catch(() => undefined);
    const tail = lines.length > 0 ? ` (stderr: ${lines.slice(-3).join(' | ')})` : '';
    throw new McpUpstreamError(`cannot connect to the MCP server ${describeSpec(spec)}: ${(error as Error).message}${tail}`);
  } finally {
    clearTimeout(timer);
  }
  return { client, transport, stderrTail: () => lines.join('\n') };
}

/** Every tool of a server, following pagination (at most 1,000 pages). */
export async function listAllTools(client: Client, timeoutMs?: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await client.listTools(cursor !== undefined ? { cursor } : {}, timeoutMs !== undefined ? { timeout: timeoutMs } : {});
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
  }
  throw new McpUpstreamError('the server paginates its tool list without end');
}

/** A one-line description of a server spec for messages. */
export function describeSpec(spec: UpstreamSpec): string {
  return spec.transport === 'stdio' ? `'${[spec.command, ...(spec.args ?? [])].join(' ')}'` : `at ${spec.url ?? '?'}`;
}
