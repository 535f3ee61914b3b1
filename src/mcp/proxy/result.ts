/** The one check a server's tools/call result gets before it is passed on: its shape (a CallToolResult) and the tool's output schema. */
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';

type Fields = Record<string, unknown>;

function isRecord(v: unknown): v is Fields {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const str = (o: Fields, key: string): boolean => typeof o[key] === 'string';
const optStr = (o: Fields, key: string): boolean => o[key] === undefined || typeof o[key] === 'string';
const optRecord = (o: Fields, key: string): boolean => o[key] === undefined || isRecord(o[key]);

/** Why one content block is not a valid MCP content block (text, image, audio, resource_link, resource), or undefined. */
function blockProblem(block: unknown): string | undefined {
  if (!isRecord(block)) return 'is not an object';
  if (!optRecord(block, '_meta') || !optRecord(block, 'annotations')) return 'has _meta or annotations that are not objects';
  switch (block['type']) {
    case 'text':
      return str(block, 'text') ? undefined : 'is a text block without a string text';
    case 'image':
    case 'audio':
      return str(block, 'data') && str(block, 'mimeType') ? undefined : `is an ${block['type']} block without string data and mimeType`;
    case 'resource_link':
      return str(block, 'uri') && str(block, 'name') && optStr(block, 'mimeType') ? undefined : 'is a resource_link without a string uri and name';
    case 'resource': {
      const r = block['resource'];
      if (!isRecord(r) || !str(r, 'uri') || !optStr(r, 'mimeType')) return 'is a resource block without a resource uri';
      return str(r, 'text') || str(r, 'blob') ? undefined : 'is a resource block with neither text nor blob';
    }
    default:
      return `has an unknown type ${JSON.stringify(block['type'] ?? null)}`;
  }
}

/** Why `raw` is not a CallToolResult, or undefined. Unknown extra fields are allowed, as the protocol allows them. */
export function toolResultProblem(raw: unknown): string | undefined {
  if (!isRecord(raw)) return 'the result is not an object';
  const content = raw['content'];
  if (content !== undefined) {
    if (!Array.isArray(content)) return 'content is not a list of content blocks';
    for (let i = 0; i < content.length; i++) {
      const p = blockProblem(content[i]);
      if (p) return `content[${i}] ${p}`;
    }
  }
  if (raw['isError'] !== undefined && typeof raw['isError'] !== 'boolean') return 'isError is not a boolean';
  if (!optRecord(raw, 'structuredContent')) return 'structuredContent is not an object';
  if (!optRecord(raw, '_meta')) return '_meta is not an object';
  return undefined;
}

/**
 * Checks the result a server answered to a tools/call, as JSON freshly parsed from the wire, and
 * returns it unchanged (content defaults to `[]`). A result that is not a CallToolResult, or whose
 * structured content misses or breaks the tool's output schema, is an `McpError`: the client gets
 * a JSON-RPC error, never the result.
 */
export function checkToolResult(tool: string, raw: unknown, outputSchema?: ValidateFunction): CallToolResult {
  const problem = toolResultProblem(raw);
  if (problem) throw new McpError(ErrorCode.InternalError, `the MCP server answered tools/call of '${tool}' with something that is not a tool result: ${problem}`);
  const result = raw as Fields;
  if (result['content'] === undefined) result['content'] = [];
  if (outputSchema) {
    // As the SDK client does: structured content is required unless the result is an error, and checked when present.
    if (result['structuredContent'] === undefined && result['isError'] !== true) {
      throw new McpError(ErrorCode.InvalidRequest, `Tool ${tool} has an output schema but did not return structured content`);
    }
    if (result['structuredContent'] !== undefined && !outputSchema(result['structuredContent'])) {
      const e = outputSchema.errors?.[0];
      throw new McpError(ErrorCode.InvalidParams, `Structured content does not match the tool's output schema: ${e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'invalid'}`);
    }
  }
  return result as CallToolResult;
}
