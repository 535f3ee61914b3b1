/** Test harness for the MCP layer: the real npm servers, an in-process proxy, and the official SDK client on the other side. */
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { Ape, type ApeOptions } from '../../src/agent/index.js';
import { McpProxy, type McpProxyOptions, type UpstreamSpec } from '../../src/mcp/index.js';
import { MemorySink } from '../../src/runtime/index.js';

export const ROOT_DIR = resolve(import.meta.dirname, '../..');

/** The entry script of one of the real npm servers. */
export function serverScript(name: 'filesystem' | 'memory' | 'everything'): string {
  return join(ROOT_DIR, 'node_modules/@modelcontextprotocol', `server-${name}`, 'dist/index.js');
}

/** A stdio spec running a real npm server with this Node. */
export function realServer(name: 'filesystem' | 'memory' | 'everything', ...args: string[]): UpstreamSpec {
  return { transport: 'stdio', command: process.execPath, args: [serverScript(name), ...args] };
}

/** A stdio spec running a fixture server under test/mcp/fixtures. */
export function fixtureServer(file: string, ...args: string[]): UpstreamSpec {
  return { transport: 'stdio', command: process.execPath, args: [join(ROOT_DIR, 'test/mcp/fixtures', file), ...args] };
}

/** The `ape` CLI from source, as a command line. */
export const APE_CLI = [process.execPath, '--import', 'tsx', join(ROOT_DIR, 'src/cli/main.ts')];

/** server-filesystem's `read_text_file` as a policy declares it (its path a `format: path`), one item of `actions:`. */
export const READ_TEXT_FILE_ACTION = `  - id: read_text_file
    category: file_read
    risk_level: low
    parameters: { type: object, properties: { path: { type: string, format: path }, head: { type: number }, tail: { type: number } }, required: [path] }`;

/** Writes `text` beside `dir` (in its parent, named after it with `suffix`), out of reach of a server rooted at `dir`; returns the path. */
export function writeBeside(dir: string, suffix: string, text: string): string {
  const path = join(dir, '..', `${dir.split('/').at(-1)}-${suffix}`);
  writeFileSync(path, text);
  return path;
}

/** A fresh directory (its real path: the filesystem server resolves symlinks). */
export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** How the test client's user answers an elicitation. */
export type ElicitAnswer = ElicitResult | ((message: string, defaults: Record<string, unknown>) => ElicitResult);

/** An official SDK client, optionally declaring elicitation and answering it as told. */
export function sdkClient(answer?: ElicitAnswer): { client: Client; asked: string[] } {
  const asked: string[] = [];
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: answer ? { elicitation: { form: {} } } : {} });
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const params = request.params as { message: string; requestedSchema?: { properties?: Record<string, { default?: unknown }> } };
      asked.push(params.message);
      const defaults = Object.fromEntries(Object.entries(params.requestedSchema?.properties ?? {}).map(([k, v]) => [k, v.default]));
      return typeof answer === 'function' ? answer(params.message, defaults) : answer;
    });
  }
  return { client, asked };
}

/** A proxy in this process in front of a real server, with an SDK client connected to it in memory. */
export interface ProxyHarness {
  ape: Ape;
  proxy: McpProxy;
  client: Client;
  asked: string[];
  audit: MemorySink;
  /** Calls a tool; returns the result (isError results included). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Connects one more client (e.g. one without elicitation). */
  connectClient(answer?: ElicitAnswer): Promise<{ client: Client; asked: string[] }>;
  close(): Promise<void>;
}

/** Starts APE on `policy`, the proxy in front of `upstream`, and one SDK client. */
export async function startProxy(
  policy: string,
  upstream: UpstreamSpec,
  options: { answer?: ElicitAnswer; proxy?: Partial<McpProxyOptions>; ape?: ApeOptions } = {},
): Promise<ProxyHarness> {
  const audit = new MemorySink();
  const ape = await Ape.fromPolicy(policy, { audit: [audit], ...options.ape });
  const proxy = await McpProxy.start({ ape, upstream, upstreamStderr: 'ignore', ...options.proxy });
  const clients: Client[] = [];
  const connectClient = async (answer?: ElicitAnswer) => {
    const made = sdkClient(answer);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await proxy.connect(serverSide);
    await made.client.connect(clientSide);
    clients.push(made.client);
    return made;
  };
  const first = await connectClient(options.answer);
  return {
    ape,
    proxy,
    client: first.client,
    asked: first.asked,
    audit,
    call: async (name, args = {}) => (await first.client.callTool({ name, arguments: args })) as CallToolResult,
    connectClient,
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await proxy.close();
      await ape.close();
    },
  };
}

/** The text of a tool result. */
export function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}
