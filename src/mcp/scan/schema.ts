/** A tool's input schema as an APE parameter schema (kinds declared for path and URL parameters), and its pin hash. */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../index.js';
import { canonicalJson } from '../../compiler/index.js';

/**
 * The hash a policy pins for a tool's input schema (`sha256:<hex>` of its RFC 8785 JSON).
 * The proxy refuses a tool whose live schema no longer has the pinned hash (rug-pull defence).
 */
export function schemaHash(inputSchema: object | undefined): string {
  return `sha256:${createHash('sha256').update(canonicalJson(inputSchema ?? {})).digest('hex')}`;
}

const PATH_NAMES = /^(path|paths|file|files|filename|filepath|file_path|dir|directory|folder|source|destination|src|dest|target_path|root)$|(_path|Path|_dir|_file)$/;
const URL_NAMES = /^(url|uri|href|endpoint|link)$|(_url|Url|_uri|Uri)$/;

/**
 * The parameter schema a policy declares for a tool: a copy of its input schema without the
 * `$schema` dialect marker, where top-level string parameters named like paths get
 * `format: path` and those named like URLs `format: url` (so their values are canonicalized
 * before any rule compares them). The names that were given a kind are returned.
 */
export function parameterSchema(inputSchema: JsonObject): { schema: JsonObject; kinds: Record<string, 'path' | 'url'> } {
  const schema = JSON.parse(JSON.stringify(inputSchema)) as JsonObject;
  delete schema['$schema'];
  const kinds: Record<string, 'path' | 'url'> = {};
  const props = schema['properties'];
  if (props && typeof props === 'object' && !Array.isArray(props)) {
    for (const [name, sub] of Object.entries(props)) {
      const kind = PATH_NAMES.test(name) ? 'path' : URL_NAMES.test(name) ? 'url' : undefined;
      if (!kind || !isObject(sub)) continue;
      if (sub['type'] === 'string' && sub['format'] === undefined) {
        sub['format'] = kind;
        kinds[name] = kind;
      } else if (sub['type'] === 'array' && isObject(sub['items']) && sub['items']['type'] === 'string' && sub['items']['format'] === undefined) {
        sub['items']['format'] = kind;
        kinds[name] = kind;
      }
    }
  }
  return { schema, kinds };
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
