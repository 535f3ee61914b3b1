/** `ape mcp-scan` as a function: read configurations, optionally connect to each server, write a starting policy. */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { STANDARD_ACTION_IDS, type CompiledPolicy, type JsonObject } from '../../index.js';
import { readMcpConfig, type ReadConfigOptions } from '../config/read.js';
import type { McpServerEntry, ScanDiagnostic } from '../config/types.js';
import { connectUpstream, listAllTools } from '../upstream.js';
import { classifyTool, guessServer } from './classify.js';
import { writePolicy } from './policy.js';
import { parameterSchema, schemaHash } from './schema.js';
import type { ScannedServer, ScannedTool } from './types.js';

/** Options of {@link scanMcp}. */
export interface ScanOptions extends ReadConfigOptions {
  /** Start (or reach) each server and list its real tools. */
  connect?: boolean;
  /** Action ids `<server>.<tool>` instead of `<tool>`. */
  prefixByServer?: boolean;
  /** Time allowed per server to start and list its tools (ms, default 30 000). */
  timeoutMs?: number;
  /** The policy's name (letters, digits, `_`; default `mcp_servers`). */
  policyName?: string;
}

/** Everything a scan found, and the policy it wrote. */
export interface ScanResult {
  servers: ScannedServer[];
  tools: ScannedTool[];
  diagnostics: ScanDiagnostic[];
  /** The starting policy as YAML; it passes `ape validate`. */
  policyText: string;
  policy: CompiledPolicy;
}

const ACTION_ID = /^[A-Za-z_][A-Za-z0-9_.:/-]*$/;

/** Scans configuration files. Bad files and unreachable servers are diagnostics, never exceptions. */
export async function scanMcp(files: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const diagnostics: ScanDiagnostic[] = [];
  const servers: ScannedServer[] = [];
  const tools: ScannedTool[] = [];
  const seenServers = new Set<string>();
  for (const file of files) {
    const read = readMcpConfig(file, options);
    diagnostics.push(...read.diagnostics);
    for (const entry of read.servers) {
      if (seenServers.has(entry.name)) {
        diagnostics.push({ ...entry.source, code: 'config-shape', severity: 'warning', message: `server '${entry.name}' is configured again; the first one is used` });
        continue;
      }
      seenServers.add(entry.name);
      servers.push({ name: entry.name, entry, connected: false });
    }
  }
  if (options.connect) {
    // One server at a time: servers are processes, and the machine may be small.
    for (const server of servers) {
      const listed = await listServerTools(server.entry, options.timeoutMs, diagnostics);
      if (!listed) continue;
      server.connected = true;
      addTools(server, listed, options.prefixByServer ?? false, tools, diagnostics);
    }
  }
  for (const server of servers) {
    if (server.connected) continue;
    server.guess = guessServer(server.name, [server.entry.command ?? '', ...server.entry.args, server.entry.url ?? ''].join(' '));
    diagnostics.push({
      ...server.entry.source, code: 'name-guess', severity: 'info',
      message: `server '${server.name}': ${server.guess.why} (a guess from its name: ${server.guess.category}, risk ${server.guess.risk}); ${options.connect ? 'it could not be listed' : 'run with --connect to list its tools'}, so no rule allows any of its tools`,
    });
  }
  const written = writePolicy({
    name: options.policyName ?? 'mcp_servers',
    sources: [...files],
    servers,
    tools,
    prefixByServer: options.prefixByServer ?? false,
  });
  for (const [action, why] of written.droppedSchemas) {
    const tool = tools.find((t) => t.action === action);
    const at = servers.find((s) => s.name === tool?.server)?.entry.source ?? { file: files[0] ?? '<config>', line: 1, column: 1 };
    diagnostics.push({ ...at, code: 'tool-schema-unusable', severity: 'warning', message: `tool '${tool?.name ?? action}': APE cannot compile its input schema, so '${action}' is declared without parameter validation (${why})` });
  }
  return { servers, tools, diagnostics, policyText: written.text, policy: written.policy };
}

async function listServerTools(entry: McpServerEntry, timeoutMs: number | undefined, diagnostics: ScanDiagnostic[]): Promise<Tool[] | undefined> {
  let upstream;
  try {
    upstream = await connectUpstream(entry, { clientName: 'ape-mcp-scan', stderr: 'pipe', ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    return await listAllTools(upstream.client, timeoutMs ?? 30_000);
  } catch (error) {
    diagnostics.push({ ...entry.source, code: 'server-unreachable', severity: 'error', message: `server '${entry.name}': ${(error as Error).message}` });
    return undefined;
  } finally {
    await upstream?.client.close().catch(() => undefined);
  }
}

function addTools(server: ScannedServer, listed: Tool[], prefix: boolean, tools: ScannedTool[], diagnostics: ScanDiagnostic[]): void {
  const at = server.entry.source;
  const prefixName = server.name.replace(/[^A-Za-z0-9_-]/g, '_');
  if (prefix && prefixName !== server.name) {
    diagnostics.push({ ...at, code: 'tool-name-invalid', severity: 'warning', message: `server name '${server.name}' is used as the prefix '${prefixName}'` });
  }
  for (const tool of listed) {
    const action = prefix ? `${prefixName}.${tool.name}` : tool.name;
    if (!ACTION_ID.test(action)) {
      diagnostics.push({ ...at, code: 'tool-name-invalid', severity: 'warning', message: `server '${server.name}': tool '${tool.name}' cannot be an action id (letters, digits, _ . : / -, not first a digit); it stays denied` });
      continue;
    }
    const duplicate = tools.find((t) => t.action === action);
    const inputSchema = JSON.parse(JSON.stringify(tool.inputSchema)) as JsonObject;
    const hash = schemaHash(inputSchema);
    const { schema, kinds } = parameterSchema(inputSchema);
    const standard = STANDARD_ACTION_IDS.includes(action);
    const scanned: ScannedTool = {
      server: server.name, name: tool.name, action, inputSchema, schemaHash: hash, parameters: schema, kinds,
      classification: classifyTool(tool), declared: !standard && !duplicate, ruled: !duplicate,
    };
    if (tool.description !== undefined) scanned.description = tool.description;
    if (tool.annotations) scanned.annotations = JSON.parse(JSON.stringify(tool.annotations)) as JsonObject;
    if (duplicate) {
      diagnostics.push({ ...at, code: 'tool-duplicate', severity: 'warning', message: `tool '${tool.name}' of server '${server.name}' has the action id of a tool of '${duplicate.server}'; one rule decides both (use --prefix-by-server)` });
      continue;
    }
    if (standard) {
      diagnostics.push({ ...at, code: 'tool-standard-action', severity: 'warning', message: `tool '${tool.name}' of server '${server.name}' is APE's standard action '${action}': its parameters are checked against the standard schema, not the server's (use --prefix-by-server to declare the server's)` });
    }
    tools.push(scanned);
  }
}
