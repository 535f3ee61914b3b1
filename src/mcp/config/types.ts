/** The shapes the scanner reads MCP client configurations into: servers, formats and diagnostics. */

/** The client whose configuration format a file is written in. */
export type ConfigFormat = 'claude-desktop' | 'claude-code' | 'cursor' | 'vscode' | 'windsurf';

/** How a server is reached. */
export type ServerTransport = 'stdio' | 'http' | 'sse';

/** Where something was written: file, line and column (from 1). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** One MCP server found in a configuration, with its variables expanded. */
export interface McpServerEntry {
  /** The server's key in the configuration. */
  name: string;
  format: ConfigFormat;
  transport: ServerTransport;
  /** stdio: the command and its arguments. */
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** http and sse: the endpoint. */
  url?: string;
  headers: Record<string, string>;
  /** Where the entry was written. */
  source: SourcePosition;
}

/** A scanner finding with a stable code. */
export interface ScanDiagnostic extends SourcePosition {
  code: ScanDiagnosticCode;
  severity: 'error' | 'warning' | 'info';
  message: string;
}

/** Stable codes of scanner findings. */
export type ScanDiagnosticCode =
  | 'config-unreadable'
  | 'config-syntax'
  | 'config-shape'
  | 'config-variable'
  | 'server-unreachable'
  | 'tool-name-invalid'
  | 'tool-duplicate'
  | 'tool-schema-unusable'
  | 'tool-standard-action'
  | 'name-guess';

/** Renders a finding as `file:line:col severity code message`. */
export function formatScanDiagnostic(d: ScanDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`;
}
