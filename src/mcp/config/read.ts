/** Reads MCP client configurations (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf) into server entries and diagnostics. */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, resolve, sep } from 'node:path';
import { entries, parseDocument, property, type Node, type ParsedDocument } from './jsonc.js';
import type { ConfigFormat, McpServerEntry, ScanDiagnostic, ScanDiagnosticCode, ServerTransport } from './types.js';
import { expand, type VariableScope } from './variables.js';

/** Options of {@link readMcpConfig}. */
export interface ReadConfigOptions {
  /** Environment for variable expansion (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** `${workspaceFolder}` (default: the folder holding `.vscode`/`.cursor`, else the file's folder). */
  workspaceFolder?: string;
  /** `${userHome}` (default: the user's home). */
  userHome?: string;
}

/** The servers of one configuration file and every finding about it. */
export interface ConfigReadResult {
  file: string;
  format?: ConfigFormat;
  servers: McpServerEntry[];
  diagnostics: ScanDiagnostic[];
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads one configuration file. Never throws on bad input: problems are diagnostics with file and position. */
export function readMcpConfig(file: string, options: ReadConfigOptions = {}): ConfigReadResult {
  const result: ConfigReadResult = { file, servers: [], diagnostics: [] };
  let text: string;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    result.diagnostics.push({ file, line: 1, column: 1, code: 'config-unreadable', severity: 'error', message: `cannot read the configuration: ${why}` });
    return result;
  }
  const jsonc = isVsCodePath(file) || file.endsWith('.jsonc');
  const doc = parseDocument(text, jsonc);
  for (const e of doc.errors) result.diagnostics.push({ file, ...doc.position(e.offset), code: 'config-syntax', severity: 'error', message: e.message });
  if (doc.errors.length > 0 || !doc.root) {
    if (doc.errors.length === 0) result.diagnostics.push({ file, line: 1, column: 1, code: 'config-syntax', severity: 'error', message: 'the file is empty' });
    return result;
  }
  const reader = new EntryReader(file, doc, result.diagnostics);
  if (doc.root.type !== 'object') {
    reader.report(doc.root, 'config-shape', 'error', 'the configuration must be a JSON object');
    return result;
  }
  const format = detectFormat(file, doc.root);
  if (!format) {
    reader.report(doc.root, 'config-shape', 'error', "no 'mcpServers' (Claude Desktop, Claude Code, Cursor, Windsurf) or 'servers' (VS Code) object");
    return result;
  }
  result.format = format;
  const scope: VariableScope = {
    env: options.env ?? process.env,
    workspaceFolder: options.workspaceFolder ?? defaultWorkspace(file),
    userHome: options.userHome ?? homedir(),
    inputs: vscodeInputs(doc.root),
  };
  const containers = serverContainers(format, file, doc.root);
  for (const container of containers) {
    if (container.type !== 'object') {
      reader.report(container, 'config-shape', 'error', 'the servers must be a JSON object keyed by server name');
      continue;
    }
    for (const [key, value] of entries(container)) {
      const server = reader.server(String(key.value), key, value, format, scope);
      if (server) result.servers.push(server);
    }
  }
  return result;
}

function isVsCodePath(file: string): boolean {
  return resolve(file).split(sep).includes('.vscode');
}

function defaultWorkspace(file: string): string {
  const dir = dirname(resolve(file));
  const base = basename(dir);
  return base === '.vscode' || base === '.cursor' ? dirname(dir) : dir;
}

function detectFormat(file: string, root: Node): ConfigFormat | undefined {
  const name = basename(file);
  const parts = resolve(file).split(sep);
  const mcpServers = property(root, 'mcpServers');
  if (!mcpServers) return property(root, 'servers') ? 'vscode' : name === '.claude.json' && property(root, 'projects') ? 'claude-code' : undefined;
  if (name === '.mcp.json' || name === '.claude.json') return 'claude-code';
  if (name === 'claude_desktop_config.json') return 'claude-desktop';
  if (parts.includes('.cursor')) return 'cursor';
  if (parts.some((p) => p === '.codeium' || p === 'windsurf') || name === 'mcp_config.json') return 'windsurf';
  const values = entries(mcpServers).map(([, v]) => v);
  if (values.some((v) => property(v, 'serverUrl'))) return 'windsurf';
  if (values.some((v) => property(v, 'type'))) return 'claude-code';
  return 'claude-desktop';
}

function serverContainers(format: ConfigFormat, file: string, root: Node): Node[] {
  if (format === 'vscode') return [property(root, 'servers')].filter((n): n is Node => n !== undefined);
  const out = [property(root, 'mcpServers')].filter((n): n is Node => n !== undefined);
  if (basename(file) === '.claude.json') {
    for (const [, project] of entries(property(root, 'projects'))) {
      const servers = property(project, 'mcpServers');
      if (servers) out.push(servers);
    }
  }
  return out;
}

