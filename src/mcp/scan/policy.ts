/** Writes the starting policy of a scan: every tool declared as an action, one rule per tool naming the hint it came from. */
import { Document } from 'yaml';
import { checkPolicySource, type CompiledPolicy, type Diagnostic, type JsonObject } from '../../index.js';
import type { ScannedServer, ScannedTool } from './types.js';

/** What the writer needs. */
export interface PolicyInput {
  name: string;
  sources: string[];
  servers: ScannedServer[];
  tools: ScannedTool[];
  prefixByServer: boolean;
}

/** The policy text, its compiled form, and the actions whose schema had to be dropped. */
export interface WrittenPolicy {
  text: string;
  policy: CompiledPolicy;
  /** Actions whose input schema APE cannot compile: declared without parameter validation, with the reason. */
  droppedSchemas: Map<string, string>;
}

const HEADER = [
  ' Starting policy written by `ape mcp-scan`. Review it before use.',
  ' MCP tool annotations (readOnlyHint, destructiveHint, openWorldHint...) are hints from the servers,',
  ' not verified facts: they only chose each starting decision, and each rule says which hint it came from.',
  ' Rules marked name-guess were guessed from names alone. Anything not listed here is denied.',
];

/** Builds, checks and returns the policy; schemas APE cannot compile are dropped (and reported by the caller). */
export function writePolicy(input: PolicyInput): WrittenPolicy {
  const dropped = new Map<string, string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const text = render(input, dropped);
    const checked = checkPolicySource(text, '<mcp-scan>');
    if (checked.policy) return { text, policy: checked.policy, droppedSchemas: dropped };
    const declared = input.tools.filter((t) => t.declared);
    const before = dropped.size;
    for (const d of checked.diagnostics) {
      const index = schemaIndex(d);
      const tool = index !== undefined ? declared[index] : undefined;
      if (d.severity === 'error' && tool && !dropped.has(tool.action)) dropped.set(tool.action, d.message);
    }
    if (dropped.size === before) {
      const first = checked.diagnostics.find((d) => d.severity === 'error');
      throw new Error(`mcp-scan wrote a policy that does not compile: ${first ? `${first.code} ${first.message}` : 'unknown error'}`);
    }
  }
  throw new Error('mcp-scan could not write a policy that compiles');
}

function schemaIndex(d: Diagnostic): number | undefined {
  return d.path[0] === 'actions' && typeof d.path[1] === 'number' && d.path[2] === 'parameters' ? d.path[1] : undefined;
}

function render(input: PolicyInput, dropped: ReadonlyMap<string, string>): string {
  const declared = input.tools.filter((t) => t.declared);
  const body: JsonObject = {
    name: input.name,
    version: '1',
    description: `Starting policy for the MCP servers of ${input.sources.join(', ')} (written by ape mcp-scan)`,
    default_decision: 'deny',
  };
  if (declared.length > 0) {
    body['actions'] = declared.map((t) => {
      const action: JsonObject = { id: t.action, category: t.classification.category, risk_level: t.classification.risk };
      if (t.description) action['description'] = oneLine(t.description);
      action['parameters'] = dropped.has(t.action) ? { type: 'object' } : t.parameters;
      return action;
    });
  }
  const rules = input.tools.filter((t) => t.ruled).map((t) => ({
    id: `${t.classification.basis}:${t.action}`,
    description: `${t.classification.why} [${t.classification.hints.join(', ')}]`,
    action: t.action,
    decision: t.classification.decision,
  }));
  if (rules.length > 0) body['rules'] = rules;
  body['metadata'] = {
    generated_by: 'ape mcp-scan',
    mcp: {
      prefix_by_server: input.prefixByServer,
      servers: Object.fromEntries(input.servers.map((s) => [s.name, serverMetadata(s)])),
      tools: Object.fromEntries(input.tools.map((t) => [t.action, toolMetadata(t)])),
    },
  };
  const doc = new Document(body);
  doc.commentBefore = HEADER.join('\n');
  return doc.toString({ lineWidth: 0 });
}

function serverMetadata(s: ScannedServer): JsonObject {
  const out: JsonObject = { transport: s.entry.transport, source: `${s.entry.source.file}:${s.entry.source.line}:${s.entry.source.column}`, connected: s.connected };
  if (s.entry.command !== undefined) out['command'] = [s.entry.command, ...s.entry.args].join(' ');
  if (s.entry.url !== undefined) out['url'] = s.entry.url;
  if (s.guess) out['guess'] = { basis: 'name-guess', category: s.guess.category, risk_level: s.guess.risk, why: s.guess.why };
  return out;
}

function toolMetadata(t: ScannedTool): JsonObject {
  const out: JsonObject = { server: t.server, tool: t.name, schema_sha256: t.schemaHash, basis: t.classification.basis, hints: t.classification.hints, open_world: t.classification.openWorld };
  if (Object.keys(t.kinds).length > 0) out['kinds'] = t.kinds;
  if (t.annotations) out['annotations'] = t.annotations;
  return out;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
