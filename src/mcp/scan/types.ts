/** What a scan found: servers (connected or guessed from) and their tools with their starting decisions. */
import type { Category, JsonObject, RiskLevel } from '../../index.js';
import type { McpServerEntry } from '../config/types.js';
import type { ToolClassification } from './classify.js';

/** One server of the scanned configurations. */
export interface ScannedServer {
  name: string;
  entry: McpServerEntry;
  /** True when `--connect` listed its tools. */
  connected: boolean;
  /** Without a connection: what the name suggests (a guess). */
  guess?: { category: Category; risk: RiskLevel; why: string };
}

/** One tool of a connected server. */
export interface ScannedTool {
  server: string;
  /** The tool's name on its server. */
  name: string;
  /** Its action id: the name, or `<server>.<name>` with `--prefix-by-server`. */
  action: string;
  description?: string;
  /** The input schema the server declared. */
  inputSchema: JsonObject;
  /** `sha256:` of the input schema, pinned in the policy's metadata. */
  schemaHash: string;
  /** The parameter schema written in the policy. */
  parameters: JsonObject;
  kinds: Record<string, 'path' | 'url'>;
  annotations?: JsonObject;
  classification: ToolClassification;
  /** Declared under `actions` (false for standard action ids, which keep the standard definition). */
  declared: boolean;
  /** Has a rule (false for a duplicate of an earlier tool's action id). */
  ruled: boolean;
}