function vscodeInputs(root: Node): Map<string, string> {
  const inputs = new Map<string, string>();
  const list = property(root, 'inputs');
  for (const item of list?.type === 'array' ? (list.children ?? []) : []) {
    const id = property(item, 'id')?.value;
    const description = property(item, 'description')?.value;
    if (typeof id === 'string') inputs.set(id, typeof description === 'string' ? description : '');
  }
  return inputs;
}

const KNOWN_TYPES: Record<string, ServerTransport> = { stdio: 'stdio', http: 'http', 'streamable-http': 'http', streamableHttp: 'http', sse: 'sse' };

/** Turns one server node into an entry, reporting every problem at its position. */
class EntryReader {
  constructor(
    private readonly file: string,
    private readonly doc: ParsedDocument,
    private readonly diagnostics: ScanDiagnostic[],
  ) {}

  report(node: Node, code: ScanDiagnosticCode, severity: ScanDiagnostic['severity'], message: string): void {
    this.diagnostics.push({ file: this.file, ...this.doc.position(node.offset), code, severity, message });
  }

  server(name: string, key: Node, node: Node, format: ConfigFormat, scope: VariableScope): McpServerEntry | undefined {
    if (node.type !== 'object') {
      this.report(node, 'config-shape', 'error', `server '${name}' must be an object`);
      return undefined;
    }
    let ok = true;
    const text = (field: string): string | undefined => {
      const n = property(node, field);
      if (!n) return undefined;
      if (n.type !== 'string') {
        this.report(n, 'config-shape', 'error', `server '${name}': '${field}' must be a string`);
        ok = false;
        return undefined;
      }
      return this.expand(n, format, scope, name);
    };
    const typeNode = property(node, 'type');
    const typeText = text('type');
    const command = text('command');
    const url = text(format === 'windsurf' && property(node, 'serverUrl') ? 'serverUrl' : 'url');
    const cwd = text('cwd');
    const args = this.strings(node, 'args', name, format, scope);
    const env = this.record(node, 'env', name, format, scope);
    const headers = this.record(node, 'headers', name, format, scope);
    if (!ok || !args || !env || !headers) return undefined;
    let transport: ServerTransport | undefined;
    if (typeText !== undefined) {
      transport = KNOWN_TYPES[typeText];
      if (!transport) {
        this.report(typeNode as Node, 'config-shape', 'error', `server '${name}': unknown type '${typeText}'; expected stdio, http or sse`);
        return undefined;
      }
    } else if (command !== undefined) transport = 'stdio';
    else if (url !== undefined) transport = 'http';
    if (!transport) {
      this.report(key, 'config-shape', 'error', `server '${name}' has neither 'command' nor '${format === 'windsurf' ? 'serverUrl' : 'url'}'`);
      return undefined;
    }
    if (transport === 'stdio' && command === undefined) {
      this.report(key, 'config-shape', 'error', `server '${name}' is stdio but has no 'command'`);
      return undefined;
    }
    if (transport !== 'stdio' && url === undefined) {
      this.report(key, 'config-shape', 'error', `server '${name}' is ${transport} but has no URL`);
      return undefined;
    }
    if (format === 'claude-desktop' && transport !== 'stdio') {
      this.report(key, 'config-shape', 'warning', `server '${name}': Claude Desktop's file only starts stdio servers; read as ${transport}`);
    }
    const entry: McpServerEntry = { name, format, transport, args, env, headers, source: { file: this.file, ...this.doc.position(key.offset) } };
    if (command !== undefined) entry.command = command;
    if (url !== undefined) entry.url = url;
    if (cwd !== undefined) entry.cwd = cwd;
    return entry;
  }

  private expand(n: Node, format: ConfigFormat, scope: VariableScope, server: string): string {
    const { value, unresolved } = expand(String(n.value), format, scope);
    for (const why of unresolved) this.report(n, 'config-variable', 'warning', `server '${server}': ${why}`);
    return value;
  }

  private strings(node: Node, field: string, server: string, format: ConfigFormat, scope: VariableScope): string[] | undefined {
    const n = property(node, field);
    if (!n) return [];
    if (n.type !== 'array' || (n.children ?? []).some((c) => c.type !== 'string')) {
      this.report(n, 'config-shape', 'error', `server '${server}': '${field}' must be an array of strings`);
      return undefined;
    }
    return (n.children ?? []).map((c) => this.expand(c, format, scope, server));
  }

  private record(node: Node, field: string, server: string, format: ConfigFormat, scope: VariableScope): Record<string, string> | undefined {
    const n = property(node, field);
    if (!n) return {};
    if (n.type !== 'object') {
      this.report(n, 'config-shape', 'error', `server '${server}': '${field}' must be an object of strings`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, v] of entries(n)) {
      if (v.type !== 'string') {
        this.report(v, 'config-shape', 'error', `server '${server}': ${field}.${String(k.value)} must be a string`);
        return undefined;
      }
      Object.defineProperty(out, String(k.value), { value: this.expand(v, format, scope, server), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}
