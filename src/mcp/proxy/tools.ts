/** What the proxy knows of the upstream tools: their schemas, pins against rug pulls, and argument validators. */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy, JsonObject, JsonValue } from '../../index.js';
import { schemaHash } from '../scan/schema.js';

/** Why a tool cannot be called now, or `undefined` when it can. */
export type ToolProblem = string | undefined;

interface Known {
  tool: Tool;
  hash: string;
  validate?: ValidateFunction;
  schemaError?: string;
  /** The hash of the output schema, when the tool declares one. */
  outputHash?: string;
  /** The output schema's validator, when the tool declares one and it compiles. */
  output?: ValidateFunction;
  outputError?: string;
}

const ajvOptions = { strict: false, allErrors: false, addUsedSchema: false, validateFormats: true } as const;
const draft07 = new Ajv(ajvOptions);
const draft2020 = new Ajv2020(ajvOptions);
addFormats.default(draft07);
addFormats.default(draft2020);

/** The pins a policy carries: `metadata.mcp.tools[<action>].schema_sha256` (written by `ape mcp-scan`). */
export function policyPins(policy: CompiledPolicy): Map<string, string> {
  const pins = new Map<string, string>();
  const mcp = policy.ir.metadata['mcp'];
  const tools = isObject(mcp) ? mcp['tools'] : undefined;
  if (!isObject(tools)) return pins;
  for (const [action, entry] of Object.entries(tools)) {
    const hash = isObject(entry) ? entry['schema_sha256'] : undefined;
    if (typeof hash === 'string') pins.set(action, hash);
  }
  return pins;
}

/**
 * The upstream tools by name. A tool's input schema is pinned by the policy (from `ape mcp-scan`)
 * or, when the policy has no pin for it, when the proxy first sees it; a tool whose schema no
 * longer has its pin is refused until the policy is updated.
 */
export class ToolRegistry {
  readonly #known = new Map<string, Known>();
  readonly #pins: Map<string, string>;
  readonly #fromPolicy: ReadonlySet<string>;
  readonly #actionOf: (name: string) => string;
  #generation = 0;

  constructor(policyPinsByAction: Map<string, string>, actionOf: (name: string) => string) {
    this.#pins = new Map(policyPinsByAction);
    this.#fromPolicy = new Set(policyPinsByAction.keys());
    this.#actionOf = actionOf;
  }

  /** Records the tools of a (re-)read list; returns the names whose schema now differs from their pin. */
  observe(tools: readonly Tool[]): string[] {
    this.#generation++;
    const changed: string[] = [];
    for (const tool of tools) {
      const hash = schemaHash(tool.inputSchema);
      const outputHash = tool.outputSchema ? schemaHash(tool.outputSchema) : undefined;
      const action = this.#actionOf(tool.name);
      if (!this.#pins.has(action)) this.#pins.set(action, hash);
      if (this.#pins.get(action) !== hash) changed.push(tool.name);
      const previous = this.#known.get(tool.name);
      if (previous && previous.hash === hash && previous.outputHash === outputHash) {
        previous.tool = tool;
        continue;
      }
      this.#known.set(tool.name, compile(tool, hash, outputHash));
    }
    return changed;
  }

  /** Forgets tools absent from a complete list. */
  retainOnly(names: ReadonlySet<string>): void {
    this.#generation++;
    for (const name of [...this.#known.keys()]) if (!names.has(name)) this.#known.delete(name);
  }

  /** Counts the list reads (and removals): a check made under one generation still holds while it is unchanged. */
  get generation(): number {
    return this.#generation;
  }

  /** The tool by name, if the server listed it. */
  get(name: string): Tool | undefined {
    return this.#known.get(name)?.tool;
  }

  /** The validator of the tool's output schema (compiled once per listed schema), if it declares one. */
  outputValidator(name: string): ValidateFunction | undefined {
    return this.#known.get(name)?.output;
  }

  /** Why `name` cannot be called with `args` (unknown, schema changed, arguments invalid), or undefined. */
  problem(name: string, args: JsonObject): ToolProblem {
    const known = this.#known.get(name);
    if (!known) return `the server does not list a tool '${name}'`;
    const action = this.#actionOf(name);
    const pin = this.#pins.get(action);
    if (pin !== known.hash) {
      const since = this.#fromPolicy.has(action) ? 'since the policy was written' : 'since the proxy first saw it';
      return `the input schema of '${name}' changed ${since} (pinned ${pin ?? '?'}, now ${known.hash}); it is refused until the policy is updated (ape mcp-scan --connect)`;
    }
    if (!known.validate) return `the input schema of '${name}' cannot be used to check arguments: ${known.schemaError ?? 'unknown error'}`;
    if (known.outputError !== undefined) return `the output schema of '${name}' cannot be used to check its results: ${known.outputError}`;
    if (!known.validate(args)) {
      const e = known.validate.errors?.[0];
      return `arguments of '${name}' do not match its input schema${e ? `: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : ''}`;
    }
    return undefined;
  }
}

/** Compiles a tool's JSON Schema with the dialect it names (draft 2020-12 unless it names draft-04/06/07). */
function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const dialect = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  const ajv = dialect.includes('draft-07') || dialect.includes('draft-06') || dialect.includes('draft-04') ? draft07 : draft2020;
  const { $schema: _ignored, ...rest } = schema;
  return ajv.compile(rest);
}

function compile(tool: Tool, hash: string, outputHash: string | undefined): Known {
  const known: Known = { tool, hash };
  try {
    known.validate = compileSchema(tool.inputSchema as Record<string, unknown>);
  } catch (error) {
    known.schemaError = (error as Error).message;
  }
  if (tool.outputSchema && outputHash !== undefined) {
    known.outputHash = outputHash;
    try {
      known.output = compileSchema(tool.outputSchema as Record<string, unknown>);
    } catch (error) {
      // Results it cannot check are not passed on: the tool is refused (see problem()).
      known.outputError = (error as Error).message;
    }
  }
  return known;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
