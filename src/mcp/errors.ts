/** Typed errors of the MCP layer: each has a stable code and one clear message. */
import { ApeError } from '../index.js';

/** An MCP configuration could not be used (the scanner reports these as diagnostics instead). */
export class McpConfigError extends ApeError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('APE_MCP_CONFIG', message);
    this.file = file;
  }
}

/** The upstream MCP server could not be started, reached, or answered something unusable. */
export class McpUpstreamError extends ApeError {
  constructor(message: string) {
    super('APE_MCP_UPSTREAM', message);
  }
}

/** The proxy or a guard was set up wrongly (bad listen address, server guarded too late...). */
export class McpSetupError extends ApeError {
  constructor(message: string) {
    super('APE_MCP_SETUP', message);
  }
}

/** A tool call the proxy refuses before any decision: unknown tool, changed schema, arguments that do not match its schema. */
export class McpToolRefusedError extends ApeError {
  readonly tool: string;
  constructor(tool: string, message: string) {
    super('APE_MCP_TOOL_REFUSED', message);
    this.tool = tool;
  }
}
