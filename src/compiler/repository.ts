/** The standard action repository: the 18 actions of the Python APE with category, risk, schema and review flag. */
import type { ActionIR, Category, JsonObject, ParameterKindIR, RiskLevel, ValueKind } from './ir.js';

/** The `format` values that declare a parameter kind, and the kind each declares. */
export const KIND_FORMATS: Record<string, ValueKind> = {
  path: 'path',
  url: 'url',
  domain: 'domain',
  email: 'email',
  ip: 'ip',
};

const str = (extra: JsonObject = {}): JsonObject => ({ type: 'string', ...extra });
const path = (description: string): JsonObject => str({ format: 'path', description });
const object = (properties: Record<string, JsonObject>, required: string[]): JsonObject => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const headers: JsonObject = { type: 'object', additionalProperties: { type: 'string' } };

interface StandardAction {
  category: Category;
  risk: RiskLevel;
  humanReview: boolean;
  description: string;
  parameters: JsonObject;
}

const STANDARD: Record<string, StandardAction> = {
  read_file: {
    category: 'file_read', risk: 'low', humanReview: false, description: 'Read the contents of a file',
    parameters: object({ path: path('file to read'), encoding: str() }, ['path']),
  },
  list_directory: {
    category: 'file_read', risk: 'minimal', humanReview: false, description: 'List the entries of a directory',
    parameters: object({ path: path('directory to list'), recursive: { type: 'boolean' } }, ['path']),
  },
  search_files: {
    category: 'file_read', risk: 'low', humanReview: false, description: 'Search files under a directory',
    parameters: object({ path: path('directory to search'), pattern: str(), max_results: { type: 'integer', minimum: 0 } }, ['path', 'pattern']),
  },
  write_file: {
    category: 'file_write', risk: 'moderate', humanReview: false, description: 'Write (replace) a file',
    parameters: object({ path: path('file to write'), content: str(), size: { type: 'integer', minimum: 0 } }, ['path', 'content']),
  },
  append_file: {
    category: 'file_write', risk: 'moderate', humanReview: false, description: 'Append to a file',
    parameters: object({ path: path('file to append to'), content: str(), size: { type: 'integer', minimum: 0 } }, ['path', 'content']),
  },
  create_directory: {
    category: 'file_write', risk: 'low', humanReview: false, description: 'Create a directory',
    parameters: object({ path: path('directory to create'), parents: { type: 'boolean' } }, ['path']),
  },
  delete_file: {
    category: 'file_delete', risk: 'high', humanReview: true, description: 'Delete a file',
    parameters: object({ path: path('file to delete') }, ['path']),
  },
  delete_directory: {
    category: 'file_delete', risk: 'critical', humanReview: true, description: 'Delete a directory',
    parameters: object({ path: path('directory to delete'), recursive: { type: 'boolean' } }, ['path']),
  },
  http_get: {
    category: 'network', risk: 'moderate', humanReview: false, description: 'HTTP GET a URL',
    parameters: object({ url: str({ format: 'url' }), headers, timeout: { type: 'number', minimum: 0 } }, ['url']),
  },
  http_post: {
    category: 'network', risk: 'high', humanReview: false, description: 'HTTP POST to a URL',
    parameters: object({ url: str({ format: 'url' }), body: {}, headers, size: { type: 'integer', minimum: 0 }, timeout: { type: 'number', minimum: 0 } }, ['url']),
  },
  query_data: {
    category: 'database_read', risk: 'low', humanReview: false, description: 'Query a data store',
    parameters: object({ query: str(), table: str(), database: str(), limit: { type: 'integer', minimum: 0 } }, ['query']),
  },
  insert_data: {
    category: 'database_write', risk: 'moderate', humanReview: false, description: 'Insert records',
    parameters: object({ table: str(), data: {}, database: str() }, ['table', 'data']),
  },
  update_data: {
    category: 'database_write', risk: 'moderate', humanReview: false, description: 'Update records',
    parameters: object({ table: str(), data: {}, where: {}, database: str() }, ['table', 'data']),
  },
  delete_data: {
    category: 'database_write', risk: 'high', humanReview: true, description: 'Delete records',
    parameters: object({ table: str(), where: {}, database: str() }, ['table']),
  },
  send_email: {
    category: 'communication', risk: 'high', humanReview: true, description: 'Send an email',
    parameters: object({ to: str({ format: 'email' }), subject: str(), body: str(), cc: { type: 'array', items: str({ format: 'email' }) } }, ['to', 'subject', 'body']),
  },
  send_notification: {
    category: 'communication', risk: 'moderate', humanReview: false, description: 'Send a notification to a channel',
    parameters: object({ channel: str(), message: str(), recipient: str() }, ['channel', 'message']),
  },
  execute_code: {
    category: 'compute', risk: 'critical', humanReview: true, description: 'Execute code in a language runtime',
    parameters: object({ language: str(), code: str(), timeout: { type: 'number', minimum: 0 } }, ['language', 'code']),
  },
  run_shell_command: {
    category: 'system', risk: 'critical', humanReview: true, description: 'Run a shell command',
    parameters: object({ command: str(), cwd: path('working directory'), timeout: { type: 'number', minimum: 0 } }, ['command']),
  },
};

/** Ids of the standard actions, in repository order. */
export const STANDARD_ACTION_IDS = Object.keys(STANDARD);

/** The kinds declared in a parameter schema, with dotted paths for nested object properties. */
export function kindsOf(schema: JsonObject, prefix = ''): ParameterKindIR[] {
  const properties = schema['properties'];
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return [];
  const kinds: ParameterKindIR[] = [];
  for (const [name, sub] of Object.entries(properties)) {
    if (!sub || typeof sub !== 'object' || Array.isArray(sub)) continue;
    const childPath = prefix ? `${prefix}.${name}` : name;
    const format = sub['format'];
    const kind = typeof format === 'string' ? KIND_FORMATS[format] : undefined;
    if (kind) kinds.push({ path: childPath, kind });
    kinds.push(...kindsOf(sub, childPath));
  }
  return kinds;
}

/** The standard action with this id, as an IR action, or undefined. */
export function standardAction(id: string): ActionIR | undefined {
  if (!Object.prototype.hasOwnProperty.call(STANDARD, id)) return undefined;
  const a = STANDARD[id] as StandardAction;
  return {
    id,
    category: a.category,
    risk: a.risk,
    humanReview: a.humanReview,
    description: a.description,
    parameters: a.parameters,
    kinds: kindsOf(a.parameters),
    source: 'standard',
  };
}

/** Every standard action, in repository order. */
export function standardActions(): ActionIR[] {
  return STANDARD_ACTION_IDS.map((id) => standardAction(id) as ActionIR);
}
