/** The targets of a call: canonical paths, hosts and addresses read from its parameters by their declared kinds. */
import { canonicalEmail, canonicalHost, canonicalIp, canonicalPath, canonicalUrl } from '../compiler/canonical.js';
import type { ActionIR, JsonValue, ValueKind } from '../compiler/ir.js';

/** One target of a call. `value` is canonical; `host` kinds are lower-case without a trailing dot. */
export interface CallTarget {
  /** Dotted parameter path. */
  param: string;
  /** `path` for file paths, `host` for URL hosts, domains, email domains and IPs. */
  kind: 'path' | 'host';
  /** Canonical value, or undefined when the parameter does not canonicalize (invalid). */
  value: string | undefined;
}

function read(params: JsonValue, path: string): JsonValue | undefined {
  let node: JsonValue | undefined = params;
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

function canonical(kind: ValueKind, raw: string): { kind: CallTarget['kind']; value: string | undefined } | undefined {
  switch (kind) {
    case 'path':
      return { kind: 'path', value: canonicalPath(raw) };
    case 'url':
      return { kind: 'host', value: canonicalUrl(raw)?.host };
    case 'domain':
      return { kind: 'host', value: canonicalHost(raw) };
    case 'email':
      return { kind: 'host', value: canonicalEmail(raw)?.domain };
    case 'ip':
      return { kind: 'host', value: canonicalIp(raw)?.text };
    default:
      return undefined;
  }
}

/** Every target a call's parameters name, from the action's declared parameter kinds. */
export function callTargets(action: ActionIR | undefined, params: JsonValue): CallTarget[] {
  if (!action) return [];
  const out: CallTarget[] = [];
  for (const { path, kind } of action.kinds) {
    const raw = read(params, path);
    if (typeof raw !== 'string') continue;
    const target = canonical(kind, raw);
    if (target) out.push({ param: path, ...target });
  }
  return out;
}
