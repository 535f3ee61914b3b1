/** The compiler pipeline: parse YAML with positions -> schema-validate -> normalize to IR -> lint -> hash. */
import { readFileSync, statSync } from 'node:fs';
import { PolicyCompileError, PolicyLoadError } from '../errors.js';
import { diagnostic, hasErrors, type Diagnostic } from './diagnostics.js';
import { planFacts } from './engine-input.js';
import { hashJson } from './hash.js';
import type { PolicyIR } from './ir.js';
import { lintIR } from './lint.js';
import { normalize, type PolicyExample, type RuleSourceMap } from './normalize.js';
import { MAX_POLICY_BYTES, parseSource } from './source.js';
import { validateAgainstSchema } from './validate-schema.js';

/** A compiled policy: the IR, its hash, the examples it carries and the warnings it raised. */
export interface CompiledPolicy {
  ir: PolicyIR;
  /** `sha256:<hex>` of the canonical JSON of the IR. */
  hash: string;
  examples: PolicyExample[];
  /** Where each rule was written (paths into the source document). */
  ruleSources: RuleSourceMap;
  /** Warnings (a compiled policy has no errors). */
  diagnostics: Diagnostic[];
  file: string;
}

/** The outcome of checking a policy: every diagnostic, and the compiled policy when there was no error. */
export interface CheckResult {
  policy?: CompiledPolicy;
  diagnostics: Diagnostic[];
}

/** Compiles policy text and returns every diagnostic; never throws on bad policy input. */
export function checkPolicySource(text: string, file = '<policy>'): CheckResult {
  const parsed = parseSource(text, file);
  const document = parsed.document;
  if (!document) return { diagnostics: parsed.diagnostics };
  const schemaDiagnostics = validateAgainstSchema(document);
  if (hasErrors(schemaDiagnostics)) return { diagnostics: sortDiagnostics(schemaDiagnostics) };
  const normalized = normalize(document);
  if (!normalized.ir) return { diagnostics: sortDiagnostics(normalized.diagnostics) };
  const conflicts = planFacts(normalized.ir).conflicts.map((message) =>
    diagnostic('invalid-operand', message, { file, line: 1, column: 1, path: [] }, 'give the parameter one kind in every rule'),
  );
  if (conflicts.length > 0) return { diagnostics: sortDiagnostics([...normalized.diagnostics, ...conflicts]) };
  const diagnostics = sortDiagnostics([...normalized.diagnostics, ...lintIR(normalized.ir, normalized.ruleSources, document)]);
  const policy: CompiledPolicy = {
    ir: normalized.ir,
    hash: hashJson(normalized.ir),
    examples: normalized.examples,
    ruleSources: normalized.ruleSources,
    diagnostics,
    file,
  };
  return { policy, diagnostics };
}

/** Compiles policy text; throws a `PolicyCompileError` carrying every diagnostic on error. */
export function compilePolicySource(text: string, file = '<policy>'): CompiledPolicy {
  const result = checkPolicySource(text, file);
  if (!result.policy) throw new PolicyCompileError(result.diagnostics);
  return result.policy;
}

/** Reads a policy file's text, with a typed error for a missing, unreadable or oversized file. */
export function readPolicyFile(file: string): string {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new PolicyLoadError(file, `${file}: not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof PolicyLoadError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyLoadError(file, code === 'ENOENT' ? `${file}: no such policy file` : `${file}: cannot read (${code ?? 'error'})`);
  }
  if (size > MAX_POLICY_BYTES) throw new PolicyLoadError(file, `${file}: policy is larger than ${MAX_POLICY_BYTES} bytes`);
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyLoadError(file, `${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Checks a policy file: read errors throw, policy errors come back as diagnostics. */
export function checkPolicyFile(file: string): CheckResult {
  return checkPolicySource(readPolicyFile(file), file);
}

/** Compiles a policy file; throws `PolicyLoadError` or `PolicyCompileError`. */
export function compilePolicyFile(file: string): CompiledPolicy {
  return compilePolicySource(readPolicyFile(file), file);
}

function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
}
