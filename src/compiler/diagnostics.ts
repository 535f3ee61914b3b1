/** Compiler diagnostics: stable codes, severities and source positions, rendered apart from data. */

/** Severity of a diagnostic: errors stop compilation, warnings do not. */
export type Severity = 'error' | 'warning';

/** The stable codes of every diagnostic the compiler emits, with their severity. */
export const DIAGNOSTIC_CODES = {
  'file-too-large': 'error',
  'yaml-syntax': 'error',
  'yaml-duplicate-key': 'error',
  'yaml-non-string-key': 'error',
  'yaml-alias-limit': 'error',
  'yaml-tag': 'error',
  'not-a-mapping': 'error',
  'unknown-key': 'error',
  'unknown-operator': 'error',
  'wrong-type': 'error',
  'missing-key': 'error',
  'invalid-value': 'error',
  'duplicate-rule-id': 'error',
  'duplicate-action': 'error',
  'conflicting-default': 'error',
  'invalid-regex': 'error',
  'invalid-cidr': 'error',
  'invalid-operand': 'error',
  'invalid-parameter-schema': 'error',
  'default-allow': 'warning',
  'prefix-without-slash': 'warning',
  'rule-never-matches': 'warning',
  'rule-shadowed': 'warning',
  'unknown-action': 'warning',
  'unknown-parameter': 'warning',
  'fires-when-missing': 'warning',
  'reserved-place-name': 'warning',
} as const satisfies Record<string, Severity>;

/** A diagnostic code. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** One finding of the compiler, with where it is. Lines and columns count from 1. */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
  /** A suggestion of what to write instead, when there is one. */
  hint?: string;
  /** Path of keys from the document root to the offending node. */
  path: (string | number)[];
}

/** Builds a diagnostic with the severity its code carries. */
export function diagnostic(
  code: DiagnosticCode,
  message: string,
  at: { file: string; line: number; column: number; path: (string | number)[] },
  hint?: string,
): Diagnostic {
  const d: Diagnostic = { code, severity: DIAGNOSTIC_CODES[code], message, ...at };
  if (hint !== undefined) d.hint = hint;
  return d;
}

/** Renders a diagnostic as the one line `ape validate` prints: `file:line:col code message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? ` (${d.hint})` : '';
  return `${d.file}:${d.line}:${d.column} ${d.code} ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}${hint}`;
}

/** Whether any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** The closest candidate to a misspelled word, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
