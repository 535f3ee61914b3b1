/**
 * The build-time capability check of the WASM target: `opa build -t wasm` runs with a capabilities
 * file that lists only the builtins OPA's WASM compiles natively, so a policy needing any other
 * builtin (which the JavaScript SDK would have to supply) fails the build instead of failing later.
 */
import { runOpa } from './cli.js';

/**
 * Builtins that OPA v1.22's WASM target implements natively (from OPA's `internal/compiler/wasm`),
 * plus the operators the planner compiles itself (`eq`, `assign`).
 */
export const WASM_NATIVE_BUILTINS: readonly string[] = [
  'plus', 'minus', 'mul', 'div', 'abs', 'round', 'ceil', 'floor', 'rem',
  'array.concat', 'array.flatten', 'array.reverse', 'array.slice', 'set_diff', 'and', 'or', 'intersection', 'union',
  'is_number', 'is_string', 'is_boolean', 'is_array', 'is_set', 'is_object', 'is_null', 'type_name',
  'bits.or', 'bits.and', 'bits.negate', 'bits.xor', 'bits.lsh', 'bits.rsh',
  'count', 'sum', 'product', 'max', 'min', 'sort', 'all', 'any',
  'net.cidr_contains', 'net.cidr_overlap', 'net.cidr_intersects',
  'equal', 'gt', 'gte', 'lt', 'lte', 'neq', 'glob.match',
  'json.marshal', 'json.unmarshal', 'json.is_valid',
  'object.filter', 'object.get', 'object.keys', 'object.remove', 'object.union', 'object.union_n',
  'concat', 'format_int', 'indexof', 'substring', 'lower', 'upper', 'contains', 'startswith', 'endswith',
  'strings.reverse', 'split', 'replace', 'strings.replace_n', 'trim', 'trim_left', 'trim_prefix', 'trim_right', 'trim_suffix', 'trim_space',
  'internal.template_string', 'numbers.range', 'to_number', 'walk', 'graph.reachable',
  'regex.is_valid', 'regex.match', 're_match', 'regex.find_all_string_submatch_n', 'json.remove', 'json.filter',
  'internal.member_2', 'internal.member_3',
  'eq', 'assign',
];

interface Capabilities {
  builtins: { name: string }[];
  [key: string]: unknown;
}

let cached: Promise<string> | undefined;

/** OPA's own capabilities with the builtins cut down to `WASM_NATIVE_BUILTINS`, as JSON text. */
export function wasmCapabilities(): Promise<string> {
  cached ??= runOpa(['capabilities', '--current']).then(({ stdout }) => {
    const caps = JSON.parse(stdout) as Capabilities;
    const allowed = new Set(WASM_NATIVE_BUILTINS);
    caps.builtins = caps.builtins.filter((b) => allowed.has(b.name));
    return JSON.stringify(caps);
  });
  return cached;
}
