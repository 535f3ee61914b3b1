/** Resolves a condition path against an action: which value it reads and how that value is canonicalized. */
import type { ActionIR, ValueKind } from './ir.js';

/** The part of a URL or email a derived path reads. */
export type DerivedPart = 'host' | 'scheme' | 'port' | 'path' | 'domain' | 'local';

/** Where a condition path reads its value from, and how. */
export interface ResolvedPath {
  source: 'params' | 'context';
  /** Keys from the params (or context) root to the value. */
  segments: string[];
  /** Kind of the value at `segments` (for a derived part: of the parameter it is derived from). */
  kind: ValueKind;
  /** For `<url>.host`-style paths: the part of the canonical value to read. */
  derived?: DerivedPart;
  /** Kind of the resulting fact (e.g. `domain` for `<url>.host`). */
  factKind: ValueKind;
}

const DERIVED: Partial<Record<ValueKind, Partial<Record<string, ValueKind>>>> = {
  url: { host: 'domain', scheme: 'plain', port: 'plain', path: 'plain' },
  email: { domain: 'domain', local: 'plain' },
};

/** Resolves `path` for one action (undefined: an action without a repository entry). */
export function resolvePath(action: ActionIR | undefined, path: string): ResolvedPath {
  if (path.startsWith('context.')) {
    return { source: 'context', segments: path.split('.').slice(1), kind: 'plain', factKind: 'plain' };
  }
  const segments = path.split('.');
  const direct = action?.kinds.find((k) => k.path === path);
  if (direct) return { source: 'params', segments, kind: direct.kind, factKind: direct.kind };
  const cut = path.lastIndexOf('.');
  if (action && cut > 0) {
    const parent = action.kinds.find((k) => k.path === path.slice(0, cut));
    const part = path.slice(cut + 1);
    const derivedKind = parent ? DERIVED[parent.kind]?.[part] : undefined;
    if (parent && derivedKind) {
      return { source: 'params', segments: segments.slice(0, -1), kind: parent.kind, derived: part as DerivedPart, factKind: derivedKind };
    }
  }
  return { source: 'params', segments, kind: 'plain', factKind: 'plain' };
}
